//! The playground in a real headless Chromium, driven through ChromeDriver (WebDriver) with fantoccini.
//!
//! One browser serves every check of a test, because each Chromium start costs seconds. The server binds
//! `127.0.0.1:0` first; every wait polls the DOM with a deadline and never sleeps a fixed time. Screenshots
//! go to `target/screenshots/` as test artifacts. Where Chromium or ChromeDriver is missing the tests say
//! so loudly on stderr and pass: `.ci/run` installs both, so CI always runs them.
//!
//! `page_weight_is_within_budget` needs no browser. `measure_first_render` is ignored: it prints timings
//! (`cargo test --test browser -- --ignored --nocapture`) rather than asserting a machine-dependent number.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::serve::serve;
use eda_playground::web::{AppState, static_files};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::json;
use tokio::net::TcpListener;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, WAIT, click, screenshot, set_speed, tools, wait_until};

/// HTML + JS + CSS of the playground, uncompressed.
const PAGE_BUDGET_BYTES: usize = 200_000;

/// An exercise for the duplicate check: billing acknowledges after processing (at-least-once), its
/// acks take 40 ms over the network, and now and then it crashes after charging but before the ack.
const DUPLICATE_EXERCISE: &str = r#"
id = "crash-duplicate"
title = "Charged twice after a crash"
part = "failures"
order = 90
minutes = 10
summary = "At-least-once delivery and a consumer that crashes after its side effect."
instructions = "Crash **billing** and watch for orders charged twice."
run_for_ms = 60000
seed = 3

[scenario]
[[scenario.channels]]
name = "payments"
kind = "queue"
ack_deadline_ms = 600

[[scenario.producers]]
name = "checkout"
channel = "payments"
event_type = "PaymentRequested"
rate_per_sec = 10
payload = { amount = 25 }

[[scenario.consumers]]
name = "billing"
channel = "payments"
processing_ms = 60
effect = { kind = "once", label = "charged" }
failures = { crash_after_effect_probability = 0.2, restart_after_ms = 300 }

[scenario.links.billing]
latency_ms = 40

[[knobs]]
id = "idempotency"
label = "Billing: recognise a message it already handled"
consumer = "billing"
field = "idempotency"
options = [
  { label = "No", value = "none" },
  { label = "By message id", value = "message_id" },
]

[[goals]]
id = "no-duplicates"
description = "No order is charged twice"
check = { kind = "no_duplicates", consumer = "billing" }

[solution]
knobs = { idempotency = "message_id" }
"#;

/// The app on a real socket, with the bundled exercises plus the test's own.
async fn spawn_app() -> (SocketAddr, PathBuf) {
    // One directory per app: tests run in parallel and each removes its own.
    static APPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = APPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("eda-browser-exercises-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the exercises directory");
    std::fs::write(dir.join("crash-duplicate.toml"), DUPLICATE_EXERCISE)
        .expect("write the exercise");
    let catalog = Catalog::load(Some(&dir));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = AppState::with_catalog(Config::default(), catalog);
    tokio::spawn(serve(listener, state));
    (addr, dir)
}

/// Opens a playground and waits until its first snapshot is drawn.
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

/// Pauses the run and keeps only problems in the log, so the rows a test clicks stay put.
async fn pause_and_show_problems(client: &Client) {
    click(client, "#btn-play").await;
    wait_until(
        client,
        "the paused run",
        "document.querySelector('#btn-play').textContent === 'Play'",
    )
    .await;
    click(client, "#log-problems").await;
}

