//! `eda-playground asyncapi EXERCISE [--choose KNOB=OPTION]… [--solution]`: the exercise's system with a
//! Design as an AsyncAPI 3.0.0 document (JSON) on standard output, for AsyncAPI Studio, a code generator or
//! an event catalog.
use std::process::ExitCode;

use clap::Args;

use crate::exercise::asyncapi::document;

use super::exercise_input::{load_exercise, parse_choices};

#[derive(Debug, Args)]
pub struct AsyncapiArgs {
    /// An exercise file, or the id of a bundled exercise.
    pub exercise: String,
    /// A knob choice of the Design, as KNOB=OPTION; repeat for more knobs. Knobs not named keep their
    /// default.
    #[arg(long = "choose", value_name = "KNOB=OPTION")]
    pub choose: Vec<String>,
    /// Describe the system under the exercise's own solution instead.
    #[arg(long, conflicts_with = "choose")]
    pub solution: bool,
}

pub fn asyncapi_command(args: AsyncapiArgs) -> ExitCode {
    match asyncapi_document(&args) {
        Ok(document) => super::print_json(&document),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The document, or a sentence saying why not.
fn asyncapi_document(args: &AsyncapiArgs) -> Result<serde_json::Value, String> {
    let exercise = load_exercise(&args.exercise)?;
    let choices = if args.solution {
        exercise.solution.knobs.clone()
    } else {
        parse_choices(&exercise, &args.choose)?
    };
    document(&exercise, &choices).map_err(|error| error.to_string())
}
