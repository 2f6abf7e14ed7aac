//! The learner's Design: every knob choice of an exercise as one value, and the one way a
//! Design becomes a running world.
//!
//! The playground, `check`, `prove`, `run` and the run file all start a world through
//! [`start_world`]: the scenario with the restart knobs set, then each live knob applied
//! through the same `set_design` command the page sends while a run is going. So a bug in
//! how a live knob changes a running consumer breaks `check` too, instead of hiding behind a
//! scenario that was written with the answer in it.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{Command, Millis, ScenarioError, World};

use super::model::{Choices, Exercise, KnobError, KnobTarget};

/// Every knob choice of one learner: knob id to option id (a knob left out is at its
/// default), with the virtual time at which a choice made during the current run took effect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Design {
    #[serde(default)]
    pub choices: Choices,
    /// When a choice made during this run took effect; a choice without an entry holds from
    /// the start of the run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub since_ms: BTreeMap<String, Millis>,
}

impl Design {
    /// A Design that holds from the start of the run.
    pub fn from_start(choices: Choices) -> Self {
        Self {
            choices,
            since_ms: BTreeMap::new(),
        }
    }
}

/// Why a Design cannot start a world.
#[derive(Debug, thiserror::Error)]
pub enum DesignError {
    #[error(transparent)]
    Knob(#[from] KnobError),
    #[error("these choices do not make a runnable system: {0}")]
    Scenario(#[from] ScenarioError),
    #[error("knob {knob:?} cannot be applied: {reason}")]
    Apply { knob: String, reason: String },
}

impl Exercise {
    /// Checks every choice names a knob of this exercise and one of its options, and drops the
    /// choices that are a knob's default, so that equal Designs compare equal.
    pub fn normalize(&self, choices: &Choices) -> Result<Choices, KnobError> {
        let mut normal = Choices::new();
        for (knob_id, option_id) in choices {
            let knob = self
                .knob(knob_id)
                .ok_or_else(|| KnobError::UnknownKnob(knob_id.clone()))?;
            if knob.option(option_id).is_none() {
                return Err(KnobError::UnknownOption {
                    knob: knob_id.clone(),
                    option: option_id.clone(),
                });
            }
            if &knob.default != option_id {
                normal.insert(knob_id.clone(), option_id.clone());
            }
        }
        Ok(normal)
    }

    /// The `set_design` command that sets one live knob on `world` as it runs now, keeping
    /// every other field of the consumer's current design.
    pub fn live_command(
        &self,
        world: &World,
        knob_id: &str,
        option_id: &str,
    ) -> Result<Command, DesignError> {
        let knob = self
            .knob(knob_id)
            .ok_or_else(|| KnobError::UnknownKnob(knob_id.to_owned()))?;
        let KnobTarget::Consumer(consumer) = &knob.target else {
            return Err(KnobError::NotLive(knob_id.to_owned()).into());
        };
        let current = world
            .consumer_design(consumer)
            .ok_or_else(|| DesignError::Apply {
                knob: knob_id.to_owned(),
                reason: format!("there is no consumer named {consumer:?}"),
            })?;
        Ok(self.knob_command(knob_id, option_id, &current)?)
    }

    /// The option a live knob has in `world` now, read from its consumer's running design;
    /// `None` when the running value is none of the knob's options (a console action changed
    /// the instance count, say) or the knob is not live.
    pub fn live_choice(&self, world: &World, knob_id: &str) -> Option<String> {
        let knob = self.knob(knob_id).filter(|k| k.live)?;
        let KnobTarget::Consumer(consumer) = &knob.target else {
            return None;
        };
        let value = super::model::design_field(&world.consumer_design(consumer)?, &knob.field)?;
        knob.options
            .iter()
            .find(|o| o.value == value)
            .map(|o| o.id.clone())
    }
}

/// The world a Design starts: the scenario with the restart knobs set, then every live knob
/// applied at 0 s through `set_design`, exactly as the page applies it to a running world.
pub fn start_world(
    exercise: &Exercise,
    choices: &Choices,
    seed: u64,
    message_cap: Option<u64>,
) -> Result<World, DesignError> {
    let choices = exercise.normalize(choices)?;
    let (live, restart): (Choices, Choices) = choices
        .into_iter()
        .partition(|(knob, _)| exercise.knob(knob).is_some_and(|k| k.live));
    let scenario = exercise.scenario_for(&restart)?;
    let mut world = World::new(&scenario, seed)?;
    if let Some(cap) = message_cap {
        world.set_message_cap(cap);
    }
    for (knob, option) in &live {
        let command = exercise.live_command(&world, knob, option)?;
        world
            .apply(0, command)
            .map_err(|error| DesignError::Apply {
                knob: knob.clone(),
                reason: error.to_string(),
            })?;
    }
    Ok(world)
}
