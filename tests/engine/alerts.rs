//! Alert rules: a consumer's metric watched on the virtual clock, firing after its duration above the
//! threshold and resolving when it drops back, the same on every run of a seed.
use eda_playground::engine::{ALERT_CHECK_INTERVAL_MS, TraceEvent, TraceKind};

use crate::support::*;

/// Ten orders a second to a consumer that keeps up (40 ms each) until it is slowed five times at 5 s
/// (200 ms each: five a second), and back to normal at 12 s. Two rules watch it.
const SLOWED: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 300
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 40
effect = { kind = "once", label = "charged" }
[[faults]]
at_ms = 5000
fault = { kind = "slow", consumer = "billing", factor = 5 }
[[faults]]
at_ms = 12000
fault = { kind = "slow", consumer = "billing", factor = 1 }
[[alerts]]
name = "billing-behind"
metric = "lag"
consumer = "billing"
above = 10
for_ms = 2000
[[alerts]]
name = "billing-dead-letters"
metric = "dead_letters"
consumer = "billing"
above = 0
"#;

fn alert_events(events: &[TraceEvent]) -> Vec<(u64, String, &'static str)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::AlertFired { alert, .. } => Some((e.at, alert.to_string(), "fired")),
            TraceKind::AlertResolved { alert, .. } => Some((e.at, alert.to_string(), "resolved")),
            _ => None,
        })
        .collect()
}

#[test]
fn a_rule_fires_after_its_duration_above_the_threshold_and_resolves_when_it_drops() {
    let mut world = world(SLOWED, 3);
    let events = run(&mut world, 30_000);
    let alerts = alert_events(&events);
    assert_eq!(alerts.len(), 2, "one firing and one resolution: {alerts:?}");
    let (fired_at, name, what) = &alerts[0];
    assert_eq!((name.as_str(), *what), ("billing-behind", "fired"));
    // The backlog grows by five a second from 5 s: above 10 after about 2 s, then 2 s more.
    assert!((8_000..=10_000).contains(fired_at), "fired at {fired_at}");
    assert_eq!(fired_at % ALERT_CHECK_INTERVAL_MS, 0, "on a check");
    let (resolved_at, name, what) = &alerts[1];
    assert_eq!((name.as_str(), *what), ("billing-behind", "resolved"));
    assert!(*resolved_at > 12_000, "resolved at {resolved_at}");
    // The firing names the oldest messages waiting then, to open from the alert.
    let fired = events
        .iter()
        .find_map(|e| match &e.kind {
            TraceKind::AlertFired {
                messages, value, ..
            } => Some((messages.clone(), *value)),
            _ => None,
        })
        .unwrap();
    assert_eq!(fired.0.len(), 3, "{fired:?}");
    assert!(fired.1 > 10.0, "{fired:?}");
}

#[test]
fn the_same_seed_fires_the_same_alerts_and_a_world_without_rules_schedules_no_checks() {
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let mut world = world(SLOWED, 9);
            alert_events(&run(&mut world, 30_000))
        })
        .collect();
    assert_eq!(runs[0], runs[1]);

    // Without rules, stepping never stops at a check: the run's instants are the same as before rules
    // existed.
    let quiet = SLOWED.split("[[alerts]]").next().unwrap();
    let mut with_rules_off = world(
        &format!(
            "{quiet}[[alerts]]\nname = \"off\"\nmetric = \"lag\"\nconsumer = \"billing\"\nabove = 0\nenabled = false\n"
        ),
        9,
    );
    let mut without = world(quiet, 9);
    assert_eq!(
        run(&mut with_rules_off, 30_000).len(),
        run(&mut without, 30_000).len()
    );
}

#[test]
fn a_rule_on_an_unknown_consumer_or_a_name_used_twice_is_refused() {
    let bad = SLOWED.replace(
        "consumer = \"billing\"\nabove = 10",
        "consumer = \"biling\"\nabove = 10",
    );
    let error = eda_playground::engine::World::new(&scenario(&bad), 1)
        .err()
        .expect("refused");
    assert_eq!(error.field, "alerts[0].consumer", "{error:?}");
    assert!(
        error.reason.contains("no consumer named \"biling\""),
        "{error:?}"
    );

    let twice = SLOWED.replace(
        "name = \"billing-dead-letters\"",
        "name = \"billing-behind\"",
    );
    let error = eda_playground::engine::World::new(&scenario(&twice), 1)
        .err()
        .expect("refused");
    assert_eq!(error.field, "alerts[1].name", "{error:?}");
}

#[test]
fn the_oldest_wait_the_orders_waiting_and_the_recent_p99_rise_with_a_slowdown_and_fall_after_it() {
    let text = SLOWED.replace(
        "[[alerts]]\nname = \"billing-dead-letters\"\nmetric = \"dead_letters\"\nconsumer = \"billing\"\nabove = 0\n",
        "[[alerts]]\nname = \"oldest\"\nmetric = \"oldest_age_ms\"\nconsumer = \"billing\"\nabove = 1500\n\
         [[alerts]]\nname = \"waiting\"\nmetric = \"orders_waiting\"\nconsumer = \"billing\"\nabove = 15\n\
         [[alerts]]\nname = \"p99\"\nmetric = \"latency_p99_ms\"\nconsumer = \"billing\"\nabove = 1000\n",
    );
    assert!(text.contains("oldest_age_ms"), "the scenario was rewritten");
    let mut world = world(&text, 3);
    let events = run(&mut world, 30_000);
    let alerts = alert_events(&events);
    for rule in ["oldest", "waiting", "p99"] {
        let fired: Vec<_> = alerts.iter().filter(|(_, name, _)| name == rule).collect();
        assert_eq!(fired.len(), 2, "{rule} fires once and resolves: {alerts:?}");
        let (at, _, what) = fired[0];
        assert_eq!(*what, "fired");
        assert!(
            (5_000..12_000).contains(at),
            "{rule} fired during the slowdown, at {at}"
        );
        assert_eq!(fired[1].2, "resolved");
        assert!(fired[1].0 > 12_000, "{rule} resolves after it");
    }
}
