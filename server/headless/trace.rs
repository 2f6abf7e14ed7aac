//! `eda-playground trace EXERCISE --seed N [--correlation ID] [--choose KNOB=OPTION]…`: one correlation
//! flow of a headless run as an OpenTelemetry trace (OTLP/JSON) on standard output, to open in Jaeger or
//! Grafana Tempo. Without `--correlation`, the first flow that crosses services is chosen and named on
//! standard error.
use std::process::ExitCode;

use clap::Args;

use crate::engine::{CorrelationId, Millis, TraceEvent, TraceKind};
use crate::exercise::otlp::{TracesData, flow};
use crate::exercise::start_world;

use super::exercise_input::{load_exercise, parse_choices};

/// Virtual time run between two drains of the trace.
const TRACE_CHUNK_MS: Millis = 1_000;

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// An exercise file, or the id of a bundled exercise.
    pub exercise: String,
    /// The seed of every random choice in the run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The correlation id of the flow, 16 hex digits as the trace writes it. Default: the first flow
    /// in which one service's message causes another's.
    #[arg(long, value_parser = parse_correlation)]
    pub correlation: Option<CorrelationId>,
    /// How much virtual time to run: 60s, 500ms, 2m. Default: the exercise's length.
    #[arg(long, value_parser = super::parse_duration)]
    pub until: Option<Millis>,
    /// A knob choice of the Design, KNOB=OPTION; repeat for more knobs.
    #[arg(long = "choose", value_name = "KNOB=OPTION")]
    pub choose: Vec<String>,
}

fn parse_correlation(text: &str) -> Result<CorrelationId, String> {
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a correlation id is 16 hex digits, as in the trace".to_owned());
    }
    text.parse()
        .map_err(|_| "a correlation id is 16 hex digits, as in the trace".to_owned())
}

pub fn trace_command(args: TraceArgs) -> ExitCode {
    match trace(&args) {
        Ok((correlation, data)) => {
            if args.correlation.is_none() {
                eprintln!("correlation {correlation}");
            }
            super::print_json(&data)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the exercise and builds the flow, or says why not in a sentence.
pub fn trace(args: &TraceArgs) -> Result<(CorrelationId, TracesData), String> {
    let exercise = load_exercise(&args.exercise)?;
    let choices = parse_choices(&exercise, &args.choose)?;
    let mut world = start_world(&exercise, &choices, args.seed, None)
        .map_err(|error| format!("{}: {error}", args.exercise))?;
    let until = args.until.unwrap_or(exercise.run_for_ms);
    // The whole trace is kept: the flow may be chosen only once a caused message shows up, and a run is
    // bounded by the exercise's length and the world's message cap.
    let mut events: Vec<TraceEvent> = Vec::new();
    let mut at = 0;
    while at < until {
        at = (at + TRACE_CHUNK_MS).min(until);
        world.advance_to(at);
        events.extend(world.drain_trace());
    }
    let correlation = match args.correlation {
        Some(correlation) => correlation,
        None => first_caused_flow(&events).ok_or_else(|| {
            format!(
                "no message of this run was caused by another before {until} ms; name a flow with --correlation"
            )
        })?,
    };
    let data = flow(&exercise.id, &world.topology(), &events, correlation).ok_or_else(|| {
        format!(
            "no message of this run has correlation id {correlation} (seed {})",
            args.seed
        )
    })?;
    Ok((correlation, data))
}

/// The correlation id of the first message published because of another.
fn first_caused_flow(events: &[TraceEvent]) -> Option<CorrelationId> {
    events.iter().find_map(|event| match &event.kind {
        TraceKind::Published {
            correlation_id,
            causation_id: Some(_),
            ..
        } => Some(*correlation_id),
        _ => None,
    })
}
