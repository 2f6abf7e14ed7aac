//! The exercise file format, and the loaded [`Exercise`] the playground and the checker use.
//!
//! A file is parsed into [`ExerciseFile`] (plain serde data, which is also what the JSON
//! Schema describes), then checked and turned into an [`Exercise`] by `load`. Knobs name a
//! field of one service in the scenario; the ones on a consumer's `design` apply to a
//! running world through `Command::SetDesign`, every other one needs a fresh run.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{Command, Design, Millis, Scenario};

use super::bill::Prices;
use super::chaos::ChaosProfile;
use super::goals::Goal;
use super::knob_fields::KnobRange;
pub(crate) use super::knob_fields::{
    apply_to_scenario, current_value, design_field, design_fields, get_path, is_design_field,
    set_design_field, set_path,
};
use super::payload_schema::DeclaredSchema;

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

impl Part {
    /// The part's number in the workshop series (1, 2 or 3).
    pub fn number(self) -> u8 {
        match self {
            Part::Communication => 1,
            Part::Failures => 2,
            Part::Maintenance => 3,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Part::Communication => "How do event systems communicate?",
            Part::Failures => "What happens when things go wrong?",
            Part::Maintenance => "How do we keep it running?",
        }
    }
}

/// One exercise file, as written. Unknown fields are refused so that a typo is reported.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "EDA Playground exercise")]
pub struct ExerciseFile {
    /// Unique id, used in URLs and to override a bundled exercise: lowercase letters,
    /// digits and dashes.
    pub id: String,
    pub title: String,
    /// The workshop part: communication (1), failures (2) or maintenance (3).
    pub part: Part,
    /// Position within its part; the home page lists exercises by part, then order.
    pub order: u32,
    /// Estimated minutes a pair of learners needs, debrief excluded.
    pub minutes: u32,
    /// One line for the home page.
    pub summary: String,
    /// Markdown: the concept in a few paragraphs, then the task. Raw HTML is shown as text.
    pub instructions: String,
    /// Virtual milliseconds one run lasts; goals still pending then are decided.
    #[serde(default = "default_run_for")]
    pub run_for_ms: Millis,
    /// The seed a new playground starts with.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The system as it is today: channels, services, links and scheduled faults.
    pub scenario: Scenario,
    /// What the learner may change, with the choices offered.
    #[serde(default)]
    pub knobs: Vec<KnobSpec>,
    /// Typed checks that say when the design is right.
    pub goals: Vec<GoalSpec>,
    /// Hints, revealed one at a time (Markdown).
    #[serde(default)]
    pub hints: Vec<String>,
    /// The facilitator's solution: the checker proves it meets every goal.
    pub solution: SolutionSpec,
    /// Questions for the debrief (Markdown).
    #[serde(default)]
    pub debrief: Vec<String>,
    /// The faults a proof adds to every seeded run, on top of the scenario's own. Without
    /// this table a proof adds one to three crashes and slowdowns of any consumer.
    #[serde(default)]
    pub chaos: ChaosProfile,
    /// What each unit of the run's bill costs, in credits (compute, storage, retries,
    /// idempotency entries). Leave it out for the defaults.
    #[serde(default)]
    pub cost: Prices,
    /// Designs that must not meet every goal: `check` proves each one fails, so an exercise
    /// can say "the expensive fix is not the answer".
    #[serde(default)]
    pub must_fail: Vec<MustFailSpec>,
    /// Payload schemas of the events, for the event catalog and the AsyncAPI document; an event
    /// without one gets a schema inferred from its producer's `payload`.
    #[serde(default)]
    pub schemas: Vec<DeclaredSchema>,
}

/// A design that must fail: knob choices, and why it is wrong (shown by `check`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MustFailSpec {
    /// Knob id to option id; knobs left out keep their default.
    pub knobs: BTreeMap<String, String>,
    /// Why this design is wrong, in a sentence.
    pub why: String,
}

/// A knob: one field of one service (or channel) the learner may set to one of `options`.
/// Its default is the value the scenario gives that field, which must be one of the
/// options.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KnobSpec {
    /// Unique within the exercise; the solution refers to knobs by id.
    pub id: String,
    /// What the control is called in the playground.
    pub label: String,
    /// One or two sentences shown under the control.
    #[serde(default)]
    pub help: Option<String>,
    /// The consumer whose field this is. A field of its `design` (ack_mode, retry,
    /// idempotency, ordering, prefetch, instances, tolerant_reader, upcast,
    /// propagate_correlation) changes the running system; any other field restarts the run.
    #[serde(default)]
    pub consumer: Option<String>,
    /// The producer whose field this is (delivery, request, schema_version, ...): restarts
    /// the run.
    #[serde(default)]
    pub producer: Option<String>,
    /// The channel whose field this is (kind, partitions, durable, ...): restarts the run.
    #[serde(default)]
    pub channel: Option<String>,
    /// The alert rule whose field this is (metric, above, for_ms, enabled): restarts the run.
    #[serde(default)]
    pub alert: Option<String>,
    /// The consumer whose contract this field is in (`requires.FIELD`, `closed`, `schema_versions`,
    /// `allowed_values.FIELD`): restarts the run.
    #[serde(default)]
    pub contract: Option<String>,
    /// The field's name, as in the scenario, or a path into a table field
    /// (`retry.max_attempts`).
    pub field: String,
    /// The values offered, in the order shown. A knob has `options` or a `range`.
    #[serde(default)]
    pub options: Vec<KnobOptionSpec>,
    /// A number offered as a slider from `min` to `max` in `step`s (at most 100 values),
    /// instead of a menu.
    #[serde(default)]
    pub range: Option<KnobRange>,
    /// What a range's number counts ("instances", "ms"), shown after it.
    #[serde(default)]
    pub unit: Option<String>,
}

