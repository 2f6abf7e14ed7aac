//! `eda-playground bench`: how fast the engine runs, next to a plain tokio channel on the
//! same machine so that numbers from noisy machines can be compared as ratios.
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::workloads::{self, Workload};
use crate::engine::World;

/// Messages published by each throughput workload unless `--messages` says otherwise.
const THROUGHPUT_MESSAGES: u64 = 200_000;
/// Runs of the workshop-sized exercise, to average out its few milliseconds.
const EXERCISE_RUNS: u64 = 50;
/// Messages moved through the baseline channel.
const BASELINE_MESSAGES: u64 = 2_000_000;
/// How often the trace is drained while a workload runs, in virtual milliseconds.
const DRAIN_EVERY_MS: u64 = 1_000;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Messages each throughput workload publishes.
    #[arg(long, default_value_t = THROUGHPUT_MESSAGES, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub messages: u64,
}

#[derive(Debug, Serialize)]
struct Line {
    name: &'static str,
    deliveries_per_sec: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    deliveries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ms_per_run: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_per_queued_message: Option<f64>,
}

impl Line {
    fn rate(name: &'static str, deliveries: u64, elapsed: Duration) -> Self {
        Self {
            name,
            deliveries_per_sec: deliveries as f64 / elapsed.as_secs_f64().max(1e-9),
            deliveries: Some(deliveries),
            trace_events: None,
            ms_per_run: None,
            bytes_per_queued_message: None,
        }
    }
}

/// Runs a workload to the end with the trace recorded (and dropped in chunks, as a
/// driver would hand it on), and returns (deliveries, trace events, elapsed).
pub fn run_workload(workload: &Workload, seed: u64) -> (u64, u64, Duration) {
    let started = Instant::now();
    let Ok(mut world) = World::new(&workload.scenario, seed) else {
        return (0, 0, started.elapsed());
    };
    let mut events = 0u64;
    while let Some(next) = world.next_deadline() {
        world.advance_to(next + DRAIN_EVERY_MS);
        events += world.drain_trace().len() as u64;
    }
    (world.deliveries(), events, started.elapsed())
}

pub fn bench(args: BenchArgs) -> ExitCode {
    let mut lines = Vec::new();
    for workload in workloads::throughput(args.messages) {
        let (deliveries, events, elapsed) = run_workload(&workload, 1);
        let mut line = Line::rate(workload.name, deliveries, elapsed);
        line.trace_events = Some(events);
        lines.push(line);
    }
    let exercise = workloads::exercise_minute();
    let started = Instant::now();
    let mut deliveries = 0;
    for seed in 0..EXERCISE_RUNS {
        deliveries += run_workload(&exercise, seed).0;
    }
    let elapsed = started.elapsed();
    let mut line = Line::rate(exercise.name, deliveries, elapsed);
    line.ms_per_run = Some(elapsed.as_secs_f64() * 1_000.0 / EXERCISE_RUNS as f64);
    lines.push(line);
    lines.push(memory_line(args.messages));
    lines.push(baseline_mpsc());
    for line in &lines {
        if args.json {
            match serde_json::to_string(line) {
                Ok(text) => println!("{text}"),
                Err(_) => return ExitCode::FAILURE,
            }
        } else {
            let extra = match (line.ms_per_run, line.bytes_per_queued_message) {
                (Some(ms), _) => format!("  ({ms:.2} ms per run)"),
                (_, Some(bytes)) => format!("  ({bytes:.0} bytes per queued message)"),
                _ => String::new(),
            };
            println!(
                "{:<32} {:>14.0} deliveries/s{extra}",
                line.name, line.deliveries_per_sec
            );
        }
    }
    ExitCode::SUCCESS
}

/// Memory per queued message: the growth of the resident set while a queue without
/// consumers fills up, divided by the messages it holds.
fn memory_line(messages: u64) -> Line {
    let scenario = workloads::queue_4_consumers(messages).scenario;
    let mut idle = scenario.clone();
    idle.consumers.clear();
    idle.channels[0].kind = crate::engine::scenario::ChannelKind::Queue;
    let before = resident_bytes();
    let bytes = World::new(&idle, 1).ok().map(|mut world| {
        while let Some(next) = world.next_deadline() {
            world.advance_to(next + DRAIN_EVERY_MS);
            world.discard_trace();
        }
        let held = world.metrics().queues.first().map_or(0, |q| q.ready) as f64;
        let after = resident_bytes();
        drop(world);
        after.saturating_sub(before) as f64 / held.max(1.0)
    });
    Line {
        name: "memory_per_queued_message",
        deliveries_per_sec: 0.0,
        deliveries: None,
        trace_events: None,
        ms_per_run: None,
        bytes_per_queued_message: bytes,
    }
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// A plain tokio mpsc channel between two tasks, for scale.
fn baseline_mpsc() -> Line {
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(_) => return Line::rate("baseline_mpsc", 0, Duration::from_secs(1)),
    };
    let elapsed = runtime.block_on(async {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<u64>(1024);
        let started = Instant::now();
        let producer = tokio::spawn(async move {
            for n in 0..BASELINE_MESSAGES {
                if sender.send(n).await.is_err() {
                    break;
                }
            }
        });
        let mut received = 0u64;
        while receiver.recv().await.is_some() {
            received += 1;
        }
        let _ = producer.await;
        debug_assert_eq!(received, BASELINE_MESSAGES);
        started.elapsed()
    });
    Line::rate("baseline_mpsc", BASELINE_MESSAGES, elapsed)
}
