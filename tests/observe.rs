//! A free-play sandbox read by outside tools: its metrics as Prometheus scrapes them, and a correlation
//! flow as an OTLP/JSON trace. Each sandbox is seeked to a fixed virtual instant (which leaves it paused),
//! and the answers are compared with the same run rebuilt here from its exercise and seed.
use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{Request, StatusCode};
use eda_playground::config::Config;
use eda_playground::engine::{Millis, TraceKind};
use eda_playground::sandbox::protocol::ClientMessage;
use eda_playground::sandbox::run::Run;
use eda_playground::sandbox::runtime;
use eda_playground::web::{AppState, app};
use http_body_util::BodyExt;
use prometheus_parse::{Sample, Scrape, Value};
use tower::ServiceExt;

#[path = "support/otlp.rs"]
mod otlp;

const SEED: u64 = 7;

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn get(state: &AppState, path: &str, accept: Option<&str>) -> Reply {
    let mut request = Request::get(path);
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    let response = app(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// A sandbox of `exercise` on [`SEED`], seeked to `at`, and the same run rebuilt here.
fn seeked_sandbox(state: &AppState, exercise: &str, at: Millis) -> (String, Run) {
    let exercise = state.catalog.get(exercise).unwrap();
    let id = state
        .sandboxes
        .create(exercise.clone(), Some(SEED))
        .unwrap();
    let (reply, _replies) = tokio::sync::mpsc::channel(8);
    // Requests are answered in order, so every later request sees the run at `at`.
    state
        .sandboxes
        .get(id)
        .unwrap()
        .try_request(runtime::Request::Client {
            message: ClientMessage::Seek { at },
            reply,
        })
        .unwrap();
    let settings = state.sandboxes.settings();
    let mut run = Run::limited(
        exercise,
        SEED,
        settings.recent_events,
        settings.max_messages,
    )
    .unwrap();
    run.seek(at).unwrap();
    (id.to_string(), run)
}

/// The scrape's samples by name and labels (without `exercise` and `sandbox`, checked on every sample).
fn by_name_and_labels(
    scrape: &Scrape,
    exercise: &str,
    sandbox: &str,
) -> BTreeMap<(String, Vec<(String, String)>), Value> {
    let mut samples = BTreeMap::new();
    for Sample {
        metric,
        labels,
        value,
        ..
    } in &scrape.samples
    {
        assert_eq!(labels.get("exercise"), Some(exercise), "{metric}");
        assert_eq!(labels.get("sandbox"), Some(sandbox), "{metric}");
        let mut rest: Vec<(String, String)> = labels
            .iter()
            .filter(|(k, _)| *k != "exercise" && *k != "sandbox")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rest.sort();
        let previous = samples.insert((metric.clone(), rest), value.clone());
        assert!(
            previous.is_none(),
            "two samples of {metric} with one label set"
        );
    }
    samples
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    labels
}

#[tokio::test]
async fn a_paused_sandboxs_metrics_parse_as_prometheus_text_and_match_its_run() {
    let state = AppState::new(Config::default());
    for (exercise, at) in [("poison-message", 12_000), ("streaming-replay", 20_000)] {
        let (sandbox, run) = seeked_sandbox(&state, exercise, at);
        let reply = get(&state, &format!("/api/sandboxes/{sandbox}/metrics"), None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.content_type,
            "text/plain; version=0.0.4; charset=utf-8"
        );

        let scrape = Scrape::parse(reply.body.lines().map(|l| Ok(l.to_owned()))).unwrap();
        // The parser skips what it cannot read; every sample line must have been read.
        let sample_lines = reply
            .body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        assert_eq!(scrape.samples.len(), sample_lines, "{}", reply.body);
        for (name, help) in &scrape.docs {
            assert!(!help.is_empty(), "{name} has no help");
        }
        let samples = by_name_and_labels(&scrape, exercise, &sandbox);
        let value = |name: &str, pairs: &[(&str, &str)]| -> Value {
            samples
                .get(&(name.to_owned(), labels(pairs)))
                .cloned()
                .unwrap_or_else(|| panic!("{exercise}: no {name} {pairs:?} in\n{}", reply.body))
        };

        let world = run.world();
        let topology = world.topology();
        let metrics = world.metrics();
        let bill = run.bill();
        assert_eq!(
            value("eda_virtual_time_seconds", &[]),
            Value::Gauge(at as f64 / 1_000.0)
        );
        assert_eq!(value("eda_broker_up", &[]), Value::Gauge(1.0));

        let channel = |id: u16| topology.channels[usize::from(id)].name.as_str();
        for q in &metrics.queues {
            let view = &topology.queues[usize::from(q.queue.0)];
            let at_queue = [
                ("queue", view.name.as_str()),
                ("channel", channel(view.channel.0)),
            ];
            assert_eq!(
                value("eda_queue_ready_messages", &at_queue),
                Value::Gauge(q.ready as f64)
            );
            assert_eq!(
                value("eda_queue_in_flight_messages", &at_queue),
                Value::Gauge(q.in_flight as f64)
            );
            assert_eq!(
                value("eda_queue_dead_letters", &at_queue),
                Value::Gauge(q.dead_letters as f64)
            );
            for (name, count) in [
                ("eda_queue_enqueued_total", q.enqueued),
                ("eda_queue_delivered_total", q.delivered),
                ("eda_queue_acked_total", q.acked),
                ("eda_queue_redelivered_total", q.redelivered),
            ] {
                assert_eq!(
                    value(name, &at_queue),
                    Value::Counter(count as f64),
                    "{name}"
                );
            }
        }
        for c in &metrics.consumers {
            let view = &topology.consumers[usize::from(c.consumer.0)];
            let at_consumer = [
                ("consumer", view.name.as_str()),
                ("channel", channel(view.channel.0)),
            ];
            let up = c
                .instances
                .iter()
                .filter(|i| i.status == eda_playground::engine::InstanceStatus::Up)
                .count();
            assert_eq!(
                value("eda_consumer_instances_up", &at_consumer),
                Value::Gauge(up as f64)
            );
            for (name, count) in [
                ("eda_consumer_succeeded_total", c.succeeded),
                ("eda_consumer_failed_total", c.failed),
                ("eda_consumer_effects_applied_total", c.business.applied),
                (
                    "eda_consumer_duplicate_effects_total",
                    c.business.duplicate_effects,
                ),
            ] {
                assert_eq!(
                    value(name, &at_consumer),
                    Value::Counter(count as f64),
                    "{name}"
                );
            }
        }
        for stream in &metrics.streams {
            for group in &stream.groups {
                let consumer = topology.consumers[usize::from(group.consumer.0)]
                    .name
                    .as_str();
                for (partition, lag) in group.lag.iter().enumerate() {
                    let partition = partition.to_string();
                    assert_eq!(
                        value(
                            "eda_stream_group_lag_records",
                            &[
                                ("consumer", consumer),
                                ("channel", channel(stream.channel.0)),
                                ("partition", &partition)
                            ]
                        ),
                        Value::Gauge(*lag as f64)
                    );
                }
            }
        }
        let mut latencies = 0;
        for line in &bill.consumers {
            if let Some(p99) = line.latency_p99_ms {
                latencies += 1;
                assert_eq!(
                    value(
                        "eda_consumer_latency_p99_seconds",
                        &[("consumer", &line.name)]
                    ),
                    Value::Gauge(p99 as f64 / 1_000.0)
                );
            }
        }
        let Value::Gauge(total) = value("eda_bill_credits", &[("line", "total")]) else {
            panic!("the bill is a gauge");
        };
        assert!(
            (total - bill.total).abs() < 1e-9,
            "{total} != {}",
            bill.total
        );

        // The run has done something by then, so the comparisons above are not all zeros.
        assert!(bill.total > 0.0 && bill.effects > 0, "{exercise}: {bill:?}");
        assert!(latencies > 0, "{exercise}: no latency yet");
        if exercise == "streaming-replay" {
            assert!(!metrics.streams.is_empty(), "streaming-replay has a stream");
        } else {
            assert!(metrics.queues.iter().any(|q| q.acked > 0));
        }
    }
}

#[tokio::test]
async fn an_alert_rule_is_scraped_as_a_gauge_that_is_1_while_it_fires() {
    let state = AppState::new(Config::default());
    // incident-trail's default rule watches shipping's lag, which the provider outage (12 s to 20 s)
    // never raises; seeked into the outage it is scraped, and not firing.
    let (sandbox, run) = seeked_sandbox(&state, "incident-trail", 16_000);
    let reply = get(&state, &format!("/api/sandboxes/{sandbox}/metrics"), None).await;
    let scrape = Scrape::parse(reply.body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let samples = by_name_and_labels(&scrape, "incident-trail", &sandbox);
    let rule = labels(&[
        ("alert", "on-call"),
        ("consumer", "shipping"),
        ("metric", "lag"),
    ]);
    let firing = run.world().metrics().alerts[0].firing;
    assert!(!firing);
    assert_eq!(
        samples.get(&("eda_alert_firing".to_owned(), rule)),
        Some(&Value::Gauge(0.0)),
        "{}",
        reply.body
    );
    // An exercise without rules has no such series.
    let (sandbox, _) = seeked_sandbox(&state, "poison-message", 1_000);
    let reply = get(&state, &format!("/api/sandboxes/{sandbox}/metrics"), None).await;
    assert!(!reply.body.contains("eda_alert_firing"));
}

#[tokio::test]
async fn openmetrics_is_served_to_a_scraper_that_asks_for_it() {
    let state = AppState::new(Config::default());
    let (sandbox, _) = seeked_sandbox(&state, "poison-message", 5_000);
    let reply = get(
        &state,
        &format!("/api/sandboxes/{sandbox}/metrics"),
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(reply.body.ends_with("# EOF\n"), "{}", reply.body);
    // OpenMetrics names a counter family without `_total` and its samples with it.
    assert!(reply.body.contains("# TYPE eda_queue_acked counter\n"));
    assert!(reply.body.contains("\neda_queue_acked_total{"));
    assert!(!reply.body.contains("# TYPE eda_queue_acked_total"));
}

#[tokio::test]
async fn unknown_sandboxes_and_correlations_are_not_found() {
    let state = AppState::new(Config::default());
    let (sandbox, _) = seeked_sandbox(&state, "correlation-journey", 1_000);
    for path in [
        "/api/sandboxes/not-a-uuid/metrics".to_owned(),
        format!("/api/sandboxes/{}/metrics", uuid_nobody_has()),
        format!("/api/sandboxes/{sandbox}/traces/not-hex"),
        format!("/api/sandboxes/{sandbox}/traces/00000000000000000"),
        format!("/api/sandboxes/{sandbox}/traces/0000000000000000"),
    ] {
        assert_eq!(
            get(&state, &path, None).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

fn uuid_nobody_has() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}

#[tokio::test]
async fn a_correlation_flow_is_served_whole_as_an_otlp_trace_following_causation() {
    // The exercise's end.
    const AT: Millis = 30_000;
    let state = AppState::new(Config::default());
    let (sandbox, run) = seeked_sandbox(&state, "correlation-journey", AT);
    // The run's first flow that crosses services, as the command chooses it: long gone from the events
    // the sandbox keeps for snapshots by now, so the answer has to come from a replay.
    let args = eda_playground::headless::TraceArgs {
        exercise: "correlation-journey".to_owned(),
        seed: SEED,
        correlation: None,
        until: Some(AT),
        choose: Vec::new(),
    };
    let (correlation, headless) = eda_playground::headless::trace(&args).unwrap();
    let still_kept = run.recent().any(|event| {
        matches!(&event.kind, TraceKind::Published { correlation_id, .. } if *correlation_id == correlation)
    });
    assert!(
        !still_kept,
        "the flow is still among the recent events; seek further"
    );

    let reply = get(
        &state,
        &format!("/api/sandboxes/{sandbox}/traces/{correlation}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.content_type.starts_with("application/json"));
    let trace: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    // The sandbox's replay and a headless run of the same seed give the very same file.
    assert_eq!(trace, serde_json::to_value(&headless).unwrap());
    let spans = otlp::check_structure(&trace);
    let exercise = state.catalog.get("correlation-journey").unwrap();
    let mut world =
        eda_playground::exercise::start_world(&exercise, &Default::default(), SEED, None).unwrap();
    let mut events = Vec::new();
    for second in 1..=AT / 1_000 {
        world.advance_to(second * 1_000);
        events.extend(world.drain_trace());
    }
    otlp::check_causation(&spans, &events, correlation);
}

#[test]
fn the_trace_command_writes_the_same_flow_for_the_same_seed_following_causation() {
    let exercise =
        eda_playground::headless::exercise_input::load_exercise("correlation-journey").unwrap();
    // The exercise's solution carries the correlation id through every service: the longest flow.
    let choose: Vec<String> = exercise
        .solution
        .knobs
        .iter()
        .map(|(knob, option)| format!("{knob}={option}"))
        .collect();
    let args = || eda_playground::headless::TraceArgs {
        exercise: "correlation-journey".to_owned(),
        seed: SEED,
        correlation: None,
        until: Some(10_000),
        choose: choose.clone(),
    };
    let (correlation, data) = eda_playground::headless::trace(&args()).unwrap();
    let (again, same) = eda_playground::headless::trace(&args()).unwrap();
    assert_eq!(correlation, again);
    let json = serde_json::to_value(&data).unwrap();
    assert_eq!(json, serde_json::to_value(&same).unwrap(), "deterministic");

    let spans = otlp::check_structure(&json);
    let mut world =
        eda_playground::exercise::start_world(&exercise, &exercise.solution.knobs, SEED, None)
            .unwrap();
    // Drained each second, as the command does, so the world's trace buffer never overflows.
    let mut events = Vec::new();
    for second in 1..=10 {
        world.advance_to(second * 1_000);
        events.extend(world.drain_trace());
    }
    otlp::check_causation(&spans, &events, correlation);
    let services = json["resourceSpans"].as_array().unwrap().len();
    assert!(
        services >= 3,
        "the solution's flow crosses {services} services"
    );
}

#[test]
fn a_poison_messages_flow_ends_in_spans_marked_as_errors() {
    let exercise =
        eda_playground::headless::exercise_input::load_exercise("poison-message").unwrap();
    let mut world =
        eda_playground::exercise::start_world(&exercise, &Default::default(), SEED, None).unwrap();
    let mut events = Vec::new();
    for second in 1..=20 {
        world.advance_to(second * 1_000);
        events.extend(world.drain_trace());
    }
    let dead = events
        .iter()
        .find_map(|e| match &e.kind {
            TraceKind::DeadLettered { message, .. } => Some(*message),
            _ => None,
        })
        .expect("the default design dead-letters the poison message");
    let correlation = events
        .iter()
        .find_map(|e| match &e.kind {
            TraceKind::Published {
                message,
                correlation_id,
                ..
            } if *message == dead => Some(*correlation_id),
            _ => None,
        })
        .unwrap();
    let (_, data) = eda_playground::headless::trace(&eda_playground::headless::TraceArgs {
        exercise: "poison-message".to_owned(),
        seed: SEED,
        correlation: Some(correlation),
        until: Some(20_000),
        choose: Vec::new(),
    })
    .unwrap();
    let json = serde_json::to_value(&data).unwrap();
    let spans = otlp::check_structure(&json);
    otlp::check_causation_without_crossing(&spans, &events, correlation);
    let statuses: Vec<&serde_json::Value> = json["resourceSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["scopeSpans"][0]["spans"].as_array().unwrap())
        .filter_map(|span| span.get("status"))
        .collect();
    assert!(!statuses.is_empty(), "{json:#}");
    assert!(statuses.iter().all(|s| s["code"] == 2), "{statuses:?}");
    // Each failed delivery is a span of its own, redeliveries included.
    let deliveries = spans.iter().filter(|s| s.kind == 5).count();
    assert!(deliveries > 1, "{deliveries} deliveries");
}
