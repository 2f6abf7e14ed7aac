//! Business effects: what a consumer's work means to the business, and what went wrong.
//!
//! Each consumer keeps a small state as its own database would: a count, a balance, the
//! latest value per key, and how often each once-only effect happened. Idempotency and
//! ordering checks sit in front of the effect, as they would in a real handler. From this
//! state the consequences a learner cares about are counted where they happen: double
//! charges, stale overwrites, out-of-order arrivals.
use std::collections::BTreeMap;
use std::sync::Arc;

use super::dedup::DedupStore;
use super::design::{Idempotency, OrderingStrategy};
use super::ids::{ConsumerId, MessageId};
use super::message::MessageRef;
use super::scenario::EffectKind;
use super::trace::TraceKind;
use super::world::{Pending, StableHashMap, StableHashSet, World};

/// Messages a resequencer holds back per key. At the limit it stops waiting for the gap
/// and applies what it holds, as its timeout would.
pub const MAX_HELD_PER_KEY: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BusinessOutcome {
    Applied,
    Skipped,
    Held,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Business {
    pub(crate) applied: u64,
    pub(crate) duplicate_effects: u64,
    pub(crate) duplicates_skipped: u64,
    pub(crate) out_of_order: u64,
    pub(crate) stale_overwrites: u64,
    pub(crate) stale_dropped: u64,
    pub(crate) balance: i64,
    /// Times each once-only effect happened, by business key and sequence number.
    pub(crate) once: StableHashMap<(Arc<str>, u64), u32>,
    /// The read model: latest sequence number and message per key.
    pub(crate) latest: StableHashMap<Arc<str>, (u64, MessageId)>,
    /// Highest sequence number applied per key.
    pub(crate) last_seq: StableHashMap<Arc<str>, u64>,
    pub(crate) seen_ids: DedupStore<MessageId>,
    /// Work the business declined (a refused payment): handled, with no effect.
    pub(crate) declined: StableHashSet<(Arc<str>, u64)>,
    pub(crate) seen_keys: DedupStore<(Arc<str>, u64)>,
    /// Resequencer: early messages per key, by sequence number.
    pub(crate) held: StableHashMap<Arc<str>, BTreeMap<u64, MessageRef>>,
}

impl World {
    /// Runs the idempotency check, the ordering strategy and the effect for one message.
    pub(crate) fn apply_business(
        &mut self,
        consumer: ConsumerId,
        instance: u32,
        message: &MessageRef,
    ) -> BusinessOutcome {
        let now = self.now;
        let target = &mut self.consumers[consumer.index()];
        let (ttl, capacity) = (target.design.dedup_ttl_ms, target.design.dedup_capacity);
        let business = &mut target.business;
        let fresh = match target.design.idempotency {
            Idempotency::None => true,
            Idempotency::MessageId => business.seen_ids.remember(message.id, now, ttl, capacity),
            Idempotency::BusinessKey => {
                let key = (message.key.clone(), message.seq);
                business.seen_keys.remember(key, now, ttl, capacity)
            }
        };
        if !fresh {
            target.business.duplicates_skipped += 1;
            self.record(TraceKind::DuplicateSkipped {
                message: message.id,
                consumer,
            });
            return BusinessOutcome::Skipped;
        }
        let ordering = target.design.ordering;
        let tracks_order =
            ordering != OrderingStrategy::None || target.spec.effect.kind != EffectKind::Count;
        if !tracks_order {
            self.apply_effect(consumer, instance, message);
            return BusinessOutcome::Applied;
        }
        let last = target
            .business
            .last_seq
            .get(&message.key)
            .copied()
            .unwrap_or(0);
        if message.seq < last {
            target.business.out_of_order += 1;
            self.record(TraceKind::OutOfOrder {
                message: message.id,
                consumer,
                seq: message.seq,
                last_seq: last,
            });
        }
        match ordering {
            OrderingStrategy::None => {
                self.apply_effect(consumer, instance, message);
                BusinessOutcome::Applied
            }
            OrderingStrategy::DropStale | OrderingStrategy::Resequence { .. }
                if message.seq <= last =>
            {
                self.consumers[consumer.index()].business.stale_dropped += 1;
                self.record(TraceKind::StaleDropped {
                    message: message.id,
                    consumer,
                });
                BusinessOutcome::Skipped
            }
            OrderingStrategy::DropStale => {
                self.apply_effect(consumer, instance, message);
                BusinessOutcome::Applied
            }
            OrderingStrategy::Resequence { timeout_ms } => {
                if message.seq == last + 1 {
                    self.apply_effect(consumer, instance, message);
                    self.release_held(consumer, instance, &message.key);
                    return BusinessOutcome::Applied;
                }
                let held = self.consumers[consumer.index()]
                    .business
                    .held
                    .entry(message.key.clone())
                    .or_default();
                held.insert(message.seq, message.clone());
                let overflowing = held.len() > MAX_HELD_PER_KEY;
                self.record(TraceKind::HeldBack {
                    message: message.id,
                    consumer,
                    waiting_for: last + 1,
                });
                if overflowing {
                    self.skip_gap(consumer, instance, message.key.clone());
                } else {
                    self.schedule(
                        timeout_ms,
                        Pending::ResequenceTimeout {
                            consumer,
                            key: message.key.clone(),
                            waiting_for: last + 1,
                        },
                    );
                }
                BusinessOutcome::Held
            }
        }
    }

    fn apply_effect(&mut self, consumer: ConsumerId, instance: u32, message: &MessageRef) {
        let target = &mut self.consumers[consumer.index()];
        let business = &mut target.business;
        business.applied += 1;
        let kind = target.spec.effect.kind;
        if kind != EffectKind::Count || target.design.ordering != OrderingStrategy::None {
            let last = business.last_seq.entry(message.key.clone()).or_insert(0);
            *last = (*last).max(message.seq);
        }
        let mut anomaly = None;
        match kind {
            EffectKind::Count => {}
            EffectKind::Once | EffectKind::Balance => {
                if kind == EffectKind::Balance {
                    business.balance += message.amount();
                }
                let times = business
                    .once
                    .entry((message.key.clone(), message.seq))
                    .or_insert(0);
                *times += 1;
                if *times > 1 {
                    business.duplicate_effects += 1;
                    anomaly = Some(TraceKind::DuplicateEffect {
                        message: message.id,
                        consumer,
                        times: *times,
                    });
                }
            }
            EffectKind::Latest => {
                let current = business.latest.get(&message.key).map_or(0, |(seq, _)| *seq);
                if message.seq < current {
                    business.stale_overwrites += 1;
                    anomaly = Some(TraceKind::StaleOverwrite {
                        message: message.id,
                        consumer,
                        seq: message.seq,
                        last_seq: current,
                    });
                }
                business
                    .latest
                    .insert(message.key.clone(), (message.seq, message.id));
            }
        }
        self.record_latency(consumer, message.produced_at);
        self.record(TraceKind::EffectApplied {
            message: message.id,
            consumer,
            instance,
        });
        if let Some(anomaly) = anomaly {
            self.record(anomaly);
        }
    }

    /// Applies held messages that now follow on without a gap.
    fn release_held(&mut self, consumer: ConsumerId, instance: u32, key: &Arc<str>) {
        loop {
            let business = &mut self.consumers[consumer.index()].business;
            let last = business.last_seq.get(key).copied().unwrap_or(0);
            let Some(held) = business.held.get_mut(key) else {
                return;
            };
            let Some(next) = held.remove(&(last + 1)) else {
                if held.is_empty() {
                    business.held.remove(key);
                }
                return;
            };
            self.apply_effect(consumer, instance, &next);
        }
    }

    pub(crate) fn resequence_timeout(
        &mut self,
        consumer: ConsumerId,
        key: Arc<str>,
        waiting_for: u64,
    ) {
        let last = self.consumers[consumer.index()]
            .business
            .last_seq
            .get(&key)
            .copied()
            .unwrap_or(0);
        if last >= waiting_for {
            return;
        }
        self.skip_gap(consumer, 0, key);
    }

    /// Stops waiting for missing sequence numbers: jumps to the lowest one held.
    fn skip_gap(&mut self, consumer: ConsumerId, instance: u32, key: Arc<str>) {
        let business = &mut self.consumers[consumer.index()].business;
        let last = business.last_seq.get(&key).copied().unwrap_or(0);
        let Some(lowest) = business
            .held
            .get(&key)
            .and_then(|held| held.keys().next().copied())
        else {
            return;
        };
        business.last_seq.insert(key.clone(), lowest - 1);
        self.record(TraceKind::GapSkipped {
            consumer,
            key: key.clone(),
            from_seq: last + 1,
            to_seq: lowest - 1,
        });
        self.release_held(consumer, instance, &key);
    }

    /// Saves the read model and the group's offsets every `checkpoint_every` records.
    pub(crate) fn maybe_checkpoint(&mut self, consumer: ConsumerId) {
        let target = &mut self.consumers[consumer.index()];
        let Some(every) = target.spec.checkpoint_every else {
            return;
        };
        target.since_checkpoint += 1;
        if target.since_checkpoint < every.max(1) {
            return;
        }
        target.since_checkpoint = 0;
        let super::consumer::Source::Stream(group) = &target.source else {
            return;
        };
        let offsets: Vec<u64> = group.processed.clone();
        target.checkpoint = Some((target.business.clone(), offsets.clone()));
        self.record(TraceKind::CheckpointSaved { consumer, offsets });
    }
}