/// Everything a learner does in one browser: a poison message reaches the DLQ; a crash under
/// at-least-once leaves a double charge, marked where it happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_shows_dead_letters_and_duplicates() {
    let Some(tools) = tools("playground_shows_dead_letters_and_duplicates") else {
        return;
    };
    let (addr, exercises) = spawn_app().await;
    let browser = Browser::start(&tools, "e2e").await;
    let client = &browser.client;

    // 1. A poison message, published from the Faults panel, ends in billing's dead-letter queue.
    open_playground(client, addr, "poison-message").await;
    screenshot(client, "playground-start").await;
    set_speed(client, "4").await;
    // The run opens paused, for the learner to read the task first.
    click(client, "#btn-play").await;
    click(client, "[data-fault='inject_poison']").await;
    wait_until(
        client,
        "a dead letter in the topology",
        "[...document.querySelectorAll('#topology .dlq text')].some(t => /DLQ [1-9]/.test(t.textContent))",
    )
    .await;
    // At 4× the dead-letter row would scroll away.
    pause_and_show_problems(client).await;
    let row = "#log li:has(.tag--dead) .log__msg";
    wait_until(
        client,
        "a dead-letter row in the log",
        &format!("document.querySelector(\"{row}\")"),
    )
    .await;
    click(client, row).await;
    let journey = wait_until(
        client,
        "the journey of the dead letter",
        "(t => t.includes('dead-lettered in') && t)(document.querySelector('#journey').textContent)",
    )
    .await;
    let journey = journey.as_str().unwrap_or_default();
    assert!(
        journey.contains("published"),
        "journey starts with the publish: {journey}"
    );
    assert!(
        journey.contains("cannot parse"),
        "journey shows the failed attempts: {journey}"
    );
    screenshot(client, "poison-dead-lettered").await;

    click(client, "#topology .dlq.dlq--full").await;
    wait_until(
        client,
        "the dead-letter table",
        "document.querySelector('#dlq-dialog[open] #dlq-body tbody tr')",
    )
    .await;
    screenshot(client, "poison-dlq-dialog").await;
    click(client, "#dlq-dialog [data-close]").await;

    // 2. Billing acks after processing; crashes between the charge and the ack charge an order twice.
    open_playground(client, addr, "crash-duplicate").await;
    set_speed(client, "4").await;
    click(client, "#btn-play").await;
    click(client, "[data-fault='crash']").await;
    wait_until(
        client,
        "the crashed instance",
        "document.querySelector('#topology .inst--crashed') || [...document.querySelectorAll('#log .tag')].some(t => t.textContent === 'CRASH')",
    )
    .await;
    wait_until(
        client,
        "a double charge marked on billing",
        "[...document.querySelectorAll('#topology .biz--bad')].some(t => t.textContent.includes('twice'))",
    )
    .await;
    pause_and_show_problems(client).await;
    wait_until(
        client,
        "a DUPLICATE row in the log",
        "document.querySelector('#log li:has(.tag--dup) .log__msg')",
    )
    .await;
    wait_until(
        client,
        "the broken goal",
        "document.querySelector('#goals .goal--broken .goal__link')",
    )
    .await;
    click(client, "#goals .goal--broken .goal__link").await;
    let journey = wait_until(
        client,
        "the journey of the double charge",
        "(t => t.includes('did it again') && t)(document.querySelector('#journey').textContent)",
    )
    .await;
    let journey = journey.as_str().unwrap_or_default();
    assert!(
        journey.contains("charged"),
        "journey shows the charge: {journey}"
    );
    screenshot(client, "duplicate-marked").await;

    // 3. Time travel: drag the timeline back; the run is rebuilt from the seed and the command log, paused.
    client
        .execute(
            "const s = document.querySelector('#scrubber'); s.value = '1000'; s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await
        .expect("move the scrubber");
    wait_until(
        client,
        "the run rebuilt at 1.0 s",
        "document.querySelector('#playground').dataset.at === '1000' && document.querySelector('#btn-play').textContent === 'Play'",
    )
    .await;
    screenshot(client, "time-travel").await;

    // 4. Load a run file from disk: the same exercise, seed and timed crash, replayed to its end, paused.
    let run_file = exercises.join("run.json");
    let run = json!({
        "format": "eda-playground-run", "version": 1, "exercise": "crash-duplicate", "seed": 3,
        "commands": [{ "at": 500, "command": { "kind": "crash", "consumer": "billing" } }], "at": 2000,
    });
    std::fs::write(&run_file, run.to_string()).expect("write the run file");
    client
        .find(Locator::Css("#import-file"))
        .await
        .expect("file input")
        .send_keys(&run_file.display().to_string())
        .await
        .expect("choose the run file");
    wait_until(
        client,
        "the imported run at 2.0 s",
        "document.querySelector('#playground').dataset.at === '2000' && document.querySelector('#btn-play').textContent === 'Play'",
    )
    .await;
    wait_until(
        client,
        "the imported crash in the log",
        "[...document.querySelectorAll('#log li')].some(li => li.textContent.includes('0.500') && li.textContent.includes('CRASH'))",
    )
    .await;

    // The page never asked another host for anything.
    let foreign = client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin) && !n.startsWith('ws://' + location.host));",
            vec![],
        )
        .await
        .expect("resource entries");
    assert_eq!(foreign, json!([]), "requests to other hosts");

    browser.stop().await;
    let _ = std::fs::remove_dir_all(exercises);
}

