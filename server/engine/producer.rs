//! Producers: services that publish on a schedule, by hand (the console), through a dual
//! write or an outbox, or as requests that wait for a reply.
use std::collections::VecDeque;
use std::sync::Arc;

use super::ids::{CorrelationId, MessageId, Millis, ProducerId};
use super::message::{Attachment, Message, MessageRef, Payload, Publisher};
use super::network::{Link, Transit};
use super::registry::Verdict;
use super::scenario::{Delivery, ProducerSpec};
use super::trace::{DropReason, TraceKind};
use super::world::{Pending, Sender, StableHashMap, World};

/// How long the outbox relay waits for the broker's confirmation before it publishes an
/// entry again. Publishing again is safe for the outbox (at least once) and is what makes
/// a lost confirmation visible as a duplicate.
pub const OUTBOX_RESEND_AFTER_MS: Millis = 1_000;

/// Entries an outbox keeps. At the limit the service stops taking orders (the producer
/// skips its tick), as a database with a full disk would.
pub const MAX_OUTBOX_ENTRIES: usize = 100_000;

/// Business keys a producer remembers for the report of lost orders. Beyond it the
/// report says it is partial instead of growing without bound.
pub const MAX_TRACKED_ORDERS: usize = 200_000;

/// Requests a producer waits on at once; beyond it a new request fails at once.
pub const MAX_PENDING_REQUESTS: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub(crate) struct ProducerStats {
    pub(crate) produced: u64,
    pub(crate) publish_failed: u64,
    pub(crate) replies: u64,
    pub(crate) timeouts: u64,
    pub(crate) late_replies: u64,
}

pub(crate) struct OutboxEntry {
    message: MessageRef,
    last_sent: Option<Millis>,
}

pub(crate) struct Producer {
    pub(crate) name: Arc<str>,
    pub(crate) spec: ProducerSpec,
    pub(crate) link: Link,
    pub(crate) event_type: Arc<str>,
    pub(crate) keys: Vec<Arc<str>>,
    pub(crate) payload: Arc<Payload>,
    pub(crate) seq_by_key: StableHashMap<Arc<str>, u64>,
    pub(crate) outbox: VecDeque<OutboxEntry>,
    pub(crate) relay_running: bool,
    pub(crate) pending_requests: StableHashMap<CorrelationId, (MessageId, Millis)>,
    /// Business keys this service committed to (its own database, or simply sent).
    pub(crate) orders: Vec<(Arc<str>, u64)>,
    pub(crate) stats: ProducerStats,
    /// The outcome of its latest release, once one was due.
    pub(crate) last_release: Option<super::releases::ReleaseOutcome>,
    /// While it dual-publishes: the previous version and payload, sent beside each new message.
    pub(crate) dual: Option<(u32, Arc<Payload>)>,
}

impl Producer {
    pub(crate) fn new(spec: ProducerSpec, link: Link) -> Self {
        Self {
            name: Arc::from(spec.name.as_str()),
            event_type: Arc::from(spec.event_type.as_str()),
            keys: spec.keys.iter().map(|k| Arc::from(k.as_str())).collect(),
            payload: Arc::new(Payload::new(spec.payload.clone(), Attachment::of(&spec))),
            spec,
            link,
            seq_by_key: StableHashMap::default(),
            outbox: VecDeque::new(),
            relay_running: false,
            pending_requests: StableHashMap::default(),
            orders: Vec::new(),
            stats: ProducerStats::default(),
            last_release: None,
            dual: None,
        }
    }

    /// When message number `index` (from zero) is due.
    fn due_at(&self, index: u64) -> Millis {
        let offset = (index as f64 * 1_000.0 / self.spec.rate_per_sec).floor();
        self.spec.start_ms.saturating_add(offset as Millis)
    }

    fn next_sequence(&mut self, key: &Arc<str>) -> u64 {
        let seq = self.seq_by_key.entry(key.clone()).or_insert(0);
        *seq += 1;
        *seq
    }
}

