//! The world: one broker, its channels and the services around it, advanced by the caller.
//!
//! The driver owns time. It calls [`World::apply`] with a command at an instant,
//! [`World::advance_to`] to let everything due up to an instant happen, asks
//! [`World::next_deadline`] when something will next happen, and drains the trace. Nothing
//! in here reads a clock, spawns a task or draws an unseeded random number.
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::sync::Arc;

use super::channel::Channel;
use super::command::Command;
use super::consumer::{Consumer, Work};
use super::error::CommandError;
use super::ids::{ConsumerId, CorrelationId, DeliveryTag, MessageId, Millis, ProducerId, QueueId};
use super::message::MessageRef;
use super::producer::Producer;
use super::queue::{AckOutcome, Envelope, QueueState};
use super::rng::SimRng;
use super::scenario::ScheduledFault;
use super::scheduler::Scheduler;
use super::trace::{DropReason, TraceEvent, TraceKind};

/// Trace events kept until the driver drains them. At the limit further events are counted
/// but not kept, and one `trace_overflow` event reports how many were missed, so a driver
/// that forgets to drain costs bounded memory instead of all of it.
pub const MAX_UNDRAINED_TRACE_EVENTS: usize = 2_000_000;

/// Events waiting in the scheduler. Producers stop publishing while the scheduler is this
/// full (the publish fails as if the broker pushed back), so a runaway scenario slows down
/// instead of exhausting memory.
pub const MAX_SCHEDULED_EVENTS: usize = 1_000_000;

/// Messages one world creates unless its driver sets another cap with
/// [`World::set_message_cap`]. At the cap producers fall silent, a publish by hand is refused
/// with a clear error and follow-up events are dropped with `message_cap`: a runaway
/// scenario stops growing instead of using up the server.
pub const DEFAULT_MESSAGE_CAP: u64 = 1_000_000;

/// A hash map whose iteration order depends only on what was inserted: std's default
/// hasher is seeded per process, which would make two runs of one seed differ.
pub(crate) type StableHashMap<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;
pub(crate) type StableHashSet<K> = HashSet<K, BuildHasherDefault<DefaultHasher>>;

/// Something that will happen at a future instant.
pub(crate) enum Pending {
    ProducerTick(ProducerId),
    RelayTick(ProducerId),
    /// A publish reaches the broker.
    ArriveAtBroker {
        message: MessageRef,
        from: Sender,
    },
    /// The broker's confirmation of an outbox publish reaches the relay.
    OutboxConfirm {
        producer: ProducerId,
        message: MessageId,
    },
    ReplyArrives {
        producer: ProducerId,
        reply: MessageRef,
    },
    RequestTimeout {
        producer: ProducerId,
        correlation: CorrelationId,
    },
    /// A delivery reaches a consumer instance.
    ArriveAtInstance {
        consumer: ConsumerId,
        instance: u32,
        incarnation: u32,
        work: Work,
    },
    ProcessingDone {
        consumer: ConsumerId,
        instance: u32,
        incarnation: u32,
    },
    /// A consumer-side retry (streams, and queues acked on receipt) is due.
    LocalRetry {
        consumer: ConsumerId,
        instance: u32,
        incarnation: u32,
    },
    /// An ack, nack or reject reaches the broker.
    AckArrives {
        queue: QueueId,
        tag: DeliveryTag,
        message: MessageId,
        consumer: ConsumerId,
        outcome: AckOutcome,
    },
    /// A stream offset commit reaches the broker.
    CommitArrives {
        consumer: ConsumerId,
        partition: u32,
        offset: u64,
        generation: u32,
    },
    /// The earliest ack deadline of a queue is due.
    AckDeadline {
        queue: QueueId,
    },
    /// The message at the head of a queue with a TTL is due to expire.
    HeadExpiry {
        queue: QueueId,
    },
    RetryDue {
        queue: QueueId,
        envelope: Envelope,
    },
    ResequenceTimeout {
        consumer: ConsumerId,
        key: Arc<str>,
        waiting_for: u64,
    },
    InstanceRestart {
        consumer: ConsumerId,
        instance: u32,
        incarnation: u32,
    },
    DependencyRestored {
        consumer: ConsumerId,
    },
    BrokerUp,
    ScheduledFault(usize),
    /// The alert rules are due for a check.
    AlertCheck,
    ProducerRelease {
        producer: ProducerId,
        index: usize,
    },
    ConsumerRelease {
        consumer: ConsumerId,
        index: usize,
    },
}

