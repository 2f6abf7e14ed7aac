//! Free play in a crowded room: quotas per browser and per address, a reload that finds its sandbox,
//! sandboxes nobody watches ended before anyone is refused, and pages (not JSON) for browsers at a cap.
//! A real server on `127.0.0.1:0`, so requests carry their peer address as they do in a room.
use std::net::SocketAddr;

use eda_playground::config::Config;
use eda_playground::sandbox::quota::{MAX_ANONYMOUS_PER_ADDRESS, MAX_SANDBOXES_PER_BROWSER};
use eda_playground::serve::serve;
use eda_playground::web::AppState;
use tokio::net::TcpListener;

#[path = "support/http.rs"]
mod http;
use http::{Reply, request};

/// The sandbox a playground page names in its `data-ws`.
fn sandbox_path(reply: &Reply) -> String {
    let at = reply.body.find("data-ws=\"").expect("a playground page") + 9;
    let rest = &reply.body[at..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn spawn(max_sandboxes: usize) -> (SocketAddr, AppState) {
    let mut config = Config::default();
    config.limits.max_sandboxes = max_sandboxes.try_into().unwrap();
    let state = AppState::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state.clone()));
    (addr, state)
}

/// A browser opening a playground page, with its cookie when it has one.
async fn open_page(addr: SocketAddr, exercise: &str, cookie: Option<&str>) -> Reply {
    let cookie = cookie.map_or(String::new(), |c| format!("\r\nCookie: {c}"));
    request(
        addr,
        &format!("GET /exercises/{exercise} HTTP/1.1\r\nAccept: text/html,*/*{cookie}"),
        "",
    )
    .await
}

/// A script creating a sandbox through the JSON API, with a cookie of its choosing or none.
async fn create(addr: SocketAddr, cookie: Option<&str>) -> Reply {
    let cookie = cookie.map_or(String::new(), |c| format!("\r\nCookie: {c}"));
    request(
        addr,
        &format!(
            "POST /api/sandboxes HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json{cookie}"
        ),
        r#"{"exercise":"idempotency"}"#,
    )
    .await
}

fn browser_cookie(reply: &Reply) -> String {
    let set = reply
        .header("set-cookie")
        .expect("a first page sets the browser cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_reload_finds_the_same_sandbox_and_a_browser_holds_at_most_its_quota() {
    let (addr, state) = spawn(50).await;
    let first = open_page(addr, "idempotency", None).await;
    assert_eq!(first.status, 200);
    let cookie = browser_cookie(&first);
    let again = open_page(addr, "idempotency", Some(&cookie)).await;
    assert_eq!(
        sandbox_path(&again),
        sandbox_path(&first),
        "a reload reuses it"
    );
    assert!(again.header("set-cookie").is_none());

    let others = ["poison-message", "outbox", "retry-storm", "out-of-order"];
    for exercise in others {
        assert_eq!(open_page(addr, exercise, Some(&cookie)).await.status, 200);
    }
    assert_eq!(
        state.sandboxes.len(),
        MAX_SANDBOXES_PER_BROWSER,
        "the browser's oldest ones were ended"
    );
    let back = open_page(addr, "idempotency", Some(&cookie)).await;
    assert_ne!(
        sandbox_path(&back),
        sandbox_path(&first),
        "the first one was ended"
    );
}

#[tokio::test]
async fn a_client_looping_on_create_never_locks_another_out() {
    let (addr, state) = spawn(MAX_ANONYMOUS_PER_ADDRESS + 2).await;
    // A script without a cookie: bounded by its address, with a sentence.
    let mut refused = None;
    for _ in 0..MAX_ANONYMOUS_PER_ADDRESS + 5 {
        let reply = create(addr, None).await;
        if reply.status != 201 {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("the address quota holds");
    assert_eq!(refused.status, 503);
    assert!(
        refused.body.contains("without a browser cookie"),
        "{}",
        refused.body
    );

    // A script inventing a new cookie each time: the server's cap holds, and it ends what nobody watches.
    for n in 0..40 {
        let reply = create(addr, Some(&format!("eda_browser={n:032x}"))).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    assert!(state.sandboxes.len() <= MAX_ANONYMOUS_PER_ADDRESS + 2);

    // Meanwhile a learner's browser still gets a sandbox, and keeps it once watched.
    let page = open_page(addr, "idempotency", None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let path = sandbox_path(&page);
    let (mut watching, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .unwrap();
    futures_util::StreamExt::next(&mut watching).await;
    for n in 100..140 {
        assert_eq!(
            create(addr, Some(&format!("eda_browser={n:032x}")))
                .await
                .status,
            201
        );
    }
    let id = path.rsplit('/').next().unwrap();
    let id = eda_playground::sandbox::SandboxId::parse(id).unwrap();
    assert!(
        state.sandboxes.get(id).is_some(),
        "a watched sandbox is never ended to make room"
    );
}

#[tokio::test]
async fn a_browser_at_the_cap_gets_a_page_and_a_script_gets_json() {
    let (addr, _state) = spawn(2).await;
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let page = open_page(addr, "idempotency", None).await;
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}{}", sandbox_path(&page)))
                .await
                .unwrap();
        futures_util::StreamExt::next(&mut ws).await;
        sockets.push(ws);
    }
    let page = open_page(addr, "idempotency", None).await;
    assert_eq!(page.status, 503);
    assert!(
        page.body.contains("<html") && page.body.contains("No sandbox free"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("{\"error\""));
    let json = create(addr, Some(&format!("eda_browser={:032x}", 7))).await;
    assert_eq!(json.status, 503);
    assert!(json.body.starts_with("{\"error\""), "{}", json.body);
}

/// A browser that sends a bad form or joins a session that does not exist gets a page with the sentence;
/// the same request from a script gets JSON.
#[tokio::test]
async fn refusals_are_pages_for_browsers_and_json_for_scripts() {
    let (addr, _state) = spawn(4).await;
    let head = |accept: &str| {
        format!(
            "POST /api/sessions/NOPE42/learners HTTP/1.1\r\nContent-Type: application/json\r\nAccept: {accept}"
        )
    };
    let page = request(addr, &head("text/html,*/*"), r#"{"name":"Ada"}"#).await;
    assert!(page.status >= 400);
    assert!(
        page.body.contains("<html") && page.body.contains("Not found"),
        "{}",
        page.body
    );
    let json = request(addr, &head("application/json"), r#"{"name":"Ada"}"#).await;
    assert_eq!(json.status, page.status);
    assert!(json.body.starts_with("{\"error\""), "{}", json.body);
}
