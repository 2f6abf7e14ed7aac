//! Proving a Design: many seeded runs of the whole exercise under its chaos profile, a pass
//! rate per goal, and for each failing goal the shortest failing run, shrunk.
//!
//! Pure and single-threaded: the caller decides where it runs (a worker of the server's
//! proof pool, or the `prove` subcommand) and hears of progress through a callback that can
//! also cancel. The same exercise, Design, actions and seeds always give the same report.
use std::time::Instant;

use serde::Serialize;

use crate::engine::{MessageId, Millis};

use super::chaos::{NemesisFault, schedule_commands, seconds};
use super::goals::{GoalState, GoalStatus};
use super::model::{Choices, Exercise, TimedAction};
use super::runner::{RunError, run_with_faults};

/// Seeds a proof runs unless asked otherwise.
pub const DEFAULT_PROOF_SEEDS: u32 = 100;
/// The most seeds one proof may run: more is refused with a sentence, never truncated.
pub const MAX_PROOF_SEEDS: u32 = 1_000;
/// Failing seeds shrunk per goal, earliest break first; of their shrunk runs the earliest
/// break is kept. Shrinking costs a few runs per fault, so this bounds a proof's extra work.
const SHRINK_CANDIDATES: usize = 3;
/// How long before a goal breaks an opened counterexample pauses.
pub const PAUSE_BEFORE_BREAK_MS: Millis = 100;

/// What to prove: the Design, the operator actions that go with it, and how many seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProofRequest {
    pub choices: Choices,
    pub actions: Vec<TimedAction>,
    pub seeds: u32,
    /// Seed `i` of the proof is `first_seed + i`.
    pub first_seed: u64,
}

/// Why a proof cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("a proof runs between 1 and {MAX_PROOF_SEEDS} seeds; {0} is out of range")]
    Seeds(u32),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Refuses a seed count outside `1..=MAX_PROOF_SEEDS`, with the sentence a learner reads.
pub fn check_seeds(seeds: u32) -> Result<(), ProofError> {
    if (1..=MAX_PROOF_SEEDS).contains(&seeds) {
        Ok(())
    } else {
        Err(ProofError::Seeds(seeds))
    }
}

/// The result of a proof.
#[derive(Debug, Clone, Serialize)]
pub struct ProofReport {
    pub exercise: String,
    /// The Design proven (knob id → option id; knobs at their default left out).
    pub design: Choices,
    pub seeds: u32,
    pub first_seed: u64,
    /// Seeds under which every goal held.
    pub passed: u32,
    /// Whether the report came from the cache rather than a fresh run.
    pub cached: bool,
    /// Wall-clock time the proof took; never part of what is proven.
    pub elapsed_ms: u64,
    /// The chaos profile in one line.
    pub chaos: String,
    pub goals: Vec<GoalProof>,
}

impl ProofReport {
    pub fn all_passed(&self) -> bool {
        self.passed == self.seeds
    }

    /// The report in a line of the facilitator's roster.
    pub fn brief(&self) -> ProofBrief {
        ProofBrief {
            seeds: self.seeds,
            passed: self.passed,
            failing_goal: self
                .goals
                .iter()
                .filter(|g| g.failed > 0)
                .max_by_key(|g| g.failed)
                .map(|g| g.description.clone()),
        }
    }
}

/// A learner's last proof, as the roster shows it: "passed 100/100", or failing, with the goal that
/// failed most often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProofBrief {
    pub seeds: u32,
    pub passed: u32,
    pub failing_goal: Option<String>,
}

/// One goal across every seed.
#[derive(Debug, Clone, Serialize)]
pub struct GoalProof {
    pub id: String,
    pub description: String,
    pub passed: u32,
    pub failed: u32,
    pub counterexample: Option<Counterexample>,
}

