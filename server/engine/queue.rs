//! Queues: a queue channel's own queue and each subscription of a topic.
//!
//! The broker pushes ready messages round-robin to the instances attached to a queue, at
//! most `prefetch` unacknowledged ones per instance. Every delivery has an ack deadline
//! (a visibility timeout); a delivery not acknowledged by then goes back to the front of
//! the queue with its attempt count kept, and a message delivered `max_deliveries` times
//! goes to the dead-letter queue. On a channel with a TTL, the message at the head expires
//! when its time is up whether or not anyone is consuming, as in RabbitMQ.
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::consumer::{InstanceStatus, Work, WorkSource};
use super::ids::{ChannelId, ConsumerId, DeliveryTag, MessageId, Millis, QueueId};
use super::message::{Message, MessageRef};
use super::network::Transit;
use super::trace::{DeadLetterReason, DropReason, TraceKind};
use super::world::{Pending, World};

/// Ready messages one queue holds. At the limit the broker refuses new messages for that
/// queue (RabbitMQ's `reject-publish` overflow): the publish is dropped with `queue_full`.
pub const MAX_QUEUE_DEPTH: usize = 100_000;

/// Dead letters one queue keeps; at the limit the oldest is discarded to make room, as the
/// newest failure is the one a learner is looking at.
pub const MAX_DEAD_LETTERS: usize = 10_000;

#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub(crate) message: MessageRef,
    /// Deliveries so far.
    pub(crate) attempts: u32,
}

