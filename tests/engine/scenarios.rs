//! The classic failures of event-driven systems, each next to its fix.
use crate::support::*;

const ORDERS: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
ack_deadline_ms = 1000
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 30
payload = { amount = 25 }
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 200
effect = { kind = "once", label = "charged" }
"#;

#[test]
fn at_most_once_loses_a_message_when_the_consumer_crashes() {
    let lost = |ack_mode: &str| {
        let text = ORDERS.replace(
            "effect =",
            &format!("failures = {{ restart_after_ms = 500 }}\ndesign = {{ ack_mode = \"{ack_mode}\" }}\neffect ="),
        );
        let mut world = world(&text, 1);
        run(&mut world, 1_050);
        apply(
            &mut world,
            1_050,
            r#"{"kind":"crash","consumer":"billing"}"#,
        );
        run(&mut world, 30_000);
        report_for(&world, "billing").missing
    };
    // Acked on receipt, the broker pushes everything it has (prefetch only bounds what is
    // unacknowledged), so the crash loses every message the instance was holding.
    assert!(
        !lost("on_receipt").is_empty(),
        "acked on receipt, then the crash: gone"
    );
    assert!(
        lost("after_processing").is_empty(),
        "acked after the work: redelivered"
    );
}

#[test]
fn at_least_once_repeats_the_effect_after_a_crash_between_effect_and_ack_and_idempotency_removes_it()
 {
    // `design`: the consumer's design table, inside its braces.
    let duplicates = |design: &str| {
        let text = ORDERS.replace(
            "effect =",
            &format!(
                "failures = {{ crash_after_effect_probability = 0.2, restart_after_ms = 200 }}\ndesign = {{ {design} }}\neffect ="
            ),
        );
        let mut world = world(&text, 7);
        let events = run(&mut world, 60_000);
        let report = report_for(&world, "billing");
        assert!(report.missing.is_empty(), "at-least-once loses nothing");
        (
            count(&events, "duplicate_effect"),
            count(&events, "duplicate_skipped"),
        )
    };
    let (charged_twice, _) = duplicates("idempotency = \"none\"");
    assert!(charged_twice > 0, "a double charge");
    let (charged_twice, skipped) = duplicates("idempotency = \"message_id\"");
    assert_eq!(charged_twice, 0);
    assert!(skipped > 0, "the redelivery was recognised");
    // A store that keeps one id has forgotten the crashed message by the time it comes back after the
    // restart (others were handled meanwhile); one that forgets after 100 ms has too.
    let (charged_twice, _) = duplicates("idempotency = \"message_id\", dedup_capacity = 1");
    assert!(charged_twice > 0, "a store of one forgets");
    let (charged_twice, _) = duplicates("idempotency = \"message_id\", dedup_ttl_ms = 100");
    assert!(charged_twice > 0, "a 100 ms window forgets");
    let (charged_twice, _) =
        duplicates("idempotency = \"message_id\", dedup_ttl_ms = 5000, dedup_capacity = 100");
    assert_eq!(
        charged_twice, 0,
        "a window and a size that outlast the restart"
    );
}

const ACCOUNT: &str = r#"
[[channels]]
name = "balances"
kind = "queue"
[[producers]]
name = "ledger"
channel = "balances"
event_type = "BalanceChanged"
rate_per_sec = 50
count = 100
keys = ["acct-1", "acct-2"]
[[consumers]]
name = "read-model"
channel = "balances"
processing_ms = 5
effect = { kind = "latest", label = "stored" }
design = { instances = 3, prefetch = 5 }
[links.read-model]
latency_ms = 5
jitter_ms = 150
"#;

