//! Consumers: their instances, and what happens to one message from arrival to ack.
//!
//! An instance holds the deliveries pushed to it in a local buffer and processes them one
//! at a time. Processing takes virtual time; then the attempt succeeds, fails (and the
//! retry policy decides what next) or crashes the instance. The ack mode decides whether
//! the broker heard about the message before or after that work.
use std::collections::VecDeque;
use std::sync::Arc;

use super::business::{Business, BusinessOutcome};
use super::design::{AckMode, Design};
use super::ids::{ConsumerId, DeliveryTag, Millis, QueueId};
use super::message::{Message, MessageRef};
use super::network::{Link, Transit};
use super::queue::{AckOutcome, Envelope};
use super::scenario::{ConsumerSpec, EmitOn};
use super::stream::Group;
use super::trace::{DeadLetterReason, DropReason, FailureReason, TraceKind};
use super::world::{Pending, World};

/// Instances one consumer may run. Adding one more is refused with a clear error.
pub const MAX_INSTANCES: usize = 16;

/// Deliveries one instance buffers beyond its prefetch (network duplicates can exceed
/// it). At the limit a further delivery is dropped, as a client library would drop it.
pub const MAX_INSTANCE_BUFFER: usize = 1_024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    Up,
    Crashed,
    Removed,
}

#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub(crate) message: MessageRef,
    pub(crate) source: WorkSource,
    /// Which attempt at this message this is (deliveries for a queue, local tries for a
    /// stream).
    pub(crate) attempt: u32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum WorkSource {
    Queue {
        queue: QueueId,
        tag: DeliveryTag,
    },
    Stream {
        partition: u32,
        offset: u64,
        generation: u32,
    },
}

pub(crate) struct Instance {
    pub(crate) status: InstanceStatus,
    /// Bumped at every crash, so that events meant for an earlier life are ignored.
    pub(crate) incarnation: u32,
    /// Deliveries the broker counts against this instance's prefetch.
    pub(crate) unacked: u32,
    pub(crate) buffer: VecDeque<Work>,
    pub(crate) current: Option<Work>,
    /// When the last stream record fetched arrives (fetches are ordered).
    pub(crate) last_arrival: Millis,
    /// Run by a person: processing waits for them to settle each message.
    pub(crate) manual: bool,
}

impl Instance {
    pub(crate) fn new() -> Self {
        Self {
            status: InstanceStatus::Up,
            incarnation: 0,
            unacked: 0,
            buffer: VecDeque::new(),
            current: None,
            last_arrival: 0,
            manual: false,
        }
    }

    /// After a rebalance the records fetched for the old assignment are thrown away.
    pub(crate) fn drop_stream_buffer(&mut self) {
        self.buffer
            .retain(|work| matches!(work.source, WorkSource::Queue { .. }));
        self.unacked = u32::from(self.current.is_some());
    }
}

pub(crate) enum Source {
    Queue(QueueId),
    Stream(Group),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerStats {
    pub(crate) received: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) crashes: u64,
}

pub(crate) struct Consumer {
    pub(crate) name: Arc<str>,
    pub(crate) spec: ConsumerSpec,
    pub(crate) design: Design,
    pub(crate) source: Source,
    pub(crate) instances: Vec<Instance>,
    pub(crate) link: Link,
    pub(crate) paused: bool,
    pub(crate) slow_factor: u32,
    pub(crate) dependency_down: bool,
    /// Calls to the dependency in the current virtual second: (second, calls).
    pub(crate) dependency_window: (u64, u32),
    pub(crate) business: Business,
    /// The read model and offsets saved at the last checkpoint.
    pub(crate) checkpoint: Option<(Business, Vec<u64>)>,
    pub(crate) since_checkpoint: u64,
    pub(crate) stats: ConsumerStats,
}

impl Consumer {
    /// How long one attempt at `message` takes: the work itself, plus fetching its attachment
    /// from the blob store when it carries a claim check and this consumer reads attachments,
    /// all of it slowed by a slow-down fault.
    pub(crate) fn processing_time(&self, message: &Message) -> Millis {
        let fetch = if message.payload.claim_check {
            self.spec.fetch_attachment_ms
        } else {
            0
        };
        self.spec
            .processing_ms
            .saturating_add(fetch)
            .saturating_mul(u64::from(self.slow_factor.max(1)))
    }

    pub(crate) fn has_running_instance(&self) -> bool {
        self.instances
            .iter()
            .any(|i| i.status == InstanceStatus::Up)
    }

