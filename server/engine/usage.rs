//! What a run uses, measured as virtual time passes, so that every design choice has a price:
//! instance-time, storage (the bytes of every message held × time, dead letters included), retries, the
//! entries idempotent consumers remember, and each consumer's end-to-end latency.
//!
//! Time-weighted quantities are accrued at each instant the scheduler moves time forward,
//! from the state that held since the previous one; between two events nothing changes, so
//! the sum is exact. Latencies go into fixed logarithmic buckets, so memory stays constant
//! however long a run lasts, and percentiles are exact to one bucket (under 4.5 %).
use serde::Serialize;

use super::consumer::{InstanceStatus, Source};
use super::ids::{ConsumerId, Millis};
use super::world::{Pending, World};

/// Latency buckets per power of two: each bucket spans at most 1/16 of its lower bound.
const BUCKETS_PER_OCTAVE: usize = 16;
/// Octaves covered: 1 ms to 2^24 ms (about 4.6 hours of virtual time); longer falls in the last.
const OCTAVES: usize = 24;
const LATENCY_BUCKETS: usize = BUCKETS_PER_OCTAVE * OCTAVES + 1;

/// The running meter of a world.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meter {
    /// Virtual time up to which usage has been accrued.
    last: Millis,
    instance_ms: u64,
    stored_byte_ms: u64,
    peak_instances: Vec<u32>,
    latency: Vec<Histogram>,
    /// Each consumer's latest latencies with when they were measured, for an alert on its recent p99
    /// (the histogram is the whole run's, which an incident would never leave).
    recent_latency: Vec<std::collections::VecDeque<(Millis, Millis)>>,
}

/// The window of an alert's p99, in virtual time, as a Prometheus `histogram_quantile` over a range.
pub const RECENT_LATENCY_WINDOW_MS: Millis = 10_000;
/// Latencies kept per consumer within that window; at the limit the oldest gives way to the newest.
pub const RECENT_LATENCIES: usize = 1_024;

/// A consumer's latencies, bucketed.
#[derive(Debug, Clone)]
struct Histogram {
    counts: Box<[u32; LATENCY_BUCKETS]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: Box::new([0; LATENCY_BUCKETS]),
            total: 0,
        }
    }
}

impl Histogram {
    fn record(&mut self, ms: Millis) {
        let bucket = bucket_of(ms);
        self.counts[bucket] = self.counts[bucket].saturating_add(1);
        self.total += 1;
    }

    /// The latency at quantile `q` (0..=1): the upper bound of the bucket that holds it.
    fn quantile(&self, q: f64) -> Option<Millis> {
        if self.total == 0 {
            return None;
        }
        // The rank of the wanted sample, 1-based: the smallest value with at least q of them below.
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0u64;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += u64::from(count);
            if seen >= rank {
                return Some(upper_bound(bucket));
            }
        }
        Some(upper_bound(LATENCY_BUCKETS - 1))
    }
}

/// Bucket 0 holds 0 ms; then each octave [2^k, 2^(k+1)) is cut in 16 equal parts.
fn bucket_of(ms: Millis) -> usize {
    if ms == 0 {
        return 0;
    }
    let octave = (63 - ms.leading_zeros()) as usize;
    if octave >= OCTAVES {
        return LATENCY_BUCKETS - 1;
    }
    let base = 1u64 << octave;
    let step = (base / BUCKETS_PER_OCTAVE as u64).max(1);
    let part = (((ms - base) / step) as usize).min(BUCKETS_PER_OCTAVE - 1);
    1 + octave * BUCKETS_PER_OCTAVE + part
}

/// The largest latency bucket `bucket` holds.
fn upper_bound(bucket: usize) -> Millis {
    if bucket == 0 {
        return 0;
    }
    let octave = (bucket - 1) / BUCKETS_PER_OCTAVE;
    let part = ((bucket - 1) % BUCKETS_PER_OCTAVE) as u64;
    let base = 1u64 << octave;
    let step = (base / BUCKETS_PER_OCTAVE as u64).max(1);
    // Below 16 ms a step is 1 ms and some parts are empty; the bound never passes the octave.
    (base + (part + 1) * step - 1).min(2 * base - 1)
}

