//! Goals: typed checks evaluated from a run's trace and state, never free text.
//!
//! The [`GoalTracker`] reads the trace as it is drained and keeps only what its goals need:
//! the first message that broke each goal, a few counters, and a bounded table of the
//! messages seen (for their key, type and correlation id). A goal that a single event can
//! break is broken live, with that event's message; a goal about the end state (nothing
//! lost, the balance, the lag) stays pending until the run finishes.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{
    ConsumerId, CorrelationId, FailureReason, MessageId, Millis, ProducerId, Publisher, QueueId,
    Scenario, TraceEvent, TraceKind, World,
};

use super::Exercise;
use super::alert_goals::{AlertCheck, AlertWatch};
use super::bill::{self, Bill, BillCheck, Prices};
use super::release_goals::{ReleaseCheck, ReleaseWatch};
use crate::engine::routing::topic_matches;

/// Messages whose type, key and correlation id the tracker remembers (and, with the same
/// bound, effects applied and reactions published). Beyond it, newer messages are not
/// remembered: goals that need them say so in their reason instead of
/// guessing, and memory stays bounded in a long run.
pub const MAX_TRACKED_MESSAGES: usize = 500_000;

/// Dead-lettering events kept for the dead-letter goals. Beyond it the oldest are
/// forgotten; a run that dead-letters this much has long broken its goal.
pub const MAX_TRACKED_DEAD_LETTERS: usize = 10_000;

/// Reactions followed from a declined message to its compensation. A longer chain is not
/// followed: a saga step that far from its cause would be a design worth questioning anyway.
pub const MAX_CAUSAL_STEPS: usize = 6;

/// A typed check. `consumer` and `producer` name services of the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Goal {
    /// Every order the producers committed to has its effect applied by `consumer`
    /// exactly once: none applied twice, none lost, none left in the dead-letter queue.
    ExactlyOnce { consumer: String },
    /// No order is lost for `consumer`: each was handled, declined or dead-lettered (a
    /// dead letter can be redriven; a lost message cannot).
    NoLoss { consumer: String },
    /// `consumer` never applies an effect twice for one order.
    NoDuplicates { consumer: String },
    /// Only messages of `event_types` reach `consumer`'s dead-letter queue, each after
    /// exactly `attempts` deliveries when given, and at least one does. With no event types:
    /// nothing is dead-lettered at all.
    DeadLetters {
        consumer: String,
        #[serde(default)]
        event_types: Vec<String>,
        #[serde(default)]
        attempts: Option<u32>,
    },
    /// `consumer` applies the events of each key in order: no older event overwrites a
    /// newer one in its read model, and no effect is applied after a newer one of its key.
    InOrder { consumer: String },
    /// At the end, `consumer` has at most `max` messages waiting (stream lag, or ready,
    /// in-flight and retrying messages of its queue).
    MaxLag { consumer: String, max: u64 },
    /// At the end, `consumer`'s balance equals `equals`.
    Balance { consumer: String, equals: i64 },
    /// Every order `consumer` declines is followed by a compensating `event_type`, published
    /// in reaction to the refusal (directly or a few steps later), and applied by
    /// `applied_by` when given.
    Compensated {
        consumer: String,
        event_type: String,
        #[serde(default)]
        applied_by: Option<String>,
    },
    /// Every event a service publishes in reaction to another carries the same
    /// correlation id as its cause, so a journey can be followed end to end; and
    /// `through` (when given) lists services a journey must have reached.
    Correlated {
        #[serde(default)]
        through: Vec<String>,
    },
    /// No request of `producer` times out waiting for its reply.
    NoTimeouts { producer: String },
    /// `consumer` fails at most `max` processing attempts (of `reason`, when given).
    MaxFailures {
        consumer: String,
        max: u64,
        #[serde(default)]
        reason: Option<FailureReason>,
    },
    /// `consumer` applies every effect within `ms` of the message's first publication.
    ProcessedWithin { consumer: String, ms: Millis },
    /// `consumer`'s topic subscription receives exactly the messages whose routing key
    /// matches `pattern` (AMQP topic semantics): none of them is filtered out, and none
    /// other reaches its effect.
    Routed { consumer: String, pattern: String },
    /// The run's bill stays at or under `max` credits (see `[cost]`): it breaks as soon as
    /// it passes.
    MaxCost { max: f64 },
    /// `consumer`'s p99 latency, from a message's first publication to its effect, is at
    /// most `ms` at the end of the run.
    LatencyP99 { consumer: String, ms: Millis },
    /// The broker holds at most `max` kilobyte-seconds in all: the bytes of each copy (dead
    /// letters and stream records included) for each second it is held.
    MaxStorage { max: f64 },
    /// `consumer` never runs more than `max` instances at once.
    MaxInstances { consumer: String, max: u32 },
    /// At most `max` deliveries are made again, by `consumer`'s queue when given, else in all.
    MaxRetries {
        #[serde(default)]
        consumer: Option<String>,
        max: u64,
    },
    /// Every event `producer` publishes honours the contract its consumers rely on: one of
    /// `event_types`, in one of `schema_versions`.
    Contract {
        producer: String,
        event_types: Vec<String>,
        schema_versions: Vec<u32>,
    },
    /// Every incident (a fault labelled one of `incidents`, such as "slow down" or "pause", made by
    /// the exercise's schedule, a proof's chaos or a person) is followed within `within_ms` by an
    /// alert firing.
    AlertsCatchIncidents {
        incidents: Vec<String>,
        within_ms: Millis,
    },
    /// No alert fires unless an incident labelled one of `incidents` began at most `within_ms`
    /// before it: a rule that fires on a healthy system is noise.
    NoFalseAlarms {
        incidents: Vec<String>,
        within_ms: Millis,
    },
    /// At most `max` alert rules are switched on.
    MaxAlertRules { max: u32 },
    /// `producer`'s release named `release` ends as `outcome`: `deployed` when its pipeline passed
    /// (or it has no contract to check), `blocked` when a consumer's contract turned its build red.
    Release {
        producer: String,
        release: String,
        outcome: super::release_goals::ReleaseExpectation,
    },
    /// `channel` has a schema registry that checks compatibility: a mode other than `none`.
    RegistryChecks { channel: String },
}

