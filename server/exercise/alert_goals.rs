//! Goals about the alerting itself: every incident wakes someone soon enough (an alert fires within the
//! window, or one is firing already), nobody is woken while the system is healthy, and the rules stay few. An incident is a fault with one of the labels the goal
//! lists ("slow down", "pause", ...), whoever made it happen: the exercise's schedule, a proof's chaos
//! or a person at the console.
use std::sync::Arc;

use crate::engine::{MessageId, Millis, Scenario, TraceEvent, TraceKind};

use super::goals::Goal;

/// Incidents and firings remembered for the alerting goals; beyond it the run has long shown whether its
/// rules work, and memory stays bounded.
pub const MAX_TRACKED_ALERT_EVENTS: usize = 10_000;

/// The faults an alerting goal may count as incidents, by the label the trace gives them.
pub const INCIDENT_LABELS: &[&str] = &[
    "crash",
    "pause",
    "slow down",
    "cut link",
    "change link",
    "restart broker",
    "dependency outage",
    "inject poison",
    "duplicate delivery",
    "producer retry",
];

/// Checks an alerting goal's own values when the file loads: known incident labels, a window.
pub(crate) fn check_goal(goal: &Goal) -> Result<(), (&'static str, String)> {
    let (Goal::AlertsCatchIncidents {
        incidents,
        within_ms,
    }
    | Goal::NoFalseAlarms {
        incidents,
        within_ms,
    }) = goal
    else {
        return Ok(());
    };
    if incidents.is_empty() {
        return Err((
            "incidents",
            format!(
                "is empty; expected fault labels, such as: {}",
                INCIDENT_LABELS.join(", ")
            ),
        ));
    }
    if let Some(unknown) = incidents
        .iter()
        .find(|l| !INCIDENT_LABELS.contains(&l.as_str()))
    {
        return Err((
            "incidents",
            format!(
                "{unknown:?} is not a fault label; expected one of: {}",
                INCIDENT_LABELS.join(", ")
            ),
        ));
    }
    if *within_ms == 0 {
        return Err((
            "within_ms",
            "is 0; expected how long after an incident an alert may fire, in ms".to_owned(),
        ));
    }
    Ok(())
}

/// What the alerting goals need from a run.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlertWatch {
    /// Faults by when they began, with their label.
    incidents: Vec<(Millis, &'static str)>,
    /// Alerts fired: when, which rule, and the first message waiting then.
    fired: Vec<(Millis, Arc<str>, Option<MessageId>)>,
    /// Alerts resolved: when, which rule.
    resolved: Vec<(Millis, Arc<str>)>,
    /// Rules switched on in the scenario.
    rules: usize,
}

/// A verdict on an alerting goal.
pub(crate) enum AlertCheck {
    Met,
    Pending,
    Broken {
        at: Millis,
        message: Option<MessageId>,
        reason: String,
    },
}

impl AlertWatch {
    pub(crate) fn new(scenario: &Scenario) -> Self {
        Self {
            rules: scenario.alerts.iter().filter(|a| a.enabled).count(),
            ..Self::default()
        }
    }

    pub(crate) fn observe(&mut self, event: &TraceEvent) {
        if self.incidents.len() + self.fired.len() + self.resolved.len() >= MAX_TRACKED_ALERT_EVENTS
        {
            return;
        }
        match &event.kind {
            TraceKind::Fault { label, .. } => self.incidents.push((event.at, label)),
            TraceKind::AlertFired {
                alert, messages, ..
            } => self
                .fired
                .push((event.at, alert.clone(), messages.first().copied())),
            TraceKind::AlertResolved { alert, .. } => self.resolved.push((event.at, alert.clone())),
            _ => {}
        }
    }

    /// Whether an alert fired between `from` and `to`, or was still firing at `from`: someone is awake.
    fn awake_during(&self, from: Millis, to: Millis) -> bool {
        self.fired.iter().any(|(fired, rule, _)| {
            let resolved = self
                .resolved
                .iter()
                .find(|(at, r)| r == rule && at >= fired)
                .map(|(at, _)| *at);
            *fired <= to && resolved.is_none_or(|end| end >= from)
        })
    }

    /// The verdict on `goal` at virtual time `now`, or `None` when it is not an alerting goal.
    pub(crate) fn check(&self, goal: &Goal, now: Millis, finished: bool) -> Option<AlertCheck> {
        let counts = |labels: &[String], label: &str| labels.iter().any(|l| l == label);
        let settled = || {
            if finished {
                AlertCheck::Met
            } else {
                AlertCheck::Pending
            }
        };
        match goal {
            Goal::AlertsCatchIncidents {
                incidents,
                within_ms,
            } => {
                let missed = self
                    .incidents
                    .iter()
                    .filter(|(at, label)| counts(incidents, label) && at + within_ms <= now)
                    .find(|(at, _)| !self.awake_during(*at, at + within_ms));
                Some(match missed {
                    Some((at, label)) => AlertCheck::Broken {
                        at: at + within_ms,
                        message: None,
                        reason: format!(
                            "the {label} at {} s fired no alert within {} s",
                            seconds(*at),
                            seconds(*within_ms)
                        ),
                    },
                    None => settled(),
                })
            }
            Goal::NoFalseAlarms {
                incidents,
                within_ms,
            } => {
                let noise = self.fired.iter().find(|(fired, _, _)| {
                    !self.incidents.iter().any(|(at, label)| {
                        counts(incidents, label) && (*at..=at + within_ms).contains(fired)
                    })
                });
                Some(match noise {
                    Some((at, alert, message)) => AlertCheck::Broken {
                        at: *at,
                        message: *message,
                        reason: format!(
                            "{alert} fired at {} s with no incident in the {} s before: a rule that fires on a healthy system teaches people to ignore it",
                            seconds(*at),
                            seconds(*within_ms)
                        ),
                    },
                    None => settled(),
                })
            }
            Goal::MaxAlertRules { max } => Some(if self.rules > *max as usize {
                AlertCheck::Broken {
                    at: 0,
                    message: None,
                    reason: format!(
                        "{} alert rules are switched on; at most {max} may be",
                        self.rules
                    ),
                }
            } else {
                AlertCheck::Met
            }),
            _ => None,
        }
    }
}

fn seconds(ms: Millis) -> String {
    let s = ms as f64 / 1000.0;
    if ms % 1000 == 0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}
