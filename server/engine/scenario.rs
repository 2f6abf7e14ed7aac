//! The scenario: channels, services, links and a schedule of faults, as plain data.
//!
//! These serde types are what a scenario file (and later an exercise file) contains. They
//! reject unknown fields so that a typo is reported instead of silently ignored; the
//! meaning of each value is checked by [`super::validate`].
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::command::Command;
use super::design::Design;
use super::ids::Millis;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Topics, queues and streams.
    #[serde(default)]
    pub channels: Vec<ChannelSpec>,
    /// Services that publish events.
    #[serde(default)]
    pub producers: Vec<ProducerSpec>,
    /// Services that consume events.
    #[serde(default)]
    pub consumers: Vec<ConsumerSpec>,
    /// Network conditions between a service and the broker, by service name. A service
    /// without an entry has a perfect link.
    #[serde(default)]
    pub links: BTreeMap<String, LinkConditions>,
    /// Faults that happen on their own at a given virtual time.
    #[serde(default)]
    pub faults: Vec<ScheduledFault>,
    /// Alert rules on the consumers' metrics, checked as the run goes.
    #[serde(default)]
    pub alerts: Vec<super::alerts::AlertSpec>,
    /// Payload schemas by event type and version, which a channel's schema registry judges.
    #[serde(default)]
    pub schemas: Vec<super::registry::EventSchema>,
    /// The consumers' contracts, which a producer's pipeline checks each release against.
    #[serde(default)]
    pub contracts: Vec<super::releases::ContractSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Publish/subscribe: every subscribing service gets its own copy.
    Topic,
    /// Point-to-point: the consumers attached to it compete for each message.
    Queue,
    /// A partitioned, append-only log read by consumer groups at their own pace.
    Stream,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    pub name: String,
    pub kind: ChannelKind,
    /// Whether its messages survive a broker restart.
    #[serde(default = "yes")]
    pub durable: bool,
    /// Queues and topic subscriptions: how long a delivery may stay unacknowledged before
    /// the broker delivers it again (the visibility timeout).
    #[serde(default = "default_ack_deadline")]
    pub ack_deadline_ms: Millis,
    /// Queues and topic subscriptions: deliveries after which the broker gives up and
    /// dead-letters the message, whatever the consumer's retry policy says.
    #[serde(default = "default_max_deliveries")]
    pub max_deliveries: u32,
    /// Whether failed messages go to a dead-letter queue (otherwise they are discarded).
    #[serde(default = "yes")]
    pub dead_letter: bool,
    /// Messages older than this are discarded instead of delivered.
    #[serde(default)]
    pub ttl_ms: Option<Millis>,
    /// Streams: number of partitions.
    #[serde(default = "one")]
    pub partitions: u32,
    /// Streams: records kept per partition; older ones are removed.
    #[serde(default = "default_retention")]
    pub retention: u32,
    /// A schema registry that judges each new version published here before accepting it.
    #[serde(default)]
    pub registry: Option<super::registry::RegistrySpec>,
    /// The largest message the broker accepts here, in bytes (see a message's size); a bigger
    /// publish is refused as `too_large`. No limit when left out.
    #[serde(default)]
    pub max_message_bytes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case", tag = "mode", deny_unknown_fields)]
