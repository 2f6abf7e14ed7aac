//! docs/TRACE.md documents every trace event and every field, and stays that way.
use eda_playground::engine::TraceEvent;

/// Each event type with its field names, read from the JSON Schema of the trace.
fn documented_shape() -> Vec<(String, Vec<String>)> {
    let schema =
        serde_json::to_value(schemars::schema_for!(TraceEvent)).expect("schema serializes");
    let variants = schema
        .get("oneOf")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    variants
        .iter()
        .filter_map(|variant| {
            let properties = variant.get("properties")?.as_object()?;
            let name = properties.get("type")?.get("const")?.as_str()?.to_owned();
            let fields = properties
                .keys()
                .filter(|k| *k != "type")
                .cloned()
                .collect();
            Some((name, fields))
        })
        .collect()
}

#[test]
fn every_trace_event_and_field_is_documented() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/TRACE.md"))
        .expect("docs/TRACE.md");
    let shape = documented_shape();
    assert!(
        shape.len() > 40,
        "the schema lists the events: {}",
        shape.len()
    );
    let mut missing = Vec::new();
    for (name, fields) in shape {
        let Some(line) = docs.lines().find(|l| l.starts_with(&format!("| `{name}`"))) else {
            missing.push(format!("event {name}"));
            continue;
        };
        for field in fields {
            if !line.contains(&format!("`{field}`")) {
                missing.push(format!("{name}.{field}"));
            }
        }
    }
    assert!(missing.is_empty(), "docs/TRACE.md lacks: {missing:#?}");
}
