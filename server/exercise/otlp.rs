//! One correlation flow of a run as an OpenTelemetry trace in OTLP/JSON, so it opens in Jaeger or Grafana
//! Tempo: every message sharing a correlation id, one span per hop.
//!
//! - a PRODUCER span per publish (`send`), from the publish to the broker taking it in;
//! - a CONSUMER span per delivery (`process`), from the delivery to its ack, nack or failure; its parent
//!   is the publish span of the message delivered;
//! - a message published while processing another (its causation id) has as parent the processing span of
//!   that other message, so the trace follows cause and effect across services.
//!
//! Ids and times are derived, not drawn: the trace id from the correlation id, span ids from the message
//! id and the hop, and times from virtual time after a fixed epoch, so one seed gives one file. Spans are
//! grouped by service (`service.name` on the resource), as tracing back ends expect. Field names follow
//! the OTLP JSON mapping: lowerCamelCase, ids as hex strings, 64-bit times as decimal strings, `kind` as the
//! enum's integer.
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::engine::{
    ChannelId, ConsumerId, CorrelationId, MessageId, Millis, Publisher, Topology, TraceEvent,
    TraceKind,
};

/// Virtual time 0 of every exported trace: 2026-01-01T00:00:00Z, in Unix milliseconds. Fixed so that the
/// same run always gives the same file.
pub const EPOCH_UNIX_MS: u64 = 1_767_225_600_000;
/// Spans one export holds at most; a longer flow is cut at its first spans (the export says so in a
/// resource attribute). A flow is one business journey: a few dozen hops in every bundled exercise.
pub const MAX_SPANS: usize = 2_000;
/// The instrumentation scope and the `messaging.system` of every span.
const SYSTEM: &str = "eda-playground";

/// OTLP `SpanKind`: PRODUCER and CONSUMER, as integers.
const KIND_PRODUCER: u8 = 4;
const KIND_CONSUMER: u8 = 5;
/// OTLP `StatusCode`: ERROR.
const STATUS_ERROR: u8 = 2;

/// `ExportTraceServiceRequest`, the top of an OTLP/JSON trace file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesData {
    pub resource_spans: Vec<ResourceSpans>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpans {
    pub resource: Resource,
    pub scope_spans: Vec<ScopeSpans>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub attributes: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeSpans {
    pub scope: Scope,
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub name: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub parent_span_id: String,
    pub name: String,
    pub kind: u8,
    pub start_time_unix_nano: String,
    pub end_time_unix_nano: String,
    pub attributes: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<SpanEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Not part of the file: which service's resource the span goes under.
    #[serde(skip)]
    service: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanEvent {
    pub time_unix_nano: String,
    pub name: String,
}

/// OTLP `Status`: set only on an error.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub code: u8,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyValue {
    pub key: &'static str,
    pub value: AnyValue,
}

/// OTLP `AnyValue`: a string, or an integer written as a decimal string (int64 in JSON).
#[derive(Debug, Clone, Serialize)]
pub enum AnyValue {
    #[serde(rename = "stringValue")]
    String(String),
    #[serde(rename = "intValue")]
    Int(String),
}

fn text(key: &'static str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key,
        value: AnyValue::String(value.into()),
    }
}

fn int(key: &'static str, value: u64) -> KeyValue {
    KeyValue {
        key,
        value: AnyValue::Int(value.to_string()),
    }
}

/// Nanoseconds since the Unix epoch of a virtual instant, as OTLP/JSON writes a fixed64: a decimal string.
pub fn unix_nano(at: Millis) -> String {
    (u128::from(EPOCH_UNIX_MS + at) * 1_000_000).to_string()
}

/// The 32-hex-digit trace id of a correlation flow.
pub fn trace_id(correlation: CorrelationId) -> String {
    format!(
        "{:016x}{:016x}",
        mix(correlation.0),
        mix(correlation.0 ^ 0x5452_4143_4549_4421)
    )
}

/// A 16-hex-digit span id for one hop of a message: 0 is its publish, then one per delivery.
fn span_id(message: MessageId, hop: u64) -> String {
    // Never all zeros, which OTLP reads as "no span".
    format!(
        "{:016x}",
        mix(message.0 ^ hop.wrapping_mul(0x9e37_79b9_7f4a_7c15)).max(1)
    )
}

/// SplitMix64's finaliser: spreads ids so that neighbouring inputs give unrelated outputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A span being built: where it is in `spans`, and for a delivery, whom it belongs to.
struct Open {
    index: usize,
    consumer: Option<ConsumerId>,
}