    /// The queue its dead letters live in.
    pub(crate) fn dead_letter_queue(&self) -> QueueId {
        match &self.source {
            Source::Queue(queue) => *queue,
            Source::Stream(group) => group.dead_letters,
        }
    }

    fn accepts_schema(&self, version: u32) -> bool {
        let known = &self.spec.schema_versions;
        if known.contains(&version) {
            return true;
        }
        let newest = known.iter().copied().max().unwrap_or(0);
        if version > newest {
            self.design.tolerant_reader
        } else {
            self.design.upcast
        }
    }

    /// Whether its upcaster converts a message of `version` first, filling in the fields the old
    /// version lacks.
    fn upcasts(&self, version: u32) -> bool {
        let known = &self.spec.schema_versions;
        self.design.upcast
            && !known.contains(&version)
            && known.iter().any(|&newer| newer > version)
    }
}

/// How one processing attempt ended.
enum Attempt {
    Done,
    Failed(FailureReason),
    Crashed,
}

impl World {
    pub(crate) fn arrive_at_instance(
        &mut self,
        consumer: ConsumerId,
        instance: u32,
        incarnation: u32,
        work: Work,
    ) {
        let target = &self.consumers[consumer.index()];
        let state = &target.instances[instance as usize];
        if state.incarnation != incarnation || state.status != InstanceStatus::Up {
            self.record_consumer_drop(work.message.id, DropReason::InstanceCrashed, consumer);
            return;
        }
        if let (WorkSource::Stream { generation, .. }, Source::Stream(group)) =
            (work.source, &target.source)
            && generation != group.generation
        {
            // Fetched for an assignment that no longer holds; the new owner reads it.
            return;
        }
        if state.buffer.len() >= MAX_INSTANCE_BUFFER {
            self.record_consumer_drop(work.message.id, DropReason::QueueFull, consumer);
            return;
        }
        let (partition, offset) = match work.source {
            WorkSource::Stream {
                partition, offset, ..
            } => (Some(partition), Some(offset)),
            WorkSource::Queue { .. } => (None, None),
        };
        self.record(TraceKind::Received {
            message: work.message.id,
            consumer,
            instance,
            partition,
            offset,
        });
        self.consumers[consumer.index()].stats.received += 1;
        if self.consumers[consumer.index()].design.ack_mode == AckMode::OnReceipt {
            self.acknowledge(consumer, &work, AckOutcome::Ack);
        }
        let state = &mut self.consumers[consumer.index()].instances[instance as usize];
        state.buffer.push_back(work);
        if state.current.is_none() {
            self.start_next(consumer, instance);
        }
    }

    pub(crate) fn start_next(&mut self, consumer: ConsumerId, instance: u32) {
        let target = &mut self.consumers[consumer.index()];
        if target.paused {
            return;
        }
        let state = &mut target.instances[instance as usize];
        if state.status != InstanceStatus::Up || state.current.is_some() {
            return;
        }
        let Some(work) = state.buffer.pop_front() else {
            return;
        };
        let duration = target.processing_time(&work.message);
        let state = &mut target.instances[instance as usize];
        state.current = Some(work);
        if state.manual {
            // A person holds it now; `settle` finishes it.
            return;
        }
        let incarnation = state.incarnation;
        self.schedule(
            duration,
            Pending::ProcessingDone {
                consumer,
                instance,
                incarnation,
            },
        );
    }

    pub(crate) fn local_retry(&mut self, consumer: ConsumerId, instance: u32, incarnation: u32) {
        let target = &self.consumers[consumer.index()];
        let state = &target.instances[instance as usize];
        let Some(work) = state
            .current
            .as_ref()
            .filter(|_| state.incarnation == incarnation)
        else {
            return;
        };
        // Trying again is processing again, fetching a claim-checked attachment included.
        let duration = target.processing_time(&work.message);
        self.schedule(
            duration,
            Pending::ProcessingDone {
                consumer,
                instance,
                incarnation,
            },
        );
    }

    pub(crate) fn processing_done(
        &mut self,
        consumer: ConsumerId,
        instance: u32,
        incarnation: u32,
    ) {
        let state = &mut self.consumers[consumer.index()].instances[instance as usize];
        if state.incarnation != incarnation || state.status != InstanceStatus::Up {
            return;
        }
        let Some(work) = state.current.clone() else {
            return;
        };
        let outcome = self.attempt(consumer, instance, &work);
        self.conclude(consumer, instance, work, outcome);
    }

