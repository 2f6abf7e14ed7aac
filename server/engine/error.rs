//! The engine's errors: a scenario it refuses to build, and a command it refuses to run.
use thiserror::Error;

use super::ids::Millis;

/// A scenario that cannot run, with the field at fault (such as `consumers[1].channel`)
/// and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct ScenarioError {
    pub field: String,
    pub reason: String,
}

impl ScenarioError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    #[error("there is no channel named {0:?}")]
    UnknownChannel(String),
    #[error("there is no consumer named {0:?}")]
    UnknownConsumer(String),
    #[error("there is no service named {0:?}")]
    UnknownService(String),
    #[error("there is no dead-lettered message {0:?} for this consumer")]
    UnknownMessage(String),
    #[error("{consumer:?} has no instance {instance}")]
    UnknownInstance { consumer: String, instance: u32 },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    LimitReached(String),
    #[error("time cannot move backwards (now {now} ms, command at {requested} ms)")]
    TimeWentBackwards { now: Millis, requested: Millis },
}
