//! The open design space in a real headless Chromium: a range knob moved with the keyboard changes the
//! running design and its bill, the knob says what real brokers call its setting, the design is proven
//! under chaos, and it can be taken home as a RabbitMQ file.
//!
//! The server binds `127.0.0.1:0`; every wait polls the DOM with a deadline and never sleeps a fixed
//! time. Screenshots go to `target/screenshots/design-space-*.png`. Where Chromium or ChromeDriver is
//! missing the test says so loudly on stderr and passes.
use fantoccini::Locator;
use fantoccini::key::Key;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, click, screenshot, serve_bundled, tools, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_knob_sizes_the_design_and_the_bill_follows() {
    let Some(tools) = tools("a_range_knob_sizes_the_design_and_the_bill_follows") else {
        return;
    };
    let addr = serve_bundled().await;
    let browser = Browser::start(&tools, "design-space").await;
    let client = &browser.client;
    client
        .goto(&format!("http://{addr}/exercises/competing-consumers"))
        .await
        .expect("open the playground");
    wait_until(
        client,
        "the live sandbox with its bill",
        "document.querySelector('#playground')?.dataset.status === 'live' && document.querySelector('.bill-panel')",
    )
    .await;

    // The instances knob is a slider from 1 to 10, at 1, with what real brokers call it.
    click(client, "#tab-design").await;
    let slider = wait_until(
        client,
        "the instances slider",
        "(s => s && [s.min, s.max, s.value, s.getAttribute('aria-valuetext')].join('|'))(document.querySelector('#knob-packing-instances'))",
    )
    .await;
    assert_eq!(slider, "1|10|1|1 instance");
    let note = wait_until(
        client,
        "the brokers' names for instances",
        "document.querySelector(\"[data-knob='packing-instances'] .knob__brokers\")?.textContent",
    )
    .await;
    assert!(
        note.as_str().unwrap_or_default().contains("RabbitMQ"),
        "{note}"
    );

    // The keyboard moves it to 2: the running design follows, and the design diff says so.
    client
        .find(Locator::Css("#knob-packing-instances"))
        .await
        .expect("the slider")
        .send_keys(&Key::Right.to_string())
        .await
        .expect("press the right arrow");
    wait_until(
        client,
        "two instances in the design",
        "document.querySelector(\".design-diff li[data-knob='packing-instances']\")?.textContent.includes('1 instance → 2 instances') && document.activeElement?.id === 'knob-packing-instances'",
    )
    .await;

    // Run it to the end at 16×: every goal met, and the bill charges two instances for 60 s.
    client
        .find(Locator::Css("#speed"))
        .await
        .expect("speed")
        .select_by_value("16")
        .await
        .expect("16×");
    click(client, "#btn-start").await;
    wait_until(
        client,
        "the run finished with every goal met",
        "document.querySelector('#playground').dataset.status === 'finished' && document.querySelectorAll('#goals .goal--met').length === 4",
    )
    .await;
    let bill = wait_until(
        client,
        "the bill of two instances",
        "(t => t.includes('120 instance-seconds') && t)(document.querySelector('.bill-panel').textContent)",
    )
    .await;
    assert!(
        bill.as_str().unwrap_or_default().contains("packing"),
        "latency per consumer: {bill}"
    );
    client
        .execute("document.querySelector('dialog[open]')?.close();", vec![])
        .await
        .expect("close the success dialog");
    screenshot(client, "design-space-two-instances").await;

    // Proven under the exercise's chaos, on 20 seeds.
    client
        .execute(
            "document.querySelector('#proof-seeds').value = '20';",
            vec![],
        )
        .await
        .expect("seeds");
    click(client, "#btn-prove").await;
    wait_until(
        client,
        "the proof",
        "/Proven on 20\\/20/.test(document.querySelector('#proof-report')?.textContent ?? '')",
    )
    .await;

    // Taken home: the export of this design loads as RabbitMQ definitions.
    let file = client
        .execute_async(
            "const done = arguments[arguments.length - 1]; fetch('/api/exercises/competing-consumers/export/rabbitmq?packing-instances=2').then(r => r.json()).then(j => done(j.file.queues.map(q => q.name).join(',')));",
            vec![],
        )
        .await
        .expect("the export");
    assert!(
        file.as_str().unwrap_or_default().contains("packing-jobs"),
        "{file}"
    );
    assert!(
        client
            .find(Locator::Css("[data-export='rabbitmq']"))
            .await
            .is_ok(),
        "the page offers the download"
    );
    browser.stop().await;
}

/// A subscription's filter is drawn where its edge enters the subscription, changes with the knob,
/// and the log says why a message was not routed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_is_drawn_on_its_edge_and_explains_what_it_kept_out() {
    let Some(tools) = tools("a_filter_is_drawn_on_its_edge_and_explains_what_it_kept_out") else {
        return;
    };
    let addr = serve_bundled().await;
    let browser = Browser::start(&tools, "design-space-filters").await;
    let client = &browser.client;
    client
        .goto(&format!("http://{addr}/exercises/routing-filters"))
        .await
        .expect("open the playground");
    let labels = wait_until(
        client,
        "the filters on the subscriptions' edges",
        "(l => l.length === 3 && l.join('|'))([...document.querySelectorAll('#topology .filter-labels text')].map(t => t.firstChild.textContent))",
    )
    .await;
    assert_eq!(labels, "orders.#|orders.eu.placed|#");

    // The warehouse's filter narrowed (a restart knob, applied): the edge follows.
    click(client, "#tab-design").await;
    click(
        client,
        "input[data-knob='warehouse-filter'][value='orders.eu.placed'] + span",
    )
    .await;
    click(client, "[data-apply='warehouse-filter']").await;
    wait_until(
        client,
        "the narrowed filter on the warehouse's edge",
        "[...document.querySelectorAll('#topology .filter-labels text')].map(t => t.firstChild.textContent).join('|') === 'orders.eu.placed|orders.eu.placed|#'",
    )
    .await;

    // Run it: e-mail's filter is still too narrow, and the log says which key it kept out.
    client
        .find(Locator::Css("#speed"))
        .await
        .expect("speed")
        .select_by_value("16")
        .await
        .expect("16×");
    click(client, "#btn-start").await;
    let line = wait_until(
        client,
        "a message not routed to e-mail, in the log",
        "[...document.querySelectorAll('#log li')].map(li => li.textContent).find(t => t.includes('not routed to email: key orders.us.placed does not match orders.eu.placed'))",
    )
    .await;
    assert!(line.as_str().is_some());
    screenshot(client, "design-space-filters").await;
    browser.stop().await;
}