impl World {
    pub(crate) fn producer_tick(&mut self, producer: ProducerId) {
        loop {
            let state = &self.producers[producer.index()];
            let limit = state.spec.count.unwrap_or(u64::MAX);
            let produced = state.stats.produced;
            if produced >= limit {
                return;
            }
            let due = state.due_at(produced);
            if due > self.now {
                self.scheduler
                    .schedule(due, Pending::ProducerTick(producer));
                return;
            }
            if self.at_message_cap() {
                // The sandbox's message cap: this producer falls silent for the rest of the run.
                return;
            }
            if self.scheduler_is_full() || state.outbox.len() >= MAX_OUTBOX_ENTRIES {
                // Back-pressure: skip this message's slot and try the next one later.
                self.producers[producer.index()].stats.produced += 1;
                continue;
            }
            self.produce_one(producer);
        }
    }

    fn produce_one(&mut self, producer: ProducerId) {
        let state = &mut self.producers[producer.index()];
        let index = state.stats.produced;
        state.stats.produced += 1;
        let key: Arc<str> = if state.keys.is_empty() {
            Arc::from(format!("{}-{}", state.spec.key_prefix, index + 1))
        } else {
            state.keys[(index % state.keys.len() as u64) as usize].clone()
        };
        let seq = if state.keys.is_empty() {
            1
        } else {
            state.next_sequence(&key)
        };
        let message = self.new_message(producer, key, seq, None, false);
        let twin = self.dual_twin(producer, &message);
        self.send_from_producer(producer, message);
        if let Some(twin) = twin {
            // The same order again in the previous version: published, not a second order.
            self.publish(twin, Sender::Producer(producer));
        }
    }

    /// While the producer dual-publishes, the message in its previous version: a message of its own
    /// (its own id), with the same order, key and correlation.
    fn dual_twin(&mut self, producer: ProducerId, message: &MessageRef) -> Option<MessageRef> {
        let (version, payload) = self.producers[producer.index()].dual.clone()?;
        if self.at_message_cap() {
            return None;
        }
        let mut twin = (**message).clone();
        twin.id = self.new_message_id();
        twin.schema_version = version;
        twin.payload = payload;
        Some(Arc::new(twin))
    }

    /// Builds a message of this producer's kind.
    pub(crate) fn new_message(
        &mut self,
        producer: ProducerId,
        key: Arc<str>,
        seq: u64,
        payload: Option<serde_json::Value>,
        malformed: bool,
    ) -> MessageRef {
        let id = self.new_message_id();
        let correlation_id = self.new_correlation_id();
        let state = &self.producers[producer.index()];
        let reply_to = state
            .spec
            .request
            .as_ref()
            .and_then(|request| self.channel_id(&request.reply_channel));
        let channel = self.channel_id(&state.spec.channel).unwrap_or_default();
        let attachment = Attachment::of(&state.spec);
        let payload = payload.map_or_else(
            || state.payload.clone(),
            |value| Arc::new(Payload::new(value, attachment)),
        );
        Arc::new(Message {
            id,
            event_type: state.event_type.clone(),
            schema_version: state.spec.schema_version,
            key,
            seq,
            payload,
            correlation_id,
            causation_id: None,
            channel,
            publisher: Publisher::Producer(producer),
            produced_at: self.now,
            reply_to,
            malformed,
        })
    }

