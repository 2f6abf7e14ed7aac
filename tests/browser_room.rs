//! The facilitator's view of a room, in real headless Chromiums: one facilitator and three learners, each
//! with its own profile and ChromeDriver, as on four laptops. The per-goal counts and the design
//! distribution follow learners' clicks, a learner with no change is flagged, the timer ends on both
//! sides, and the debrief shows no token or name unless asked.
//!
//! The server binds `127.0.0.1:0`; every wait polls the DOM with a deadline and never sleeps a fixed
//! time. Screenshots go to `target/screenshots/room-*.png`. Where Chromium or ChromeDriver is missing the
//! test says so loudly on stderr and passes.
use std::net::SocketAddr;
use std::path::PathBuf;

use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::serve::serve;
use eda_playground::web::AppState;
use fantoccini::{Client, Locator};
use serde_json::Value;
use tokio::net::TcpListener;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, click, screenshot, tools, wait_until};

/// Two live knobs on billing and two goals, one that any failure breaks.
const EXERCISE: &str = r#"
id = "room-browser"
title = "Billing under duplicates"
part = "failures"
order = 1
minutes = 5
summary = "A consumer that sees duplicates."
run_for_ms = 600000
seed = 11
instructions = "Make billing safe."
hints = ["Think about the key.", "Business keys survive a producer's retry."]
debrief = ["Why does the message id not recognise a producer's retry?", "Where would you keep the keys?"]

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
processing_ms = 20
effect = { kind = "once", label = "charged" }
design = { instances = 1, retry = { strategy = "none" } }

[[knobs]]
id = "billing-idempotency"
label = "How billing recognises a message"
consumer = "billing"
field = "idempotency"
options = [
  { id = "none", label = "It does not", value = "none" },
  { id = "message_id", label = "By message id", value = "message_id" },
  { id = "business_key", label = "By business key", value = "business_key" },
]

[[knobs]]
id = "billing-retry"
label = "What billing does on a failure"
consumer = "billing"
field = "retry"
options = [
  { id = "none", label = "Give up", value = { strategy = "none" } },
  { id = "three", label = "Try 3 times", value = { strategy = "immediate", max_attempts = 3 } },
]

[[goals]]
id = "no-failures"
description = "Billing never fails"
check = { kind = "max_failures", consumer = "billing", max = 0 }

[[goals]]
id = "charged-once"
description = "Every order is charged exactly once"
check = { kind = "exactly_once", consumer = "billing" }

[solution]
knobs = { billing-idempotency = "business_key" }
explanation = "The business key recognises a retry that carries a new message id."
"#;

const LEARNERS: [&str; 3] = ["Ada", "Grace", "Linus"];

