//! A sandbox's metrics as a Prometheus or OpenMetrics scrape: what the page's Ops tab and bill show, in
//! the form a real Prometheus or Grafana reads (`GET /api/sandboxes/{id}/metrics`).
//!
//! Every sample carries `exercise` and `sandbox` labels, so one Prometheus can scrape several sandboxes;
//! queues, consumers, producers and channels are labelled by their names in the exercise. Times are in
//! seconds of virtual time, as Prometheus names want base units.
use crate::engine::{InstanceStatus, Metrics, Millis, Topology};
use crate::exercise::bill::Bill;

use super::SandboxId;
use super::metrics_text::{Exposition, Kind, MetricsFormat};
use super::run::Run;

/// The scrape of `run`, the sandbox `id`, in `format`.
pub fn render(run: &Run, id: SandboxId, format: MetricsFormat) -> String {
    let world = run.world();
    let sandbox = id.to_string();
    let scrape = Scrape {
        exercise: &run.exercise().id,
        sandbox: &sandbox,
        topology: &world.topology(),
        metrics: &world.metrics(),
        bill: &run.bill(),
    };
    let mut out = Exposition::new(format);
    scrape.run(&mut out, run.now());
    scrape.queues(&mut out);
    scrape.producers(&mut out);
    scrape.consumers(&mut out);
    scrape.alerts(&mut out);
    scrape.streams(&mut out);
    scrape.bill(&mut out);
    out.finish()
}

struct Scrape<'a> {
    exercise: &'a str,
    sandbox: &'a str,
    topology: &'a Topology,
    metrics: &'a Metrics,
    bill: &'a Bill,
}

fn seconds(ms: Millis) -> f64 {
    ms as f64 / 1_000.0
}