/// The learner's Design, end to end: a knob set with the keyboard keeps its focus and reaches the server
/// as `choose`; the run, started from its call to action, meets every goal; the success moment shows what
/// the Design changed, the debrief and the next exercise, and Esc closes it; the home page marks the
/// exercise done. A restart knob waits for its confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_design_that_meets_every_goal_is_celebrated() {
    let Some(tools) = tools("a_design_that_meets_every_goal_is_celebrated") else {
        return;
    };
    let (addr, exercises) = spawn_app().await;
    let browser = Browser::start(&tools, "design").await;
    let client = &browser.client;

    open_playground(client, addr, "idempotency").await;
    wait_until(
        client,
        "the call to start",
        "!document.querySelector('#start-cta').hidden && document.querySelector('#btn-play').textContent === 'Start'",
    )
    .await;
    click(client, "#tab-design").await;
    // Arrow keys walk the options of a live knob; focus stays on the radio while frames redraw the panel.
    let radio = client
        .find(Locator::Css(
            "input[data-knob='billing-idempotency'][value='none']",
        ))
        .await
        .expect("the knob's first option");
    radio.click().await.expect("focus the knob");
    for _ in 0..2 {
        // To the focused element: sending keys to `radio` would focus the first option again.
        client
            .active_element()
            .await
            .expect("the focused radio")
            .send_keys(&Key::Right.to_string())
            .await
            .expect("arrow to the next option");
    }
    wait_until(
        client,
        "the Design changed on the server, shown as a diff",
        "(t => t.includes('It does not') && t.includes('By order (business key)'))(document.querySelector('.design-diff')?.textContent ?? '')",
    )
    .await;
    let focused = client
        .execute("return document.activeElement?.matches(\"input[data-knob='billing-idempotency'][value='business_key']\");", vec![])
        .await
        .expect("focus");
    assert_eq!(focused, json!(true), "focus stays on the chosen radio");
    wait_until(
        client,
        "the design tag on billing",
        "[...document.querySelectorAll('#topology .node__tag--knob')].some(t => t.textContent.includes('dedup key'))",
    )
    .await;
    screenshot(client, "design-chosen").await;

    set_speed(client, "16").await;
    click(client, "#btn-start").await;
    wait_until(
        client,
        "the call to start gone",
        "document.querySelector('#start-cta').hidden",
    )
    .await;
    let text = wait_until(
        client,
        "the success dialog",
        "document.querySelector('#success-dialog[open]')?.textContent",
    )
    .await;
    let text = text.as_str().unwrap_or_default();
    assert!(text.contains("By order (business key)"), "{text}");
    assert!(text.contains("Where would you store the keys"), "{text}");
    let next = wait_until(
        client,
        "the next exercise link, focused",
        "document.activeElement?.matches('#success-dialog .success__next') && document.activeElement.getAttribute('href')",
    )
    .await;
    assert!(next.as_str().unwrap_or_default().starts_with("/exercises/"));
    screenshot(client, "design-success").await;
    client
        .active_element()
        .await
        .expect("focused element")
        .send_keys(&Key::Escape.to_string())
        .await
        .expect("press Esc");
    wait_until(
        client,
        "the dialog closed by Esc",
        "!document.querySelector('#success-dialog').open",
    )
    .await;

    // The home page remembers it, and points at the first exercise not done.
    client
        .goto(&format!("http://{addr}/"))
        .await
        .expect("open the home page");
    wait_until(
        client,
        "the exercise marked done",
        "document.querySelector(\"[data-exercise='idempotency'] .exercise__mark--done\")",
    )
    .await;
    let pointer = wait_until(
        client,
        "a pointer at the next exercise",
        "document.querySelector('.exercise--next')?.dataset.exercise",
    )
    .await;
    assert_ne!(pointer, json!("idempotency"));

    // A restart knob applies only once confirmed.
    open_playground(client, addr, "out-of-order").await;
    click(client, "#tab-design").await;
    click(
        client,
        "input[data-knob='channel-kind'][value='stream'] + span",
    )
    .await;
    wait_until(
        client,
        "the confirmation of a restart knob",
        "!document.querySelector(\"[data-knob='channel-kind'] .knob__confirm\").hidden && !document.querySelector('.design-diff li')",
    )
    .await;
    click(client, "[data-apply='channel-kind']").await;
    wait_until(
        client,
        "the restarted run with a stream",
        "document.querySelector(\".design-diff li[data-knob='channel-kind']\") && document.querySelector('#topology .node--stream')",
    )
    .await;

    browser.stop().await;
    let _ = std::fs::remove_dir_all(exercises);
}

