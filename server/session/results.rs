//! The session's results to keep after the workshop: per learner the goals met, hints used, the last
//! proof, the time to the first "every goal met" and the final design, as JSON and as CSV for a
//! spreadsheet. A learner is "Learner 3" unless the facilitator asks for names.
use serde::Serialize;

use crate::exercise::{Catalog, GoalState};

use super::aggregate::choice_label;
use super::room::Room;

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub session: String,
    pub exercise: String,
    pub names_included: bool,
    pub learners: Vec<LearnerResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LearnerResult {
    pub learner: String,
    pub exercise: String,
    pub goals_met: usize,
    pub goals_total: usize,
    /// Goal id → met, broken or pending.
    pub goals: Vec<(String, GoalState)>,
    pub hints_used: u32,
    pub proof_seeds: Option<u32>,
    pub proof_passed: Option<u32>,
    pub proof_failing_goal: Option<String>,
    /// Seconds from starting the exercise to the first time every goal was met at once.
    pub all_met_after_s: Option<f64>,
    pub resets_while_broken: u32,
    /// The final design as it differs from the default, in the labels the learner saw.
    pub design: Vec<String>,
}

/// The CSV columns, in order.
const CSV_HEADER: [&str; 11] = [
    "learner",
    "exercise",
    "goals_met",
    "goals_total",
    "goals",
    "hints_used",
    "proof",
    "proof_failing_goal",
    "all_met_after_s",
    "resets_while_broken",
    "design",
];

impl Results {
    pub fn of(room: &Room, catalog: &Catalog, names: bool) -> Self {
        let state = room.lock();
        let learners = state
            .learners
            .iter()
            .map(|l| {
                let exercise = catalog.get(&l.run.exercise);
                LearnerResult {
                    learner: if names {
                        l.name.clone()
                    } else {
                        format!("Learner {}", l.id + 1)
                    },
                    exercise: l.run.exercise.clone(),
                    goals_met: l.goals.iter().filter(|g| g.state == GoalState::Met).count(),
                    goals_total: l.goals.len(),
                    goals: l.goals.iter().map(|g| (g.id.clone(), g.state)).collect(),
                    hints_used: l.hints_used,
                    proof_seeds: l.last_proof.as_ref().map(|p| p.seeds),
                    proof_passed: l.last_proof.as_ref().map(|p| p.passed),
                    proof_failing_goal: l.last_proof.as_ref().and_then(|p| p.failing_goal.clone()),
                    all_met_after_s: l.effort.all_met_after_ms.map(|ms| ms as f64 / 1_000.0),
                    resets_while_broken: l.effort.resets_while_broken,
                    design: l
                        .run
                        .design
                        .choices
                        .iter()
                        .map(|(knob, option)| {
                            match exercise.as_deref().and_then(|e| e.knob(knob)) {
                                Some(knob) => choice_label(knob, option),
                                None => format!("{knob}: {option}"),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        Self {
            session: room.code.to_string(),
            exercise: state.exercise.clone(),
            names_included: names,
            learners,
        }
    }

    /// RFC 4180 CSV, one line per learner, with a header line.
    pub fn csv(&self) -> String {
        let mut out = CSV_HEADER.join(",");
        out.push_str("\r\n");
        for l in &self.learners {
            let goals: Vec<String> = l
                .goals
                .iter()
                .map(|(id, state)| format!("{id}={}", state_word(*state)))
                .collect();
            let proof = match (l.proof_passed, l.proof_seeds) {
                (Some(passed), Some(seeds)) => format!("{passed}/{seeds}"),
                _ => String::new(),
            };
            let fields = [
                l.learner.clone(),
                l.exercise.clone(),
                l.goals_met.to_string(),
                l.goals_total.to_string(),
                goals.join("; "),
                l.hints_used.to_string(),
                proof,
                l.proof_failing_goal.clone().unwrap_or_default(),
                l.all_met_after_s
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_default(),
                l.resets_while_broken.to_string(),
                l.design.join("; "),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

fn state_word(state: GoalState) -> &'static str {
    match state {
        GoalState::Met => "met",
        GoalState::Broken => "broken",
        GoalState::Pending => "pending",
    }
}

/// One CSV field: quoted when it holds a comma, quote or line break. A field a spreadsheet would run as
/// a formula (a name typed as `=HYPERLINK(…)`) gets a leading apostrophe, so it stays text.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("Ada"), "Ada");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-2"), "'-2");
    }
}
