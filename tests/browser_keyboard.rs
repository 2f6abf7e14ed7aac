//! The playground by keyboard in a real headless Chromium: the event log is one tab stop with the arrow
//! keys inside it, arrow presses on the timeline add up to one seek, and Step runs to the next moment
//! something happens, as its tooltip says. Where Chromium or ChromeDriver
//! is missing the test says so and passes.
use std::net::SocketAddr;

use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::serve::serve;
use eda_playground::web::AppState;
use fantoccini::Client;
use fantoccini::key::Key;
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, click, tools, wait_until};

async fn spawn_app() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = AppState::with_catalog(Config::default(), Catalog::load(None));
    tokio::spawn(serve(listener, state));
    addr
}

/// Sends `key` to whatever has the focus.
async fn press(client: &Client, key: Key) {
    client
        .active_element()
        .await
        .expect("the focused element")
        .send_keys(&key.to_string())
        .await
        .expect("press a key");
}

async fn focused(client: &Client) -> Value {
    client
        .execute(
            "const a = document.activeElement; return a.id || a.className || a.tagName;",
            vec![],
        )
        .await
        .expect("the focused element")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_one_tab_stop_and_timeline_arrows_make_one_seek() {
    let Some(tools) = tools("the_log_is_one_tab_stop_and_timeline_arrows_make_one_seek") else {
        return;
    };
    let addr = spawn_app().await;
    let browser = Browser::start(&tools, "keyboard").await;
    let client = &browser.client;
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
        "a few seconds of run",
        "Number(document.querySelector('#playground').dataset.at) >= 3000 && document.querySelectorAll('#log .log__msg').length > 20",
    )
    .await;
    click(client, "#btn-play").await;
    wait_until(
        client,
        "the paused run",
        "document.querySelector('#btn-play').textContent === 'Play'",
    )
    .await;

    // Step (S) does what its tooltip says: it runs to the next moment something happens, so the newest
    // event in the whole log is at the new time, however far away that moment was.
    let title = client
        .execute("return document.querySelector('#btn-step').title;", vec![])
        .await
        .expect("the Step tooltip");
    assert_eq!(
        title,
        json!("Pause and run to the next moment something happens (S)")
    );
    client
        .execute(
            "window.atBeforeStep = document.querySelector('#playground').dataset.at; document.activeElement.blur();",
            vec![],
        )
        .await
        .expect("note the time");
    client
        .active_element()
        .await
        .expect("the body")
        .send_keys("s")
        .await
        .expect("press S");
    let stepped = wait_until(
        client,
        "the step, drawn in the log",
        "document.querySelector('#playground').dataset.at !== window.atBeforeStep && document.querySelector('#log .log__at')?.textContent === (Number(document.querySelector('#playground').dataset.at) / 1000).toFixed(3) && document.querySelector('#playground').dataset.at",
    )
    .await;
    eprintln!(
        "step: from {} ms to {stepped} ms",
        client
            .execute("return window.atBeforeStep;", vec![])
            .await
            .expect("the time before")
    );

    // Into the log with one Tab, down two rows with the arrows, out of it with one more Tab.
    click(client, "#log-problems").await;
    click(client, "#log-problems").await;
    press(client, Key::Tab).await;
    let first = wait_until(
        client,
        "the focus on the log's first row",
        "document.activeElement.matches('#log .log__msg') && [...document.querySelectorAll('#log .log__msg')].indexOf(document.activeElement) === 0",
    )
    .await;
    assert_eq!(first, json!(true));
    let stops = client
        .execute(
            "return [...document.querySelectorAll('#log .log__msg')].filter(b => b.tabIndex === 0).length;",
            vec![],
        )
        .await
        .expect("tab stops");
    assert_eq!(stops, json!(1), "one tab stop in the log");
    press(client, Key::Down).await;
    press(client, Key::Down).await;
    wait_until(
        client,
        "the focus two rows down",
        "[...document.querySelectorAll('#log .log__msg')].indexOf(document.activeElement) === 2",
    )
    .await;
    press(client, Key::Enter).await;
    wait_until(
        client,
        "the journey of the row",
        "document.querySelector('#journey .journey__title')",
    )
    .await;
    press(client, Key::Tab).await;
    let after = focused(client).await;
    assert_eq!(after, json!("tab-journey"), "one Tab leaves the log");

    // Five arrow presses on the timeline: one seek. A page that seeks per press sends five, one per
    // change event, before the settled seek would go out.
    client
        .execute(
            "window.seeks = 0; window.atBeforeSeek = Number(document.querySelector('#playground').dataset.at); const send = WebSocket.prototype.send; WebSocket.prototype.send = function (data) { if (/\"type\":\"seek\"/.test(data)) window.seeks += 1; return send.call(this, data); }; document.querySelector('#scrubber').focus();",
            vec![],
        )
        .await
        .expect("count the seeks");
    // One WebDriver call types all five, so a slow machine cannot spread them past the settle time.
    client
        .active_element()
        .await
        .expect("the scrubber")
        .send_keys(&Key::Left.to_string().repeat(5))
        .await
        .expect("press Left five times");
    let seeks = wait_until(client, "the seek", "window.seeks").await;
    assert_eq!(seeks, json!(1), "one seek for five presses");
    wait_until(
        client,
        "the run rebuilt earlier, with one toast",
        "Number(document.querySelector('#playground').dataset.at) < window.atBeforeSeek && [...document.querySelectorAll('#toasts .toast')].filter(t => /Back at/.test(t.textContent)).length === 1",
    )
    .await;
    browser.stop().await;
}
