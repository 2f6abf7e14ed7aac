//! What `run` and `prove` take on the command line: an exercise (a file, or a bundled id) and
//! the knob choices of a Design, `--choose KNOB=OPTION`.
use std::path::Path;

use crate::exercise::load::load_file;
use crate::exercise::{Catalog, Choices, Exercise};

/// Whether `path` holds an exercise rather than a bare scenario: an exercise file has a
/// `[scenario]` table and goals; a scenario file has channels at its top level.
pub fn is_exercise_file(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    match toml::from_str::<toml::Table>(&text) {
        Ok(table) => table.contains_key("scenario") && table.contains_key("goals"),
        Err(_) => false,
    }
}

/// Loads an exercise from a file, or by the id of a bundled exercise when no such file
/// exists. The error is a sentence for the terminal.
pub fn load_exercise(path_or_id: &str) -> Result<Exercise, String> {
    let path = Path::new(path_or_id);
    if path.exists() {
        return load_file(path).map_err(|e| e.to_string());
    }
    let catalog = Catalog::bundled();
    catalog
        .get(path_or_id)
        .map(|exercise| exercise.as_ref().clone())
        .ok_or_else(|| {
            let ids: Vec<String> = catalog.exercises().iter().map(|e| e.id.clone()).collect();
            format!(
                "{path_or_id:?} is neither a file nor a bundled exercise; bundled: {}",
                ids.join(", ")
            )
        })
}

/// Parses `--choose` values (`KNOB=OPTION`) into a Design, checked against the exercise.
pub fn parse_choices(exercise: &Exercise, pairs: &[String]) -> Result<Choices, String> {
    let mut choices = Choices::new();
    for pair in pairs {
        let Some((knob, option)) = pair.split_once('=') else {
            return Err(format!("--choose {pair:?}: expected KNOB=OPTION"));
        };
        choices.insert(knob.trim().to_owned(), option.trim().to_owned());
    }
    exercise.normalize(&choices).map_err(|error| {
        let knobs: Vec<String> = exercise
            .knobs
            .iter()
            .map(|k| {
                let options: Vec<&str> = k.options.iter().map(|o| o.id.as_str()).collect();
                format!("{}={}", k.id, options.join("|"))
            })
            .collect();
        format!(
            "--choose: {error}; this exercise's knobs: {}",
            knobs.join(", ")
        )
    })
}
