//! The engine's side of each scenario: the same system as a scenario, run headless, and the counts
//! read from its trace.
use eda_playground::engine::{Command, Millis, Scenario, World};
use serde_json::Value;

/// Runs `scenario` to `until` with `commands` applied at 0 s, and returns the trace as JSON.
pub(crate) fn run(scenario: &str, commands: &[&str], until: Millis) -> Vec<Value> {
    let scenario: Scenario = toml::from_str(scenario).expect("the scenario parses");
    let mut world = World::new(&scenario, 1).expect("the scenario is valid");
    for command in commands {
        let command: Command = serde_json::from_str(command).expect("the command parses");
        world.apply(0, command).expect("the command is accepted");
    }
    world.advance_to(until);
    world
        .drain_trace()
        .iter()
        .map(|event| serde_json::to_value(event).expect("a trace event serializes"))
        .collect()
}

pub(crate) fn of_type<'a>(trace: &'a [Value], kind: &str) -> Vec<&'a Value> {
    trace.iter().filter(|e| e["type"] == kind).collect()
}

/// Message ids in the order they were published, so deliveries can be named m1, m2, ...
fn published_order(trace: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for event in of_type(trace, "published") {
        let id = event["message"].as_str().unwrap_or_default().to_owned();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Deliveries as `m<n>` labels, in the order the broker made them.
pub(crate) fn delivery_labels(trace: &[Value]) -> Vec<String> {
    let order = published_order(trace);
    of_type(trace, "delivered")
        .iter()
        .map(|e| {
            let id = e["message"].as_str().unwrap_or_default();
            let n = order.iter().position(|m| m == id).map_or(0, |i| i + 1);
            format!("m{n}")
        })
        .collect()
}

/// Deliveries per consumer index.
pub(crate) fn deliveries_of(trace: &[Value], consumer: u64) -> usize {
    of_type(trace, "delivered")
        .iter()
        .filter(|e| e["consumer"] == consumer)
        .count()
}

/// A scenario with one queue `work` (with `settings`), a publisher of `count` `event_type`
/// messages from 100 ms on (after any command applied at 0 s), and `consumers`.
fn work_queue(settings: &str, event_type: &str, count: u32, consumers: &str) -> String {
    format!(
        r#"
[[channels]]
name = "work"
kind = "queue"
{settings}
[[producers]]
name = "publisher"
channel = "work"
event_type = "{event_type}"
rate_per_sec = 1000
count = {count}
start_ms = 100
{consumers}
"#
    )
}

/// Runs `scenario` with `consumers` down from 0 s until `back_at`, then on to `until`; the trace
/// is left in the world.
fn with_outage(scenario: &str, consumers: &[&str], back_at: Millis, until: Millis) -> World {
    let scenario: Scenario = toml::from_str(scenario).expect("the scenario parses");
    let mut world = World::new(&scenario, 1).expect("the scenario is valid");
    let command = |kind: &str, consumer: &str| -> Command {
        serde_json::from_value(serde_json::json!({"kind": kind, "consumer": consumer}))
            .expect("a command")
    };
    for consumer in consumers {
        world.apply(0, command("crash", consumer)).expect("a crash");
    }
    world.advance_to(back_at);
    for consumer in consumers {
        world
            .apply(back_at, command("restart", consumer))
            .expect("a restart");
    }
    world.advance_to(until);
    world
}

/// Two consumers on one queue, both with `prefetch`; `slow` holds what it gets far longer than
/// the run, `fast` acks at once. Returns (slow, fast) deliveries.
pub(crate) fn competing(prefetch: u32, messages: u32) -> (usize, usize) {
    let consumers = format!(
        r#"
[[consumers]]
name = "slow"
channel = "work"
processing_ms = 600000
design = {{ prefetch = {prefetch}, instances = 1 }}
[[consumers]]
name = "fast"
channel = "work"
processing_ms = 1
design = {{ prefetch = {prefetch}, instances = 1 }}
"#
    );
    let scenario = work_queue("ack_deadline_ms = 600000", "Job", messages, &consumers);
    let trace = run(&scenario, &[], 10_000);
    (deliveries_of(&trace, 0), deliveries_of(&trace, 1))
}

/// Three messages on a queue read with prefetch 1; the first fails once (a nack with requeue) and
/// then fails for good. Returns the deliveries in order.
pub(crate) fn nack_requeue() -> Vec<String> {
    let scenario = r#"
[[channels]]
name = "work"
kind = "queue"
[[producers]]
name = "bad"
channel = "work"
event_type = "Bad"
rate_per_sec = 1000
count = 1
[[producers]]
name = "good"
channel = "work"
event_type = "Good"
rate_per_sec = 1000
count = 2
start_ms = 1
[[consumers]]
name = "worker"
channel = "work"
processing_ms = 10
failures = { poison_event_types = ["Bad"] }
design = { prefetch = 1, retry = { strategy = "immediate", max_attempts = 2 } }
"#;
    delivery_labels(&run(scenario, &[], 5_000))
}

/// A message that always fails, on a queue with `max_deliveries`; the consumer would retry far
/// longer. Returns (deliveries, dead letter reason, attempts the dead letter carries).
pub(crate) fn delivery_limit(max_deliveries: u32) -> (usize, String, u64) {
    let scenario = work_queue(
        &format!("max_deliveries = {max_deliveries}"),
        "Bad",
        1,
        r#"
[[consumers]]
name = "worker"
channel = "work"
processing_ms = 10
failures = { poison_event_types = ["Bad"] }
design = { retry = { strategy = "immediate", max_attempts = 100 } }
"#,
    );
    let trace = run(&scenario, &[], 5_000);
    let dead = of_type(&trace, "dead_lettered");
    assert_eq!(dead.len(), 1, "one dead letter");
    (
        of_type(&trace, "delivered").len(),
        dead[0]["reason"].as_str().unwrap_or_default().to_owned(),
        dead[0]["attempts"].as_u64().unwrap_or_default(),
    )
}

/// `messages` on a queue with a TTL and no running consumer. Returns the dead letters' reasons.
pub(crate) fn ttl_expiry(ttl_ms: u64, messages: u32) -> Vec<String> {
    let scenario = work_queue(
        &format!("ttl_ms = {ttl_ms}"),
        "Job",
        messages,
        "[[consumers]]\nname = \"worker\"\nchannel = \"work\"",
    );
    let trace = run(
        &scenario,
        &[r#"{"kind":"crash","consumer":"worker"}"#],
        100 + ttl_ms * 10,
    );
    of_type(&trace, "dead_lettered")
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// One message whose processing outlasts the ack deadline. Returns the attempts delivered before
/// the processing would have ended.
pub(crate) fn ack_deadline(deadline_ms: u64) -> Vec<u64> {
    let processing_ms = deadline_ms * 3 / 2;
    let scenario = work_queue(
        &format!("ack_deadline_ms = {deadline_ms}"),
        "Job",
        1,
        &format!(
            "[[consumers]]\nname = \"worker\"\nchannel = \"work\"\nprocessing_ms = {processing_ms}"
        ),
    );
    let trace = run(&scenario, &[], 100 + processing_ms - 1);
    of_type(&trace, "delivered")
        .iter()
        .map(|e| e["attempt"].as_u64().unwrap_or_default())
        .collect()
}

/// A topic with a durable and a non-durable subscriber, both down while `messages` are
/// published. Returns (durable, non-durable) messages processed once both are back.
pub(crate) fn durable_subscriptions(messages: u32) -> (u64, u64) {
    let scenario = format!(
        r#"
[[channels]]
name = "orders"
kind = "topic"
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 100
count = {messages}
start_ms = 100
[[consumers]]
name = "billing"
channel = "orders"
[[consumers]]
name = "email"
channel = "orders"
durable = false
"#
    );
    let world = with_outage(&scenario, &["billing", "email"], 5_000, 10_000);
    let applied = |name: &str| {
        world
            .report()
            .into_iter()
            .find(|r| r.name == name)
            .map_or(0, |r| r.business.applied)
    };
    (applied("billing"), applied("email"))
}

/// `records` appended to a one-partition stream and read by a group that starts at `offset`.
/// With `consumer_first` the group reads from the start of the run, when the stream is still
/// empty; otherwise its only instance is down until the records are there, as the brokers'
/// consumers are created after the publishes. Returns the offsets delivered, in order.
pub(crate) fn start_at_offset(records: u32, offset: u64, consumer_first: bool) -> Vec<u64> {
    let scenario = format!(
        r#"
[[channels]]
name = "ledger"
kind = "stream"
[[producers]]
name = "publisher"
channel = "ledger"
event_type = "Entry"
rate_per_sec = 1000
count = {records}
start_ms = 100
[[consumers]]
name = "reader"
channel = "ledger"
start = {{ from = "offset", offset = {offset} }}
"#
    );
    let down: &[&str] = if consumer_first { &[] } else { &["reader"] };
    let mut world = with_outage(&scenario, down, 1_000, 5_000);
    let trace: Vec<Value> = world
        .drain_trace()
        .iter()
        .map(|event| serde_json::to_value(event).expect("a trace event serializes"))
        .collect();
    of_type(&trace, "delivered")
        .iter()
        .map(|e| e["offset"].as_u64().unwrap_or_default())
        .collect()
}

/// The same patterns and keys in the engine: a topic with one filtered subscriber per pattern and
/// one producer per key (publishing its key once). Returns, per pattern, the keys that reached it.
pub(crate) fn topic_routing(patterns: &[&str], keys: &[&str]) -> Vec<Vec<String>> {
    let mut scenario = String::from("[[channels]]\nname = \"routing\"\nkind = \"topic\"\n");
    for (i, key) in keys.iter().enumerate() {
        scenario.push_str(&format!(
            "[[producers]]\nname = \"p{i}\"\nchannel = \"routing\"\nevent_type = \"E\"\nrouting_key = \"{key}\"\nrate_per_sec = 10\ncount = 1\nstart_ms = {}\n",
            100 + 10 * i
        ));
    }
    for (i, pattern) in patterns.iter().enumerate() {
        scenario.push_str(&format!(
            "[[consumers]]\nname = \"c{i}\"\nchannel = \"routing\"\nprocessing_ms = 1\nfilter = \"{pattern}\"\n"
        ));
    }
    let trace = run(&scenario, &[], 5_000);
    let producer_of: std::collections::HashMap<String, usize> = of_type(&trace, "published")
        .iter()
        .filter_map(|e| {
            let from = e["from"]["producer"].as_u64()?;
            Some((e["message"].as_str()?.to_owned(), from as usize))
        })
        .collect();
    (0..patterns.len())
        .map(|consumer| {
            of_type(&trace, "effect_applied")
                .iter()
                .filter(|e| e["consumer"] == consumer as u64)
                .filter_map(|e| producer_of.get(e["message"].as_str()?))
                .map(|&p| keys[p].to_owned())
                .collect()
        })
        .collect()
}

/// A channel that accepts at most `limit` bytes, and one message of each size in `sizes` (bytes
/// of attachment, the rest of the message being small): which were accepted (true) or refused as
/// too large (false), in order.
pub(crate) fn size_limit(limit: u32, sizes: &[u32]) -> Vec<bool> {
    sizes
        .iter()
        .map(|&size| {
            let scenario = format!(
                "[[channels]]\nname = \"work\"\nkind = \"queue\"\nmax_message_bytes = {limit}\n\
                 [[producers]]\nname = \"p\"\nchannel = \"work\"\nevent_type = \"Blob\"\n\
                 rate_per_sec = 10\ncount = 1\nattachment_bytes = {size}\n"
            );
            let trace = run(&scenario, &[], 1_000);
            let refused = of_type(&trace, "publish_failed")
                .iter()
                .any(|e| e["reason"] == "too_large");
            assert_eq!(of_type(&trace, "enqueued").len(), usize::from(!refused));
            !refused
        })
        .collect()
}