impl Scrape<'_> {
    /// The labels every sample has, then `more`.
    fn labels<'b>(&'b self, more: &[(&'b str, &'b str)]) -> Vec<(&'b str, &'b str)> {
        let mut labels = vec![("exercise", self.exercise), ("sandbox", self.sandbox)];
        labels.extend_from_slice(more);
        labels
    }

    fn channel_name(&self, index: usize) -> &str {
        self.topology
            .channels
            .get(index)
            .map_or("", |c| c.name.as_str())
    }

    fn run(&self, out: &mut Exposition, now: Millis) {
        out.family(
            "eda_virtual_time_seconds",
            Kind::Gauge,
            "Virtual time of the run, in seconds since it started.",
        );
        out.sample(&self.labels(&[]), seconds(now));
        out.family(
            "eda_broker_up",
            Kind::Gauge,
            "1 while the broker is up, 0 while it is down.",
        );
        out.sample(
            &self.labels(&[]),
            f64::from(u8::from(self.metrics.broker_up)),
        );
    }

    fn queues(&self, out: &mut Exposition) {
        type Read = fn(&crate::engine::QueueMetrics) -> f64;
        let families: [(&'static str, Kind, &str, Read); 10] = [
            (
                "eda_queue_ready_messages",
                Kind::Gauge,
                "Messages waiting in the queue for a consumer.",
                |q| q.ready as f64,
            ),
            (
                "eda_queue_in_flight_messages",
                Kind::Gauge,
                "Messages delivered and not yet acknowledged.",
                |q| q.in_flight as f64,
            ),
            (
                "eda_queue_dead_letters",
                Kind::Gauge,
                "Messages held in the queue's dead-letter queue.",
                |q| q.dead_letters as f64,
            ),
            (
                "eda_queue_enqueued",
                Kind::Counter,
                "Messages the queue has taken in.",
                |q| q.enqueued as f64,
            ),
            (
                "eda_queue_delivered",
                Kind::Counter,
                "Deliveries the queue has made, redeliveries included.",
                |q| q.delivered as f64,
            ),
            (
                "eda_queue_acked",
                Kind::Counter,
                "Deliveries acknowledged.",
                |q| q.acked as f64,
            ),
            (
                "eda_queue_redelivered",
                Kind::Counter,
                "Deliveries made again after a nack, a timeout or a crash.",
                |q| q.redelivered as f64,
            ),
            (
                "eda_queue_retries",
                Kind::Counter,
                "Retries the consumer's policy scheduled.",
                |q| q.retries as f64,
            ),
            (
                "eda_queue_dead_lettered",
                Kind::Counter,
                "Messages moved to the dead-letter queue.",
                |q| q.dead_lettered as f64,
            ),
            (
                "eda_queue_dropped",
                Kind::Counter,
                "Messages the queue dropped (full, expired).",
                |q| q.dropped as f64,
            ),
        ];
        for (name, kind, help, read) in families {
            out.family(name, kind, help);
            for q in &self.metrics.queues {
                let Some(view) = self.topology.queues.get(usize::from(q.queue.0)) else {
                    continue;
                };
                let channel = self.channel_name(usize::from(view.channel.0));
                out.sample(
                    &self.labels(&[("queue", &view.name), ("channel", channel)]),
                    read(q),
                );
            }
        }
    }

    fn producers(&self, out: &mut Exposition) {
        type Read = fn(&crate::engine::ProducerMetrics) -> f64;
        let families: [(&'static str, Kind, &str, Read); 2] = [
            (
                "eda_producer_produced",
                Kind::Counter,
                "Messages the producer published.",
                |p| p.produced as f64,
            ),
            (
                "eda_producer_publish_failed",
                Kind::Counter,
                "Publishes the broker refused or never received.",
                |p| p.publish_failed as f64,
            ),
        ];
        for (name, kind, help, read) in families {
            out.family(name, kind, help);
            for p in &self.metrics.producers {
                let Some(view) = self.topology.producers.get(usize::from(p.producer.0)) else {
                    continue;
                };
                let channel = self.channel_name(usize::from(view.channel.0));
                out.sample(
                    &self.labels(&[("producer", &view.name), ("channel", channel)]),
                    read(p),
                );
            }
        }
    }

    /// The scenario's alert rules, as Prometheus' own `ALERTS` series names them: one sample per rule,
    /// 1 while it fires. A Grafana panel of it shows what the page's timeline shows.
    fn alerts(&self, out: &mut Exposition) {
        if self.metrics.alerts.is_empty() {
            return;
        }
        out.family(
            "eda_alert_firing",
            Kind::Gauge,
            "1 while the alert rule fires, 0 otherwise.",
        );
        for alert in &self.metrics.alerts {
            let consumer = self
                .topology
                .consumers
                .get(usize::from(alert.consumer.0))
                .map_or("", |c| c.name.as_str());
            let metric = serde_json::to_value(alert.metric)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.sample(
                &self.labels(&[
                    ("alert", &alert.alert),
                    ("consumer", consumer),
                    ("metric", &metric),
                ]),
                f64::from(u8::from(alert.firing)),
            );
        }
    }

    fn consumers(&self, out: &mut Exposition) {
        type Read = fn(&crate::engine::ConsumerMetrics) -> f64;
        let families: [(&'static str, Kind, &str, Read); 12] = [
            (
                "eda_consumer_instances_up",
                Kind::Gauge,
                "Instances of the consumer that are up.",
                |c| {
                    c.instances
                        .iter()
                        .filter(|i| i.status == InstanceStatus::Up)
                        .count() as f64
                },
            ),
            (
                "eda_consumer_received",
                Kind::Counter,
                "Messages that reached an instance.",
                |c| c.received as f64,
            ),
            (
                "eda_consumer_succeeded",
                Kind::Counter,
                "Messages processed successfully.",
                |c| c.succeeded as f64,
            ),
            (
                "eda_consumer_failed",
                Kind::Counter,
                "Processing attempts that failed.",
                |c| c.failed as f64,
            ),
            (
                "eda_consumer_crashes",
                Kind::Counter,
                "Instance crashes.",
                |c| c.crashes as f64,
            ),
            (
                "eda_consumer_effects_applied",
                Kind::Counter,
                "Side effects applied (an order paid, a row written).",
                |c| c.business.applied as f64,
            ),
            (
                "eda_consumer_duplicate_effects",
                Kind::Counter,
                "Side effects that must happen once and happened again.",
                |c| c.business.duplicate_effects as f64,
            ),
            (
                "eda_consumer_duplicates_skipped",
                Kind::Counter,
                "Duplicates idempotency recognised and skipped.",
                |c| c.business.duplicates_skipped as f64,
            ),
            (
                "eda_consumer_out_of_order",
                Kind::Counter,
                "Events that arrived after a newer event of the same key.",
                |c| c.business.out_of_order as f64,
            ),
            (
                "eda_consumer_stale_overwrites",
                Kind::Counter,
                "Older values written over newer ones.",
                |c| c.business.stale_overwrites as f64,
            ),
            (
                "eda_consumer_lost",
                Kind::Counter,
                "Messages lost on their way to the consumer, or records it never read.",
                |c| c.business.lost as f64,
            ),
            (
                "eda_consumer_held_back",
                Kind::Gauge,
                "Early events the resequencer holds.",
                |c| c.business.held_back as f64,
            ),
        ];
        for (name, kind, help, read) in families {
            out.family(name, kind, help);
            for c in &self.metrics.consumers {
                let Some(view) = self.topology.consumers.get(usize::from(c.consumer.0)) else {
                    continue;
                };
                let channel = self.channel_name(usize::from(view.channel.0));
                out.sample(
                    &self.labels(&[("consumer", &view.name), ("channel", channel)]),
                    read(c),
                );
            }
        }
    }

    /// Each stream group's lag per partition: records appended and not yet committed.
    fn streams(&self, out: &mut Exposition) {
        out.family(
            "eda_stream_group_lag_records",
            Kind::Gauge,
            "Records appended to the partition and not yet committed by the consumer group.",
        );
        for stream in &self.metrics.streams {
            let channel = self.channel_name(usize::from(stream.channel.0));
            for group in &stream.groups {
                let Some(view) = self.topology.consumers.get(usize::from(group.consumer.0)) else {
                    continue;
                };
                for (partition, lag) in group.lag.iter().enumerate() {
                    let partition = partition.to_string();
                    out.sample(
                        &self.labels(&[
                            ("consumer", &view.name),
                            ("channel", channel),
                            ("partition", &partition),
                        ]),
                        *lag as f64,
                    );
                }
            }
        }
    }

    /// The bill's credits per line, what it counts, and each consumer's latency and peak instances.
    fn bill(&self, out: &mut Exposition) {
        let bill = self.bill;
        out.family(
            "eda_bill_credits",
            Kind::Gauge,
            "The run's bill so far at the exercise's prices, per line and in total.",
        );
        for (line, credits) in [
            ("compute", bill.compute),
            ("storage", bill.storage),
            ("retries", bill.retries),
            ("dedup", bill.dedup),
            ("total", bill.total),
        ] {
            out.sample(&self.labels(&[("line", line)]), credits);
        }
        let totals: [(&'static str, Kind, &str, f64); 4] = [
            (
                "eda_instance_seconds",
                Kind::Counter,
                "Instance-seconds of virtual time paid for.",
                bill.instance_seconds,
            ),
            (
                "eda_stored_byte_seconds",
                Kind::Counter,
                "Bytes the broker held (dead letters and stream records included) times seconds held.",
                bill.kilobyte_seconds * 1_000.0,
            ),
            (
                "eda_retries_sent",
                Kind::Counter,
                "Deliveries made again, as billed.",
                bill.retries_sent as f64,
            ),
            (
                "eda_dedup_entries",
                Kind::Gauge,
                "Entries idempotent consumers remember.",
                bill.dedup_entries as f64,
            ),
        ];
        for (name, kind, help, value) in totals {
            out.family(name, kind, help);
            out.sample(&self.labels(&[]), value);
        }
        type Read = fn(&crate::exercise::bill::ConsumerLine) -> Option<f64>;
        let lines: [(&'static str, &str, Read); 3] = [
            (
                "eda_consumer_latency_p50_seconds",
                "Median time from first publication to effect (bucket upper bound).",
                |l| l.latency_p50_ms.map(seconds),
            ),
            (
                "eda_consumer_latency_p99_seconds",
                "99th percentile of the time from first publication to effect (bucket upper bound).",
                |l| l.latency_p99_ms.map(seconds),
            ),
            (
                "eda_consumer_peak_instances",
                "Most instances the consumer ran at once.",
                |l| Some(f64::from(l.peak_instances)),
            ),
        ];
        for (name, help, read) in lines {
            out.family(name, Kind::Gauge, help);
            for line in &bill.consumers {
                // No sample before the first effect: absent, as Prometheus expects of an unknown value.
                if let Some(value) = read(line) {
                    out.sample(&self.labels(&[("consumer", &line.name)]), value);
                }
            }
        }
    }
}