/// Prove it: the default design fails with a counterexample that opens paused on the journey of the
/// message that broke the goal; the solution is proven on every seed and celebrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prove_it_reports_and_opens_a_counterexample() {
    let Some(tools) = tools("prove_it_reports_and_opens_a_counterexample") else {
        return;
    };
    let (addr, exercises) = spawn_app().await;
    let browser = Browser::start(&tools, "prove").await;
    let client = &browser.client;

    open_playground(client, addr, "idempotency").await;
    click(client, "#tab-design").await;
    client
        .execute(
            "document.querySelector('#proof-seeds').value = '20';",
            vec![],
        )
        .await
        .expect("set the seeds");
    click(client, "#btn-prove").await;
    let verdict = wait_until(
        client,
        "the proof report",
        "document.querySelector('#proof-report .proof-verdict')?.textContent",
    )
    .await;
    assert!(
        verdict
            .as_str()
            .unwrap_or_default()
            .starts_with("Not proven"),
        "{verdict}"
    );
    screenshot(client, "prove-failed").await;
    click(client, "[data-counterexample]").await;
    wait_until(
        client,
        "the counterexample's journey, paused",
        "document.querySelector('#journey .journey__title') && document.querySelector('#btn-play').textContent === 'Play'",
    )
    .await;

    click(
        client,
        "input[data-knob='billing-idempotency'][value='business_key'] + span",
    )
    .await;
    wait_until(
        client,
        "the solution in the Design",
        "document.querySelector(\".design-diff li[data-knob='billing-idempotency']\")",
    )
    .await;
    click(client, "#btn-prove").await;
    wait_until(
        client,
        "the proof passed and celebrated",
        "document.querySelector('#proof-report .proof-verdict--ok')?.textContent === 'Proven on 20/20 seeds' && document.querySelector('#success-dialog[open]')",
    )
    .await;
    let progress = client
        .execute(
            "return JSON.parse(localStorage.getItem('eda-progress'))['idempotency'];",
            vec![],
        )
        .await
        .expect("progress");
    assert_eq!(progress, json!("proven"));
    screenshot(client, "prove-passed").await;

    browser.stop().await;
    let _ = std::fs::remove_dir_all(exercises);
}