    /// Hands a new message to the producer's delivery mode.
    pub(crate) fn send_from_producer(&mut self, producer: ProducerId, message: MessageRef) {
        let state = &mut self.producers[producer.index()];
        if state.orders.len() < MAX_TRACKED_ORDERS {
            state.orders.push((message.key.clone(), message.seq));
        }
        if state.spec.request.is_some() {
            if state.pending_requests.len() >= MAX_PENDING_REQUESTS {
                state.stats.timeouts += 1;
                self.record(TraceKind::RequestTimedOut {
                    request: message.id,
                    producer,
                });
                return;
            }
            state
                .pending_requests
                .insert(message.correlation_id, (message.id, self.now));
            let timeout = state.spec.request.as_ref().map_or(0, |r| r.timeout_ms);
            self.schedule(
                timeout,
                Pending::RequestTimeout {
                    producer,
                    correlation: message.correlation_id,
                },
            );
        }
        match self.producers[producer.index()].spec.delivery {
            Delivery::Direct => self.publish(message, Sender::Producer(producer)),
            Delivery::DualWrite { crash_probability } => {
                self.record(TraceKind::DbCommitted {
                    message: message.id,
                    producer,
                });
                if self.rng.chance(crash_probability) {
                    self.publish_refused(
                        &message,
                        Sender::Producer(producer),
                        DropReason::ProducerCrashed,
                    );
                } else {
                    self.publish(message, Sender::Producer(producer));
                }
            }
            Delivery::Outbox { .. } => {
                self.record(TraceKind::DbCommitted {
                    message: message.id,
                    producer,
                });
                let state = &mut self.producers[producer.index()];
                state.outbox.push_back(OutboxEntry {
                    message,
                    last_sent: None,
                });
                if !state.relay_running {
                    state.relay_running = true;
                    self.schedule(0, Pending::RelayTick(producer));
                }
            }
        }
    }

    /// Sends a message towards the broker over the sender's link.
    pub(crate) fn publish(&mut self, message: MessageRef, from: Sender) {
        if !self.registry_accepts(&message, from) {
            return;
        }
        self.record(TraceKind::Published {
            message: message.id,
            from: message.publisher,
            channel: message.channel,
            event_type: message.event_type.clone(),
            key: message.key.clone(),
            seq: message.seq,
            schema_version: message.schema_version,
            size_bytes: message.size_bytes(),
            correlation_id: message.correlation_id,
            causation_id: message.causation_id,
            malformed: message.malformed,
        });
        let link = match from {
            Sender::Producer(producer) | Sender::Relay(producer) => {
                &self.producers[producer.index()].link
            }
            Sender::Consumer(consumer) => &self.consumers[consumer.index()].link,
        };
        match link.send(&mut self.rng) {
            Transit::Arrives(delay, duplicate) => {
                if let Some(second) = duplicate {
                    let (producer, consumer) = sender_fields(from);
                    self.record(TraceKind::Duplicated {
                        message: message.id,
                        producer,
                        consumer,
                    });
                    self.schedule(
                        second,
                        Pending::ArriveAtBroker {
                            message: message.clone(),
                            from,
                        },
                    );
                }
                self.schedule(delay, Pending::ArriveAtBroker { message, from });
            }
            Transit::Lost => self.publish_refused(&message, from, DropReason::LinkLoss),
            Transit::Cut => self.publish_refused(&message, from, DropReason::LinkCut),
        }
    }

    /// The sender's serializer registers the message's version with the channel's registry, if it
    /// has one; a refused version is refused here, before anything leaves the service.
    fn registry_accepts(&mut self, message: &MessageRef, from: Sender) -> bool {
        let channel = message.channel.index();
        let Some(registry) = self.channels[channel].registry.as_mut() else {
            return true;
        };
        match registry.check(&self.schemas, &message.event_type, message.schema_version) {
            Verdict::Known => true,
            Verdict::Registered => {
                self.record(TraceKind::SchemaRegistered {
                    channel: message.channel,
                    event_type: message.event_type.clone(),
                    schema_version: message.schema_version,
                });
                true
            }
            Verdict::Refused(reason) => {
                self.record(TraceKind::SchemaRefused {
                    message: message.id,
                    from: message.publisher,
                    channel: message.channel,
                    event_type: message.event_type.clone(),
                    key: message.key.clone(),
                    schema_version: message.schema_version,
                    reason,
                });
                // The refusal is its own trace event: a publish_failed beside it would say it twice.
                if let Sender::Producer(producer) | Sender::Relay(producer) = from {
                    self.producers[producer.index()].stats.publish_failed += 1;
                }
                false
            }
        }
    }

