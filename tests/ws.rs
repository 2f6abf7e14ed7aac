//! Sandboxes over a real socket: a server on `127.0.0.1:0`, tokio-tungstenite clients, protocol v1.
//!
//! Nothing here sleeps to wait: every wait is for a message, bounded by [`TEST_TIMEOUT`] so a failure ends.
//! Virtual time moves fast (speed 20) so a few virtual seconds take a fraction of a real one.
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use eda_playground::config::{Config, Limits};
use eda_playground::engine::{Command, TraceEvent, World};
use eda_playground::exercise::{Catalog, Exercise};
use eda_playground::sandbox::{SandboxManager, SandboxSettings};
use eda_playground::serve::serve;
use eda_playground::web::ws::Keepalive;
use eda_playground::web::{AppState, app};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

/// Bounds a failure; a passing test never waits for it.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A busy little system: 50 orders a second to a queue read by two billing instances. A poison message
/// is dead-lettered after three deliveries.
const EXERCISE: &str = r#"
id = "ws-test"
title = "WebSocket test"
part = "failures"
order = 1
minutes = 5
summary = "A queue, a producer, a consumer."
run_for_ms = 60000
seed = 11
instructions = "Watch the orders flow."

[scenario]
[[scenario.channels]]
name = "orders"
kind = "queue"
max_deliveries = 3

[[scenario.producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 50
payload = { amount = 10 }

[[scenario.consumers]]
name = "billing"
channel = "orders"
processing_ms = 5
effect = { kind = "once", label = "charged" }
design = { instances = 2 }

[[knobs]]
id = "delivery-limit"
label = "Deliveries before a message is dead-lettered"
channel = "orders"
field = "max_deliveries"
options = [
  { id = "three", value = 3 },
  { id = "five", value = 5 },
]

[[goals]]
id = "once"
description = "Every order is charged exactly once"
check = { kind = "exactly_once", consumer = "billing" }

[solution]
knobs = {}
explanation = "Nothing to change."
"#;

struct TestApp {
    addr: SocketAddr,
    state: AppState,
    dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestApp {
    fn exercise(&self) -> Arc<Exercise> {
        self.state.catalog.get("ws-test").unwrap()
    }

    /// A new sandbox, created the way the playground page creates one.
    fn sandbox(&self) -> String {
        let id = self.state.sandboxes.create(self.exercise(), None).unwrap();
        format!("/ws/sandboxes/{id}")
    }

    async fn connect(&self, path: &str) -> Client {
        let url = format!("ws://{}{path}", self.addr);
        let (ws, _) = tokio::time::timeout(TEST_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .unwrap()
            .unwrap();
        Client { ws }
    }

    async fn handshake_status(&self, path: &str, origin: Option<&str>) -> StatusCode {
        let mut request = format!("ws://{}{path}", self.addr)
            .into_client_request()
            .unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((_, response)) => StatusCode::from_u16(response.status().as_u16()).unwrap(),
            Err(tungstenite::Error::Http(response)) => {
                StatusCode::from_u16(response.status().as_u16()).unwrap()
            }
            Err(other) => panic!("handshake failed unexpectedly: {other}"),
        }
    }
}

async fn spawn_app() -> TestApp {
    spawn_app_with(Config::default()).await
}

/// The default configuration with one limit changed.
fn limited(change: impl FnOnce(&mut Limits)) -> Config {
    let mut config = Config::default();
    change(&mut config.limits);
    config
}

/// The test exercise in a fresh directory, loaded into a catalog.
fn test_catalog() -> (Catalog, PathBuf) {
    let dir = std::env::temp_dir().join(format!("eda-ws-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ws-test.toml"), EXERCISE).unwrap();
    let catalog = Catalog::load(Some(&dir));
    assert!(
        catalog.get("ws-test").is_some(),
        "the test exercise does not load: {:?}",
        catalog.entries()
    );
    (catalog, dir)
}

async fn spawn_app_with(config: Config) -> TestApp {
    let (catalog, dir) = test_catalog();
    let state = AppState::with_catalog(config, catalog);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state.clone()));
    TestApp { addr, state, dir }
}

struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq)]
enum Ended {
    Closed(Option<u16>),
    Gone,
    /// Nothing came within the test timeout.
    Silent,
}

