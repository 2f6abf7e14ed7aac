//! Nothing lost on restart: the real server, stopped gracefully (SIGTERM) or killed (SIGKILL), then
//! started again on the same data directory. A learner's sandbox that ran without any command, pause or
//! goal change comes back at the virtual time it had (SIGTERM), or at most about a second earlier
//! (SIGKILL); a stage volunteer's instance is still theirs.
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[path = "support/http.rs"]
mod http;
use http::post_json;

const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Starts the server on a free port with `data`, and returns once its log says it serves.
fn start(data: &std::path::Path) -> (Child, SocketAddr) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut server = Command::new(env!("CARGO_BIN_EXE_eda-playground"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env("RUST_LOG", "info")
        .env_remove("EDA_FACILITATOR_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            log.read_line(&mut line).unwrap() > 0,
            "the server ended before serving"
        );
        if line.contains("serving the playground") {
            break;
        }
    }
    // Keep reading the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in log.lines() {});
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn stop(server: &mut Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.wait().unwrap();
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn learner_socket(addr: SocketAddr, code: &str, token: &str) -> Socket {
    let mut request = format!("ws://{addr}/ws/sessions/{code}/sandbox")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn next_json(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(TEST_TIMEOUT, socket.next())
            .await
            .ok()??
        {
            Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// A session with one learner running her sandbox at `speed`, and her volunteering on the stage. Returns
/// the code, her token and the virtual time of the last frame she saw once it passed `until`.
async fn run_until(addr: SocketAddr, speed: f64, until: u64) -> (String, String, Socket, u64) {
    let created = post_json(
        addr,
        "/api/sessions",
        None,
        &json!({"exercise": "idempotency"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    let code = created["code"].as_str().unwrap().to_owned();
    let facilitator = created["facilitator_token"].as_str().unwrap().to_owned();
    let joined = post_json(
        addr,
        &format!("/api/sessions/{code}/learners"),
        None,
        &json!({"name": "Ada"}),
    )
    .await;
    let token = joined.json()["token"].as_str().unwrap().to_owned();
    let stage = json!({"type": "open_stage", "exercise": "idempotency"});
    let opened = post_json(
        addr,
        &format!("/api/sessions/{code}/actions"),
        Some(&facilitator),
        &stage,
    )
    .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let volunteer = json!({"action": "volunteer", "consumer": "billing"});
    let mine = post_json(
        addr,
        &format!("/api/sessions/{code}/stage"),
        Some(&token),
        &volunteer,
    )
    .await;
    assert_eq!(mine.status, 200, "{}", mine.body);

    let mut socket = learner_socket(addr, &code, &token).await;
    for message in [
        json!({"type": "speed", "speed": speed}),
        json!({"type": "play"}),
    ] {
        socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }
    let mut last = 0;
    while last < until {
        let message = next_json(&mut socket).await.expect("frames while it runs");
        if message["type"] == "frame" || message["type"] == "snapshot" {
            last = message["at"].as_u64().unwrap();
        }
    }
    (code, token, socket, last)
}

/// After the restart: the learner's sandbox is where it was, and the stage still knows her instance.
async fn restored_at(addr: SocketAddr, code: &str, token: &str) -> u64 {
    let mut socket = learner_socket(addr, code, token).await;
    let snapshot = next_json(&mut socket).await.unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    let again = json!({"action": "volunteer", "consumer": "billing"});
    let still = post_json(
        addr,
        &format!("/api/sessions/{code}/stage"),
        Some(token),
        &again,
    )
    .await;
    assert_eq!(still.status, 400, "still on stage: {}", still.body);
    assert!(
        still.body.contains("instance 1 of billing"),
        "{}",
        still.body
    );
    snapshot["at"].as_u64().unwrap()
}

fn data_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("eda-restart-{name}-{}", uuid::Uuid::new_v4()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_loses_no_virtual_time() {
    let data = data_dir("term");
    let (mut server, addr) = start(&data);
    let (code, token, mut socket, mut last) = run_until(addr, 4.0, 4_000).await;
    stop(&mut server, "-TERM");
    // The last frame the learner saw before the server closed her socket.
    while let Some(message) = next_json(&mut socket).await {
        if message["type"] == "frame" {
            last = message["at"].as_u64().unwrap();
        }
    }
    let (mut again, addr) = start(&data);
    let restored = restored_at(addr, &code, &token).await;
    stop(&mut again, "-TERM");
    let _ = std::fs::remove_dir_all(&data);
    println!("SIGTERM at speed 4: seen {last} ms, restored {restored} ms");
    assert!(
        restored >= last,
        "restored at {restored} ms, but the learner had seen {last} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_loses_at_most_about_a_second() {
    let data = data_dir("kill");
    let (mut server, addr) = start(&data);
    let (code, token, _socket, last) = run_until(addr, 1.0, 3_000).await;
    stop(&mut server, "-KILL");
    let (mut again, addr) = start(&data);
    let restored = restored_at(addr, &code, &token).await;
    stop(&mut again, "-TERM");
    let _ = std::fs::remove_dir_all(&data);
    let lost = last.saturating_sub(restored);
    println!("SIGKILL at speed 1: seen {last} ms, restored {restored} ms, lost {lost} ms");
    // One save a second, and a frame or two of slack for a loaded machine.
    assert!(lost <= 2_000, "lost {lost} ms of virtual time");
}
