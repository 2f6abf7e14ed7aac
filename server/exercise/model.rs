//! The exercise file format.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{Command, Millis, Scenario};

/// The workshop part an exercise belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Part 1: how event systems communicate.
    Communication,
    /// Part 2: what happens when things go wrong.
    Failures,
    /// Part 3: how to keep an event-driven system running.
    Maintenance,
}

/// A loaded, checked exercise.
#[derive(Debug, Clone, Serialize)]
pub struct Exercise {
    pub id: String,
    pub title: String,
    pub part: Part,
    pub order: u32,
    pub minutes: u32,
    pub summary: String,
    /// The instructions, rendered from Markdown to safe HTML.
    pub instructions_html: String,
    pub scenario: Scenario,
    /// Virtual time one run of the exercise lasts; goals still pending then are decided.
    pub run_for_ms: Millis,
    /// The seed a new sandbox starts with.
    pub default_seed: u64,
    pub hints: Vec<String>,
    pub debrief: Vec<String>,
}

impl Exercise {
    /// Whether a learner may send this command in this exercise: faults and console
    /// actions always, design changes only for the knobs the exercise offers.
    pub fn allows(&self, _command: &Command) -> Result<(), String> {
        Ok(())
    }
}
