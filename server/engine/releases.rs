//! Releases: a producer or consumer that changes during the run, at a time the scenario sets, and the
//! producer's pipeline that checks a release against its consumers' contracts first.
//!
//! A producer release changes the event it publishes (its schema version, its payload or both). When
//! the scenario has contracts for that event type, the release goes through the producer's pipeline:
//! every contract is checked against the new event, and one failed clause turns the build red and
//! keeps the release out of production. A consumer release changes the schema versions it reads and
//! the payload fields its code uses. With releases at set times an exercise can ask for a rollout
//! order, and with contracts it can ask which breaking change a contract catches.
use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{ConsumerId, Millis, ProducerId};
use super::message::{Attachment, Payload};
use super::trace::TraceKind;
use super::world::{Pending, World};

/// Problems one red build lists; beyond it the list ends with a count, as a CI log would fold.
pub const MAX_PIPELINE_PROBLEMS: usize = 8;

/// A change a producer ships at `at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProducerRelease {
    /// What the release is called in the log and the goals, such as "v2" or "gift wrap".
    pub name: String,
    pub at_ms: Millis,
    /// The schema version it publishes from then on; unchanged when left out.
    #[serde(default)]
    pub schema_version: Option<u32>,
    /// The payload it publishes from then on; unchanged when left out.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub payload: Option<Value>,
    /// Dual publishing: keep publishing the version it had before, beside the new one, as a second
    /// message of the same order, until a later release without it. Consumers that read one version
    /// pick theirs with a subscription filter on `schema_version`.
    #[serde(default)]
    pub dual_publish: bool,
}

/// A change a consumer ships at `at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerRelease {
    pub name: String,
    pub at_ms: Millis,
    /// The schema versions its code reads from then on; unchanged when left out.
    #[serde(default)]
    pub schema_versions: Option<Vec<u32>>,
    /// The payload fields its code uses from then on; unchanged when left out.
    #[serde(default)]
    pub reads_fields: Option<Vec<String>>,
    /// Topics: its subscription's attribute filter from then on (such as `schema_version`, to take
    /// the version its new code reads during dual publishing); unchanged when left out.
    #[serde(default)]
    pub filter_attributes: Option<BTreeMap<String, super::scenario::AttributeMatch>>,
}

/// What a consumer's team declares it relies on in one event type: the contract the producer's
/// pipeline checks every release against (a consumer-driven contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractSpec {
    /// The consumer whose expectations these are.
    pub name: String,
    pub event_type: String,
    /// The schema versions it accepts; any when empty.
    #[serde(default)]
    pub schema_versions: Vec<u32>,
    /// Payload fields, each with whether the contract requires it. A field set to `false` is only
    /// known to the contract, which matters to a closed one.
    #[serde(default)]
    pub requires: BTreeMap<String, bool>,
    /// Payload fields whose value must be one of these.
    #[serde(default)]
    pub allowed_values: BTreeMap<String, Vec<Value>>,
    /// Whether a field the contract does not name breaks it.
    #[serde(default)]
    pub closed: bool,
}

/// What became of a producer's release: shipped, or held back by a red build with its problems.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReleaseOutcome {
    pub name: Arc<str>,
    pub at: Millis,
    pub deployed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Arc<str>>,
}

impl ContractSpec {
    /// Every clause of the contract that an event of `event_type` at `version` with `payload` breaks,
    /// in words; empty when it passes or the contract is about another event type.
    pub fn problems(&self, event_type: &str, version: u32, payload: &Value) -> Vec<String> {
        let who = &self.name;
        let mut problems = Vec::new();
        if self.event_type != event_type {
            return problems;
        }
        if !self.schema_versions.is_empty() && !self.schema_versions.contains(&version) {
            let accepted: Vec<String> = self
                .schema_versions
                .iter()
                .map(|v| format!("v{v}"))
                .collect();
            problems.push(format!(
                "{who}'s contract accepts {event_type} {} only, and the release publishes v{version}",
                accepted.join(", ")
            ));
        }
        let fields = payload.as_object();
        let has = |field: &str| fields.is_some_and(|f| f.contains_key(field));
        for (field, required) in &self.requires {
            if *required && !has(field) {
                problems.push(format!(
                    "{who}'s contract requires `{field}`, and the release does not send it"
                ));
            }
        }
        for (field, allowed) in &self.allowed_values {
            if let Some(value) = fields.and_then(|f| f.get(field))
                && !allowed.contains(value)
            {
                let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
                problems.push(format!(
                    "{who}'s contract allows `{field}` to be {} only, and the release sends {value}",
                    allowed.join(" or ")
                ));
            }
        }
        if self.closed
            && let Some(fields) = fields
        {
            for field in fields.keys() {
                if !self.requires.contains_key(field) && !self.allowed_values.contains_key(field) {
                    problems.push(format!(
                        "{who}'s contract allows no field it does not name, and the release sends `{field}`"
                    ));
                }
            }
        }
        problems
    }
}