/// What a run has used so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Instance-milliseconds: each running instance (crashed ones restart, so they count) × time.
    pub instance_ms: u64,
    /// Byte-milliseconds: the size of each copy the broker holds (ready, in flight, waiting to
    /// retry, dead-lettered, or a stream record) × the time it holds it.
    pub stored_byte_ms: u64,
    /// Copies the broker holds now.
    pub stored_messages: u64,
    /// Their bytes.
    pub stored_bytes: u64,
    /// Deliveries made again: retries and redeliveries after a deadline or a crash.
    pub retries: u64,
    /// Message ids or business keys idempotent consumers remember now.
    pub dedup_entries: u64,
    /// Effects applied, by every consumer.
    pub effects: u64,
    pub consumers: Vec<ConsumerUsage>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsumerUsage {
    pub consumer: ConsumerId,
    /// The most instances that ran at once.
    pub peak_instances: u32,
    pub retries: u64,
    pub effects: u64,
    /// From a message's first publication to its effect, over every effect applied.
    pub latency_p50_ms: Option<Millis>,
    pub latency_p99_ms: Option<Millis>,
}

impl World {
    /// Accrues usage up to `until` from the state that held since the last accrual.
    pub(crate) fn accrue_usage(&mut self, until: Millis) {
        let elapsed = until.saturating_sub(self.meter.last);
        // Only time counts: instances a design removes at 0 s never ran, and are not a peak.
        if elapsed == 0 {
            return;
        }
        // This runs at every instant time moves: no allocation, one pass over consumers and queues.
        let peaks = &mut self.meter.peak_instances;
        if peaks.len() < self.consumers.len() {
            peaks.resize(self.consumers.len(), 0);
        }
        let mut total = 0u64;
        for (peak, consumer) in peaks.iter_mut().zip(&self.consumers) {
            let running = running_of(consumer);
            *peak = (*peak).max(running);
            total += u64::from(running);
        }
        self.meter.instance_ms += total * elapsed;
        self.meter.stored_byte_ms += self.stored_bytes() * elapsed;
        self.meter.last = until;
    }

    /// Notes an effect of `consumer` for a message first published at `produced_at`.
    pub(crate) fn record_latency(&mut self, consumer: ConsumerId, produced_at: Millis) {
        let index = consumer.index();
        if self.meter.latency.len() <= index {
            self.meter
                .latency
                .resize_with(index + 1, Histogram::default);
        }
        let latency = self.now.saturating_sub(produced_at);
        self.meter.latency[index].record(latency);
        if self.meter.recent_latency.len() <= index {
            self.meter
                .recent_latency
                .resize_with(index + 1, Default::default);
        }
        let recent = &mut self.meter.recent_latency[index];
        if recent.len() >= RECENT_LATENCIES {
            recent.pop_front();
        }
        recent.push_back((self.now, latency));
    }

    /// The p99 of the consumer's latencies measured in the last [`RECENT_LATENCY_WINDOW_MS`]
    /// (0 when it applied nothing then).
    pub(crate) fn recent_p99(&self, consumer: ConsumerId) -> Millis {
        let Some(recent) = self.meter.recent_latency.get(consumer.index()) else {
            return 0;
        };
        let since = self.now.saturating_sub(RECENT_LATENCY_WINDOW_MS);
        let mut sorted: Vec<Millis> = recent
            .iter()
            .filter(|(at, _)| *at >= since)
            .map(|(_, latency)| *latency)
            .collect();
        sorted.sort_unstable();
        let rank = (sorted.len() * 99).div_ceil(100);
        sorted.get(rank.saturating_sub(1)).copied().unwrap_or(0)
    }

    fn running_instances(&self) -> Vec<u32> {
        self.consumers.iter().map(running_of).collect()
    }

    /// Every partition of every stream.
    fn partitions(&self) -> impl Iterator<Item = &super::stream::PartitionLog> {
        self.channels
            .iter()
            .filter_map(|c| c.stream.as_ref())
            .flat_map(|log| log.partitions.iter())
    }

    fn stored_messages(&self) -> u64 {
        let queued: usize = self
            .queues
            .iter()
            .map(|q| q.ready.len() + q.in_flight.len() + q.waiting_retries as usize + q.dead.len())
            .sum();
        let records: u64 = self.partitions().map(|p| p.end() - p.base).sum();
        queued as u64 + records
    }

    /// Bytes the broker holds now, from the counts queues and partitions keep.
    fn stored_bytes(&self) -> u64 {
        let queued: u64 = self.queues.iter().map(|q| q.held_bytes).sum();
        let records: u64 = self.partitions().map(|p| p.bytes).sum();
        queued + records
    }

