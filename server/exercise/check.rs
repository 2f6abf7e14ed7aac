//! `eda-playground check [DIR]`: proves that every exercise teaches something.
//!
//! For each exercise: with the default knobs (on its own seed) at least one goal must fail,
//! or the exercise has nothing to teach; the solution must be proven, every goal holding on
//! every seed under the exercise's chaos profile, by the proof the playground runs. A goal that
//! fails is shown with its shrunk counterexample and the first events of the message that broke
//! it. The default design is proven too, and the table says on how many seeds it breaks. Each
//! design listed in `[[must_fail]]` is proven as well, and must break a goal on some seed.
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::engine::{MessageId, Millis, TraceEvent};

use super::catalog::{Catalog, exercise_files};
use super::load::{LoadError, load_file};
use super::model::{Choices, Exercise};
use super::prove::{MAX_PROOF_SEEDS, ProofRequest, prove};
use super::runner::{events_of, run_exercise};

/// The seeds a solution must hold under unless `--seeds` says otherwise.
pub const DEFAULT_SEEDS: u64 = 100;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A directory of exercise files; without it, the bundled exercises are checked.
    pub dir: Option<PathBuf>,
    /// How many seeds (1..=N) the solution must hold under.
    #[arg(long, default_value_t = DEFAULT_SEEDS)]
    pub seeds: u64,
}

/// A goal that did not hold, in the shortest failing run found.
#[derive(Debug, Clone)]
pub struct Failure {
    pub goal: String,
    pub seed: u64,
    pub at: Option<Millis>,
    pub reason: String,
    pub message: Option<MessageId>,
    /// The first events of the message that broke the goal.
    pub events: Vec<TraceEvent>,
    /// Seeds under which this goal failed.
    pub failing_seeds: u64,
}

/// What the checker found for one exercise.
#[derive(Debug, Clone)]
pub struct ExerciseReport {
    pub id: String,
    pub file: String,
    /// Goals the default knobs break on the exercise's own seed (must not be empty).
    pub default_broken: Vec<String>,
    /// Seeds of the proof on which the default design breaks a goal: a default that rarely fails
    /// teaches little.
    pub default_failing_seeds: u32,
    /// Goals the solution breaks, one entry per goal (must be empty).
    pub solution_failures: Vec<Failure>,
    /// Each must-fail design and on how many seeds it broke a goal (must be at least one).
    pub must_fail: Vec<MustFailResult>,
    pub seeds: u64,
    pub elapsed: Duration,
    /// A run that could not even start.
    pub error: Option<String>,
}

/// A design the exercise says must fail, as proven.
#[derive(Debug, Clone)]
pub struct MustFailResult {
    pub why: String,
    pub failing_seeds: u32,
}

impl ExerciseReport {
    pub fn ok(&self) -> bool {
        self.error.is_none()
            && !self.default_broken.is_empty()
            && self.solution_failures.is_empty()
            && self.must_fail.iter().all(|m| m.failing_seeds > 0)
    }
}

/// The whole check: files that did not load, and one report per exercise.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub load_errors: Vec<LoadError>,
    pub exercises: Vec<ExerciseReport>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.load_errors.is_empty() && self.exercises.iter().all(ExerciseReport::ok)
    }
}

