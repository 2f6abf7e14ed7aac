//! Exercises: files that describe a misbehaving system, the knobs a learner may turn, and
//! the goals that say when the design is right.
//!
//! # Layout
//! - `model`: the file format (serde + JSON Schema), the loaded [`Exercise`], its knobs.
//! - `knob_fields`: a knob's field (or a path into it) read and written in a scenario or a design;
//!   range knobs expanded into options.
//! - `bill`: the run's bill at the exercise's prices, and the goals that bound it.
//! - `design`: the learner's [`Design`] (every knob choice) and [`start_world`], the one way a
//!   Design becomes a running world for the page, `check`, `prove` and `run`.
//! - `load`: text to a checked exercise; errors with file, line, column and field.
//! - `brokers`: what RabbitMQ, Kafka, SQS/SNS and NATS JetStream call each setting (`GET /api/brokers`).
//! - `export`: an exercise's system with a Design as RabbitMQ definitions or NATS JetStream configs.
//! - `asyncapi`: an exercise's system as an AsyncAPI 3.0.0 document; `payload_schema`: the declared
//!   JSON Schemas of the payloads, or one inferred from an example payload.
//! - `otlp`: one correlation flow of a run as an OpenTelemetry trace (OTLP/JSON).
//! - `markdown`: instructions, hints and debrief to safe HTML.
//! - `goals`: typed goals and the [`GoalTracker`] that evaluates them from a run; `alert_goals` and
//!   `release_goals`: the goals on alert rules, and on releases and schema registries.
//! - `catalog`: bundled and on-disk exercises, errors per file, reloads on change.
//! - `bundled`: the files of `exercises/`, compiled into the binary.
//! - `runner`: one headless run of an exercise with given knobs and seed.
//! - `chaos`: an exercise's `[chaos]` profile and the nemesis that draws a fault schedule per seed.
//! - `prove`: a Design over many seeded chaos runs: pass rate per goal, shrunk counterexamples.
//! - `check`: the `check` subcommand: every exercise, default and solution, many seeds.
//! - `schema`: the `schema` subcommand: the JSON Schema of the format.
pub mod alert_goals;
pub mod asyncapi;
pub mod bill;
pub mod brokers;
mod bundled;
pub mod catalog;
pub mod chaos;
pub mod check;
pub mod design;
pub mod export;
pub mod goals;
pub mod knob_fields;
pub mod load;
pub mod markdown;
pub mod model;
pub mod otlp;
pub mod payload_schema;
pub mod prove;
pub mod release_goals;
pub mod runner;
pub mod schema;

pub use bundled::BUNDLED;
pub use catalog::{Catalog, CatalogEntry, WatchError, WatchHandle};
pub use check::{CheckArgs, check};
pub use design::{Design, DesignError, start_world};
pub use goals::{Goal, GoalState, GoalStatus, GoalTracker};
pub use load::LoadError;
pub use model::{
    Choices, Exercise, GoalSpec, Knob, KnobError, KnobOption, KnobTarget, Part, Solution,
    TimedAction,
};
pub use runner::{RunError, RunOutcome, run_exercise};