async fn spawn_app() -> (SocketAddr, PathBuf) {
    let dir = std::env::temp_dir().join(format!("eda-browser-room-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the exercises directory");
    std::fs::write(dir.join("room-browser.toml"), EXERCISE).expect("write the exercise");
    let catalog = Catalog::load(Some(&dir));
    assert!(
        catalog.get("room-browser").is_some(),
        "the test exercise does not load: {:?}",
        catalog.errors()
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = AppState::with_catalog(Config::default(), catalog);
    tokio::spawn(serve(listener, state));
    (addr, dir)
}

async fn js(client: &Client, script: &str) -> Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {script}: {e}"))
}

async fn set_value(client: &Client, css: &str, value: &str) {
    js(
        client,
        &format!(
            "const el = document.querySelector({css:?}); el.value = {value:?}; el.dispatchEvent(new Event('change', {{ bubbles: true }}));"
        ),
    )
    .await;
}

/// A learner joins with the join link and a name, and lands in their live sandbox.
async fn join(client: &Client, addr: SocketAddr, code: &str, name: &str) {
    client
        .goto(&format!("http://{addr}/join/{code}"))
        .await
        .expect("open the join link");
    wait_until(
        client,
        "the name form",
        "document.querySelector('#join-form #name')",
    )
    .await;
    client
        .find(Locator::Css("#name"))
        .await
        .expect("the name field")
        .send_keys(name)
        .await
        .expect("type the name");
    click(client, "#join-form button[type=submit]").await;
    wait_until(
        client,
        "the learner's live sandbox",
        "location.pathname.endsWith('/play') && document.querySelector('#playground')?.dataset.status === 'live'",
    )
    .await;
}

/// Chooses `option` of `knob` on a learner's Design tab; returns the page's clock at the click (ms).
async fn choose(client: &Client, knob: &str, option: &str) -> f64 {
    click(client, "#tab-design").await;
    let css = format!("input[name='knob-{knob}'][value='{option}']");
    wait_until(
        client,
        "the knob's option",
        &format!("document.querySelector({css:?})"),
    )
    .await;
    js(
        client,
        &format!("const t = Date.now(); document.querySelector({css:?}).click(); return t;"),
    )
    .await
    .as_f64()
    .expect("the click's time")
}

/// The text of the roster line of `name` on the dashboard.
fn roster_line(name: &str) -> String {
    format!(
        "[...document.querySelectorAll('#roster tr[data-learner]')].find(tr => tr.cells[0].textContent.trim() === '{name}')"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_facilitator_sees_the_room_think_and_debriefs_it() {
    let Some(tools) = tools("the_facilitator_sees_the_room_think_and_debriefs_it") else {
        return;
    };
    let (addr, exercises) = spawn_app().await;
    let (facilitator, ada, grace, linus) = tokio::join!(
        Browser::start(&tools, "room-facilitator"),
        Browser::start(&tools, "room-ada"),
        Browser::start(&tools, "room-grace"),
        Browser::start(&tools, "room-linus"),
    );
    let host = &facilitator.client;
    let learners = [&ada.client, &grace.client, &linus.client];
    let chrome = js(host, "return window.outerHeight - window.innerHeight;")
        .await
        .as_u64()
        .unwrap_or(0);
    host.set_window_size(1920, 1080 + chrome as u32)
        .await
        .expect("a projector-sized window");

    // 1. The facilitator starts a session and opens the dashboard from the private link.
    host.goto(&format!("http://{addr}/sessions/new"))
        .await
        .expect("open the new session page");
    set_value(host, "#exercise", "room-browser").await;
    click(host, ".session-form button[type=submit]").await;
    let link = wait_until(
        host,
        "the private link",
        "document.querySelector('#facilitator-link')?.href",
    )
    .await;
    let link = link.as_str().unwrap_or_default().to_owned();
    let token = link.split('#').nth(1).unwrap_or_default().to_owned();
    assert_eq!(token.len(), 64, "the facilitator's token: {link}");
    let code = link
        .split("/sessions/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    click(host, "#facilitator-link").await;
    wait_until(
        host,
        "the dashboard",
        "document.querySelector('#dashboard') && !location.hash",
    )
    .await;

    // 2. Three learners join; each goal counts three pending, each knob's default holds all three.
    for (client, name) in learners.iter().zip(LEARNERS) {
        join(client, addr, &code, name).await;
    }
    wait_until(
        host,
        "three learners, every goal pending",
        "document.querySelectorAll('#roster tr[data-learner]').length === 3 && [...document.querySelectorAll('#goal-bars [data-goal] .goal-bar__counts')].map(e => e.textContent).join('|') === '0 met · 0 broken · 3 pending|0 met · 0 broken · 3 pending'",
    )
    .await;
    let counts = |knob: usize| {
        format!(
            "[...document.querySelectorAll('#designs .knob')[{knob}].querySelectorAll('.knob__count')].map(e => e.textContent).join(',')"
        )
    };
    assert_eq!(js(host, &format!("return {};", counts(0))).await, "3,0,0");

    // 3. Ada and Grace change their designs: the distribution follows within a second of each click,
    //    measured on the two pages' clocks (one machine).
    js(
        host,
        "window.edaSeen = {}; new MutationObserver(() => { const c = [...document.querySelectorAll('#designs .knob')[0].querySelectorAll('.knob__count')].map(e => e.textContent).join(','); if (!(c in window.edaSeen)) window.edaSeen[c] = Date.now(); }).observe(document.getElementById('designs'), { childList: true, subtree: true, characterData: true });",
    )
    .await;
    let clicked_ada = choose(learners[0], "billing-idempotency", "business_key").await;
    let seen_ada = wait_until(host, "Ada's choice counted", "window.edaSeen['2,0,1']").await;
    let clicked_grace = choose(learners[1], "billing-idempotency", "message_id").await;
    let seen_grace = wait_until(host, "Grace's choice counted", "window.edaSeen['1,1,1']").await;
    let delays = [
        seen_ada.as_f64().unwrap() - clicked_ada,
        seen_grace.as_f64().unwrap() - clicked_grace,
    ];
    eprintln!("design distribution: a click reached the dashboard in {delays:?} ms");
    for delay in delays {
        assert!(
            delay < 1000.0,
            "a design change took {delay} ms to reach the dashboard"
        );
    }

    // A click on an option lists who chose it, with a spotlight button.
    click(
        host,
        "#designs .knob:first-child li:nth-child(3) .knob__option",
    )
    .await;
    wait_until(
        host,
        "who chose the business key",
        "document.querySelector('#design-who')?.textContent.includes('Ada') && !document.querySelector('#design-who').textContent.includes('Grace')",
    )
    .await;
    screenshot(host, "room-dashboard-designs").await;

    // 4. Every learner plays; a dependency outage for everyone breaks "Billing never fails" in the three
    //    sandboxes, and the per-goal counts say so.
    for client in learners {
        click(client, "#btn-play").await;
    }
    set_value(host, "#fault-kind", "dependency_outage").await;
    set_value(host, "#fault-target", "billing").await;
    click(host, "#fault button[type=submit]").await;
    wait_until(
        host,
        "the outage in the three sandboxes",
        "document.querySelector('#outcome').textContent.includes('applied in 3 of 3')",
    )
    .await;
    wait_until(
        host,
        "the broken goal counted three times",
        "document.querySelector('#goal-bars [data-goal=\"no-failures\"] .goal-bar__counts')?.textContent.startsWith('0 met · 3 broken')",
    )
    .await;

    // 5. Stuck: with a threshold of 3 s, Linus (no change since joining) is flagged; his first change
    //    clears the flag.
    set_value(host, "#stuck-minutes", "0.05").await;
    wait_until(
        host,
        "Linus flagged as stuck",
        &format!(
            "{}?.dataset.stuck === 'true' && {}.textContent.includes('no change for')",
            roster_line("Linus"),
            roster_line("Linus")
        ),
    )
    .await;
    set_value(host, "#roster-filter", "stuck").await;
    wait_until(
        host,
        "the stuck filter showing Linus",
        &roster_line("Linus"),
    )
    .await;
    screenshot(host, "room-dashboard-stuck").await;
    set_value(host, "#roster-filter", "all").await;
    set_value(host, "#stuck-minutes", "5").await;
    choose(learners[2], "billing-retry", "three").await;
    wait_until(
        host,
        "Linus's flag cleared by his change",
        &format!("{}?.dataset.stuck === 'false'", roster_line("Linus")),
    )
    .await;

    // 6. A short timer shown to learners ends on both sides; the facilitator is offered the debrief.
    click(host, "#timer-learners").await;
    wait_until(host, "the timer shown to learners", "document.querySelector('#outcome').textContent.includes('shown to learners') || document.querySelector('#outcome').textContent.includes('Timer stopped')").await;
    set_value(host, "#timer-minutes", "0.05").await;
    click(host, "#timer-start").await;
    wait_until(
        learners[0],
        "the countdown on a learner's page",
        "document.querySelector('.room-timer')?.textContent.endsWith('left')",
    )
    .await;
    wait_until(
        host,
        "the time up offer",
        "!document.querySelector('#timeup').hidden && document.querySelector('#timer-clock').textContent === '0:00'",
    )
    .await;
    wait_until(
        learners[0],
        "time up on a learner's page",
        "document.querySelector('.room-timer')?.textContent === 'Time is up'",
    )
    .await;
    screenshot(host, "room-dashboard-timeup").await;
    screenshot(learners[0], "room-learner-timeup").await;

    // 7. The debrief: questions, what the room did, the spotlighted design; no token, no names.
    click(host, "#design-who button").await;
    wait_until(
        host,
        "Ada in the spotlight",
        "document.querySelector('#summary').textContent.includes('spotlight on Ada')",
    )
    .await;
    click(host, "#timeup-debrief").await;
    let debrief = wait_until(
        host,
        "the debrief",
        "!document.querySelector('#debrief').hidden && document.querySelector('#debrief-spot').textContent.includes(\"One learner's design\") && document.querySelector('#debrief').innerText",
    )
    .await;
    let debrief = debrief.as_str().unwrap_or_default().to_owned();
    assert!(
        debrief.contains("Why does the message id not recognise a producer's retry?"),
        "{debrief}"
    );
    assert!(debrief.contains("By business key"), "{debrief}");
    assert!(
        !debrief.contains(&token) && !debrief.contains(&code),
        "no token or join code: {debrief}"
    );
    for name in LEARNERS {
        assert!(
            !debrief.contains(name),
            "{name} is named in the debrief: {debrief}"
        );
    }
    let page = js(host, "return document.documentElement.outerHTML;").await;
    assert!(
        !page.as_str().unwrap_or_default().contains(&token),
        "the token is nowhere in the page"
    );
    screenshot(host, "room-debrief").await;
    click(host, "#debrief-names").await;
    wait_until(
        host,
        "a name once asked for",
        "document.querySelector('#debrief-spot').textContent.includes('Ada')",
    )
    .await;

    // The solution shows in the debrief once revealed.
    click(host, "#debrief-close").await;
    click(host, ".dash-controls [data-action='reveal_solution']").await;
    click(host, "#debrief-open").await;
    wait_until(
        host,
        "the solution in the debrief",
        "document.querySelector('.debrief__exercise:not([hidden]) [data-solution]:not([hidden])')?.textContent.includes('business key recognises')",
    )
    .await;
    screenshot(host, "room-debrief-solution").await;

    for browser in [facilitator, ada, grace, linus] {
        browser.stop().await;
    }
    let _ = std::fs::remove_dir_all(exercises);
}