/// The shortest failing run of one goal: removing any one of its faults makes the goal hold.
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub seed: u64,
    /// When the goal broke (virtual ms).
    pub breaks_at: Option<Millis>,
    /// The message that broke it, for a goal a single message can break.
    pub message: Option<MessageId>,
    pub reason: String,
    pub faults: Vec<FaultView>,
    /// What broke, in one sentence.
    pub sentence: String,
    /// Every command the run applied, in the order applied: the operator actions and the faults
    /// the world accepted (a restart of an instance that was already up is not one of them).
    pub commands: Vec<TimedAction>,
    /// Where an opened counterexample pauses: a moment before the break.
    pub pause_at: Millis,
}

/// One fault of a counterexample, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FaultView {
    pub at: Millis,
    pub label: &'static str,
    pub detail: String,
    pub sentence: String,
}

/// A run of the proof: which goals broke, and the fault schedule it had.
struct SeedRun {
    seed: u64,
    faults: Vec<NemesisFault>,
    broken: Vec<GoalStatus>,
}

/// Proves `request.choices` on `exercise`. `progress(done, total)` is called after every
/// seed; when it returns false the proof stops and `Ok(None)` comes back.
pub fn prove(
    exercise: &Exercise,
    request: &ProofRequest,
    progress: &mut dyn FnMut(u32, u32) -> bool,
) -> Result<Option<ProofReport>, ProofError> {
    check_seeds(request.seeds)?;
    let started = Instant::now();
    let choices = exercise
        .normalize(&request.choices)
        .map_err(RunError::from)?;
    let mut runs: Vec<SeedRun> = Vec::new();
    let mut passed = 0;
    let mut goal_failed = vec![0u32; exercise.goals.len()];
    for index in 0..request.seeds {
        let seed = request.first_seed.wrapping_add(u64::from(index));
        let faults = exercise
            .chaos
            .draw(&exercise.scenario, exercise.run_for_ms, seed);
        let outcome = run_with_faults(
            exercise,
            &choices,
            &request.actions,
            &schedule_commands(&faults),
            seed,
        )?;
        let broken: Vec<GoalStatus> = outcome.broken().cloned().collect();
        if broken.is_empty() {
            passed += 1;
        } else {
            for goal in &broken {
                if let Some(i) = exercise.goals.iter().position(|g| g.id == goal.id) {
                    goal_failed[i] += 1;
                }
            }
            runs.push(SeedRun {
                seed,
                faults,
                broken,
            });
        }
        if !progress(index + 1, request.seeds) {
            return Ok(None);
        }
    }
    let mut goals = Vec::with_capacity(exercise.goals.len());
    for (i, spec) in exercise.goals.iter().enumerate() {
        let counterexample = if goal_failed[i] == 0 {
            None
        } else {
            shortest_failing_run(exercise, &choices, &request.actions, &spec.id, &runs)?
        };
        goals.push(GoalProof {
            id: spec.id.clone(),
            description: spec.description.clone(),
            passed: request.seeds - goal_failed[i],
            failed: goal_failed[i],
            counterexample,
        });
    }
    Ok(Some(ProofReport {
        exercise: exercise.id.clone(),
        design: choices,
        seeds: request.seeds,
        first_seed: request.first_seed,
        passed,
        cached: false,
        elapsed_ms: started.elapsed().as_millis() as u64,
        chaos: exercise.chaos.describe(),
        goals,
    }))
}

