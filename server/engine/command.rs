//! Commands: what a learner, a facilitator or a fault schedule can do to a running world.
//!
//! Services and channels are named, as a person would name them; the world resolves the
//! names and answers an unknown one with a [`super::CommandError`].
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::design::Design;
use super::ids::Millis;
use super::scenario::{LinkConditions, StartFrom, empty_object, one, yes};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Publish one message by hand, from the console.
    Publish {
        channel: String,
        event_type: String,
        key: String,
        #[serde(default = "empty_object")]
        #[schemars(with = "serde_json::Value")]
        payload: serde_json::Value,
        #[serde(default = "one")]
        schema_version: u32,
        /// Send a payload no consumer can parse: a poison message.
        #[serde(default)]
        malformed: bool,
    },
    /// Publish a malformed message to a channel.
    InjectPoison {
        channel: String,
    },
    /// Publish the most recent message of a channel again. With `same_id` it is the very
    /// same message (a network or broker duplicate); without, a new message with the same
    /// business content (a producer that retried).
    Duplicate {
        channel: String,
        #[serde(default = "yes")]
        same_id: bool,
    },
    /// Crash one instance (or the first running one); it loses what it was holding.
    Crash {
        consumer: String,
        #[serde(default)]
        instance: Option<u32>,
    },
    /// Restart a crashed instance (or every crashed one).
    Restart {
        consumer: String,
        #[serde(default)]
        instance: Option<u32>,
    },
    /// Stop processing without disconnecting: deliveries pile up unacknowledged.
    Pause {
        consumer: String,
    },
    Resume {
        consumer: String,
    },
    /// Multiply processing time by `factor` (1 is normal speed).
    Slow {
        consumer: String,
        factor: u32,
    },
    AddInstance {
        consumer: String,
    },
    RemoveInstance {
        consumer: String,
    },
    /// Add an instance run by a person: deliveries wait for them to `settle` each one.
    Volunteer {
        consumer: String,
    },
    /// A person settles the message their instance holds: `ack` processes it, `fail`
    /// fails this attempt (and the retry policy decides what next).
    Settle {
        consumer: String,
        instance: u32,
        /// The message they mean, so a late click cannot settle the next one.
        message: String,
        outcome: SettleOutcome,
    },
    /// Change the network between a service and the broker.
    SetLink {
        service: String,
        conditions: LinkConditions,
    },
    CutLink {
        service: String,
    },
    /// Give a service back the link its scenario made: uncut, with any loss or jitter set since undone.
    RestoreLink {
        service: String,
    },
    /// The broker goes down for `downtime_ms`: it refuses publishes and acks, loses what is
    /// not durable, and returns unacknowledged deliveries to their queues.
    RestartBroker {
        #[serde(default = "default_downtime")]
        downtime_ms: Millis,
    },
    /// A consumer's downstream dependency fails every call for `duration_ms`.
    DependencyOutage {
        consumer: String,
        duration_ms: Millis,
    },
    /// Change a consumer's knobs.
    SetDesign {
        consumer: String,
        design: Design,
    },
    /// Move dead-lettered messages back to the queue they came from: one by id, or all.
    Redrive {
        consumer: String,
        #[serde(default)]
        message: Option<String>,
    },
    /// Move a stream consumer group's position, to replay or to skip.
    Seek {
        consumer: String,
        to: StartFrom,
    },
    /// Throw a stream consumer's read model away and rebuild it by replay, from the start
    /// of the stream or from its last checkpoint.
    Rebuild {
        consumer: String,
        #[serde(default)]
        from_checkpoint: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettleOutcome {
    Ack,
    Fail,
}

impl Command {
    /// A short label for timelines and logs: what the command did, so a slowdown undone does not read
    /// "slow down" and a producer's retry does not read as the broker's duplicate.
    pub fn label(&self) -> &'static str {
        match self {
            Command::Publish { .. } => "publish",
            Command::InjectPoison { .. } => "inject poison",
            Command::Duplicate { same_id: true, .. } => "duplicate delivery",
            Command::Duplicate { same_id: false, .. } => "producer retry",
            Command::Crash { .. } => "crash",
            Command::Restart { .. } => "restart",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
            Command::Slow { factor, .. } if *factor <= 1 => "normal speed",
            Command::Slow { .. } => "slow down",
            Command::AddInstance { .. } => "add instance",
            Command::RemoveInstance { .. } => "remove instance",
            Command::Volunteer { .. } => "volunteer",
            Command::Settle { .. } => "settle",
            Command::SetLink { conditions, .. } if conditions.cut => "cut link",
            Command::SetLink { .. } => "change link",
            Command::CutLink { .. } => "cut link",
            Command::RestoreLink { .. } => "restore link",
            Command::RestartBroker { .. } => "restart broker",
            Command::DependencyOutage { .. } => "dependency outage",
            Command::SetDesign { .. } => "change design",
            Command::Redrive { .. } => "redrive",
            Command::Seek { .. } => "seek",
            Command::Rebuild { .. } => "rebuild read model",
        }
    }
}

fn default_downtime() -> Millis {
    2_000
}
