//! `eda-playground prove EXERCISE [--choose KNOB=OPTION]… [--seeds N] [--json]`: the report the
//! playground's "Prove it" shows, in a terminal.
use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use crate::exercise::chaos::seconds;
use crate::exercise::prove::{DEFAULT_PROOF_SEEDS, ProofReport, ProofRequest, prove};

use super::exercise_input::{load_exercise, parse_choices};

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// An exercise file, or the id of a bundled exercise.
    pub exercise: String,
    /// A knob choice of the Design to prove, as KNOB=OPTION; repeat for more knobs. Knobs
    /// not named keep their default.
    #[arg(long = "choose", value_name = "KNOB=OPTION")]
    pub choose: Vec<String>,
    /// Seeded chaos runs (1 to 1,000).
    #[arg(long, default_value_t = DEFAULT_PROOF_SEEDS)]
    pub seeds: u32,
    /// Prove the exercise's own solution (its knobs and its operator actions) instead.
    #[arg(long, conflicts_with = "choose")]
    pub solution: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn prove_command(args: ProveArgs) -> ExitCode {
    let exercise = match load_exercise(&args.exercise) {
        Ok(exercise) => exercise,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (choices, actions) = if args.solution {
        (
            exercise.solution.knobs.clone(),
            exercise.solution.actions.clone(),
        )
    } else {
        match parse_choices(&exercise, &args.choose) {
            Ok(choices) => (choices, Vec::new()),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    };
    let request = ProofRequest {
        choices,
        actions,
        seeds: args.seeds,
        first_seed: 1,
    };
    let report = match prove(&exercise, &request, &mut |_, _| true) {
        Ok(Some(report)) => report,
        Ok(None) => return ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        write_report(&mut out, &report)
    };
    if written.is_err() {
        return ExitCode::FAILURE;
    }
    if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The report for a person: the verdict, a line per goal, and each counterexample.
fn write_report(out: &mut dyn Write, report: &ProofReport) -> std::io::Result<()> {
    let design = if report.design.is_empty() {
        "the default design".to_owned()
    } else {
        report
            .design
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(out, "{}: {design}", report.exercise)?;
    writeln!(out, "chaos: {}", report.chaos)?;
    writeln!(
        out,
        "{} on {}/{} seeds ({}..={}), in {} ms",
        if report.all_passed() {
            "PROVEN"
        } else {
            "NOT PROVEN"
        },
        report.passed,
        report.seeds,
        report.first_seed,
        report.first_seed + u64::from(report.seeds) - 1,
        report.elapsed_ms
    )?;
    for goal in &report.goals {
        writeln!(
            out,
            "  {:>4}/{:<4} {} ({})",
            goal.passed, report.seeds, goal.description, goal.id
        )?;
        if let Some(example) = &goal.counterexample {
            writeln!(out, "      shortest failing run: seed {}", example.seed)?;
            writeln!(out, "      {}", example.sentence)?;
            for fault in &example.faults {
                writeln!(out, "        {} {}", seconds(fault.at), fault.sentence)?;
            }
        }
    }
    Ok(())
}
