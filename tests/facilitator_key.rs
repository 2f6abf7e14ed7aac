//! The facilitator key: starting a session and every facilitator route need it; joining and free play do
//! not; a browser opening the facilitator link gets an HttpOnly cookie; the key never reaches a log line.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use eda_playground::config::{Config, SecretText};
use eda_playground::web::facilitator_key::resolve;
use eda_playground::web::{AppState, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const KEY: &str = "correct-horse-battery-staple";

fn state_with_key() -> AppState {
    AppState::new(Config {
        facilitator_key: Some(SecretText(KEY.to_owned())),
        ..Config::default()
    })
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(state: &AppState, request: Request<Body>) -> Reply {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn create(key: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/api/sessions").header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("x-facilitator-key", key);
    }
    request
        .body(Body::from(json!({"exercise": "idempotency"}).to_string()))
        .unwrap()
}

#[tokio::test]
async fn starting_a_session_needs_the_key_and_joining_does_not() {
    let state = state_with_key();
    let refused = send(&state, create(None)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let error: Value = serde_json::from_str(&refused.body).unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("facilitator link")
    );
    assert_eq!(
        send(&state, create(Some("wrong"))).await.status,
        StatusCode::UNAUTHORIZED
    );

    let created = send(&state, create(Some(KEY))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created: Value = serde_json::from_str(&created.body).unwrap();
    let code = created["code"].as_str().unwrap();
    let token = created["facilitator_token"].as_str().unwrap();

    // A learner joins without any key.
    let join = Request::post(format!("/api/sessions/{code}/learners"))
        .header("content-type", "application/json")
        .body(Body::from(json!({"name": "Ada"}).to_string()))
        .unwrap();
    assert_eq!(send(&state, join).await.status, StatusCode::CREATED);

    // The session's own facilitator routes need the key as well as the session's token.
    let roster = |key: Option<&str>| {
        let mut request = Request::get(format!("/api/sessions/{code}/roster"))
            .header("authorization", format!("Bearer {token}"));
        if let Some(key) = key {
            request = request.header("x-facilitator-key", key);
        }
        request.body(Body::empty()).unwrap()
    };
    assert_eq!(
        send(&state, roster(None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(send(&state, roster(Some(KEY))).await.status, StatusCode::OK);

    // Free play needs no key.
    let sandbox = Request::post("/api/sandboxes")
        .header("content-type", "application/json")
        .body(Body::from(json!({"exercise": "idempotency"}).to_string()))
        .unwrap();
    assert_eq!(send(&state, sandbox).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_facilitator_link_sets_an_http_only_cookie_that_opens_the_start_page() {
    let state = state_with_key();
    let page = |cookie: Option<&str>| {
        let mut request = Request::get("/sessions/new").header("accept", "text/html,*/*");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.body(Body::empty()).unwrap()
    };
    let refused = send(&state, page(None)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("<html"), "a page for a browser");
    assert!(refused.body.contains("Facilitator key needed"));

    let wrong = send(
        &state,
        Request::get("/facilitator?key=nope")
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.body.contains("not valid"));

    let opened = send(
        &state,
        Request::get(format!("/facilitator?key={KEY}"))
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.headers["location"], "/sessions/new");
    let cookie = opened.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(send(&state, page(Some(pair))).await.status, StatusCode::OK);
}

#[test]
fn the_key_depends_on_the_bound_address_only() {
    let mut config = Config::default();
    assert!(
        resolve(&config).is_none(),
        "loopback with no key: none needed"
    );
    config.bind = "0.0.0.0:8080".parse().unwrap();
    let (_, made_up) = resolve(&config).expect("any other address needs one");
    assert_eq!(made_up.len(), 64);
    let (_, again) = resolve(&config).unwrap();
    assert_ne!(made_up, again, "made up afresh at each start");
    config.facilitator_key = Some(SecretText("mine".to_owned()));
    assert_eq!(resolve(&config).unwrap().1, "mine");
    config.bind = "127.0.0.1:8080".parse().unwrap();
    assert_eq!(
        resolve(&config).unwrap().1,
        "mine",
        "a key set is always needed"
    );
}

/// The real server, bound to all interfaces, debug logs on: it prints the facilitator link on standard
/// output, and its log (standard error) never holds the key, not even for the request that opens the link.
#[test]
fn the_server_prints_the_link_and_never_logs_the_key() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let data = std::env::temp_dir().join(format!("eda-key-{}", uuid::Uuid::new_v4()));
    let mut server = Command::new(env!("CARGO_BIN_EXE_eda-playground"))
        .args(["serve", "--bind", &format!("0.0.0.0:{port}"), "--data"])
        .arg(&data)
        .env("RUST_LOG", "debug")
        .env_remove("EDA_FACILITATOR_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut link = String::new();
    for _ in 0..20 {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("/facilitator?key=") {
            link = line.trim().to_owned();
            break;
        }
    }
    let key = link
        .split("key=")
        .nth(1)
        .expect("the link is printed")
        .to_owned();
    assert_eq!(key.len(), 64);

    // Open the link as a browser would, then stop the server.
    let mut stream = connect(port);
    write!(
        stream,
        "GET /facilitator?key={key} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
    assert!(
        log.contains("/facilitator"),
        "the request was logged: {log}"
    );
    assert!(!log.contains(&key), "the key is in the log:\n{log}");
}

/// Connects to the server, which may still be starting: the link is printed after the port is bound.
fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .expect("the server listens once it printed the link");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}