/// Who sent a publish: it decides which link it crosses and who learns of a failure.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sender {
    Producer(ProducerId),
    /// The outbox relay of a producer; the broker confirms what it accepts.
    Relay(ProducerId),
    Consumer(ConsumerId),
}

pub struct World {
    pub(crate) now: Millis,
    pub(crate) seed: u64,
    pub(crate) rng: SimRng,
    pub(crate) scheduler: Scheduler<Pending>,
    pub(crate) trace: Vec<TraceEvent>,
    pub(crate) trace_missed: u64,
    /// Per consumer (by index): messages lost on their way to it, or its copy of them, as the trace names
    /// it in a `dropped` event, plus stream records it never read. Counted here, before the trace's cap,
    /// so the count is whole even when the trace is not.
    pub(crate) lost_for: Vec<u64>,
    pub(crate) channels: Vec<Channel>,
    pub(crate) queues: Vec<QueueState>,
    pub(crate) producers: Vec<Producer>,
    pub(crate) consumers: Vec<Consumer>,
    pub(crate) faults: Vec<ScheduledFault>,
    /// The scenario's enabled alert rules and whether each is firing.
    pub(crate) alerts: Vec<super::alerts::AlertState>,
    /// The scenario's payload schemas, which the channels' registries judge.
    pub(crate) schemas: Vec<super::registry::EventSchema>,
    /// The consumers' contracts, which the producers' pipelines check releases against.
    pub(crate) contracts: Vec<super::releases::ContractSpec>,
    pub(crate) broker_up: bool,
    pub(crate) next_tag: DeliveryTag,
    pub(crate) deliveries: u64,
    pub(crate) messages_created: u64,
    pub(crate) message_cap: u64,
    pub(crate) rate_window: super::rates::RateWindow,
    pub(crate) meter: super::usage::Meter,
}

impl World {
    /// The current virtual time.
    pub fn now(&self) -> Millis {
        self.now
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Deliveries made so far (every attempt counts): the engine's unit of work.
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// Caps the messages this world creates (producers, the console, follow-ups); see
    /// [`DEFAULT_MESSAGE_CAP`] for what happens at the cap. Part of a run's configuration:
    /// replaying a run needs the same cap.
    pub fn set_message_cap(&mut self, cap: u64) {
        self.message_cap = cap;
    }

    /// Messages created so far.
    pub fn messages_created(&self) -> u64 {
        self.messages_created
    }

    pub(crate) fn at_message_cap(&self) -> bool {
        self.messages_created >= self.message_cap
    }

    /// When the next thing will happen, if anything ever will.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.scheduler.next_at()
    }

    /// Lets everything due up to and including `until` happen, then sets the clock to
    /// `until`. Time never moves backwards: an earlier `until` does nothing.
    pub fn advance_to(&mut self, until: Millis) {
        while let Some((at, event)) = self.scheduler.pop_due(until) {
            self.accrue_usage(at);
            self.now = at;
            self.handle(event);
        }
        self.accrue_usage(until.max(self.now));
        self.now = self.now.max(until);
        self.roll_rate_window();
    }

    /// Runs everything due at the next deadline and returns that instant, or `None` when
    /// nothing is left to happen. This is the "step" of a paused playground.
    pub fn step(&mut self) -> Option<Millis> {
        let at = self.next_deadline()?;
        self.advance_to(at);
        Some(at)
    }

    /// Applies a command at `now`, after letting everything due before it happen.
    pub fn apply(&mut self, now: Millis, command: Command) -> Result<(), CommandError> {
        if now < self.now {
            return Err(CommandError::TimeWentBackwards {
                now: self.now,
                requested: now,
            });
        }
        self.advance_to(now);
        self.execute(command)
    }

    /// Takes the trace recorded since the last drain.
    pub fn drain_trace(&mut self) -> Vec<TraceEvent> {
        if self.trace_missed > 0 {
            let missed = std::mem::take(&mut self.trace_missed);
            self.trace.push(TraceEvent {
                at: self.now,
                kind: TraceKind::TraceOverflow { missed },
            });
        }
        std::mem::take(&mut self.trace)
    }

