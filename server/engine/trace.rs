//! The trace: every state change of a run, as a typed event with its virtual time.
//!
//! A browser animates these events and a test asserts on them, so the JSON form is part of
//! the protocol: each event is an object with `at` (virtual milliseconds), `type` (the
//! snake_case variant name) and the variant's fields. Services, channels and queues appear
//! as indexes into the topology; message and correlation ids as 16 hex digits.
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::command::Command;
use super::ids::{ChannelId, ConsumerId, CorrelationId, MessageId, Millis, ProducerId, QueueId};
use super::message::Publisher;
use super::scenario::LinkConditions;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TraceEvent {
    pub at: Millis,
    #[serde(flatten)]
    pub kind: TraceKind,
}

/// Why a message went nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    LinkCut,
    LinkLoss,
    BrokerDown,
    ProducerCrashed,
    NoSubscriber,
    QueueFull,
    Expired,
    InstanceCrashed,
    /// Processing failed after an at-most-once ack: nobody will try again.
    FailedAfterAck,
    /// A retry policy gave up on a message that was already acknowledged.
    RetriesExhausted,
    /// The stream removed the record before the group read it.
    RetentionExceeded,
    /// The world has created as many messages as its cap allows.
    MessageCap,
    /// The message is bigger than the channel's `max_message_bytes`.
    TooLarge,
}

/// Why processing one message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    Transient,
    /// The payload cannot be parsed.
    Malformed,
    /// An event type this consumer cannot handle.
    PoisonType,
    /// A schema version this consumer was not written for.
    UnknownSchemaVersion,
    /// The payload lacks a field the consumer's code uses.
    MissingField,
    DependencyDown,
    DependencyOverloaded,
}

impl FailureReason {
    /// Whether trying again can ever help.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            FailureReason::Malformed
                | FailureReason::PoisonType
                | FailureReason::UnknownSchemaVersion
                | FailureReason::MissingField
        )
    }
}