#[test]
fn jitter_delivers_events_out_of_order_and_a_sequence_check_catches_them() {
    let mut world = world(ACCOUNT, 3);
    let events = run(&mut world, 30_000);
    assert!(count(&events, "out_of_order") > 0, "jitter reorders");
    assert!(
        report_for(&world, "read-model").business.stale_overwrites > 0,
        "a stale read model"
    );
    let fixed = ACCOUNT.replace(
        "prefetch = 5",
        "prefetch = 5, ordering = { strategy = \"drop_stale\" }",
    );
    let mut world = super::support::world(&fixed, 3);
    let events = run(&mut world, 30_000);
    assert!(count(&events, "stale_dropped") > 0);
    assert_eq!(
        report_for(&world, "read-model").business.stale_overwrites,
        0
    );
    let resequenced = ACCOUNT.replace(
        "prefetch = 5",
        "prefetch = 5, ordering = { strategy = \"resequence\", timeout_ms = 500 }",
    );
    let mut world = super::support::world(&resequenced, 3);
    let events = run(&mut world, 30_000);
    assert!(count(&events, "held_back") > 0);
    let business = report_for(&world, "read-model").business;
    assert_eq!(business.stale_overwrites, 0);
    assert_eq!(
        business.applied, 100,
        "held back, then applied in order: nothing dropped"
    );
}

const PUBLISHER: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 50
delivery = DELIVERY
[[consumers]]
name = "shipping"
channel = "orders"
processing_ms = 10
effect = { kind = "once", label = "shipped" }
[[faults]]
at_ms = 1000
fault = { kind = "restart_broker", downtime_ms = 1500 }
"#;

