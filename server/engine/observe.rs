//! Read-only views of a world: its topology, a metrics snapshot and the business report.
//!
//! These are what a viewer draws and what exercise goals check; they never change the
//! world.
use serde::Serialize;

use super::consumer::{InstanceStatus, Source};
use super::design::Design;
use super::ids::{ChannelId, ConsumerId, Millis, ProducerId, QueueId};
use super::scenario::{ChannelKind, EffectKind};
use super::trace::DeadLetterReason;
use super::world::World;

#[derive(Debug, Clone, Serialize)]
pub struct Topology {
    pub channels: Vec<ChannelView>,
    pub queues: Vec<QueueView>,
    pub producers: Vec<ProducerView>,
    pub consumers: Vec<ConsumerView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    pub id: ChannelId,
    pub name: String,
    pub kind: ChannelKind,
    pub durable: bool,
    pub partitions: u32,
    pub dead_letter: bool,
    pub queues: Vec<QueueId>,
    /// Set when the channel carries a requester's replies.
    pub reply_for: Option<ProducerId>,
    /// The compatibility mode of its schema registry, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<super::registry::Compatibility>,
    /// The largest message the broker accepts here, when the channel has a limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueView {
    pub id: QueueId,
    pub name: String,
    pub channel: ChannelId,
    pub subscriber: Option<ConsumerId>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProducerView {
    pub id: ProducerId,
    pub name: String,
    pub channel: ChannelId,
    pub event_type: String,
    pub delivery: &'static str,
    /// The attachment each event carries, in bytes (0 for none).
    #[serde(skip_serializing_if = "is_zero")]
    pub attachment_bytes: u32,
    /// Whether that attachment stays in a blob store, the event carrying a reference.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub claim_check: bool,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsumerView {
    pub id: ConsumerId,
    pub name: String,
    pub channel: ChannelId,
    pub group: Option<String>,
    pub effect: EffectKind,
    pub effect_label: String,
    pub emits: Vec<ChannelId>,
    pub dead_letters: QueueId,
    /// A topic subscription's filter on the routing key, drawn on its edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub at: Millis,
    pub broker_up: bool,
    pub deliveries: u64,
    pub queues: Vec<QueueMetrics>,
    pub streams: Vec<StreamMetrics>,
    pub producers: Vec<ProducerMetrics>,
    pub consumers: Vec<ConsumerMetrics>,
    /// The enabled alert rules and whether each is firing; left out of a scenario without any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<super::alerts::AlertMetrics>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueMetrics {
    pub queue: QueueId,
    pub ready: usize,
    pub in_flight: usize,
    pub waiting_retries: u32,
    pub dead_letters: usize,
    pub enqueued: u64,
    pub delivered: u64,
    pub acked: u64,
    pub redelivered: u64,
    pub retries: u64,
    pub dead_lettered: u64,
    pub dropped: u64,
    /// Per second of virtual time, over the last whole window.
    pub enqueued_per_sec: f64,
    pub delivered_per_sec: f64,
    pub acked_per_sec: f64,
    pub retries_per_sec: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamMetrics {
    pub channel: ChannelId,
    /// `[oldest kept offset, next offset]` per partition.
    pub partitions: Vec<[u64; 2]>,
    pub groups: Vec<GroupMetrics>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupMetrics {
    pub consumer: ConsumerId,
    pub generation: u32,
    pub owner: Vec<Option<u32>>,
    pub committed: Vec<Option<u64>>,
    pub position: Vec<u64>,
    /// Records appended but not yet committed, per partition.
    pub lag: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProducerMetrics {
    pub producer: ProducerId,
    pub produced: u64,
    pub publish_failed: u64,
    pub outbox_pending: usize,
    pub replies: u64,
    pub timeouts: u64,
    pub late_replies: u64,
    pub produced_per_sec: f64,
    /// The schema version it publishes now (a release may have changed it).
    pub schema_version: u32,
    /// Its latest release and what its pipeline made of it, once one was due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<super::releases::ReleaseOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceMetrics {
    pub status: InstanceStatus,
    /// Run by a person, who settles each message by hand.
    pub manual: bool,
    /// The message it is working on (or, for a person, holding).
    pub holding: Option<super::ids::MessageId>,
    pub busy: bool,
    pub buffered: usize,
    pub unacked: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsumerMetrics {
    pub consumer: ConsumerId,
    pub paused: bool,
    pub slow_factor: u32,
    pub dependency_down: bool,
    pub instances: Vec<InstanceMetrics>,
    pub design: Design,
    pub received: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub crashes: u64,
    pub succeeded_per_sec: f64,
    pub failed_per_sec: f64,
    pub business: BusinessSummary,
}

/// A consumer's business state, in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct BusinessSummary {
    pub applied: u64,
    pub duplicate_effects: u64,
    pub duplicates_skipped: u64,
    pub out_of_order: u64,
    pub stale_overwrites: u64,
    pub stale_dropped: u64,
    pub balance: i64,
    pub held_back: usize,
    /// Messages lost on their way to this consumer, or its copy of them (a `dropped` event naming it),
    /// plus stream records it never read (`records_missed`).
    pub lost: u64,
}

/// One dead-lettered message, for inspection.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetterView {
    pub message: super::message::Message,
    pub reason: DeadLetterReason,
    pub attempts: u32,
    pub at: Millis,
}

/// What a consumer was expected to handle and what it did not.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerReport {
    pub consumer: ConsumerId,
    pub name: String,
    /// Business keys its producers committed to (`key#seq`).
    pub expected: usize,
    /// Of those, the ones it never handled, dead-lettered or declined: lost orders.
    pub missing: Vec<String>,
    pub business: BusinessSummary,
}

impl World {
    pub fn topology(&self) -> Topology {
        Topology {
            channels: self
                .channels
                .iter()
                .enumerate()
                .map(|(i, c)| ChannelView {
                    id: ChannelId(i as u16),
                    name: c.name.to_string(),
                    kind: c.spec.kind,
                    durable: c.spec.durable,
                    partitions: c.stream.as_ref().map_or(0, |s| s.partitions.len() as u32),
                    dead_letter: c.spec.dead_letter,
                    queues: c.queues.clone(),
                    reply_for: c.reply_for,
                    registry: c.registry.as_ref().map(|r| r.compatibility),
                    max_message_bytes: c.spec.max_message_bytes,
                })
                .collect(),
            queues: self
                .queues
                .iter()
                .enumerate()
                .map(|(i, q)| QueueView {
                    id: QueueId(i as u16),
                    name: q.name.to_string(),
                    channel: q.channel,
                    subscriber: q.subscriber,
                })
                .collect(),
            producers: self
                .producers
                .iter()
                .enumerate()
                .map(|(i, p)| ProducerView {
                    id: ProducerId(i as u16),
                    name: p.name.to_string(),
                    channel: self.channel_id(&p.spec.channel).unwrap_or_default(),
                    event_type: p.spec.event_type.clone(),
                    delivery: match p.spec.delivery {
                        super::scenario::Delivery::Direct => "direct",
                        super::scenario::Delivery::DualWrite { .. } => "dual_write",
                        super::scenario::Delivery::Outbox { .. } => "outbox",
                    },
                    attachment_bytes: p.spec.attachment_bytes,
                    claim_check: p.spec.claim_check,
                })
                .collect(),
            consumers: self
                .consumers
                .iter()
                .enumerate()
                .map(|(i, c)| ConsumerView {
                    id: ConsumerId(i as u16),
                    name: c.name.to_string(),
                    channel: self.channel_id(&c.spec.channel).unwrap_or_default(),
                    group: match &c.source {
                        Source::Stream(group) => Some(group.name.clone()),
                        Source::Queue(_) => None,
                    },
                    effect: c.spec.effect.kind,
                    effect_label: c.spec.effect.label.clone(),
                    emits: c
                        .spec
                        .emits
                        .iter()
                        .filter_map(|e| self.channel_id(&e.channel))
                        .collect(),
                    dead_letters: c.dead_letter_queue(),
                    filter: c.spec.filter.clone(),
                })
                .collect(),
        }
    }

    pub fn metrics(&self) -> Metrics {
        Metrics {
            at: self.now,
            broker_up: self.broker_up,
            deliveries: self.deliveries,
            queues: self
                .queues
                .iter()
                .enumerate()
                .map(|(i, q)| QueueMetrics {
                    queue: QueueId(i as u16),
                    ready: q.ready.len(),
                    in_flight: q.in_flight.len(),
                    waiting_retries: q.waiting_retries,
                    dead_letters: q.dead.len(),
                    enqueued: q.stats.enqueued,
                    delivered: q.stats.delivered,
                    acked: q.stats.acked,
                    redelivered: q.stats.redelivered,
                    retries: q.stats.retries,
                    dead_lettered: q.stats.dead_lettered,
                    dropped: q.stats.dropped,
                    enqueued_per_sec: self.rate(i * 4),
                    delivered_per_sec: self.rate(i * 4 + 1),
                    acked_per_sec: self.rate(i * 4 + 2),
                    retries_per_sec: self.rate(i * 4 + 3),
                })
                .collect(),
            streams: self
                .channels
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let log = c.stream.as_ref()?;
                    let partitions: Vec<[u64; 2]> =
                        log.partitions.iter().map(|p| [p.base, p.end()]).collect();
                    let groups = log
                        .groups
                        .iter()
                        .filter_map(|&consumer| {
                            let Source::Stream(group) = &self.consumers[consumer.index()].source
                            else {
                                return None;
                            };
                            Some(GroupMetrics {
                                consumer,
                                generation: group.generation,
                                owner: group.owner.clone(),
                                committed: group.committed.clone(),
                                position: group.position.clone(),
                                lag: partitions
                                    .iter()
                                    .zip(&group.committed)
                                    .map(|([base, end], committed)| {
                                        end - committed.unwrap_or(*base).min(*end)
                                    })
                                    .collect(),
                            })
                        })
                        .collect();
                    Some(StreamMetrics {
                        channel: ChannelId(i as u16),
                        partitions,
                        groups,
                    })
                })
                .collect(),
            producers: self
                .producers
                .iter()
                .enumerate()
                .map(|(i, p)| ProducerMetrics {
                    producer: ProducerId(i as u16),
                    produced: p.stats.produced,
                    publish_failed: p.stats.publish_failed,
                    outbox_pending: p.outbox.len(),
                    replies: p.stats.replies,
                    timeouts: p.stats.timeouts,
                    late_replies: p.stats.late_replies,
                    produced_per_sec: self
                        .rate(self.queues.len() * 4 + self.consumers.len() * 2 + i),
                    schema_version: p.spec.schema_version,
                    release: p.last_release.clone(),
                })
                .collect(),
            consumers: (0..self.consumers.len())
                .map(|i| {
                    let c = &self.consumers[i];
                    ConsumerMetrics {
                        consumer: ConsumerId(i as u16),
                        paused: c.paused,
                        slow_factor: c.slow_factor,
                        dependency_down: c.dependency_down,
                        instances: c
                            .instances
                            .iter()
                            .map(|instance| InstanceMetrics {
                                status: instance.status,
                                manual: instance.manual,
                                holding: instance.current.as_ref().map(|w| w.message.id),
                                busy: instance.current.is_some(),
                                buffered: instance.buffer.len(),
                                unacked: instance.unacked,
                            })
                            .collect(),
                        design: c.design.clone(),
                        received: c.stats.received,
                        succeeded: c.stats.succeeded,
                        failed: c.stats.failed,
                        crashes: c.stats.crashes,
                        succeeded_per_sec: self.rate(self.queues.len() * 4 + i * 2),
                        failed_per_sec: self.rate(self.queues.len() * 4 + i * 2 + 1),
                        business: self.business_summary(ConsumerId(i as u16)),
                    }
                })
                .collect(),
            alerts: self.alert_metrics(),
        }
    }

