//! `eda-playground schema`: the JSON Schema of the exercise format, for editors.
//!
//! The committed `exercises/exercise.schema.json` is this output; a test keeps the two
//! equal, so the schema never drifts from the code.
use std::process::ExitCode;

use super::model::ExerciseFile;

/// The schema as pretty JSON with a final newline.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(ExerciseFile);
    // Serialising a schema (a JSON value) cannot fail; an empty object is a safe fallback.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

pub fn run() -> ExitCode {
    print!("{}", schema_json());
    ExitCode::SUCCESS
}
