//! Change over a run: releases at set times, a producer's pipeline that checks the consumers'
//! contracts, and a channel's schema registry that refuses incompatible versions at publish time.
use eda_playground::engine::{TraceKind, World};

use crate::support::*;

/// OrderPlaced v1 until a v2 release at 2 s that adds a required field; a tolerant v1 reader.
fn registry_scenario(mode: &str) -> String {
    format!(
        r#"
[[channels]]
name = "orders"
kind = "topic"
registry = {{ compatibility = "{mode}" }}
[[producers]]
name = "shop"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 40
payload = {{ total = 5 }}
releases = [{{ name = "v2", at_ms = 2000, schema_version = 2, payload = {{ total = 5, slot = "18:00" }} }}]
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 10
design = {{ tolerant_reader = true }}
effect = {{ kind = "once", label = "charged" }}
[[schemas]]
event_type = "OrderPlaced"
version = 1
schema = {{ type = "object", required = ["total"], properties = {{ total = {{ type = "number" }} }} }}
[[schemas]]
event_type = "OrderPlaced"
version = 2
schema = {{ type = "object", required = ["total", "slot"], properties = {{ total = {{ type = "number" }}, slot = {{ type = "string" }} }} }}
"#
    )
}

#[test]
fn a_registry_refuses_an_incompatible_version_at_publish_time() {
    let mut world = world(&registry_scenario("backward"), 1);
    let events = run(&mut world, 10_000);
    let refused = of_type(&events, "schema_refused");
    // Every v2 publish from 2 s on is refused, before it is published.
    assert_eq!(refused.len(), 20, "{refused:?}");
    assert!(refused.iter().all(|e| e.at >= 2_000));
    let TraceKind::SchemaRefused { reason, .. } = &refused[0].kind else {
        unreachable!()
    };
    assert!(
        reason.contains("BACKWARD") && reason.contains("`slot`"),
        "{reason}"
    );
    assert_eq!(of_type(&events, "published").len(), 20);
    assert!(
        of_type(&events, "publish_failed").is_empty(),
        "said once, by schema_refused"
    );
    let report = &world.report()[0];
    assert_eq!(
        report.missing.len(),
        20,
        "the refused orders never reach billing"
    );
}

#[test]
fn a_compatible_version_is_registered_once_and_travels() {
    for mode in ["forward", "forward_transitive", "none"] {
        let mut world = world(&registry_scenario(mode), 1);
        let events = run(&mut world, 10_000);
        assert!(of_type(&events, "schema_refused").is_empty(), "{mode}");
        let registered = of_type(&events, "schema_registered");
        assert_eq!(registered.len(), 1, "{mode}: {registered:?}");
        assert_eq!(registered[0].at, 2_000);
        assert!(world.report()[0].missing.is_empty(), "{mode}");
    }
}

#[test]
fn a_registry_needs_a_schema_for_every_version_published_on_it() {
    let text = registry_scenario("full").replace("version = 2\n", "version = 3\n");
    let error = World::new(&scenario(&text), 1).err().expect("refused");
    assert_eq!(error.field, "channels[0].registry");
    assert!(error.reason.contains("OrderPlaced v2"), "{}", error.reason);
}

const CONTRACTS: &str = r#"
[[channels]]
name = "orders"
kind = "topic"
[[producers]]
name = "shop"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 50
payload = { total = 5, address = "1 Main St" }
releases = [
  { name = "gift wrap", at_ms = 1000, payload = { total = 5, address = "1 Main St", gift = true } },
  { name = "rename", at_ms = 3000, payload = { grand_total = 5, address = "1 Main St" } },
]
[[consumers]]
name = "invoicing"
channel = "orders"
processing_ms = 10
reads_fields = ["total"]
effect = { kind = "once", label = "invoiced" }
[[contracts]]
name = "invoicing"
event_type = "OrderPlaced"
requires = { total = true }
"#;

#[test]
fn a_pipeline_ships_a_release_that_keeps_every_contract_and_holds_back_one_that_breaks_one() {
    let mut world = world(CONTRACTS, 1);
    let events = run(&mut world, 10_000);
    let deployed = of_type(&events, "release_deployed");
    assert_eq!(deployed.len(), 1);
    assert!(
        matches!(&deployed[0].kind, TraceKind::ReleaseDeployed { release, checked: true, .. } if &**release == "gift wrap")
    );
    let blocked = of_type(&events, "release_blocked");
    assert_eq!(blocked.len(), 1);
    let TraceKind::ReleaseBlocked {
        release, problems, ..
    } = &blocked[0].kind
    else {
        unreachable!()
    };
    assert_eq!(&**release, "rename");
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("requires `total`"), "{problems:?}");
    // The producer keeps publishing the gift-wrap payload, which invoicing reads.
    assert!(of_type(&events, "processing_failed").is_empty());
    assert!(world.report()[0].missing.is_empty());
}

