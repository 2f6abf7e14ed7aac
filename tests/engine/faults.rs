//! Every fault a learner can trigger, and what follows from it.
use eda_playground::engine::{DropReason, FailureReason, InstanceStatus, TraceKind};

use crate::support::*;

const BILLING: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
ack_deadline_ms = 1000
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 20
count = 20
start_ms = 100
payload = { amount = 10 }
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 30
effect = { kind = "once", label = "charged" }
design = { instances = 2, prefetch = 2 }
"#;

#[test]
fn a_crashed_instance_loses_what_it_held_and_the_broker_redelivers_it_after_the_deadline() {
    let mut world = world(BILLING, 1);
    run(&mut world, 120);
    apply(
        &mut world,
        120,
        r#"{"kind":"crash","consumer":"billing","instance":0}"#,
    );
    let events = run(&mut world, 3_000);
    assert_eq!(
        world.metrics().consumers[0].instances[0].status,
        InstanceStatus::Crashed
    );
    assert!(count(&events, "ack_timeout") >= 1);
    apply(
        &mut world,
        3_000,
        r#"{"kind":"restart","consumer":"billing","instance":0}"#,
    );
    let events = run(&mut world, 6_000);
    assert_eq!(count(&events, "instance_restarted"), 1);
    let report = report_for(&world, "billing");
    assert!(report.missing.is_empty(), "at-least-once: nothing lost");
}

#[test]
fn a_paused_consumer_stops_processing_and_resumes_where_it_was() {
    let mut world = world(BILLING, 1);
    apply(&mut world, 0, r#"{"kind":"pause","consumer":"billing"}"#);
    run(&mut world, 5_000);
    assert_eq!(report_for(&world, "billing").business.applied, 0);
    apply(
        &mut world,
        5_000,
        r#"{"kind":"resume","consumer":"billing"}"#,
    );
    let events = run(&mut world, 20_000);
    let report = report_for(&world, "billing");
    assert!(
        report.missing.is_empty(),
        "every order is charged once resumed"
    );
    assert!(
        count(&events, "duplicate_effect") > 0,
        "deliveries held past their ack deadline were redelivered: a paused consumer causes duplicates"
    );
}

#[test]
fn a_slow_consumer_takes_longer_per_message() {
    let mut normal = world(BILLING, 1);
    run(&mut normal, 600);
    let mut slow = world(BILLING, 1);
    apply(
        &mut slow,
        0,
        r#"{"kind":"slow","consumer":"billing","factor":10}"#,
    );
    run(&mut slow, 600);
    assert!(
        report_for(&slow, "billing").business.applied
            < report_for(&normal, "billing").business.applied
    );
}

#[test]
fn an_injected_poison_message_fails_every_attempt_and_ends_in_the_dead_letter_queue() {
    let text = BILLING.replace(
        "design = {",
        "design = { retry = { strategy = \"immediate\", max_attempts = 3 },",
    );
    let mut world = world(&text, 1);
    apply(
        &mut world,
        0,
        r#"{"kind":"inject_poison","channel":"orders"}"#,
    );
    let events = run(&mut world, 5_000);
    let failures: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                TraceKind::ProcessingFailed {
                    reason: FailureReason::Malformed,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(failures.len(), 3);
    assert_eq!(count(&events, "dead_lettered"), 1);
    assert_eq!(
        report_for(&world, "billing").business.applied,
        20,
        "the other messages got through"
    );
}

#[test]
fn a_duplicate_with_the_same_id_is_caught_by_message_id_idempotency_but_a_new_id_is_not() {
    for (same_id, idempotency, duplicated_effect) in [
        (true, "none", true),
        (true, "message_id", false),
        (false, "message_id", true),
        (false, "business_key", false),
    ] {
        let text = BILLING.replace(
            "design = {",
            &format!("design = {{ idempotency = \"{idempotency}\","),
        );
        let mut world = world(&text, 1);
        run(&mut world, 200);
        apply(
            &mut world,
            200,
            &format!(r#"{{"kind":"duplicate","channel":"orders","same_id":{same_id}}}"#),
        );
        let events = run(&mut world, 5_000);
        assert_eq!(
            count(&events, "duplicate_effect") == 1,
            duplicated_effect,
            "same_id {same_id}, idempotency {idempotency}"
        );
        if !duplicated_effect {
            assert_eq!(count(&events, "duplicate_skipped"), 1);
        }
    }
}

#[test]
fn link_jitter_loss_and_cuts_change_what_arrives_and_a_restored_link_recovers() {
    let mut world = world(BILLING, 3);
    apply(
        &mut world,
        0,
        r#"{"kind":"set_link","service":"billing","conditions":{"latency_ms":5,"jitter_ms":200,"loss":0.3}}"#,
    );
    let events = run(&mut world, 3_000);
    assert!(count(&events, "link_changed") == 1);
    let lost = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                TraceKind::Dropped {
                    reason: DropReason::LinkLoss,
                    ..
                }
            )
        })
        .count();
    assert!(lost > 0, "a lossy link loses deliveries or acks");
    apply(
        &mut world,
        3_000,
        r#"{"kind":"cut_link","service":"billing"}"#,
    );
    let events = run(&mut world, 4_000);
    assert!(
        count(&events, "effect_applied") <= 4,
        "only what was already on its way gets through"
    );
    apply(
        &mut world,
        4_000,
        r#"{"kind":"set_link","service":"billing","conditions":{"latency_ms":5}}"#,
    );
    run(&mut world, 30_000);
    assert!(
        report_for(&world, "billing").missing.is_empty(),
        "at-least-once recovers everything"
    );
}