    fn business_summary(&self, consumer: ConsumerId) -> BusinessSummary {
        let b = &self.consumers[consumer.index()].business;
        BusinessSummary {
            applied: b.applied,
            duplicate_effects: b.duplicate_effects,
            duplicates_skipped: b.duplicates_skipped,
            out_of_order: b.out_of_order,
            stale_overwrites: b.stale_overwrites,
            stale_dropped: b.stale_dropped,
            balance: b.balance,
            held_back: b.held.values().map(|h| h.len()).sum(),
            lost: self.lost_for.get(consumer.index()).copied().unwrap_or(0),
        }
    }

    /// The dead letters of a consumer's queue (or stream group), oldest first.
    pub fn dead_letters(
        &self,
        consumer: &str,
    ) -> Result<Vec<DeadLetterView>, super::error::CommandError> {
        let id = self.consumer_id(consumer)?;
        let queue = self.consumers[id.index()].dead_letter_queue();
        Ok(self.queues[queue.index()]
            .dead
            .iter()
            .map(|letter| DeadLetterView {
                message: super::message::Message::clone(&letter.message),
                reason: letter.reason,
                attempts: letter.attempts,
                at: letter.at,
            })
            .collect())
    }

    /// For each consumer, the business keys its producers committed to that it never
    /// handled: lost orders. A key it dead-lettered or declined is accounted for.
    pub fn report(&self) -> Vec<ConsumerReport> {
        (0..self.consumers.len())
            .map(|i| {
                let consumer = &self.consumers[i];
                let id = ConsumerId(i as u16);
                let channel = &consumer.spec.channel;
                let expected: Vec<_> = self
                    .producers
                    .iter()
                    .filter(|p| &p.spec.channel == channel && &*p.name != super::commands::CONSOLE)
                    .flat_map(|p| p.orders.iter())
                    .collect();
                let dead = &self.queues[consumer.dead_letter_queue().index()].dead;
                let handled = |key: &std::sync::Arc<str>, seq: u64| {
                    let b = &consumer.business;
                    b.once.contains_key(&(key.clone(), seq))
                        || b.latest.get(key).is_some_and(|(latest, _)| *latest >= seq)
                        || b.declined.contains(&(key.clone(), seq))
                        || dead
                            .iter()
                            .any(|d| &d.message.key == key && d.message.seq == seq)
                };
                let missing = if consumer.spec.effect.kind == EffectKind::Count {
                    Vec::new()
                } else {
                    expected
                        .iter()
                        .filter(|(key, seq)| !handled(key, *seq))
                        .map(|(key, seq)| format!("{key}#{seq}"))
                        .collect()
                };
                ConsumerReport {
                    consumer: id,
                    name: consumer.name.to_string(),
                    expected: expected.len(),
                    missing,
                    business: self.business_summary(id),
                }
            })
            .collect()
    }
}

/// Messages waiting for a consumer: its stream group's lag, or what its queue holds (ready, in flight and
/// waiting for a retry). Goals and alerts read it the same way.
pub fn consumer_lag(topology: &Topology, metrics: &Metrics, consumer: ConsumerId) -> u64 {
    let Some(view) = topology.consumers.get(consumer.0 as usize) else {
        return 0;
    };
    let group = metrics
        .streams
        .iter()
        .flat_map(|s| &s.groups)
        .find(|g| g.consumer == consumer);
    if let Some(group) = group {
        return group.lag.iter().sum();
    }
    let queue = topology
        .queues
        .iter()
        .find(|q| {
            q.channel == view.channel && (q.subscriber.is_none() || q.subscriber == Some(consumer))
        })
        .map(|q| q.id);
    queue
        .and_then(|q| metrics.queues.get(q.0 as usize))
        .map_or(0, |m| {
            (m.ready + m.in_flight) as u64 + u64::from(m.waiting_retries)
        })
}
