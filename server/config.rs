//! Typed configuration: every setting is a command-line flag and an `EDA_*` environment variable.
//!
//! clap reads the flags and the environment (so `--help` lists both, with defaults); [`Config::from_args`]
//! then applies the one rule clap cannot express, the `PORT` fallback, and hands the server a value whose
//! caps are known to be at least 1.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Where the server listens when neither `--bind`, `EDA_BIND` nor `PORT` says otherwise: loopback only, so a
/// facilitator's laptop does not expose the playground to a café network by accident.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// Where the server keeps its data unless `--data` says otherwise.
pub const DEFAULT_DATA_DIR: &str = "./data";

// The defaults are consts, so each `unwrap` runs at compile time: a zero default fails the build.

/// Sandboxes alive at once across all sessions; creating one more is refused with a "server full" message.
pub const DEFAULT_MAX_SANDBOXES: NonZeroUsize = NonZeroUsize::new(500).unwrap();
/// Open WebSocket connections; a connection beyond it is closed right after the upgrade with a reason.
pub const DEFAULT_MAX_CLIENTS: NonZeroUsize = NonZeroUsize::new(1000).unwrap();
/// Facilitated sessions at once; starting one more is refused until one ends or expires.
pub const DEFAULT_MAX_SESSIONS: NonZeroUsize = NonZeroUsize::new(20).unwrap();
/// Learners in one session; a learner beyond it is told the session is full.
pub const DEFAULT_MAX_LEARNERS: NonZeroUsize = NonZeroUsize::new(200).unwrap();
/// Recent trace events one sandbox keeps for late joiners and resyncs; the oldest are dropped first.
pub const DEFAULT_MAX_EVENTS_PER_SANDBOX: NonZeroUsize = NonZeroUsize::new(200_000).unwrap();
/// Messages one sandbox may create; at the cap its producers fall silent and a publish by hand is refused
/// with a message saying so, until the sandbox is reset.
pub const DEFAULT_MAX_MESSAGES_PER_SANDBOX: NonZeroU64 = NonZeroU64::new(100_000).unwrap();
/// Commands one connection may send per second; extra commands are dropped with a "slow down" notice.
pub const DEFAULT_MAX_COMMANDS_PER_SEC: NonZeroU32 = NonZeroU32::new(20).unwrap();
/// Minutes without activity after which a session and its sandboxes are discarded.
pub const DEFAULT_SESSION_IDLE_MINUTES: NonZeroU64 = NonZeroU64::new(240).unwrap();

/// The environment variable container platforms use to hand a port to a service.
pub const PORT_ENV: &str = "PORT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// The listen address, shared by `serve` (where to listen) and `healthcheck` (where to knock).
#[derive(Debug, Clone, Default, Args)]
pub struct BindArgs {
    /// Address and port the server listens on [default: 127.0.0.1:8080, or 0.0.0.0:$PORT when PORT is set].
    #[arg(long, env = "EDA_BIND", value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,
}

impl BindArgs {
    /// The address to use: `--bind`/`EDA_BIND` first, then `PORT` (on all interfaces, as container
    /// platforms expect), then [`DEFAULT_BIND`]. `env` looks up an environment variable, so tests can
    /// pass their own.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<SocketAddr, ConfigError> {
        if let Some(bind) = self.bind {
            return Ok(bind);
        }
        match env(PORT_ENV) {
            Some(value) => parse_port(&value)
                .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)),
            None => Ok(DEFAULT_BIND),
        }
    }
}

