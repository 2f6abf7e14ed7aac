//! One correlation flow of a sandbox's run, from its very start: the run is replayed from its seed, its
//! choices and its timed command log up to now, keeping only the flow's events, then written as OTLP/JSON
//! (`exercise::otlp`). The sandbox task hands out a [`Replay`]; the replay itself runs elsewhere.
//!
//! The run itself keeps only its most recent events (for snapshots), so a flow that began a while ago is
//! no longer there whole. A replay is what a seek back does anyway: the same seed and log give the same
//! events, and the engine replays a workshop-length run in milliseconds.
use std::collections::HashSet;
use std::sync::Arc;

use crate::engine::{CorrelationId, MessageId, Millis, TraceEvent, TraceKind, World};
use crate::exercise::otlp::{self, TracesData};
use crate::exercise::{Choices, Exercise, start_world};

use super::run::Run;
use super::run_file::TimedCommand;

/// Virtual time replayed between two drains of the trace, as the run itself drains it, so the world's
/// trace buffer never overflows.
const REPLAY_CHUNK_MS: Millis = 1_000;

/// What replaying a run up to now takes: taken from the run at once (a clone of its log), then replayed
/// away from the sandbox task, so a long replay never holds up the sandbox's frames.
#[derive(Debug, Clone)]
pub struct Replay {
    exercise: Arc<Exercise>,
    choices: Choices,
    seed: u64,
    message_cap: u64,
    /// The commands up to `until`; those past it (after a seek back) are not part of the run so far.
    log: Vec<TimedCommand>,
    until: Millis,
}

impl Replay {
    pub fn of(run: &Run) -> Self {
        let until = run.now();
        Self {
            exercise: run.exercise_arc(),
            choices: run.choices().clone(),
            seed: run.seed(),
            message_cap: run.message_cap(),
            log: run
                .log()
                .iter()
                .filter(|c| c.at <= until)
                .cloned()
                .collect(),
            until,
        }
    }

    /// The flow of `correlation` in the run up to `until`, or `None` when no message of it carries it.
    pub fn flow(&self, correlation: CorrelationId) -> Option<TracesData> {
        let exercise = &self.exercise;
        let mut world =
            match start_world(exercise, &self.choices, self.seed, Some(self.message_cap)) {
                Ok(world) => world,
                Err(error) => {
                    // The same start built this very run: a bug, not the asker's mistake.
                    tracing::error!(%error, "cannot replay a sandbox's run for a trace");
                    return None;
                }
            };
        let mut flow = FlowEvents::new(correlation);
        let target = self.until;
        let mut logged = self.log.iter().peekable();
        // The same steps as the run's own `advance_to`: a logged command at its time, else a chunk of
        // time.
        loop {
            let chunk_end = target.min(world.now().saturating_add(REPLAY_CHUNK_MS));
            if let Some(command) = logged.next_if(|c| c.at <= chunk_end) {
                // Accepted once at this very state; refused now only if the run refused it on replay too.
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
