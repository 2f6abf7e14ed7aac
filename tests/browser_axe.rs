//! axe-core, the accessibility checker, on every page in a real headless Chromium, light and dark: the
//! home, playground, error and workshop pages (new session, join, the facilitator's dashboard) must have
//! no violation.
//!
//! `axe.min.js` comes from `EDA_AXE_JS` or `~/.cache/eda-playground/axe` (`.ci/run` installs it from npm)
//! and is injected through WebDriver; nothing is fetched by the page. Without it the test fails when
//! `EDA_REQUIRE_AXE` is set (as `.ci/run` does) and says so loudly elsewhere. Where Chromium or
//! ChromeDriver is missing the test says so and passes.
use std::net::SocketAddr;

use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::serve::serve;
use eda_playground::web::AppState;
use fantoccini::Client;
use tokio::net::TcpListener;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, View, axe_script, axe_violations, click, tools, wait_until};

async fn spawn_app() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = AppState::with_catalog(Config::default(), Catalog::load(None));
    tokio::spawn(serve(listener, state));
    addr
}

/// The playground as a learner has it after a moment: a run with traffic, paused, a journey open.
async fn playground_in_use(client: &Client, addr: SocketAddr) {
    client
        .goto(&format!("http://{addr}/exercises/poison-message"))
        .await
        .expect("open the playground");
    wait_until(
        client,
        "the live sandbox",
        "document.querySelector('#playground')?.dataset.status === 'live' && document.querySelector('.node--consumer')",
    )
    .await;
    click(client, "#btn-play").await;
    wait_until(
        client,
        "rows in the log",
        "document.querySelectorAll('#log .log__msg').length > 5",
    )
    .await;
    click(client, "#btn-play").await;
    wait_until(
        client,
        "the paused run",
        "document.querySelector('#btn-play').textContent === 'Play'",
    )
    .await;
    click(client, "#log .log__msg").await;
    wait_until(
        client,
        "a journey",
        "document.querySelector('#journey .journey__title')",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_violation_on_any_page() {
    let Some(tools) = tools("axe_finds_no_violation_on_any_page") else {
        return;
    };
    let Some(axe) = axe_script("axe_finds_no_violation_on_any_page") else {
        return;
    };
    let addr = spawn_app().await;
    let mut violations = Vec::new();
    for dark in [false, true] {
        let scheme = if dark { "dark" } else { "light" };
        let browser = Browser::start_in(
            &tools,
            &format!("axe-{scheme}"),
            View {
                dark,
                ..View::DEFAULT
            },
        )
        .await;
        let client = &browser.client;
        for (page, path) in [("home", "/"), ("error page", "/exercises/no-such-exercise")] {
            client
                .goto(&format!("http://{addr}{path}"))
                .await
                .expect("open the page");
            for v in axe_violations(client, &axe).await {
                violations.push(format!("{page} ({scheme}): {v}"));
            }
        }
        playground_in_use(client, addr).await;
        for v in axe_violations(client, &axe).await {
            violations.push(format!("playground ({scheme}): {v}"));
        }
        // The workshop pages are checked too: a session made through the API, its dashboard and its join page.
        client
            .goto(&format!("http://{addr}/join"))
            .await
            .expect("open the join page");
        let session = client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch('/api/sessions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ exercise: 'poison-message' }) })
                   .then(r => r.json()).then(s => done([new URL(s.facilitator_url).pathname + new URL(s.facilitator_url).hash, '/join/' + s.code]))
                   .catch(e => done(['/sessions/new', '/join']));",
                vec![],
            )
            .await
            .expect("a session");
        let dashboard = session[0].as_str().unwrap_or("/sessions/new").to_owned();
        let join = session[1].as_str().unwrap_or("/join").to_owned();
        for (page, path) in [
            ("new session", "/sessions/new"),
            ("join", "/join"),
            ("facilitator dashboard", dashboard.as_str()),
            ("join a session", join.as_str()),
        ] {
            client
                .goto(&format!("http://{addr}{path}"))
                .await
                .expect("open the page");
            for v in axe_violations(client, &axe).await {
                violations.push(format!("{page} ({scheme}): {v}"));
            }
        }
        browser.stop().await;
    }
    assert!(
        violations.is_empty(),
        "axe-core violations:\n{}",
        violations.join("\n")
    );
}
