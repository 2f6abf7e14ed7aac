//! Checks what changes over a run before it starts: the services' releases, the consumers' contracts
//! and the schemas a channel's registry judges by.
use std::collections::BTreeSet;

use super::error::ScenarioError;
use super::scenario::Scenario;
use super::validate::{duration, err, name};

/// Releases one service may ship in a run: a rollout plan, not a deployment history.
pub const MAX_RELEASES: usize = 8;
/// Contracts one scenario may have, one per consumer and event type at most.
pub const MAX_CONTRACTS: usize = 16;
/// Payload schemas one scenario may declare.
pub const MAX_SCHEMAS: usize = 32;

pub(crate) fn releases_and_contracts(scenario: &Scenario) -> Result<(), ScenarioError> {
    for (i, producer) in scenario.producers.iter().enumerate() {
        let field = format!("producers[{i}].releases");
        if producer.releases.len() > MAX_RELEASES {
            return err(field, format!("at most {MAX_RELEASES} releases"));
        }
        for (r, release) in producer.releases.iter().enumerate() {
            name(&format!("{field}[{r}].name"), &release.name)?;
            duration(&format!("{field}[{r}].at_ms"), release.at_ms)?;
            if release.schema_version == Some(0) {
                return err(
                    format!("{field}[{r}].schema_version"),
                    "schema versions start at 1",
                );
            }
        }
    }
    for (i, consumer) in scenario.consumers.iter().enumerate() {
        let field = format!("consumers[{i}].releases");
        if consumer.releases.len() > MAX_RELEASES {
            return err(field, format!("at most {MAX_RELEASES} releases"));
        }
        for (r, release) in consumer.releases.iter().enumerate() {
            name(&format!("{field}[{r}].name"), &release.name)?;
            duration(&format!("{field}[{r}].at_ms"), release.at_ms)?;
            if release.schema_versions.as_ref().is_some_and(Vec::is_empty) {
                return err(
                    format!("{field}[{r}].schema_versions"),
                    "a consumer reads at least one schema version",
                );
            }
        }
    }
    contracts(scenario)?;
    registries(scenario)
}

fn contracts(scenario: &Scenario) -> Result<(), ScenarioError> {
    if scenario.contracts.len() > MAX_CONTRACTS {
        return err("contracts", format!("at most {MAX_CONTRACTS} contracts"));
    }
    let mut seen = BTreeSet::new();
    for (i, contract) in scenario.contracts.iter().enumerate() {
        let field = format!("contracts[{i}]");
        if !scenario.consumers.iter().any(|c| c.name == contract.name) {
            return err(
                format!("{field}.name"),
                format!(
                    "there is no consumer named {:?}; a contract speaks for one consumer",
                    contract.name
                ),
            );
        }
        if !seen.insert((&contract.name, &contract.event_type)) {
            return err(
                format!("{field}.name"),
                format!(
                    "{:?} has two contracts for {}",
                    contract.name, contract.event_type
                ),
            );
        }
        if contract.schema_versions.contains(&0) {
            return err(
                format!("{field}.schema_versions"),
                "schema versions start at 1",
            );
        }
    }
    Ok(())
}

/// A channel with a registry needs a schema for every version published on it, or the registry
/// could only refuse them.
fn registries(scenario: &Scenario) -> Result<(), ScenarioError> {
    if scenario.schemas.len() > MAX_SCHEMAS {
        return err("schemas", format!("at most {MAX_SCHEMAS} schemas"));
    }
    for (i, schema) in scenario.schemas.iter().enumerate() {
        if !schema.schema.is_object() {
            return err(
                format!("schemas[{i}].schema"),
                "must be a JSON Schema object (a table)",
            );
        }
    }
    for (c, channel) in scenario.channels.iter().enumerate() {
        if channel.registry.is_none() {
            continue;
        }
        for producer in scenario
            .producers
            .iter()
            .filter(|p| p.channel == channel.name)
        {
            let versions = std::iter::once(producer.schema_version)
                .chain(producer.releases.iter().filter_map(|r| r.schema_version));
            for version in versions {
                let declared = scenario
                    .schemas
                    .iter()
                    .any(|s| s.event_type == producer.event_type && s.version == version);
                if !declared {
                    return err(
                        format!("channels[{c}].registry"),
                        format!(
                            "{} publishes {} v{version} here, which has no schema; the registry judges versions by their schemas, so declare one",
                            producer.name, producer.event_type
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}