#[test]
fn a_broker_restart_loses_what_is_not_durable_keeps_what_is_and_returns_unacked_deliveries() {
    let text = r#"
[[channels]]
name = "durable"
kind = "queue"
[[channels]]
name = "scratch"
kind = "queue"
durable = false
[[producers]]
name = "a"
channel = "durable"
event_type = "Kept"
rate_per_sec = 100
count = 10
[[producers]]
name = "b"
channel = "scratch"
event_type = "Lost"
rate_per_sec = 100
count = 10
[[consumers]]
name = "slow-a"
channel = "durable"
processing_ms = 1000
[[consumers]]
name = "slow-b"
channel = "scratch"
processing_ms = 1000
"#;
    let mut world = world(text, 1);
    run(&mut world, 500);
    apply(
        &mut world,
        500,
        r#"{"kind":"restart_broker","downtime_ms":1000}"#,
    );
    let during = run(&mut world, 1_400);
    let down = of_type(&during, "broker_down");
    assert!(matches!(
        down[0].kind,
        TraceKind::BrokerDown {
            lost: 10,
            returned: 1
        }
    ));
    let metrics = world.metrics();
    assert_eq!(
        metrics.queues[0].ready, 10,
        "durable queue kept its messages and got the unacked one back"
    );
    assert_eq!(
        metrics.queues[1].ready, 0,
        "non-durable queue lost everything"
    );
    assert!(!metrics.broker_up);
    let (kept, recounted) = world.stored_bytes_recounted();
    assert_eq!(kept, recounted, "what was lost is no longer billed");
    assert_eq!(world.usage().stored_messages, 10);
    let events = run(&mut world, 2_000);
    assert_eq!(count(&events, "broker_up"), 1);
    let unheard = count(&during, "dropped") + count(&events, "stale_ack");
    assert!(
        unheard >= 1,
        "acks sent to a broker that is down, or for deliveries it took back, go nowhere"
    );
}

#[test]
fn instances_can_be_added_and_removed() {
    let mut world = world(BILLING, 1);
    apply(
        &mut world,
        0,
        r#"{"kind":"add_instance","consumer":"billing"}"#,
    );
    assert_eq!(world.metrics().consumers[0].instances.len(), 3);
    apply(
        &mut world,
        0,
        r#"{"kind":"remove_instance","consumer":"billing"}"#,
    );
    apply(
        &mut world,
        0,
        r#"{"kind":"remove_instance","consumer":"billing"}"#,
    );
    let statuses: Vec<_> = world.metrics().consumers[0]
        .instances
        .iter()
        .map(|i| i.status)
        .collect();
    assert_eq!(
        statuses,
        vec![
            InstanceStatus::Up,
            InstanceStatus::Removed,
            InstanceStatus::Removed
        ]
    );
    assert_eq!(world.metrics().consumers[0].design.instances, 1);
    run(&mut world, 10_000);
    assert_eq!(report_for(&world, "billing").business.applied, 20);
}

#[test]
fn a_dependency_outage_fails_processing_until_it_is_over() {
    let text = BILLING.replace(
        "design = {",
        "design = { retry = { strategy = \"fixed\", delay_ms = 500, max_attempts = 10 },",
    );
    let mut world = world(&text, 1);
    apply(
        &mut world,
        0,
        r#"{"kind":"dependency_outage","consumer":"billing","duration_ms":2000}"#,
    );
    let events = run(&mut world, 20_000);
    let down = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                TraceKind::ProcessingFailed {
                    reason: FailureReason::DependencyDown,
                    ..
                }
            )
        })
        .count();
    assert!(down > 0);
    assert!(count(&events, "retry_scheduled") > 0);
    assert!(
        report_for(&world, "billing").missing.is_empty(),
        "retries outlast the outage"
    );
}

#[test]
fn restore_link_brings_back_the_scenarios_link_without_the_loss_added_since() {
    let text = format!("{BILLING}\n[links.billing]\nlatency_ms = 40\n");
    let mut world = world(&text, 3);
    apply(
        &mut world,
        0,
        r#"{"kind":"set_link","service":"billing","conditions":{"latency_ms":5,"loss":0.2}}"#,
    );
    apply(&mut world, 0, r#"{"kind":"cut_link","service":"billing"}"#);
    apply(
        &mut world,
        0,
        r#"{"kind":"restore_link","service":"billing"}"#,
    );
    let events = run(&mut world, 30_000);
    let restored = events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::LinkChanged { conditions, .. } => Some(conditions.clone()),
            _ => None,
        })
        .next_back()
        .expect("the restore is traced");
    assert!(!restored.cut && restored.loss == 0.0 && restored.latency_ms == 40);
    assert!(
        !events.iter().any(|e| matches!(
            e.kind,
            TraceKind::Dropped {
                reason: DropReason::LinkLoss,
                ..
            }
        )),
        "a restored link loses nothing"
    );
}