/// The address to connect to for a listen address: "every interface" (0.0.0.0, ::) is reached through
/// loopback, which is also the address a person on the same machine can open.
pub fn connectable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Flags of `eda-playground serve` (and of `eda-playground` with no subcommand).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub bind: BindArgs,

    /// The facilitator key: starting a session and every facilitator page and action need it. Without
    /// one, a server bound to a loopback address needs none (a solo user on their own machine), and any
    /// other server makes up a random key at start and prints the facilitator link with it.
    #[arg(
        long,
        env = "EDA_FACILITATOR_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub facilitator_key: Option<String>,

    /// Extra exercises directory, added to the bundled exercises; a missing or empty directory is fine.
    #[arg(long, env = "EDA_EXERCISES", value_name = "DIR")]
    pub exercises: Option<PathBuf>,

    /// Directory for run data; created at start if missing.
    #[arg(long, env = "EDA_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,

    /// Log format: readable text, or one JSON object per line. RUST_LOG sets the level filter.
    #[arg(long, env = "EDA_LOG_FORMAT", value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Sandboxes alive at once; one more is refused.
    #[arg(long, env = "EDA_MAX_SANDBOXES", value_name = "N", default_value_t = DEFAULT_MAX_SANDBOXES, value_parser = parse_cap::<NonZeroUsize>)]
    pub max_sandboxes: NonZeroUsize,

    /// Open WebSocket connections; one more is closed after the upgrade.
    #[arg(long, env = "EDA_MAX_CLIENTS", value_name = "N", default_value_t = DEFAULT_MAX_CLIENTS, value_parser = parse_cap::<NonZeroUsize>)]
    pub max_clients: NonZeroUsize,

    /// Facilitated sessions at once; one more is refused.
    #[arg(long, env = "EDA_MAX_SESSIONS", value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS, value_parser = parse_cap::<NonZeroUsize>)]
    pub max_sessions: NonZeroUsize,

    /// Learners in one session; one more is told the session is full.
    #[arg(long, env = "EDA_MAX_LEARNERS", value_name = "N", default_value_t = DEFAULT_MAX_LEARNERS, value_parser = parse_cap::<NonZeroUsize>)]
    pub max_learners: NonZeroUsize,

    /// Recent trace events one sandbox keeps for browsers that join late or resync (a snapshot carries at
    /// most 2,000); the oldest are dropped first.
    #[arg(long, env = "EDA_MAX_EVENTS_PER_SANDBOX", value_name = "N", default_value_t = DEFAULT_MAX_EVENTS_PER_SANDBOX, value_parser = parse_cap::<NonZeroUsize>)]
    pub max_events_per_sandbox: NonZeroUsize,

    /// Messages one sandbox may create; at the cap its producers fall silent and publishing by hand is
    /// refused with a message saying so, until the sandbox is reset.
    #[arg(long, env = "EDA_MAX_MESSAGES_PER_SANDBOX", value_name = "N", default_value_t = DEFAULT_MAX_MESSAGES_PER_SANDBOX, value_parser = parse_cap::<NonZeroU64>)]
    pub max_messages_per_sandbox: NonZeroU64,

    /// Commands per second per connection; extra commands are dropped with a notice.
    #[arg(long, env = "EDA_MAX_COMMANDS_PER_SEC", value_name = "N", default_value_t = DEFAULT_MAX_COMMANDS_PER_SEC, value_parser = parse_cap::<NonZeroU32>)]
    pub max_commands_per_sec: NonZeroU32,

    /// Minutes without activity after which a session is discarded.
    #[arg(long, env = "EDA_SESSION_IDLE_MINUTES", value_name = "MINUTES", default_value_t = DEFAULT_SESSION_IDLE_MINUTES, value_parser = parse_cap::<NonZeroU64>)]
    pub session_idle_minutes: NonZeroU64,
}

impl Default for ServeArgs {
    /// The same values clap gives when no flag and no environment variable is set.
    fn default() -> Self {
        Self {
            bind: BindArgs::default(),
            facilitator_key: None,
            exercises: None,
            data: PathBuf::from(DEFAULT_DATA_DIR),
            log_format: LogFormat::Text,
            max_sandboxes: DEFAULT_MAX_SANDBOXES,
            max_clients: DEFAULT_MAX_CLIENTS,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_learners: DEFAULT_MAX_LEARNERS,
            max_events_per_sandbox: DEFAULT_MAX_EVENTS_PER_SANDBOX,
            max_messages_per_sandbox: DEFAULT_MAX_MESSAGES_PER_SANDBOX,
            max_commands_per_sec: DEFAULT_MAX_COMMANDS_PER_SEC,
            session_idle_minutes: DEFAULT_SESSION_IDLE_MINUTES,
        }
    }
}