    /// Clears the trace without handing it out, for drivers that only want the state.
    pub fn discard_trace(&mut self) {
        self.trace.clear();
        self.trace_missed = 0;
    }

    pub(crate) fn record(&mut self, kind: TraceKind) {
        let lost = match &kind {
            TraceKind::Dropped {
                consumer: Some(consumer),
                ..
            } => Some((*consumer, 1)),
            TraceKind::RecordsMissed {
                consumer,
                from_offset,
                to_offset,
                ..
            } => Some((*consumer, to_offset.saturating_sub(*from_offset) + 1)),
            _ => None,
        };
        if let Some((consumer, n)) = lost {
            let index = consumer.index();
            if self.lost_for.len() <= index {
                self.lost_for.resize(index + 1, 0);
            }
            self.lost_for[index] += n;
        }
        if self.trace.len() >= MAX_UNDRAINED_TRACE_EVENTS {
            self.trace_missed += 1;
            return;
        }
        self.trace.push(TraceEvent { at: self.now, kind });
    }

    /// Records a message, delivery or ack lost on a consumer's side.
    pub(crate) fn record_consumer_drop(
        &mut self,
        message: MessageId,
        reason: DropReason,
        consumer: ConsumerId,
    ) {
        self.record(TraceKind::Dropped {
            message,
            reason,
            producer: None,
            consumer: Some(consumer),
        });
    }

    pub(crate) fn schedule(&mut self, delay: Millis, event: Pending) {
        self.scheduler
            .schedule(self.now.saturating_add(delay), event);
    }

    pub(crate) fn scheduler_is_full(&self) -> bool {
        self.scheduler.len() >= MAX_SCHEDULED_EVENTS
    }

    /// A fresh message id; every new message takes one, so this is where they are counted.
    pub(crate) fn new_message_id(&mut self) -> MessageId {
        self.messages_created += 1;
        MessageId(self.rng.next_u64())
    }

    pub(crate) fn new_correlation_id(&mut self) -> CorrelationId {
        CorrelationId(self.rng.next_u64())
    }

    fn handle(&mut self, event: Pending) {
        match event {
            Pending::ProducerTick(producer) => self.producer_tick(producer),
            Pending::RelayTick(producer) => self.relay_tick(producer),
            Pending::ArriveAtBroker { message, from } => self.arrive_at_broker(message, from),
            Pending::OutboxConfirm { producer, message } => self.outbox_confirm(producer, message),
            Pending::ReplyArrives { producer, reply } => self.reply_arrives(producer, &reply),
            Pending::RequestTimeout {
                producer,
                correlation,
            } => self.request_timeout(producer, correlation),
            Pending::ArriveAtInstance {
                consumer,
                instance,
                incarnation,
                work,
            } => self.arrive_at_instance(consumer, instance, incarnation, work),
            Pending::ProcessingDone {
                consumer,
                instance,
                incarnation,
            } => self.processing_done(consumer, instance, incarnation),
            Pending::LocalRetry {
                consumer,
                instance,
                incarnation,
            } => self.local_retry(consumer, instance, incarnation),
            Pending::AckArrives {
                queue,
                tag,
                message,
                consumer,
                outcome,
            } => self.ack_arrives(queue, tag, message, consumer, outcome),
            Pending::CommitArrives {
                consumer,
                partition,
                offset,
                generation,
            } => self.commit_arrives(consumer, partition, offset, generation),
            Pending::AckDeadline { queue } => self.ack_deadline(queue),
            Pending::HeadExpiry { queue } => self.expire_head(queue),
            Pending::RetryDue { queue, envelope } => self.retry_due(queue, envelope),
            Pending::ResequenceTimeout {
                consumer,
                key,
                waiting_for,
            } => self.resequence_timeout(consumer, key, waiting_for),
            Pending::InstanceRestart {
                consumer,
                instance,
                incarnation,
            } => self.scheduled_restart(consumer, instance, incarnation),
            Pending::DependencyRestored { consumer } => self.dependency_restored(consumer),
            Pending::BrokerUp => self.broker_comes_up(),
            Pending::ScheduledFault(index) => self.scheduled_fault(index),
            Pending::AlertCheck => self.check_alerts(),
            Pending::ProducerRelease { producer, index } => self.release_producer(producer, index),
            Pending::ConsumerRelease { consumer, index } => self.release_consumer(consumer, index),
        }
    }
}
