//! One headless run of an exercise: a Design, a seed, timed actions and faults applied, goals
//! judged at the end. `check` and `prove` run this many times; tests use it directly. The
//! world starts through [`start_world`], the path the playground takes.
use thiserror::Error;

use crate::engine::{CommandError, MessageId, Millis, ScenarioError, TraceEvent};

use super::design::{DesignError, start_world};
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
    #[error(transparent)]
    Design(#[from] DesignError),
    #[error("action at {at} ms refused: {source}")]
    Action { at: Millis, source: CommandError },
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub seed: u64,
    pub goals: Vec<GoalStatus>,
    pub deliveries: u64,
    /// The actions and faults the world accepted, in the order applied: a replay of exactly
    /// these gives the same run.
    pub applied: Vec<TimedAction>,
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
    run_with_faults(exercise, choices, actions, &[], seed)
}

/// Runs `exercise` to its end with `actions` (which must apply) and `faults` (a fault
/// schedule: one the world refuses, such as restarting an instance that is already up,
/// is skipped, as a real fault that finds nothing to break).
pub fn run_with_faults(
    exercise: &Exercise,
    choices: &Choices,
    actions: &[TimedAction],
    faults: &[TimedAction],
    seed: u64,
) -> Result<RunOutcome, RunError> {
    let mut trace_sink = |_: &[TraceEvent]| {};
    drive(exercise, choices, actions, faults, seed, &mut trace_sink)
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
    let _ = drive(exercise, choices, actions, &[], seed, &mut sink);
    found
}

fn drive(
    exercise: &Exercise,
    choices: &Choices,
    actions: &[TimedAction],
    faults: &[TimedAction],
    seed: u64,
    sink: &mut dyn FnMut(&[TraceEvent]),
) -> Result<RunOutcome, RunError> {
    let mut world = start_world(exercise, choices, seed, None)?;
    let mut tracker = GoalTracker::for_goals(&exercise.goals, &exercise.scenario);
    // Actions first at a shared instant (the sort is stable), so a fault lands on the system
    // the solution has just changed, as it would in the playground.
    let mut pending: Vec<(&TimedAction, bool)> = actions
        .iter()
        .map(|a| (a, true))
        .chain(faults.iter().map(|f| (f, false)))
        .collect();
    pending.sort_by_key(|(a, _)| a.at_ms);
    let mut pending = pending.into_iter().peekable();
    let end = exercise.run_for_ms;
    let mut applied = Vec::new();
    let mut at = 0;
    while at < end {
        let next = (at + DRAIN_EVERY_MS).min(end);
        while let Some((action, required)) = pending.next_if(|(a, _)| a.at_ms <= next) {
            match world.apply(action.at_ms, action.action.clone()) {
                Ok(()) => applied.push(action.clone()),
                Err(source) if required => {
                    return Err(RunError::Action {
                        at: action.at_ms,
                        source,
                    });
                }
                Err(_) => {}
            }
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
        applied,
    })
}