/// The caps the server enforces; each is at least 1 by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_sandboxes: NonZeroUsize,
    pub max_clients: NonZeroUsize,
    pub max_sessions: NonZeroUsize,
    pub max_learners: NonZeroUsize,
    pub max_events_per_sandbox: NonZeroUsize,
    pub max_messages_per_sandbox: NonZeroU64,
    pub max_commands_per_sec: NonZeroU32,
    pub session_idle: Duration,
}

/// The resolved configuration of a running server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bind: SocketAddr,
    /// The key the operator chose, if any (see [`ServeArgs::facilitator_key`]); never printed by `Debug`.
    pub facilitator_key: Option<SecretText>,
    pub exercises_dir: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub limits: Limits,
}

impl Config {
    /// Builds the configuration from parsed flags; `env` looks up environment variables that clap does not
    /// own (only `PORT` today), so tests can pass their own instead of changing the process environment.
    pub fn from_args(
        args: ServeArgs,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let bind = args.bind.resolve(env)?;
        Ok(Self::with_bind(args, bind))
    }

    /// Builds the configuration from parsed flags and the process environment.
    pub fn from_args_and_env(args: ServeArgs) -> Result<Self, ConfigError> {
        Self::from_args(args, |name| std::env::var(name).ok())
    }

    fn with_bind(args: ServeArgs, bind: SocketAddr) -> Self {
        Self {
            bind,
            facilitator_key: args
                .facilitator_key
                .map(|key| SecretText(key.trim().to_owned()))
                .filter(|key| !key.0.is_empty()),
            exercises_dir: args.exercises,
            data_dir: args.data,
            log_format: args.log_format,
            limits: Limits {
                max_sandboxes: args.max_sandboxes,
                max_clients: args.max_clients,
                max_sessions: args.max_sessions,
                max_learners: args.max_learners,
                max_events_per_sandbox: args.max_events_per_sandbox,
                max_messages_per_sandbox: args.max_messages_per_sandbox,
                max_commands_per_sec: args.max_commands_per_sec,
                session_idle: Duration::from_secs(
                    args.session_idle_minutes.get().saturating_mul(60),
                ),
            },
        }
    }
}

impl Default for Config {
    /// The configuration with every default and no environment: what tests start from.
    fn default() -> Self {
        Self::with_bind(ServeArgs::default(), DEFAULT_BIND)
    }
}

/// A secret from the command line or the environment. Its `Debug` hides it, so that logging the
/// configuration cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(pub String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(…)")
    }
}

/// A setting that cannot be used, with the name the user typed so the message says what to fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "PORT={value:?} is not a port number (1-65535); set PORT to a number or set EDA_BIND=ADDR:PORT"
    )]
    InvalidPort { value: String },
}

fn parse_port(value: &str) -> Result<u16, ConfigError> {
    match value.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(ConfigError::InvalidPort {
            value: value.to_owned(),
        }),
    }
}

/// Parses a cap: a whole number of at least 1. clap prefixes the message with the flag's name and value.
pub fn parse_cap<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    let number: u64 = value
        .trim()
        .parse()
        .map_err(|_| format!("must be a whole number of at least 1, got {value:?}"))?;
    if number == 0 {
        return Err("must be at least 1 (0 would refuse everything)".to_owned());
    }
    value
        .trim()
        .parse::<T>()
        .map_err(|_| format!("{value} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_cap_accepts_positive_numbers() {
        assert_eq!(
            parse_cap::<NonZeroUsize>("7"),
            Ok(NonZeroUsize::new(7).unwrap())
        );
        assert_eq!(
            parse_cap::<NonZeroU32>(" 20 "),
            Ok(NonZeroU32::new(20).unwrap())
        );
    }

    #[test]
    fn parse_cap_rejects_zero_negative_and_words() {
        assert!(
            parse_cap::<NonZeroUsize>("0")
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(
            parse_cap::<NonZeroUsize>("-3")
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(
            parse_cap::<NonZeroUsize>("many")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            parse_cap::<NonZeroU32>("5000000000")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn parse_port_rejects_zero_and_words() {
        assert_eq!(parse_port("9000"), Ok(9000));
        assert!(parse_port("0").is_err());
        assert!(parse_port("http").is_err());
        assert!(parse_port("70000").is_err());
    }
}
