//! `eda-playground export --format rabbitmq|nats EXERCISE [--choose KNOB=OPTION]…`: the
//! exercise's system with a Design, as a file to load into a real broker. The file goes to
//! standard output; the notes (what lives in the consuming code instead) to standard error.
use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use crate::exercise::export::{Format, export};

use super::exercise_input::{load_exercise, parse_choices};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// rabbitmq (definitions for the management plugin) or nats (JetStream stream and consumer
    /// configs).
    #[arg(long, value_parser = ["rabbitmq", "nats"])]
    pub format: String,
    /// An exercise file, or the id of a bundled exercise.
    pub exercise: String,
    /// A knob choice of the Design, as KNOB=OPTION; repeat for more knobs. Knobs not named
    /// keep their default.
    #[arg(long = "choose", value_name = "KNOB=OPTION")]
    pub choose: Vec<String>,
    /// Export the exercise's own solution instead.
    #[arg(long, conflicts_with = "choose")]
    pub solution: bool,
}

pub fn export_command(args: ExportArgs) -> ExitCode {
    match export_text(&args) {
        Ok((file, notes)) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{file}");
            let mut err = std::io::stderr().lock();
            for note in notes {
                let _ = writeln!(err, "note: {note}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The pretty-printed file and the notes, or a sentence saying why not.
fn export_text(args: &ExportArgs) -> Result<(String, Vec<String>), String> {
    let exercise = load_exercise(&args.exercise)?;
    let choices = if args.solution {
        exercise.solution.knobs.clone()
    } else {
        parse_choices(&exercise, &args.choose)?
    };
    let format = Format::parse(&args.format).map_err(|e| e.to_string())?;
    let export = export(&exercise, &choices, format).map_err(|e| e.to_string())?;
    let file = serde_json::to_string_pretty(&export.file).map_err(|e| e.to_string())?;
    Ok((file, export.notes))
}
