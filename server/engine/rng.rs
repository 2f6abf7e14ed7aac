//! The world's single source of randomness.
//!
//! Every random choice in a run (ids, jitter, loss, failures) is drawn from this one seeded
//! generator, in the order the scheduler processes events. That order is deterministic, so
//! one seed always gives one run.
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// True with the given probability. A probability of zero draws nothing, so a scenario
    /// without a failure does not shift the sequence every other choice sees.
    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        if probability <= 0.0 {
            return false;
        }
        if probability >= 1.0 {
            return true;
        }
        self.inner.random_bool(probability)
    }

    /// A value in `0..=max`, drawing nothing when `max` is zero.
    pub(crate) fn up_to(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        self.inner.random_range(0..=max)
    }
}