pub enum Delivery {
    /// Publish straight to the broker; a publish the broker never sees is gone.
    #[default]
    Direct,
    /// Commit to the service's own database, then publish: a crash in between, or a broker
    /// that is down, loses the event although the database has the order.
    DualWrite {
        /// Chance of crashing between the commit and the publish.
        #[serde(default)]
        crash_probability: f64,
    },
    /// Write the event to an outbox table in the same transaction; a relay publishes it and
    /// marks it sent once the broker confirms, retrying until it does (at least once).
    Outbox {
        #[serde(default = "default_relay_interval")]
        relay_interval_ms: Millis,
        /// Chance that the relay crashes after publishing but before marking the entry
        /// sent, so the event goes out again.
        #[serde(default)]
        crash_probability: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The queue on which replies come back.
    pub reply_channel: String,
    /// How long the requester waits for a reply before giving up.
    pub timeout_ms: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    pub name: String,
    pub channel: String,
    pub event_type: String,
    #[serde(default = "one")]
    pub schema_version: u32,
    /// Messages per second of virtual time.
    pub rate_per_sec: f64,
    /// Messages in all; without it the producer keeps going.
    #[serde(default)]
    pub count: Option<u64>,
    /// When the first message is produced.
    #[serde(default)]
    pub start_ms: Millis,
    /// Keys to cycle through. With none, every message gets a key of its own
    /// (`<key_prefix>-<n>`), like one order per message.
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// The JSON payload of every message. A number field `amount` is what `charge` and
    /// `balance` effects use.
    #[serde(default = "empty_object")]
    #[schemars(with = "serde_json::Value")]
    pub payload: serde_json::Value,
    /// Streams: the partition to write to, instead of hashing the key.
    #[serde(default)]
    pub partition: Option<u32>,
    /// Topics: the routing key subscription filters match (dot-separated words such as
    /// `orders.eu.placed`); the event type when left out.
    #[serde(default)]
    pub routing_key: Option<String>,
    #[serde(default)]
    pub delivery: Delivery,
    /// Send each message as a request and wait for a reply.
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// Changes it ships during the run, in order of time.
    #[serde(default)]
    pub releases: Vec<super::releases::ProducerRelease>,
    /// Binary content each event carries besides its JSON fields (photos, a scanned document),
    /// in bytes. It counts in the message's size, so the broker stores it and bills it.
    #[serde(default)]
    pub attachment_bytes: u32,
    /// Put the attachment in a blob store and send a reference to it instead (the claim-check
    /// pattern): the message weighs the reference, and a consumer that reads attachments
    /// fetches it (`fetch_attachment_ms`).
    #[serde(default)]
    pub claim_check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case", tag = "from", deny_unknown_fields)]
pub enum StartFrom {
    /// The oldest record still kept.
    #[default]
    Earliest,
    /// Only records appended from now on.
    Latest,
    /// A given offset in every partition.
    Offset { offset: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum EffectKind {
    /// Only count what was processed.
    #[default]
    Count,
    /// A side effect that must happen once per business key and sequence number, such as
    /// charging an order or sending its e-mail; a second one is a duplicate effect.
    Once,
    /// Add the payload's `amount` to a running balance.
    Balance,
    /// Keep the latest value per key (a read model); applying an older event over a newer
    /// one is a stale overwrite.
    Latest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EffectSpec {
    #[serde(default)]
    pub kind: EffectKind,
    /// A past-tense verb for the business log, such as "charged" or "reserved stock for".
    #[serde(default = "default_effect_label")]
    pub label: String,
}

impl Default for EffectSpec {
    fn default() -> Self {
        Self {
            kind: EffectKind::default(),
            label: default_effect_label(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FailureSpec {
    /// Chance that one attempt fails with a transient error (and may be retried).
    pub transient_error_probability: f64,
    /// Chance that the instance crashes while processing, before the side effect.
    pub crash_before_ack_probability: f64,
    /// Chance that the instance crashes after the side effect but before the ack.
    pub crash_after_effect_probability: f64,
    /// Chance that the business declines the work (a payment refused, say); emits the
    /// `declined` events instead of applying the effect.
    pub decline_probability: f64,
    /// Event types this consumer cannot handle at all (a poison message).
    pub poison_event_types: Vec<String>,
    /// How long a crashed instance stays down before it restarts; none means it stays down
    /// until someone restarts it.
    pub restart_after_ms: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum EmitOn {
    /// After a successful processing.
    #[default]
    Success,
    /// When the business declines the work.
    Declined,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmitSpec {
    #[serde(default)]
    pub on: EmitOn,
    pub event_type: String,
    pub channel: String,
    #[serde(default = "one")]
    pub schema_version: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    pub name: String,
    /// The channel it reads: a queue it competes on, a topic it subscribes to, or a stream
    /// it reads as a consumer group.
    pub channel: String,
    /// Topics: whether its subscription keeps messages while no instance is up.
    #[serde(default = "yes")]
    pub durable: bool,
    /// Streams: the consumer group's name (the consumer's name by default).
    #[serde(default)]
    pub group: Option<String>,
    /// Streams: where a group without a committed offset starts.
    #[serde(default)]
    pub start: StartFrom,
    /// Virtual time one message takes to process.
    #[serde(default = "default_processing")]
    pub processing_ms: Millis,
    /// For a consumer that reads attachments: the time it takes to fetch one from the blob
    /// store, added to the processing of each message that carries a claim check instead of
    /// its attachment. 0 for a consumer that never looks at attachments.
    #[serde(default)]
    pub fetch_attachment_ms: Millis,
    #[serde(default)]
    pub effect: EffectSpec,
    #[serde(default)]
    pub failures: FailureSpec,
    /// Schema versions this consumer was written for.
    #[serde(default = "default_versions")]
    pub schema_versions: Vec<u32>,
    /// The knobs, with their starting values.
    #[serde(default)]
    pub design: Design,
    /// Events it publishes in turn (follow-ups and compensations, as in a saga).
    #[serde(default)]
    pub emits: Vec<EmitSpec>,
    /// Answer requests on their reply channel.
    #[serde(default)]
    pub replies: bool,
    /// Streams: save a checkpoint of the read model every this many records.
    #[serde(default)]
    pub checkpoint_every: Option<u64>,
    /// A downstream dependency that accepts at most this many calls per second; above it
    /// every call fails, as an overloaded service would.
    #[serde(default)]
    pub dependency_capacity_per_sec: Option<u32>,
    /// Topics: the subscription's filter on the routing key, with AMQP topic semantics (`*` is
    /// one word, `#` zero or more: `orders.*.placed`, `orders.#`). Every message when left out.
    #[serde(default)]
    pub filter: Option<String>,
    /// Topics: a filter policy on message attributes, in the style of SNS: each named
    /// attribute must match (`event_type`, `key`, `schema_version`, or a field of the payload). Every message
    /// when left out; with `filter` too, both must match.
    #[serde(default)]
    pub filter_attributes: BTreeMap<String, AttributeMatch>,
    /// Payload fields its code uses: a message without one of them fails, and retrying cannot help.
    #[serde(default)]
    pub reads_fields: Vec<String>,
    /// Changes it ships during the run, in order of time.
    #[serde(default)]
    pub releases: Vec<super::releases::ConsumerRelease>,
}

/// One condition of an attribute filter policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AttributeMatch {
    /// The attribute equals this value.
    Equals(serde_json::Value),
    /// The attribute is one of these values.
    AnyOf(Vec<serde_json::Value>),
    /// The attribute is a string that starts with this.
    Prefix(String),
    /// The attribute is there (`true`) or missing (`false`).
    Exists(bool),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConditions {
    /// One-way latency.
    pub latency_ms: Millis,
    /// Extra delay drawn uniformly from zero to this: what makes events overtake each other.
    pub jitter_ms: Millis,
    /// Chance that a message on the link is lost.
    pub loss: f64,
    /// Chance that a message on the link arrives twice.
    pub duplicate: f64,
    /// Whether the link is cut: nothing gets through.
    pub cut: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    pub at_ms: Millis,
    pub fault: Command,
}

pub(crate) fn yes() -> bool {
    true
}
pub(crate) fn one() -> u32 {
    1
}
fn default_ack_deadline() -> Millis {
    3_000
}
fn default_max_deliveries() -> u32 {
    10
}
fn default_retention() -> u32 {
    10_000
}
fn default_relay_interval() -> Millis {
    200
}
fn default_key_prefix() -> String {
    "order".to_owned()
}
pub(crate) fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}
fn default_effect_label() -> String {
    "processed".to_owned()
}
fn default_processing() -> Millis {
    50
}
fn default_versions() -> Vec<u32> {
    vec![1]
}
