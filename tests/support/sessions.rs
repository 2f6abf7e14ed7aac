// Each test binary that includes this module uses part of it.
#![allow(dead_code)]
//! Workshop sessions over a real socket, for the session tests: a server on `127.0.0.1:0` with a small
//! test exercise, HTTP through `oneshot` on the same state, and tokio-tungstenite clients. Nothing
//! sleeps: every wait is for a message, bounded by [`TEST_TIMEOUT`].
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::serve::serve;
use eda_playground::session::Sessions;
use eda_playground::web::{AppState, app};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

pub(crate) const TEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Orders to a queue read by billing; a goal that breaks at billing's first failure, so a poison
/// message changes a learner's progress at once. Long ack deadline: the stage is acted by people.
pub(crate) const EXERCISE: &str = r#"
id = "session-test"
title = "Session test"
part = "failures"
order = 1
minutes = 5
summary = "A queue, a producer, a consumer."
run_for_ms = 600000
seed = 7
instructions = "Watch the orders flow."
hints = ["Look at the dead letters."]

[scenario]
[[scenario.channels]]
name = "orders"
kind = "queue"
max_deliveries = 3
ack_deadline_ms = 600000

[[scenario.producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 5
payload = { amount = 10 }

[[scenario.consumers]]
name = "billing"
channel = "orders"
processing_ms = 5
effect = { kind = "once", label = "charged" }
design = { instances = 1 }

[[knobs]]
id = "billing-retry"
label = "Billing retries"
consumer = "billing"
field = "retry"
options = [
  { id = "five", value = { strategy = "immediate", max_attempts = 5 } },
  { id = "none", value = { strategy = "none" } },
]

[[knobs]]
id = "deliveries"
label = "Deliveries before dead-lettering"
channel = "orders"
field = "max_deliveries"
options = [{ id = "three", value = 3 }, { id = "five", value = 5 }]

[[goals]]
id = "no-failures"
description = "Billing never fails"
check = { kind = "max_failures", consumer = "billing", max = 0 }

[solution]
knobs = {}
explanation = "Nothing to change."
"#;

pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) state: AppState,
    pub(crate) _dirs: Vec<TempDir>,
}

pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn catalog() -> (Catalog, TempDir) {
    let dir = TempDir::new("eda-session-exercises");
    std::fs::write(dir.0.join("session-test.toml"), EXERCISE).unwrap();
    let catalog = Catalog::load(Some(&dir.0));
    assert!(
        catalog.get("session-test").is_some(),
        "the test exercise does not load: {:?}",
        catalog.errors()
    );
    (catalog, dir)
}

pub(crate) async fn spawn_app(config: Config, data: Option<&Path>) -> TestApp {
    let (catalog, dir) = catalog();
    let sessions = Sessions::open(data, catalog.clone(), config.limits).unwrap();
    let state = AppState::with_sessions(config, catalog, sessions);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state.clone()));
    TestApp {
        addr,
        state,
        _dirs: vec![dir],
    }
}

impl TestApp {
    pub(crate) async fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        };
        let response = app(self.state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Starts a session; returns its code and the facilitator's token.
    pub(crate) async fn session(&self) -> (String, String) {
        let (status, body) = self
            .http(
                "POST",
                "/api/sessions",
                None,
                json!({"exercise": "session-test"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["code"].as_str().unwrap().to_owned(),
            body["facilitator_token"].as_str().unwrap().to_owned(),
        )
    }

    pub(crate) async fn join(&self, code: &str, name: &str) -> (u64, String) {
        let (status, body) = self
            .http(
                "POST",
                &format!("/api/sessions/{code}/learners"),
                None,
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["learner"].as_u64().unwrap(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Joins as `name` and connects to the learner's sandbox; returns the id, token and the connection
    /// with its snapshot read.
    pub(crate) async fn learner(&self, code: &str, name: &str) -> (u64, String, Client) {
        let (id, token) = self.join(code, name).await;
        let mut client = self
            .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
            .await
            .unwrap();
        assert_eq!(client.next().await["type"], "snapshot");
        (id, token, client)
    }

    /// The facilitator's dashboard connection and the roster it opens with.
    pub(crate) async fn dashboard(&self, code: &str, facilitator: &str) -> (Client, Value) {
        let mut dashboard = self
            .connect(&format!("/ws/sessions/{code}/dashboard"), Some(facilitator))
            .await
            .unwrap();
        let roster = dashboard.next().await;
        assert_eq!(roster["type"], "roster");
        (dashboard, roster)
    }

    pub(crate) async fn act(&self, code: &str, token: &str, action: Value) -> (StatusCode, Value) {
        self.http(
            "POST",
            &format!("/api/sessions/{code}/actions"),
            Some(token),
            action,
        )
        .await
    }

    pub(crate) async fn connect(&self, path: &str, token: Option<&str>) -> Result<Client, u16> {
        let mut request = format!("ws://{}{path}", self.addr)
            .into_client_request()
            .unwrap();
        if let Some(token) = token {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        match tokio::time::timeout(TEST_TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .unwrap()
        {
            Ok((ws, _)) => Ok(Client { ws }),
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("handshake failed unexpectedly: {other}"),
        }
    }
}

pub(crate) struct Client {
    pub(crate) ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub(crate) async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// The next JSON message; panics on a close or a timeout.
    pub(crate) async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(TEST_TIMEOUT, self.ws.next())
                .await
                .expect("no message within the test timeout");
            match message {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("connection ended: {other:?}"),
            }
        }
    }

    /// Reads dashboard messages until a `learners` update shows learner `id` satisfying `wanted`.
    pub(crate) async fn until_learner(
        &mut self,
        id: u64,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        self.until(|m| {
            m["type"] == "learners"
                && m["learners"]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|l| l["id"] == id && wanted(l)))
        })
        .await
    }

    /// Reads until a message satisfies `wanted`, and returns it.
    pub(crate) async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self.next().await;
            if wanted(&message) {
                return message;
            }
        }
    }
}
