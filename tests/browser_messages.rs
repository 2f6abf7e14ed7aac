//! The moving messages in a real headless Chromium: a paused dot can be clicked to open its journey, a
//! poison message travels as one, and a busy edge carries a count instead of a blur of dots. Where
//! Chromium or ChromeDriver is missing the tests say so and pass.
use std::net::SocketAddr;

use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::serve::serve;
use eda_playground::web::AppState;
use fantoccini::{Client, Locator};
use tokio::net::TcpListener;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, click, screenshot, tools, wait_until};

async fn spawn_app() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = AppState::with_catalog(Config::default(), Catalog::load(None));
    tokio::spawn(serve(listener, state));
    addr
}

async fn open_playground(client: &Client, addr: SocketAddr, exercise: &str) {
    client
        .goto(&format!("http://{addr}/exercises/{exercise}"))
        .await
        .expect("open the playground");
    wait_until(
        client,
        "the live sandbox",
        "document.querySelector('#playground')?.dataset.status === 'live' && document.querySelector('.node--consumer')",
    )
    .await;
}

async fn set_speed(client: &Client, speed: &str) {
    client
        .find(Locator::Css("#speed"))
        .await
        .expect("speed select")
        .select_by_value(speed)
        .await
        .expect("choose a speed");
}

/// A dot that is fully drawn on the picture now, and on top of any other at its centre.
const VISIBLE_DOT: &str = "[...document.querySelectorAll('#topology .dot[data-message]')].find(d => { \
    const r = d.getBoundingClientRect(); \
    return Number(d.getAttribute('opacity')) > 0.8 && document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)?.closest('.dot') === d; })";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_dot_opens_its_journey() {
    let Some(tools) = tools("a_paused_dot_opens_its_journey") else {
        return;
    };
    let addr = spawn_app().await;
    let browser = Browser::start(&tools, "dots").await;
    let client = &browser.client;

    // A poison message travels with the poison glyph.
    open_playground(client, addr, "poison-message").await;
    click(client, "#btn-play").await;
    click(client, "[data-fault='inject_poison']").await;
    wait_until(
        client,
        "a poison message on the picture",
        "document.querySelector('#topology .dot--poison .glyph__skull')",
    )
    .await;

    // Pause: the dots on the picture hold still; clicking one opens that message's journey.
    wait_until(client, "a dot in flight", VISIBLE_DOT).await;
    click(client, "#btn-play").await;
    wait_until(
        client,
        "the paused run",
        "document.querySelector('#btn-play').textContent === 'Play'",
    )
    .await;
    let id = wait_until(
        client,
        "a dot held on the picture",
        &format!("({VISIBLE_DOT})?.dataset.message"),
    )
    .await;
    let id = id.as_str().expect("a message id").to_owned();
    let still = client
        .execute(
            &format!(
                "return document.querySelector('#topology .dot[data-message=\"{id}\"]').getAttribute('transform');"
            ),
            vec![],
        )
        .await
        .expect("the dot's place");
    screenshot(client, "dots-paused").await;
    click(client, &format!("#topology .dot[data-message='{id}']")).await;
    wait_until(
        client,
        "the journey of the clicked message",
        &format!("document.querySelector('#journey .journey__head .mono')?.textContent === '{id}'"),
    )
    .await;
    let after = client
        .execute(
            &format!(
                "return document.querySelector('#topology .dot[data-message=\"{id}\"]')?.getAttribute('transform');"
            ),
            vec![],
        )
        .await
        .expect("the dot's place after the click");
    assert_eq!(still, after, "a paused dot holds its place");

    // A busy stream at 16×: an edge carries a count of the messages past the dots drawn.
    open_playground(client, addr, "streaming-replay").await;
    set_speed(client, "16").await;
    click(client, "#btn-play").await;
    let count = wait_until(
        client,
        "a count riding on a busy edge",
        "document.querySelector('#topology .edge-count__text')?.textContent",
    )
    .await;
    assert!(
        count.as_str().unwrap_or_default().starts_with('+'),
        "{count}"
    );
    let most = client
        .execute(
            "const by = {}; for (const d of document.querySelectorAll('#topology .dot')) by[d.dataset.edge] = (by[d.dataset.edge] || 0) + 1; return Math.max(0, ...Object.values(by));",
            vec![],
        )
        .await
        .expect("dots per edge");
    assert!(
        most.as_u64().unwrap_or(0) <= 5,
        "at most five dots per edge, saw {most}"
    );
    screenshot(client, "dots-busy-edge").await;
    browser.stop().await;
}