#[test]
fn a_dual_write_loses_events_while_the_broker_is_down_and_the_outbox_does_not() {
    let missing = |delivery: &str| {
        let mut world = world(&PUBLISHER.replace("DELIVERY", delivery), 1);
        let events = run(&mut world, 30_000);
        (
            report_for(&world, "shipping").missing.len(),
            count(&events, "db_committed"),
        )
    };
    let (lost, committed) = missing(r#"{ mode = "dual_write" }"#);
    assert_eq!(committed, 50, "every order is in the producer's database");
    assert!(
        lost >= 10,
        "the ones written during the outage never left: {lost}"
    );
    let (lost, committed) = missing(r#"{ mode = "outbox", relay_interval_ms = 200 }"#);
    assert_eq!(committed, 50);
    assert_eq!(lost, 0, "the relay published them once the broker was back");
}

#[test]
fn a_saga_emits_a_compensating_event_for_every_declined_payment() {
    let text = r#"
[[channels]]
name = "orders"
kind = "topic"
[[channels]]
name = "payments"
kind = "topic"
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 40
[[consumers]]
name = "billing"
channel = "orders"
effect = { kind = "once", label = "charged" }
failures = { decline_probability = 0.25 }
emits = [{ on = "declined", event_type = "PaymentFailed", channel = "payments" }, { on = "success", event_type = "PaymentSucceeded", channel = "payments" }]
[[consumers]]
name = "orders-service"
channel = "payments"
effect = { kind = "count", label = "handled" }
"#;
    let mut world = world(text, 5);
    let events = run(&mut world, 20_000);
    let declined = count(&events, "declined");
    assert!(declined > 0);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| matches!(&e.kind, eda_playground::engine::TraceKind::Published { event_type, .. } if &**event_type == "PaymentFailed"))
        .collect();
    assert_eq!(failed.len(), declined);
    assert!(
        report_for(&world, "billing").missing.is_empty(),
        "declined orders are accounted for"
    );
}

const ACCOUNTS_STREAM: &str = r#"
[[channels]]
name = "account-events"
kind = "stream"
partitions = 2
[[producers]]
name = "ledger"
channel = "account-events"
event_type = "Deposited"
rate_per_sec = 20
count = 40
keys = ["acct-1", "acct-2"]
payload = { amount = 5 }
[[consumers]]
name = "balances"
channel = "account-events"
processing_ms = 5
effect = { kind = "balance", label = "credited" }
checkpoint_every = 10
"#;

#[test]
fn a_read_model_is_rebuilt_by_replay_from_the_start_or_from_a_checkpoint() {
    let mut world = world(ACCOUNTS_STREAM, 1);
    let events = run(&mut world, 10_000);
    assert_eq!(report_for(&world, "balances").business.balance, 200);
    assert!(count(&events, "checkpoint_saved") >= 3);
    apply(
        &mut world,
        10_000,
        r#"{"kind":"rebuild","consumer":"balances"}"#,
    );
    let events = run(&mut world, 20_000);
    assert_eq!(
        count(&events, "effect_applied"),
        40,
        "a full replay reads every event again"
    );
    assert_eq!(
        report_for(&world, "balances").business.balance,
        200,
        "and arrives at the same balance"
    );
    apply(
        &mut world,
        20_000,
        r#"{"kind":"rebuild","consumer":"balances","from_checkpoint":true}"#,
    );
    let events = run(&mut world, 30_000);
    assert!(
        count(&events, "effect_applied") <= 10,
        "from the checkpoint only the tail is replayed"
    );
    let business = report_for(&world, "balances").business;
    assert_eq!(
        business.balance, 200,
        "the checkpoint plus the tail is the same balance"
    );
    assert_eq!(business.duplicate_effects, 0);
}

#[test]
fn a_newer_schema_version_poisons_a_strict_reader_and_a_tolerant_reader_or_upcaster_copes() {
    let outcome = |producer_version: u32, design: &str| {
        let text = format!(
            r#"
[[channels]]
name = "orders"
kind = "queue"
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
schema_version = {producer_version}
rate_per_sec = 10
count = 10
[[consumers]]
name = "billing"
channel = "orders"
schema_versions = [2]
effect = {{ kind = "once", label = "charged" }}
design = {{ retry = {{ strategy = "none" }}, {design} }}
"#
        );
        let mut world = world(&text, 1);
        let events = run(&mut world, 10_000);
        (
            count(&events, "effect_applied"),
            count(&events, "dead_lettered"),
        )
    };
    assert_eq!(
        outcome(3, "tolerant_reader = false"),
        (0, 10),
        "a v3 event against a v2 reader"
    );
    assert_eq!(
        outcome(3, "tolerant_reader = true"),
        (10, 0),
        "ignore what it does not know"
    );
    assert_eq!(
        outcome(1, "upcast = false"),
        (0, 10),
        "a v1 event the reader no longer knows"
    );
    assert_eq!(
        outcome(1, "upcast = true"),
        (10, 0),
        "upcast v1 to v2 first"
    );
}

#[test]
fn a_crash_before_the_ack_redelivers_without_a_duplicate_effect() {
    let text = ORDERS.replace(
        "effect =",
        "failures = { crash_before_ack_probability = 0.2, restart_after_ms = 200 }\neffect =",
    );
    let mut world = world(&text, 3);
    let events = run(&mut world, 60_000);
    assert!(count(&events, "instance_crashed") > 0);
    assert_eq!(
        count(&events, "duplicate_effect"),
        0,
        "the crash came before the effect"
    );
    assert!(report_for(&world, "billing").missing.is_empty());
}

#[test]
fn a_retry_storm_keeps_an_overloaded_dependency_down_and_backoff_with_jitter_lets_it_recover() {
    let dead_letters = |retry: &str| {
        let text = format!(
            r#"
[[channels]]
name = "orders"
kind = "queue"
max_deliveries = 100
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 40
count = 400
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 5
dependency_capacity_per_sec = 60
effect = {{ kind = "once", label = "charged" }}
design = {{ instances = 4, prefetch = 5, retry = {retry} }}
[[faults]]
at_ms = 2000
fault = {{ kind = "dependency_outage", consumer = "billing", duration_ms = 3000 }}
"#
        );
        let mut world = world(&text, 1);
        run(&mut world, 120_000);
        world.dead_letters("billing").map(|d| d.len()).unwrap_or(0)
    };
    let storm = dead_letters(r#"{ strategy = "immediate", max_attempts = 8 }"#);
    let backoff = dead_letters(
        r#"{ strategy = "exponential", base_ms = 200, max_ms = 10000, jitter = true, max_attempts = 8 }"#,
    );
    assert!(
        storm > 0,
        "immediate retries burn their attempts against the outage"
    );
    assert!(
        backoff < storm,
        "backoff with jitter spreads the retries out: {backoff} vs {storm}"
    );
}