impl Goal {
    /// Whether the goal reads the run's bill (cost, latency, storage, instances, retries).
    pub fn reads_bill(&self) -> bool {
        matches!(
            self,
            Goal::MaxCost { .. }
                | Goal::LatencyP99 { .. }
                | Goal::MaxStorage { .. }
                | Goal::MaxInstances { .. }
                | Goal::MaxRetries { .. }
        )
    }

    /// The services the goal names, as (kind, name), for reference checks.
    pub(crate) fn references(&self) -> Vec<(&'static str, &str)> {
        use Goal::*;
        match self {
            ExactlyOnce { consumer }
            | NoLoss { consumer }
            | NoDuplicates { consumer }
            | DeadLetters { consumer, .. }
            | InOrder { consumer }
            | MaxLag { consumer, .. }
            | Balance { consumer, .. }
            | MaxFailures { consumer, .. }
            | ProcessedWithin { consumer, .. }
            | LatencyP99 { consumer, .. }
            | MaxInstances { consumer, .. }
            | Routed { consumer, .. } => vec![("consumer", consumer)],
            MaxRetries { consumer, .. } => {
                consumer.iter().map(|c| ("consumer", c.as_str())).collect()
            }
            MaxCost { .. }
            | MaxStorage { .. }
            | AlertsCatchIncidents { .. }
            | NoFalseAlarms { .. }
            | MaxAlertRules { .. }
            | RegistryChecks { .. } => Vec::new(),
            Compensated {
                consumer,
                applied_by,
                ..
            } => {
                let mut names = vec![("consumer", consumer.as_str())];
                if let Some(other) = applied_by {
                    names.push(("applied_by", other.as_str()));
                }
                names
            }
            Correlated { through } => through.iter().map(|s| ("through", s.as_str())).collect(),
            NoTimeouts { producer } | Contract { producer, .. } | Release { producer, .. } => {
                vec![("producer", producer)]
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalState {
    Pending,
    Met,
    Broken,
}

/// One goal's state at one moment, with why and the message that broke it.
#[derive(Debug, Clone, Serialize)]
pub struct GoalStatus {
    pub id: String,
    pub description: String,
    pub state: GoalState,
    pub reason: Option<String>,
    pub message: Option<MessageId>,
    /// When the goal broke (virtual time); the end of the run for end-state goals.
    pub at: Option<Millis>,
}

/// What the tracker remembers of one message.
#[derive(Debug, Clone)]
struct Seen {
    event_type: Arc<str>,
    key: Arc<str>,
    seq: u64,
    schema_version: u32,
    correlation: CorrelationId,
    from: Publisher,
    at: Millis,
}

/// The first event that broke a live goal.
#[derive(Debug, Clone)]
struct Break {
    at: Millis,
    message: Option<MessageId>,
    reason: String,
}

#[derive(Debug, Clone, Copy)]
struct DeadLetter {
    at: Millis,
    message: MessageId,
    queue: QueueId,
    attempts: u32,
}

/// A goal with its names resolved to the scenario's indexes (the engine numbers services
/// and channels in the order the scenario lists them).
#[derive(Debug, Clone)]
struct Resolved {
    consumer: Option<ConsumerId>,
    other: Option<ConsumerId>,
    producer: Option<ProducerId>,
    through: Vec<ConsumerId>,
}

/// Follows a run and tells how each goal of an exercise stands.
pub struct GoalTracker {
    goals: Vec<(super::GoalSpec, Resolved)>,
    /// The first break of each live goal, by goal index.
    breaks: Vec<Option<Break>>,
    failures: Vec<u64>,
    messages: HashMap<MessageId, Seen>,
    untracked: u64,
    /// Messages that arrived after a newer one of their key, by consumer.
    late: HashSet<(ConsumerId, MessageId)>,
    declined: BTreeMap<ConsumerId, Vec<(Millis, MessageId)>>,
    /// Messages published in reaction to another, by the message that caused them.
    compensations: HashMap<MessageId, Vec<MessageId>>,
    applied: HashSet<(ConsumerId, MessageId)>,
    /// Correlation ids each consumer applied an effect for.
    reached: HashMap<ConsumerId, HashSet<CorrelationId>>,
    emitted: u64,
    dead_letters: Vec<DeadLetter>,
    last_at: Millis,
    console: ProducerId,
    /// What the bill's goals price the run at.
    prices: Prices,
    /// Each producer's routing key (the console's last), for the routing goals.
    routing_keys: Vec<Option<Arc<str>>>,
    /// The scenario's consumers by index, for reasons a person reads.
    consumer_names: Vec<String>,
    /// Incidents and alerts fired, for the alerting goals.
    alerts: AlertWatch,
    /// Releases shipped or held back, for the change goals.
    releases: ReleaseWatch,
}

impl GoalTracker {
    pub fn new(exercise: &Exercise) -> Self {
        Self {
            prices: exercise.cost,
            ..Self::for_goals(&exercise.goals, &exercise.scenario)
        }
    }

    /// A tracker for these goals over a run of `scenario`.
    pub fn for_goals(goals: &[super::GoalSpec], scenario: &Scenario) -> Self {
        let position = |mut names: std::slice::Iter<'_, String>, name: &str| {
            names.position(|n| n == name).map(|i| i as u16)
        };
        let consumer_names: Vec<String> =
            scenario.consumers.iter().map(|c| c.name.clone()).collect();
        let producer_names: Vec<String> =
            scenario.producers.iter().map(|p| p.name.clone()).collect();
        let consumer = |name: &str| position(consumer_names.iter(), name).map(ConsumerId);
        let producer = |name: &str| position(producer_names.iter(), name).map(ProducerId);
        let goals: Vec<_> = goals
            .iter()
            .map(|spec| {
                let resolved = match &spec.check {
                    Goal::Compensated {
                        consumer: c,
                        applied_by,
                        ..
                    } => Resolved {
                        consumer: consumer(c),
                        other: applied_by.as_deref().and_then(consumer),
                        producer: None,
                        through: Vec::new(),
                    },
                    Goal::Correlated { through } => Resolved {
                        consumer: None,
                        other: None,
                        producer: None,
                        through: through.iter().filter_map(|n| consumer(n)).collect(),
                    },
                    Goal::NoTimeouts { producer: p }
                    | Goal::Contract { producer: p, .. }
                    | Goal::Release { producer: p, .. } => Resolved {
                        consumer: None,
                        other: None,
                        producer: producer(p),
                        through: Vec::new(),
                    },
                    other => Resolved {
                        consumer: other
                            .references()
                            .first()
                            .and_then(|(_, name)| consumer(name)),
                        other: None,
                        producer: None,
                        through: Vec::new(),
                    },
                };
                (spec.clone(), resolved)
            })
            .collect();
        Self {
            breaks: vec![None; goals.len()],
            failures: vec![0; goals.len()],
            goals,
            messages: HashMap::new(),
            untracked: 0,
            late: HashSet::new(),
            declined: BTreeMap::new(),
            compensations: HashMap::new(),
            applied: HashSet::new(),
            reached: HashMap::new(),
            emitted: 0,
            dead_letters: Vec::new(),
            last_at: 0,
            // The engine adds the console after the scenario's producers.
            console: ProducerId(scenario.producers.len() as u16),
            prices: Prices::default(),
            consumer_names: consumer_names.clone(),
            routing_keys: scenario
                .producers
                .iter()
                .map(|p| p.routing_key.as_deref().map(Arc::from))
                .collect(),
            alerts: AlertWatch::new(scenario),
            releases: ReleaseWatch::default(),
        }
    }

    /// Feeds the trace events of the run, in order, as they are drained.
    pub fn observe(&mut self, events: &[TraceEvent]) {
        for event in events {
            self.last_at = event.at;
            self.observe_one(event);
        }
    }

    fn observe_one(&mut self, event: &TraceEvent) {
        self.alerts.observe(event);
        self.releases.observe(event);
        let at = event.at;
        match &event.kind {
            TraceKind::Published {
                message,
                from,
                event_type,
                key,
                seq,
                schema_version,
                correlation_id,
                causation_id,
                ..
            } => {
                let first = !self.messages.contains_key(message);
                if first {
                    if self.messages.len() < MAX_TRACKED_MESSAGES {
                        self.messages.insert(
                            *message,
                            Seen {
                                event_type: event_type.clone(),
                                key: key.clone(),
                                seq: *seq,
                                schema_version: *schema_version,
                                correlation: *correlation_id,
                                from: *from,
                                at,
                            },
                        );
                    } else {
                        self.untracked += 1;
                    }
                }
                if let Some(cause) = causation_id
                    && self.compensations.len() < MAX_TRACKED_MESSAGES
                {
                    self.compensations.entry(*cause).or_default().push(*message);
                }
                self.on_published(at, *message, *from, *correlation_id, *causation_id);
            }
            TraceKind::EffectApplied {
                message, consumer, ..
            } => self.on_applied(at, *message, *consumer),
            TraceKind::NotRouted {
                message,
                consumer,
                routing_key,
                reason,
                ..
            } => {
                let reason = format!("not routed to {}: {reason}", self.consumer_name(*consumer));
                for index in 0..self.goals.len() {
                    let (spec, resolved) = &self.goals[index];
                    if let Goal::Routed { pattern, .. } = &spec.check
                        && resolved.consumer == Some(*consumer)
                        && topic_matches(pattern, routing_key)
                    {
                        self.set_break(index, at, Some(*message), reason.clone());
                    }
                }
            }
            TraceKind::DuplicateEffect {
                message,
                consumer,
                times,
            } => {
                let reason = match self.messages.get(message) {
                    Some(seen) => format!(
                        "{}#{} had its effect applied {times} times",
                        seen.key, seen.seq
                    ),
                    None => format!("an effect was applied {times} times"),
                };
                self.break_for(*consumer, at, *message, &reason, |g| {
                    matches!(g, Goal::ExactlyOnce { .. } | Goal::NoDuplicates { .. })
                });
            }
            TraceKind::StaleOverwrite {
                message,
                consumer,
                seq,
                last_seq,
            } => {
                let key = self.key_of(message);
                let reason = format!(
                    "{key} version {seq} overwrote the newer version {last_seq} in the read model"
                );
                self.break_for(*consumer, at, *message, &reason, |g| {
                    matches!(g, Goal::InOrder { .. })
                });
            }
            TraceKind::OutOfOrder {
                message, consumer, ..
            } => {
                self.late.insert((*consumer, *message));
            }
            TraceKind::Declined { message, consumer } => {
                self.declined
                    .entry(*consumer)
                    .or_default()
                    .push((at, *message));
            }
            TraceKind::ProcessingFailed {
                message,
                consumer,
                reason,
                ..
            } => self.on_failed(at, *message, *consumer, *reason),
            TraceKind::DeadLettered {
                message,
                queue,
                attempts,
                ..
            } => {
                if self.dead_letters.len() >= MAX_TRACKED_DEAD_LETTERS {
                    self.dead_letters.remove(0);
                }
                self.dead_letters.push(DeadLetter {
                    at,
                    message: *message,
                    queue: *queue,
                    attempts: *attempts,
                });
            }
            TraceKind::RequestTimedOut { request, producer } => {
                for index in 0..self.goals.len() {
                    let (spec, resolved) = &self.goals[index];
                    if matches!(spec.check, Goal::NoTimeouts { .. })
                        && resolved.producer == Some(*producer)
                    {
                        self.set_break(
                            index,
                            at,
                            Some(*request),
                            "a request timed out: the caller gave up and showed an error"
                                .to_owned(),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn key_of(&self, message: &MessageId) -> String {
        self.messages
            .get(message)
            .map_or_else(|| message.to_string(), |s| s.key.to_string())
    }

    fn on_published(
        &mut self,
        at: Millis,
        message: MessageId,
        from: Publisher,
        correlation: CorrelationId,
        causation: Option<MessageId>,
    ) {
        if let (Publisher::Consumer(_), Some(cause)) = (from, causation) {
            self.emitted += 1;
            let cause_correlation = self.messages.get(&cause).map(|s| s.correlation);
            if let Some(expected) = cause_correlation
                && expected != correlation
            {
                let reason = format!(
                    "an event carries correlation id {correlation}, but the event that caused it \
                     carries {expected}: the journey is cut in two"
                );
                for index in 0..self.goals.len() {
                    if matches!(self.goals[index].0.check, Goal::Correlated { .. }) {
                        self.set_break(index, at, Some(message), reason.clone());
                    }
                }
            }
        }
        if let Publisher::Producer(producer) = from {
            let Some(seen) = self.messages.get(&message).cloned() else {
                return;
            };
            for index in 0..self.goals.len() {
                let (spec, resolved) = &self.goals[index];
                let Goal::Contract {
                    event_types,
                    schema_versions,
                    ..
                } = &spec.check
                else {
                    continue;
                };
                if resolved.producer != Some(producer) {
                    continue;
                }
                let type_ok = event_types.iter().any(|t| **t == *seen.event_type);
                let version_ok = schema_versions.contains(&seen.schema_version);
                if !(type_ok && version_ok) {
                    let reason = format!(
                        "published {} version {}, which the contract does not allow",
                        seen.event_type, seen.schema_version
                    );
                    self.set_break(index, at, Some(message), reason);
                }
            }
        }
    }

    fn on_applied(&mut self, at: Millis, message: MessageId, consumer: ConsumerId) {
        if self.applied.len() < MAX_TRACKED_MESSAGES {
            self.applied.insert((consumer, message));
        }
        let seen = self.messages.get(&message).cloned();
        if let Some(seen) = &seen {
            self.reached
                .entry(consumer)
                .or_default()
                .insert(seen.correlation);
        }
        if let Some(seen) = &seen {
            let key = match seen.from {
                Publisher::Producer(p) => self
                    .routing_keys
                    .get(p.0 as usize)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| seen.event_type.clone()),
                Publisher::Consumer(_) => seen.event_type.clone(),
            };
            for index in 0..self.goals.len() {
                let (spec, resolved) = &self.goals[index];
                if let Goal::Routed { pattern, .. } = &spec.check
                    && resolved.consumer == Some(consumer)
                    && !topic_matches(pattern, &key)
                {
                    let reason = format!(
                        "{} handled {} (key {key}), which does not match {pattern}",
                        self.consumer_name(consumer),
                        seen.key
                    );
                    self.set_break(index, at, Some(message), reason);
                }
            }
        }
        if self.late.remove(&(consumer, message)) {
            let reason = format!(
                "{} version {} was applied after a newer version of its key",
                self.key_of(&message),
                seen.as_ref().map_or(0, |s| s.seq)
            );
            self.break_for(consumer, at, message, &reason, |g| {
                matches!(g, Goal::InOrder { .. })
            });
        }
        let Some(seen) = seen else {
            return;
        };
        for index in 0..self.goals.len() {
            let (spec, resolved) = &self.goals[index];
            let Goal::ProcessedWithin { ms, .. } = spec.check else {
                continue;
            };
            if resolved.consumer != Some(consumer) {
                continue;
            }
            let took = at.saturating_sub(seen.at);
            if took > ms {
                let reason = format!(
                    "{}#{} took {took} ms from publication to effect (the goal allows {ms} ms)",
                    seen.key, seen.seq
                );
                self.set_break(index, at, Some(message), reason);
            }
        }
    }

    fn on_failed(
        &mut self,
        at: Millis,
        message: MessageId,
        consumer: ConsumerId,
        reason: FailureReason,
    ) {
        for index in 0..self.goals.len() {
            let (spec, resolved) = &self.goals[index];
            let Goal::MaxFailures {
                max, reason: only, ..
            } = spec.check
            else {
                continue;
            };
            if resolved.consumer != Some(consumer) || only.is_some_and(|r| r != reason) {
                continue;
            }
            self.failures[index] += 1;
            if self.failures[index] > max {
                let text = format!(
                    "more than {max} failed attempts (this one: {})",
                    failure_text(reason)
                );
                self.set_break(index, at, Some(message), text);
            }
        }
    }

    fn consumer_name(&self, consumer: ConsumerId) -> String {
        self.consumer_names
            .get(consumer.0 as usize)
            .cloned()
            .unwrap_or_else(|| format!("consumer {}", consumer.0))
    }

    fn break_for(
        &mut self,
        consumer: ConsumerId,
        at: Millis,
        message: MessageId,
        reason: &str,
        kinds: impl Fn(&Goal) -> bool,
    ) {
        for index in 0..self.goals.len() {
            let (spec, resolved) = &self.goals[index];
            if kinds(&spec.check) && resolved.consumer == Some(consumer) {
                self.set_break(index, at, Some(message), reason.to_owned());
            }
        }
    }

    fn set_break(&mut self, index: usize, at: Millis, message: Option<MessageId>, reason: String) {
        if self.breaks[index].is_none() {
            self.breaks[index] = Some(Break {
                at,
                message,
                reason,
            });
        }
    }

    /// How every goal stands now. `finished` says the run reached its end, where pending
    /// goals are decided.
    pub fn status(&self, world: &World, finished: bool) -> Vec<GoalStatus> {
        let reads_bill = self.goals.iter().any(|(spec, _)| spec.check.reads_bill());
        let ctx = EndState::new(world, reads_bill.then_some(&self.prices));
        self.goals
            .iter()
            .enumerate()
            .map(|(index, (spec, resolved))| {
                let verdict = match &self.breaks[index] {
                    Some(b) => Verdict::Broken(Break::clone(b)),
                    None => self.evaluate(spec, resolved, &ctx, world, finished),
                };
                let (state, reason, message, at) = match verdict {
                    Verdict::Broken(b) => {
                        (GoalState::Broken, Some(b.reason), b.message, Some(b.at))
                    }
                    Verdict::Met => (GoalState::Met, None, None, None),
                    Verdict::Pending(note) => (GoalState::Pending, note, None, None),
                };
                GoalStatus {
                    id: spec.id.clone(),
                    description: spec.description.clone(),
                    state,
                    reason,
                    message,
                    at,
                }
            })
            .collect()
    }

    /// A goal without a live break: decided from the end state once the run is finished.
    fn evaluate(
        &self,
        spec: &super::GoalSpec,
        resolved: &Resolved,
        ctx: &EndState,
        world: &World,
        finished: bool,
    ) -> Verdict {
        let end = world.now();
        let broken = |message: Option<MessageId>, reason: String| {
            Verdict::Broken(Break {
                at: end,
                message,
                reason,
            })
        };
        let consumer = resolved.consumer;
        if let Some(check) = self.alerts.check(&spec.check, end, finished) {
            return match check {
                AlertCheck::Met => Verdict::Met,
                AlertCheck::Pending => Verdict::Pending(None),
                AlertCheck::Broken {
                    at,
                    message,
                    reason,
                } => Verdict::Broken(Break {
                    at,
                    message,
                    reason,
                }),
            };
        }
        if let Some(check) =
            self.releases
                .check(&spec.check, resolved.producer, &ctx.topology, finished)
        {
            return match check {
                ReleaseCheck::Met => Verdict::Met,
                ReleaseCheck::Pending => Verdict::Pending(None),
                ReleaseCheck::Broken { at, reason } => Verdict::Broken(Break {
                    at,
                    message: None,
                    reason,
                }),
            };
        }
        if let Some(bill) = &ctx.bill
            && let Some(check) = bill::check(&spec.check, consumer, bill, finished)
        {
            return match check {
                BillCheck::Met => Verdict::Met,
                BillCheck::Broken(reason) => broken(None, reason),
                BillCheck::Pending(note) => Verdict::Pending(note),
            };
        }
        match &spec.check {
            // Broken live by the trace; otherwise met at the end.
            Goal::Routed { .. } => {
                if finished {
                    Verdict::Met
                } else {
                    Verdict::Pending(None)
                }
            }
            // Decided from the bill above, which is there whenever a goal reads it.
            Goal::MaxCost { .. }
            | Goal::LatencyP99 { .. }
            | Goal::MaxStorage { .. }
            | Goal::MaxInstances { .. }
            | Goal::MaxRetries { .. } => Verdict::Pending(None),
            // Decided by the alert watch above.
            Goal::AlertsCatchIncidents { .. }
            | Goal::NoFalseAlarms { .. }
            | Goal::MaxAlertRules { .. } => Verdict::Pending(None),
            // Decided by the release watch above.
            Goal::Release { .. } | Goal::RegistryChecks { .. } => Verdict::Pending(None),
            Goal::ExactlyOnce { .. } | Goal::NoLoss { .. } => {
                if !finished {
                    return Verdict::Pending(None);
                }
                let Some(c) = consumer else {
                    return Verdict::Met;
                };
                if let Some(report) = world.report().into_iter().nth(c.0 as usize)
                    && let Some(missing) = report.missing.first()
                {
                    let message = self.message_for_key(missing);
                    return broken(
                        message,
                        format!(
                            "{} of {} orders never reached {} (the first: {missing})",
                            report.missing.len(),
                            report.expected,
                            report.name
                        ),
                    );
                }
                if matches!(spec.check, Goal::ExactlyOnce { .. })
                    && let Some(letter) = self.parked_orders(c, ctx).first()
                {
                    return broken(
                        Some(*letter),
                        format!(
                            "{} is in the dead-letter queue: its effect never happened",
                            self.key_of(letter)
                        ),
                    );
                }
                Verdict::Met
            }
            Goal::DeadLetters {
                event_types,
                attempts,
                ..
            } => {
                let Some(c) = consumer else {
                    return Verdict::Met;
                };
                let queue = ctx.dead_letter_queue(c);
                let mut matching = 0;
                for letter in self.dead_letters.iter().filter(|l| Some(l.queue) == queue) {
                    let kind = self
                        .messages
                        .get(&letter.message)
                        .map(|s| s.event_type.to_string());
                    let wanted = kind
                        .as_deref()
                        .is_some_and(|k| event_types.iter().any(|t| t == k));
                    if !wanted {
                        return Verdict::Broken(Break {
                            at: letter.at,
                            message: Some(letter.message),
                            reason: format!(
                                "{} ({}) was dead-lettered although nothing is wrong with it",
                                self.key_of(&letter.message),
                                kind.unwrap_or_else(|| "unknown type".to_owned())
                            ),
                        });
                    }
                    if let Some(n) = attempts
                        && letter.attempts != *n
                    {
                        return Verdict::Broken(Break {
                            at: letter.at,
                            message: Some(letter.message),
                            reason: format!(
                                "the poison message was dead-lettered after {}, not {n}",
                                counted(letter.attempts.into(), "attempt", "attempts")
                            ),
                        });
                    }
                    matching += 1;
                }
                if matching > 0 || event_types.is_empty() {
                    if finished {
                        Verdict::Met
                    } else {
                        Verdict::Pending(None)
                    }
                } else if finished {
                    broken(
                        None,
                        "the poison message never reached the dead-letter queue".into(),
                    )
                } else {
                    Verdict::Pending(None)
                }
            }
            Goal::MaxLag { max, .. } => {
                let lag = consumer.map_or(0, |c| ctx.lag(c));
                if !finished {
                    return Verdict::Pending(Some(format!(
                        "{} waiting now",
                        counted(lag, "message", "messages")
                    )));
                }
                if lag > *max {
                    broken(
                        None,
                        format!(
                            "{} still waiting at the end (the goal allows {max})",
                            counted(lag, "message", "messages")
                        ),
                    )
                } else {
                    Verdict::Met
                }
            }
            Goal::Balance { equals, .. } => {
                let balance = consumer.map_or(0, |c| ctx.balance(c));
                if !finished {
                    return Verdict::Pending(Some(format!("balance {balance} now")));
                }
                if balance == *equals {
                    Verdict::Met
                } else {
                    broken(
                        None,
                        format!("the balance is {balance} at the end, not {equals}"),
                    )
                }
            }
            Goal::Compensated { event_type, .. } => {
                if !finished {
                    return Verdict::Pending(None);
                }
                let Some(c) = consumer else {
                    return Verdict::Met;
                };
                for (_, declined) in self.declined.get(&c).into_iter().flatten() {
                    let compensation: Vec<&MessageId> = self
                        .caused_by(*declined)
                        .into_iter()
                        .filter(|m| {
                            self.messages
                                .get(*m)
                                .is_some_and(|s| *s.event_type == **event_type)
                        })
                        .collect();
                    if compensation.is_empty() {
                        return broken(
                            Some(*declined),
                            format!(
                                "{} was declined, but no {event_type} was published for it",
                                self.key_of(declined)
                            ),
                        );
                    }
                    if let Some(other) = resolved.other
                        && !compensation
                            .iter()
                            .any(|m| self.applied.contains(&(other, **m)))
                    {
                        return broken(
                            compensation.first().map(|m| **m),
                            format!(
                                "the {event_type} of {} was never applied",
                                self.key_of(declined)
                            ),
                        );
                    }
                }
                Verdict::Met
            }
            Goal::Correlated { .. } => {
                if !finished {
                    return Verdict::Pending(None);
                }
                if self.emitted == 0 {
                    return broken(None, "no service published an event in reaction".into());
                }
                if let Some(first) = resolved.through.first() {
                    let common = self.reached.get(first).into_iter().flatten().any(|id| {
                        resolved
                            .through
                            .iter()
                            .all(|c| self.reached.get(c).is_some_and(|ids| ids.contains(id)))
                    });
                    if !common {
                        return broken(
                            None,
                            "no single correlation id can be followed through every service".into(),
                        );
                    }
                }
                Verdict::Met
            }
            Goal::NoTimeouts { .. }
            | Goal::NoDuplicates { .. }
            | Goal::InOrder { .. }
            | Goal::MaxFailures { .. }
            | Goal::ProcessedWithin { .. }
            | Goal::Contract { .. } => {
                if finished {
                    Verdict::Met
                } else {
                    Verdict::Pending(None)
                }
            }
        }
    }

    /// Every message caused, directly or through a chain of reactions, by `root`: a saga's
    /// compensation may be a few steps away from the failure that called for it.
    fn caused_by(&self, root: MessageId) -> Vec<&MessageId> {
        let mut found: Vec<&MessageId> = Vec::new();
        let mut frontier = vec![root];
        for _ in 0..MAX_CAUSAL_STEPS {
            let mut next = Vec::new();
            for cause in frontier {
                for effect in self.compensations.get(&cause).into_iter().flatten() {
                    found.push(effect);
                    next.push(*effect);
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        found
    }

    /// Orders of the scenario's producers still in `consumer`'s dead-letter queue.
    fn parked_orders(&self, consumer: ConsumerId, ctx: &EndState) -> Vec<MessageId> {
        let queue = ctx.dead_letter_queue(consumer);
        let mut redriven_later = HashSet::new();
        let mut parked = Vec::new();
        for letter in self.dead_letters.iter().rev() {
            if Some(letter.queue) != queue || !redriven_later.insert(letter.message) {
                continue;
            }
            let from_producer = self
                .messages
                .get(&letter.message)
                .is_some_and(|s| matches!(s.from, Publisher::Producer(p) if p != self.console));
            if from_producer && !self.applied.contains(&(consumer, letter.message)) {
                parked.push(letter.message);
            }
        }
        parked.reverse();
        parked
    }

    /// The first message seen for a `key#seq` the engine's report names.
    fn message_for_key(&self, key_seq: &str) -> Option<MessageId> {
        let (key, seq) = key_seq.rsplit_once('#')?;
        let seq: u64 = seq.parse().ok()?;
        self.messages
            .iter()
            .filter(|(_, s)| &*s.key == key && s.seq == seq)
            .min_by_key(|(id, s)| (s.at, **id))
            .map(|(id, _)| *id)
    }

    /// Messages the tracker could not remember because its table was full.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// The virtual time of the last event observed.
    pub fn last_event_at(&self) -> Millis {
        self.last_at
    }
}

enum Verdict {
    Met,
    Broken(Break),
    Pending(Option<String>),
}

/// The parts of a world's state the end-state goals read, taken once per `status` call.
struct EndState {
    topology: crate::engine::Topology,
    metrics: crate::engine::Metrics,
    /// The run's bill, when a goal reads it.
    bill: Option<Bill>,
}

impl EndState {
    fn new(world: &World, prices: Option<&Prices>) -> Self {
        let topology = world.topology();
        let bill = prices.map(|prices| {
            Bill::from_usage(&world.usage(), world.now(), prices, |id| {
                topology
                    .consumers
                    .get(id.0 as usize)
                    .map(|c| c.name.clone())
                    .unwrap_or_default()
            })
        });
        Self {
            topology,
            metrics: world.metrics(),
            bill,
        }
    }

    fn dead_letter_queue(&self, consumer: ConsumerId) -> Option<QueueId> {
        self.topology
            .consumers
            .get(consumer.0 as usize)
            .map(|c| c.dead_letters)
    }

    fn balance(&self, consumer: ConsumerId) -> i64 {
        self.metrics
            .consumers
            .get(consumer.0 as usize)
            .map_or(0, |c| c.business.balance)
    }

    /// Messages waiting for a consumer: a stream group's lag, or what its queue holds.
    fn lag(&self, consumer: ConsumerId) -> u64 {
        crate::engine::consumer_lag(&self.topology, &self.metrics, consumer)
    }
}

fn failure_text(reason: FailureReason) -> &'static str {
    match reason {
        FailureReason::Transient => "a transient error",
        FailureReason::Malformed => "a payload that cannot be parsed",
        FailureReason::PoisonType => "an event type it cannot handle",
        FailureReason::UnknownSchemaVersion => "a schema version it does not know",
        FailureReason::MissingField => "a payload without a field its code uses",
        FailureReason::DependencyDown => "its dependency is down",
        FailureReason::DependencyOverloaded => "its dependency is overloaded",
    }
}

/// "1 attempt", "3 attempts": a count with its noun in the right number.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