impl Client {
    async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// The next JSON message, or how the connection ended.
    async fn next(&mut self) -> Result<Value, Ended> {
        loop {
            let Ok(message) = tokio::time::timeout(TEST_TIMEOUT, self.ws.next()).await else {
                return Err(Ended::Silent);
            };
            match message {
                Some(Ok(Message::Text(text))) => {
                    let json: Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(json["v"], 1, "every server message has v=1: {json}");
                    return Ok(json);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Ended::Closed(frame.map(|f| u16::from(f.code))));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Ended::Gone),
            }
        }
    }

    async fn json(&mut self) -> Value {
        self.next().await.expect("the connection ended")
    }

    /// Reads until a message satisfies `wanted`; a bounded number of messages guards against livelock.
    async fn until(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..5_000 {
            let message = match self.next().await {
                Ok(message) => message,
                Err(ended) => panic!("the connection ended ({ended:?}) before {what}"),
            };
            if std::env::var("WS_DEBUG").is_ok() {
                eprintln!(
                    "{what}: {}",
                    &message.to_string()[..message.to_string().len().min(300)]
                );
            }
            if wanted(&message) {
                return message;
            }
        }
        panic!("never received {what}");
    }

    async fn snapshot(&mut self) -> Value {
        self.until("a snapshot", |m| m["type"] == "snapshot").await
    }

    async fn error(&mut self) -> Value {
        self.until("an error", |m| m["type"] == "error").await
    }

    /// The connection's end, skipping whatever comes before it.
    async fn ended(&mut self) -> Ended {
        for _ in 0..10_000 {
            match self.next().await {
                Ok(_) => {}
                Err(Ended::Silent) => panic!("the connection neither ended nor spoke"),
                Err(ended) => return ended,
            }
        }
        panic!("the connection never ended");
    }
}

fn has_event(message: &Value, kind: &str) -> bool {
    message["events"]
        .as_array()
        .is_some_and(|events| events.iter().any(|e| e["type"] == kind))
}

fn is_frame(message: &Value) -> bool {
    message["type"] == "frame"
}

