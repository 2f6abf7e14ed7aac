//! The JSON Schema (draft-07) of an event's payload: declared by the exercise in a `[[schemas]]` table,
//! or, for an event that declares none, inferred from one example payload (the types a producer's
//! `payload` shows, every field of an object required), as an event catalog does.
use serde_json::{Map, Value, json};

use crate::engine::Scenario;

/// Declared schemas one exercise may have, and the size of each written out as JSON. A larger one is
/// refused at load: a catalog entry is read by a person, in a panel.
pub const MAX_DECLARED_SCHEMAS: usize = 32;
pub const MAX_DECLARED_SCHEMA_BYTES: usize = 8 * 1024;

/// The payload schema of one event type at one schema version, as the exercise declares it: the
/// engine's, since a channel's schema registry judges by the same schemas.
pub use crate::engine::EventSchema as DeclaredSchema;

/// Where a schema in the catalog comes from: the catalog says so beside it.
pub const DECLARED: &str = "declared";
pub const INFERRED: &str = "inferred";

/// The schema of `event_type` at `version`: the declared one, else one inferred from `example`, each
/// marked with where it comes from in `x-eda-source` (an AsyncAPI specification extension).
pub fn schema_of(
    declared: &[DeclaredSchema],
    event_type: &str,
    version: u32,
    example: &Value,
) -> Value {
    let (mut schema, source) = match declared
        .iter()
        .find(|d| d.event_type == event_type && d.version == version)
    {
        Some(d) => (d.schema.clone(), DECLARED),
        None => (infer(example), INFERRED),
    };
    if let Some(fields) = schema.as_object_mut() {
        fields.insert("x-eda-source".to_owned(), json!(source));
    }
    schema
}

/// Checks the declared schemas against the scenario: each names an event type the scenario publishes
/// (by a producer, or a consumer's follow-up) at a version of at least 1, once, and is a JSON object of
/// bounded size. An error is `(field, reason)`.
pub fn check_declared(
    declared: &[DeclaredSchema],
    scenario: &Scenario,
) -> Result<(), (String, String)> {
    if declared.len() > MAX_DECLARED_SCHEMAS {
        return Err((
            "schemas".to_owned(),
            format!(
                "has {} schemas; expected at most {MAX_DECLARED_SCHEMAS}",
                declared.len()
            ),
        ));
    }
    let mut published: Vec<&str> = scenario
        .producers
        .iter()
        .map(|p| p.event_type.as_str())
        .chain(
            scenario
                .consumers
                .iter()
                .flat_map(|c| c.emits.iter().map(|e| e.event_type.as_str())),
        )
        .collect();
    published.sort_unstable();
    published.dedup();
    for (i, d) in declared.iter().enumerate() {
        let field = |name: &str| format!("schemas[{i}].{name}");
        if !published.contains(&d.event_type.as_str()) {
            return Err((
                field("event_type"),
                format!(
                    "no service of this scenario publishes {:?}; expected one of: {}",
                    d.event_type,
                    published.join(", ")
                ),
            ));
        }
        if d.version == 0 {
            return Err((
                field("version"),
                "is 0; expected a schema version of 1 or more".to_owned(),
            ));
        }
        if declared[..i]
            .iter()
            .any(|o| o.event_type == d.event_type && o.version == d.version)
        {
            return Err((
                field("version"),
                format!(
                    "{} v{} has a schema already; expected one schema per event type and version",
                    d.event_type, d.version
                ),
            ));
        }
        if !d.schema.is_object() {
            return Err((
                field("schema"),
                "is not a table; expected a JSON Schema written as a TOML table, such as { type = \"object\" }".to_owned(),
            ));
        }
        let bytes = serde_json::to_string(&d.schema).map_or(usize::MAX, |s| s.len());
        if bytes > MAX_DECLARED_SCHEMA_BYTES {
            return Err((
                field("schema"),
                format!("is {bytes} bytes as JSON; expected at most {MAX_DECLARED_SCHEMA_BYTES}"),
            ));
        }
    }
    Ok(())
}

/// Nesting followed at most; deeper values are described as "any value". Payloads are small by the
/// exercise format's limits, so this only guards against a pathological file.
pub const MAX_DEPTH: usize = 16;

/// The schema of `example`.
pub fn infer(example: &Value) -> Value {
    infer_at(example, 0)
}

fn infer_at(value: &Value, depth: usize) -> Value {
    if depth >= MAX_DEPTH {
        return json!({});
    }
    match value {
        Value::Null => json!({ "type": "null" }),
        Value::Bool(_) => json!({ "type": "boolean" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({ "type": "integer" }),
        Value::Number(_) => json!({ "type": "number" }),
        Value::String(_) => json!({ "type": "string" }),
        // The first item stands for all: a producer's payload lists items of one kind.
        Value::Array(items) => match items.first() {
            Some(first) => json!({ "type": "array", "items": infer_at(first, depth + 1) }),
            None => json!({ "type": "array" }),
        },
        Value::Object(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|(name, field)| (name.clone(), infer_at(field, depth + 1)))
                .collect();
            let required: Vec<&String> = fields.keys().collect();
            let mut schema = json!({ "type": "object", "properties": properties });
            if !required.is_empty() {
                schema["required"] = json!(required);
            }
            schema
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_example_and_every_field_is_required() {
        let schema = infer(&json!({
            "order": "o-1", "amount": 42, "rate": 0.5, "paid": true, "note": null,
            "lines": [{ "sku": "a" }], "tags": []
        }));
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "order": { "type": "string" },
                    "amount": { "type": "integer" },
                    "rate": { "type": "number" },
                    "paid": { "type": "boolean" },
                    "note": { "type": "null" },
                    "lines": { "type": "array", "items": {
                        "type": "object", "properties": { "sku": { "type": "string" } }, "required": ["sku"]
                    } },
                    "tags": { "type": "array" }
                },
                "required": ["amount", "lines", "note", "order", "paid", "rate", "tags"]
            })
        );
        assert_eq!(
            infer(&json!({})),
            json!({ "type": "object", "properties": {} })
        );
    }
}