/// One choice of a knob.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KnobOptionSpec {
    /// How the solution names this choice. Defaults to the value itself when that is a
    /// string, number or boolean; required for a table or for no value.
    #[serde(default)]
    pub id: Option<String>,
    /// What the learner sees; defaults to the id.
    #[serde(default)]
    pub label: Option<String>,
    /// The field's value with this choice, written as in the scenario. Leave it out for an
    /// optional field that this choice turns off.
    #[serde(default)]
    #[schemars(with = "serde_json::Value")]
    pub value: Option<serde_json::Value>,
}

/// One goal: an id, a sentence for the learner, and the typed check behind it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalSpec {
    pub id: String,
    /// The goal as the learner reads it.
    pub description: String,
    pub check: Goal,
}

/// The facilitator's solution.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SolutionSpec {
    /// Knob id to option id; knobs left out keep their default.
    #[serde(default)]
    pub knobs: BTreeMap<String, String>,
    /// Operator actions the solution takes at given virtual times (a redrive, a rebuild).
    #[serde(default)]
    pub actions: Vec<TimedAction>,
    /// Markdown shown with the solution: why these choices.
    #[serde(default)]
    pub explanation: String,
}

/// A command at a virtual instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimedAction {
    pub at_ms: Millis,
    pub action: Command,
}

fn default_run_for() -> Millis {
    60_000
}

fn default_seed() -> u64 {
    1
}

/// What a knob changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum KnobTarget {
    Consumer(String),
    Producer(String),
    Channel(String),
    /// One of the scenario's alert rules, by name.
    Alert(String),
    /// The contract a consumer declares, by the consumer's name.
    Contract(String),
}

/// A checked knob.
#[derive(Debug, Clone, Serialize)]
pub struct Knob {
    pub id: String,
    pub label: String,
    pub help: Option<String>,
    pub target: KnobTarget,
    pub field: String,
    /// Whether a change applies to the running world (a consumer's design field) or needs a
    /// fresh run from the changed scenario.
    pub live: bool,
    pub options: Vec<KnobOption>,
    /// The id of the option the scenario starts with.
    pub default: String,
    /// Set for a knob offered as a slider: its options are the range's values, in order.
    pub range: Option<KnobRange>,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KnobOption {
    pub id: String,
    pub label: String,
    /// The field's value (JSON null for "none").
    pub value: serde_json::Value,
}

impl Knob {
    pub fn option(&self, id: &str) -> Option<&KnobOption> {
        self.options.iter().find(|o| o.id == id)
    }
}

/// The solution, checked: every knob id and option id exists.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Solution {
    pub knobs: BTreeMap<String, String>,
    pub actions: Vec<TimedAction>,
    pub explanation_html: String,
}

/// Where an exercise came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Compiled into the binary; the name is the file name in `exercises/`.
    Bundled(String),
    /// A file in the facilitator's directory.
    File(std::path::PathBuf),
}

/// A learner's choices: knob id to option id. Knobs left out keep their default.
pub type Choices = BTreeMap<String, String>;

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
    /// The scenario with every knob at its default.
    pub scenario: Scenario,
    /// Virtual time one run of the exercise lasts; goals still pending then are decided.
    pub run_for_ms: Millis,
    /// The seed a new sandbox starts with.
    pub default_seed: u64,
    /// Hints, rendered to safe HTML, in the order they are revealed.
    pub hints: Vec<String>,
    /// Debrief questions, rendered to safe HTML.
    pub debrief: Vec<String>,
    pub knobs: Vec<Knob>,
    pub goals: Vec<GoalSpec>,
    pub solution: Solution,
    /// What a proof adds to each seeded run.
    pub chaos: ChaosProfile,
    /// The prices of the run's bill.
    pub cost: Prices,
    /// Designs `check` proves fail, each with its reason.
    pub must_fail: Vec<MustFailSpec>,
    /// Payload schemas the file declares, checked against the scenario.
    pub schemas: Vec<DeclaredSchema>,
    #[serde(skip)]
    pub origin: Origin,
}