impl World {
    /// Schedules the scenario's releases.
    pub(crate) fn schedule_releases(&mut self) {
        for producer in 0..self.producers.len() {
            for (index, release) in self.producers[producer].spec.releases.iter().enumerate() {
                let event = Pending::ProducerRelease {
                    producer: ProducerId(producer as u16),
                    index,
                };
                self.scheduler.schedule(release.at_ms, event);
            }
        }
        for consumer in 0..self.consumers.len() {
            for (index, release) in self.consumers[consumer].spec.releases.iter().enumerate() {
                let event = Pending::ConsumerRelease {
                    consumer: ConsumerId(consumer as u16),
                    index,
                };
                self.scheduler.schedule(release.at_ms, event);
            }
        }
    }

    /// A producer release is due: the pipeline checks it against the contracts, then it ships or
    /// the build goes red.
    pub(crate) fn release_producer(&mut self, producer: ProducerId, index: usize) {
        let state = &self.producers[producer.index()];
        let Some(release) = state.spec.releases.get(index).cloned() else {
            return;
        };
        let version = release.schema_version.unwrap_or(state.spec.schema_version);
        let payload = release
            .payload
            .clone()
            .unwrap_or_else(|| serde_json::Value::clone(&state.payload));
        let mut problems: Vec<Arc<str>> = self
            .contracts
            .iter()
            .flat_map(|contract| contract.problems(&state.event_type, version, &payload))
            .map(Arc::from)
            .collect();
        let name: Arc<str> = Arc::from(release.name.as_str());
        if !problems.is_empty() {
            if problems.len() > MAX_PIPELINE_PROBLEMS {
                let more = problems.len() - (MAX_PIPELINE_PROBLEMS - 1);
                problems.truncate(MAX_PIPELINE_PROBLEMS - 1);
                problems.push(Arc::from(format!("and {more} more")));
            }
            self.producers[producer.index()].last_release = Some(ReleaseOutcome {
                name: name.clone(),
                at: self.now,
                deployed: false,
                problems: problems.clone(),
            });
            self.record(TraceKind::ReleaseBlocked {
                release: name,
                producer,
                problems,
            });
            return;
        }
        let checked = !self.contracts.is_empty();
        let state = &mut self.producers[producer.index()];
        let before = (state.spec.schema_version, state.payload.clone());
        state.dual = (release.dual_publish && before.0 != version).then_some(before);
        state.spec.schema_version = version;
        state.payload = Arc::new(Payload::new(payload, Attachment::of(&state.spec)));
        state.last_release = Some(ReleaseOutcome {
            name: name.clone(),
            at: self.now,
            deployed: true,
            problems: Vec::new(),
        });
        let summary = match state.dual {
            Some((old, _)) => format!(
                "publishes {0} v{version} and v{old} side by side",
                state.event_type
            ),
            None => format!("publishes {} v{version}", state.event_type),
        };
        self.record(TraceKind::ReleaseDeployed {
            release: name,
            producer: Some(producer),
            consumer: None,
            summary: Arc::from(summary),
            checked,
        });
    }

    pub(crate) fn release_consumer(&mut self, consumer: ConsumerId, index: usize) {
        let state = &mut self.consumers[consumer.index()];
        let Some(release) = state.spec.releases.get(index).cloned() else {
            return;
        };
        let mut summary = Vec::new();
        if let Some(versions) = release.schema_versions {
            let list: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
            summary.push(format!("reads {}", list.join(", ")));
            state.spec.schema_versions = versions;
        }
        if let Some(fields) = release.reads_fields {
            summary.push(format!("uses {}", fields.join(", ")));
            state.spec.reads_fields = fields;
        }
        if let Some(filter) = release.filter_attributes {
            let conditions: Vec<String> = filter.keys().cloned().collect();
            summary.push(format!(
                "filters its subscription on {}",
                conditions.join(", ")
            ));
            state.spec.filter_attributes = filter;
        }
        self.record(TraceKind::ReleaseDeployed {
            release: Arc::from(release.name.as_str()),
            producer: None,
            consumer: Some(consumer),
            summary: Arc::from(summary.join("; ")),
            checked: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contract() -> ContractSpec {
        ContractSpec {
            name: "shipping".to_owned(),
            event_type: "OrderPlaced".to_owned(),
            schema_versions: vec![1],
            requires: BTreeMap::from([("address".to_owned(), true), ("total".to_owned(), false)]),
            allowed_values: BTreeMap::from([("currency".to_owned(), vec![json!("EUR")])]),
            closed: true,
        }
    }

    #[test]
    fn a_contract_names_every_clause_an_event_breaks() {
        let ok = json!({"address": "Main St 1", "total": 5, "currency": "EUR"});
        assert!(contract().problems("OrderPlaced", 1, &ok).is_empty());
        assert!(
            contract()
                .problems("OrderShipped", 9, &json!({}))
                .is_empty()
        );
        let bad = json!({"total": 5, "currency": "USD", "gift_wrap": true});
        let problems = contract().problems("OrderPlaced", 2, &bad);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("accepts OrderPlaced v1 only"));
        assert!(problems[1].contains("requires `address`"));
        assert!(problems[2].contains("\"EUR\" only"));
        assert!(problems[3].contains("`gift_wrap`"));
    }
}