pub(crate) struct InFlight {
    pub(crate) envelope: Envelope,
    pub(crate) consumer: ConsumerId,
    pub(crate) instance: u32,
    pub(crate) incarnation: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct DeadLetter {
    pub(crate) message: MessageRef,
    pub(crate) reason: DeadLetterReason,
    pub(crate) attempts: u32,
    pub(crate) at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    Ack,
    /// Nack with requeue, after `delay` (zero puts it back at the front at once).
    Requeue {
        delay: Millis,
    },
    /// Nack without requeue: dead-letter it.
    Reject,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct QueueStats {
    pub(crate) enqueued: u64,
    pub(crate) delivered: u64,
    pub(crate) acked: u64,
    pub(crate) redelivered: u64,
    pub(crate) retries: u64,
    pub(crate) dead_lettered: u64,
    pub(crate) dropped: u64,
}

pub(crate) struct QueueState {
    pub(crate) name: Arc<str>,
    pub(crate) channel: ChannelId,
    /// The subscribing consumer, for a topic subscription or a stream group's dead letters.
    pub(crate) subscriber: Option<ConsumerId>,
    pub(crate) subscription_durable: bool,
    pub(crate) ready: VecDeque<Envelope>,
    pub(crate) in_flight: BTreeMap<DeliveryTag, InFlight>,
    pub(crate) waiting_retries: u32,
    /// Ack deadlines in the order deliveries were made. One queue has one deadline length,
    /// so this is sorted by time, and one timer for its front replaces a scheduler entry
    /// per delivery. Entries for deliveries already settled are skipped when they expire.
    pub(crate) deadlines: VecDeque<(Millis, DeliveryTag)>,
    /// When the deadline timer is set to fire, if it is.
    pub(crate) deadline_timer: Option<Millis>,
    /// When the head of the queue is due to expire, if the channel has a TTL and a timer is
    /// set: one timer for the head, re-armed for the next head, instead of one per message.
    pub(crate) expiry_timer: Option<Millis>,
    pub(crate) dead: VecDeque<DeadLetter>,
    /// Bytes of every message the queue holds: ready, in flight, waiting to retry and
    /// dead-lettered. Kept as messages come and go, so billing storage each instant costs
    /// nothing per message.
    pub(crate) held_bytes: u64,
    /// Consumers competing on this queue.
    pub(crate) consumers: Vec<ConsumerId>,
    pub(crate) next_slot: usize,
    pub(crate) stats: QueueStats,
}

impl QueueState {
    /// A message comes into the queue's keeping.
    pub(crate) fn hold(&mut self, message: &Message) {
        self.held_bytes += u64::from(message.size_bytes());
    }

    /// A message leaves the queue's keeping: acknowledged, dropped or discarded.
    pub(crate) fn release(&mut self, message: &Message) {
        self.held_bytes = self
            .held_bytes
            .saturating_sub(u64::from(message.size_bytes()));
    }

    pub(crate) fn new(
        name: Arc<str>,
        channel: ChannelId,
        subscriber: Option<ConsumerId>,
        durable: bool,
    ) -> Self {
        Self {
            name,
            channel,
            subscriber,
            subscription_durable: durable,
            ready: VecDeque::new(),
            in_flight: BTreeMap::new(),
            waiting_retries: 0,
            deadlines: VecDeque::new(),
            deadline_timer: None,
            expiry_timer: None,
            dead: VecDeque::new(),
            held_bytes: 0,
            consumers: Vec::new(),
            next_slot: 0,
            stats: QueueStats::default(),
        }
    }
}

impl World {
    pub(crate) fn enqueue(&mut self, queue: QueueId, message: MessageRef, attempts: u32) {
        let state = &mut self.queues[queue.index()];
        if state.ready.len() >= MAX_QUEUE_DEPTH {
            state.stats.dropped += 1;
            let consumer = state.subscriber;
            self.record(TraceKind::Dropped {
                message: message.id,
                reason: DropReason::QueueFull,
                producer: None,
                consumer,
            });
            return;
        }
        state.stats.enqueued += 1;
        state.hold(&message);
        let id = message.id;
        state.ready.push_back(Envelope { message, attempts });
        self.record(TraceKind::Enqueued { message: id, queue });
        self.dispatch_queue(queue);
    }

    /// Pushes ready messages to free instances until one or the other runs out.
    pub(crate) fn dispatch_queue(&mut self, queue: QueueId) {
        if !self.broker_up {
            return;
        }
        let channel = self.queues[queue.index()].channel.index();
        let ttl = self.channels[channel].spec.ttl_ms;
        let max_deliveries = self.channels[channel].spec.max_deliveries;
        while !self.queues[queue.index()].ready.is_empty() {
            let Some((consumer, instance)) = self.next_free_instance(queue) else {
                break;
            };
            let Some(envelope) = self.queues[queue.index()].ready.pop_front() else {
                break;
            };
            if ttl.is_some_and(|ttl| self.now.saturating_sub(envelope.message.produced_at) > ttl) {
                self.dead_letter(queue, envelope, DeadLetterReason::Expired);
                continue;
            }
            if envelope.attempts >= max_deliveries {
                self.dead_letter(queue, envelope, DeadLetterReason::MaxDeliveries);
                continue;
            }
            self.deliver_from_queue(queue, envelope, consumer, instance);
        }
        self.arm_head_expiry(queue);
    }

    /// Sets the expiry timer for the message now at the head, on a channel with a TTL.
    fn arm_head_expiry(&mut self, queue: QueueId) {
        let channel = self.queues[queue.index()].channel.index();
        let Some(ttl) = self.channels[channel].spec.ttl_ms else {
            return;
        };
        let state = &mut self.queues[queue.index()];
        if state.expiry_timer.is_some() {
            return;
        }
        let Some(head) = state.ready.front() else {
            return;
        };
        // Expired means strictly older than the TTL, as `dispatch_queue` checks it.
        let due = (head.message.produced_at + ttl + 1).max(self.now);
        state.expiry_timer = Some(due);
        self.scheduler.schedule(due, Pending::HeadExpiry { queue });
    }

    /// The expiry timer fired: every expired message at the head is dead-lettered, then the
    /// timer is set again for the new head.
    pub(crate) fn expire_head(&mut self, queue: QueueId) {
        self.queues[queue.index()].expiry_timer = None;
        if !self.broker_up {
            return;
        }
        let channel = self.queues[queue.index()].channel.index();
        let Some(ttl) = self.channels[channel].spec.ttl_ms else {
            return;
        };
        while let Some(head) = self.queues[queue.index()].ready.front() {
            if self.now.saturating_sub(head.message.produced_at) <= ttl {
                break;
            }
            if let Some(envelope) = self.queues[queue.index()].ready.pop_front() {
                self.dead_letter(queue, envelope, DeadLetterReason::Expired);
            }
        }
        self.dispatch_queue(queue);
    }

    /// The next instance, round-robin over every instance of every consumer on the queue,
    /// that is up and below its prefetch limit.
    fn next_free_instance(&mut self, queue: QueueId) -> Option<(ConsumerId, u32)> {
        let state = &self.queues[queue.index()];
        let slots: usize = state
            .consumers
            .iter()
            .map(|c| self.consumers[c.index()].instances.len())
            .sum();
        for step in 0..slots {
            let mut slot = (state.next_slot + step) % slots;
            for &consumer in &state.consumers {
                let candidate = &self.consumers[consumer.index()];
                if slot >= candidate.instances.len() {
                    slot -= candidate.instances.len();
                    continue;
                }
                let instance = &candidate.instances[slot];
                if instance.status == InstanceStatus::Up
                    && instance.unacked < candidate.design.prefetch
                {
                    let chosen = (consumer, slot as u32);
                    self.queues[queue.index()].next_slot = (state.next_slot + step + 1) % slots;
                    return Some(chosen);
                }
                break;
            }
        }
        None
    }

    fn deliver_from_queue(
        &mut self,
        queue: QueueId,
        mut envelope: Envelope,
        consumer: ConsumerId,
        instance: u32,
    ) {
        self.next_tag += 1;
        let tag = self.next_tag;
        envelope.attempts += 1;
        let attempt = envelope.attempts;
        let message = envelope.message.clone();
        let target = &mut self.consumers[consumer.index()];
        let incarnation = target.instances[instance as usize].incarnation;
        target.instances[instance as usize].unacked += 1;
        let state = &mut self.queues[queue.index()];
        state.stats.delivered += 1;
        if attempt > 1 {
            state.stats.redelivered += 1;
        }
        state.in_flight.insert(
            tag,
            InFlight {
                envelope,
                consumer,
                instance,
                incarnation,
            },
        );
        self.deliveries += 1;
        self.record(TraceKind::Delivered {
            message: message.id,
            consumer,
            instance,
            attempt,
            queue: Some(queue),
            partition: None,
            offset: None,
        });
        let deadline = self.now
            + self.channels[self.queues[queue.index()].channel.index()]
                .spec
                .ack_deadline_ms;
        let state = &mut self.queues[queue.index()];
        state.deadlines.push_back((deadline, tag));
        if state.deadline_timer.is_none() {
            state.deadline_timer = Some(deadline);
            self.scheduler
                .schedule(deadline, Pending::AckDeadline { queue });
        }
        let work = Work {
            message,
            source: WorkSource::Queue { queue, tag },
            attempt,
        };
        self.send_to_instance(consumer, instance, incarnation, work);
    }

    /// Sends one delivery over the consumer's link, which may lose, delay or double it.
    pub(crate) fn send_to_instance(
        &mut self,
        consumer: ConsumerId,
        instance: u32,
        incarnation: u32,
        work: Work,
    ) {
        let transit = self.consumers[consumer.index()].link.send(&mut self.rng);
        match transit {
            Transit::Arrives(delay, duplicate) => {
                if let Some(second) = duplicate {
                    self.record(TraceKind::Duplicated {
                        message: work.message.id,
                        producer: None,
                        consumer: Some(consumer),
                    });
                    self.schedule(
                        second,
                        Pending::ArriveAtInstance {
                            consumer,
                            instance,
                            incarnation,
                            work: work.clone(),
                        },
                    );
                }
                self.schedule(
                    delay,
                    Pending::ArriveAtInstance {
                        consumer,
                        instance,
                        incarnation,
                        work,
                    },
                );
            }
            Transit::Lost | Transit::Cut => {
                let reason = transit.drop_reason().unwrap_or(DropReason::LinkLoss);
                self.record_consumer_drop(work.message.id, reason, consumer);
            }
        }
    }

    pub(crate) fn ack_arrives(
        &mut self,
        queue: QueueId,
        tag: DeliveryTag,
        message: MessageId,
        consumer: ConsumerId,
        outcome: AckOutcome,
    ) {
        if !self.broker_up {
            self.record_consumer_drop(message, DropReason::BrokerDown, consumer);
            return;
        }
        let Some(flight) = self.queues[queue.index()].in_flight.remove(&tag) else {
            self.record(TraceKind::StaleAck { message, consumer });
            return;
        };
        self.release_credit(&flight);
        let InFlight {
            envelope, instance, ..
        } = flight;
        match outcome {
            AckOutcome::Ack => {
                let state = &mut self.queues[queue.index()];
                state.stats.acked += 1;
                state.release(&envelope.message);
                self.record(TraceKind::Acked {
                    message,
                    consumer,
                    instance,
                });
            }
            AckOutcome::Requeue { delay } => {
                self.record(TraceKind::Nacked {
                    message,
                    consumer,
                    instance,
                    requeue: true,
                });
                let state = &mut self.queues[queue.index()];
                state.stats.retries += 1;
                if delay == 0 {
                    state.ready.push_front(envelope);
                } else {
                    state.waiting_retries += 1;
                    self.record(TraceKind::RetryScheduled {
                        message,
                        consumer,
                        next_attempt: envelope.attempts + 1,
                        delay_ms: delay,
                        due_at: self.now + delay,
                    });
                    self.schedule(delay, Pending::RetryDue { queue, envelope });
                }
            }
            AckOutcome::Reject => {
                self.record(TraceKind::Nacked {
                    message,
                    consumer,
                    instance,
                    requeue: false,
                });
                self.dead_letter(queue, envelope, DeadLetterReason::Rejected);
            }
        }
        self.dispatch_queue(queue);
    }

    fn release_credit(&mut self, flight: &InFlight) {
        let target =
            &mut self.consumers[flight.consumer.index()].instances[flight.instance as usize];
        if target.incarnation == flight.incarnation {
            target.unacked = target.unacked.saturating_sub(1);
        }
    }

    /// The deadline timer fired: every delivery whose deadline has passed and that is still
    /// unacknowledged goes back to the front of the queue.
    pub(crate) fn ack_deadline(&mut self, queue: QueueId) {
        self.queues[queue.index()].deadline_timer = None;
        let mut expired = false;
        while let Some(&(deadline, tag)) = self.queues[queue.index()].deadlines.front() {
            if deadline > self.now {
                let state = &mut self.queues[queue.index()];
                state.deadline_timer = Some(deadline);
                self.scheduler
                    .schedule(deadline, Pending::AckDeadline { queue });
                break;
            }
            self.queues[queue.index()].deadlines.pop_front();
            let Some(flight) = self.queues[queue.index()].in_flight.remove(&tag) else {
                continue;
            };
            expired = true;
            self.release_credit(&flight);
            self.record(TraceKind::AckTimeout {
                message: flight.envelope.message.id,
                queue,
                consumer: flight.consumer,
                instance: flight.instance,
                attempt: flight.envelope.attempts,
            });
            self.queues[queue.index()].ready.push_front(flight.envelope);
        }
        if expired {
            self.dispatch_queue(queue);
        }
    }

    pub(crate) fn retry_due(&mut self, queue: QueueId, envelope: Envelope) {
        let state = &mut self.queues[queue.index()];
        state.waiting_retries = state.waiting_retries.saturating_sub(1);
        state.ready.push_back(envelope);
        self.dispatch_queue(queue);
    }

    pub(crate) fn dead_letter(
        &mut self,
        queue: QueueId,
        envelope: Envelope,
        reason: DeadLetterReason,
    ) {
        let channel = self.queues[queue.index()].channel.index();
        let message = envelope.message.id;
        if !self.channels[channel].spec.dead_letter {
            self.queues[queue.index()].stats.dropped += 1;
            self.queues[queue.index()].release(&envelope.message);
            let consumer = self.queues[queue.index()].subscriber;
            self.record(TraceKind::Dropped {
                message,
                reason: DropReason::RetriesExhausted,
                producer: None,
                consumer,
            });
            return;
        }
        let state = &mut self.queues[queue.index()];
        if state.dead.len() >= MAX_DEAD_LETTERS
            && let Some(discarded) = state.dead.pop_front()
        {
            state.release(&discarded.message);
        }
        state.stats.dead_lettered += 1;
        state.dead.push_back(DeadLetter {
            message: envelope.message,
            reason,
            attempts: envelope.attempts,
            at: self.now,
        });
        self.record(TraceKind::DeadLettered {
            message,
            queue,
            reason,
            attempts: envelope.attempts,
        });
    }

    /// Moves dead letters back where they came from: to the queue, with a fresh attempt
    /// count, or appended to the stream again. Returns how many moved.
    pub(crate) fn redrive(&mut self, queue: QueueId, only: Option<MessageId>) -> usize {
        let state = &mut self.queues[queue.index()];
        let mut moved = Vec::new();
        state.dead.retain(|letter| {
            let take = only.is_none_or(|id| letter.message.id == id);
            if take {
                moved.push(letter.message.clone());
            }
            !take
        });
        for message in &moved {
            state.release(message);
        }
        let count = moved.len();
        let channel = self.queues[queue.index()].channel;
        let is_stream = self.channels[channel.index()].stream.is_some();
        for message in moved {
            self.record(TraceKind::Redriven {
                message: message.id,
                queue,
            });
            if is_stream {
                self.append_to_stream(channel, &message);
            } else {
                self.enqueue(queue, message, 0);
            }
        }
        count
    }
}
