//! The chaos profile of an exercise and the nemesis that draws a fault schedule from it.
//!
//! A proof runs a Design under many seeds. Besides the faults the scenario schedules itself,
//! each seed gets a schedule of its own, drawn from that seed alone, so one seed always means
//! the same faults: a failing seed is a reproducible bug, and shrinking can take faults away
//! one by one and run again.
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{Command, LinkConditions, Millis, Scenario};

use super::model::TimedAction;

/// Faults one run may be given; a profile asking for more is refused when the file loads.
pub const MAX_FAULTS_PER_RUN: u32 = 12;

/// Mixed into every seed before drawing a schedule, so the schedule and the run's own random
/// choices do not come from the same stream.
const NEMESIS_SALT: u64 = 0x6e65_6d65_7369_7321;

/// A kind of fault the nemesis may inject. Each one heals after a while, except a poison
/// message and a crash left to the consumer's own restart policy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChaosFault {
    /// One instance of a consumer crashes mid-work, and is restarted later.
    Crash,
    /// A consumer stops processing, then resumes.
    Pause,
    /// A consumer processes 2 to 8 times slower for a while.
    Slow,
    /// The broker goes down for 0.5 to 3 s.
    RestartBroker,
    /// A service loses its connection to the broker, then gets it back.
    CutLink,
    /// A service's link gets up to 300 ms of jitter: messages overtake each other.
    Jitter,
    /// A service's link delivers 20 % of messages twice.
    Duplicates,
    /// A service's link loses 20 % of messages.
    Loss,
    /// A malformed message is published to a channel.
    Poison,
    /// A consumer's downstream dependency fails every call for a while.
    DependencyOutage,
}

impl ChaosFault {
    pub fn label(self) -> &'static str {
        match self {
            ChaosFault::Crash => "crash",
            ChaosFault::Pause => "pause",
            ChaosFault::Slow => "slow consumer",
            ChaosFault::RestartBroker => "broker restart",
            ChaosFault::CutLink => "cut link",
            ChaosFault::Jitter => "jitter",
            ChaosFault::Duplicates => "duplicates",
            ChaosFault::Loss => "message loss",
            ChaosFault::Poison => "poison message",
            ChaosFault::DependencyOutage => "dependency outage",
        }
    }
}

/// An exercise's `[chaos]` table: which faults a proof adds to each seeded run, how many,
/// and when. Every field has a default, so `[chaos]` alone is a valid profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChaosProfile {
    /// The faults to draw from. Narrow it to what the lesson is about: a proof of an
    /// ordering fix need not survive poison messages. Default: crash and slow.
    #[serde(default = "default_faults")]
    pub faults: Vec<ChaosFault>,
    /// The fewest faults one run gets. Default 1.
    #[serde(default = "default_min_faults")]
    pub min_faults: u32,
    /// The most faults one run gets (at most 12). Default 3.
    #[serde(default = "default_max_faults")]
    pub max_faults: u32,
    /// Faults start no earlier than this (virtual ms). Default 1,000.
    #[serde(default = "default_from_ms")]
    pub from_ms: Millis,
    /// Faults start before this (virtual ms). Default: two thirds of the run, so the system
    /// has time to recover before goals about the end state are decided.
    #[serde(default)]
    pub until_ms: Option<Millis>,
    /// A fault that heals (crash, pause, slow, link faults, outages) lasts between these two
    /// durations (virtual ms). Default 500 to 3,000.
    #[serde(default = "default_heal_ms")]
    pub heal_ms: [Millis; 2],
    /// The services and channels faults may aim at. Default: all of them.
    #[serde(default)]
    pub targets: Vec<String>,
}

impl Default for ChaosProfile {
    fn default() -> Self {
        Self {
            faults: default_faults(),
            min_faults: default_min_faults(),
            max_faults: default_max_faults(),
            from_ms: default_from_ms(),
            until_ms: None,
            heal_ms: default_heal_ms(),
            targets: Vec::new(),
        }
    }
}

fn default_faults() -> Vec<ChaosFault> {
    vec![ChaosFault::Crash, ChaosFault::Slow]
}
fn default_min_faults() -> u32 {
    1
}
fn default_max_faults() -> u32 {
    3
}
fn default_from_ms() -> Millis {
    1_000
}
fn default_heal_ms() -> [Millis; 2] {
    [500, 3_000]
}

