//! The design choices a learner can flip on a consumer: the knobs of an exercise.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ids::Millis;

/// When the consumer acknowledges a message to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// Ack as soon as the message arrives, before any work: at-most-once. A crash while
    /// processing loses the message.
    OnReceipt,
    /// Ack only after the work is done: at-least-once. A crash after the side effect but
    /// before the ack makes the broker deliver the message again.
    #[default]
    AfterProcessing,
}

/// What a consumer does when processing fails.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum RetryPolicy {
    /// Reject at the first failure: the message goes to the dead-letter queue if there is one.
    None,
    /// Requeue at once, up to `max_attempts` deliveries in all.
    Immediate { max_attempts: u32 },
    /// Wait a fixed delay between attempts.
    Fixed { delay_ms: Millis, max_attempts: u32 },
    /// Double the delay after each attempt, up to `max_ms`; with `jitter` the delay is drawn
    /// uniformly between zero and that value ("full jitter"), which spreads retries out.
    Exponential {
        base_ms: Millis,
        max_ms: Millis,
        #[serde(default)]
        jitter: bool,
        max_attempts: u32,
    },
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::Immediate { max_attempts: 5 }
    }
}

impl RetryPolicy {
    /// The number of delivery attempts this policy allows in all (the first one included).
    pub fn max_attempts(&self) -> u32 {
        match *self {
            RetryPolicy::None => 1,
            RetryPolicy::Immediate { max_attempts }
            | RetryPolicy::Fixed { max_attempts, .. }
            | RetryPolicy::Exponential { max_attempts, .. } => max_attempts.max(1),
        }
    }

    /// The delay before attempt `attempt + 1`, given that `attempt` attempts have failed.
    /// `draw(max)` returns a uniform value in `0..=max` and is only called for jitter.
    pub(crate) fn delay_after(&self, attempt: u32, draw: impl FnOnce(u64) -> u64) -> Millis {
        match *self {
            RetryPolicy::None | RetryPolicy::Immediate { .. } => 0,
            RetryPolicy::Fixed { delay_ms, .. } => delay_ms,
            RetryPolicy::Exponential {
                base_ms,
                max_ms,
                jitter,
                ..
            } => {
                let exponent = attempt.saturating_sub(1).min(32);
                let ceiling = base_ms.saturating_mul(1u64 << exponent).min(max_ms);
                if jitter { draw(ceiling) } else { ceiling }
            }
        }
    }
}

/// How a consumer recognises a message it has already handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Idempotency {
    /// No protection: a redelivered message repeats its side effect.
    #[default]
    None,
    /// Remember every message id handled; catches redeliveries and network duplicates, not
    /// a producer that sends the same order twice under two ids.
    MessageId,
    /// Remember every business key handled (the key and its per-key sequence number, such
    /// as "order 17, version 1"); catches duplicates whatever their message id.
    BusinessKey,
}

/// How a consumer copes with events of one key arriving out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum OrderingStrategy {
    /// Apply events in arrival order, whatever their sequence number.
    #[default]
    None,
    /// Drop an event whose per-key sequence number is not newer than the last one applied.
    DropStale,
    /// Hold early events back until the missing ones arrive, or until `timeout_ms` passes,
    /// then apply what is held in sequence order.
    Resequence { timeout_ms: Millis },
}

/// All the knobs of one consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Design {
    pub ack_mode: AckMode,
    pub retry: RetryPolicy,
    pub idempotency: Idempotency,
    pub ordering: OrderingStrategy,
    /// Unacknowledged messages the broker may push to one instance at a time.
    pub prefetch: u32,
    /// Running instances of the consumer.
    pub instances: u32,
    /// Read fields it does not know and ignore them, instead of rejecting a newer schema
    /// version it was not written for.
    pub tolerant_reader: bool,
    /// Convert older schema versions to the newest one it knows before processing.
    pub upcast: bool,
    /// Copy the incoming correlation id onto every event it emits.
    pub propagate_correlation: bool,
    /// How long its idempotency store remembers a handled message id or business key; for the whole
    /// run when left out. A duplicate that comes later is handled again.
    pub dedup_ttl_ms: Option<Millis>,
    /// How many ids or keys its idempotency store keeps at most; the oldest go first. Unbounded when
    /// left out.
    pub dedup_capacity: Option<u32>,
}

impl Default for Design {
    fn default() -> Self {
        Self {
            ack_mode: AckMode::default(),
            retry: RetryPolicy::default(),
            idempotency: Idempotency::default(),
            ordering: OrderingStrategy::default(),
            prefetch: 1,
            instances: 1,
            tolerant_reader: false,
            upcast: false,
            propagate_correlation: true,
            dedup_ttl_ms: None,
            dedup_capacity: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_doubles_up_to_its_ceiling() {
        let policy = RetryPolicy::Exponential {
            base_ms: 100,
            max_ms: 1_000,
            jitter: false,
            max_attempts: 8,
        };
        let delays: Vec<_> = (1..=6).map(|n| policy.delay_after(n, |_| 0)).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1_000, 1_000]);
    }

    #[test]
    fn jitter_draws_below_the_ceiling() {
        let policy = RetryPolicy::Exponential {
            base_ms: 100,
            max_ms: 1_000,
            jitter: true,
            max_attempts: 8,
        };
        assert_eq!(policy.delay_after(3, |max| max / 2), 200);
    }

    #[test]
    fn no_retry_allows_one_attempt() {
        assert_eq!(RetryPolicy::None.max_attempts(), 1);
    }
}
