// Each test binary that includes this module uses part of it.
#![allow(dead_code)]
//! Checks of an OTLP/JSON trace file against the field names and encodings of the OTLP JSON mapping
//! (opentelemetry-proto's `trace/v1/trace.proto`, JSON form): lowerCamelCase keys, trace and span ids as
//! 32 and 16 hex digits, 64-bit times as decimal strings, the span kind as the enum's integer.
use std::collections::{HashMap, HashSet};

use eda_playground::engine::{CorrelationId, MessageId, TraceEvent, TraceKind};
use serde_json::Value;

/// Keys a span may have here, all lowerCamelCase as the mapping writes them.
const SPAN_KEYS: [&str; 10] = [
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "attributes",
    "events",
    "status",
];
/// `SPAN_KIND_PRODUCER` and `SPAN_KIND_CONSUMER`.
const PRODUCER: u64 = 4;
const CONSUMER: u64 = 5;

/// One span, as the checks below need it.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub(crate) span_id: String,
    pub(crate) parent: Option<String>,
    pub(crate) kind: u64,
    pub(crate) start: u128,
    pub(crate) end: u128,
    pub(crate) attributes: HashMap<String, String>,
}

fn hex(text: &str, digits: usize) -> bool {
    text.len() == digits && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn keys(object: &Value) -> Vec<&str> {
    object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// A decimal string, as OTLP/JSON writes 64-bit integers.
fn decimal(value: &Value) -> u128 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    assert!(text.bytes().all(|b| b.is_ascii_digit()), "{text}");
    text.parse().unwrap()
}

fn attributes(list: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for attribute in list.as_array().expect("attributes are a list") {
        assert_eq!(keys(attribute), ["key", "value"], "{attribute}");
        let value = &attribute["value"];
        let text = match keys(value).as_slice() {
            ["stringValue"] => value["stringValue"].as_str().unwrap().to_owned(),
            ["intValue"] => decimal(&value["intValue"]).to_string(),
            other => panic!("unexpected value {other:?}"),
        };
        out.insert(attribute["key"].as_str().unwrap().to_owned(), text);
    }
    out
}

/// Checks the whole file's shape and returns its spans.
pub(crate) fn check_structure(trace: &Value) -> Vec<Span> {
    assert_eq!(keys(trace), ["resourceSpans"]);
    let mut spans = Vec::new();
    let mut trace_ids = HashSet::new();
    for resource_spans in trace["resourceSpans"].as_array().unwrap() {
        let mut top = keys(resource_spans);
        top.sort_unstable();
        assert_eq!(top, ["resource", "scopeSpans"]);
        let resource = attributes(&resource_spans["resource"]["attributes"]);
        assert!(resource.contains_key("service.name"), "{resource:?}");
        for scope_spans in resource_spans["scopeSpans"].as_array().unwrap() {
            assert_eq!(scope_spans["scope"]["name"], "eda-playground");
            for span in scope_spans["spans"].as_array().unwrap() {
                for key in keys(span) {
                    assert!(SPAN_KEYS.contains(&key), "unexpected span key {key}");
                }
                let trace_id = span["traceId"].as_str().unwrap();
                assert!(hex(trace_id, 32), "{trace_id}");
                trace_ids.insert(trace_id.to_owned());
                let span_id = span["spanId"].as_str().unwrap();
                assert!(
                    hex(span_id, 16) && span_id != "0000000000000000",
                    "{span_id}"
                );
                let parent = span.get("parentSpanId").map(|p| {
                    let p = p.as_str().unwrap();
                    assert!(hex(p, 16), "{p}");
                    p.to_owned()
                });
                let kind = span["kind"].as_u64().expect("kind is an integer");
                assert!(kind == PRODUCER || kind == CONSUMER, "{kind}");
                let start = decimal(&span["startTimeUnixNano"]);
                let end = decimal(&span["endTimeUnixNano"]);
                assert!(start <= end);
                // After 2020 and before 2100 in nanoseconds: a real Unix time, not milliseconds.
                assert!((1_577_836_800_000_000_000..4_102_444_800_000_000_000).contains(&start));
                for event in span
                    .get("events")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let mut event_keys = keys(event);
                    event_keys.sort_unstable();
                    assert_eq!(event_keys, ["name", "timeUnixNano"]);
                    decimal(&event["timeUnixNano"]);
                }
                let attributes = attributes(&span["attributes"]);
                for key in [
                    "messaging.system",
                    "messaging.operation.type",
                    "messaging.destination.name",
                    "messaging.message.id",
                ] {
                    assert!(
                        attributes.contains_key(key),
                        "{key} missing: {attributes:?}"
                    );
                }
                let operation = &attributes["messaging.operation.type"];
                match kind {
                    PRODUCER => assert_eq!(operation, "send"),
                    _ => assert_eq!(operation, "process"),
                }
                spans.push(Span {
                    span_id: span_id.to_owned(),
                    parent,
                    kind,
                    start,
                    end,
                    attributes,
                });
            }
        }
    }
    assert_eq!(trace_ids.len(), 1, "one trace id: {trace_ids:?}");
    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");
    spans
}

/// Parent links follow the run: a delivery's parent is its message's publish; a message caused by
/// another has as parent a processing span of that other message.
pub(crate) fn check_causation<'a>(
    spans: &[Span],
    events: impl IntoIterator<Item = &'a TraceEvent>,
    correlation: CorrelationId,
) {
    let caused_links = check_parents(spans, events, correlation);
    assert!(caused_links > 0, "the flow crosses services");
}

/// As [`check_causation`], for a flow that may stay within one service.
pub(crate) fn check_causation_without_crossing<'a>(
    spans: &[Span],
    events: impl IntoIterator<Item = &'a TraceEvent>,
    correlation: CorrelationId,
) {
    check_parents(spans, events, correlation);
}

/// Checks every parent link; returns how many link a caused message to its cause.
fn check_parents<'a>(
    spans: &[Span],
    events: impl IntoIterator<Item = &'a TraceEvent>,
    correlation: CorrelationId,
) -> usize {
    let by_id: HashMap<&str, &Span> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut causes: HashMap<MessageId, Option<MessageId>> = HashMap::new();
    for event in events {
        if let TraceKind::Published {
            message,
            correlation_id,
            causation_id,
            ..
        } = &event.kind
        {
            if *correlation_id == correlation {
                causes.insert(*message, *causation_id);
            }
        }
    }
    let publishes = spans.iter().filter(|s| s.kind == PRODUCER).count();
    assert_eq!(
        publishes,
        causes.len(),
        "one publish span per message of the flow"
    );
    let mut caused_links = 0;
    for span in spans {
        let message: MessageId = span.attributes["messaging.message.id"].parse().unwrap();
        let parent = span.parent.as_deref().map(|p| by_id[p]);
        if span.kind == CONSUMER {
            let parent = parent.expect("a delivery has a parent");
            assert_eq!(parent.kind, PRODUCER);
            assert_eq!(
                parent.attributes["messaging.message.id"],
                message.to_string()
            );
            assert!(parent.start <= span.start);
            continue;
        }
        match causes[&message] {
            None => assert!(parent.is_none(), "a first message starts the trace"),
            Some(cause) => {
                let parent = parent.expect("a caused message has a parent");
                assert_eq!(parent.attributes["messaging.message.id"], cause.to_string());
                assert_eq!(
                    parent.kind, CONSUMER,
                    "caused while its cause was processed"
                );
                assert!(parent.start <= span.start);
                caused_links += 1;
            }
        }
    }
    caused_links
}
