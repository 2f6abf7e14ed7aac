//! A workshop session in two real headless Chromiums at once: one is the facilitator, the other a learner,
//! each with its own profile (cookies, storage) and its own ChromeDriver, as on two laptops.
//!
//! The server binds `127.0.0.1:0` first; every wait polls the DOM with a deadline and never sleeps a
//! fixed time. Screenshots go to `target/screenshots/session-*.png`. Where Chromium or ChromeDriver is
//! missing the test says so loudly on stderr and passes.
use std::net::SocketAddr;
use std::path::PathBuf;

use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::serve::serve;
use eda_playground::web::AppState;
use fantoccini::{Client, Locator};
use tokio::net::TcpListener;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, click, screenshot, tools, wait_until};

/// Billing's goal breaks at its first failed attempt, so a broadcast outage of its dependency changes the
/// learner's progress at once, and the dashboard shows it.
const EXERCISE: &str = r#"
id = "session-browser"
title = "Billing and its dependency"
part = "failures"
order = 1
minutes = 5
summary = "A consumer whose dependency can fail."
run_for_ms = 600000
seed = 11
instructions = "Watch billing."
hints = ["Acknowledge after the work is done.", "Look at the ack mode."]

[scenario]
[[scenario.channels]]
name = "orders"
kind = "queue"
ack_deadline_ms = 5000

