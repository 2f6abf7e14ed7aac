//! "Take the design home": every bundled exercise's export, with its default Design and with its
//! solution, loaded into the real brokers, and the objects read back with their settings.
use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::stream;
use eda_playground::exercise::export::{Format, export};
use eda_playground::exercise::{Catalog, Choices};
use serde_json::Value;

use crate::nats::Nats;
use crate::rabbitmq::RabbitMq;

/// Every export of every bundled exercise: (exercise id, the Design's name, the file).
fn every_export(format: Format) -> Vec<(String, &'static str, Value)> {
    let mut files = Vec::new();
    for exercise in Catalog::bundled().exercises() {
        for (design, choices) in [
            ("default", Choices::new()),
            ("solution", exercise.solution.knobs.clone()),
        ] {
            let file = export(&exercise, &choices, format)
                .unwrap_or_else(|e| panic!("{}: {e}", exercise.id))
                .file;
            files.push((exercise.id.clone(), design, file));
        }
    }
    files
}

/// Imports every export through the management API and reads each queue back. Returns how many
/// files were imported.
pub(crate) async fn rabbitmq(broker: &RabbitMq) -> usize {
    let files = every_export(Format::Rabbitmq);
    for (exercise, design, file) in &files {
        let (status, body) = broker.api_post("/api/definitions", file).await;
        assert!(
            (200..300).contains(&status),
            "{exercise} ({design}): import refused with {status}: {body}"
        );
        let vhost = file["vhosts"][0]["name"].as_str().expect("a vhost");
        for queue in file["queues"].as_array().expect("queues") {
            let name = queue["name"].as_str().expect("a queue name");
            let (status, found) = broker
                .api_get(&format!("/api/queues/{vhost}/{}", encode(name)))
                .await;
            assert_eq!(status, 200, "{exercise}: queue {name} exists");
            assert_eq!(found["durable"], queue["durable"], "{exercise}: {name}");
            for (key, value) in queue["arguments"].as_object().expect("arguments") {
                assert_eq!(
                    &found["arguments"][key], value,
                    "{exercise} ({design}): {name} {key}"
                );
            }
        }
        for binding in file["bindings"].as_array().expect("bindings") {
            let (status, found) = broker
                .api_get(&format!(
                    "/api/bindings/{vhost}/e/{}/q/{}",
                    encode(binding["source"].as_str().unwrap_or_default()),
                    encode(binding["destination"].as_str().unwrap_or_default())
                ))
                .await;
            assert_eq!(status, 200);
            assert!(
                found
                    .as_array()
                    .is_some_and(|b| b.iter().any(|b| b["routing_key"] == binding["routing_key"])),
                "{exercise}: binding {binding}"
            );
        }
        // An import leaves existing queues as they are, so each Design gets a fresh vhost.
        let (status, body) = broker.api_delete(&format!("/api/vhosts/{vhost}")).await;
        assert!((200..300).contains(&status), "{exercise}: {status} {body}");
    }
    files.len()
}

/// Creates every export's streams and consumers through async-nats from the config JSON, reads
/// them back, and removes them again (two exercises may use the same subject). Returns how many
/// files were loaded.
pub(crate) async fn nats(server: &Nats) -> usize {
    let files = every_export(Format::Nats);
    for (exercise, design, file) in &files {
        let mut created = Vec::new();
        for config in file["streams"].as_array().expect("streams") {
            let parsed: stream::Config = serde_json::from_value(config.clone())
                .unwrap_or_else(|e| panic!("{exercise}: a stream config: {e}"));
            let mut stream = server
                .jetstream
                .create_stream(parsed)
                .await
                .unwrap_or_else(|e| panic!("{exercise} ({design}): stream {config}: {e}"));
            let info = serde_json::to_value(&stream.info().await.expect("stream info").config)
                .expect("a config serializes");
            for key in [
                "name",
                "subjects",
                "retention",
                "storage",
                "max_msgs",
                "max_age",
                "max_msg_size",
            ] {
                assert_eq!(info[key], config[key], "{exercise}: stream {key}");
            }
            created.push(config["name"].as_str().expect("a name").to_owned());
        }
        for entry in file["consumers"].as_array().expect("consumers") {
            let config = &entry["config"];
            let parsed: pull::Config = serde_json::from_value(config.clone())
                .unwrap_or_else(|e| panic!("{exercise}: a consumer config: {e}"));
            let stream = server
                .jetstream
                .get_stream(entry["stream"].as_str().expect("a stream"))
                .await
                .expect("the stream");
            let mut consumer = stream
                .create_consumer(parsed)
                .await
                .unwrap_or_else(|e| panic!("{exercise} ({design}): consumer {config}: {e}"));
            let info = serde_json::to_value(&consumer.info().await.expect("consumer info").config)
                .expect("a config serializes");
            for key in [
                "ack_policy",
                "ack_wait",
                "max_deliver",
                "max_ack_pending",
                "deliver_policy",
                "opt_start_seq",
                "durable_name",
            ] {
                if !config[key].is_null() {
                    assert_eq!(info[key], config[key], "{exercise}: consumer {key}");
                }
            }
        }
        for name in created {
            server
                .jetstream
                .delete_stream(&name)
                .await
                .unwrap_or_else(|e| panic!("{exercise}: delete {name}: {e}"));
        }
    }
    files.len()
}

/// A name as one path segment of the management API.
fn encode(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c.to_string(),
            other => format!("%{:02X}", other as u32),
        })
        .collect()
}
