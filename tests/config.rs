//! Configuration: flags, environment variables, the PORT fallback, validation, and the docs that list them.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use clap::{CommandFactory, Parser};
use eda_playground::cli::{Cli, Command as Sub};
use eda_playground::config::{BindArgs, Config, ConfigError, DEFAULT_BIND, LogFormat, ServeArgs};

const BINARY: &str = env!("CARGO_BIN_EXE_eda-playground");
const README: &str = include_str!("../README.md");
const DOCKERFILE: &str = include_str!("../Dockerfile");

fn no_env(_: &str) -> Option<String> {
    None
}

fn serve_args(cli: Cli) -> ServeArgs {
    match cli.command {
        Some(Sub::Serve(args)) => args,
        None => cli.serve,
        Some(other) => panic!("expected serve, got {other:?}"),
    }
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn serve_flags_parse_into_the_config() {
    let cli = Cli::try_parse_from([
        "eda-playground",
        "serve",
        "--bind",
        "0.0.0.0:9000",
        "--exercises",
        "my-exercises",
        "--data",
        "/srv/eda",
        "--log-format",
        "json",
        "--max-sandboxes",
        "7",
        "--max-clients",
        "8",
        "--max-sessions",
        "9",
        "--max-learners",
        "10",
        "--max-events-per-sandbox",
        "11",
        "--max-commands-per-sec",
        "12",
        "--session-idle-minutes",
        "2",
    ])
    .unwrap();
    let config = Config::from_args(serve_args(cli), no_env).unwrap();
    assert_eq!(config.bind, addr("0.0.0.0:9000"));
    assert_eq!(config.exercises_dir, Some(PathBuf::from("my-exercises")));
    assert_eq!(config.data_dir, PathBuf::from("/srv/eda"));
    assert_eq!(config.log_format, LogFormat::Json);
    let limits = config.limits;
    let caps = [
        limits.max_sandboxes.get(),
        limits.max_clients.get(),
        limits.max_sessions.get(),
        limits.max_learners.get(),
        limits.max_events_per_sandbox.get(),
    ];
    assert_eq!(caps, [7, 8, 9, 10, 11]);
    assert_eq!(limits.max_commands_per_sec.get(), 12);
    assert_eq!(limits.session_idle.as_secs(), 120);
}

#[test]
fn no_subcommand_serves_with_the_defaults_and_takes_the_same_flags() {
    let cli = Cli::try_parse_from(["eda-playground"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(
        Config::from_args(serve_args(cli), no_env).unwrap(),
        Config::default()
    );

    let cli = Cli::try_parse_from(["eda-playground", "--bind", "127.0.0.1:9999"]).unwrap();
    assert_eq!(
        Config::from_args(serve_args(cli), no_env).unwrap().bind,
        addr("127.0.0.1:9999")
    );

    let defaults = Config::default();
    assert_eq!(defaults.bind, DEFAULT_BIND);
    assert_eq!(defaults.data_dir, PathBuf::from("./data"));
    assert_eq!(defaults.exercises_dir, None);
    assert_eq!(defaults.log_format, LogFormat::Text);
    assert_eq!(defaults.limits.max_sandboxes.get(), 500);
    assert_eq!(defaults.limits.max_clients.get(), 1000);
    assert_eq!(defaults.limits.max_sessions.get(), 20);
    assert_eq!(defaults.limits.max_learners.get(), 200);
    assert_eq!(defaults.limits.max_events_per_sandbox.get(), 200_000);
    assert_eq!(defaults.limits.max_commands_per_sec.get(), 20);
    assert_eq!(defaults.limits.session_idle.as_secs(), 240 * 60);
}

#[test]
fn top_level_flags_do_not_mix_with_a_subcommand() {
    let error = Cli::try_parse_from(["eda-playground", "--bind", "127.0.0.1:1", "healthcheck"])
        .unwrap_err();
    assert!(error.to_string().contains("healthcheck"), "{error}");
}

#[test]
fn port_is_the_fallback_on_all_interfaces_and_bind_wins_over_it() {
    let port_9000 = |name: &str| (name == "PORT").then(|| "9000".to_owned());
    assert_eq!(
        BindArgs { bind: None }.resolve(port_9000).unwrap(),
        addr("0.0.0.0:9000")
    );
    assert_eq!(
        BindArgs {
            bind: Some(addr("127.0.0.1:1234"))
        }
        .resolve(port_9000)
        .unwrap(),
        addr("127.0.0.1:1234")
    );
    assert_eq!(
        BindArgs { bind: None }.resolve(no_env).unwrap(),
        DEFAULT_BIND
    );

    let bad_port = |_: &str| Some("eighty".to_owned());
    let error = BindArgs { bind: None }.resolve(bad_port).unwrap_err();
    assert_eq!(
        error,
        ConfigError::InvalidPort {
            value: "eighty".to_owned()
        }
    );
    assert!(error.to_string().contains("PORT=\"eighty\""), "{error}");
    assert!(
        error.to_string().contains("EDA_BIND"),
        "the message says how to fix it: {error}"
    );
}

#[test]
fn invalid_caps_are_rejected_with_a_message_naming_the_flag() {
    for (flag, value, expected) in [
        ("--max-sandboxes", "0", "at least 1"),
        ("--max-clients", "-1", "at least 1"),
        ("--max-learners", "lots", "whole number"),
        ("--session-idle-minutes", "0", "at least 1"),
        ("--max-commands-per-sec", "99999999999", "too large"),
    ] {
        let error = Cli::try_parse_from(["eda-playground", "serve", &format!("{flag}={value}")])
            .unwrap_err()
            .to_string();
        assert!(error.contains(flag), "{error}");
        assert!(error.contains(expected), "{flag} {value}: {error}");
    }
    let error = Cli::try_parse_from(["eda-playground", "--log-format", "xml"])
        .unwrap_err()
        .to_string();
    assert!(error.contains("text") && error.contains("json"), "{error}");
}

/// clap reads `EDA_*` variables from the real process environment, so these run the binary with its own.
#[test]
fn environment_variables_are_read_and_validated() {
    for (name, value, flag) in [
        ("EDA_MAX_SESSIONS", "0", "--max-sessions"),
        (
            "EDA_MAX_EVENTS_PER_SANDBOX",
            "none",
            "--max-events-per-sandbox",
        ),
        ("EDA_LOG_FORMAT", "xml", "--log-format"),
        ("EDA_BIND", "not-an-address", "--bind"),
    ] {
        let output = Command::new(BINARY)
            .arg("serve")
            .env(name, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}={value}: {stderr}");
        assert!(stderr.contains(flag), "{name}={value}: {stderr}");
    }

    let output = Command::new(BINARY)
        .env("PORT", "eighty")
        .env_remove("EDA_BIND")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("PORT"), "{stderr}");
}

/// Every flag with an environment variable, from clap's own definition of the `serve` command.
fn settings() -> Vec<(String, String)> {
    let command = Cli::command();
    let serve = command.find_subcommand("serve").unwrap();
    let settings: Vec<(String, String)> = serve
        .get_arguments()
        .filter_map(|arg| {
            Some((
                format!("--{}", arg.get_long()?),
                arg.get_env()?.to_str()?.to_owned(),
            ))
        })
        .collect();
    assert_eq!(settings.len(), 13, "{settings:?}");
    settings
}

#[test]
fn help_and_readme_list_every_setting() {
    let help = Cli::command().render_long_help().to_string();
    for (flag, env) in settings() {
        assert!(
            help.contains(&flag) && help.contains(&env),
            "--help lacks {flag} / {env}"
        );
        let row = README
            .lines()
            .find(|line| line.starts_with('|') && line.contains(&format!("`{flag}")));
        let row =
            row.unwrap_or_else(|| panic!("README's configuration table has no row for {flag}"));
        assert!(
            row.contains(&format!("`{env}`")),
            "README row for {flag} does not name {env}: {row}"
        );
    }
    assert!(
        README.contains("`PORT`"),
        "README explains the PORT fallback"
    );
}

#[test]
fn dockerfile_builds_like_the_readme_and_names_real_settings() {
    let build = "cargo build --release --locked";
    assert!(
        DOCKERFILE.contains(build),
        "the image must build with `{build}`"
    );
    assert!(
        README.contains(build),
        "the README's release build must be `{build}`"
    );
    assert!(DOCKERFILE.contains("EXPOSE 8080"));
    assert!(DOCKERFILE.contains(r#"HEALTHCHECK"#) && DOCKERFILE.contains(r#""healthcheck"]"#));

    let known: Vec<String> = settings().into_iter().map(|(_, env)| env).collect();
    // Every `EDA_NAME=value` word, wherever it stands (ENV spans continuation lines).
    let named: Vec<&str> = DOCKERFILE
        .split_whitespace()
        .filter_map(|word| word.split_once('='))
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("EDA_"))
        .collect();
    for name in &named {
        assert!(
            known.iter().any(|k| k == name),
            "the Dockerfile sets unknown setting {name}"
        );
    }
    assert!(
        named.len() >= 3,
        "the Dockerfile sets EDA_BIND, EDA_DATA and EDA_EXERCISES"
    );
}