    /// The same bytes counted message by message, retries waiting in the scheduler included:
    /// what the kept counts must always equal. For tests; it walks every message.
    #[doc(hidden)]
    pub fn stored_bytes_recounted(&self) -> (u64, u64) {
        let size = |m: &super::message::Message| u64::from(m.size_bytes());
        let queued: u64 = self
            .queues
            .iter()
            .map(|q| {
                q.ready.iter().map(|e| size(&e.message)).sum::<u64>()
                    + q.in_flight
                        .values()
                        .map(|f| size(&f.envelope.message))
                        .sum::<u64>()
                    + q.dead.iter().map(|d| size(&d.message)).sum::<u64>()
            })
            .sum();
        let waiting: u64 = self
            .scheduler
            .pending()
            .filter_map(|event| match event {
                Pending::RetryDue { envelope, .. } => Some(size(&envelope.message)),
                _ => None,
            })
            .sum();
        let records: u64 = self
            .partitions()
            .flat_map(|p| p.records.iter())
            .map(|m| size(m))
            .sum();
        (self.stored_bytes(), queued + waiting + records)
    }

    /// What the run has used up to now.
    pub fn usage(&self) -> Usage {
        let pending = self.now.saturating_sub(self.meter.last);
        let running = self.running_instances();
        let mut peaks = self.meter.peak_instances.clone();
        if pending > 0 {
            raise_peaks(&mut peaks, &running);
        }
        let consumers: Vec<ConsumerUsage> = (0..self.consumers.len())
            .map(|i| {
                let consumer = &self.consumers[i];
                let retries = match &consumer.source {
                    // Every delivery after the first: a retry, or a redelivery after a deadline,
                    // a crash or a broker restart.
                    Source::Queue(queue) => self.queues[queue.index()].stats.redelivered,
                    // A stream group retries in the consumer: each failed attempt is tried again
                    // or dead-lettered.
                    Source::Stream(_) => consumer.stats.failed,
                };
                let latency = self.meter.latency.get(i);
                ConsumerUsage {
                    consumer: ConsumerId(i as u16),
                    peak_instances: peaks.get(i).copied().unwrap_or(0),
                    retries,
                    effects: consumer.business.applied,
                    latency_p50_ms: latency.and_then(|h| h.quantile(0.5)),
                    latency_p99_ms: latency.and_then(|h| h.quantile(0.99)),
                }
            })
            .collect();
        let instances: u64 = running.iter().map(|&n| u64::from(n)).sum();
        let stored_bytes = self.stored_bytes();
        Usage {
            // Up to now, as if accrued this instant, without changing the world.
            instance_ms: self.meter.instance_ms + instances * pending,
            stored_byte_ms: self.meter.stored_byte_ms + stored_bytes * pending,
            stored_messages: self.stored_messages(),
            stored_bytes,
            retries: consumers.iter().map(|c| c.retries).sum(),
            dedup_entries: self
                .consumers
                .iter()
                .map(|c| {
                    let ttl = c.design.dedup_ttl_ms;
                    (c.business.seen_ids.live(self.now, ttl)
                        + c.business.seen_keys.live(self.now, ttl)) as u64
                })
                .sum(),
            effects: consumers.iter().map(|c| c.effects).sum(),
            consumers,
        }
    }
}

/// Instances of a consumer that run (a crashed one restarts, so it counts).
fn running_of(consumer: &super::consumer::Consumer) -> u32 {
    consumer
        .instances
        .iter()
        .filter(|i| i.status != InstanceStatus::Removed)
        .count() as u32
}

/// Raises each consumer's peak to its running count.
fn raise_peaks(peaks: &mut Vec<u32>, running: &[u32]) {
    if peaks.len() < running.len() {
        peaks.resize(running.len(), 0);
    }
    for (peak, &now) in peaks.iter_mut().zip(running) {
        *peak = (*peak).max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_bounds() {
        for ms in [
            0,
            1,
            2,
            7,
            15,
            16,
            17,
            100,
            999,
            1_000,
            1_024,
            65_535,
            1 << 30,
        ] {
            let bucket = bucket_of(ms);
            assert!(
                upper_bound(bucket) >= ms.min(upper_bound(LATENCY_BUCKETS - 1)),
                "{ms}"
            );
            if bucket > 0 && ms < (1 << OCTAVES) {
                assert!(
                    upper_bound(bucket - 1) < ms,
                    "{ms} is in the lowest bucket that holds it"
                );
                // Within 1/16 of the value.
                assert!((upper_bound(bucket) - ms) * 16 <= ms.max(16), "{ms}");
            }
        }
    }

    #[test]
    fn quantiles_count_ranks() {
        let mut h = Histogram::default();
        for ms in 1..=100 {
            h.record(ms);
        }
        let p50 = h.quantile(0.5).unwrap();
        assert!((50..=53).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99).unwrap();
        assert!((99..=103).contains(&p99), "{p99}");
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
