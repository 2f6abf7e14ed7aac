//! One correlation flow of a sandbox's run, from its very start: the run is replayed from its seed, its
//! choices and its timed command log up to now, keeping only the flow's events, then written as OTLP/JSON
//! (`exercise::otlp`).
//!
//! The run itself keeps only its most recent events (for snapshots), so a flow that began a while ago is
//! no longer there whole. A replay is what a seek back does anyway: the same seed and log give the same
//! events, and the engine replays a workshop-length run in milliseconds.
use std::collections::HashSet;

use crate::engine::{CorrelationId, MessageId, Millis, TraceEvent, TraceKind, World};
use crate::exercise::otlp::{self, TracesData};
use crate::exercise::start_world;

use super::run::Run;

/// Virtual time replayed between two drains of the trace, as the run itself drains it, so the world's
/// trace buffer never overflows.
const REPLAY_CHUNK_MS: Millis = 1_000;

/// The flow of `correlation` in `run` up to now, or `None` when no message of the run carries it.
pub fn replayed_flow(run: &Run, correlation: CorrelationId) -> Option<TracesData> {
    let exercise = run.exercise();
    let mut world = match start_world(exercise, run.choices(), run.seed(), Some(run.message_cap()))
    {
        Ok(world) => world,
        Err(error) => {
            // The same start built this very run: a bug, not the asker's mistake.
            tracing::error!(%error, "cannot replay a sandbox's run for a trace");
            return None;
        }
    };
    let mut flow = FlowEvents::new(correlation);
    let target = run.now();
    let mut logged = run.log().iter().filter(|c| c.at <= target).peekable();
    // The same steps as the run's own `advance_to`: a logged command at its time, else a chunk of time.
    loop {
        let chunk_end = target.min(world.now().saturating_add(REPLAY_CHUNK_MS));
        if let Some(command) = logged.next_if(|c| c.at <= chunk_end) {
            // Accepted once at this very state; refused now only if the run itself refused it on replay.
            let _ = world.apply(command.at, command.command.clone());
            flow.keep(&mut world);
            continue;
        }
        world.advance_to(chunk_end);
        flow.keep(&mut world);
        if chunk_end >= target {
            break;
        }
    }
    otlp::flow(&exercise.id, &world.topology(), &flow.events, correlation)
}

/// The events of one flow: its publishes, and every later event about one of their messages.
struct FlowEvents {
    correlation: CorrelationId,
    messages: HashSet<MessageId>,
    events: Vec<TraceEvent>,
}

impl FlowEvents {
    fn new(correlation: CorrelationId) -> Self {
        Self {
            correlation,
            messages: HashSet::new(),
            events: Vec::new(),
        }
    }

    fn keep(&mut self, world: &mut World) {
        for event in world.drain_trace() {
            let ours = match &event.kind {
                TraceKind::Published {
                    message,
                    correlation_id,
                    ..
                } if *correlation_id == self.correlation => {
                    self.messages.insert(*message);
                    true
                }
                kind => kind.message().is_some_and(|m| self.messages.contains(&m)),
            };
            // Bounded like the export: past its span cap the builder stops anyway.
            if ours && self.events.len() < otlp::MAX_SPANS * EVENTS_PER_SPAN {
                self.events.push(event);
            }
        }
    }
}

/// Events kept per span at most: a delivery's received, effect, ack and the like.
const EVENTS_PER_SPAN: usize = 8;
