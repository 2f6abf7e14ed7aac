//! NATS JetStream configs: one stream per channel and one pull consumer per reading service,
//! in the JSON the JetStream API takes (durations in nanoseconds).
//!
//! - A queue is a stream with work-queue retention and one consumer its instances share.
//! - A topic is a stream with interest retention and a consumer per subscriber: durable for a
//!   durable subscription, otherwise removed after a short inactivity.
//! - A stream keeps `retention` records per partition (MaxMsgs for the whole stream) and has a
//!   consumer per group, starting where the group starts (offset N is stream sequence N + 1).
//! - MaxDeliver is the engine's max deliveries as it is (both count deliveries). JetStream has no
//!   dead-letter queue: the consumer's description names the advisory to listen to.
use serde_json::{Value, json};

use crate::engine::scenario::{ChannelKind, ChannelSpec, ConsumerSpec, StartFrom};
use crate::engine::{Millis, Scenario};

use super::consumer_note;

/// How long a non-durable subscriber's consumer outlives its last pull.
const NON_DURABLE_INACTIVE_MS: Millis = 5_000;

fn nanos(ms: Millis) -> u64 {
    ms.saturating_mul(1_000_000)
}

/// A stream name: JetStream allows no dots, spaces or wildcards in it.
fn stream_name(channel: &str) -> String {
    channel
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The stream and consumer configs for `scenario`, with what they cannot hold added to `notes`.
pub(super) fn configs(scenario: &Scenario, notes: &mut Vec<String>) -> Value {
    let mut streams = Vec::new();
    let mut consumers = Vec::new();
    for channel in &scenario.channels {
        let name = stream_name(&channel.name);
        streams.push(stream(channel, &name, notes));
        let readers: Vec<&ConsumerSpec> = scenario
            .consumers
            .iter()
            .filter(|c| c.channel == channel.name)
            .collect();
        let mut named = Vec::new();
        for reader in readers {
            let consumer_name = match channel.kind {
                // The instances of every service on a queue compete: one consumer for them all.
                ChannelKind::Queue => format!("{}-workers", channel.name),
                ChannelKind::Topic => reader.name.clone(),
                ChannelKind::Stream => reader.group.clone().unwrap_or_else(|| reader.name.clone()),
            };
            let consumer_name = stream_name(&consumer_name).to_lowercase();
            if named.contains(&consumer_name) {
                continue;
            }
            consumers.push(json!({
                "stream": name,
                "config": consumer(channel, reader, &name, &consumer_name),
            }));
            named.push(consumer_name);
        }
        if channel.dead_letter {
            notes.push(format!(
                "{}: JetStream has no dead-letter queue; a message that used up MaxDeliver stays in stream {name} and the server publishes $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{name}.<consumer>: copy it to a stream of its own from there.",
                channel.name
            ));
        }
        if channel.ttl_ms.is_some() {
            notes.push(format!(
                "{}: MaxAge deletes old messages; unlike the playground, JetStream does not dead-letter them.",
                channel.name
            ));
        }
    }
    for consumer in &scenario.consumers {
        notes.push(consumer_note(
            consumer,
            "ack each message as it arrives, before the work (a pull consumer cannot use AckPolicy none)",
            "nak",
        ));
    }
    notes.push(
        "Create each stream with nats stream add --config FILE and each consumer with nats consumer add STREAM --config FILE, one config per file, or through the JetStream API.".to_owned(),
    );
    json!({ "streams": streams, "consumers": consumers })
}

fn stream(channel: &ChannelSpec, name: &str, notes: &mut Vec<String>) -> Value {
    let (retention, max_msgs, subjects) = match channel.kind {
        ChannelKind::Queue => ("workqueue", -1i64, vec![channel.name.clone()]),
        ChannelKind::Topic => ("interest", -1, vec![channel.name.clone()]),
        ChannelKind::Stream => {
            let kept = i64::from(channel.retention) * i64::from(channel.partitions.max(1));
            if channel.partitions > 1 {
                notes.push(format!(
                    "{}: JetStream has no partitions; publish to {}.<partition> (the key's hash) and give each instance a consumer filtered on its partitions.",
                    channel.name, channel.name
                ));
                ("limits", kept, vec![format!("{}.*", channel.name)])
            } else {
                ("limits", kept, vec![channel.name.clone()])
            }
        }
    };
    json!({
        "name": name,
        "subjects": subjects,
        "retention": retention,
        "storage": if channel.durable { "file" } else { "memory" },
        "max_msgs": max_msgs,
        "max_bytes": -1,
        "max_age": channel.ttl_ms.map_or(0, nanos),
        "max_msg_size": channel.max_message_bytes.map_or(-1, i64::from),
        "max_consumers": -1,
        "discard": "old",
        "num_replicas": 1,
    })
}

fn consumer(channel: &ChannelSpec, reader: &ConsumerSpec, stream: &str, name: &str) -> Value {
    let design = &reader.design;
    let mut config = json!({
        "name": name,
        // A pull consumer must ack explicitly (JetStream refuses AckPolicy none for one); acking on
        // receipt is then the consumer's code acking before the work.
        "ack_policy": "explicit",
        "ack_wait": nanos(channel.ack_deadline_ms),
        "max_deliver": i64::from(channel.max_deliveries),
        "max_ack_pending": i64::from(design.prefetch.max(1)) * i64::from(design.instances.max(1)),
        "deliver_policy": "all",
        "replay_policy": "instant",
    });
    let durable = channel.kind != ChannelKind::Topic || reader.durable;
    if durable {
        config["durable_name"] = json!(name);
    } else {
        config["inactive_threshold"] = json!(nanos(NON_DURABLE_INACTIVE_MS));
    }
    if channel.kind == ChannelKind::Stream {
        match reader.start {
            StartFrom::Earliest => {}
            StartFrom::Latest => config["deliver_policy"] = json!("new"),
            StartFrom::Offset { offset } => {
                config["deliver_policy"] = json!("by_start_sequence");
                config["opt_start_seq"] = json!(offset + 1);
            }
        }
    }
    if channel.dead_letter {
        config["description"] = json!(format!(
            "dead letters: listen on $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{name}"
        ));
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_a_work_queue_stream_and_max_deliver_counts_as_the_engine_does() {
        let scenario: Scenario = toml::from_str(
            r#"
[[channels]]
name = "payments"
kind = "queue"
max_deliveries = 5
ack_deadline_ms = 2000
[[consumers]]
name = "billing"
channel = "payments"
design = { prefetch = 4, instances = 2 }
"#,
        )
        .expect("a scenario");
        let file = configs(&scenario, &mut Vec::new());
        assert_eq!(file["streams"][0]["name"], "PAYMENTS");
        assert_eq!(file["streams"][0]["retention"], "workqueue");
        let consumer = &file["consumers"][0];
        assert_eq!(consumer["stream"], "PAYMENTS");
        assert_eq!(consumer["config"]["durable_name"], "payments-workers");
        assert_eq!(consumer["config"]["max_deliver"], 5);
        assert_eq!(consumer["config"]["ack_wait"], 2_000_000_000u64);
        assert_eq!(consumer["config"]["max_ack_pending"], 8);
    }

    #[test]
    fn a_stream_group_starting_at_an_offset_starts_one_sequence_later() {
        let scenario: Scenario = toml::from_str(
            r#"
[[channels]]
name = "ledger.events"
kind = "stream"
retention = 100
[[consumers]]
name = "projector"
channel = "ledger.events"
start = { from = "offset", offset = 10 }
"#,
        )
        .expect("a scenario");
        let file = configs(&scenario, &mut Vec::new());
        assert_eq!(file["streams"][0]["name"], "LEDGER_EVENTS");
        assert_eq!(file["streams"][0]["max_msgs"], 100);
        let config = &file["consumers"][0]["config"];
        assert_eq!(config["deliver_policy"], "by_start_sequence");
        assert_eq!(config["opt_start_seq"], 11);
    }
}
