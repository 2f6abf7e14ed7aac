//! Every bundled exercise's AsyncAPI document is valid against the official AsyncAPI 3.0.0 JSON Schema, as
//! the `@asyncapi/specs` npm package ships it (`schemas/3.0.0.json`: draft-07, every `$ref` inside the
//! file). The package comes from `EDA_ASYNCAPI_SPECS` (its directory) or the cache `.ci/run` installs it
//! into from npm. Without it the test fails when `EDA_REQUIRE_ASYNCAPI` is set (as `.ci/run` does) and
//! says so loudly elsewhere.
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use eda_playground::config::Config;
use eda_playground::exercise::asyncapi::document;
use eda_playground::exercise::{Catalog, Choices};
use eda_playground::web::{AppState, app};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Where `.ci/run` installs the package, under the cache directory, when `EDA_ASYNCAPI_SPECS` is not set.
const CACHED_PACKAGE: &str = "eda-playground/asyncapi/node_modules/@asyncapi/specs";

fn package_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("EDA_ASYNCAPI_SPECS") {
        return Some(PathBuf::from(dir));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache.join(CACHED_PACKAGE))
}

/// The AsyncAPI 3.0.0 schema, or `None` (after saying why) when it is missing and not required.
fn official_schema() -> Option<Value> {
    let path = package_dir().map(|dir| dir.join("schemas/3.0.0.json"));
    match path
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
    {
        Some(text) => Some(serde_json::from_str(&text).expect("the schema is JSON")),
        None => {
            let reason = format!(
                "the AsyncAPI 3.0.0 schema is not at {path:?}; install it with \
                 `npm install --prefix ~/.cache/eda-playground/asyncapi @asyncapi/specs@6` \
                 or set EDA_ASYNCAPI_SPECS to the package's directory"
            );
            assert!(
                std::env::var_os("EDA_REQUIRE_ASYNCAPI").is_none(),
                "EDA_REQUIRE_ASYNCAPI is set, and {reason}"
            );
            eprintln!("\n*** SKIPPED: {reason} ***\n");
            None
        }
    }
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft7::new(schema).expect("the official schema compiles")
}

fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

#[test]
fn every_bundled_exercise_is_a_valid_asyncapi_3_document() {
    let Some(schema) = official_schema() else {
        return;
    };
    let validator = validator(&schema);
    let catalog = Catalog::bundled();
    let exercises = catalog.exercises();
    assert!(exercises.len() > 10, "the bundled exercises");
    let designs = exercises.iter().flat_map(|exercise| {
        [
            (exercise, "default", Choices::new()),
            (exercise, "solution", exercise.solution.knobs.clone()),
        ]
    });
    for (exercise, design, choices) in designs {
        let document = document(exercise, &choices).unwrap();
        let errors = errors(&validator, &document);
        assert!(
            errors.is_empty(),
            "{} ({design}): {errors:#?}\n{document:#}",
            exercise.id
        );
        // Every engine channel is a channel at its name, and every producer and consumer an operation.
        let scenario = exercise
            .scenario_for(&exercise.normalize(&choices).unwrap())
            .unwrap();
        let addresses: Vec<&str> = document["channels"]
            .as_object()
            .unwrap()
            .values()
            .map(|c| c["address"].as_str().unwrap())
            .collect();
        for channel in &scenario.channels {
            assert!(
                addresses.contains(&channel.name.as_str()),
                "{}",
                channel.name
            );
        }
        let operations = document["operations"].as_object().unwrap();
        let sends = operations
            .values()
            .filter(|o| o["action"] == "send")
            .count();
        let receives = operations
            .values()
            .filter(|o| o["action"] == "receive")
            .count();
        assert!(sends >= scenario.producers.len(), "{}", exercise.id);
        assert!(receives >= scenario.consumers.len(), "{}", exercise.id);
    }
}

