//! An exercise's system as an AsyncAPI 3.0.0 document: what an event catalog at work would publish.
//!
//! - a channel per engine channel, its `address` the channel's name, listing the messages that travel on it;
//! - a message per event type and schema version, its payload schema the one the exercise declares in
//!   `[[schemas]]`, else inferred from the producer's `payload` (a consumer's follow-up carries its
//!   cause's payload, as the engine does; a reply, its request's), marked `x-eda-source: declared` or
//!   `inferred`; the version and the correlation and causation ids in its headers;
//! - operations: `send` for each producer, each consumer's follow-ups and replies; `receive` for each
//!   consumer (all the messages of its channel) and each requester's replies.
//!
//! The document describes the exercise's system under a Design: knobs that rebuild the system (a producer's
//! schema version, a consumer's follow-ups) are applied, as the export to real brokers applies them. Keys in
//! `channels`, `operations` and `components` keep to AsyncAPI's `^[\w\d.\-_]+$`.
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::engine::Scenario;
use crate::engine::scenario::ChannelKind;

use super::payload_schema::schema_of;
use super::{Choices, Exercise, KnobError};

/// The AsyncAPI version the document follows.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

/// One message: an event type at a schema version, and the payload it carries.
#[derive(Debug, Clone)]
struct MessageKind {
    event_type: String,
    version: u32,
    payload: Value,
}

impl MessageKind {
    /// Its key in `components.messages` and in each channel's `messages`.
    fn key(&self) -> String {
        if self.version == 1 {
            key(&self.event_type)
        } else {
            key(&format!("{}.v{}", self.event_type, self.version))
        }
    }
}

/// A name made into a key AsyncAPI accepts: letters, digits, `.`, `-` and `_`; anything else is `_`.
fn key(name: &str) -> String {
    let key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() { "_".to_owned() } else { key }
}

/// The AsyncAPI 3.0.0 document of `exercise`'s system with the knobs of `choices` set (knobs left out keep
/// their default); an error names a knob or option the exercise does not have.
pub fn document(exercise: &Exercise, choices: &Choices) -> Result<Value, KnobError> {
    let choices = exercise.normalize(choices)?;
    let scenario = exercise.scenario_for(&choices)?;
    Ok(describe(exercise, &scenario))
}

fn describe(exercise: &Exercise, scenario: &Scenario) -> Value {
    let on_channel = messages_by_channel(scenario);
    let mut channels = Map::new();
    let mut messages = Map::new();
    let mut schemas = Map::new();
    for spec in &scenario.channels {
        let kinds = on_channel.get(&spec.name).map(Vec::as_slice).unwrap_or(&[]);
        let mut listed = Map::new();
        for kind in kinds {
            let message_key = kind.key();
            listed.insert(
                message_key.clone(),
                json!({ "$ref": format!("#/components/messages/{message_key}") }),
            );
            schemas.insert(
                message_key.clone(),
                schema_of(
                    &exercise.schemas,
                    &kind.event_type,
                    kind.version,
                    &kind.payload,
                ),
            );
            messages.insert(message_key.clone(), message(kind, &message_key));
        }
        channels.insert(
            key(&spec.name),
            json!({
                "address": spec.name,
                "title": spec.name,
                "description": channel_description(spec.kind, spec.partitions),
                "messages": listed,
            }),
        );
    }
    let operations = operations(scenario, &on_channel);
    json!({
        "asyncapi": ASYNCAPI_VERSION,
        "id": format!("urn:eda-playground:exercise:{}", exercise.id),
        "info": {
            "title": exercise.title,
            "version": "1.0.0",
            "description": exercise.summary,
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
        },
    })
}

fn message(kind: &MessageKind, message_key: &str) -> Value {
    json!({
        "name": kind.event_type,
        "title": format!("{} v{}", kind.event_type, kind.version),
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "message_id": { "type": "string", "description": "16 hex digits." },
                "correlation_id": {
                    "type": "string",
                    "description": "Ties every message of one business journey together.",
                },
                "causation_id": {
                    "type": "string",
                    "description": "The message whose processing caused this one.",
                },
                "schema_version": { "type": "integer", "const": kind.version },
            },
            "required": ["message_id", "correlation_id", "schema_version"],
        },
        "correlationId": { "location": "$message.header#/correlation_id" },
        "payload": { "$ref": format!("#/components/schemas/{message_key}") },
        "examples": [{ "name": "example", "payload": kind.payload }],
    })
}

fn channel_description(kind: ChannelKind, partitions: u32) -> String {
    match kind {
        ChannelKind::Topic => "A topic: every subscribing service gets its own copy.".to_owned(),
        ChannelKind::Queue => {
            "A queue: the consumers attached to it compete for each message.".to_owned()
        }
        ChannelKind::Stream => format!(
            "A stream of {partitions} partition(s): an append-only log that consumer groups read at their own pace."
        ),
    }
}

