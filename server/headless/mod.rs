//! Headless use of the engine: `run` replays a scenario file, `bench` measures the engine.
mod bench;
mod duration;
mod run;
mod scenario_file;
pub mod workloads;

pub use bench::{BenchArgs, bench, run_workload};
pub use duration::parse_duration;
pub use run::{RunArgs, run};
pub use scenario_file::{
    MAX_SCENARIO_FILE_BYTES, ScenarioFileError, load_scenario, parse_scenario,
};
