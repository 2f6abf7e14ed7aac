//! One headless run of an exercise: knobs chosen, seed given, timed actions applied, goals
//! judged at the end. The checker runs this many times; tests use it directly.
use thiserror::Error;

use crate::engine::{CommandError, MessageId, Millis, ScenarioError, TraceEvent, World};

use super::goals::{GoalStatus, GoalTracker};
use super::model::{Choices, Exercise, KnobError, TimedAction};

/// Virtual time between two drains of the trace: it bounds the memory a run holds.
const DRAIN_EVERY_MS: Millis = 1_000;

/// Trace events of one message the checker prints for a broken goal.
pub const MAX_EVENTS_SHOWN: usize = 10;

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Knob(#[from] KnobError),
    #[error("the scenario does not build: {0}")]
    Scenario(#[from] ScenarioError),
    #[error("action at {at} ms refused: {source}")]
    Action { at: Millis, source: CommandError },
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub seed: u64,
    pub goals: Vec<GoalStatus>,
    pub deliveries: u64,
}

impl RunOutcome {
    pub fn all_met(&self) -> bool {
        self.goals.iter().all(|g| g.state == super::GoalState::Met)
    }

    pub fn broken(&self) -> impl Iterator<Item = &GoalStatus> {
        self.goals
            .iter()
            .filter(|g| g.state != super::GoalState::Met)
    }
}

/// Runs `exercise` with `choices` and `actions` under `seed` to its end.
pub fn run_exercise(
    exercise: &Exercise,
    choices: &Choices,
    actions: &[TimedAction],
    seed: u64,
) -> Result<RunOutcome, RunError> {
    let mut trace_sink = |_: &[TraceEvent]| {};
    drive(exercise, choices, actions, seed, &mut trace_sink)
}

/// The first events about `message` in a run, to show why a goal broke.
pub fn events_of(
    exercise: &Exercise,
    choices: &Choices,
    actions: &[TimedAction],
    seed: u64,
    message: MessageId,
) -> Vec<TraceEvent> {
    let mut found = Vec::new();
    let mut sink = |events: &[TraceEvent]| {
        for event in events {
            if found.len() < MAX_EVENTS_SHOWN && event.kind.message() == Some(message) {
                found.push(event.clone());
            }
        }
    };
    let _ = drive(exercise, choices, actions, seed, &mut sink);
    found
}

fn drive(
    exercise: &Exercise,
    choices: &Choices,
    actions: &[TimedAction],
    seed: u64,
    sink: &mut dyn FnMut(&[TraceEvent]),
) -> Result<RunOutcome, RunError> {
    let scenario = exercise.scenario_for(choices)?;
    let mut world = World::new(&scenario, seed)?;
    let mut tracker = GoalTracker::for_goals(&exercise.goals, &scenario);
    let mut pending: Vec<&TimedAction> = actions.iter().collect();
    pending.sort_by_key(|a| a.at_ms);
    let mut pending = pending.into_iter().peekable();
    let end = exercise.run_for_ms;
    let mut at = 0;
    while at < end {
        let next = (at + DRAIN_EVERY_MS).min(end);
        while let Some(action) = pending.next_if(|a| a.at_ms <= next) {
            world
                .apply(action.at_ms, action.action.clone())
                .map_err(|source| RunError::Action {
                    at: action.at_ms,
                    source,
                })?;
        }
        world.advance_to(next);
        let events = world.drain_trace();
        tracker.observe(&events);
        sink(&events);
        at = next;
    }
    Ok(RunOutcome {
        seed,
        goals: tracker.status(&world, true),
        deliveries: world.deliveries(),
    })
}