/// The flow of `correlation` among `events`, or `None` when no event publishes a message of it.
pub fn flow<'a>(
    exercise: &str,
    topology: &Topology,
    events: impl IntoIterator<Item = &'a TraceEvent>,
    correlation: CorrelationId,
) -> Option<TracesData> {
    let trace = trace_id(correlation);
    let mut spans: Vec<Span> = Vec::new();
    // Per message of the flow: its publish span and its deliveries so far (the last one open).
    let mut published: HashMap<MessageId, usize> = HashMap::new();
    let mut deliveries: HashMap<MessageId, Vec<Open>> = HashMap::new();
    let mut cut = false;
    for event in events {
        let at = event.at;
        match &event.kind {
            TraceKind::Published {
                message,
                from,
                channel,
                event_type,
                correlation_id,
                causation_id,
                ..
            } if *correlation_id == correlation => {
                if spans.len() >= MAX_SPANS {
                    cut = true;
                    continue;
                }
                let parent = causation_id
                    .and_then(|cause| deliveries.get(&cause)?.last().map(|open| open.index))
                    .or_else(|| causation_id.and_then(|cause| published.get(&cause).copied()))
                    .map(|index| spans[index].span_id.clone())
                    .unwrap_or_default();
                let destination = channel_name(topology, *channel);
                published.insert(*message, spans.len());
                spans.push(Span {
                    trace_id: trace.clone(),
                    span_id: span_id(*message, 0),
                    parent_span_id: parent,
                    name: format!("send {destination}"),
                    kind: KIND_PRODUCER,
                    start_time_unix_nano: unix_nano(at),
                    end_time_unix_nano: unix_nano(at),
                    attributes: vec![
                        text("messaging.system", SYSTEM),
                        text("messaging.operation.type", "send"),
                        text("messaging.operation.name", "publish"),
                        text("messaging.destination.name", destination),
                        text("messaging.message.id", message.to_string()),
                        text("messaging.message.conversation_id", correlation.to_string()),
                        text("eda.event_type", event_type.to_string()),
                    ],
                    events: Vec::new(),
                    status: None,
                    service: publisher_name(topology, *from),
                });
            }
            TraceKind::Enqueued { message, .. } | TraceKind::Appended { message, .. } => {
                if let Some(&index) = published.get(message) {
                    spans[index].end_time_unix_nano = unix_nano(at);
                }
            }
            TraceKind::Delivered {
                message,
                consumer,
                attempt,
                ..
            } => {
                let Some(&parent) = published.get(message) else {
                    continue;
                };
                if spans.len() >= MAX_SPANS {
                    cut = true;
                    continue;
                }
                let hops = deliveries.entry(*message).or_default();
                let consumer_name = consumer_name(topology, *consumer);
                let destination = spans[parent]
                    .attributes
                    .iter()
                    .find(|a| a.key == "messaging.destination.name")
                    .map(|a| a.value.clone());
                let mut attributes = vec![
                    text("messaging.system", SYSTEM),
                    text("messaging.operation.type", "process"),
                    text("messaging.operation.name", "deliver"),
                    text("messaging.consumer.group.name", consumer_name.clone()),
                    text("messaging.message.id", message.to_string()),
                    text("messaging.message.conversation_id", correlation.to_string()),
                    int("eda.delivery_attempt", u64::from(*attempt)),
                ];
                if let Some(value) = destination {
                    attributes.push(KeyValue {
                        key: "messaging.destination.name",
                        value,
                    });
                }
                hops.push(Open {
                    index: spans.len(),
                    consumer: Some(*consumer),
                });
                spans.push(Span {
                    trace_id: trace.clone(),
                    span_id: span_id(*message, hops.len() as u64),
                    parent_span_id: spans[parent].span_id.clone(),
                    name: format!("process {consumer_name}"),
                    kind: KIND_CONSUMER,
                    start_time_unix_nano: unix_nano(at),
                    end_time_unix_nano: unix_nano(at),
                    attributes,
                    events: Vec::new(),
                    status: None,
                    service: consumer_name,
                });
            }
            other => {
                let Some(message) = other.message() else {
                    continue;
                };
                // An event about one delivery goes on that delivery's span; any other event about a
                // message of the flow (dropped, dead-lettered, not routed) on its publish span.
                let delivery = consumer_of(other).and_then(|consumer| {
                    deliveries
                        .get(&message)?
                        .iter()
                        .rev()
                        .find(|open| open.consumer == Some(consumer))
                        .map(|open| open.index)
                });
                let Some(index) = delivery.or_else(|| published.get(&message).copied()) else {
                    continue;
                };
                let span = &mut spans[index];
                if delivery.is_some() {
                    span.end_time_unix_nano = unix_nano(at);
                }
                span.events.push(SpanEvent {
                    time_unix_nano: unix_nano(at),
                    name: event_name(other),
                });
                if let Some(message) = failure(other) {
                    span.status = Some(Status {
                        code: STATUS_ERROR,
                        message,
                    });
                }
            }
        }
    }
    if spans.is_empty() {
        return None;
    }
    Some(group_by_service(exercise, correlation, spans, cut))
}