impl ChaosProfile {
    /// Checks the profile against the scenario it will run on; the error names the field.
    pub fn validate(
        &self,
        scenario: &Scenario,
        run_for_ms: Millis,
    ) -> Result<(), (String, String)> {
        let field = |name: &str| format!("chaos.{name}");
        if self.min_faults > self.max_faults || self.max_faults > MAX_FAULTS_PER_RUN {
            return Err((
                field("max_faults"),
                format!(
                    "expected min_faults ≤ max_faults ≤ {MAX_FAULTS_PER_RUN}, found {} and {}",
                    self.min_faults, self.max_faults
                ),
            ));
        }
        if self.max_faults > 0 && self.faults.is_empty() {
            return Err((
                field("faults"),
                "expected at least one fault kind, or max_faults = 0".to_owned(),
            ));
        }
        let until = self.until(run_for_ms);
        if self.from_ms >= until {
            return Err((
                field("from_ms"),
                format!(
                    "expected a window that starts before it ends ({} ≥ {until} ms)",
                    self.from_ms
                ),
            ));
        }
        if self.heal_ms[0] > self.heal_ms[1] || self.heal_ms[0] == 0 {
            return Err((
                field("heal_ms"),
                "expected [shortest, longest], both above 0".to_owned(),
            ));
        }
        for target in &self.targets {
            let known = scenario.consumers.iter().any(|c| &c.name == target)
                || scenario.producers.iter().any(|p| &p.name == target)
                || scenario.channels.iter().any(|c| &c.name == target);
            if !known {
                return Err((
                    field("targets"),
                    format!("there is no service or channel named {target:?}"),
                ));
            }
        }
        Ok(())
    }

    fn until(&self, run_for_ms: Millis) -> Millis {
        self.until_ms.unwrap_or(run_for_ms * 2 / 3).min(run_for_ms)
    }

    /// One line for a report: "crash, slow consumer (1 to 3 faults a run)".
    pub fn describe(&self) -> String {
        if self.max_faults == 0 {
            return "no added faults: only the scenario's own".to_owned();
        }
        let kinds: Vec<_> = self.faults.iter().map(|f| f.label()).collect();
        format!(
            "{} ({} to {} faults a run, from {})",
            kinds.join(", "),
            self.min_faults,
            self.max_faults,
            seconds(self.from_ms)
        )
    }

    /// The faults one seed adds to a run of `scenario`. Always the same for the same seed.
    pub fn draw(&self, scenario: &Scenario, run_for_ms: Millis, seed: u64) -> Vec<NemesisFault> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ NEMESIS_SALT);
        let aimed = |name: &str| self.targets.is_empty() || self.targets.iter().any(|t| t == name);
        let consumers: Vec<&str> = scenario
            .consumers
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| aimed(n))
            .collect();
        let services: Vec<&str> = scenario
            .producers
            .iter()
            .map(|p| p.name.as_str())
            .chain(consumers.iter().copied())
            .filter(|n| aimed(n))
            .collect();
        let channels: Vec<&str> = scenario
            .channels
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| aimed(n) && scenario.consumers.iter().any(|c| &c.channel == n))
            .collect();
        let kinds: Vec<ChaosFault> = self
            .faults
            .iter()
            .copied()
            .filter(|kind| match kind {
                ChaosFault::RestartBroker => true,
                ChaosFault::Poison => !channels.is_empty(),
                ChaosFault::CutLink
                | ChaosFault::Jitter
                | ChaosFault::Duplicates
                | ChaosFault::Loss => !services.is_empty(),
                _ => !consumers.is_empty(),
            })
            .collect();
        if kinds.is_empty() || self.max_faults == 0 {
            return Vec::new();
        }
        let count = rng.random_range(self.min_faults..=self.max_faults);
        let until = self.until(run_for_ms);
        let mut faults: Vec<NemesisFault> = (0..count)
            .map(|_| {
                let kind = kinds[rng.random_range(0..kinds.len())];
                let at = rng.random_range(self.from_ms..until);
                let heal = rng.random_range(self.heal_ms[0]..=self.heal_ms[1]);
                let pick = |rng: &mut ChaCha8Rng, names: &[&str]| {
                    names[rng.random_range(0..names.len())].to_owned()
                };
                let target = match kind {
                    ChaosFault::RestartBroker => String::new(),
                    ChaosFault::Poison => pick(&mut rng, &channels),
                    ChaosFault::CutLink
                    | ChaosFault::Jitter
                    | ChaosFault::Duplicates
                    | ChaosFault::Loss => pick(&mut rng, &services),
                    _ => pick(&mut rng, &consumers),
                };
                let factor = rng.random_range(2..=8);
                NemesisFault::new(kind, target, at, heal, factor, scenario)
            })
            .collect();
        faults.sort_by_key(|f| f.at);
        faults
    }
}

/// One fault of a schedule: what, where and when, and the commands that carry it out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NemesisFault {
    pub kind: ChaosFault,
    /// The service or channel it hits; empty for the broker.
    pub target: String,
    pub at: Millis,
    /// How long it lasts; 0 for one that does not heal by itself.
    pub lasts_ms: Millis,
    /// The fault and, where it heals, the command that heals it.
    pub commands: Vec<TimedAction>,
}