#[test]
fn the_schema_catches_a_broken_document() {
    let Some(schema) = official_schema() else {
        return;
    };
    let validator = validator(&schema);
    let catalog = Catalog::bundled();
    let exercise = catalog.get("correlation-journey").unwrap();
    let mut broken = document(&exercise, &Choices::new()).unwrap();
    // An operation must send or receive, nothing else.
    let operation = broken["operations"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    operation["action"] = Value::from("publish");
    assert!(!errors(&validator, &broken).is_empty());
    // A payload schema that is no JSON Schema: the official schema checks payloads too.
    let mut bad_payload = document(&exercise, &Choices::new()).unwrap();
    bad_payload["components"]["schemas"]["OrderPlaced"] = serde_json::json!({ "type": 5 });
    assert!(!errors(&validator, &bad_payload).is_empty());
    let mut wrong_version = document(&exercise, &Choices::new()).unwrap();
    wrong_version["asyncapi"] = Value::from("2.6.0");
    assert!(!errors(&validator, &wrong_version).is_empty());
}

#[test]
fn payload_schemas_are_inferred_from_the_producers_payload() {
    let catalog = Catalog::bundled();
    let with_payload = catalog
        .exercises()
        .iter()
        .find(|e| {
            e.schemas.is_empty()
                && e.scenario
                    .producers
                    .iter()
                    .any(|p| p.payload.as_object().is_some_and(|o| !o.is_empty()))
        })
        .cloned()
        .expect("an exercise whose producer has a payload");
    let producer = with_payload
        .scenario
        .producers
        .iter()
        .find(|p| p.payload.as_object().is_some_and(|o| !o.is_empty()))
        .unwrap();
    let document = document(&with_payload, &Choices::new()).unwrap();
    let message_key = if producer.schema_version == 1 {
        producer.event_type.clone()
    } else {
        format!("{}.v{}", producer.event_type, producer.schema_version)
    };
    let schema = &document["components"]["schemas"][&message_key];
    assert_eq!(schema["type"], "object", "{document:#}");
    for (field, value) in producer.payload.as_object().unwrap() {
        let expected = match value {
            Value::String(_) => "string",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_f64() => "number",
            Value::Number(_) => "integer",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Null => "null",
        };
        assert_eq!(schema["properties"][field]["type"], expected, "{field}");
    }
    assert_eq!(schema["x-eda-source"], "inferred");
    let message = &document["components"]["messages"][&message_key];
    assert_eq!(message["examples"][0]["payload"], producer.payload);
    assert_eq!(
        message["headers"]["properties"]["schema_version"]["const"],
        producer.schema_version
    );
}

#[test]
fn a_declared_schema_wins_over_the_inferred_one() {
    let catalog = Catalog::bundled();
    let exercise = catalog.get("schema-evolution").expect("schema-evolution");
    let document = document(&exercise, &Choices::new()).unwrap();
    let v1 = &document["components"]["schemas"]["OrderPlaced"];
    let v2 = &document["components"]["schemas"]["OrderPlaced.v2"];
    for schema in [v1, v2] {
        assert_eq!(schema["x-eda-source"], "declared", "{document:#}");
        assert_eq!(schema["properties"]["currency"]["enum"][0], "EUR");
    }
    assert_eq!(
        v1["required"],
        serde_json::json!(["order_total", "currency"])
    );
    assert_eq!(
        v2["required"],
        serde_json::json!(["order_total", "currency", "delivery_slot"])
    );
    // The producer's payload and its v2 release's payload each satisfy their version's declared schema,
    // and the v1 payload lacks v2's new field: the schemas tell the versions apart.
    let producer = &exercise.scenario.producers[0];
    let release = &producer.releases[0];
    assert_eq!(release.schema_version, Some(2));
    let v2_payload = release.payload.as_ref().expect("the release's payload");
    let v1_schema = jsonschema::validator_for(v1).expect("a JSON Schema");
    let v2_schema = jsonschema::validator_for(v2).expect("a JSON Schema");
    assert!(
        v1_schema.is_valid(&producer.payload),
        "{}",
        producer.payload
    );
    assert!(v2_schema.is_valid(v2_payload), "{v2_payload}");
    assert!(!v2_schema.is_valid(&producer.payload));
    // The producer's send operation lists both versions it publishes over the run.
    let send = &document["operations"]["web-shop.send.OrderPlaced"]["messages"];
    assert_eq!(send.as_array().map(Vec::len), Some(2), "{send:#}");
}

#[tokio::test]
async fn an_exercise_is_served_as_asyncapi() {
    let state = AppState::new(Config::default());
    let response = app(state.clone())
        .oneshot(
            Request::get("/api/exercises/correlation-journey/asyncapi")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let served: Value = serde_json::from_slice(&body).unwrap();
    let exercise = state.catalog.get("correlation-journey").unwrap();
    assert_eq!(served, document(&exercise, &Choices::new()).unwrap());
    assert_eq!(served["asyncapi"], "3.0.0");

    let missing = app(state)
        .oneshot(
            Request::get("/api/exercises/no-such-exercise/asyncapi")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[test]
fn a_design_that_rebuilds_the_system_changes_its_document() {
    let catalog = Catalog::bundled();
    let changed: Vec<String> = catalog
        .exercises()
        .iter()
        .filter(|e| {
            document(e, &Choices::new()).unwrap() != document(e, &e.solution.knobs).unwrap()
        })
        .map(|e| e.id.clone())
        .collect();
    assert!(
        !changed.is_empty(),
        "no solution changes its system's document"
    );
    let exercise = catalog.get("poison-message").unwrap();
    let mut unknown = Choices::new();
    unknown.insert("no-such-knob".to_owned(), "x".to_owned());
    assert!(document(&exercise, &unknown).is_err());
}

#[tokio::test]
async fn an_unknown_knob_in_the_query_is_refused_with_a_sentence() {
    let response = app(AppState::new(Config::default()))
        .oneshot(
            Request::get("/api/exercises/poison-message/asyncapi?no-such-knob=x")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("no-such-knob"),
        "{error}"
    );
}
