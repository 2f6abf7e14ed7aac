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
    /// Shared by every message made from it (all of a producer's, until a release changes it),
    /// with its size: the message itself stays small.
    pub payload: Arc<Payload>,
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

/// What the reference to an attachment in a blob store weighs: a URL with a key and a checksum.
pub const CLAIM_REFERENCE_BYTES: u32 = 80;

/// The largest attachment a producer may declare: 16 MiB, RabbitMQ 4's default largest
/// message. A file asking for more is refused when it loads.
pub const MAX_ATTACHMENT_BYTES: u32 = 16 * 1024 * 1024;

/// What a message weighs beyond its payload, key and type: its ids, timestamps and headers. About
/// what an AMQP basic-properties frame or a Kafka record's metadata and headers take.
pub const ENVELOPE_BYTES: u32 = 100;

impl Message {
    /// The bytes the broker stores for this message: payload, key, type and envelope. Storage
    /// is billed by these bytes for as long as the broker holds them.
    pub fn size_bytes(&self) -> u32 {
        let text = (self.key.len() + self.event_type.len()).min(u32::MAX as usize) as u32;
        self.payload
            .bytes
            .saturating_add(text)
            .saturating_add(ENVELOPE_BYTES)
    }

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

/// A payload made once and sent many times, with its size counted once: its JSON fields, and
/// the attachment it carries or the reference to it. It reads as its JSON value, and a follow-up
/// that carries its cause's payload carries its size too.
#[derive(Debug)]
pub struct Payload {
    value: serde_json::Value,
    /// Its JSON, compact, and the attachment or the reference to it, in bytes.
    pub bytes: u32,
    /// Its attachment is in a blob store and it carries a reference to it.
    pub claim_check: bool,
}

impl Payload {
    pub(crate) fn new(value: serde_json::Value, attachment: Attachment) -> Self {
        let carried = match attachment {
            Attachment::None => 0,
            Attachment::Inline(bytes) => bytes,
            Attachment::ClaimCheck => CLAIM_REFERENCE_BYTES,
        };
        Self {
            bytes: payload_bytes(&value).saturating_add(carried),
            claim_check: attachment == Attachment::ClaimCheck,
            value,
        }
    }
}

impl std::ops::Deref for Payload {
    type Target = serde_json::Value;

    fn deref(&self) -> &serde_json::Value {
        &self.value
    }
}

/// Serialized as its JSON value alone, as a message's payload always was.
impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// What a producer's events carry besides their JSON fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attachment {
    None,
    /// The content itself, of this many bytes.
    Inline(u32),
    /// A reference to the content in a blob store.
    ClaimCheck,
}

impl Attachment {
    pub(crate) fn of(spec: &super::scenario::ProducerSpec) -> Self {
        match (spec.attachment_bytes, spec.claim_check) {
            (0, _) => Attachment::None,
            (_, true) => Attachment::ClaimCheck,
            (bytes, false) => Attachment::Inline(bytes),
        }
    }
}

/// The size of `payload` as compact JSON, counted without building the text.
fn payload_bytes(payload: &serde_json::Value) -> u32 {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut counter, payload);
    counter.0.min(u32::MAX as usize) as u32
}
