//! The shared stage: one sandbox the facilitator drives and everyone watches, in which learners volunteer
//! as consumer instances and settle what is delivered to them by hand.
//!
//! Permissions live here. A learner never names an instance: the stage remembers which instance each
//! volunteer was given and builds their `settle`/`crash` commands itself, so a learner can only ever act
//! on their own instance. Their WebSocket on the stage is read-only.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::engine::{Command, SettleOutcome};
use crate::sandbox::SandboxHandle;
use crate::sandbox::client::Outside;

use super::error::SessionError;
use super::room::{OUTSIDE_BUFFER, SavedRun};

/// One volunteer: who, and which instance of which consumer is theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volunteer {
    pub name: String,
    pub consumer: String,
    pub instance: u32,
    /// Set once they went offline: their instance stays crashed and they can volunteer again.
    pub offline: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VolunteerView {
    pub learner: u32,
    pub name: String,
    pub consumer: String,
    pub instance: u32,
    pub offline: bool,
}

/// What a learner asks of the stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StageAction {
    /// Become an instance of `consumer`.
    Volunteer { consumer: String },
    /// Ack or fail the message the learner's instance holds.
    Settle {
        message: String,
        outcome: SettleOutcome,
    },
    /// Take the learner's instance offline (it crashes; what it held is redelivered).
    Leave,
}

#[derive(Debug)]
pub struct Stage {
    /// The stage's exercise, once the facilitator opened it.
    pub exercise: Option<String>,
    pub run: Option<SavedRun>,
    pub sandbox: Option<SandboxHandle>,
    volunteers: BTreeMap<u32, Volunteer>,
    /// Viewers of the stage: told to reconnect when the facilitator opens a new one.
    pub viewers: broadcast::Sender<Outside>,
}

impl Default for Stage {
    fn default() -> Self {
        Self {
            exercise: None,
            run: None,
            sandbox: None,
            volunteers: BTreeMap::new(),
            viewers: broadcast::channel(OUTSIDE_BUFFER).0,
        }
    }
}

impl Stage {
    /// A new stage run: previous volunteers are forgotten with the old sandbox.
    pub fn open(&mut self, run: SavedRun) {
        self.exercise = Some(run.exercise.clone());
        self.run = Some(run);
        self.sandbox = None;
        self.volunteers.clear();
    }

    pub fn volunteers(&self) -> Vec<VolunteerView> {
        self.volunteers
            .iter()
            .map(|(learner, v)| VolunteerView {
                learner: *learner,
                name: v.name.clone(),
                consumer: v.consumer.clone(),
                instance: v.instance,
                offline: v.offline,
            })
            .collect()
    }

    pub fn volunteer_of(&self, learner: u32) -> Option<&Volunteer> {
        self.volunteers.get(&learner)
    }

    /// Refuses a second instance for someone already on stage.
    pub fn check_volunteer(&self, learner: u32) -> Result<(), SessionError> {
        match self.volunteers.get(&learner) {
            Some(v) if !v.offline => Err(SessionError::BadRequest(format!(
                "You are already instance {} of {}.",
                v.instance, v.consumer
            ))),
            _ => Ok(()),
        }
    }

    pub fn enlist(&mut self, learner: u32, volunteer: Volunteer) {
        self.volunteers.insert(learner, volunteer);
    }

    /// The engine command for a settle or leave, aimed at the learner's own instance only.
    pub fn command_for(&self, learner: u32, action: &StageAction) -> Result<Command, SessionError> {
        let mine = self
            .volunteers
            .get(&learner)
            .filter(|v| !v.offline)
            .ok_or_else(|| {
                SessionError::BadRequest("Volunteer first: you are not on the stage.".to_owned())
            })?;
        Ok(match action {
            StageAction::Settle { message, outcome } => Command::Settle {
                consumer: mine.consumer.clone(),
                instance: mine.instance,
                message: message.clone(),
                outcome: *outcome,
            },
            StageAction::Leave => Command::Crash {
                consumer: mine.consumer.clone(),
                instance: Some(mine.instance),
            },
            StageAction::Volunteer { .. } => {
                return Err(SessionError::BadRequest(
                    "Volunteering is not a command on an instance.".to_owned(),
                ));
            }
        })
    }

    pub fn mark_offline(&mut self, learner: u32) {
        if let Some(v) = self.volunteers.get_mut(&learner) {
            v.offline = true;
        }
    }

    /// Instances of `consumer` already given to someone still on stage.
    pub fn taken(&self, consumer: &str) -> Vec<u32> {
        self.volunteers
            .values()
            .filter(|v| v.consumer == consumer && !v.offline)
            .map(|v| v.instance)
            .collect()
    }
}

/// Finds the instance a volunteer command just added, in a snapshot taken right after it: a running,
/// person-run instance of `consumer` that nobody on stage holds. Volunteering is serialized per room, so
/// there is exactly one such instance.
pub fn new_manual_instance(snapshot: &str, consumer: &str, taken: &[u32]) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_str(snapshot).ok()?;
    let id = value["topology"]["consumers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == consumer)?["id"]
        .as_u64()?;
    let metrics = value["metrics"]["consumers"]
        .as_array()?
        .iter()
        .find(|c| c["consumer"].as_u64() == Some(id))?;
    metrics["instances"]
        .as_array()?
        .iter()
        .enumerate()
        .rev()
        .find(|(index, instance)| {
            instance["manual"] == true
                && instance["status"] == "up"
                && u32::try_from(*index).is_ok_and(|i| !taken.contains(&i))
        })
        .and_then(|(index, _)| u32::try_from(index).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_can_only_command_their_own_instance() {
        let mut stage = Stage::default();
        let leave = StageAction::Leave;
        assert!(stage.command_for(1, &leave).is_err());
        stage.enlist(
            1,
            Volunteer {
                name: "Ada".to_owned(),
                consumer: "billing".to_owned(),
                instance: 2,
                offline: false,
            },
        );
        let settle = StageAction::Settle {
            message: "00000000000000aa".to_owned(),
            outcome: SettleOutcome::Ack,
        };
        match stage.command_for(1, &settle).unwrap() {
            Command::Settle {
                consumer, instance, ..
            } => assert_eq!((consumer.as_str(), instance), ("billing", 2)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(stage.command_for(2, &settle).is_err());
        assert!(stage.check_volunteer(1).is_err());
        stage.mark_offline(1);
        assert!(stage.command_for(1, &leave).is_err());
        assert!(stage.check_volunteer(1).is_ok());
    }

    #[test]
    fn finds_the_new_person_run_instance() {
        let snapshot = r#"{"topology":{"consumers":[{"id":0,"name":"billing"}]},
            "metrics":{"consumers":[{"consumer":0,"instances":[
                {"status":"up","manual":false},{"status":"up","manual":true},
                {"status":"up","manual":true}]}]}}"#;
        assert_eq!(new_manual_instance(snapshot, "billing", &[1]), Some(2));
        assert_eq!(new_manual_instance(snapshot, "billing", &[1, 2]), None);
        assert_eq!(new_manual_instance(snapshot, "shipping", &[]), None);
    }
}
