//! Alert rules: one metric of one consumer, watched on the virtual clock. A rule fires when its metric
//! has stayed above its threshold for `for_ms` (Prometheus' `for:`), and resolves when the metric drops
//! back. Both go in the trace, so the page draws them, goals judge them and every run of a seed fires the
//! same alerts at the same instants.
//!
//! Rules are checked every [`ALERT_CHECK_INTERVAL_MS`] of virtual time, as a scraper would sample, and
//! only while the scenario has an enabled rule: a world without one schedules nothing extra.
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ids::{ConsumerId, MessageId, Millis};
use super::observe::{Metrics, Topology, consumer_lag};
use super::trace::TraceKind;
use super::world::{Pending, World};

/// How often the rules are evaluated, in virtual milliseconds: a scrape interval.
pub const ALERT_CHECK_INTERVAL_MS: Millis = 250;

/// Messages named in a fired alert: the oldest waiting for the consumer, to open from the alert.
pub const ALERT_EXAMPLE_MESSAGES: usize = 3;

/// A rule as the scenario (or a knob) sets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertSpec {
    /// Unique among the scenario's alerts; knobs name the rule by it (`alert = "..."`).
    pub name: String,
    /// What is watched.
    pub metric: AlertMetric,
    /// The consumer whose metric it is.
    pub consumer: String,
    /// The rule fires when the metric is above this.
    pub above: f64,
    /// ...and has been for this long (0: at the first sample above).
    #[serde(default)]
    pub for_ms: Millis,
    /// A rule switched off is not evaluated (a knob can switch it on).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// The metrics an alert can watch, each of one consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    /// Messages waiting for it: its queue's ready, in-flight and retrying messages, or its stream
    /// group's lag.
    Lag,
    /// Messages in its dead-letter queue.
    DeadLetters,
    /// Retries per second on its queue.
    RetryRate,
    /// Failed attempts per second.
    ErrorRate,
    /// How long the oldest message waiting in its queue has waited since it was first published, in
    /// milliseconds (0 when none waits, and for a stream group).
    OldestAgeMs,
    /// A business counter: orders the producers have committed to that it has not applied or declined
    /// yet. Meant for a consumer every order reaches, directly or through the services before it.
    OrdersWaiting,
    /// The p99 of its end-to-end latencies (first publication to effect) over the last 10 s of virtual
    /// time, in milliseconds; 0 when it applied nothing in that window.
    LatencyP99Ms,
}

impl AlertMetric {
    /// How the page and the goals name it: "lag", "dead letters".
    pub fn label(self) -> &'static str {
        match self {
            Self::Lag => "lag",
            Self::DeadLetters => "dead letters",
            Self::RetryRate => "retries per second",
            Self::ErrorRate => "failures per second",
            Self::OldestAgeMs => "age of the oldest waiting message (ms)",
            Self::OrdersWaiting => "orders waiting",
            Self::LatencyP99Ms => "recent p99 latency (ms)",
        }
    }
}

/// A rule and its state, in the metrics: the page draws the rule on its consumer, red while it fires.
#[derive(Debug, Clone, Serialize)]
pub struct AlertMetrics {
    pub alert: Arc<str>,
    pub consumer: ConsumerId,
    pub metric: AlertMetric,
    pub above: f64,
    pub for_ms: Millis,
    pub firing: bool,
}

/// A rule's state in a running world.
#[derive(Debug, Clone)]
pub(crate) struct AlertState {
    pub spec: AlertSpec,
    pub name: Arc<str>,
    pub consumer: ConsumerId,
    /// Since when the metric has been above the threshold, while it is.
    pub above_since: Option<Millis>,
    pub firing: bool,
}

impl World {
    /// The rules of `specs` whose consumer exists (validation has named the others), and the first check.
    pub(crate) fn start_alerts(&mut self, specs: &[AlertSpec]) {
        self.alerts = specs
            .iter()
            .filter(|spec| spec.enabled)
            .filter_map(|spec| {
                let consumer = self
                    .consumers
                    .iter()
                    .position(|c| c.spec.name == spec.consumer)?;
                Some(AlertState {
                    spec: spec.clone(),
                    name: Arc::from(spec.name.as_str()),
                    consumer: ConsumerId(consumer as u16),
                    above_since: None,
                    firing: false,
                })
            })
            .collect();
        if !self.alerts.is_empty() {
            self.schedule(ALERT_CHECK_INTERVAL_MS, Pending::AlertCheck);
        }
    }

