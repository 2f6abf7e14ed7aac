//! The event catalog in a real headless Chromium: every event type with its versions, its channel, who
//! produces and who consumes it (with a subscription's routing-key filter), its payload schema (declared
//! by the exercise, or inferred), the latest messages of it in the live run (each opens its journey),
//! and a download of the same AsyncAPI 3.0 document it is drawn from.
//!
//! The server binds `127.0.0.1:0`; every wait polls the DOM with a deadline and never sleeps a fixed
//! time. Screenshots go to `target/screenshots/catalog-*.png`. Where Chromium or ChromeDriver is missing
//! the test says so loudly on stderr and passes.
use fantoccini::Client;
use serde_json::{Value, json};

#[path = "support/browser.rs"]
mod support;
use support::{Browser, click, screenshot, serve_bundled, tools, wait_until};

/// Opens `exercise`, starts its run, and shows the catalog tab once a few messages have been published.
async fn open_catalog(client: &Client, base: &str, exercise: &str) {
    client
        .goto(&format!("{base}/exercises/{exercise}"))
        .await
        .expect("open the playground");
    wait_until(
        client,
        "the live sandbox",
        "document.querySelector('#playground')?.dataset.status === 'live' && document.querySelector('.node--consumer')",
    )
    .await;
    click(client, "#btn-start").await;
    wait_until(
        client,
        "a second of run",
        "Number(document.querySelector('#playground').dataset.at) >= 1000",
    )
    .await;
    click(client, "#tab-catalog").await;
    wait_until(
        client,
        "the catalog",
        "document.querySelector('#catalog .catalog__event')",
    )
    .await;
}

/// The text of one fact of the first version of `event_type`, as the page shows it.
async fn fact(client: &Client, event_type: &str, class: &str) -> Value {
    client
        .execute(
            "return document.querySelector(`#catalog .catalog__event[data-event-type='${arguments[0]}'] .${arguments[1]}`)?.textContent ?? null;",
            vec![json!(event_type), json!(class)],
        )
        .await
        .expect("a fact of the catalog")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_lists_each_event_its_schema_and_live_examples() {
    let Some(tools) = tools("the_catalog_lists_each_event_its_schema_and_live_examples") else {
        return;
    };
    let addr = serve_bundled().await;
    let base = format!("http://{addr}");
    let browser = Browser::start(&tools, "catalog").await;
    let client = &browser.client;

    // routing-filters: two event types on one topic, three producers, and filtered subscriptions.
    open_catalog(client, &base, "routing-filters").await;
    let types = client
        .execute(
            "return [...document.querySelectorAll('#catalog .catalog__event')].map(e => e.dataset.eventType);",
            vec![],
        )
        .await
        .expect("the event types");
    assert_eq!(types, json!(["OrderCancelled", "OrderPlaced"]));
    assert_eq!(
        fact(client, "OrderPlaced", "catalog__producers").await,
        json!("eu-shop, us-shop")
    );
    let consumers = fact(client, "OrderPlaced", "catalog__consumers").await;
    let consumers = consumers.as_str().unwrap_or_default();
    assert!(
        consumers.contains("email (only keys matching orders.eu.placed)")
            && consumers.contains("audit (only keys matching #)"),
        "each consumer with its filter: {consumers}"
    );
    // The latest OrderPlaced of the run is listed, and it opens its journey.
    let example = wait_until(
        client,
        "a live example",
        "document.querySelector(\"#catalog .catalog__live[data-event-type='OrderPlaced'] button\")?.textContent",
    )
    .await;
    screenshot(client, "catalog-routing-filters").await;
    click(
        client,
        "#catalog .catalog__live[data-event-type='OrderPlaced'] button",
    )
    .await;
    let short_id = example
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let journey = wait_until(
        client,
        "the example's journey",
        "document.querySelector('#tab-journey').getAttribute('aria-selected') === 'true' && document.querySelector('#journey .journey__title')?.parentElement.textContent",
    )
    .await;
    assert!(
        journey.as_str().unwrap_or_default().contains("OrderPlaced"),
        "the journey of {short_id}: {journey}"
    );

    // The download is the AsyncAPI 3.0 document the catalog is drawn from.
    click(client, "#tab-catalog").await;
    let downloaded = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const link = document.querySelector('#catalog-download');
             fetch(link.href).then(r => r.json()).then(d => done([link.getAttribute('download'), d.asyncapi, Object.keys(d.components.messages)])).catch(e => done(String(e)));",
            vec![],
        )
        .await
        .expect("the AsyncAPI download");
    assert_eq!(
        downloaded,
        json!([
            "routing-filters-asyncapi.json",
            "3.0.0",
            ["OrderCancelled", "OrderPlaced"]
        ])
    );

    // poison-message: the payload's schema, field by field.
    open_catalog(client, &base, "poison-message").await;
    let schema = client
        .execute(
            "return [...document.querySelectorAll(\"#catalog .catalog__event[data-event-type='PaymentRequested'] .catalog__schema tbody tr\")].map(r => [...r.cells].map(c => c.textContent));",
            vec![],
        )
        .await
        .expect("the schema");
    assert_eq!(schema, json!([["amount", "integer", "yes"]]));
    assert_eq!(
        fact(client, "PaymentRequested", "catalog__source").await,
        json!("Payload schema inferred from what the producer sends:")
    );

    // schema-evolution: one event type at two versions, the second from the producer's v2 release.
    open_catalog(client, &base, "schema-evolution").await;
    let versions = client
        .execute(
            "return [...document.querySelectorAll(\"#catalog .catalog__event[data-event-type='OrderPlaced'] .catalog__kind\")].map(k => [k.querySelector('dd').textContent, k.querySelector('.catalog__producers').textContent]);",
            vec![],
        )
        .await
        .expect("the versions");
    assert_eq!(versions, json!([["1", "web-shop"], ["2", "web-shop"]]));
    // Its schemas are declared by the exercise: v2 adds the delivery slot, and each field says its rules.
    let declared = client
        .execute(
            "return [...document.querySelectorAll(\"#catalog .catalog__event[data-event-type='OrderPlaced'] .catalog__kind\")].map(k => [k.querySelector('.catalog__source').textContent, [...k.querySelectorAll('.catalog__schema tbody tr')].map(r => r.cells[0].textContent + ': ' + r.cells[1].textContent)]);",
            vec![],
        )
        .await
        .expect("the declared schemas");
    assert_eq!(
        declared,
        json!([
            [
                "Payload schema declared by the exercise:",
                [
                    "currency: string, one of EUR, GBP, USD",
                    "order_total: number, ≥ 0"
                ]
            ],
            [
                "Payload schema declared by the exercise:",
                [
                    "currency: string, one of EUR, GBP, USD",
                    "delivery_slot: string (The one-hour delivery window, as an ISO 8601 interval.)",
                    "order_total: number, ≥ 0"
                ]
            ]
        ])
    );
    // v1 travels from the start; v2 ships at 10 s, and the registry's default mode refuses it, so the
    // catalog has no live example of it to show.
    wait_until(
        client,
        "a live example of v1",
        "document.querySelector(\"#catalog .catalog__live[data-event-type='OrderPlaced'][data-version='1'] button\")",
    )
    .await;
    let v2_live = client
        .execute(
            "return document.querySelector(\"#catalog .catalog__live[data-event-type='OrderPlaced'][data-version='2']\").textContent;",
            vec![],
        )
        .await
        .expect("the v2 examples");
    assert_eq!(v2_live, json!("None in this run yet."));
    screenshot(client, "catalog-schema-evolution").await;
    browser.stop().await;
}
