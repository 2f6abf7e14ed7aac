//! The `eda-playground` binary: parse the command line and hand over to the library.
use std::process::ExitCode;

use clap::Parser;
use eda_playground::cli::{Cli, run_cli};

fn main() -> ExitCode {
    run_cli(Cli::parse())
}
