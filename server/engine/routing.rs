//! Topic routing by key, with AMQP topic-exchange semantics: a routing key is dot-separated words
//! (`orders.eu.placed`); a subscription's filter is a pattern of words where `*` stands for exactly
//! one word and `#` for zero or more. Direct routing by exact key is a pattern without wildcards.
use std::collections::BTreeMap;

use serde_json::Value;

use super::message::{Message, Publisher};
use super::scenario::AttributeMatch;
use super::world::World;

/// The longest routing key or filter, in bytes; a longer one is refused when the scenario loads.
pub const MAX_ROUTING_KEY_BYTES: usize = 255;

/// Whether `key` matches `pattern`.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = key.split('.').collect();
    matches_words(&pattern, &key)
}

fn matches_words(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        // `#` takes zero words, or one and stays for the rest.
        Some((&"#", rest)) => {
            matches_words(rest, key) || (!key.is_empty() && matches_words(pattern, &key[1..]))
        }
        Some((&word, rest)) => match key.split_first() {
            Some((first, key_rest)) => {
                (word == "*" || word == *first) && matches_words(rest, key_rest)
            }
            None => false,
        },
    }
}

/// Why a routing key or filter is not well formed, or `None` when it is.
pub(crate) fn invalid(text: &str, wildcards: bool) -> Option<String> {
    if text.is_empty() || text.len() > MAX_ROUTING_KEY_BYTES {
        return Some(format!("expected 1 to {MAX_ROUTING_KEY_BYTES} bytes"));
    }
    for word in text.split('.') {
        if word.is_empty() {
            return Some("expected words separated by single dots, with no empty word".to_owned());
        }
        let wildcard = word == "*" || word == "#";
        if word.contains(['*', '#']) && !(wildcards && wildcard) {
            return Some(if wildcards {
                format!("{word:?}: * and # stand alone as a whole word")
            } else {
                format!("{word:?}: a routing key has no wildcards")
            });
        }
    }
    None
}

/// The value of attribute `name` on a message: `event_type`, `key`, or a field of its payload.
fn attribute(message: &Message, name: &str) -> Option<Value> {
    match name {
        "event_type" => Some(Value::from(&*message.event_type)),
        "key" => Some(Value::from(&*message.key)),
        "schema_version" => Some(Value::from(message.schema_version)),
        field => message.payload.get(field).cloned(),
    }
}

/// The first condition of an attribute filter policy a message fails, and why in words
/// (`region is "us", the filter wants region = "eu"`); `None` when it passes every condition.
pub(crate) fn attributes_mismatch(
    policy: &BTreeMap<String, AttributeMatch>,
    message: &Message,
) -> Option<(String, String)> {
    for (name, condition) in policy {
        let value = attribute(message, name);
        let shown = value
            .as_ref()
            .map_or_else(|| "missing".to_owned(), Value::to_string);
        let passes = match condition {
            AttributeMatch::Equals(wanted) => value.as_ref() == Some(wanted),
            AttributeMatch::AnyOf(wanted) => value.as_ref().is_some_and(|v| wanted.contains(v)),
            AttributeMatch::Prefix(prefix) => value
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with(prefix.as_str())),
            AttributeMatch::Exists(wanted) => value.is_some() == *wanted,
        };
        if !passes {
            let wanted = match condition {
                AttributeMatch::Equals(v) => format!("{name} = {v}"),
                AttributeMatch::AnyOf(vs) => format!(
                    "{name} one of {}",
                    vs.iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                AttributeMatch::Prefix(p) => format!("{name} starting with {p:?}"),
                AttributeMatch::Exists(true) => format!("{name} present"),
                AttributeMatch::Exists(false) => format!("no {name}"),
            };
            let reason = format!("{name} is {shown}, the filter wants {wanted}");
            return Some((wanted, reason));
        }
    }
    None
}

impl World {
    /// The routing key of a message: its producer's, or its event type (follow-ups, replies and
    /// messages published by hand).
    pub(crate) fn routing_key<'a>(&'a self, message: &'a Message) -> &'a str {
        match message.publisher {
            Publisher::Producer(producer) => self
                .producers
                .get(producer.index())
                .and_then(|p| p.spec.routing_key.as_deref())
                .unwrap_or(&message.event_type),
            Publisher::Consumer(_) => &message.event_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amqp_topic_semantics() {
        let cases = [
            ("orders.*.placed", "orders.eu.placed", true),
            ("orders.*.placed", "orders.eu.cancelled", false),
            ("orders.*.placed", "orders.placed", false),
            ("orders.#", "orders", true),
            ("orders.#", "orders.eu.placed", true),
            ("#.placed", "orders.eu.placed", true),
            ("#.placed", "placed", true),
            ("#", "anything.at.all", true),
            ("orders.#.placed", "orders.placed", true),
            ("orders.#.placed", "orders.eu.de.placed", true),
            ("orders.eu.placed", "orders.eu.placed", true),
            ("orders.eu.placed", "orders.eu", false),
            ("*", "orders.eu", false),
            ("*.*", "orders.eu", true),
        ];
        for (pattern, key, expected) in cases {
            assert_eq!(topic_matches(pattern, key), expected, "{pattern} ~ {key}");
        }
    }

    #[test]
    fn malformed_keys_and_patterns() {
        assert!(invalid("orders.*.placed", true).is_none());
        assert!(
            invalid("orders.*.placed", false)
                .unwrap()
                .contains("no wildcards")
        );
        assert!(
            invalid("orders..placed", true)
                .unwrap()
                .contains("empty word")
        );
        assert!(invalid("orders.eu*", true).unwrap().contains("whole word"));
        assert!(invalid("", true).is_some());
    }
}
