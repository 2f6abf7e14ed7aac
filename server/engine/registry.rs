//! A schema registry on a channel: the payload schemas of its events by type and version, and a
//! compatibility mode that decides whether a new version may be registered.
//!
//! Producers register the version they publish on their first publish of it, as the serializers of
//! Confluent's clients do. A version the registry judges incompatible is refused at publish time, so
//! a breaking change fails in the producer instead of in every consumer downstream. The modes and
//! what they compare are Confluent Schema Registry's:
//!
//! - `backward`: the new schema can read data written with the latest registered one (consumers
//!   upgrade first);
//! - `forward`: data written with the new schema can be read with the latest one (producers upgrade
//!   first);
//! - `full`: both;
//! - the `_transitive` variants compare with every registered version instead of the latest;
//! - `none`: anything goes.
//!
//! "Can read" is judged on the schemas' object fields, the way a JSON reader sees them: every field
//! the reader requires must be required by the writer too, or have a `default` in the reader; a field
//! both declare must have the same `type`; and a reader that allows no other fields
//! (`additionalProperties: false`) cannot read a writer that declares one it does not know.
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The payload schema of one event type at one schema version: a JSON Schema (draft-07) object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventSchema {
    /// An event type some producer or consumer of the scenario publishes.
    pub event_type: String,
    /// Its schema version (1 when left out).
    #[serde(default = "super::scenario::one")]
    pub version: u32,
    /// A JSON Schema (draft-07) of the payload, written as a TOML table: `type`, `properties`,
    /// `required` and so on.
    pub schema: Value,
}

/// How a registry judges a new version against those registered before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Compatibility {
    /// Every version is accepted.
    None,
    /// The new schema reads data written with the latest registered one.
    #[default]
    Backward,
    /// The new schema reads data written with every registered one.
    BackwardTransitive,
    /// The latest registered schema reads data written with the new one.
    Forward,
    /// Every registered schema reads data written with the new one.
    ForwardTransitive,
    /// Backward and forward against the latest registered one.
    Full,
    /// Backward and forward against every registered one.
    FullTransitive,
}

impl Compatibility {
    /// The mode as Confluent writes it, for sentences.
    pub fn confluent_name(self) -> &'static str {
        match self {
            Compatibility::None => "NONE",
            Compatibility::Backward => "BACKWARD",
            Compatibility::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Compatibility::Forward => "FORWARD",
            Compatibility::ForwardTransitive => "FORWARD_TRANSITIVE",
            Compatibility::Full => "FULL",
            Compatibility::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    fn transitive(self) -> bool {
        matches!(
            self,
            Compatibility::BackwardTransitive
                | Compatibility::ForwardTransitive
                | Compatibility::FullTransitive
        )
    }

    /// Whether the new schema must read the old data, and whether the old schema must read the new data.
    fn directions(self) -> (bool, bool) {
        match self {
            Compatibility::None => (false, false),
            Compatibility::Backward | Compatibility::BackwardTransitive => (true, false),
            Compatibility::Forward | Compatibility::ForwardTransitive => (false, true),
            Compatibility::Full | Compatibility::FullTransitive => (true, true),
        }
    }
}

/// A channel's schema registry, as the scenario sets it up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    #[serde(default)]
    pub compatibility: Compatibility,
}

/// Why a reader cannot read a writer's data, in words; `None` when it can.
pub fn cannot_read(reader: &EventSchema, writer: &EventSchema) -> Option<String> {
    let (r, w) = (reader.version, writer.version);
    let reader_fields = properties(&reader.schema);
    let writer_fields = properties(&writer.schema);
    let writer_required = required(&writer.schema);
    for field in required(&reader.schema) {
        let has_default = reader_fields
            .and_then(|p| p.get(field))
            .is_some_and(|f| f.get("default").is_some());
        if !writer_required.contains(&field) && !has_default {
            return Some(format!(
                "v{r} requires `{field}` without a default, and v{w} data may not have it"
            ));
        }
    }
    if let (Some(reader_fields), Some(writer_fields)) = (reader_fields, writer_fields) {
        for (field, reader_field) in reader_fields {
            let Some(writer_field) = writer_fields.get(field) else {
                continue;
            };
            if let (Some(a), Some(b)) = (reader_field.get("type"), writer_field.get("type"))
                && a != b
            {
                return Some(format!(
                    "`{field}` is {} in v{r} and {} in v{w}",
                    type_name(a),
                    type_name(b)
                ));
            }
        }
        let closed = reader.schema.get("additionalProperties") == Some(&Value::Bool(false));
        if closed
            && let Some(field) = writer_fields
                .keys()
                .find(|f| !reader_fields.contains_key(*f))
        {
            return Some(format!(
                "v{r} allows no fields it does not declare, and v{w} adds `{field}`"
            ));
        }
    }
    None
}

fn properties(schema: &Value) -> Option<&serde_json::Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|fields| fields.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn type_name(value: &Value) -> String {
    match value {
        Value::String(name) => format!("a {name}"),
        other => other.to_string(),
    }
}

/// Judges `new` against the versions registered before it (oldest first), as `mode` says; the
/// reason it is refused, or `None` when it may be registered.
pub fn judge(
    mode: Compatibility,
    registered: &[&EventSchema],
    new: &EventSchema,
) -> Option<String> {
    let (new_reads_old, old_reads_new) = mode.directions();
    let compared: &[&EventSchema] = if mode.transitive() {
        registered
    } else {
        registered.last().map_or(&[], std::slice::from_ref)
    };
    for old in compared {
        let problem = if new_reads_old {
            cannot_read(new, old)
        } else {
            None
        }
        .or_else(|| {
            if old_reads_new {
                cannot_read(old, new)
            } else {
                None
            }
        });
        if let Some(problem) = problem {
            return Some(format!(
                "{} refuses {} v{} against v{}: {problem}",
                mode.confluent_name(),
                new.event_type,
                new.version,
                old.version
            ));
        }
    }
    None
}