/// One resource per service, in the order services first appear (a BTreeMap on that order).
fn group_by_service(
    exercise: &str,
    correlation: CorrelationId,
    spans: Vec<Span>,
    cut: bool,
) -> TracesData {
    let mut order: HashMap<String, usize> = HashMap::new();
    let mut services: BTreeMap<usize, (String, Vec<Span>)> = BTreeMap::new();
    for span in spans {
        let next = order.len();
        let rank = *order.entry(span.service.clone()).or_insert(next);
        services
            .entry(rank)
            .or_insert_with(|| (span.service.clone(), Vec::new()))
            .1
            .push(span);
    }
    TracesData {
        resource_spans: services
            .into_values()
            .map(|(service, spans)| {
                let mut attributes = vec![
                    text("service.name", service),
                    text("eda.exercise", exercise),
                    text("eda.correlation_id", correlation.to_string()),
                ];
                if cut {
                    attributes.push(int("eda.spans_cut_at", MAX_SPANS as u64));
                }
                ResourceSpans {
                    resource: Resource { attributes },
                    scope_spans: vec![ScopeSpans {
                        scope: Scope { name: SYSTEM },
                        spans,
                    }],
                }
            })
            .collect(),
    }
}

fn channel_name(topology: &Topology, channel: ChannelId) -> String {
    topology
        .channels
        .get(usize::from(channel.0))
        .map_or_else(|| format!("channel {}", channel.0), |c| c.name.clone())
}

fn consumer_name(topology: &Topology, consumer: ConsumerId) -> String {
    topology
        .consumers
        .get(usize::from(consumer.0))
        .map_or_else(|| format!("consumer {}", consumer.0), |c| c.name.clone())
}

fn publisher_name(topology: &Topology, from: Publisher) -> String {
    match from {
        Publisher::Producer(id) => topology
            .producers
            .get(usize::from(id.0))
            .map_or_else(|| format!("producer {}", id.0), |p| p.name.clone()),
        Publisher::Consumer(id) => consumer_name(topology, id),
    }
}

/// The consumer an event about one delivery names.
fn consumer_of(kind: &TraceKind) -> Option<ConsumerId> {
    use TraceKind::*;
    match kind {
        Received { consumer, .. }
        | ProcessingFailed { consumer, .. }
        | EffectApplied { consumer, .. }
        | DuplicateEffect { consumer, .. }
        | DuplicateSkipped { consumer, .. }
        | OutOfOrder { consumer, .. }
        | StaleOverwrite { consumer, .. }
        | StaleDropped { consumer, .. }
        | HeldBack { consumer, .. }
        | Declined { consumer, .. }
        | Acked { consumer, .. }
        | Nacked { consumer, .. }
        | AckTimeout { consumer, .. }
        | RetryScheduled { consumer, .. } => Some(*consumer),
        _ => None,
    }
}

/// What went wrong, for an event that makes its span an error.
fn failure(kind: &TraceKind) -> Option<String> {
    match kind {
        TraceKind::ProcessingFailed { reason, .. } => {
            Some(format!("processing failed: {reason:?}"))
        }
        TraceKind::PublishFailed { reason, .. } => Some(format!("publish failed: {reason:?}")),
        TraceKind::Dropped { reason, .. } => Some(format!("dropped: {reason:?}")),
        TraceKind::DeadLettered { reason, .. } => Some(format!("dead-lettered: {reason:?}")),
        _ => None,
    }
}

/// The trace event's own name (its `type` in the JSON trace), for a span event.
fn event_name(kind: &TraceKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.get("type")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "event".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_times_are_written_as_otlp_json_writes_them() {
        let trace = trace_id(CorrelationId(42));
        assert_eq!(trace.len(), 32);
        assert!(trace.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(trace, trace_id(CorrelationId(42)), "derived, not drawn");
        assert_ne!(trace, trace_id(CorrelationId(43)));
        let publish = span_id(MessageId(7), 0);
        assert_eq!(publish.len(), 16);
        assert_ne!(publish, span_id(MessageId(7), 1));
        assert_eq!(unix_nano(0), "1767225600000000000");
        assert_eq!(unix_nano(1_500), "1767225601500000000");
        let kind = serde_json::to_value(AnyValue::Int("3".into())).unwrap();
        assert_eq!(kind, serde_json::json!({ "intValue": "3" }));
    }
}
