//! The run file: a seed and a timed command log, enough to replay a run exactly (export and import).
use serde::{Deserialize, Serialize};

use crate::engine::{Command, Millis};
use crate::exercise::model::Choices;
use crate::exercise::{Design, Exercise};

/// The `"format"` of a run file.
pub const RUN_FILE_FORMAT: &str = "eda-playground-run";
/// The run file version this server writes and reads.
pub const RUN_FILE_VERSION: u32 = 1;
/// Commands one run may log. A learner's command past it is refused, and a run file with more is not
/// imported, so replaying a run (on every seek) stays quick.
pub const MAX_LOGGED_COMMANDS: usize = 5_000;

/// One command of the log, at the virtual time it was applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedCommand {
    pub at: Millis,
    pub command: Command,
}

/// `{"format":"eda-playground-run","version":1,"exercise":…,"seed":…,"choices":{…},"commands":[…],"at":…}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    pub format: String,
    pub version: u32,
    pub exercise: String,
    pub seed: u64,
    pub commands: Vec<TimedCommand>,
    /// Where the run was when it was saved; an import replays up to here and pauses.
    pub at: Millis,
    /// The options of the exercise's restart knobs the run was built with (knob id → option id).
    #[serde(default)]
    pub choices: Choices,
    /// The learner's Design when the run was saved; without it, the Design is `choices`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<Design>,
}

/// Why a run file cannot be loaded into a sandbox. The text is shown to the learner.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RunFileError {
    #[error("not a run file: format is {0:?}, expected \"{RUN_FILE_FORMAT}\"")]
    Format(String),
    #[error("run file version {0} is not supported; this server reads version {RUN_FILE_VERSION}")]
    Version(u32),
    #[error("this run belongs to exercise {found:?}, not {expected:?}")]
    Exercise { found: String, expected: String },
    #[error("the run has {0} commands; at most {MAX_LOGGED_COMMANDS} are accepted")]
    TooManyCommands(usize),
    #[error("commands must be in time order (command {index} goes back in time)")]
    Unordered { index: usize },
    #[error("the run goes to {at} ms, past the exercise's end at {run_for_ms} ms")]
    PastTheEnd { at: Millis, run_for_ms: Millis },
}

impl RunFile {
    /// A run file of a run built with the exercise's default options.
    pub fn new(exercise: &str, seed: u64, commands: Vec<TimedCommand>, at: Millis) -> Self {
        Self {
            format: RUN_FILE_FORMAT.to_owned(),
            version: RUN_FILE_VERSION,
            exercise: exercise.to_owned(),
            seed,
            commands,
            at,
            choices: Choices::new(),
            design: None,
        }
    }

    /// The same run file, with the learner's Design.
    pub fn with_design(mut self, design: Design) -> Self {
        self.design = Some(design);
        self
    }

    /// The same run file, for a run built with these restart-knob options.
    pub fn with_choices(mut self, choices: Choices) -> Self {
        self.choices = choices;
        self
    }

    /// Checks what can be checked without a world: the header, the size and the time order. Each command
    /// is then checked by replaying it.
    pub fn validate(&self, exercise: &Exercise) -> Result<(), RunFileError> {
        if self.format != RUN_FILE_FORMAT {
            return Err(RunFileError::Format(self.format.chars().take(40).collect()));
        }
        if self.version != RUN_FILE_VERSION {
            return Err(RunFileError::Version(self.version));
        }
        if self.exercise != exercise.id {
            return Err(RunFileError::Exercise {
                found: self.exercise.chars().take(80).collect(),
                expected: exercise.id.clone(),
            });
        }
        if self.commands.len() > MAX_LOGGED_COMMANDS {
            return Err(RunFileError::TooManyCommands(self.commands.len()));
        }
        if let Some(index) = self
            .commands
            .windows(2)
            .position(|pair| pair[1].at < pair[0].at)
        {
            return Err(RunFileError::Unordered { index: index + 1 });
        }
        let last = self.commands.last().map_or(0, |c| c.at).max(self.at);
        if last > exercise.run_for_ms {
            return Err(RunFileError::PastTheEnd {
                at: last,
                run_for_ms: exercise.run_for_ms,
            });
        }
        Ok(())
    }
}
