//! Connection hygiene: a client that trickles its request head (slowloris) is cut off after
//! `HEADER_READ_TIMEOUT`, while a normal request on the same server is answered at once.
use std::time::{Duration, Instant};

use eda_playground::config::Config;
use eda_playground::serve::{HEADER_READ_TIMEOUT, serve};
use eda_playground::web::AppState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, AppState::new(Config::default())));

    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();

    // Meanwhile the server answers others.
    let mut quick = TcpStream::connect(addr).await.unwrap();
    quick
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    quick.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // The slow one is closed by the server (end of stream, or a 408 first) once its time is up.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        HEADER_READ_TIMEOUT + Duration::from_secs(5),
        slow.read_to_end(&mut rest),
    )
    .await;
    assert!(read.is_ok(), "the server kept a trickling connection open");
    let waited = started.elapsed();
    assert!(
        waited >= HEADER_READ_TIMEOUT - Duration::from_millis(200),
        "cut off after {waited:?}"
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

/// One address opening sockets in a loop gets its burst, then 429 with a sentence; another address is
/// not affected. (Requests go through the router with the peer address a real connection would carry.)
#[tokio::test]
async fn websocket_upgrades_are_limited_per_address() {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::Request;
    use eda_playground::web::app;
    use eda_playground::web::upgrade_limit::UPGRADE_BURST;
    use tower::ServiceExt;

    let state = AppState::new(Config::default());
    let from = |ip: [u8; 4]| {
        let mut request = Request::get("/ws/sandboxes/00000000-0000-0000-0000-000000000000")
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((ip, 40_000))));
        request
    };
    // The burst always passes (a bucket starts full and only refills); past it, requests faster than the
    // refill rate meet a 429 sooner or later, whatever the machine's speed.
    let burst = UPGRADE_BURST as usize;
    // The refusal's own body is read: a later request could find a token refilled meanwhile.
    let mut first_refusal = None;
    for n in 0..2_000 {
        let response = app(state.clone())
            .oneshot(from([10, 1, 2, 3]))
            .await
            .unwrap();
        if response.status().as_u16() == 429 {
            first_refusal = Some((n, response));
            break;
        }
    }
    let (first_refusal, refused) = first_refusal.expect("an address over its rate is refused");
    assert!(
        first_refusal >= burst,
        "refused at {first_refusal}, inside the burst"
    );
    let other = app(state.clone())
        .oneshot(from([10, 9, 9, 9]))
        .await
        .unwrap();
    assert_ne!(other.status().as_u16(), 429);
    let body = http_body_util::BodyExt::collect(refused.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert!(
        String::from_utf8_lossy(&body).contains("reconnects by itself"),
        "{}",
        String::from_utf8_lossy(&body)
    );
}
