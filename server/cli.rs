//! The command line: one subcommand per way of using the playground.
//!
//! `serve` (the default) hosts the playground, `healthcheck` asks a running one whether it is up; `run` and
//! `bench` drive the engine headless; `check` and `schema` serve exercise authors.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "eda-playground",
    version,
    about = "A playground for event-driven architecture study sessions"
)]
// With no subcommand the top-level flags are the `serve` flags; mixing them with a subcommand is an error
// rather than a silently ignored flag.
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: crate::config::ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the playground in the browser (the default when no subcommand is given).
    Serve(crate::config::ServeArgs),
    /// Ask a running server for /healthz: exit 0 when it answers 200, 1 otherwise.
    Healthcheck(crate::healthcheck::HealthcheckArgs),
    /// Run a scenario or an exercise headless and print a summary (or the trace as JSON lines).
    Run(crate::headless::RunArgs),
    /// Measure the engine: simulated deliveries per second per benchmark scenario.
    Bench(crate::headless::BenchArgs),
    /// Watch one busy sandbox with many WebSocket clients; report frame rate, latency, CPU and memory.
    Loadtest(crate::loadtest::LoadtestArgs),
    /// Validate exercise files and run each one headless: the default must fail a goal, the
    /// solution must meet every goal under many seeds. Exits non-zero on any problem.
    Check(crate::exercise::CheckArgs),
    /// Prove a Design of an exercise: many seeded runs under its chaos profile, a pass rate
    /// per goal, and the shortest failing run of each failing goal. Exits non-zero unless
    /// every goal holds on every seed.
    Prove(crate::headless::ProveArgs),
    /// Write an exercise's system with a Design as RabbitMQ definitions or NATS JetStream
    /// stream and consumer configs (the file on standard output, notes on standard error).
    Export(crate::headless::ExportArgs),
    /// Write an exercise's system as an AsyncAPI 3.0.0 document (JSON on standard output).
    Asyncapi(crate::headless::AsyncapiArgs),
    /// Write one correlation flow of a headless run of an exercise as an OpenTelemetry trace
    /// (OTLP/JSON), to open in Jaeger or Grafana Tempo.
    Trace(crate::headless::TraceArgs),
    /// Print the JSON Schema of the exercise file format.
    Schema,
}

/// Dispatches a parsed command line and turns its outcome into the process exit code.
pub fn run_cli(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Serve(args)) => crate::serve::run(args),
        Some(Command::Healthcheck(args)) => crate::healthcheck::run(args),
        Some(Command::Run(args)) => crate::headless::run(args),
        Some(Command::Bench(args)) => crate::headless::bench(args),
        Some(Command::Loadtest(args)) => crate::loadtest::run(args),
        Some(Command::Check(args)) => crate::exercise::check(args),
        Some(Command::Prove(args)) => crate::headless::prove_command(args),
        Some(Command::Export(args)) => crate::headless::export_command(args),
        Some(Command::Asyncapi(args)) => crate::headless::asyncapi_command(args),
        Some(Command::Trace(args)) => crate::headless::trace_command(args),
        Some(Command::Schema) => crate::exercise::schema::run(),
        None => crate::serve::run(cli.serve),
    }
}