impl NemesisFault {
    fn new(
        kind: ChaosFault,
        target: String,
        at: Millis,
        heal: Millis,
        factor: u32,
        scenario: &Scenario,
    ) -> Self {
        let consumer = target.clone();
        let service = target.clone();
        let normal_link = || scenario.links.get(&target).cloned().unwrap_or_default();
        let worse_link = |change: &dyn Fn(&mut LinkConditions)| {
            let mut conditions = normal_link();
            change(&mut conditions);
            conditions
        };
        let (fault, healing, lasts_ms) = match kind {
            ChaosFault::Crash => (
                Command::Crash {
                    consumer: consumer.clone(),
                    instance: None,
                },
                Some(Command::Restart {
                    consumer,
                    instance: None,
                }),
                heal,
            ),
            ChaosFault::Pause => (
                Command::Pause {
                    consumer: consumer.clone(),
                },
                Some(Command::Resume { consumer }),
                heal,
            ),
            ChaosFault::Slow => (
                Command::Slow {
                    consumer: consumer.clone(),
                    factor,
                },
                Some(Command::Slow {
                    consumer,
                    factor: 1,
                }),
                heal,
            ),
            ChaosFault::RestartBroker => (Command::RestartBroker { downtime_ms: heal }, None, heal),
            ChaosFault::CutLink => (
                Command::CutLink {
                    service: service.clone(),
                },
                Some(Command::RestoreLink { service }),
                heal,
            ),
            ChaosFault::Jitter | ChaosFault::Duplicates | ChaosFault::Loss => {
                let conditions = worse_link(&|c: &mut LinkConditions| match kind {
                    ChaosFault::Jitter => c.jitter_ms = c.jitter_ms.max(300),
                    ChaosFault::Duplicates => c.duplicate = c.duplicate.max(0.2),
                    _ => c.loss = c.loss.max(0.2),
                });
                (
                    Command::SetLink {
                        service: service.clone(),
                        conditions,
                    },
                    Some(Command::SetLink {
                        service,
                        conditions: normal_link(),
                    }),
                    heal,
                )
            }
            ChaosFault::Poison => (
                Command::InjectPoison {
                    channel: target.clone(),
                },
                None,
                0,
            ),
            ChaosFault::DependencyOutage => (
                Command::DependencyOutage {
                    consumer,
                    duration_ms: heal,
                },
                None,
                heal,
            ),
        };
        let mut commands = vec![TimedAction {
            at_ms: at,
            action: fault,
        }];
        if let Some(healing) = healing {
            commands.push(TimedAction {
                at_ms: at + heal,
                action: healing,
            });
        }
        Self {
            kind,
            target,
            at,
            lasts_ms,
            commands,
        }
    }

    /// "a crash of billing at 4.2 s (restarted 1.3 s later)"
    pub fn describe(&self) -> String {
        let at = seconds(self.at);
        let lasts = seconds(self.lasts_ms);
        let target = &self.target;
        match self.kind {
            ChaosFault::Crash => {
                format!("a crash of one {target} instance at {at} (restarted {lasts} later)")
            }
            ChaosFault::Pause => format!("{target} pausing at {at} for {lasts}"),
            ChaosFault::Slow => format!("{target} slowing down at {at} for {lasts}"),
            ChaosFault::RestartBroker => format!("the broker restarting at {at} ({lasts} down)"),
            ChaosFault::CutLink => format!("{target}'s link cut at {at} for {lasts}"),
            ChaosFault::Jitter => format!("jitter on {target}'s link at {at} for {lasts}"),
            ChaosFault::Duplicates => {
                format!("{target}'s link duplicating messages at {at} for {lasts}")
            }
            ChaosFault::Loss => format!("{target}'s link losing messages at {at} for {lasts}"),
            ChaosFault::Poison => format!("a poison message on {target} at {at}"),
            ChaosFault::DependencyOutage => {
                format!("{target}'s dependency down at {at} for {lasts}")
            }
        }
    }
}

/// Virtual milliseconds as a person reads them: "4.2 s".
pub fn seconds(ms: Millis) -> String {
    format!("{:.1} s", ms as f64 / 1_000.0)
}

/// The commands of a schedule, in time order.
pub fn schedule_commands(faults: &[NemesisFault]) -> Vec<TimedAction> {
    let mut commands: Vec<TimedAction> = faults
        .iter()
        .flat_map(|f| f.commands.iter().cloned())
        .collect();
    commands.sort_by_key(|c| c.at_ms);
    commands
}
