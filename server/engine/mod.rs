//! The broker engine: a deterministic simulation of topics, queues and streams, the
//! services around them and the network between.
//!
//! It is a pure state machine in the sans-IO style: no clock, no threads, no I/O and no
//! randomness but one seeded generator. A driver passes virtual time in through
//! [`World::apply`] and [`World::advance_to`], asks [`World::next_deadline`] when to come
//! back, and drains the trace. One seed and one timed command log always give one run,
//! event for event, which is what pause, step, rewind and checks across many seeds rely on.
//!
//! # Layout
//! - `world`: the [`World`] and its driving API; the event loop.
//! - `build`, `validate`, `validate_evolution`: a world from a [`Scenario`], refusing bad values by field.
//! - `scenario`, `design`, `command`: the serde data a scenario and a driver speak.
//! - `channel`: routing a publish; `queue`: queues, topic subscriptions, acks, deadlines,
//!   retries and dead letters; `stream`: partitioned logs and consumer groups.
//! - `producer`: scheduled, dual-write, outbox and request-reply publishing.
//! - `consumer`: instances and one message's way from arrival to ack; `instances`: crashes,
//!   restarts and scaling; `follow_ups`: the events and replies a consumer publishes in turn; `business`: effects,
//!   idempotency, ordering and the anomalies they cause; `dedup`: the idempotency store and its expiry.
//! - `network`: latency, jitter, loss, duplication and cuts per service link.
//! - `commands`: faults and console actions; `observe`: topology, metrics, report;
//!   `rates`: per-second rates over a rolling virtual window; `usage`: what a run uses, for its bill;
//!   `routing`: topic routing keys and subscription filters (AMQP topic semantics).
//! - `alerts`: alert rules on a consumer's metric, checked on the virtual clock, firing and resolving
//!   in the trace.
//! - `registry`: a channel's schema registry and its compatibility modes; `releases`: producers and
//!   consumers that change during the run, and the producer's pipeline that checks contracts.
//! - `scheduler`, `rng`, `ids`, `message`, `trace`, `error`: the building blocks.
pub mod alerts;
mod build;
mod business;
mod channel;
pub mod command;
mod commands;
mod consumer;
mod dedup;
pub mod design;
mod error;
mod follow_ups;
pub mod ids;
mod instances;
pub mod message;
mod network;
mod observe;
mod producer;
mod queue;
mod rates;
pub mod registry;
pub mod releases;
mod rng;
pub mod routing;
pub mod scenario;
mod scheduler;
mod stream;
pub mod trace;
mod usage;
mod validate;
mod validate_evolution;
mod world;

pub use alerts::{ALERT_CHECK_INTERVAL_MS, AlertMetric, AlertSpec};
pub use business::MAX_HELD_PER_KEY;
pub use command::{Command, SettleOutcome};
pub use commands::CONSOLE;
pub use consumer::{InstanceStatus, MAX_INSTANCE_BUFFER, MAX_INSTANCES};
pub use design::{AckMode, Design, Idempotency, OrderingStrategy, RetryPolicy};
pub use error::{CommandError, ScenarioError};
pub use ids::{ChannelId, ConsumerId, CorrelationId, MessageId, Millis, ProducerId, QueueId};
pub use message::{ENVELOPE_BYTES, Message, Payload, Publisher};
pub use observe::{
    BusinessSummary, ChannelView, ConsumerMetrics, ConsumerReport, ConsumerView, DeadLetterView,
    GroupMetrics, InstanceMetrics, Metrics, ProducerMetrics, ProducerView, QueueMetrics, QueueView,
    StreamMetrics, Topology, consumer_lag,
};
pub use producer::{
    MAX_OUTBOX_ENTRIES, MAX_PENDING_REQUESTS, MAX_TRACKED_ORDERS, OUTBOX_RESEND_AFTER_MS,
};
pub use queue::{MAX_DEAD_LETTERS, MAX_QUEUE_DEPTH};
pub use rates::RATE_WINDOW_MS;
pub use registry::{Compatibility, EventSchema, RegistrySpec};
pub use releases::{ConsumerRelease, ContractSpec, MAX_PIPELINE_PROBLEMS, ProducerRelease};
pub use scenario::{LinkConditions, Scenario};
pub use stream::partition_for_key;
pub use trace::{DeadLetterReason, DropReason, FailureReason, TraceEvent, TraceKind};
pub use usage::{ConsumerUsage, RECENT_LATENCIES, RECENT_LATENCY_WINDOW_MS, Usage};
pub use validate::{
    MAX_ALERTS, MAX_ATTEMPTS, MAX_CHANNELS, MAX_CONSUMERS, MAX_DURATION_MS, MAX_FAULTS,
    MAX_MESSAGES_PER_PRODUCER, MAX_NAME_LEN, MAX_PARTITIONS, MAX_PREFETCH, MAX_PRODUCERS,
    MAX_RATE_PER_SEC, MAX_RETENTION, MAX_SLOW_FACTOR,
};
pub use validate_evolution::{MAX_CONTRACTS, MAX_RELEASES, MAX_SCHEMAS};
pub use world::{DEFAULT_MESSAGE_CAP, MAX_SCHEDULED_EVENTS, MAX_UNDRAINED_TRACE_EVENTS, World};
