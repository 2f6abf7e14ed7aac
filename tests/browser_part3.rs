//! Part 3 in a real headless Chromium, as a learner does it:
//! - contracts: in contract-testing the learner makes invoicing's contract require `total`, the
//!   producer's pipeline goes red on the release that renames it (the producer node says BUILD RED and
//!   names the clause, the log and the timeline say so), the harmless release still ships, and every
//!   goal ends met;
//! - a schema registry: schema-evolution draws its mode and the log says why it refused v2;
//! - an alert rule: in alert-rules the learner sets the on-call rule on lag, and sees it fire on the
//!   consumer, in the log and on the timeline, and resolve.
//!
//! The server binds `127.0.0.1:0`; every wait polls the DOM with a deadline and never sleeps a fixed
//! time. Screenshots go to `target/screenshots/contracts-*.png`, `registry-*.png` and `alert-*.png`. Where Chromium or ChromeDriver is
//! missing the test says so loudly on stderr and passes.
use fantoccini::Locator;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, click, pause, screenshot, serve_bundled, tools, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contract_the_learner_tightens_turns_the_pipeline_red_on_the_breaking_release() {
    let Some(tools) =
        tools("a_contract_the_learner_tightens_turns_the_pipeline_red_on_the_breaking_release")
    else {
        return;
    };
    let addr = serve_bundled().await;
    let browser = Browser::start(&tools, "contracts").await;
    let client = &browser.client;
    client
        .goto(&format!("http://{addr}/exercises/contract-testing"))
        .await
        .expect("open the playground");
    wait_until(
        client,
        "the live sandbox",
        "document.querySelector('#playground')?.dataset.status === 'live' && document.querySelector('.node--producer')",
    )
    .await;

    // The contract's clauses are in the Design tab: invoicing's contract asks for nothing yet.
    click(client, "#tab-design").await;
    for (knob, option) in [("invoicing-total", "yes"), ("invoicing-currency", "yes")] {
        click(
            client,
            &format!("input[data-knob='{knob}'][value='{option}'] + span"),
        )
        .await;
        click(client, &format!("[data-apply='{knob}']")).await;
        wait_until(
            client,
            "the clause in the design",
            &format!("document.querySelector(\".design-diff li[data-knob='{knob}']\")"),
        )
        .await;
    }

    client
        .find(Locator::Css("#speed"))
        .await
        .expect("speed")
        .select_by_value("16")
        .await
        .expect("16×");
    click(client, "#btn-start").await;

    // At 16 s the rename is due: the build goes red on invoicing's clause, and the producer says so.
    let title = wait_until(
        client,
        "a red build on the producer",
        "(g => g && g.querySelector('title').textContent)(document.querySelector('.node--producer.node--build-red'))",
    )
    .await;
    let title = title.as_str().unwrap_or_default().to_owned();
    assert!(
        title.contains("held back release “rename total”")
            && title.contains(
                "invoicing's contract requires `total`, and the release does not send it"
            ),
        "{title}"
    );
    let sub = client
        .execute(
            "return document.querySelector('.node--build-red .node__sub').textContent;",
            vec![],
        )
        .await
        .expect("the producer's line");
    assert_eq!(sub, "BUILD RED");
    pause(client).await;
    screenshot(client, "contracts-build-red").await;
    click(client, "#btn-play").await;

    wait_until(
        client,
        "the run finished with every goal met",
        "document.querySelector('#playground').dataset.status === 'finished' && document.querySelectorAll('#goals .goal--met').length === 4",
    )
    .await;
    let markers = client
        .execute(
            "return [...document.querySelectorAll('.marker--alert')].map(m => m.title);",
            vec![],
        )
        .await
        .expect("the markers");
    assert_eq!(
        markers,
        serde_json::json!([
            "8.00 s: shipped release gift wrap",
            "16.0 s: the pipeline went red and held back release rename total"
        ])
    );
    // The log's problems hold the red build's sentence, with the clause.
    client
        .execute("document.querySelector('dialog[open]')?.close();", vec![])
        .await
        .expect("close the success dialog");
    click(client, "#log-problems").await;
    let line = wait_until(
        client,
        "the red build in the log",
        "[...document.querySelectorAll('#log .log__text')].map(t => t.textContent).find(t => t.includes('pipeline is red'))",
    )
    .await;
    assert_eq!(
        line,
        "orders's pipeline is red: release “rename total” stays out of production. invoicing's contract requires `total`, and the release does not send it"
    );
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_registry_shows_its_mode_and_refuses_a_breaking_version_in_the_log() {
    let Some(tools) =
        tools("a_schema_registry_shows_its_mode_and_refuses_a_breaking_version_in_the_log")
    else {
        return;
    };
    let addr = serve_bundled().await;
    let browser = Browser::start(&tools, "registry").await;
    let client = &browser.client;
    client
        .goto(&format!("http://{addr}/exercises/schema-evolution"))
        .await
        .expect("open the playground");
    let mode = wait_until(
        client,
        "the registry's mode under the topic",
        "document.querySelector('#topology .node__registry')?.firstChild.textContent",
    )
    .await;
    assert_eq!(mode, "registry: BACKWARD");
    client
        .find(Locator::Css("#speed"))
        .await
        .expect("speed")
        .select_by_value("4")
        .await
        .expect("4×");
    click(client, "#btn-start").await;
    let line = wait_until(
        client,
        "a refused publish in the log",
        "[...document.querySelectorAll('#log .log__text')].map(t => t.textContent).find(t => t.includes('refused it'))",
    )
    .await;
    assert!(
        line.as_str().unwrap_or_default().ends_with(
            "the schema registry of orders refused it. BACKWARD refuses OrderPlaced v2 against v1: v2 requires `delivery_slot` without a default, and v1 data may not have it"
        ),
        "{line}"
    );
    // Paused before the Design changes, so that the run is neither finished nor moving while they
    // are made: the rebuilt run starts paused at 0 s.
    pause(client).await;
    screenshot(client, "registry-refused").await;

    // A live knob, then a restart knob: the rebuilt run applies the live choice at 0 s, and the
    // timeline says it was the learner's, not the exercise's.
    click(client, "#tab-design").await;
    click(
        client,
        "input[data-knob='billing-upcast'][value='yes'] + span",
    )
    .await;
    click(
        client,
        "input[data-knob='registry-mode'][value='forward'] + span",
    )
    .await;
    click(client, "[data-apply='registry-mode']").await;
    let marker = wait_until(
        client,
        "the design change at 0 s on the timeline",
        "[...document.querySelectorAll('.marker')].map(m => m.title).find(t => t.startsWith('0 ms: change design on billing'))",
    )
    .await;
    assert_eq!(marker, "0 ms: change design on billing (by you)");
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_rule_the_learner_sets_fires_on_the_consumer_the_log_and_the_timeline() {
    let Some(tools) =
        tools("an_alert_rule_the_learner_sets_fires_on_the_consumer_the_log_and_the_timeline")
    else {
        return;
    };
    let addr = serve_bundled().await;
    let browser = Browser::start(&tools, "alert").await;
    let client = &browser.client;
    client
        .goto(&format!("http://{addr}/exercises/alert-rules"))
        .await
        .expect("open the playground");
    wait_until(
        client,
        "the live sandbox with the rule on the consumer",
        "document.querySelector('#playground')?.dataset.status === 'live' && document.querySelector('.node--consumer .node__tag')",
    )
    .await;

    // The rule: lag above 20 for 2 s. The metric is a menu; threshold and duration are sliders,
    // moved as a person does (the value changes, then the input events), each applied.
    click(client, "#tab-design").await;
    click(
        client,
        "input[data-knob='on-call-metric'][value='lag'] + span",
    )
    .await;
    click(client, "[data-apply='on-call-metric']").await;
    for (knob, value) in [("on-call-above", "20"), ("on-call-for", "2000")] {
        client
            .execute(
                &format!(
                    "const s = document.querySelector('#knob-{knob}'); s.value = '{value}'; s.dispatchEvent(new Event('input', {{ bubbles: true }})); s.dispatchEvent(new Event('change', {{ bubbles: true }}));"
                ),
                vec![],
            )
            .await
            .expect("move the slider");
        click(client, &format!("[data-apply='{knob}']")).await;
    }
    // Three restarts in a row say so once, not three times.
    let restarts = client
        .execute(
            "return [...document.querySelectorAll('#toasts .toast')].filter(t => t.textContent.startsWith('The run restarted')).length;",
            vec![],
        )
        .await
        .expect("the toasts");
    assert!(restarts.as_u64().unwrap_or(9) <= 1, "{restarts} toasts");
    let line = wait_until(
        client,
        "the rule on fulfilment's design line",
        "(t => t.includes('alert lag > 20 for 2 s') && t)(document.querySelector('.node--consumer .node__design')?.textContent ?? '')",
    )
    .await;
    assert!(
        line.as_str()
            .unwrap_or_default()
            .contains("alert lag > 20 for 2 s"),
        "{line}"
    );

    client
        .find(Locator::Css("#speed"))
        .await
        .expect("speed")
        .select_by_value("16")
        .await
        .expect("16×");
    click(client, "#btn-start").await;
    // The slowdown at 12 s: the consumer's border turns red and its design line says ALERT FIRING.
    wait_until(
        client,
        "the alert firing on fulfilment",
        "document.querySelector('.node--consumer.node--alerting')?.textContent.includes('ALERT FIRING')",
    )
    .await;
    pause(client).await;
    screenshot(client, "alert-firing").await;
    click(client, "#btn-play").await;
    wait_until(
        client,
        "the run finished with every goal met",
        "document.querySelector('#playground').dataset.status === 'finished' && document.querySelectorAll('#goals .goal--met').length === 3",
    )
    .await;
    let markers = client
        .execute(
            "return [...document.querySelectorAll('.marker--alert')].map(m => m.title.replace(/^[0-9.]+ s: /, ''));",
            vec![],
        )
        .await
        .expect("the markers");
    assert_eq!(
        markers,
        serde_json::json!(["alert on-call fired", "alert on-call resolved"])
    );
    client
        .execute("document.querySelector('dialog[open]')?.close();", vec![])
        .await
        .expect("close the success dialog");
    click(client, "#log-problems").await;
    let fired = wait_until(
        client,
        "the firing in the log",
        "[...document.querySelectorAll('#log .log__text')].map(t => t.textContent).find(t => t.startsWith('alert on-call fired'))",
    )
    .await;
    assert!(
        fired
            .as_str()
            .unwrap_or_default()
            .starts_with("alert on-call fired: fulfilment's lag is"),
        "{fired}"
    );
    browser.stop().await;
}