#[tokio::test]
async fn create_sandbox_answers_201_then_404_400_and_503_at_the_cap() {
    let test = spawn_app_with(limited(|limits| {
        limits.max_sandboxes = NonZeroUsize::new(1).unwrap()
    }))
    .await;
    let post = |body: &'static str| {
        let app = app(test.state.clone());
        async move {
            let response = app
                .oneshot(
                    Request::post("/api/sandboxes")
                        .header("content-type", "application/json")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };

    let (status, body) = post(r#"{"exercise":"ws-test","seed":5}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["exercise"], "ws-test");
    let id = created["sandbox"].as_str().unwrap();
    assert_eq!(created["ws"], format!("/ws/sandboxes/{id}"));

    let mut client = test.connect(created["ws"].as_str().unwrap()).await;
    let snapshot = client.snapshot().await;
    assert_eq!(snapshot["sandbox"], id);
    assert_eq!(snapshot["seed"], 5);

    let (status, _) = post(r#"{"exercise":"no-such-exercise"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = post("{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("exercise"), "{body}");
    let (status, body) = post(r#"{"exercise":"ws-test"}"#).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("maximum of 1 sandboxes"), "{body}");
}

#[tokio::test]
async fn exercises_api_lists_the_catalog() {
    let test = spawn_app().await;
    let response = app(test.state.clone())
        .oneshot(Request::get("/api/exercises").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let entries: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == "ws-test"),
        "{entries}"
    );
}

#[tokio::test]
async fn the_exercises_api_names_a_broken_file_without_the_server_directory() {
    let test = spawn_app().await;
    std::fs::write(test.dir.join("broken.toml"), "id = \"broken\"\ntitle = 3\n").unwrap();
    test.state
        .catalog
        .reload_path(&test.dir.join("broken.toml"));
    let response = app(test.state.clone())
        .oneshot(Request::get("/api/exercises").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("broken.toml"), "{text}");
    let directory = test.dir.to_string_lossy();
    assert!(!text.contains(directory.as_ref()), "{text}");
}

#[tokio::test]
async fn a_client_gets_a_snapshot_then_frames_and_sees_its_crash() {
    let test = spawn_app().await;
    let path = test.sandbox();
    let mut client = test.connect(&path).await;

    let snapshot = client.json().await;
    assert_eq!(
        snapshot["type"], "snapshot",
        "the first message is a snapshot"
    );
    assert_eq!(snapshot["exercise"], "ws-test");
    assert_eq!(snapshot["seed"], 11);
    assert_eq!(snapshot["run_for_ms"], 60000);
    assert_eq!(snapshot["finished"], false);
    assert_eq!(
        snapshot["paused"], true,
        "a run starts paused, for the learner to read the task first"
    );
    assert!(snapshot["topology"]["consumers"].is_array());
    assert!(snapshot["commands"].as_array().unwrap().is_empty());

    client.send(json!({"type":"speed","speed":20.0})).await;

    client.send(json!({"type":"play"})).await;
    let frame = client
        .until("a frame with events", |m| {
            is_frame(m) && has_event(m, "delivered")
        })
        .await;
    assert!(frame["seq"].as_u64().unwrap() > snapshot["seq"].as_u64().unwrap());
    assert!(frame["sent_at_us"].as_u64().unwrap() > 0);
    assert!(frame["metrics"]["deliveries"].as_u64().unwrap() > 0);

    client
        .send(json!({"type":"command","command":{"kind":"crash","consumer":"billing"}}))
        .await;
    let crashed = client
        .until("the crash", |m| {
            is_frame(m) && has_event(m, "instance_crashed")
        })
        .await;
    let markers = crashed["markers"].as_array().unwrap();
    assert!(
        markers
            .iter()
            .any(|m| m["label"] == "crash" && m["detail"] == "billing"),
        "{markers:?}"
    );

    // A late joiner starts from a snapshot that already has the command and the marker, then gets frames.
    let mut late = test.connect(&path).await;
    let joined = late.json().await;
    assert_eq!(joined["type"], "snapshot");
    assert_eq!(joined["commands"][0]["command"]["kind"], "crash");
    assert_eq!(joined["markers"][0]["label"], "crash");
    assert!(has_event(&joined, "instance_crashed"));
    let next = late.until("a frame", is_frame).await;
    assert!(next["seq"].as_u64().unwrap() > joined["seq"].as_u64().unwrap());
}

#[tokio::test]
async fn pause_step_and_speed_show_in_frames() {
    let test = spawn_app().await;
    let mut client = test.connect(&test.sandbox()).await;
    client.snapshot().await;

    client.send(json!({"type":"pause"})).await;
    let paused = client
        .until("a paused frame", |m| is_frame(m) && m["paused"] == true)
        .await;
    let at = paused["at"].as_u64().unwrap();

    client.send(json!({"type":"step"})).await;
    let stepped = client
        .until("a stepped frame", |m| {
            is_frame(m) && m["at"].as_u64() > Some(at)
        })
        .await;
    assert_eq!(stepped["paused"], true);
    assert!(!stepped["events"].as_array().unwrap().is_empty());
    let stepped_at = stepped["at"].as_u64().unwrap();
    assert!(
        stepped["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["at"].as_u64() == Some(stepped_at)),
        "a step runs exactly one instant: {stepped}"
    );

    client.send(json!({"type":"speed","speed":2.5})).await;
    client
        .until("the new speed", |m| is_frame(m) && m["speed"] == 2.5)
        .await;
    client.send(json!({"type":"speed","speed":50})).await;
    let error = client.error().await;
    assert_eq!(error["code"], "bad_request");

    client.send(json!({"type":"play"})).await;
    client
        .until("time running again", |m| {
            is_frame(m) && m["paused"] == false && m["at"].as_u64() > Some(stepped_at)
        })
        .await;
}

/// The trace of a fresh world given the seed and the commands up to `at`, as JSON.
fn rebuild(exercise: &Exercise, seed: u64, commands: &[Value], at: u64) -> Vec<Value> {
    let mut world = World::new(&exercise.scenario, seed).unwrap();
    let mut events: Vec<TraceEvent> = world.drain_trace();
    for timed in commands {
        let command_at = timed["at"].as_u64().unwrap();
        if command_at > at {
            break;
        }
        let command: Command = serde_json::from_value(timed["command"].clone()).unwrap();
        world.apply(command_at, command).unwrap();
        events.extend(world.drain_trace());
    }
    world.advance_to(at);
    events.extend(world.drain_trace());
    events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[tokio::test]
async fn seeking_back_gives_the_same_state_as_a_fresh_rebuild() {
    let test = spawn_app().await;
    let mut client = test.connect(&test.sandbox()).await;
    client.snapshot().await;
    client.send(json!({"type":"speed","speed":20.0})).await;
    client.send(json!({"type":"play"})).await;
    client
        .until("a second of virtual time", |m| {
            is_frame(m) && m["at"].as_u64() >= Some(1_000)
        })
        .await;
    client
        .send(
            json!({"type":"command","command":{"kind":"crash","consumer":"billing","instance":0}}),
        )
        .await;
    client
        .until("the crash", |m| {
            is_frame(m) && has_event(m, "instance_crashed")
        })
        .await;
    client
        .until("three seconds", |m| {
            is_frame(m) && m["at"].as_u64() >= Some(3_000)
        })
        .await;

    client.send(json!({"type":"seek","at":2_000})).await;
    let snapshot = client.snapshot().await;
    assert_eq!(snapshot["at"], 2_000);
    assert_eq!(snapshot["paused"], true);
    assert!(
        snapshot["history_ms"].as_u64().unwrap() >= 3_000,
        "the timeline keeps where the run had been"
    );
    let commands = snapshot["commands"].as_array().unwrap().clone();
    assert_eq!(commands.len(), 1);
    let crash_at = commands[0]["at"].as_u64().unwrap();
    assert!((1_000..2_000).contains(&crash_at), "crash at {crash_at}");

    let expected = rebuild(&test.exercise(), 11, &commands, 2_000);
    let events = snapshot["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert_eq!(
        events.as_slice(),
        &expected[expected.len() - events.len()..],
        "the snapshot after a seek is the fresh rebuild's latest events"
    );

    // Seeking forward and back again lands on the very same state.
    client.send(json!({"type":"seek","at":2_500})).await;
    client.snapshot().await;
    client.send(json!({"type":"seek","at":2_000})).await;
    let again = client.snapshot().await;
    assert_eq!(again["events"], snapshot["events"]);
    assert_eq!(again["metrics"], snapshot["metrics"]);

    // Seeking before the crash keeps it in the log until the learner forks the timeline.
    client.send(json!({"type":"seek","at":500})).await;
    let before = client.snapshot().await;
    assert_eq!(before["commands"].as_array().unwrap().len(), 1);
    assert!(!has_event(&before, "instance_crashed"));
    client.send(json!({"type":"play"})).await;
    client.send(json!({"type":"pause"})).await;
    client.send(json!({"type":"export"})).await;
    let exported = client
        .until("the export", |m| m["type"] == "run_file")
        .await;
    assert!(
        exported["run"]["commands"].as_array().unwrap().is_empty(),
        "play forked the timeline"
    );
}

#[tokio::test]
async fn export_then_import_restores_the_same_run() {
    let test = spawn_app().await;
    let path = test.sandbox();
    let mut client = test.connect(&path).await;
    client.snapshot().await;
    client.send(json!({"type":"speed","speed":20.0})).await;
    client.send(json!({"type":"play"})).await;
    client
        .until("some virtual time", |m| {
            is_frame(m) && m["at"].as_u64() >= Some(500)
        })
        .await;
    client
        .send(json!({"type":"command","command":{"kind":"slow","consumer":"billing","factor":3}}))
        .await;
    client.send(json!({"type":"pause"})).await;
    client
        .until("a paused frame", |m| is_frame(m) && m["paused"] == true)
        .await;
    client.send(json!({"type":"export"})).await;
    let exported = client
        .until("the export", |m| m["type"] == "run_file")
        .await;
    let run = exported["run"].clone();
    assert_eq!(run["format"], "eda-playground-run");
    assert_eq!(run["version"], 1);
    assert_eq!(run["exercise"], "ws-test");
    assert_eq!(run["commands"][0]["command"]["kind"], "slow");

    // What a client joining now sees is the run as it was exported.
    let mut witness = test.connect(&path).await;
    let original = witness.snapshot().await;
    assert_eq!(original["at"], run["at"]);

    client.send(json!({"type":"reset","new_seed":true})).await;
    let reset = client.snapshot().await;
    assert_eq!(reset["at"], 0);
    assert!(reset["commands"].as_array().unwrap().is_empty());

    client.send(json!({"type":"import","run":run})).await;
    let imported = client
        .until("the imported run", |m| {
            m["type"] == "snapshot" && m["at"] == original["at"]
        })
        .await;
    for field in ["seed", "at", "events", "commands", "markers", "metrics"] {
        assert_eq!(
            imported[field], original[field],
            "{field} differs after import"
        );
    }

    // A run file of another exercise is refused and changes nothing.
    let mut foreign = exported["run"].clone();
    foreign["exercise"] = json!("another-exercise");
    client.send(json!({"type":"import","run":foreign})).await;
    let error = client.error().await;
    assert_eq!(error["code"], "bad_run_file");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("another-exercise")
    );
}

#[tokio::test]
async fn dead_letters_can_be_inspected() {
    let test = spawn_app().await;
    let mut client = test.connect(&test.sandbox()).await;
    client.snapshot().await;
    client.send(json!({"type":"speed","speed":20.0})).await;
    client.send(json!({"type":"play"})).await;
    client
        .send(json!({"type":"command","command":{"kind":"inject_poison","channel":"orders"}}))
        .await;
    client
        .until("the poison dead-lettered", |m| {
            is_frame(m) && has_event(m, "dead_lettered")
        })
        .await;

    client
        .send(json!({"type":"inspect_dlq","consumer":"billing"}))
        .await;
    let letters = client
        .until("the dead letters", |m| m["type"] == "dead_letters")
        .await;
    assert_eq!(letters["consumer"], "billing");
    let letters = letters["letters"].as_array().unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["attempts"], 3);
    assert!(letters[0]["message"].is_object());

    client
        .send(json!({"type":"inspect_dlq","consumer":"nobody"}))
        .await;
    assert_eq!(client.error().await["code"], "invalid_command");
}

#[tokio::test]
async fn the_end_of_the_exercise_pauses_and_finishes_the_run() {
    let test = spawn_app().await;
    let mut client = test.connect(&test.sandbox()).await;
    client.snapshot().await;
    client.send(json!({"type":"seek","at":1_000_000})).await;
    let end = client.snapshot().await;
    assert_eq!(end["at"], 60_000, "time never runs past run_for_ms");
    assert_eq!(end["finished"], true);
    assert_eq!(end["paused"], true);
    client.send(json!({"type":"play"})).await;
    assert_eq!(client.error().await["code"], "finished");
    client
        .send(json!({"type":"command","command":{"kind":"crash","consumer":"billing"}}))
        .await;
    assert_eq!(client.error().await["code"], "finished");
    client.send(json!({"type":"seek","at":1_000})).await;
    let back = client.snapshot().await;
    assert_eq!(back["finished"], false);
}

#[tokio::test]
async fn hostile_frames_get_errors_while_another_client_keeps_receiving() {
    let test = spawn_app().await;
    let path = test.sandbox();
    let mut watcher = test.connect(&path).await;
    watcher.snapshot().await;
    watcher.send(json!({"type":"speed","speed":20.0})).await;
    watcher.send(json!({"type":"play"})).await;
    let mut hostile = test.connect(&path).await;
    hostile.snapshot().await;

    let cases: [(Message, &str); 5] = [
        (Message::text("{this is not json"), "bad_json"),
        (Message::text(r#"{"no":"type"}"#), "bad_json"),
        (Message::text(r#"{"type":"self_destruct"}"#), "unknown_type"),
        (
            Message::text(r#"{"type":"command","command":{"kind":"crash","consumer":"nobody"}}"#),
            "invalid_command",
        ),
        (Message::binary(vec![0u8, 1, 2]), "binary"),
    ];
    for (message, code) in cases {
        hostile.ws.send(message).await.unwrap();
        let error = hostile.error().await;
        assert_eq!(error["code"], code, "{error}");
        assert!(!error["message"].as_str().unwrap().is_empty());
        let seen = watcher.until("a frame", is_frame).await;
        assert!(seen["events"].is_array());
    }

    // Over 64 KiB: closed with 1009, and only that client.
    let huge = format!(
        r#"{{"type":"pause","padding":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    hostile.ws.send(Message::text(huge)).await.unwrap();
    assert_eq!(
        hostile.ended().await,
        Ended::Closed(Some(u16::from(CloseCode::Size)))
    );

    let before = watcher.until("a frame", is_frame).await["seq"]
        .as_u64()
        .unwrap();
    let after = watcher.until("another frame", is_frame).await["seq"]
        .as_u64()
        .unwrap();
    assert!(after > before);
    assert_eq!(
        watcher.until("an unpaused frame", is_frame).await["paused"],
        false,
        "the oversize pause was not applied"
    );
}

#[tokio::test]
async fn a_flood_is_rate_limited_then_closed_with_1008() {
    let test = spawn_app_with(limited(|limits| {
        limits.max_commands_per_sec = NonZeroU32::new(5).unwrap()
    }))
    .await;
    let path = test.sandbox();
    let mut watcher = test.connect(&path).await;
    watcher.snapshot().await;
    let mut flooder = test.connect(&path).await;
    flooder.snapshot().await;

    for _ in 0..40 {
        if flooder
            .ws
            .send(Message::text(r#"{"type":"speed","speed":1.5}"#))
            .await
            .is_err()
        {
            break;
        }
    }
    let error = flooder.error().await;
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(
        flooder.ended().await,
        Ended::Closed(Some(u16::from(CloseCode::Policy)))
    );

    watcher.send(json!({"type":"speed","speed":20.0})).await;

    watcher.send(json!({"type":"play"})).await;
    watcher
        .until("frames after the flood", |m| {
            is_frame(m) && m["speed"] == 20.0
        })
        .await;
}

#[tokio::test]
async fn upgrades_are_refused_for_a_foreign_origin_an_unknown_sandbox_and_past_the_client_cap() {
    let test = spawn_app_with(limited(|limits| {
        limits.max_clients = NonZeroUsize::new(1).unwrap()
    }))
    .await;
    let path = test.sandbox();
    assert_eq!(
        test.handshake_status(&path, Some("http://evil.example"))
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        test.handshake_status(&format!("/ws/sandboxes/{}", uuid::Uuid::new_v4()), None)
            .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        test.handshake_status("/ws/sandboxes/not-a-uuid", None)
            .await,
        StatusCode::NOT_FOUND
    );

    let own_origin = format!("http://{}", test.addr);
    let mut first = {
        let mut request = format!("ws://{}{path}", test.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("origin", own_origin.parse().unwrap());
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.status().as_u16(), 101);
        Client { ws }
    };
    first.snapshot().await;
    assert_eq!(
        test.handshake_status(&path, None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "a second client is over the cap of one"
    );
}

#[tokio::test]
async fn clients_are_told_when_the_server_shuts_down() {
    let test = spawn_app().await;
    let mut client = test.connect(&test.sandbox()).await;
    client.snapshot().await;
    test.state.shutdown.trigger();
    assert_eq!(
        client.ended().await,
        Ended::Closed(Some(u16::from(CloseCode::Away)))
    );
}

#[tokio::test(start_paused = true)]
async fn a_sandbox_without_clients_ends_after_the_idle_timeout() {
    let (catalog, dir) = test_catalog();
    let settings = SandboxSettings {
        idle_timeout: Duration::from_secs(60),
        ..SandboxSettings::from_limits(&Config::default().limits)
    };
    let manager = SandboxManager::new(settings);
    let id = manager
        .create(catalog.get("ws-test").unwrap(), Some(3))
        .unwrap();
    let sandbox = manager.get(id).unwrap();

    // Watched, it stays however long that lasts.
    let watching = sandbox.subscribe();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(manager.get(id).is_some());
    drop(watching);

    // Unwatched, it ends after the timeout and frees its slot. Time is paused: these sleeps are instant.
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert!(manager.get(id).is_some(), "not before the timeout");
    for _ in 0..10 {
        if manager.get(id).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(manager.get(id).is_none(), "the idle sandbox was not reaped");
    assert!(manager.is_empty());
    assert!(
        sandbox.snapshot().await.is_none(),
        "an ended sandbox answers nothing"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_restart_knob_rebuilds_the_run_and_travels_in_the_run_file() {
    let test = spawn_app().await;
    let path = test.sandbox();
    let mut client = test.connect(&path).await;
    let first = client.snapshot().await;
    assert_eq!(first["choices"], json!({}));
    client.send(json!({"type":"pause"})).await;
    client
        .send(json!({"type":"reset","choices":{"delivery-limit":"five"}}))
        .await;
    let rebuilt = client.snapshot().await;
    assert_eq!(rebuilt["at"], 0);
    assert_eq!(rebuilt["choices"], json!({"delivery-limit":"five"}));
    client
        .send(json!({"type":"command","command":{"kind":"inject_poison","channel":"orders"}}))
        .await;
    client.send(json!({"type":"speed","speed":20.0})).await;
    client.send(json!({"type":"play"})).await;
    client.send(json!({"type":"play"})).await;
    let dead = client
        .until("the poison dead-lettered", |m| {
            has_event(m, "dead_lettered")
        })
        .await;
    let attempts = dead["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "dead_lettered")
        .map(|e| e["attempts"].clone());
    assert_eq!(
        attempts,
        Some(json!(5)),
        "the channel was rebuilt with the chosen limit"
    );
    client.send(json!({"type":"export"})).await;
    let exported = client
        .until("the export", |m| m["type"] == "run_file")
        .await;
    assert_eq!(exported["run"]["choices"], json!({"delivery-limit":"five"}));

    client
        .send(json!({"type":"reset","choices":{"delivery-limit":"seven"}}))
        .await;
    let error = client.error().await;
    assert_eq!(error["code"], "not_allowed");
    assert!(
        error["message"].as_str().unwrap().contains("seven"),
        "{error}"
    );
}

#[tokio::test]
async fn a_sandbox_stops_at_its_message_cap_and_says_why() {
    let test = spawn_app_with(limited(|limits| {
        limits.max_messages_per_sandbox = std::num::NonZeroU64::new(10).unwrap();
    }))
    .await;
    let path = test.sandbox();
    let mut client = test.connect(&path).await;
    client.snapshot().await;
    client.send(json!({"type":"speed","speed":20.0})).await;
    client.send(json!({"type":"play"})).await;
    client
        .until("the cap reached", |m| {
            is_frame(m) && m["metrics"]["producers"][0]["produced"].as_u64() >= Some(10)
        })
        .await;
    client.send(json!({"type":"pause"})).await;
    let paused = client
        .until("a paused frame", |m| is_frame(m) && m["paused"] == true)
        .await;
    assert_eq!(
        paused["metrics"]["producers"][0]["produced"].as_u64(),
        Some(10),
        "the producer fell silent at the cap"
    );
    client
        .send(json!({"type":"command","command":{"kind":"publish","channel":"orders","event_type":"OrderPlaced","key":"by-hand"}}))
        .await;
    let error = client.error().await;
    assert!(
        error["message"].as_str().unwrap().contains("10 messages"),
        "{error}"
    );
}

/// Short real keepalive durations: pinged every 200 ms, closed after 700 ms of silence. The 500 ms
/// between a ping and the close leaves a reading client ample time to answer on a loaded machine.
const SHORT_KEEPALIVE: Keepalive = Keepalive {
    ping_interval: Duration::from_millis(200),
    pong_timeout: Duration::from_millis(500),
};

async fn spawn_app_with_keepalive(keepalive: Keepalive) -> TestApp {
    let (catalog, dir) = test_catalog();
    let mut state = AppState::with_catalog(Config::default(), catalog);
    state.keepalive = keepalive;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state.clone()));
    TestApp { addr, state, dir }
}

/// A WebSocket client on a bare TCP stream that reads the server's frames and never writes one, so it
/// never answers a ping (tungstenite would answer them by itself).
struct SilentClient {
    stream: BufReader<TcpStream>,
}

/// One server frame: its opcode and payload (server frames are never masked).
struct RawFrame {
    opcode: u8,
    payload: Vec<u8>,
}

impl SilentClient {
    async fn connect(addr: SocketAddr, path: &str) -> Self {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut stream = BufReader::new(stream);
        let mut status = String::new();
        stream.read_line(&mut status).await.unwrap();
        assert!(status.starts_with("HTTP/1.1 101"), "no upgrade: {status}");
        // The response headers end with an empty line; the frames follow.
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            assert!(!line.is_empty(), "the connection ended within the headers");
        }
        Self { stream }
    }

    async fn frame(&mut self) -> RawFrame {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head).await.unwrap();
        let opcode = head[0] & 0x0f;
        assert_eq!(head[1] & 0x80, 0, "a server frame is never masked");
        let len = match head[1] & 0x7f {
            126 => u64::from(self.stream.read_u16().await.unwrap()),
            127 => self.stream.read_u64().await.unwrap(),
            short => u64::from(short),
        };
        let mut payload = vec![0; usize::try_from(len).unwrap()];
        self.stream.read_exact(&mut payload).await.unwrap();
        RawFrame { opcode, payload }
    }
}

#[tokio::test]
async fn a_client_that_never_answers_a_ping_is_closed_with_1008() {
    let test = spawn_app_with_keepalive(SHORT_KEEPALIVE).await;
    let started = std::time::Instant::now();
    let mut client = SilentClient::connect(test.addr, &test.sandbox()).await;
    let mut pings = 0;
    let close = tokio::time::timeout(TEST_TIMEOUT, async {
        for _ in 0..100_000 {
            let frame = client.frame().await;
            match frame.opcode {
                0x8 => return frame.payload,
                0x9 => pings += 1,
                _ => {}
            }
        }
        panic!("the connection never closed");
    })
    .await
    .expect("the silent client was not closed");
    let code = u16::from_be_bytes([close[0], close[1]]);
    assert_eq!(code, u16::from(CloseCode::Policy));
    assert_eq!(&close[2..], b"no answer to ping");
    assert!(pings >= 1, "the client was pinged before being closed");
    assert!(
        started.elapsed() >= SHORT_KEEPALIVE.ping_interval + SHORT_KEEPALIVE.pong_timeout,
        "closed before its silence ran out"
    );
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let test = spawn_app_with_keepalive(SHORT_KEEPALIVE).await;
    let mut client = test.connect(&test.sandbox()).await;
    // Three times the silence that closes a client that does not answer; tungstenite answers each ping
    // as the client reads.
    let silence = SHORT_KEEPALIVE.ping_interval + SHORT_KEEPALIVE.pong_timeout;
    let until = tokio::time::Instant::now() + silence * 3;
    let mut pings = 0;
    while let Ok(message) = tokio::time::timeout_at(until, client.ws.next()).await {
        match message {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Close(frame))) => panic!("closed while answering pings: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("the connection failed: {error}"),
            None => panic!("the connection ended"),
        }
    }
    assert!(pings >= 3, "pinged {pings} times in {:?}", silence * 3);
    // Still there: it answers a request.
    client.send(json!({"type":"pause"})).await;
    client
        .until("a paused frame", |m| is_frame(m) && m["paused"] == true)
        .await;
}