/// Why the broker dead-lettered a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterReason {
    /// The consumer rejected it after its retry policy ran out.
    Rejected,
    /// The broker's delivery limit was reached.
    MaxDeliveries,
    /// Its time to live ran out.
    Expired,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TraceKind {
    Published {
        message: MessageId,
        from: Publisher,
        channel: ChannelId,
        event_type: Arc<str>,
        key: Arc<str>,
        seq: u64,
        schema_version: u32,
        /// What the broker stores for it: payload, key, type and envelope.
        size_bytes: u32,
        correlation_id: CorrelationId,
        #[serde(skip_serializing_if = "Option::is_none")]
        causation_id: Option<MessageId>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        malformed: bool,
    },
    /// A topic did not give the message to a subscriber: its routing key does not match the
    /// subscription's filter, or it fails the subscription's attribute filter. `filter` is the
    /// pattern or the condition; `reason` says why in words.
    NotRouted {
        message: MessageId,
        consumer: ConsumerId,
        routing_key: Arc<str>,
        filter: Arc<str>,
        reason: Arc<str>,
    },
    /// A channel's schema registry accepted a version it had not seen, as its mode allows.
    SchemaRegistered {
        channel: ChannelId,
        event_type: Arc<str>,
        schema_version: u32,
    },
    /// A channel's schema registry refused a publish: its version breaks the compatibility mode.
    /// `reason` says which rule and which field.
    SchemaRefused {
        message: MessageId,
        from: Publisher,
        channel: ChannelId,
        event_type: Arc<str>,
        key: Arc<str>,
        schema_version: u32,
        reason: Arc<str>,
    },
    /// A release went out: a producer's pipeline found every contract kept (`checked`), or it has
    /// none to check, or a consumer shipped its change. `summary` says what changed.
    ReleaseDeployed {
        release: Arc<str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        producer: Option<ProducerId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        consumer: Option<ConsumerId>,
        summary: Arc<str>,
        checked: bool,
    },
    /// A producer's pipeline went red: the release breaks a consumer's contract and stays out of
    /// production. Each problem names the contract and the clause.
    ReleaseBlocked {
        release: Arc<str>,
        producer: ProducerId,
        problems: Vec<Arc<str>>,
    },
    /// A producer saved the business fact in its own database (dual write or outbox).
    DbCommitted {
        message: MessageId,
        producer: ProducerId,
    },
    /// The broker refused or never received a publish.
    PublishFailed {
        message: MessageId,
        producer: ProducerId,
        reason: DropReason,
    },
    /// The outbox relay saw the broker confirm an entry and marked it sent.
    OutboxConfirmed {
        message: MessageId,
        producer: ProducerId,
    },
    Dropped {
        message: MessageId,
        reason: DropReason,
        #[serde(skip_serializing_if = "Option::is_none")]
        producer: Option<ProducerId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        consumer: Option<ConsumerId>,
    },
    /// The network delivered a message twice.
    Duplicated {
        message: MessageId,
        #[serde(skip_serializing_if = "Option::is_none")]
        producer: Option<ProducerId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        consumer: Option<ConsumerId>,
    },
    Enqueued {
        message: MessageId,
        queue: QueueId,
    },
    Appended {
        message: MessageId,
        channel: ChannelId,
        partition: u32,
        offset: u64,
    },
    /// The broker sent a message to a consumer instance.
    Delivered {
        message: MessageId,
        consumer: ConsumerId,
        instance: u32,
        attempt: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        queue: Option<QueueId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        partition: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
    },
    /// The delivery reached the instance.
    Received {
        message: MessageId,
        consumer: ConsumerId,
        instance: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        partition: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
    },
    ProcessingFailed {
        message: MessageId,
        consumer: ConsumerId,
        instance: u32,
        attempt: u32,
        reason: FailureReason,
    },
    /// The consumer's side effect happened (once per effect, duplicates included).
    EffectApplied {
        message: MessageId,
        consumer: ConsumerId,
        instance: u32,
    },
    /// A side effect that must happen once happened again: a double charge, a second e-mail.
    DuplicateEffect {
        message: MessageId,
        consumer: ConsumerId,
        times: u32,
    },
    /// Idempotency recognised a message already handled and skipped its effect.
    DuplicateSkipped {
        message: MessageId,
        consumer: ConsumerId,
    },
    /// An event arrived after a newer event of the same key had been applied.
    OutOfOrder {
        message: MessageId,
        consumer: ConsumerId,
        seq: u64,
        last_seq: u64,
    },
    /// The read model took an older value over a newer one.
    StaleOverwrite {
        message: MessageId,
        consumer: ConsumerId,
        seq: u64,
        last_seq: u64,
    },
    /// The ordering check dropped an event older than what was applied.
    StaleDropped {
        message: MessageId,
        consumer: ConsumerId,
    },
    /// The resequencer holds an early event until the one before it arrives.
    HeldBack {
        message: MessageId,
        consumer: ConsumerId,
        waiting_for: u64,
    },
    /// The resequencer stopped waiting and moved past missing sequence numbers.
    GapSkipped {
        consumer: ConsumerId,
        key: Arc<str>,
        from_seq: u64,
        to_seq: u64,
    },
    /// The business declined the work (a refused payment).
    Declined {
        message: MessageId,
        consumer: ConsumerId,
    },
    Acked {
        message: MessageId,
        consumer: ConsumerId,
        instance: u32,
    },
    Nacked {
        message: MessageId,
        consumer: ConsumerId,
        instance: u32,
        requeue: bool,
    },
    /// An ack arrived for a delivery the broker had already taken back.
    StaleAck {
        message: MessageId,
        consumer: ConsumerId,
    },
    /// Nobody acknowledged the delivery in time; it goes back to the queue.
    AckTimeout {
        message: MessageId,
        queue: QueueId,
        consumer: ConsumerId,
        instance: u32,
        attempt: u32,
    },
    RetryScheduled {
        message: MessageId,
        consumer: ConsumerId,
        next_attempt: u32,
        delay_ms: Millis,
        due_at: Millis,
    },
    DeadLettered {
        message: MessageId,
        queue: QueueId,
        reason: DeadLetterReason,
        attempts: u32,
    },
    Redriven {
        message: MessageId,
        queue: QueueId,
    },
    OffsetCommitted {
        consumer: ConsumerId,
        partition: u32,
        offset: u64,
    },
    /// A group's position moved by hand (seek, replay, rebuild) or back to the committed
    /// offset after a rebalance.
    OffsetReset {
        consumer: ConsumerId,
        partition: u32,
        offset: u64,
    },
    /// The group's partitions were shared out again; `assignment[i]` lists the partitions
    /// of instance `i`.
    Rebalanced {
        consumer: ConsumerId,
        generation: u32,
        assignment: Vec<Vec<u32>>,
    },
    RecordsMissed {
        consumer: ConsumerId,
        partition: u32,
        from_offset: u64,
        to_offset: u64,
    },
    InstanceCrashed {
        consumer: ConsumerId,
        instance: u32,
        lost: u32,
    },
    InstanceRestarted {
        consumer: ConsumerId,
        instance: u32,
    },
    InstanceAdded {
        consumer: ConsumerId,
        instance: u32,
    },
    InstanceRemoved {
        consumer: ConsumerId,
        instance: u32,
    },
    Paused {
        consumer: ConsumerId,
    },
    Resumed {
        consumer: ConsumerId,
    },
    BrokerDown {
        lost: u64,
        returned: u64,
    },
    BrokerUp,
    LinkChanged {
        #[serde(skip_serializing_if = "Option::is_none")]
        producer: Option<ProducerId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        consumer: Option<ConsumerId>,
        conditions: Box<LinkConditions>,
    },
    /// A fault or a change was applied: a marker for the timeline.
    Fault {
        label: &'static str,
        command: Box<Command>,
    },
    ReplyReceived {
        request: MessageId,
        producer: ProducerId,
        latency_ms: Millis,
    },
    RequestTimedOut {
        request: MessageId,
        producer: ProducerId,
    },
    /// A reply that came after its requester had given up.
    LateReply {
        request: MessageId,
        producer: ProducerId,
    },
    CheckpointSaved {
        consumer: ConsumerId,
        offsets: Vec<u64>,
    },
    RebuildStarted {
        consumer: ConsumerId,
        from_checkpoint: bool,
    },
    /// An alert rule's metric stayed above its threshold for its duration; `messages` are the oldest
    /// waiting for the consumer then.
    AlertFired {
        alert: Arc<str>,
        consumer: ConsumerId,
        metric: super::alerts::AlertMetric,
        value: f64,
        messages: Vec<MessageId>,
    },
    /// A firing alert's metric is back at or below its threshold.
    AlertResolved {
        alert: Arc<str>,
        consumer: ConsumerId,
        metric: super::alerts::AlertMetric,
        value: f64,
    },
    /// The trace buffer was full and the driver had not drained it; events were not kept.
    TraceOverflow {
        missed: u64,
    },
}

