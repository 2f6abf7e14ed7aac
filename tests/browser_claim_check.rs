//! The claim-check exercise in a real headless Chromium, as a learner walks it: the picture shows
//! the topic's size limit and the photos each event carries; the log says why the broker refuses a
//! claim, and its journey shows what it weighs; with the photos in a blob store and two assessment
//! instances, every goal is met, the producer's note says "claim check", and the bill's storage line
//! stays small.
//!
//! The server binds `127.0.0.1:0`; every wait polls the DOM with a deadline and never sleeps a fixed
//! time. Screenshots go to `target/screenshots/claim-check-*.png`. Where Chromium or ChromeDriver is
//! missing the test says so loudly on stderr and passes.
use fantoccini::Locator;
use fantoccini::key::Key;

#[path = "support/browser.rs"]
mod support;
use support::{
    Browser, click, pause, play, screenshot, serve_bundled, set_speed, tools, wait_until,
};

/// The text of every note drawn beside the nodes (registry modes, size limits, attachments).
const NOTES: &str = "[...document.querySelectorAll('#topology .node__registry')].map(n => n.firstChild.textContent).join(' | ')";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_too_big_for_the_topic_are_refused_and_a_claim_check_gets_them_through() {
    let Some(tools) =
        tools("photos_too_big_for_the_topic_are_refused_and_a_claim_check_gets_them_through")
    else {
        return;
    };
    let addr = serve_bundled().await;
    let browser = Browser::start(&tools, "claim-check").await;
    let client = &browser.client;
    client
        .goto(&format!("http://{addr}/exercises/claim-check"))
        .await
        .expect("open the playground");
    let notes = wait_until(
        client,
        "the notes on the producer and the topic",
        &format!("document.querySelector('#playground')?.dataset.status === 'live' && {NOTES}"),
    )
    .await;
    assert_eq!(notes, "max 256 KiB | +600 KB inline");

    set_speed(client, "4").await;
    click(client, "#btn-start").await;
    let line = wait_until(
        client,
        "a refused claim in the log",
        "[...document.querySelectorAll('#log .log__text')].map(t => t.textContent).find(t => t.includes('could not publish'))",
    )
    .await;
    assert!(
        line.as_str()
            .unwrap_or_default()
            .ends_with("it is bigger than the largest message the channel accepts"),
        "{line}"
    );
    pause(client).await;
    let row = "#log li:has(.tag--lost) .log__msg";
    wait_until(
        client,
        "a lost claim in the log",
        &format!("document.querySelector(\"{row}\")"),
    )
    .await;
    click(client, row).await;
    let size = wait_until(
        client,
        "the claim's size in its journey",
        "[...document.querySelectorAll('#journey .journey__head span')].map(s => s.textContent).find(t => / KB$/.test(t))",
    )
    .await;
    // {"amount":1800,"photos":6,"policy":"P-1042"} (44 bytes), 600,000 bytes of photos, a key such
    // as claim-1 (7), ClaimSubmitted (14) and the 100-byte envelope.
    assert_eq!(size, "600.2 KB");
    let outcome = client
        .execute(
            "return document.querySelector('#journey .journey__outcome').textContent;",
            vec![],
        )
        .await
        .expect("the journey's outcome");
    assert_eq!(outcome, "It never reached the broker.");
    screenshot(client, "claim-check-refused").await;

    // The design: the photos in a blob store, two assessment instances. Both settings say what real
    // brokers call them.
    click(client, "#tab-design").await;
    for (knob, name) in [
        ("size-limit", "max_message_size"),
        ("photos", "Extended Client Library"),
    ] {
        let note = wait_until(
            client,
            "the brokers' names for the setting",
            &format!(
                "document.querySelector(\"[data-knob='{knob}'] .knob__brokers\")?.textContent"
            ),
        )
        .await;
        assert!(note.as_str().unwrap_or_default().contains(name), "{note}");
    }
    click(
        client,
        "input[data-knob='photos'][value='claim-check'] + span",
    )
    .await;
    click(client, "[data-apply='photos']").await;
    wait_until(
        client,
        "the claim check in the design",
        "document.querySelector(\".design-diff li[data-knob='photos']\")",
    )
    .await;
    client
        .find(Locator::Css("#knob-assessment-instances"))
        .await
        .expect("the slider")
        .send_keys(&Key::Right.to_string())
        .await
        .expect("press the right arrow");
    wait_until(
        client,
        "two assessment instances in the design",
        "document.querySelector(\".design-diff li[data-knob='assessment-instances']\")?.textContent.includes('1 instance → 2 instances')",
    )
    .await;
    // At 1280×720 the slider's value and its ends fit the Design panel: nothing is cut off at its edge.
    let fits = client
        .execute(
            "const p = document.querySelector('#knob-assessment-instances').closest('.tabpanel'); return p.scrollWidth <= p.clientWidth;",
            vec![],
        )
        .await
        .expect("the Design panel's width");
    assert_eq!(fits, true, "the Design panel overflows sideways");
    let notes = wait_until(
        client,
        "the claim check on the producer",
        &format!("(t => t.includes('claim check') && t)({NOTES})"),
    )
    .await;
    assert_eq!(notes, "max 256 KiB | claim check");

    set_speed(client, "16").await;
    play(client).await;
    wait_until(
        client,
        "the run finished with every goal met",
        "document.querySelector('#playground').dataset.status === 'finished' && document.querySelectorAll('#goals .goal--met').length === 5",
    )
    .await;
    client
        .execute("document.querySelector('dialog[open]')?.close();", vec![])
        .await
        .expect("close the success dialog");
    let storage = client
        .execute(
            "return [...document.querySelectorAll('.bill-panel dd')][1].textContent;",
            vec![],
        )
        .await
        .expect("the storage line");
    let storage = storage.as_str().unwrap_or_default().to_owned();
    let kilobyte_seconds: f64 = storage
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::MAX);
    assert!(
        storage.ends_with("kilobyte-seconds") && kilobyte_seconds < 1_000.0,
        "a few hundred bytes per claim: {storage}"
    );
    screenshot(client, "claim-check-solved").await;
    browser.stop().await;
}
