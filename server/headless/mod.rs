//! Headless use of the engine: `run` replays a scenario or an exercise, `prove` proves a Design of an
//! exercise under chaos, `export` writes a Design as real brokers' configuration, `trace` writes one
//! correlation flow as an OpenTelemetry trace, `bench` measures the engine.
mod bench;
mod duration;
pub mod exercise_input;
mod export;
mod prove;
mod run;
mod scenario_file;
mod trace;
pub mod workloads;

pub use bench::{BenchArgs, bench, run_workload};
pub use duration::parse_duration;
pub use export::{ExportArgs, export_command};
pub use prove::{ProveArgs, prove_command};
pub use run::{RunArgs, run};
pub use scenario_file::{
    MAX_SCENARIO_FILE_BYTES, ScenarioFileError, load_scenario, parse_scenario,
};
pub use trace::{TraceArgs, trace, trace_command};
