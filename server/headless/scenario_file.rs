//! Reading a scenario from a file: TOML (or JSON by extension), bounded in size, with
//! errors that say where and what.
use std::path::Path;

use thiserror::Error;

use crate::engine::Scenario;

/// The largest scenario file read. A larger one is refused before it is parsed.
pub const MAX_SCENARIO_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Error)]
pub enum ScenarioFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_SCENARIO_FILE_BYTES} bytes")]
    TooLarge { path: String },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

/// Reads a scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioFileError> {
    let shown = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|source| ScenarioFileError::Read {
            path: shown.clone(),
            source,
        })?
        .len();
    if size > MAX_SCENARIO_FILE_BYTES {
        return Err(ScenarioFileError::TooLarge { path: shown });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let json = path.extension().is_some_and(|e| e == "json");
    parse_scenario(&text, json).map_err(|message| ScenarioFileError::Parse {
        path: shown,
        message,
    })
}

/// Parses scenario text; the error message carries the line, column and field.
pub fn parse_scenario(text: &str, json: bool) -> Result<Scenario, String> {
    if json {
        return serde_json::from_str(text).map_err(|e| e.to_string());
    }
    toml::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_field_is_named() {
        let error = parse_scenario(
            "[[channels]]\nname = \"orders\"\nkind = \"queue\"\ncolour = \"red\"\n",
            false,
        )
        .unwrap_err();
        assert!(error.contains("colour"), "{error}");
        assert!(error.contains("line 4"), "{error}");
    }

    #[test]
    fn a_wrong_type_says_what_was_expected() {
        let error =
            parse_scenario("[[channels]]\nname = \"orders\"\nkind = 3\n", false).unwrap_err();
        assert!(
            error.contains("kind") || error.contains("string"),
            "{error}"
        );
    }
}
