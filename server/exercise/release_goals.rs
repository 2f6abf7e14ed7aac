//! Goals about change: a producer's release ends as the exercise expects (shipped, or held back by a
//! red build because a consumer's contract caught it), and a channel's schema registry checks
//! compatibility at all.
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{Compatibility, Millis, ProducerId, Scenario, Topology, TraceEvent, TraceKind};

use super::goals::Goal;

/// Release outcomes remembered for the goals: a scenario has at most 32 producers with 8 releases
/// each, so this holds every one of them.
pub const MAX_TRACKED_RELEASES: usize = 256;

/// What a release goal expects of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseExpectation {
    /// It ships: every contract passed, or there is none.
    Deployed,
    /// Its build goes red on a consumer's contract, and it never reaches production.
    Blocked,
}

/// Checks a change goal's names against the scenario when the file loads: the release exists on the
/// producer, the channel exists. An error is `(field, reason)`.
pub(crate) fn check_goal(goal: &Goal, scenario: &Scenario) -> Result<(), (&'static str, String)> {
    match goal {
        Goal::Release {
            producer, release, ..
        } => {
            let Some(spec) = scenario.producers.iter().find(|p| &p.name == producer) else {
                return Ok(()); // the producer's own reference check says so
            };
            if !spec.releases.iter().any(|r| &r.name == release) {
                let names: Vec<&str> = spec.releases.iter().map(|r| r.name.as_str()).collect();
                let expected = if names.is_empty() {
                    "(none declared)".to_owned()
                } else {
                    names.join(", ")
                };
                return Err((
                    "release",
                    format!(
                        "{producer} has no release named {release:?}; expected one of: {expected}"
                    ),
                ));
            }
            Ok(())
        }
        Goal::RegistryChecks { channel } => {
            if scenario.channels.iter().any(|c| &c.name == channel) {
                Ok(())
            } else {
                let names: Vec<&str> = scenario.channels.iter().map(|c| c.name.as_str()).collect();
                Err((
                    "channel",
                    format!(
                        "there is no channel named {channel:?}; expected one of: {}",
                        names.join(", ")
                    ),
                ))
            }
        }
        _ => Ok(()),
    }
}

/// The releases of a run as they came due.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReleaseWatch {
    outcomes: Vec<SeenRelease>,
}

/// Producer, release, when, and the first problem of a red build (none when it shipped).
type SeenRelease = (ProducerId, Arc<str>, Millis, Option<Arc<str>>);

/// A verdict on a change goal.
pub(crate) enum ReleaseCheck {
    Met,
    Pending,
    Broken { at: Millis, reason: String },
}

impl ReleaseWatch {
    pub(crate) fn observe(&mut self, event: &TraceEvent) {
        if self.outcomes.len() >= MAX_TRACKED_RELEASES {
            return;
        }
        match &event.kind {
            TraceKind::ReleaseDeployed {
                release,
                producer: Some(producer),
                ..
            } => self
                .outcomes
                .push((*producer, release.clone(), event.at, None)),
            TraceKind::ReleaseBlocked {
                release,
                producer,
                problems,
            } => self.outcomes.push((
                *producer,
                release.clone(),
                event.at,
                Some(problems.first().cloned().unwrap_or_else(|| Arc::from("?"))),
            )),
            _ => {}
        }
    }

    /// The verdict on `goal`, or `None` when it is not a change goal.
    pub(crate) fn check(
        &self,
        goal: &Goal,
        producer: Option<ProducerId>,
        topology: &Topology,
        finished: bool,
    ) -> Option<ReleaseCheck> {
        match goal {
            Goal::Release {
                producer: name,
                release,
                outcome,
            } => {
                let seen = self
                    .outcomes
                    .iter()
                    .find(|(p, r, _, _)| Some(*p) == producer && **r == **release);
                Some(match (seen, outcome) {
                    (None, _) if finished => ReleaseCheck::Broken {
                        at: 0,
                        reason: format!("{name}'s release {release:?} never came due in the run"),
                    },
                    (None, _) => ReleaseCheck::Pending,
                    (Some((_, _, _, None)), ReleaseExpectation::Deployed)
                    | (Some((_, _, _, Some(_))), ReleaseExpectation::Blocked) => ReleaseCheck::Met,
                    (Some((_, _, at, Some(problem))), ReleaseExpectation::Deployed) => {
                        ReleaseCheck::Broken {
                            at: *at,
                            reason: format!(
                                "the pipeline held back {name}'s release {release:?}, which breaks nobody: {problem}"
                            ),
                        }
                    }
                    (Some((_, _, at, None)), ReleaseExpectation::Blocked) => ReleaseCheck::Broken {
                        at: *at,
                        reason: format!(
                            "{name}'s release {release:?} shipped: no consumer's contract caught the breaking change"
                        ),
                    },
                })
            }
            Goal::RegistryChecks { channel } => {
                let mode = topology
                    .channels
                    .iter()
                    .find(|c| &c.name == channel)
                    .and_then(|c| c.registry);
                Some(match mode {
                    Some(mode) if mode != Compatibility::None => ReleaseCheck::Met,
                    Some(_) => ReleaseCheck::Broken {
                        at: 0,
                        reason: format!(
                            "{channel}'s schema registry is in mode NONE: it would let a breaking version through to the consumers"
                        ),
                    },
                    None => ReleaseCheck::Broken {
                        at: 0,
                        reason: format!("{channel} has no schema registry"),
                    },
                })
            }
            _ => None,
        }
    }
}