impl TraceKind {
    /// The message this event is about, if it is about one.
    pub fn message(&self) -> Option<MessageId> {
        use TraceKind::*;
        match self {
            Published { message, .. }
            | NotRouted { message, .. }
            | DbCommitted { message, .. }
            | PublishFailed { message, .. }
            | OutboxConfirmed { message, .. }
            | Dropped { message, .. }
            | Duplicated { message, .. }
            | Enqueued { message, .. }
            | Appended { message, .. }
            | Delivered { message, .. }
            | Received { message, .. }
            | ProcessingFailed { message, .. }
            | EffectApplied { message, .. }
            | DuplicateEffect { message, .. }
            | DuplicateSkipped { message, .. }
            | OutOfOrder { message, .. }
            | StaleOverwrite { message, .. }
            | StaleDropped { message, .. }
            | HeldBack { message, .. }
            | Declined { message, .. }
            | Acked { message, .. }
            | Nacked { message, .. }
            | StaleAck { message, .. }
            | AckTimeout { message, .. }
            | RetryScheduled { message, .. }
            | DeadLettered { message, .. }
            | Redriven { message, .. } => Some(*message),
            ReplyReceived { request, .. }
            | RequestTimedOut { request, .. }
            | LateReply { request, .. } => Some(*request),
            _ => None,
        }
    }
}