#[test]
fn the_labels_of_faults_say_what_they_did() {
    let label = |json: &str| {
        serde_json::from_str::<eda_playground::engine::Command>(json)
            .expect("a command")
            .label()
    };
    assert_eq!(
        label(r#"{"kind":"slow","consumer":"b","factor":1}"#),
        "normal speed"
    );
    assert_eq!(
        label(r#"{"kind":"slow","consumer":"b","factor":5}"#),
        "slow down"
    );
    assert_eq!(
        label(r#"{"kind":"duplicate","channel":"o","same_id":false}"#),
        "producer retry"
    );
    assert_eq!(
        label(r#"{"kind":"duplicate","channel":"o"}"#),
        "duplicate delivery"
    );
}

#[test]
fn scheduled_faults_happen_on_their_own_and_leave_a_marker() {
    let text = format!(
        "{BILLING}\n[[faults]]\nat_ms = 300\nfault = {{ kind = \"crash\", consumer = \"billing\", instance = 1 }}\n"
    );
    let mut world = world(&text, 1);
    let events = run(&mut world, 1_000);
    let marker = of_type(&events, "fault");
    assert_eq!(marker.len(), 1);
    assert_eq!(marker[0].at, 300);
    assert_eq!(count(&events, "instance_crashed"), 1);
}

#[test]
fn a_volunteer_instance_holds_each_message_until_a_person_settles_it() {
    // People are slow: the ack deadline gives them a minute.
    let text = BILLING
        .replace("instances = 2", "instances = 0")
        .replace("count = 20", "count = 2")
        .replace("ack_deadline_ms = 1000", "ack_deadline_ms = 60000");
    let mut world = world(&text, 1);
    apply(
        &mut world,
        0,
        r#"{"kind":"volunteer","consumer":"billing"}"#,
    );
    run(&mut world, 5_000);
    let metrics = world.metrics();
    let volunteer = &metrics.consumers[0].instances[0];
    assert!(volunteer.manual);
    let held = volunteer
        .holding
        .expect("the first message waits for the person");
    assert_eq!(
        report_for(&world, "billing").business.applied,
        0,
        "nothing happens on its own"
    );
    let wrong = r#"{"kind":"settle","consumer":"billing","instance":0,"message":"0000000000000001","outcome":"ack"}"#;
    assert!(
        world
            .apply(5_000, serde_json::from_str(wrong).expect("json"))
            .is_err(),
        "only the held message"
    );
    let fail = format!(
        r#"{{"kind":"settle","consumer":"billing","instance":0,"message":"{held}","outcome":"fail"}}"#
    );
    apply(&mut world, 5_000, &fail);
    let events = run(&mut world, 5_100);
    assert_eq!(count(&events, "processing_failed"), 1);
    assert_eq!(
        count(&events, "nacked"),
        1,
        "a failure goes back to the broker"
    );
    let held = world.metrics().consumers[0].instances[0]
        .holding
        .expect("redelivered to the only instance");
    let ack = format!(
        r#"{{"kind":"settle","consumer":"billing","instance":0,"message":"{held}","outcome":"ack"}}"#
    );
    apply(&mut world, 5_100, &ack);
    let events = run(&mut world, 5_200);
    assert_eq!(count(&events, "effect_applied"), 1);
    assert_eq!(count(&events, "acked"), 1);
    apply(
        &mut world,
        5_200,
        r#"{"kind":"crash","consumer":"billing","instance":0}"#,
    );
    apply(
        &mut world,
        5_200,
        r#"{"kind":"add_instance","consumer":"billing"}"#,
    );
    run(&mut world, 70_000);
    let report = report_for(&world, "billing");
    assert!(
        report.missing.is_empty(),
        "what the volunteer held when they left is redelivered"
    );
}

#[test]
fn set_design_starts_and_stops_instances_to_reach_the_wanted_count() {
    let mut world = world(BILLING, 1);
    let design_with = |instances: u32| {
        format!(
            r#"{{"kind":"set_design","consumer":"billing","design":{{"instances":{instances},"prefetch":2}}}}"#
        )
    };
    apply(&mut world, 0, &design_with(4));
    let up = |world: &eda_playground::engine::World| {
        world.metrics().consumers[0]
            .instances
            .iter()
            .filter(|i| i.status == InstanceStatus::Up)
            .count()
    };
    assert_eq!(up(&world), 4, "two running, two more wanted");
    assert_eq!(world.metrics().consumers[0].design.instances, 4);
    apply(&mut world, 10, &design_with(1));
    assert_eq!(up(&world), 1);
    assert_eq!(world.metrics().consumers[0].design.instances, 1);
}
