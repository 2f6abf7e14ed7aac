//! The message: what producers publish, the broker stores and consumers process.
use std::sync::Arc;

use serde::Serialize;

use super::ids::{ChannelId, ConsumerId, CorrelationId, MessageId, Millis, ProducerId};

/// One message. Stored once behind an `Arc` and shared by every queue, partition and
/// delivery that holds it, so a topic's fan-out copies nothing.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub event_type: Arc<str>,
    pub schema_version: u32,
    pub key: Arc<str>,
    /// Per-key sequence number given by the producer: 1 for the first event of a key.
    pub seq: u64,
    pub payload: Arc<serde_json::Value>,
    pub correlation_id: CorrelationId,
    /// The message whose processing caused this one, if any.
    pub causation_id: Option<MessageId>,
    /// The channel it was published to.
    pub channel: ChannelId,
    /// The service that published it (the console is a producer too).
    pub publisher: Publisher,
    pub produced_at: Millis,
    /// Request-reply: where the answer goes.
    pub reply_to: Option<ChannelId>,
    /// A payload no consumer can parse.
    pub malformed: bool,
}

impl Message {
    /// The payload's `amount`, used by charge and balance effects; 0 when there is none.
    pub fn amount(&self) -> i64 {
        self.payload
            .get("amount")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0)
    }
}

/// Shared handle on a message.
pub type MessageRef = Arc<Message>;

/// Who published a message: a producer, or a consumer emitting a follow-up or a reply.
/// In JSON: `{"producer": 0}` or `{"consumer": 2}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Publisher {
    Producer(ProducerId),
    Consumer(ConsumerId),
}