#[test]
fn without_a_contract_a_breaking_release_ships_and_the_consumer_fails_on_the_missing_field() {
    let text = CONTRACTS.replace(
        "requires = { total = true }",
        "requires = { total = false }",
    );
    let mut world = world(&text, 1);
    let events = run(&mut world, 10_000);
    assert_eq!(of_type(&events, "release_deployed").len(), 2);
    let failed = of_type(&events, "processing_failed");
    assert!(!failed.is_empty());
    assert!(failed.iter().all(|e| e.at >= 3_000));
    assert!(failed.iter().all(|e| matches!(
        &e.kind,
        TraceKind::ProcessingFailed { reason, .. } if *reason == eda_playground::engine::FailureReason::MissingField
    )));
}

#[test]
fn a_consumer_release_changes_the_versions_it_reads_at_its_time() {
    // Consumers first, under a mode that lets v2 through: the v2-only reader fails the v1 events
    // published between its release (1 s) and the producer's (2 s).
    let text = registry_scenario("none").replace(
        "effect = { kind = \"once\", label = \"charged\" }",
        "effect = { kind = \"once\", label = \"charged\" }\nreleases = [{ name = \"v2 code\", at_ms = 1000, schema_versions = [2] }]",
    );
    let mut world = world(&text, 1);
    let events = run(&mut world, 10_000);
    let failed = of_type(&events, "processing_failed");
    assert!(!failed.is_empty());
    let first = failed.iter().map(|e| e.at).min().unwrap();
    assert!(first >= 1_000, "{first}");
    // Only the ten v1 orders published between the two releases fail, for good; the v2 ones are read.
    assert_eq!(of_type(&events, "dead_lettered").len(), 10);
}

#[test]
fn an_upcaster_lets_a_new_reader_take_old_events_without_their_new_fields() {
    // The v2 code ships first (1 s) and needs `slot`, which v1 events lack; with an upcaster it
    // converts them, and nothing fails.
    let text = registry_scenario("none")
        .replace(
            "effect = { kind = \"once\", label = \"charged\" }",
            "effect = { kind = \"once\", label = \"charged\" }\nreleases = [{ name = \"v2 code\", at_ms = 1000, schema_versions = [2], reads_fields = [\"total\", \"slot\"] }]",
        )
        .replace(
            "design = { tolerant_reader = true }",
            "design = { tolerant_reader = true, upcast = true }",
        );
    let mut world = world(&text, 1);
    let events = run(&mut world, 10_000);
    assert!(of_type(&events, "processing_failed").is_empty());
    assert!(world.report()[0].missing.is_empty());
}

/// The shop moves to v2 at 2 s and keeps publishing v1 beside it: the old reader and the new one each
/// take their version with a subscription filter on `schema_version`, and each order reaches each once.
const DUAL: &str = r#"
[[channels]]
name = "orders"
kind = "topic"
[[producers]]
name = "shop"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 40
payload = { total = 5 }
releases = [{ name = "v2", at_ms = 2000, schema_version = 2, payload = { total = 5, slot = "18:00" }, dual_publish = true }]
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 10
schema_versions = [1]
filter_attributes = { schema_version = { equals = 1 } }
effect = { kind = "once", label = "charged" }
[[consumers]]
name = "delivery"
channel = "orders"
processing_ms = 10
schema_versions = [2]
design = { upcast = true }
effect = { kind = "once", label = "planned" }
releases = [{ name = "v2 only", at_ms = 2000, filter_attributes = { schema_version = { equals = 2 } } }]
"#;

#[test]
fn dual_publishing_sends_both_versions_and_filters_let_each_reader_take_its_own() {
    let mut dual = world(DUAL, 1);
    let events = run(&mut dual, 10_000);
    let published = of_type(&events, "published");
    // 20 orders before the release, then 20 in two versions each.
    assert_eq!(published.len(), 60);
    let deployed = of_type(&events, "release_deployed");
    assert!(
        matches!(&deployed[0].kind, TraceKind::ReleaseDeployed { summary, .. } if summary.contains("v2 and v1 side by side")),
        "{deployed:?}"
    );
    for report in dual.report() {
        assert!(
            report.missing.is_empty(),
            "{}: {:?}",
            report.name,
            report.missing
        );
    }
    assert!(of_type(&events, "duplicate_effect").is_empty());
    assert!(of_type(&events, "processing_failed").is_empty());
    // Without its filter, a reader that takes both versions applies the order twice.
    let unfiltered = DUAL.replace(
        "filter_attributes = { schema_version = { equals = 1 } }\n",
        "design = { tolerant_reader = true }\n",
    );
    let mut both = world(&unfiltered, 1);
    let events = run(&mut both, 10_000);
    assert_eq!(of_type(&events, "duplicate_effect").len(), 20);
}