[[scenario.producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
payload = { amount = 10 }

[[scenario.consumers]]
name = "billing"
channel = "orders"
processing_ms = 200
effect = { kind = "once", label = "charged" }
design = { instances = 1 }

[[goals]]
id = "no-failures"
description = "Billing never fails"
check = { kind = "max_failures", consumer = "billing", max = 0 }

[solution]
knobs = {}
explanation = "Acknowledge after processing."
"#;

/// The app on a real socket with the test's exercise; the directory to remove afterwards.
async fn spawn_app() -> (SocketAddr, PathBuf) {
    let dir = std::env::temp_dir().join(format!("eda-browser-sessions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the exercises directory");
    std::fs::write(dir.join("session-browser.toml"), EXERCISE).expect("write the exercise");
    let catalog = Catalog::load(Some(&dir));
    assert!(
        catalog.get("session-browser").is_some(),
        "the test exercise does not load: {:?}",
        catalog.errors()
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = AppState::with_catalog(Config::default(), catalog);
    tokio::spawn(serve(listener, state));
    (addr, dir)
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no field {css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
}

async fn select(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no select {css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("cannot choose {value} in {css}: {e}"));
}

/// The facilitator starts a session from the home page; a learner joins with the code in another
/// browser; the dashboard lists them; faults broadcast to every sandbox show on the learner's page, and
/// the goal they break shows on the dashboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilitator_and_learner_in_two_browsers() {
    let Some(tools) = tools("facilitator_and_learner_in_two_browsers") else {
        return;
    };
    let (addr, exercises) = spawn_app().await;
    let (facilitator, learner) = tokio::join!(
        Browser::start(&tools, "session-facilitator"),
        Browser::start(&tools, "session-learner"),
    );
    let host = &facilitator.client;
    let guest = &learner.client;

    // 1. The facilitator starts a session and reads the join code off the page.
    host.goto(&format!("http://{addr}/"))
        .await
        .expect("open the home page");
    wait_until(
        host,
        "the home page's session links",
        "document.querySelector('.hero__actions a[href=\"/join\"]') && document.querySelector('.site-nav a[href=\"/sessions/new\"]')",
    )
    .await;
    screenshot(host, "session-home").await;
    click(host, ".hero__actions a[href='/sessions/new']").await;
    select(host, "#exercise", "session-browser").await;
    click(host, ".session-form button[type=submit]").await;
    let code = wait_until(
        host,
        "the join code",
        "document.querySelector('.join-code')?.textContent.trim()",
    )
    .await;
    let code = code.as_str().unwrap_or_default().to_owned();
    assert!(
        code.len() == 7 && code.as_bytes()[3] == b'-',
        "a short code like K7M-Q4X: {code:?}"
    );
    let link = wait_until(
        host,
        "the private facilitator link",
        "document.querySelector('#facilitator-link')?.textContent",
    )
    .await;
    assert!(
        link.as_str().unwrap_or_default().contains('#'),
        "the facilitator link carries its token in the fragment: {link}"
    );
    screenshot(host, "session-created").await;
    click(host, "#facilitator-link").await;
    wait_until(
        host,
        "the dashboard with its join code",
        &format!(
            "document.querySelector('#dashboard .join-code--big')?.textContent === '{code}' && !location.hash"
        ),
    )
    .await;

    // 2. The learner types the code and a name, and lands in their own sandbox.
    guest
        .goto(&format!("http://{addr}/"))
        .await
        .expect("open the home page");
    click(guest, ".site-nav a[href='/join']").await;
    wait_until(guest, "the code form", "document.querySelector('#code')").await;
    type_into(guest, "#code", &code.to_lowercase()).await;
    click(guest, ".session-form button[type=submit]").await;
    wait_until(
        guest,
        "the name form",
        "document.querySelector('#join-form')",
    )
    .await;
    type_into(guest, "#name", "Ada").await;
    click(guest, "#join-form button[type=submit]").await;
    wait_until(
        guest,
        "the learner's live sandbox",
        "location.pathname.endsWith('/play') && document.querySelector('#playground')?.dataset.status === 'live' && document.querySelector('.node--consumer')",
    )
    .await;
    let shown = guest
        .execute("return document.body.innerText;", vec![])
        .await
        .expect("the learner's page text");
    assert!(
        !shown
            .as_str()
            .unwrap_or_default()
            .contains(link.as_str().unwrap_or_default()),
        "the learner's page never shows the facilitator link"
    );

    screenshot(guest, "session-learner-joined").await;
    // 3. The dashboard lists the learner, connected, on the session's exercise.
    wait_until(
        host,
        "the learner in the roster",
        "[...document.querySelectorAll('#roster tr')].some(tr => tr.textContent.includes('Ada') && tr.querySelector('.dot--on')) && document.querySelector('#bar-exercise').textContent === 'Billing and its dependency'",
    )
    .await;
    screenshot(host, "session-dashboard-joined").await;

    // 4. A hint the learner opens counts on the dashboard.
    click(guest, "#btn-hint").await;
    wait_until(
        host,
        "one hint used on the dashboard",
        "[...document.querySelectorAll('#roster tr')].some(tr => tr.textContent.includes('Ada') && tr.children[4]?.textContent === '1 / 2')",
    )
    .await;

    // 5. The learner starts the run (it opens paused). An outage of billing's dependency for everyone:
    //    billing fails, and the learner's goal breaks.
    click(guest, "#btn-play").await;
    select(host, "#fault-kind", "dependency_outage").await;
    select(host, "#fault-target", "billing").await;
    click(host, "#fault button[type=submit]").await;
    wait_until(
        host,
        "the outage applied in the one sandbox",
        "document.querySelector('#outcome').textContent.includes('applied in 1 of 1')",
    )
    .await;
    wait_until(
        guest,
        "the broken goal on the learner's page",
        "document.querySelector('#goals .goal--broken')",
    )
    .await;

    // 6. The learner's goal state reaches the dashboard.
    let goals = wait_until(
        host,
        "the learner's broken goal on the dashboard",
        "[...document.querySelectorAll('#roster tr')].filter(tr => tr.textContent.includes('Ada')).map(tr => tr.querySelector('td.goals--broken')?.textContent).find(Boolean)",
    )
    .await;
    assert_eq!(goals.as_str(), Some("0 / 1"), "goals met of total");

    // 7. A crash for everyone: the learner sees their billing instance go down.
    host.execute(
        "document.querySelector('#outcome').textContent = '';",
        vec![],
    )
    .await
    .expect("clear the outcome");
    select(host, "#fault-kind", "crash").await;
    click(host, "#fault button[type=submit]").await;
    wait_until(
        host,
        "the crash applied in the one sandbox",
        "document.querySelector('#outcome').textContent.includes('applied in 1 of 1')",
    )
    .await;
    wait_until(
        guest,
        "the crash on the learner's page",
        "document.querySelector('#topology .inst--crashed') || [...document.querySelectorAll('#log .tag')].some(t => t.textContent === 'CRASH')",
    )
    .await;
    screenshot(guest, "session-learner-crashed").await;
    screenshot(host, "session-dashboard-fault").await;

    // 8. A pushed exercise: the learner's page reloads by itself into a fresh sandbox.
    guest
        .execute("window.edaBeforePush = true;", vec![])
        .await
        .expect("mark the page");
    click(host, "[data-action='push_exercise']").await;
    wait_until(
        guest,
        "the learner's page reloaded into a fresh sandbox",
        "!window.edaBeforePush && document.querySelector('#playground')?.dataset.status === 'live' && !document.querySelector('#goals .goal--broken')",
    )
    .await;

    facilitator.stop().await;
    learner.stop().await;
    let _ = std::fs::remove_dir_all(exercises);
}
