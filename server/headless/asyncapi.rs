//! `eda-playground asyncapi EXERCISE`: the exercise's system as an AsyncAPI 3.0.0 document (JSON) on
//! standard output, for AsyncAPI Studio, a code generator or an event catalog.
use std::process::ExitCode;

use clap::Args;

use crate::exercise::asyncapi::document;

use super::exercise_input::load_exercise;

#[derive(Debug, Args)]
pub struct AsyncapiArgs {
    /// An exercise file, or the id of a bundled exercise.
    pub exercise: String,
}

pub fn asyncapi_command(args: AsyncapiArgs) -> ExitCode {
    let exercise = match load_exercise(&args.exercise) {
        Ok(exercise) => exercise,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    super::print_json(&document(&exercise))
}
