//! The bill of a run: what the engine measured ([`Usage`]) at the exercise's prices, so every
//! design choice has a cost a learner sees live and goals can bound. The model is small on
//! purpose, and documented in the authoring guide:
//!
//! - compute: instance-seconds (an instance that crashed restarts, so it is still paid for);
//! - storage: kilobyte-seconds, the bytes of each copy the broker holds (dead letters and
//!   stream records included) for each second it holds them, so a big payload or a long
//!   retention costs what it weighs;
//! - retries: each delivery made again;
//! - idempotency: each message id or business key a consumer remembers at the end.
//!
//! Latency (p50 and p99 from first publication to effect, per consumer) and throughput are
//! shown beside it, not priced: they are what the money buys.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{ConsumerId, Millis, Usage, World};

use super::goals::Goal;

/// The default price of storage: a typical event of the bundled exercises, about 125 bytes, held
/// for a second costs 0.01 credit.
pub const KILOBYTE_SECOND: f64 = 0.08;

/// What each unit costs, in credits. An exercise may set its own in `[cost]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Prices {
    /// One instance running for one second of virtual time.
    pub instance_second: f64,
    /// One kilobyte (1,000 bytes) held by the broker for one second.
    pub kilobyte_second: f64,
    /// One delivery made again.
    pub retry: f64,
    /// One entry an idempotent consumer remembers.
    pub dedup_entry: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Self {
            instance_second: 1.0,
            kilobyte_second: KILOBYTE_SECOND,
            retry: 0.1,
            dedup_entry: 0.01,
        }
    }
}

/// A run's bill so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bill {
    pub compute: f64,
    pub storage: f64,
    pub retries: f64,
    pub dedup: f64,
    pub total: f64,
    pub instance_seconds: f64,
    pub kilobyte_seconds: f64,
    pub retries_sent: u64,
    pub dedup_entries: u64,
    pub effects: u64,
    /// Effects applied per second of virtual time, over the whole run.
    pub throughput_per_sec: f64,
    pub consumers: Vec<ConsumerLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerLine {
    pub name: String,
    pub peak_instances: u32,
    pub retries: u64,
    pub latency_p50_ms: Option<Millis>,
    pub latency_p99_ms: Option<Millis>,
}

impl Bill {
    pub fn of(world: &World, prices: &Prices) -> Self {
        Self::from_usage(&world.usage(), world.now(), prices, |id| {
            world
                .topology()
                .consumers
                .get(id.0 as usize)
                .map(|c| c.name.clone())
                .unwrap_or_default()
        })
    }

    pub(crate) fn from_usage(
        usage: &Usage,
        now: Millis,
        prices: &Prices,
        name: impl Fn(ConsumerId) -> String,
    ) -> Self {
        let instance_seconds = usage.instance_ms as f64 / 1_000.0;
        // Byte-milliseconds to kilobyte-seconds.
        let kilobyte_seconds = usage.stored_byte_ms as f64 / 1_000_000.0;
        let compute = instance_seconds * prices.instance_second;
        let storage = kilobyte_seconds * prices.kilobyte_second;
        let retries = usage.retries as f64 * prices.retry;
        let dedup = usage.dedup_entries as f64 * prices.dedup_entry;
        Self {
            compute,
            storage,
            retries,
            dedup,
            total: compute + storage + retries + dedup,
            instance_seconds,
            kilobyte_seconds,
            retries_sent: usage.retries,
            dedup_entries: usage.dedup_entries,
            effects: usage.effects,
            throughput_per_sec: if now == 0 {
                0.0
            } else {
                usage.effects as f64 * 1_000.0 / now as f64
            },
            consumers: usage
                .consumers
                .iter()
                .map(|c| ConsumerLine {
                    name: name(c.consumer),
                    peak_instances: c.peak_instances,
                    retries: c.retries,
                    latency_p50_ms: c.latency_p50_ms,
                    latency_p99_ms: c.latency_p99_ms,
                })
                .collect(),
        }
    }

    fn consumer(&self, consumer: Option<ConsumerId>) -> Option<&ConsumerLine> {
        consumer.and_then(|c| self.consumers.get(c.0 as usize))
    }
}

