//! `eda-playground run FILE --seed N`: a scenario, headless, at full speed. FILE may also be an exercise
//! file (or a bundled exercise's id), run with the Design `--choose KNOB=OPTION` gives it, started the
//! way the playground starts it, with its goals judged at the end.
use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use crate::engine::{Millis, World};
use crate::exercise::bill::{Bill, Prices};
use crate::exercise::{GoalState, GoalTracker, start_world};

use super::exercise_input::{is_exercise_file, load_exercise, parse_choices};

/// Trace events kept between two writes to standard output.
const TRACE_CHUNK_MS: Millis = 1_000;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A scenario file (TOML, or JSON with a .json extension), an exercise file, or the id of a
    /// bundled exercise.
    pub file: std::path::PathBuf,
    /// The seed of every random choice in the run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How much virtual time to run: 60s, 500ms, 2m. Default: 60s, or the exercise's length.
    #[arg(long, value_parser = super::parse_duration)]
    pub until: Option<Millis>,
    /// For an exercise: a knob choice of the Design, KNOB=OPTION; repeat for more knobs.
    #[arg(long = "choose", value_name = "KNOB=OPTION")]
    pub choose: Vec<String>,
    /// Print the trace as JSON lines instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// The default length of a scenario's run.
const DEFAULT_UNTIL_MS: Millis = 60_000;

pub fn run(args: RunArgs) -> ExitCode {
    let named = args.file.to_string_lossy().into_owned();
    let is_exercise = if args.file.exists() {
        is_exercise_file(&args.file)
    } else {
        true
    };
    if is_exercise {
        return run_exercise_file(&args, &named);
    }
    if !args.choose.is_empty() {
        eprintln!("error: --choose sets the knobs of an exercise; {named} is a scenario");
        return ExitCode::FAILURE;
    }
    let scenario = match super::load_scenario(&args.file) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let world = match World::new(&scenario, args.seed) {
        Ok(world) => world,
        Err(error) => {
            eprintln!("error: {}: {error}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    drive(
        world,
        args.until.unwrap_or(DEFAULT_UNTIL_MS),
        args.json,
        None,
    )
}

/// An exercise under a Design: started through `start_world`, as the playground starts it.
fn run_exercise_file(args: &RunArgs, named: &str) -> ExitCode {
    let exercise = match load_exercise(named) {
        Ok(exercise) => exercise,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let choices = match parse_choices(&exercise, &args.choose) {
        Ok(choices) => choices,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let world = match start_world(&exercise, &choices, args.seed, None) {
        Ok(world) => world,
        Err(error) => {
            eprintln!("error: {named}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let tracker = GoalTracker::new(&exercise);
    let until = args.until.unwrap_or(exercise.run_for_ms);
    drive(
        world,
        until,
        args.json,
        Some((tracker, until >= exercise.run_for_ms, exercise.cost)),
    )
}

/// Runs `world` to `until`, writing the trace or a summary; with a tracker, the goals follow the summary.
fn drive(
    mut world: World,
    until: Millis,
    json: bool,
    mut goals: Option<(GoalTracker, bool, Prices)>,
) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let started = std::time::Instant::now();
    let mut at = 0;
    while at < until {
        at = (at + TRACE_CHUNK_MS).min(until);
        world.advance_to(at);
        let events = world.drain_trace();
        if let Some((tracker, _, _)) = &mut goals {
            tracker.observe(&events);
        }
        if json {
            for event in events {
                if serde_json::to_writer(&mut out, &event).is_err() || out.write_all(b"\n").is_err()
                {
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let mut all_met = true;
    if !json {
        let _ = write_summary(&mut out, &world, elapsed);
        if let Some((tracker, finished, prices)) = &goals {
            let _ = write_bill(&mut out, &Bill::of(&world, prices));
            let _ = writeln!(out, "\ngoals");
            for goal in tracker.status(&world, *finished) {
                all_met &= goal.state == GoalState::Met;
                let state = match goal.state {
                    GoalState::Met => "met",
                    GoalState::Broken => "BROKEN",
                    GoalState::Pending => "pending",
                };
                let reason = goal.reason.map(|r| format!(": {r}")).unwrap_or_default();
                let _ = writeln!(out, "  {state:<8} {}{reason}", goal.description);
            }
        }
    }
    let _ = out.flush();
    if all_met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The run's bill: the lines in credits, then each consumer's latency.
fn write_bill(out: &mut impl Write, bill: &Bill) -> std::io::Result<()> {
    writeln!(
        out,
        "\nbill: {:.1} credits (compute {:.1}, storage {:.1}, retries {:.1}, idempotency {:.1}) · {:.1} effects/s",
        bill.total, bill.compute, bill.storage, bill.retries, bill.dedup, bill.throughput_per_sec
    )?;
    for c in &bill.consumers {
        let ms = |v: Option<Millis>| v.map_or_else(|| "–".to_owned(), |v| format!("{v} ms"));
        writeln!(
            out,
            "  {:<16} peak {} instance(s) · {} retries · latency p50 {} · p99 {}",
            c.name,
            c.peak_instances,
            c.retries,
            ms(c.latency_p50_ms),
            ms(c.latency_p99_ms)
        )?;
    }
    Ok(())
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
