//! The room as a whole, for the dashboard and the debrief: per goal of the room's exercise how many
//! learners have it met, broken or pending; per knob how many chose each option; the combinations the
//! room converged on. It carries counts and learner ids, never names: the roster has those, and the
//! debrief on the projector shows a name only when the facilitator asks for it.
use std::collections::BTreeMap;

use serde::Serialize;

use crate::exercise::{Exercise, GoalState, Knob};

use super::room::LearnerView;

/// Combinations listed, most chosen first; the rest are summed into `other_combinations`.
pub const MAX_COMBINATIONS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomAggregate {
    pub exercise: String,
    pub title: String,
    /// Learners on the room's exercise (one still on an older exercise is left out).
    pub learners: usize,
    pub all_met: usize,
    /// Learners whose last proof held on every seed.
    pub proven: usize,
    /// Learners who have proven a design at all.
    pub proofs: usize,
    pub hints_total: usize,
    pub goals: Vec<GoalCount>,
    pub knobs: Vec<KnobCount>,
    pub combinations: Vec<Combination>,
    pub other_combinations: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoalCount {
    pub id: String,
    pub description: String,
    pub met: usize,
    pub broken: usize,
    pub pending: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnobCount {
    pub id: String,
    pub label: String,
    pub options: Vec<OptionCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionCount {
    pub id: String,
    pub label: String,
    /// The exercise starts with this option.
    pub default: bool,
    /// The solution chooses this option.
    pub solution: bool,
    pub learners: Vec<u32>,
}

/// One full Design (every knob's option) and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Combination {
    /// "label: option label" per knob, in the exercise's knob order.
    pub choices: Vec<String>,
    pub learners: Vec<u32>,
}

impl RoomAggregate {
    pub fn of(exercise: &Exercise, learners: &[LearnerView]) -> Self {
        let on_exercise: Vec<&LearnerView> = learners
            .iter()
            .filter(|l| l.exercise == exercise.id)
            .collect();
        let goals = exercise
            .goals
            .iter()
            .map(|spec| {
                let mut count = GoalCount {
                    id: spec.id.clone(),
                    description: spec.description.clone(),
                    met: 0,
                    broken: 0,
                    pending: 0,
                };
                for learner in &on_exercise {
                    match learner
                        .goals
                        .iter()
                        .find(|g| g.id == spec.id)
                        .map(|g| g.state)
                    {
                        Some(GoalState::Met) => count.met += 1,
                        Some(GoalState::Broken) => count.broken += 1,
                        // A learner whose sandbox has not reported yet has everything still to do.
                        Some(GoalState::Pending) | None => count.pending += 1,
                    }
                }
                count
            })
            .collect();
        // Each learner's option per knob: what they chose, or the default.
        let chosen = |learner: &LearnerView, knob: &Knob| -> String {
            learner
                .design
                .get(&knob.id)
                .filter(|option| knob.option(option).is_some())
                .cloned()
                .unwrap_or_else(|| knob.default.clone())
        };
        let knobs = exercise
            .knobs
            .iter()
            .map(|knob| KnobCount {
                id: knob.id.clone(),
                label: knob.label.clone(),
                options: knob
                    .options
                    .iter()
                    .map(|option| OptionCount {
                        id: option.id.clone(),
                        label: option.label.clone(),
                        default: option.id == knob.default,
                        solution: exercise
                            .solution
                            .knobs
                            .get(&knob.id)
                            .map_or(option.id == knob.default, |solution| solution == &option.id),
                        learners: on_exercise
                            .iter()
                            .filter(|l| chosen(l, knob) == option.id)
                            .map(|l| l.id)
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        let mut by_combination: BTreeMap<Vec<String>, Vec<u32>> = BTreeMap::new();
        if !exercise.knobs.is_empty() {
            for learner in &on_exercise {
                let choices = exercise
                    .knobs
                    .iter()
                    .map(|knob| choice_label(knob, &chosen(learner, knob)))
                    .collect();
                by_combination.entry(choices).or_default().push(learner.id);
            }
        }
        let mut combinations: Vec<Combination> = by_combination
            .into_iter()
            .map(|(choices, learners)| Combination { choices, learners })
            .collect();
        // Most chosen first; ties in the order of the choices, so the list does not flicker.
        combinations.sort_by_key(|c| std::cmp::Reverse(c.learners.len()));
        let other_combinations = combinations
            .iter()
            .skip(MAX_COMBINATIONS)
            .map(|c| c.learners.len())
            .sum();
        combinations.truncate(MAX_COMBINATIONS);
        Self {
            exercise: exercise.id.clone(),
            title: exercise.title.clone(),
            learners: on_exercise.len(),
            all_met: on_exercise
                .iter()
                .filter(|l| l.goals_total > 0 && l.goals_met == l.goals_total)
                .count(),
            proven: on_exercise
                .iter()
                .filter(|l| l.last_proof.as_ref().is_some_and(|p| p.passed == p.seeds))
                .count(),
            proofs: on_exercise
                .iter()
                .filter(|l| l.last_proof.is_some())
                .count(),
            hints_total: exercise.hints.len(),
            goals,
            knobs,
            combinations,
            other_combinations,
        }
    }
}

/// "How billing recognises a message: By order (business key)": one choice in the labels the learner saw.
pub fn choice_label(knob: &Knob, option: &str) -> String {
    let label = knob.option(option).map_or(option, |o| o.label.as_str());
    format!("{}: {label}", knob.label)
}
