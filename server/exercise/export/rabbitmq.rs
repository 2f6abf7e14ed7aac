//! RabbitMQ definitions, as `POST /api/definitions` and `rabbitmqctl import_definitions` take
//! them: everything in a vhost named after the exercise.
//!
//! - A queue channel is a queue. A durable one is a quorum queue, so that it can carry the
//!   delivery limit (`x-delivery-limit` counts returns: engine max deliveries N is N - 1); a
//!   transient one is a classic queue, which has no limit.
//! - A topic is a fanout exchange with one queue per subscriber (`topic.subscriber`), or a topic
//!   exchange binding each queue by its subscriber's filter when one has a filter; a
//!   non-durable subscription is an auto-delete classic queue.
//! - A stream is a stream queue; with several partitions, a super stream (a direct exchange
//!   and one stream per partition, bound by partition number).
//! - A channel with a dead-letter queue dead-letters to a direct exchange `channel.dlx`, with
//!   the source queue's name as routing key, into `queue.dlq`.
use serde_json::{Map, Value, json};

use crate::engine::Scenario;
use crate::engine::scenario::{ChannelKind, ChannelSpec};

use super::consumer_note;

/// The definitions for `scenario`, with what they cannot hold added to `notes`.
pub(super) fn definitions(exercise: &str, scenario: &Scenario, notes: &mut Vec<String>) -> Value {
    let vhost = format!("eda-{exercise}");
    let mut out = Definitions::new(&vhost);
    for channel in &scenario.channels {
        match channel.kind {
            ChannelKind::Queue => {
                out.work_queue(channel, &channel.name, channel.durable, false, notes)
            }
            ChannelKind::Topic => {
                let subscribers: Vec<_> = scenario
                    .consumers
                    .iter()
                    .filter(|c| c.channel == channel.name)
                    .collect();
                // With a filter, a topic exchange binds each queue by its pattern (the same AMQP
                // semantics); without one, a fanout gives every queue everything.
                let filtered = subscribers.iter().any(|c| c.filter.is_some());
                let kind = if filtered { "topic" } else { "fanout" };
                out.exchange(&channel.name, kind, Map::new());
                for consumer in subscribers {
                    let queue = format!("{}.{}", channel.name, consumer.name);
                    let durable = channel.durable && consumer.durable;
                    out.work_queue(channel, &queue, durable, !consumer.durable, notes);
                    let key = match (filtered, consumer.filter.as_deref()) {
                        (false, _) => "",
                        (true, Some(filter)) => filter,
                        (true, None) => "#",
                    };
                    out.bind(&channel.name, &queue, key, Map::new());
                }
                for consumer in scenario
                    .consumers
                    .iter()
                    .filter(|c| c.channel == channel.name && !c.filter_attributes.is_empty())
                {
                    notes.push(format!(
                        "{}: its attribute filter has no topic-exchange form; a headers exchange (x-match all) can match header values exactly, or the consumer drops what it does not want.",
                        consumer.name
                    ));
                }
                if filtered {
                    notes.push(format!(
                        "{}: publish each message with its routing key ({}).",
                        channel.name,
                        scenario
                            .producers
                            .iter()
                            .filter(|p| p.channel == channel.name)
                            .map(|p| format!(
                                "{}: {}",
                                p.name,
                                p.routing_key.as_deref().unwrap_or(&p.event_type)
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            ChannelKind::Stream => out.stream(channel, scenario, notes),
        }
        notes.push(format!(
            "{}: the ack deadline of {} ms has no queue argument in RabbitMQ 3.10; consumer_timeout in rabbitmq.conf (the whole node) closes the consumer's channel instead.",
            channel.name, channel.ack_deadline_ms
        ));
    }
    for consumer in &scenario.consumers {
        notes.push(consumer_note(
            consumer,
            "automatic acks (no_ack)",
            "nack with requeue",
        ));
    }
    notes.push(format!(
        "Import with rabbitmqctl import_definitions FILE (or POST /api/definitions), then let your user into the vhost: rabbitmqctl set_permissions -p {vhost} USER \".*\" \".*\" \".*\". An import leaves existing queues as they are: delete the vhost before importing a changed design."
    ));
    out.into_json()
}

struct Definitions {
    vhost: String,
    queues: Vec<Value>,
    exchanges: Vec<Value>,
    bindings: Vec<Value>,
}

impl Definitions {
    fn new(vhost: &str) -> Self {
        Self {
            vhost: vhost.to_owned(),
            queues: Vec::new(),
            exchanges: Vec::new(),
            bindings: Vec::new(),
        }
    }

    fn queue(
        &mut self,
        name: &str,
        durable: bool,
        auto_delete: bool,
        arguments: Map<String, Value>,
    ) {
        self.queues.push(json!({
            "name": name,
            "vhost": self.vhost,
            "durable": durable,
            "auto_delete": auto_delete,
            "arguments": arguments,
        }));
    }

    fn exchange(&mut self, name: &str, kind: &str, arguments: Map<String, Value>) {
        self.exchanges.push(json!({
            "name": name,
            "vhost": self.vhost,
            "type": kind,
            "durable": true,
            "auto_delete": false,
            "internal": false,
            "arguments": arguments,
        }));
    }

    fn bind(&mut self, exchange: &str, queue: &str, key: &str, arguments: Map<String, Value>) {
        self.bindings.push(json!({
            "source": exchange,
            "vhost": self.vhost,
            "destination": queue,
            "destination_type": "queue",
            "routing_key": key,
            "arguments": arguments,
        }));
    }

    /// A queue that consumers compete on (a queue channel, or one subscription of a topic),
    /// with its dead-letter queue.
    fn work_queue(
        &mut self,
        channel: &ChannelSpec,
        name: &str,
        durable: bool,
        auto_delete: bool,
        notes: &mut Vec<String>,
    ) {
        let mut arguments = Map::new();
        if durable {
            arguments.insert("x-queue-type".into(), json!("quorum"));
            arguments.insert(
                "x-delivery-limit".into(),
                json!(channel.max_deliveries.saturating_sub(1)),
            );
        } else {
            arguments.insert("x-queue-type".into(), json!("classic"));
            notes.push(format!(
                "{name}: not durable, so a classic queue, which has no delivery limit; stop after {} deliveries in the consumer (count the x-death header, or your own attempts).",
                channel.max_deliveries
            ));
        }
        if let Some(ttl) = channel.ttl_ms {
            arguments.insert("x-message-ttl".into(), json!(ttl));
        }
        if channel.dead_letter {
            let exchange = format!("{}.dlx", channel.name);
            if !self.exchanges.iter().any(|e| e["name"] == exchange) {
                self.exchange(&exchange, "direct", Map::new());
            }
            arguments.insert("x-dead-letter-exchange".into(), json!(exchange));
            arguments.insert("x-dead-letter-routing-key".into(), json!(name));
            let dead = format!("{name}.dlq");
            self.queue(&dead, true, false, Map::new());
            self.bind(&exchange, &dead, name, Map::new());
        }
        self.queue(name, durable, auto_delete, arguments);
    }

    /// A stream, or a super stream with one stream per partition.
    fn stream(&mut self, channel: &ChannelSpec, scenario: &Scenario, notes: &mut Vec<String>) {
        let mut arguments = Map::new();
        arguments.insert("x-queue-type".into(), json!("stream"));
        if let Some(ttl) = channel.ttl_ms {
            arguments.insert(
                "x-max-age".into(),
                json!(format!("{}s", ttl.div_ceil(1_000))),
            );
        }
        notes.push(format!(
            "{}: keeps {} records per partition in the playground; RabbitMQ streams keep by size and age (x-max-length-bytes, x-max-age), a segment at a time.",
            channel.name, channel.retention
        ));
        if channel.partitions <= 1 {
            self.queue(&channel.name, true, false, arguments);
        } else {
            let mut super_stream = Map::new();
            super_stream.insert("x-super-stream".into(), json!(true));
            self.exchange(&channel.name, "direct", super_stream);
            for partition in 0..channel.partitions {
                let queue = format!("{}-{partition}", channel.name);
                self.queue(&queue, true, false, arguments.clone());
                let mut order = Map::new();
                order.insert("x-stream-partition-order".into(), json!(partition));
                self.bind(&channel.name, &queue, &partition.to_string(), order);
            }
            notes.push(format!(
                "{}: a super stream of {} partitions; producers route by key (hash) to a partition, as the playground does.",
                channel.name, channel.partitions
            ));
        }
        if channel.dead_letter {
            for consumer in scenario
                .consumers
                .iter()
                .filter(|c| c.channel == channel.name)
            {
                let group = consumer.group.as_deref().unwrap_or(&consumer.name);
                let dead = format!("{}.{group}.dlq", channel.name);
                if !self.queues.iter().any(|q| q["name"] == dead) {
                    self.queue(&dead, true, false, Map::new());
                    notes.push(format!(
                        "{dead}: a stream does not dead-letter; the {group} consumer publishes records it gives up on here itself."
                    ));
                }
            }
        }
    }

    fn into_json(self) -> Value {
        json!({
            "vhosts": [{ "name": self.vhost }],
            "queues": self.queues,
            "exchanges": self.exchanges,
            "bindings": self.bindings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        toml::from_str(text).expect("a scenario")
    }

    #[test]
    fn a_durable_queue_is_a_quorum_queue_with_the_limit_counted_as_rabbitmq_counts() {
        let scenario = scenario(
            r#"
[[channels]]
name = "payments"
kind = "queue"
max_deliveries = 5
ttl_ms = 30000
"#,
        );
        let mut notes = Vec::new();
        let file = definitions("demo", &scenario, &mut notes);
        let queue = file["queues"]
            .as_array()
            .and_then(|q| q.iter().find(|q| q["name"] == "payments"))
            .expect("the queue");
        assert_eq!(queue["vhost"], "eda-demo");
        assert_eq!(queue["arguments"]["x-queue-type"], "quorum");
        assert_eq!(queue["arguments"]["x-delivery-limit"], 4);
        assert_eq!(queue["arguments"]["x-message-ttl"], 30000);
        assert_eq!(queue["arguments"]["x-dead-letter-exchange"], "payments.dlx");
        assert_eq!(file["bindings"][0]["destination"], "payments.dlq");
    }

    #[test]
    fn a_topic_is_a_fanout_with_a_queue_per_subscriber() {
        let scenario = scenario(
            r#"
[[channels]]
name = "orders"
kind = "topic"
dead_letter = false
[[consumers]]
name = "billing"
channel = "orders"
[[consumers]]
name = "email"
channel = "orders"
durable = false
"#,
        );
        let file = definitions("demo", &scenario, &mut Vec::new());
        assert_eq!(file["exchanges"][0]["type"], "fanout");
        let queues: Vec<_> = file["queues"].as_array().expect("queues").clone();
        assert_eq!(queues[0]["name"], "orders.billing");
        assert_eq!(queues[0]["durable"], true);
        assert_eq!(queues[1]["name"], "orders.email");
        assert_eq!(queues[1]["auto_delete"], true);
        assert_eq!(file["bindings"].as_array().map(Vec::len), Some(2));
    }
}
