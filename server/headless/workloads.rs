//! The benchmark workloads, shared by `eda-playground bench` and `cargo bench`.
use crate::engine::Scenario;

/// A named scenario to measure, run until nothing is left to happen.
pub struct Workload {
    pub name: &'static str,
    pub scenario: Scenario,
}

fn parse(text: &str) -> Scenario {
    // These are fixed texts compiled into the binary and covered by a test, so a parse
    // failure is a bug in this file, not bad input.
    toml::from_str(text).unwrap_or_else(|e| panic!("built-in workload does not parse: {e}"))
}

/// A queue with four competing consumers.
pub fn queue_4_consumers(messages: u64) -> Workload {
    Workload {
        name: "queue_4_consumers",
        scenario: parse(&format!(
            r#"
            [[channels]]
            name = "orders"
            kind = "queue"
            [[producers]]
            name = "checkout"
            channel = "orders"
            event_type = "OrderPlaced"
            rate_per_sec = 4000
            count = {messages}
            keys = ["a", "b", "c", "d", "e", "f", "g", "h"]
            [[consumers]]
            name = "billing"
            channel = "orders"
            processing_ms = 1
            design = {{ instances = 4, prefetch = 10 }}
            "#
        )),
    }
}

/// A topic fanning out to eight subscribers.
pub fn topic_fanout_8(messages: u64) -> Workload {
    let mut text = format!(
        r#"
        [[channels]]
        name = "orders"
        kind = "topic"
        [[producers]]
        name = "checkout"
        channel = "orders"
        event_type = "OrderPlaced"
        rate_per_sec = 1000
        count = {messages}
        keys = ["a", "b", "c", "d"]
        "#
    );
    for n in 0..8 {
        text.push_str(&format!(
            "[[consumers]]\nname = \"subscriber-{n}\"\nchannel = \"orders\"\nprocessing_ms = 1\ndesign = {{ prefetch = 10 }}\n"
        ));
    }
    Workload {
        name: "topic_fanout_8",
        scenario: parse(&text),
    }
}

/// A stream of eight partitions read by a group of four.
pub fn stream_8_partitions_group_4(messages: u64) -> Workload {
    let keys: Vec<String> = (0..64).map(|k| format!("\"k{k}\"")).collect();
    Workload {
        name: "stream_8_partitions_group_4",
        scenario: parse(&format!(
            r#"
            [[channels]]
            name = "events"
            kind = "stream"
            partitions = 8
            retention = 1000000
            [[producers]]
            name = "clicks"
            channel = "events"
            event_type = "Clicked"
            rate_per_sec = 4000
            count = {messages}
            keys = [{keys}]
            [[consumers]]
            name = "analytics"
            channel = "events"
            processing_ms = 1
            design = {{ instances = 4, prefetch = 10 }}
            "#,
            keys = keys.join(", ")
        )),
    }
}

/// A workshop-sized run: one minute of virtual time, about a thousand orders, billing
/// with at-least-once delivery, some failures and a dead-letter queue.
pub fn exercise_minute() -> Workload {
    Workload {
        name: "exercise_60s_1000_messages",
        scenario: parse(
            r#"
            [[channels]]
            name = "orders"
            kind = "queue"
            ack_deadline_ms = 1000
            [[producers]]
            name = "checkout"
            channel = "orders"
            event_type = "OrderPlaced"
            rate_per_sec = 17
            count = 1000
            payload = { amount = 25 }
            [[consumers]]
            name = "billing"
            channel = "orders"
            processing_ms = 40
            effect = { kind = "once", label = "charged" }
            failures = { transient_error_probability = 0.05, crash_after_effect_probability = 0.01, restart_after_ms = 500 }
            design = { instances = 2, prefetch = 5, retry = { strategy = "exponential", base_ms = 100, max_ms = 2000, jitter = true, max_attempts = 5 } }
            [links.billing]
            latency_ms = 5
            jitter_ms = 20
            "#,
        ),
    }
}

/// The throughput workloads, each sized to `messages` published.
pub fn throughput(messages: u64) -> Vec<Workload> {
    vec![
        queue_4_consumers(messages),
        topic_fanout_8(messages / 8),
        stream_8_partitions_group_4(messages),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::World;

    #[test]
    fn every_workload_builds_and_delivers() {
        for workload in throughput(80).into_iter().chain([exercise_minute()]) {
            let mut world = World::new(&workload.scenario, 1).expect(workload.name);
            world.advance_to(10 * 60_000);
            assert!(
                world.deliveries() >= 80,
                "{} delivered {}",
                workload.name,
                world.deliveries()
            );
        }
    }
}
