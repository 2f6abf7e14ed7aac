//! The server on a real socket: tests bind `127.0.0.1:0` first, so the port is known before the server runs
//! and nothing waits by sleeping.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use eda_playground::config::Config;
use eda_playground::healthcheck::{HealthcheckError, Target, probe};
use eda_playground::serve::serve;
use eda_playground::web::AppState;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Generous: it bounds a failure, a passing test never waits for it.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

const BINARY: &str = env!("CARGO_BIN_EXE_eda-playground");

struct TestApp {
    addr: SocketAddr,
    state: AppState,
    server: JoinHandle<std::io::Result<()>>,
}

async fn spawn_app() -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(Config::default());
    let server = tokio::spawn(serve(listener, state.clone()));
    TestApp {
        addr,
        state,
        server,
    }
}

/// Runs the blocking health probe off the async runtime.
async fn probe_blocking(target: Target) -> Result<(), HealthcheckError> {
    tokio::task::spawn_blocking(move || probe(&target, TEST_TIMEOUT))
        .await
        .unwrap()
}

/// Runs the binary with `args` and `env` off the async runtime; returns (success, stdout + stderr).
async fn run_binary(args: &[&str], env: &[(&str, String)]) -> (bool, String) {
    let mut command = Command::new(BINARY);
    command.args(args).env_remove("EDA_BIND").env_remove("PORT");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn healthcheck_passes_against_a_running_server_and_shutdown_ends_it() {
    let app = spawn_app().await;
    probe_blocking(Target::from_bind(app.addr)).await.unwrap();

    app.state.shutdown.trigger();
    let stopped = tokio::time::timeout(TEST_TIMEOUT, app.server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "server task did not end cleanly: {stopped:?}"
    );
}

#[tokio::test]
async fn healthcheck_fails_against_a_closed_port() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let result = probe_blocking(Target::from_bind(closed)).await;
    assert!(
        matches!(result, Err(HealthcheckError::Connect { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn healthcheck_fails_when_the_answer_is_not_200() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let responder = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 512];
        let _ = stream.read(&mut request);
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let result = probe_blocking(Target::from_bind(addr)).await;
    assert!(
        matches!(result, Err(HealthcheckError::Status { status: 503, .. })),
        "{result:?}"
    );
    responder.join().unwrap();
}

#[tokio::test]
async fn healthcheck_subcommand_finds_the_server_through_each_way_of_naming_it() {
    let app = spawn_app().await;
    let port = app.addr.port().to_string();

    let (ok, out) = run_binary(&["healthcheck"], &[("EDA_BIND", app.addr.to_string())]).await;
    assert!(ok, "EDA_BIND: {out}");
    // PORT alone means 0.0.0.0:PORT, which the check reaches through 127.0.0.1.
    let (ok, out) = run_binary(&["healthcheck"], &[("PORT", port.clone())]).await;
    assert!(ok, "PORT: {out}");
    let url = format!("http://{}/healthz", app.addr);
    let (ok, out) = run_binary(&["healthcheck", "--url", &url], &[]).await;
    assert!(ok, "--url: {out}");
    assert!(out.contains("healthy"), "{out}");

    let (ok, out) = run_binary(
        &["healthcheck", "--url", &format!("http://{}/nope", app.addr)],
        &[],
    )
    .await;
    assert!(!ok, "a 404 is not healthy: {out}");
    assert!(out.contains("404"), "{out}");

    app.state.shutdown.trigger();
    tokio::time::timeout(TEST_TIMEOUT, app.server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// The binary end to end: configured only by environment variables, JSON logs, data directory created,
/// healthy, and a clean exit on SIGTERM.
#[cfg(unix)]
#[tokio::test]
async fn binary_serves_until_sigterm() {
    let data = std::env::temp_dir().join(format!("eda-playground-test-{}", uuid::Uuid::new_v4()));
    let mut child = KillOnDrop(
        Command::new(BINARY)
            .env("EDA_BIND", "127.0.0.1:0")
            .env("EDA_DATA", &data)
            .env("EDA_LOG_FORMAT", "json")
            .env("EDA_EXERCISES", data.join("no-such-dir"))
            .env_remove("PORT")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();

    // Read JSON log lines until the server says where it listens; the process writes that line after binding.
    let (addr, lines) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let json: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if let Some(addr) = json["addr"].as_str() {
                return (addr.parse::<SocketAddr>().unwrap(), lines);
            }
        }
        panic!("the server exited without saying where it listens");
    })
    .await
    .unwrap();

    assert!(data.is_dir(), "EDA_DATA was not created");
    probe_blocking(Target::from_bind(addr)).await.unwrap();

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (exit, logs) = tokio::task::spawn_blocking(move || {
        let logs: Vec<String> = lines.map_while(Result::ok).collect();
        (child.0.wait().unwrap(), logs)
    })
    .await
    .unwrap();
    assert!(exit.success(), "exit status {exit:?}, logs: {logs:?}");
    assert!(logs.iter().any(|l| l.contains("SIGTERM")), "logs: {logs:?}");
    std::fs::remove_dir_all(&data).unwrap();
}

/// Kills the child process if a test fails before it exits, so no server outlives its test.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Errors mean the process has already exited, which is the outcome wanted.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
