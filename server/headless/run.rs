//! `eda-playground run FILE --seed N`: a scenario, headless, at full speed.
use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use crate::engine::{Millis, World};

/// Trace events kept between two writes to standard output.
const TRACE_CHUNK_MS: Millis = 1_000;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A scenario file (TOML, or JSON with a .json extension).
    pub file: std::path::PathBuf,
    /// The seed of every random choice in the run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How much virtual time to run: 60s, 500ms, 2m.
    #[arg(long, default_value = "60s", value_parser = super::parse_duration)]
    pub until: Millis,
    /// Print the trace as JSON lines instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: RunArgs) -> ExitCode {
    let scenario = match super::load_scenario(&args.file) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut world = match World::new(&scenario, args.seed) {
        Ok(world) => world,
        Err(error) => {
            eprintln!("error: {}: {error}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let started = std::time::Instant::now();
    let mut at = 0;
    while at < args.until {
        at = (at + TRACE_CHUNK_MS).min(args.until);
        world.advance_to(at);
        if args.json {
            for event in world.drain_trace() {
                if serde_json::to_writer(&mut out, &event).is_err() || out.write_all(b"\n").is_err()
                {
                    return ExitCode::FAILURE;
                }
            }
        } else {
            world.discard_trace();
        }
    }
    let elapsed = started.elapsed();
    if !args.json {
        let _ = write_summary(&mut out, &world, elapsed);
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

fn write_summary(
    out: &mut impl Write,
    world: &World,
    elapsed: std::time::Duration,
) -> std::io::Result<()> {
    let topology = world.topology();
    let metrics = world.metrics();
    writeln!(
        out,
        "seed {} · {} ms of virtual time in {:.2} ms · {} deliveries",
        world.seed(),
        world.now(),
        elapsed.as_secs_f64() * 1_000.0,
        world.deliveries()
    )?;
    writeln!(out, "\nqueues")?;
    for (view, queue) in topology.queues.iter().zip(&metrics.queues) {
        writeln!(
            out,
            "  {:<32} enqueued {:>6}  acked {:>6}  redelivered {:>5}  ready {:>5}  in flight {:>4}  dead letters {:>4}",
            view.name,
            queue.enqueued,
            queue.acked,
            queue.redelivered,
            queue.ready,
            queue.in_flight,
            queue.dead_letters
        )?;
    }
    writeln!(out, "\nproducers")?;
    for (view, producer) in topology.producers.iter().zip(&metrics.producers) {
        if producer.produced == 0 && view.name == crate::engine::CONSOLE {
            continue;
        }
        writeln!(
            out,
            "  {:<16} produced {:>6}  publish failed {:>4}  outbox pending {:>4}  replies {:>4}  timeouts {:>4}",
            view.name,
            producer.produced,
            producer.publish_failed,
            producer.outbox_pending,
            producer.replies,
            producer.timeouts
        )?;
    }
    writeln!(out, "\nconsumers")?;
    for report in world.report() {
        let b = &report.business;
        writeln!(
            out,
            "  {:<16} applied {:>6}  duplicate effects {:>4}  skipped duplicates {:>4}  out of order {:>4}  stale overwrites {:>4}  balance {:>6}  missing {:>4}",
            report.name,
            b.applied,
            b.duplicate_effects,
            b.duplicates_skipped,
            b.out_of_order,
            b.stale_overwrites,
            b.balance,
            report.missing.len()
        )?;
    }
    Ok(())
}