    pub(crate) fn relay_tick(&mut self, producer: ProducerId) {
        let now = self.now;
        let due: Vec<MessageRef> = self.producers[producer.index()]
            .outbox
            .iter_mut()
            .filter(|entry| {
                entry
                    .last_sent
                    .is_none_or(|sent| now.saturating_sub(sent) >= OUTBOX_RESEND_AFTER_MS)
            })
            .map(|entry| {
                entry.last_sent = Some(now);
                entry.message.clone()
            })
            .collect();
        for message in due {
            self.publish(message, Sender::Relay(producer));
        }
        let state = &mut self.producers[producer.index()];
        if state.outbox.is_empty() {
            state.relay_running = false;
        } else {
            let interval = match state.spec.delivery {
                Delivery::Outbox {
                    relay_interval_ms, ..
                } => relay_interval_ms.max(1),
                _ => 1,
            };
            self.schedule(interval, Pending::RelayTick(producer));
        }
    }

    pub(crate) fn send_outbox_confirm(&mut self, producer: ProducerId, message: MessageId) {
        if let Some(delay) = self.producers[producer.index()]
            .link
            .reliable_delay(&mut self.rng)
        {
            self.schedule(delay, Pending::OutboxConfirm { producer, message });
        }
    }

    /// The broker confirmed an outbox entry. The relay may crash before it marks the entry
    /// sent, in which case it publishes it again later: at least once, never lost.
    pub(crate) fn outbox_confirm(&mut self, producer: ProducerId, message: MessageId) {
        let crash_probability = match self.producers[producer.index()].spec.delivery {
            Delivery::Outbox {
                crash_probability, ..
            } => crash_probability,
            _ => 0.0,
        };
        let crashed = self.rng.chance(crash_probability);
        let state = &mut self.producers[producer.index()];
        let Some(position) = state.outbox.iter().position(|e| e.message.id == message) else {
            return;
        };
        if crashed {
            state.outbox[position].last_sent = None;
            return;
        }
        state.outbox.remove(position);
        self.record(TraceKind::OutboxConfirmed { message, producer });
    }

    pub(crate) fn route_reply(&mut self, requester: ProducerId, reply: MessageRef) {
        if let Some(delay) = self.producers[requester.index()]
            .link
            .reliable_delay(&mut self.rng)
        {
            self.schedule(
                delay,
                Pending::ReplyArrives {
                    producer: requester,
                    reply,
                },
            );
        }
    }

    pub(crate) fn reply_arrives(&mut self, producer: ProducerId, reply: &MessageRef) {
        let state = &mut self.producers[producer.index()];
        let request = reply.causation_id.unwrap_or(reply.id);
        match state.pending_requests.remove(&reply.correlation_id) {
            Some((_, sent_at)) => {
                state.stats.replies += 1;
                self.record(TraceKind::ReplyReceived {
                    request,
                    producer,
                    latency_ms: self.now.saturating_sub(sent_at),
                });
            }
            None => {
                state.stats.late_replies += 1;
                self.record(TraceKind::LateReply { request, producer });
            }
        }
    }

    pub(crate) fn request_timeout(&mut self, producer: ProducerId, correlation: CorrelationId) {
        let state = &mut self.producers[producer.index()];
        if let Some((request, _)) = state.pending_requests.remove(&correlation) {
            state.stats.timeouts += 1;
            self.record(TraceKind::RequestTimedOut { request, producer });
        }
    }
}

fn sender_fields(from: Sender) -> (Option<ProducerId>, Option<super::ids::ConsumerId>) {
    match from {
        Sender::Producer(producer) | Sender::Relay(producer) => (Some(producer), None),
        Sender::Consumer(consumer) => (None, Some(consumer)),
    }
}
