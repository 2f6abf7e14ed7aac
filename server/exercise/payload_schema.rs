//! A JSON Schema (draft-07) inferred from one example payload: the types a producer's `payload` shows,
//! every field of an object required, as an event catalog does for events that declare no schema.
use serde_json::{Map, Value, json};

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