/// Every message on each channel, in the order the file declares them: producers', then follow-ups and
/// replies. Follow-ups take the payload of what their consumer reads, so chains are followed a channel at
/// a time, at most once per consumer.
fn messages_by_channel(scenario: &Scenario) -> BTreeMap<String, Vec<MessageKind>> {
    let mut on: BTreeMap<String, Vec<MessageKind>> = BTreeMap::new();
    let add = |on: &mut BTreeMap<String, Vec<MessageKind>>, channel: &str, kind: MessageKind| {
        let list = on.entry(channel.to_owned()).or_default();
        if !list
            .iter()
            .any(|k| k.event_type == kind.event_type && k.version == kind.version)
        {
            list.push(kind);
        }
    };
    for producer in &scenario.producers {
        add(
            &mut on,
            &producer.channel,
            MessageKind {
                event_type: producer.event_type.clone(),
                version: producer.schema_version,
                payload: producer.payload.clone(),
            },
        );
        // A release publishes its own version (or payload) from its time on.
        for release in &producer.releases {
            add(
                &mut on,
                &producer.channel,
                MessageKind {
                    event_type: producer.event_type.clone(),
                    version: release.schema_version.unwrap_or(producer.schema_version),
                    payload: release
                        .payload
                        .clone()
                        .unwrap_or_else(|| producer.payload.clone()),
                },
            );
        }
    }
    // One pass per consumer is enough for any chain: each pass settles at least one more link.
    for _ in 0..scenario.consumers.len() {
        for consumer in &scenario.consumers {
            let Some(read) = on.get(&consumer.channel).and_then(|k| k.first()).cloned() else {
                continue;
            };
            for emit in &consumer.emits {
                add(
                    &mut on,
                    &emit.channel,
                    MessageKind {
                        event_type: emit.event_type.clone(),
                        version: emit.schema_version,
                        payload: read.payload.clone(),
                    },
                );
            }
        }
    }
    for producer in &scenario.producers {
        let Some(request) = &producer.request else {
            continue;
        };
        add(
            &mut on,
            &request.reply_channel,
            MessageKind {
                event_type: format!("{}Reply", producer.event_type),
                version: 1,
                payload: producer.payload.clone(),
            },
        );
    }
    on
}

fn operations(scenario: &Scenario, on: &BTreeMap<String, Vec<MessageKind>>) -> Map<String, Value> {
    let mut operations = Map::new();
    let reference = |channel: &str, kinds: &[&MessageKind]| {
        json!({
            "channel": { "$ref": format!("#/channels/{}", key(channel)) },
            "messages": kinds
                .iter()
                .map(|k| json!({ "$ref": format!("#/channels/{}/messages/{}", key(channel), k.key()) }))
                .collect::<Vec<_>>(),
        })
    };
    let find = |channel: &str, event_type: &str, version: u32| -> Vec<&MessageKind> {
        on.get(channel)
            .into_iter()
            .flatten()
            .filter(|k| k.event_type == event_type && k.version == version)
            .collect()
    };
    let mut insert = |id: String, action: &str, summary: String, mut body: Value| {
        body["action"] = json!(action);
        body["summary"] = json!(summary);
        operations.insert(key(&id), body);
    };
    for producer in &scenario.producers {
        let versions = std::iter::once(producer.schema_version)
            .chain(producer.releases.iter().filter_map(|r| r.schema_version));
        let mut kinds: Vec<&MessageKind> = Vec::new();
        for version in versions {
            for kind in find(&producer.channel, &producer.event_type, version) {
                if !kinds.iter().any(|k| std::ptr::eq(*k, kind)) {
                    kinds.push(kind);
                }
            }
        }
        insert(
            format!("{}.send.{}", producer.name, producer.event_type),
            "send",
            format!(
                "{} publishes {} on {}.",
                producer.name, producer.event_type, producer.channel
            ),
            reference(&producer.channel, &kinds),
        );
        if let Some(request) = &producer.request {
            let reply = format!("{}Reply", producer.event_type);
            let kinds = find(&request.reply_channel, &reply, 1);
            insert(
                format!("{}.receive.{reply}", producer.name),
                "receive",
                format!(
                    "{} waits for {reply} on {}.",
                    producer.name, request.reply_channel
                ),
                reference(&request.reply_channel, &kinds),
            );
        }
    }
    for consumer in &scenario.consumers {
        let kinds: Vec<&MessageKind> = on.get(&consumer.channel).into_iter().flatten().collect();
        insert(
            format!("{}.receive.{}", consumer.name, consumer.channel),
            "receive",
            format!("{} consumes {}.", consumer.name, consumer.channel),
            reference(&consumer.channel, &kinds),
        );
        for emit in &consumer.emits {
            let kinds = find(&emit.channel, &emit.event_type, emit.schema_version);
            insert(
                format!("{}.send.{}", consumer.name, emit.event_type),
                "send",
                format!(
                    "{} publishes {} on {} after handling a message.",
                    consumer.name, emit.event_type, emit.channel
                ),
                reference(&emit.channel, &kinds),
            );
        }
        if consumer.replies {
            for producer in scenario
                .producers
                .iter()
                .filter(|p| p.channel == consumer.channel)
            {
                let Some(request) = &producer.request else {
                    continue;
                };
                let reply = format!("{}Reply", producer.event_type);
                let kinds = find(&request.reply_channel, &reply, 1);
                insert(
                    format!("{}.send.{reply}", consumer.name),
                    "send",
                    format!(
                        "{} answers with {reply} on {}.",
                        consumer.name, request.reply_channel
                    ),
                    reference(&request.reply_channel, &kinds),
                );
            }
        }
    }
    operations
}