/// A knob choice that does not fit the exercise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KnobError {
    #[error("this exercise has no knob {0:?}")]
    UnknownKnob(String),
    #[error("knob {knob:?} has no option {option:?}")]
    UnknownOption { knob: String, option: String },
    #[error("knob {0:?} needs a fresh run: it does not change a running system")]
    NotLive(String),
    #[error("knob {knob:?}: {reason}")]
    Invalid { knob: String, reason: String },
}

impl Exercise {
    pub fn knob(&self, id: &str) -> Option<&Knob> {
        self.knobs.iter().find(|k| k.id == id)
    }

    /// Whether a learner may send this command in this exercise: faults and console
    /// actions always, design changes only for the knobs the exercise offers, to one of
    /// their options. A change of `instances` is always allowed, as adding and removing
    /// instances is a console action anyway.
    pub fn allows(&self, command: &Command) -> Result<(), String> {
        let Command::SetDesign { consumer, design } = command else {
            return Ok(());
        };
        let Some(spec) = self.scenario.consumers.iter().find(|c| &c.name == consumer) else {
            return Err(format!("there is no consumer named {consumer:?}"));
        };
        let mut start = serde_json::Value::Object(design_fields(&spec.design));
        let mut wanted = serde_json::Value::Object(design_fields(design));
        // Each knob on this consumer: its value must be one of its options; then it is set
        // aside, so that whatever else differs is a change no knob offers.
        let target = KnobTarget::Consumer(consumer.clone());
        for knob in self.knobs.iter().filter(|k| k.live && k.target == target) {
            let value = get_path(&wanted, &knob.field).cloned();
            if value.as_ref() != get_path(&start, &knob.field)
                && !knob
                    .options
                    .iter()
                    .any(|o| Some(&o.value) == value.as_ref())
            {
                let shown = value.unwrap_or(serde_json::Value::Null);
                return Err(format!(
                    "{shown} is not one of the choices for {:?}",
                    knob.label
                ));
            }
            for fields in [&mut start, &mut wanted] {
                if let serde_json::Value::Object(map) = fields {
                    // A path that is not there in one of them has nothing to set aside.
                    let _ = set_path(map, &knob.field, serde_json::Value::Null);
                }
            }
        }
        let (serde_json::Value::Object(start), serde_json::Value::Object(wanted)) = (start, wanted)
        else {
            return Ok(());
        };
        for (field, value) in &wanted {
            // Adding and removing instances is a console action anyway.
            if field == "instances" || start.get(field) == Some(value) {
                continue;
            }
            return Err(format!(
                "{consumer}'s {field} is not one of this exercise's knobs"
            ));
        }
        Ok(())
    }

    /// The scenario a run with these choices starts from: every knob, live or not, set.
    pub fn scenario_for(&self, choices: &Choices) -> Result<Scenario, KnobError> {
        let mut scenario = self.scenario.clone();
        for (knob_id, option_id) in choices {
            let (knob, option) = self.resolve(knob_id, option_id)?;
            scenario = apply_to_scenario(&scenario, knob, &option.value).map_err(|reason| {
                KnobError::Invalid {
                    knob: knob.id.clone(),
                    reason,
                }
            })?;
        }
        Ok(scenario)
    }

    /// The command that sets one live knob on a running world, given the consumer's
    /// current design (from `world.metrics()`), so that other changes are kept.
    pub fn knob_command(
        &self,
        knob_id: &str,
        option_id: &str,
        current: &Design,
    ) -> Result<Command, KnobError> {
        let (knob, option) = self.resolve(knob_id, option_id)?;
        let KnobTarget::Consumer(consumer) = &knob.target else {
            return Err(KnobError::NotLive(knob.id.clone()));
        };
        if !knob.live {
            return Err(KnobError::NotLive(knob.id.clone()));
        }
        let design = set_design_field(current, &knob.field, &option.value).map_err(|reason| {
            KnobError::Invalid {
                knob: knob.id.clone(),
                reason,
            }
        })?;
        Ok(Command::SetDesign {
            consumer: consumer.clone(),
            design,
        })
    }

    /// Whether these choices differ from the defaults only in live knobs.
    pub fn needs_restart(&self, choices: &Choices) -> bool {
        choices.iter().any(|(knob, option)| {
            self.knob(knob)
                .is_some_and(|k| !k.live && &k.default != option)
        })
    }

    fn resolve(&self, knob_id: &str, option_id: &str) -> Result<(&Knob, &KnobOption), KnobError> {
        let knob = self
            .knob(knob_id)
            .ok_or_else(|| KnobError::UnknownKnob(knob_id.to_owned()))?;
        let option = knob
            .option(option_id)
            .ok_or_else(|| KnobError::UnknownOption {
                knob: knob_id.to_owned(),
                option: option_id.to_owned(),
            })?;
        Ok((knob, option))
    }
}