    pub(crate) fn alert_metrics(&self) -> Vec<AlertMetrics> {
        self.alerts
            .iter()
            .map(|a| AlertMetrics {
                alert: a.name.clone(),
                consumer: a.consumer,
                metric: a.spec.metric,
                above: a.spec.above,
                for_ms: a.spec.for_ms,
                firing: a.firing,
            })
            .collect()
    }

    /// One scrape: every rule sees the metrics of this instant.
    pub(crate) fn check_alerts(&mut self) {
        let metrics = self.metrics();
        let topology = self.topology();
        let now = self.now;
        let values: Vec<f64> = self
            .alerts
            .iter()
            .map(|a| match a.spec.metric {
                AlertMetric::OldestAgeMs => self.oldest_age(a.consumer) as f64,
                AlertMetric::OrdersWaiting => self.orders_waiting(a.consumer) as f64,
                AlertMetric::LatencyP99Ms => self.recent_p99(a.consumer) as f64,
                metric => value_of(metric, a.consumer, &metrics, &topology),
            })
            .collect();
        let mut events = Vec::new();
        for (alert, value) in self.alerts.iter_mut().zip(values) {
            if value > alert.spec.above {
                let since = *alert.above_since.get_or_insert(now);
                if !alert.firing && now - since >= alert.spec.for_ms {
                    alert.firing = true;
                    events.push((
                        alert.name.clone(),
                        alert.consumer,
                        alert.spec.metric,
                        value,
                        true,
                    ));
                }
            } else {
                alert.above_since = None;
                if alert.firing {
                    alert.firing = false;
                    events.push((
                        alert.name.clone(),
                        alert.consumer,
                        alert.spec.metric,
                        value,
                        false,
                    ));
                }
            }
        }
        for (alert, consumer, metric, value, fired) in events {
            let kind = if fired {
                TraceKind::AlertFired {
                    alert,
                    consumer,
                    metric,
                    value,
                    messages: self.oldest_waiting(consumer),
                }
            } else {
                TraceKind::AlertResolved {
                    alert,
                    consumer,
                    metric,
                    value,
                }
            };
            self.record(kind);
        }
        self.schedule(ALERT_CHECK_INTERVAL_MS, Pending::AlertCheck);
    }

    /// How long the oldest ready message of the consumer's queue has waited since it was published.
    fn oldest_age(&self, consumer: ConsumerId) -> Millis {
        let super::consumer::Source::Queue(queue) = &self.consumers[consumer.0 as usize].source
        else {
            return 0;
        };
        self.queues[queue.0 as usize]
            .ready
            .iter()
            .map(|envelope| self.now.saturating_sub(envelope.message.produced_at))
            .max()
            .unwrap_or(0)
    }

    /// Orders the scenario's producers committed to (the console's messages are not orders) that the
    /// consumer has not applied or declined yet.
    fn orders_waiting(&self, consumer: ConsumerId) -> u64 {
        let committed: usize = self
            .producers
            .iter()
            .filter(|p| *p.name != *super::commands::CONSOLE)
            .map(|p| p.orders.len())
            .sum();
        let business = &self.consumers[consumer.0 as usize].business;
        let handled = business.applied.saturating_sub(business.duplicate_effects)
            + business.declined.len() as u64;
        (committed as u64).saturating_sub(handled)
    }

    /// The oldest messages waiting in the consumer's queue: the ones in trouble when an alert fires.
    fn oldest_waiting(&self, consumer: ConsumerId) -> Vec<MessageId> {
        let super::consumer::Source::Queue(queue) = &self.consumers[consumer.0 as usize].source
        else {
            return Vec::new();
        };
        self.queues[queue.0 as usize]
            .ready
            .iter()
            .take(ALERT_EXAMPLE_MESSAGES)
            .map(|envelope| envelope.message.id)
            .collect()
    }
}

fn value_of(
    metric: AlertMetric,
    consumer: ConsumerId,
    metrics: &Metrics,
    topology: &Topology,
) -> f64 {
    let view = &topology.consumers[consumer.0 as usize];
    let queue = || metrics.queues.get(view.dead_letters.0 as usize);
    match metric {
        AlertMetric::Lag => consumer_lag(topology, metrics, consumer) as f64,
        AlertMetric::DeadLetters => queue().map_or(0.0, |q| q.dead_letters as f64),
        AlertMetric::RetryRate => queue().map_or(0.0, |q| q.retries_per_sec),
        AlertMetric::ErrorRate => metrics
            .consumers
            .get(consumer.0 as usize)
            .map_or(0.0, |c| c.failed_per_sec),
        // Read from the world itself, in `check_alerts`.
        AlertMetric::OldestAgeMs | AlertMetric::OrdersWaiting | AlertMetric::LatencyP99Ms => 0.0,
    }
}