/// Every embedded script parses as an ES module: a syntax error in one module stops them all, and this
/// says which file and line without starting a browser. Needs Node.js; skips loudly without it.
#[test]
fn every_script_parses_as_a_module() {
    use std::io::Write;
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("\n!!! SKIPPED `every_script_parses_as_a_module`: node not found.\n");
        return;
    }
    for asset in static_files::ASSETS
        .iter()
        .filter(|a| a.path.ends_with(".js"))
    {
        let mut node = Command::new("node")
            .args(["--input-type=module", "--check"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node");
        node.stdin
            .take()
            .expect("node stdin")
            .write_all(asset.body)
            .expect("write the script");
        let output = node.wait_with_output().expect("node output");
        assert!(
            output.status.success(),
            "{} does not parse:\n{}",
            asset.path,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The playground's HTML, CSS and JavaScript (every module it imports) stay under the budget.
#[tokio::test]
async fn page_weight_is_within_budget() {
    let (addr, exercises) = spawn_app().await;
    let html = http_get(addr, "/exercises/poison-message").await;
    let mut total = html.len();
    let mut report = vec![("playground HTML".to_owned(), html.len())];
    let mut seen = Vec::new();
    let mut queue: Vec<String> = linked_assets(&html);
    while let Some(path) = queue.pop() {
        if seen.contains(&path) {
            continue;
        }
        let asset = static_files::find(&path)
            .unwrap_or_else(|| panic!("linked asset {path} is not embedded"));
        let text = String::from_utf8_lossy(asset.body);
        if path.ends_with(".js") {
            queue.extend(module_imports(&path, &text));
        }
        total += asset.body.len();
        report.push((path.clone(), asset.body.len()));
        seen.push(path);
    }
    eprintln!("playground page weight, uncompressed:");
    for (name, bytes) in &report {
        eprintln!("  {bytes:>7} B  {name}");
    }
    eprintln!("  {total:>7} B  total (budget {PAGE_BUDGET_BYTES} B)");
    assert!(
        seen.iter().any(|p| p == "js/playground.js"),
        "the page loads its script"
    );
    assert!(
        total < PAGE_BUDGET_BYTES,
        "{total} bytes is over the {PAGE_BUDGET_BYTES}-byte budget"
    );
    let _ = std::fs::remove_dir_all(exercises);
}

/// First render of a playground in headless Chromium, from the Performance API: navigation to
/// first contentful paint, and to the first snapshot drawn (`eda:first-snapshot`). Prints, never fails
/// on a number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn measure_first_render() {
    let Some(tools) = tools("measure_first_render") else {
        return;
    };
    let (addr, exercises) = spawn_app().await;
    let browser = Browser::start(&tools, "measure").await;
    let client = &browser.client;
    let mut fcp = Vec::new();
    let mut drawn = Vec::new();
    for _ in 0..7 {
        open_playground(client, addr, "poison-message").await;
        let times = wait_until(
            client,
            "paint timings",
            "(() => { const p = performance.getEntriesByName('first-contentful-paint')[0]; \
              const m = performance.getEntriesByName('eda:first-snapshot')[0]; \
              return p && m ? [p.startTime, m.startTime] : null; })()",
        )
        .await;
        fcp.push(times[0].as_f64().unwrap_or(f64::NAN));
        drawn.push(times[1].as_f64().unwrap_or(f64::NAN));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    eprintln!(
        "first render over {} loads (ms since navigation start): first contentful paint median {:.0} (min {:.0}, max {:.0}); \
         first snapshot drawn median {:.0} (min {:.0}, max {:.0})",
        fcp.len(),
        median(&mut fcp),
        fcp[0],
        fcp[fcp.len() - 1],
        median(&mut drawn),
        drawn[0],
        drawn[drawn.len() - 1],
    );
    browser.stop().await;
    let _ = std::fs::remove_dir_all(exercises);
}

/// A plain HTTP/1.1 GET on the real socket; the body as text.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "GET {path}: {}",
        text.lines().next().unwrap_or("")
    );
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    body.to_owned()
}

/// `/static/…` paths in `href` and `src` attributes, without their `?v=` version.
fn linked_assets(html: &str) -> Vec<String> {
    html.split("/static/")
        .skip(1)
        .filter_map(|rest| rest.split(['?', '"']).next())
        .filter(|p| p.ends_with(".js") || p.ends_with(".css"))
        .map(str::to_owned)
        .collect()
}

/// The modules a module imports (`from "./x.js"`), as static paths.
fn module_imports(path: &str, source: &str) -> Vec<String> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    source
        .split("from \"./")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|file| format!("{dir}/{file}"))
        .collect()
}
