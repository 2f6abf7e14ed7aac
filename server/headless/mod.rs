//! Headless use of the engine: `run` replays a scenario or an exercise, `prove` proves a Design of an
//! exercise under chaos, `export` writes a Design as real brokers' configuration, `asyncapi` the system as AsyncAPI 3.0, `trace` writes one
//! correlation flow as an OpenTelemetry trace, `bench` measures the engine.
mod asyncapi;
mod bench;
mod duration;
pub mod exercise_input;
mod export;
mod prove;
mod run;
mod scenario_file;
mod trace;
pub mod workloads;

pub use asyncapi::{AsyncapiArgs, asyncapi_command};
pub use bench::{BenchArgs, bench, run_workload};
pub use duration::parse_duration;
pub use export::{ExportArgs, export_command};
pub use prove::{ProveArgs, prove_command};
pub use run::{RunArgs, run};
pub use scenario_file::{
    MAX_SCENARIO_FILE_BYTES, ScenarioFileError, load_scenario, parse_scenario,
};
pub use trace::{TraceArgs, trace, trace_command};

/// Writes `value` as pretty JSON on standard output: success, or a sentence on standard error.
fn print_json(value: &impl serde::Serialize) -> std::process::ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match serde_json::to_writer_pretty(&mut out, value).map(|()| writeln!(out)) {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot write the document: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
