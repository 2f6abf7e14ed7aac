//! Each channel kind behaves as a learner would meet it in a real broker.
use eda_playground::engine::{DeadLetterReason, TraceKind, partition_for_key};

use crate::support::*;

const TOPIC: &str = r#"
[[channels]]
name = "orders"
kind = "topic"
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 10
[[consumers]]
name = "billing"
channel = "orders"
effect = { kind = "once", label = "charged" }
failures = { restart_after_ms = 60000 }
[[consumers]]
name = "email"
channel = "orders"
durable = false
effect = { kind = "once", label = "e-mailed" }
"#;

#[test]
fn a_topic_gives_every_subscription_its_own_copy() {
    let mut world = world(TOPIC, 1);
    let events = run(&mut world, 10_000);
    assert_eq!(count(&events, "published"), 10);
    assert_eq!(count(&events, "enqueued"), 20, "one copy per subscription");
    for name in ["billing", "email"] {
        let report = report_for(&world, name);
        assert_eq!(report.business.applied, 10, "{name}");
        assert!(report.missing.is_empty(), "{name}");
    }
}

#[test]
fn an_offline_non_durable_subscriber_misses_messages_and_a_durable_one_finds_them_waiting() {
    let mut world = world(TOPIC, 1);
    apply(&mut world, 0, r#"{"kind":"crash","consumer":"email"}"#);
    apply(&mut world, 0, r#"{"kind":"crash","consumer":"billing"}"#);
    let offline = run(&mut world, 5_000);
    assert!(
        count(&offline, "dropped") >= 5,
        "the email subscription does not exist while it is down"
    );
    let (kept, recounted) = world.stored_bytes_recounted();
    assert_eq!(
        kept, recounted,
        "what email's subscription dropped is no longer billed"
    );
    apply(
        &mut world,
        5_000,
        r#"{"kind":"restart","consumer":"email"}"#,
    );
    apply(
        &mut world,
        5_000,
        r#"{"kind":"restart","consumer":"billing"}"#,
    );
    run(&mut world, 20_000);
    assert_eq!(
        report_for(&world, "billing").business.applied,
        10,
        "durable: everything waited"
    );
    let email = report_for(&world, "email");
    assert!(
        email.business.applied < 10,
        "non-durable: what was published while it was down is gone"
    );
    assert_eq!(email.missing.len() as u64, 10 - email.business.applied);
}

const QUEUE: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
ack_deadline_ms = 1000
max_deliveries = 4
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 100
count = 10
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 10
effect = { kind = "once", label = "charged" }
design = { instances = 2, prefetch = 1 }
"#;

#[test]
fn competing_consumers_share_a_queue_round_robin() {
    let mut world = world(QUEUE, 1);
    let events = run(&mut world, 10_000);
    let per_instance = |n: u32| {
        events
            .iter()
            .filter(|e| matches!(e.kind, TraceKind::Delivered { instance, .. } if instance == n))
            .count()
    };
    assert_eq!(per_instance(0), 5);
    assert_eq!(per_instance(1), 5);
    assert_eq!(count(&events, "acked"), 10);
}

#[test]
fn prefetch_bounds_what_one_instance_holds_unacknowledged() {
    let text = QUEUE
        .replace("instances = 2, prefetch = 1", "instances = 1, prefetch = 3")
        .replace("count = 10", "count = 10\nstart_ms = 100");
    let mut world = world(&text, 1);
    apply(&mut world, 0, r#"{"kind":"pause","consumer":"billing"}"#);
    run(&mut world, 600);
    let metrics = world.metrics();
    assert_eq!(metrics.consumers[0].instances[0].unacked, 3);
    assert_eq!(metrics.queues[0].in_flight, 3);
    assert_eq!(metrics.queues[0].ready, 7);
}

#[test]
fn an_unacknowledged_delivery_comes_back_after_the_ack_deadline_with_its_count_raised() {
    let text = QUEUE
        .replace("processing_ms = 10", "processing_ms = 5000")
        .replace("count = 10", "count = 1");
    let mut world = world(&text, 1);
    let events = run(&mut world, 1_500);
    let timeouts = of_type(&events, "ack_timeout");
    assert_eq!(timeouts.len(), 1);
    let attempts: Vec<u32> = events
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Delivered { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, vec![1, 2]);
}

#[test]
fn nack_with_requeue_redelivers_and_reject_dead_letters_with_reason_origin_and_attempts() {
    let text = QUEUE
        .replace("count = 10", "count = 1")
        .replace("design = {", "failures = { poison_event_types = [\"OrderPlaced\"] }\ndesign = { retry = { strategy = \"immediate\", max_attempts = 3 },");
    let mut world = world(&text, 1);
    let events = run(&mut world, 5_000);
    assert_eq!(count(&events, "nacked"), 3);
    let dead = of_type(&events, "dead_lettered");
    assert_eq!(dead.len(), 1);
    assert!(matches!(
        dead[0].kind,
        TraceKind::DeadLettered {
            attempts: 3,
            reason: DeadLetterReason::Rejected,
            ..
        }
    ));
    let letters = world.dead_letters("billing").expect("known consumer");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(
        letters[0].message.channel.0, 0,
        "the origin channel is kept"
    );
}

#[test]
fn the_broker_delivery_limit_dead_letters_whatever_the_retry_policy() {
    let text = QUEUE
        .replace("count = 10", "count = 1")
        .replace("design = {", "failures = { poison_event_types = [\"OrderPlaced\"] }\ndesign = { retry = { strategy = \"immediate\", max_attempts = 50 },");
    let mut world = world(&text, 1);
    let events = run(&mut world, 5_000);
    let dead = of_type(&events, "dead_lettered");
    assert!(matches!(
        dead[0].kind,
        TraceKind::DeadLettered {
            attempts: 4,
            reason: DeadLetterReason::MaxDeliveries,
            ..
        }
    ));
}

#[test]
fn redrive_moves_one_or_all_dead_letters_back_to_their_queue() {
    let text = QUEUE
        .replace("count = 10", "count = 3")
        .replace("design = {", "failures = { poison_event_types = [\"OrderPlaced\"] }\ndesign = { retry = { strategy = \"none\" },");
    let mut world = world(&text, 1);
    run(&mut world, 5_000);
    let letters = world.dead_letters("billing").expect("known consumer");
    assert_eq!(letters.len(), 3);
    let one = format!(
        r#"{{"kind":"redrive","consumer":"billing","message":"{}"}}"#,
        letters[0].message.id
    );
    apply(&mut world, 5_000, &one);
    assert_eq!(
        world.dead_letters("billing").expect("known").len(),
        2,
        "one left the dead-letter queue"
    );
    let events = run(&mut world, 6_000);
    assert_eq!(count(&events, "redriven"), 1);
    let again = events
        .iter()
        .find(|e| matches!(e.kind, TraceKind::Delivered { message, attempt: 1, .. } if message == letters[0].message.id));
    assert!(again.is_some(), "redriven with a fresh attempt count");
    assert_eq!(
        world.dead_letters("billing").expect("known").len(),
        3,
        "still poison: it came back"
    );
    apply(
        &mut world,
        6_000,
        r#"{"kind":"redrive","consumer":"billing"}"#,
    );
    assert!(world.dead_letters("billing").expect("known").is_empty());
    let events = run(&mut world, 7_000);
    assert_eq!(count(&events, "redriven"), 3);
    assert!(
        world
            .apply(
                7_000,
                serde_json::from_str(
                    r#"{"kind":"redrive","consumer":"billing","message":"00000000000000ff"}"#
                )
                .expect("json")
            )
            .is_err()
    );
}

#[test]
fn a_message_past_its_ttl_is_dead_lettered_as_expired_even_with_nobody_consuming() {
    let text = QUEUE
        .replace("max_deliveries = 4", "max_deliveries = 4\nttl_ms = 300")
        .replace("count = 10", "count = 2\nstart_ms = 100");
    let mut world = world(&text, 1);
    apply(
        &mut world,
        0,
        r#"{"kind":"crash","consumer":"billing","instance":0}"#,
    );
    apply(
        &mut world,
        0,
        r#"{"kind":"crash","consumer":"billing","instance":1}"#,
    );
    let events = run(&mut world, 1_000);
    let dead = of_type(&events, "dead_lettered");
    assert_eq!(
        dead.len(),
        2,
        "expired at the head of the queue, as in RabbitMQ"
    );
    assert!(dead.iter().all(|e| matches!(
        e.kind,
        TraceKind::DeadLettered {
            reason: DeadLetterReason::Expired,
            ..
        }
    )));
    assert!(
        dead.iter().all(|e| e.at > 400 && e.at <= 420),
        "when their TTL is up, not later: {:?}",
        dead.iter().map(|e| e.at).collect::<Vec<_>>()
    );
    apply(
        &mut world,
        1_000,
        r#"{"kind":"restart","consumer":"billing"}"#,
    );
    let events = run(&mut world, 2_000);
    assert_eq!(count(&events, "delivered"), 0, "nothing left to deliver");
}

const STREAM: &str = r#"
[[channels]]
name = "clicks"
kind = "stream"
partitions = 4
retention = 1000
[[producers]]
name = "web"
channel = "clicks"
event_type = "Clicked"
rate_per_sec = 100
count = 40
keys = ["a", "b", "c", "d", "e", "f", "g", "h"]
[[consumers]]
name = "analytics"
channel = "clicks"
processing_ms = 5
effect = { kind = "latest", label = "recorded" }
design = { instances = 2, prefetch = 5 }
"#;

#[test]
fn a_stream_partitions_by_key_and_keeps_offsets_in_order() {
    let mut world = world(STREAM, 1);
    let events = run(&mut world, 5_000);
    let mut next_offset = [0u64; 4];
    for event in &events {
        if let TraceKind::Appended {
            partition, offset, ..
        } = event.kind
        {
            assert_eq!(offset, next_offset[partition as usize]);
            next_offset[partition as usize] += 1;
        }
    }
    let published: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Published { message, key, .. } => Some((*message, key.clone())),
            _ => None,
        })
        .collect();
    for (message, key) in published {
        let partition = events.iter().find_map(|e| match e.kind {
            TraceKind::Appended {
                message: m,
                partition,
                ..
            } if m == message => Some(partition),
            _ => None,
        });
        assert_eq!(partition, Some(partition_for_key(&key, 4)));
    }
    let metrics = world.metrics();
    let group = &metrics.streams[0].groups[0];
    assert_eq!(group.lag.iter().sum::<u64>(), 0, "everything committed");
    assert_eq!(
        group.committed.iter().map(|c| c.unwrap_or(0)).sum::<u64>(),
        40
    );
}

#[test]
fn members_joining_and_leaving_trigger_a_visible_rebalance() {
    let mut world = world(STREAM, 1);
    let start = run(&mut world, 1);
    let first = of_type(&start, "rebalanced");
    assert_eq!(first.len(), 1);
    if let TraceKind::Rebalanced { assignment, .. } = &first[0].kind {
        assert_eq!(assignment, &vec![vec![0, 2], vec![1, 3]]);
    }
    apply(
        &mut world,
        100,
        r#"{"kind":"add_instance","consumer":"analytics"}"#,
    );
    apply(
        &mut world,
        200,
        r#"{"kind":"crash","consumer":"analytics","instance":0}"#,
    );
    let events = run(&mut world, 5_000);
    let rebalances: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Rebalanced {
                generation,
                assignment,
                ..
            } => Some((*generation, assignment.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(rebalances[0], (2, vec![vec![0, 3], vec![1], vec![2]]));
    assert_eq!(rebalances[1], (3, vec![vec![], vec![0, 2], vec![1, 3]]));
}

#[test]
fn a_group_can_start_latest_or_replay_from_the_earliest_offset() {
    let text = STREAM.replace("design = {", "start = { from = \"latest\" }\ndesign = {");
    let mut world = world(&text, 1);
    apply(&mut world, 0, r#"{"kind":"pause","consumer":"analytics"}"#);
    run(&mut world, 1_000);
    apply(
        &mut world,
        1_000,
        r#"{"kind":"resume","consumer":"analytics"}"#,
    );
    run(&mut world, 5_000);
    let processed_once = report_for(&world, "analytics").business.applied;
    assert_eq!(
        processed_once, 40,
        "latest is where the group joined: time zero"
    );
    apply(
        &mut world,
        5_000,
        r#"{"kind":"seek","consumer":"analytics","to":{"from":"earliest"}}"#,
    );
    let events = run(&mut world, 10_000);
    assert_eq!(count(&events, "offset_reset"), 4);
    assert_eq!(
        report_for(&world, "analytics").business.applied,
        80,
        "a replay processes everything again"
    );
}

#[test]
fn retention_removes_old_records_and_a_late_group_misses_them() {
    let text = STREAM.replace("retention = 1000", "retention = 3");
    let mut world = world(&text, 1);
    run(&mut world, 45);
    let before = report_for(&world, "analytics").business.applied;
    assert!(before > 0);
    apply(
        &mut world,
        45,
        r#"{"kind":"crash","consumer":"analytics","instance":0}"#,
    );
    apply(
        &mut world,
        45,
        r#"{"kind":"crash","consumer":"analytics","instance":1}"#,
    );
    run(&mut world, 2_000);
    apply(
        &mut world,
        2_000,
        r#"{"kind":"restart","consumer":"analytics"}"#,
    );
    let events = run(&mut world, 4_000);
    assert_eq!(
        count(&events, "records_missed"),
        4,
        "every partition lost records to retention"
    );
    assert_eq!(
        report_for(&world, "analytics").business.applied,
        before + 12,
        "3 kept in each of 4 partitions"
    );
}

const REQUEST_REPLY: &str = r#"
[[channels]]
name = "stock-checks"
kind = "queue"
[[channels]]
name = "stock-replies"
kind = "queue"
[[producers]]
name = "checkout"
channel = "stock-checks"
event_type = "CheckStock"
rate_per_sec = 10
count = 5
start_ms = 100
request = { reply_channel = "stock-replies", timeout_ms = 500 }
[[consumers]]
name = "inventory"
channel = "stock-checks"
processing_ms = 20
replies = true
"#;

#[test]
fn request_reply_matches_replies_by_correlation_id_and_times_out() {
    let mut world = world(REQUEST_REPLY, 1);
    let events = run(&mut world, 2_000);
    assert_eq!(count(&events, "reply_received"), 5);
    let correlation = |e: &&eda_playground::engine::TraceEvent| match &e.kind {
        TraceKind::Published { correlation_id, .. } => Some(*correlation_id),
        _ => None,
    };
    let ids: Vec<_> = events.iter().filter_map(|e| correlation(&e)).collect();
    assert_eq!(ids.len(), 10, "five requests and five replies");
    for pair in ids.chunks(2) {
        assert_eq!(
            pair[0], pair[1],
            "a reply carries its request's correlation id"
        );
    }
    let mut world = super::support::world(REQUEST_REPLY, 1);
    apply(&mut world, 0, r#"{"kind":"pause","consumer":"inventory"}"#);
    let events = run(&mut world, 2_000);
    assert_eq!(count(&events, "request_timed_out"), 5);
    apply(
        &mut world,
        2_000,
        r#"{"kind":"resume","consumer":"inventory"}"#,
    );
    let events = run(&mut world, 4_000);
    assert!(
        count(&events, "late_reply") >= 1,
        "an answer after the timeout is only noise"
    );
}

#[test]
fn metrics_report_rates_per_second_of_virtual_time() {
    let text = QUEUE.replace("count = 10", "count = 1000");
    let mut world = world(&text, 1);
    run(&mut world, 3_000);
    let metrics = world.metrics();
    assert!(
        (metrics.queues[0].enqueued_per_sec - 100.0).abs() < 1.0,
        "{}",
        metrics.queues[0].enqueued_per_sec
    );
    assert!((metrics.producers[0].produced_per_sec - 100.0).abs() < 1.0);
    assert!(metrics.consumers[0].succeeded_per_sec > 50.0);
}