/// What a running registry knows: the versions registered per event type, in order, and the verdicts
/// it already gave on refused ones (a producer retries the same version on every publish).
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistryState {
    pub(crate) compatibility: Compatibility,
    pub(crate) registered: Vec<Subject>,
    pub(crate) refused: Vec<(Subject, Arc<str>)>,
}

/// An event type at one schema version.
pub(crate) type Subject = (Arc<str>, u32);

/// What a registry says to one publish.
pub(crate) enum Verdict {
    /// Already registered.
    Known,
    /// Registered now.
    Registered,
    /// Refused, with the reason.
    Refused(Arc<str>),
}

impl RegistryState {
    pub(crate) fn new(spec: &RegistrySpec) -> Self {
        Self {
            compatibility: spec.compatibility,
            ..Self::default()
        }
    }

    /// Registers a version without judging it: what was in use before the run began.
    pub(crate) fn preregister(&mut self, event_type: &Arc<str>, version: u32) {
        if !self.is_registered(event_type, version) {
            self.registered.push((event_type.clone(), version));
        }
    }

    fn is_registered(&self, event_type: &str, version: u32) -> bool {
        self.registered
            .iter()
            .any(|(t, v)| **t == *event_type && *v == version)
    }

    /// Checks one publish of `event_type` at `version` against the schemas the scenario declares.
    pub(crate) fn check(
        &mut self,
        schemas: &[EventSchema],
        event_type: &Arc<str>,
        version: u32,
    ) -> Verdict {
        if self.is_registered(event_type, version) {
            return Verdict::Known;
        }
        if let Some((_, reason)) = self
            .refused
            .iter()
            .find(|((t, v), _)| t == event_type && *v == version)
        {
            return Verdict::Refused(reason.clone());
        }
        let find = |v: u32| {
            schemas
                .iter()
                .find(|s| s.event_type == **event_type && s.version == v)
        };
        let reason = match find(version) {
            None => Some(format!(
                "{event_type} v{version} has no schema, so the registry cannot judge it"
            )),
            Some(new) => {
                let registered: Vec<&EventSchema> = self
                    .registered
                    .iter()
                    .filter(|(t, _)| t == event_type)
                    .filter_map(|(_, v)| find(*v))
                    .collect();
                judge(self.compatibility, &registered, new)
            }
        };
        match reason {
            None => {
                self.registered.push((event_type.clone(), version));
                Verdict::Registered
            }
            Some(reason) => {
                let reason: Arc<str> = Arc::from(reason);
                self.refused
                    .push(((event_type.clone(), version), reason.clone()));
                Verdict::Refused(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(version: u32, schema: Value) -> EventSchema {
        EventSchema {
            event_type: "OrderPlaced".to_owned(),
            version,
            schema,
        }
    }

    fn v1() -> EventSchema {
        schema(
            1,
            json!({"type": "object", "required": ["total"], "properties": {"total": {"type": "number"}}}),
        )
    }

    #[test]
    fn a_new_required_field_is_forward_but_not_backward_compatible() {
        let v2 = schema(
            2,
            json!({"type": "object", "required": ["total", "slot"],
                   "properties": {"total": {"type": "number"}, "slot": {"type": "string"}}}),
        );
        let old = v1();
        assert!(judge(Compatibility::Backward, &[&old], &v2).is_some());
        assert!(judge(Compatibility::Forward, &[&old], &v2).is_none());
        assert!(judge(Compatibility::Full, &[&old], &v2).is_some());
        assert!(judge(Compatibility::None, &[&old], &v2).is_none());
        let reason = judge(Compatibility::Backward, &[&old], &v2).unwrap();
        assert!(reason.contains("`slot`"), "{reason}");
    }

    #[test]
    fn a_default_makes_a_new_field_fully_compatible() {
        let v2 = schema(
            2,
            json!({"type": "object", "required": ["total", "slot"],
                   "properties": {"total": {"type": "number"}, "slot": {"type": "string", "default": "any"}}}),
        );
        assert!(judge(Compatibility::Full, &[&v1()], &v2).is_none());
    }

    #[test]
    fn transitive_modes_compare_with_every_version() {
        let v2 = schema(
            2,
            json!({"type": "object", "properties": {"total": {"type": "number"}}}),
        );
        let v3 = schema(
            3,
            json!({"type": "object", "properties": {"total": {"type": "string"}}}),
        );
        let v2b = schema(
            2,
            json!({"type": "object", "properties": {"total": {"type": "string"}}}),
        );
        // v3 reads v2b (both strings) but not v1 (a number).
        assert!(judge(Compatibility::Backward, &[&v1(), &v2b], &v3).is_none());
        assert!(judge(Compatibility::BackwardTransitive, &[&v1(), &v2b], &v3).is_some());
        assert!(judge(Compatibility::Backward, &[&v1(), &v2], &v3).is_some());
    }

    #[test]
    fn a_closed_reader_refuses_a_new_field() {
        let closed = schema(
            1,
            json!({"type": "object", "additionalProperties": false, "properties": {"total": {"type": "number"}}}),
        );
        let v2 = schema(
            2,
            json!({"type": "object", "properties": {"total": {"type": "number"}, "gift": {"type": "boolean"}}}),
        );
        assert!(judge(Compatibility::Forward, &[&closed], &v2).is_some());
        assert!(judge(Compatibility::Backward, &[&closed], &v2).is_none());
    }
}
