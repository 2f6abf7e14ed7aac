//! Rates per second of virtual time, measured over the last whole window.
//!
//! Counters only grow; a rate is the growth over one window divided by its length. The
//! window rolls when the driver advances past its end, so the cost is a comparison per
//! `advance_to` and a pass over the counters once per virtual second.
use super::ids::Millis;
use super::world::World;

/// The length of the window rates are measured over.
pub const RATE_WINDOW_MS: Millis = 1_000;

#[derive(Debug, Clone, Default)]
pub(crate) struct RateWindow {
    since: Millis,
    baseline: Vec<u64>,
    pub(crate) rates: Vec<f64>,
}

impl World {
    /// Every counter a rate is shown for, in a fixed order: per queue enqueued, delivered,
    /// acked, retries; per consumer succeeded, failed; per producer produced.
    fn rate_counters(&self) -> Vec<u64> {
        let mut counters = Vec::with_capacity(
            self.queues.len() * 4 + self.consumers.len() * 2 + self.producers.len(),
        );
        for q in &self.queues {
            counters.extend([
                q.stats.enqueued,
                q.stats.delivered,
                q.stats.acked,
                q.stats.retries,
            ]);
        }
        for c in &self.consumers {
            counters.extend([c.stats.succeeded, c.stats.failed]);
        }
        for p in &self.producers {
            counters.push(p.stats.produced);
        }
        counters
    }

    pub(crate) fn roll_rate_window(&mut self) {
        if self.now < self.rate_window.since + RATE_WINDOW_MS {
            return;
        }
        let counters = self.rate_counters();
        let elapsed = (self.now - self.rate_window.since) as f64 / 1_000.0;
        let window = &mut self.rate_window;
        window.rates = counters
            .iter()
            .enumerate()
            .map(|(i, now)| {
                now.saturating_sub(window.baseline.get(i).copied().unwrap_or(0)) as f64 / elapsed
            })
            .collect();
        window.baseline = counters;
        window.since = self.now;
    }

    /// The rate of counter `index` (see `rate_counters`), zero before the first window.
    pub(crate) fn rate(&self, index: usize) -> f64 {
        self.rate_window.rates.get(index).copied().unwrap_or(0.0)
    }
}