/// Checks one exercise: the default on its seed must break a goal; the solution must hold on
/// seeds `1..=seeds` under the exercise's chaos profile, through the same proof the playground's
/// "Prove it" runs; and the default is proven too, to say how often it breaks.
pub fn check_exercise(exercise: &Exercise, seeds: u64) -> ExerciseReport {
    let started = Instant::now();
    let mut report = ExerciseReport {
        id: exercise.id.clone(),
        file: match &exercise.origin {
            super::model::Origin::Bundled(name) => format!("exercises/{name}"),
            super::model::Origin::File(path) => path.display().to_string(),
        },
        default_broken: Vec::new(),
        default_failing_seeds: 0,
        solution_failures: Vec::new(),
        must_fail: Vec::new(),
        seeds,
        elapsed: Duration::ZERO,
        error: None,
    };
    match run_exercise(exercise, &Choices::new(), &[], exercise.default_seed) {
        Ok(outcome) => report.default_broken = outcome.broken().map(|g| g.id.clone()).collect(),
        Err(error) => report.error = Some(format!("default run: {error}")),
    }
    let seeds = u32::try_from(seeds)
        .unwrap_or(MAX_PROOF_SEEDS)
        .clamp(1, MAX_PROOF_SEEDS);
    let default = ProofRequest {
        choices: Choices::new(),
        actions: Vec::new(),
        seeds,
        first_seed: 1,
    };
    match prove(exercise, &default, &mut |_, _| true) {
        Ok(Some(proof)) => report.default_failing_seeds = proof.seeds - proof.passed,
        Ok(None) => {}
        Err(error) => report.error = Some(format!("default proof: {error}")),
    }
    for design in &exercise.must_fail {
        let request = ProofRequest {
            choices: design.knobs.clone(),
            actions: Vec::new(),
            seeds,
            first_seed: 1,
        };
        match prove(exercise, &request, &mut |_, _| true) {
            Ok(Some(proof)) => report.must_fail.push(MustFailResult {
                why: design.why.clone(),
                failing_seeds: proof.seeds - proof.passed,
            }),
            Ok(None) => {}
            Err(error) => report.error = Some(format!("must-fail proof: {error}")),
        }
    }
    let solution = &exercise.solution;
    let request = ProofRequest {
        choices: solution.knobs.clone(),
        actions: solution.actions.clone(),
        seeds,
        first_seed: 1,
    };
    match prove(exercise, &request, &mut |_, _| true) {
        Ok(Some(proof)) => {
            for goal in proof.goals {
                let Some(example) = goal.counterexample else {
                    continue;
                };
                let events = example.message.map_or_else(Vec::new, |message| {
                    events_of(
                        exercise,
                        &solution.knobs,
                        &example.commands,
                        example.seed,
                        message,
                    )
                });
                report.solution_failures.push(Failure {
                    goal: goal.id,
                    seed: example.seed,
                    at: example.breaks_at,
                    reason: example.sentence,
                    message: example.message,
                    events,
                    failing_seeds: u64::from(goal.failed),
                });
            }
        }
        Ok(None) => {}
        Err(error) => report.error = Some(format!("solution proof: {error}")),
    }
    report.elapsed = started.elapsed();
    report
}