    /// A person settles the message their instance holds.
    pub(crate) fn settle(&mut self, consumer: ConsumerId, instance: u32, ack: bool) {
        let Some(work) = self.consumers[consumer.index()].instances[instance as usize]
            .current
            .clone()
        else {
            return;
        };
        let outcome = if ack {
            self.succeed(consumer, instance, &work.message)
        } else {
            Attempt::Failed(FailureReason::Transient)
        };
        self.conclude(consumer, instance, work, outcome);
    }

    /// Acts on how an attempt ended: ack, retry or nothing (after a crash).
    fn conclude(&mut self, consumer: ConsumerId, instance: u32, work: Work, outcome: Attempt) {
        match outcome {
            Attempt::Crashed => {}
            Attempt::Failed(reason) => {
                self.consumers[consumer.index()].stats.failed += 1;
                self.record(TraceKind::ProcessingFailed {
                    message: work.message.id,
                    consumer,
                    instance,
                    attempt: work.attempt,
                    reason,
                });
                self.after_failure(consumer, instance, work);
            }
            Attempt::Done => {
                self.consumers[consumer.index()].stats.succeeded += 1;
                self.record_processed(consumer, &work);
                if self.consumers[consumer.index()].design.ack_mode == AckMode::AfterProcessing {
                    self.acknowledge(consumer, &work, AckOutcome::Ack);
                }
                self.finish(consumer, instance, &work);
            }
        }
    }

    /// One processing attempt: checks, business effect, crashes and follow-up events.
    fn attempt(&mut self, consumer: ConsumerId, instance: u32, work: &Work) -> Attempt {
        let message = &work.message;
        let target = &mut self.consumers[consumer.index()];
        if message.malformed {
            return Attempt::Failed(FailureReason::Malformed);
        }
        if target
            .spec
            .failures
            .poison_event_types
            .iter()
            .any(|poison| **poison == *message.event_type)
        {
            return Attempt::Failed(FailureReason::PoisonType);
        }
        if !target.accepts_schema(message.schema_version) {
            return Attempt::Failed(FailureReason::UnknownSchemaVersion);
        }
        if !target.spec.reads_fields.is_empty()
            && !target.upcasts(message.schema_version)
            && let Some(fields) = message.payload.as_object()
            && target
                .spec
                .reads_fields
                .iter()
                .any(|field| !fields.contains_key(field))
        {
            return Attempt::Failed(FailureReason::MissingField);
        }
        if target.dependency_down {
            return Attempt::Failed(FailureReason::DependencyDown);
        }
        if let Some(capacity) = target.spec.dependency_capacity_per_sec {
            let second = self.now / 1_000;
            let window = &mut target.dependency_window;
            if window.0 != second {
                *window = (second, 0);
            }
            window.1 += 1;
            if window.1 > capacity {
                return Attempt::Failed(FailureReason::DependencyOverloaded);
            }
        }
        let failures = &target.spec.failures;
        let (transient, crash_before, decline, crash_after) = (
            failures.transient_error_probability,
            failures.crash_before_ack_probability,
            failures.decline_probability,
            failures.crash_after_effect_probability,
        );
        if self.rng.chance(transient) {
            return Attempt::Failed(FailureReason::Transient);
        }
        if self.rng.chance(crash_before) {
            self.crash_instance(consumer, instance);
            return Attempt::Crashed;
        }
        if self.rng.chance(decline) {
            self.consumers[consumer.index()]
                .business
                .declined
                .insert((message.key.clone(), message.seq));
            self.record(TraceKind::Declined {
                message: message.id,
                consumer,
            });
            self.emit_follow_ups(consumer, message, EmitOn::Declined);
            return Attempt::Done;
        }
        let outcome = self.apply_business(consumer, instance, message);
        if self.rng.chance(crash_after) {
            self.crash_instance(consumer, instance);
            return Attempt::Crashed;
        }
        self.follow_up(consumer, message, outcome)
    }

    /// The work succeeded: the business effect, then what it emits.
    fn succeed(&mut self, consumer: ConsumerId, instance: u32, message: &MessageRef) -> Attempt {
        let outcome = self.apply_business(consumer, instance, message);
        self.follow_up(consumer, message, outcome)
    }

    fn follow_up(
        &mut self,
        consumer: ConsumerId,
        message: &MessageRef,
        outcome: BusinessOutcome,
    ) -> Attempt {
        if outcome == BusinessOutcome::Applied {
            self.emit_follow_ups(consumer, message, EmitOn::Success);
            self.answer_request(consumer, message);
        }
        Attempt::Done
    }