/// Shrinks the earliest failing runs of one goal and keeps the one that breaks earliest
/// (then the one with fewest faults).
fn shortest_failing_run(
    exercise: &Exercise,
    choices: &Choices,
    actions: &[TimedAction],
    goal: &str,
    runs: &[SeedRun],
) -> Result<Option<Counterexample>, ProofError> {
    let mut candidates: Vec<(&SeedRun, &GoalStatus)> = runs
        .iter()
        .filter_map(|run| Some((run, run.broken.iter().find(|g| g.id == goal)?)))
        .collect();
    candidates.sort_by_key(|(run, status)| {
        (status.at.unwrap_or(Millis::MAX), run.faults.len(), run.seed)
    });
    let mut best: Option<(Millis, usize, Counterexample)> = None;
    for (run, status) in candidates.into_iter().take(SHRINK_CANDIDATES) {
        let (faults, status, applied) =
            shrink(exercise, choices, actions, goal, run, status.clone())?;
        let breaks = status.at.unwrap_or(Millis::MAX);
        let better = best
            .as_ref()
            .is_none_or(|(at, count, _)| (breaks, faults.len()) < (*at, *count));
        if better {
            let example = counterexample(exercise, applied, run.seed, &faults, &status);
            best = Some((breaks, faults.len(), example));
        }
    }
    Ok(best.map(|(_, _, example)| example))
}

/// Takes faults away one at a time while the goal still breaks, until every remaining fault
/// is needed: a 1-minimal schedule. Returns it with the goal's status in that run.
fn shrink(
    exercise: &Exercise,
    choices: &Choices,
    actions: &[TimedAction],
    goal: &str,
    run: &SeedRun,
    status: GoalStatus,
) -> Result<(Vec<NemesisFault>, GoalStatus, Vec<TimedAction>), ProofError> {
    let breaks =
        |faults: &[NemesisFault]| -> Result<Option<(GoalStatus, Vec<TimedAction>)>, ProofError> {
            let outcome = run_with_faults(
                exercise,
                choices,
                actions,
                &schedule_commands(faults),
                run.seed,
            )?;
            let applied = outcome.applied;
            Ok(outcome
                .goals
                .into_iter()
                .find(|g| g.id == goal && g.state != GoalState::Met)
                .map(|status| (status, applied)))
        };
    let mut faults = run.faults.clone();
    let (mut status, mut applied) = match breaks(&faults)? {
        Some(found) => found,
        // Unreachable for a deterministic engine: the same seed and schedule broke it before.
        None => (status, Vec::new()),
    };
    // Without any added fault first: a design that fails on the scenario alone needs no
    // schedule to explain it.
    if !faults.is_empty()
        && let Some((alone, applied)) = breaks(&[])?
    {
        return Ok((Vec::new(), alone, applied));
    }
    let mut index = 0;
    while index < faults.len() {
        let mut fewer = faults.clone();
        fewer.remove(index);
        match breaks(&fewer)? {
            Some((found, replay)) => {
                faults = fewer;
                status = found;
                applied = replay;
                // Start over: a fault needed before may not be needed without this one.
                index = 0;
            }
            None => index += 1,
        }
    }
    Ok((faults, status, applied))
}

fn counterexample(
    exercise: &Exercise,
    applied: Vec<TimedAction>,
    seed: u64,
    faults: &[NemesisFault],
    status: &GoalStatus,
) -> Counterexample {
    let reason = status
        .reason
        .clone()
        .unwrap_or_else(|| "the goal was not met".to_owned());
    let causes: Vec<String> = faults.iter().map(NemesisFault::describe).collect();
    let when = status
        .at
        .map_or_else(String::new, |at| format!(" (at {})", seconds(at)));
    let sentence = if causes.is_empty() {
        format!("With no added fault, seed {seed} breaks it: {reason}{when}.")
    } else {
        format!("{}: {reason}{when}.", capitalize(&join_sentence(&causes)))
    };
    let pause_at = status
        .at
        .unwrap_or(exercise.run_for_ms)
        .saturating_sub(PAUSE_BEFORE_BREAK_MS);
    Counterexample {
        seed,
        breaks_at: status.at,
        message: status.message,
        reason,
        faults: faults
            .iter()
            .map(|f| FaultView {
                at: f.at,
                label: f.kind.label(),
                detail: f.target.clone(),
                sentence: f.describe(),
            })
            .collect(),
        sentence,
        commands: applied,
        pause_at,
    }
}

fn join_sentence(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}, then {last}", rest.join(", ")),
    }
}

pub(crate) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