/// Checks the exercises, spread over the machine's cores; `progress` hears of each one
/// as it finishes. Reports come back in the order given.
pub fn check_all(
    exercises: &[Arc<Exercise>],
    seeds: u64,
    progress: &(dyn Fn(&ExerciseReport, usize, usize) + Sync),
) -> Vec<ExerciseReport> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, exercises.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![None; exercises.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(exercise) = exercises.get(index) else {
                        return;
                    };
                    let report = check_exercise(exercise, seeds);
                    let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(&report, finished, exercises.len());
                    // A poisoned lock only means another worker panicked; its slot stays
                    // empty and the rest are still worth reporting.
                    let mut slots = results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    slots[index] = Some(report);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

/// Loads the exercises to check: the files of `dir`, or the bundled ones.
pub fn load_for_check(dir: Option<&std::path::Path>) -> (Vec<Arc<Exercise>>, Vec<LoadError>) {
    match dir {
        Some(dir) => {
            let mut exercises = Vec::new();
            let mut errors = Vec::new();
            for path in exercise_files(dir) {
                match load_file(&path) {
                    Ok(exercise) => exercises.push(Arc::new(exercise)),
                    Err(error) => errors.push(error),
                }
            }
            (exercises, errors)
        }
        None => {
            let catalog = Catalog::bundled();
            (catalog.exercises(), catalog.errors())
        }
    }
}

/// Runs the whole check and writes the table (and the failures) to `out`.
pub fn run_check(
    dir: Option<&std::path::Path>,
    seeds: u64,
    out: &mut dyn Write,
    progress: &(dyn Fn(&ExerciseReport, usize, usize) + Sync),
) -> std::io::Result<CheckReport> {
    let (exercises, load_errors) = load_for_check(dir);
    let reports = check_all(&exercises, seeds, progress);
    let report = CheckReport {
        load_errors,
        exercises: reports,
    };
    write_report(out, &report)?;
    Ok(report)
}

/// The table, then the files that did not load, then each failing goal with its run.
pub fn write_report(out: &mut dyn Write, report: &CheckReport) -> std::io::Result<()> {
    let width = report
        .exercises
        .iter()
        .map(|e| e.id.len())
        .max()
        .unwrap_or(8)
        .max(8);
    writeln!(
        out,
        "{:<width$}  {:<24}  {:<14}  {:<24}  {:<10}  {:>5}  {:>8}",
        "exercise",
        "default",
        "default breaks",
        "solution under chaos",
        "must fail",
        "seeds",
        "time"
    )?;
    for e in &report.exercises {
        let default = if e.default_broken.is_empty() {
            "FAIL: every goal met".to_owned()
        } else {
            format!("ok: {} goal(s) broken", e.default_broken.len())
        };
        let solution = if e.error.is_some() {
            "ERROR".to_owned()
        } else if e.solution_failures.is_empty() {
            "ok: all goals met".to_owned()
        } else {
            format!("FAIL: {} goal(s) broken", e.solution_failures.len())
        };
        let breaks = format!("{}/{} seeds", e.default_failing_seeds, e.seeds);
        let must_fail = if e.must_fail.is_empty() {
            "–".to_owned()
        } else {
            let failed = e.must_fail.iter().filter(|m| m.failing_seeds > 0).count();
            format!("{failed}/{} fail", e.must_fail.len())
        };
        writeln!(
            out,
            "{:<width$}  {:<24}  {:<14}  {:<24}  {:<10}  {:>5}  {:>6.0}ms",
            e.id,
            default,
            breaks,
            solution,
            must_fail,
            e.seeds,
            e.elapsed.as_secs_f64() * 1_000.0
        )?;
    }
    for error in &report.load_errors {
        writeln!(out, "\nerror: {error}")?;
    }
    for e in &report.exercises {
        if let Some(error) = &e.error {
            writeln!(out, "\n{} ({}): {error}", e.id, e.file)?;
        }
        if e.default_broken.is_empty() && e.error.is_none() {
            writeln!(
                out,
                "\n{} ({}): with the default knobs every goal is met, so the exercise teaches nothing",
                e.id, e.file
            )?;
        }
        for held in e.must_fail.iter().filter(|m| m.failing_seeds == 0) {
            writeln!(
                out,
                "\n{} ({}): a design that must fail meets every goal on all {} seeds: {}",
                e.id, e.file, e.seeds, held.why
            )?;
        }
        for failure in &e.solution_failures {
            writeln!(
                out,
                "\n{} ({}): goal {:?} fails with the solution under {} of {} seeds",
                e.id, e.file, failure.goal, failure.failing_seeds, e.seeds
            )?;
            let when = failure
                .at
                .map_or_else(String::new, |at| format!(" at {at} ms"));
            writeln!(
                out,
                "  shortest failing run (shrunk): seed {}{when}: {}",
                failure.seed, failure.reason
            )?;
            if let Some(message) = failure.message {
                writeln!(out, "  message {message}, its first events:")?;
                for event in &failure.events {
                    let line = serde_json::to_string(event).unwrap_or_default();
                    writeln!(out, "    {line}")?;
                }
            }
        }
    }
    let failed = report.exercises.iter().filter(|e| !e.ok()).count() + report.load_errors.len();
    writeln!(
        out,
        "\n{} exercise(s) checked, {} problem(s)",
        report.exercises.len(),
        failed
    )?;
    Ok(())
}

/// The `check` subcommand: progress on stderr, the table on stdout, non-zero on a problem.
pub fn check(args: CheckArgs) -> ExitCode {
    if let Some(dir) = &args.dir
        && !dir.is_dir()
    {
        eprintln!("error: {} is not a directory", dir.display());
        return ExitCode::FAILURE;
    }
    let seeds = args.seeds.max(1);
    let progress = |report: &ExerciseReport, done: usize, total: usize| {
        let verdict = if report.ok() { "ok" } else { "PROBLEM" };
        eprintln!(
            "[{done}/{total}] {} {verdict} ({:.0} ms)",
            report.id,
            report.elapsed.as_secs_f64() * 1_000.0
        );
    };
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run_check(args.dir.as_deref(), seeds, &mut out, &progress) {
        Ok(report) => {
            eprintln!("checked in {:.2} s", started.elapsed().as_secs_f64());
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: cannot write the report: {error}");
            ExitCode::FAILURE
        }
    }
}