    /// Notes how far a stream group has processed, which is what a checkpoint saves.
    fn record_processed(&mut self, consumer: ConsumerId, work: &Work) {
        let WorkSource::Stream {
            partition, offset, ..
        } = work.source
        else {
            return;
        };
        if let Source::Stream(group) = &mut self.consumers[consumer.index()].source {
            group.processed[partition as usize] = offset + 1;
        }
        self.maybe_checkpoint(consumer);
    }

    /// Decides what a failed attempt leads to: a broker-side retry (nack with a delay), a
    /// reject to the dead-letter queue, or a consumer-side retry of the message it holds.
    fn after_failure(&mut self, consumer: ConsumerId, instance: u32, mut work: Work) {
        let design = self.consumers[consumer.index()].design.clone();
        let exhausted = work.attempt >= design.retry.max_attempts();
        let broker_retries = matches!(work.source, WorkSource::Queue { .. })
            && design.ack_mode == AckMode::AfterProcessing;
        if broker_retries {
            let outcome = if exhausted {
                AckOutcome::Reject
            } else {
                let delay = design
                    .retry
                    .delay_after(work.attempt, |max| self.rng.up_to(max));
                AckOutcome::Requeue { delay }
            };
            self.acknowledge(consumer, &work, outcome);
            self.finish(consumer, instance, &work);
            return;
        }
        if exhausted {
            self.give_up_locally(consumer, &work, design.ack_mode);
            self.finish(consumer, instance, &work);
            return;
        }
        let delay = design
            .retry
            .delay_after(work.attempt, |max| self.rng.up_to(max));
        work.attempt += 1;
        self.record(TraceKind::RetryScheduled {
            message: work.message.id,
            consumer,
            next_attempt: work.attempt,
            delay_ms: delay,
            due_at: self.now + delay,
        });
        let state = &mut self.consumers[consumer.index()].instances[instance as usize];
        let incarnation = state.incarnation;
        state.current = Some(work);
        self.schedule(
            delay,
            Pending::LocalRetry {
                consumer,
                instance,
                incarnation,
            },
        );
    }

    /// A consumer-side retry ran out: a stream record goes to the group's dead letters
    /// and the group moves past it; a message acked on receipt is simply gone.
    fn give_up_locally(&mut self, consumer: ConsumerId, work: &Work, ack_mode: AckMode) {
        match work.source {
            WorkSource::Stream { .. } => {
                let queue = self.consumers[consumer.index()].dead_letter_queue();
                let envelope = Envelope {
                    message: work.message.clone(),
                    attempts: work.attempt,
                };
                // The record stays in the stream too: its dead letter is a copy of its own.
                self.queues[queue.index()].hold(&envelope.message);
                self.dead_letter(queue, envelope, DeadLetterReason::Rejected);
                if ack_mode == AckMode::AfterProcessing {
                    self.send_commit(consumer, work);
                }
            }
            WorkSource::Queue { .. } => {
                self.record_consumer_drop(work.message.id, DropReason::FailedAfterAck, consumer)
            }
        }
    }

    /// Done with the message in hand: free the instance and take the next one.
    fn finish(&mut self, consumer: ConsumerId, instance: u32, work: &Work) {
        self.consumers[consumer.index()].instances[instance as usize].current = None;
        if matches!(work.source, WorkSource::Stream { .. }) {
            self.stream_delivery_done(consumer, instance);
        }
        self.start_next(consumer, instance);
    }

    /// Tells the broker how a delivery went: an ack, nack or reject for a queue, an offset
    /// commit for a stream. It crosses the consumer's link like everything else.
    pub(crate) fn acknowledge(&mut self, consumer: ConsumerId, work: &Work, outcome: AckOutcome) {
        let WorkSource::Queue { queue, tag } = work.source else {
            if outcome == AckOutcome::Ack {
                self.send_commit(consumer, work);
            }
            return;
        };
        let message = work.message.id;
        let transit = self.consumers[consumer.index()].link.send(&mut self.rng);
        let event = |_: ()| Pending::AckArrives {
            queue,
            tag,
            message,
            consumer,
            outcome,
        };
        match transit {
            Transit::Arrives(delay, duplicate) => {
                self.schedule(delay, event(()));
                if let Some(second) = duplicate {
                    self.schedule(second, event(()));
                }
            }
            Transit::Lost | Transit::Cut => {
                let reason = transit.drop_reason().unwrap_or(DropReason::LinkLoss);
                self.record_consumer_drop(message, reason, consumer);
            }
        }
    }

    pub(crate) fn dependency_restored(&mut self, consumer: ConsumerId) {
        self.consumers[consumer.index()].dependency_down = false;
    }
}
