//! Helpers shared by the engine tests.
use eda_playground::engine::{
    Command, ConsumerReport, Millis, Scenario, TraceEvent, TraceKind, World,
};

pub(crate) fn scenario(text: &str) -> Scenario {
    toml::from_str(text).unwrap_or_else(|e| panic!("test scenario does not parse: {e}"))
}

pub(crate) fn world(text: &str, seed: u64) -> World {
    World::new(&scenario(text), seed).unwrap_or_else(|e| panic!("test scenario is invalid: {e}"))
}

/// Runs a world to `until` and returns everything it traced.
pub(crate) fn run(world: &mut World, until: Millis) -> Vec<TraceEvent> {
    world.advance_to(until);
    world.drain_trace()
}

pub(crate) fn apply(world: &mut World, at: Millis, command: &str) {
    let command: Command =
        serde_json::from_str(command).unwrap_or_else(|e| panic!("bad test command: {e}"));
    world
        .apply(at, command)
        .unwrap_or_else(|e| panic!("command refused: {e}"));
}

/// The events of one type, by their serialized name.
pub(crate) fn of_type<'a>(events: &'a [TraceEvent], name: &str) -> Vec<&'a TraceEvent> {
    events
        .iter()
        .filter(|e| type_name(&e.kind) == name)
        .collect()
}

pub(crate) fn count(events: &[TraceEvent], name: &str) -> usize {
    of_type(events, name).len()
}

pub(crate) fn type_name(kind: &TraceKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) fn report_for(world: &World, consumer: &str) -> ConsumerReport {
    world
        .report()
        .into_iter()
        .find(|r| r.name == consumer)
        .unwrap_or_else(|| panic!("no consumer {consumer}"))
}