/// How a goal on the bill stands.
pub(crate) enum BillCheck {
    Met,
    Broken(String),
    Pending(Option<String>),
}

/// Checks a goal on the bill; `None` for a goal of another kind. What only grows (cost,
/// storage, retries, peak instances) breaks as soon as it passes its bound; latency is
/// decided at the end.
pub(crate) fn check(
    goal: &Goal,
    consumer: Option<ConsumerId>,
    bill: &Bill,
    finished: bool,
) -> Option<BillCheck> {
    let bounded = |now: f64, max: f64, what: &str, shown: String| {
        if now > max {
            BillCheck::Broken(format!("{what} reached {shown}, over the goal's {max}"))
        } else if finished {
            BillCheck::Met
        } else {
            BillCheck::Pending(Some(format!("{what} {shown} so far")))
        }
    };
    Some(match goal {
        Goal::MaxCost { max } => bounded(
            bill.total,
            *max,
            "the bill",
            format!("{:.1} credits", bill.total),
        ),
        Goal::MaxStorage { max } => bounded(
            bill.kilobyte_seconds,
            *max,
            "storage",
            format!("{:.0} kilobyte-seconds", bill.kilobyte_seconds),
        ),
        Goal::MaxRetries { max, .. } => {
            let sent = match consumer {
                Some(_) => bill.consumer(consumer).map_or(0, |c| c.retries),
                None => bill.retries_sent,
            };
            bounded(sent as f64, *max as f64, "retries", sent.to_string())
        }
        Goal::MaxInstances { max, .. } => {
            let peak = bill.consumer(consumer).map_or(0, |c| c.peak_instances);
            bounded(
                f64::from(peak),
                f64::from(*max),
                "instances at once",
                peak.to_string(),
            )
        }
        Goal::LatencyP99 { ms, .. } => {
            let p99 = bill.consumer(consumer).and_then(|c| c.latency_p99_ms);
            match (p99, finished) {
                (None, false) => BillCheck::Pending(None),
                (Some(p99), false) => BillCheck::Pending(Some(format!("p99 {p99} ms so far"))),
                (None, true) => BillCheck::Broken("no effect was applied at all".to_owned()),
                (Some(p99), true) if p99 > *ms => {
                    BillCheck::Broken(format!("p99 latency is {p99} ms, over the goal's {ms} ms"))
                }
                (Some(_), true) => BillCheck::Met,
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ConsumerUsage;

    #[test]
    fn prices_usage_into_credits() {
        let usage = Usage {
            instance_ms: 20_000,
            // 100 KB held for a second.
            stored_byte_ms: 100_000_000,
            stored_messages: 3,
            stored_bytes: 600,
            retries: 7,
            dedup_entries: 40,
            effects: 100,
            consumers: vec![ConsumerUsage {
                consumer: ConsumerId(0),
                peak_instances: 2,
                retries: 7,
                effects: 100,
                latency_p50_ms: Some(20),
                latency_p99_ms: Some(90),
            }],
        };
        let bill = Bill::from_usage(&usage, 10_000, &Prices::default(), |_| "billing".into());
        assert_eq!(bill.compute, 20.0);
        assert!((bill.storage - 8.0).abs() < 1e-9);
        assert!((bill.retries - 0.7).abs() < 1e-9);
        assert!((bill.dedup - 0.4).abs() < 1e-9);
        assert!((bill.total - 29.1).abs() < 1e-9);
        assert_eq!(bill.throughput_per_sec, 10.0);
        assert_eq!(bill.consumers[0].name, "billing");
        let goal = Goal::MaxCost { max: 25.0 };
        assert!(matches!(
            check(&goal, None, &bill, false),
            Some(BillCheck::Broken(reason)) if reason == "the bill reached 29.1 credits, over the goal's 25"
        ));
        let latency = Goal::LatencyP99 {
            consumer: "billing".into(),
            ms: 100,
        };
        assert!(matches!(
            check(&latency, Some(ConsumerId(0)), &bill, true),
            Some(BillCheck::Met)
        ));
    }
}
