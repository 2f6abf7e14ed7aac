//! The proof pool: proofs of learners' Designs run here, on blocking worker threads, never on
//! a sandbox's task, so a proof cannot hold up anyone's frames.
//!
//! A server-wide cap bounds the proofs running at once; the rest wait in a bounded queue and
//! are told their place in it. Each proof streams its progress to the client that asked,
//! can be cancelled, and its report is cached: the same exercise, Design, actions and seed
//! count always give the same report.
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::exercise::prove::{
    ProofBrief, ProofReport, ProofRequest, capitalize, check_seeds, prove,
};
use crate::exercise::{Design, Exercise};

use super::protocol::{self, ErrorCode, ServerMessage};
use super::run::Refusal;
use super::run_file::{RunFile, TimedCommand};
// A client that does not read loses a message instead of stalling a worker.
use super::runtime::send_reply as send;

/// Proofs waiting for a worker. Past it a new proof is refused with "busy" rather than queued
/// behind a wait nobody would sit through.
pub const MAX_WAITING_PROOFS: usize = 16;
/// Reports kept for a repeated request; the oldest is dropped first.
pub const MAX_CACHED_PROOFS: usize = 128;
/// The least time between two progress messages to one client.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Proofs running at once: one core is left to the sandboxes and the web layer (at least one
/// proof runs on a one-core machine).
pub fn max_running_proofs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .saturating_sub(1)
        .max(1)
}

/// A running or waiting proof; dropping the ticket does not cancel it, `cancel` does.
#[derive(Debug, Clone)]
pub struct ProofTicket {
    cancelled: Arc<AtomicBool>,
}

impl ProofTicket {
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// Told of a finished proof's verdict (the sandbox, so that its status carries the learner's last proof).
pub type OnProven = Box<dyn FnOnce(ProofBrief) + Send>;

struct Job {
    on_proven: Option<OnProven>,
    key: String,
    exercise: Arc<Exercise>,
    request: ProofRequest,
    reply: mpsc::Sender<Utf8Bytes>,
    ticket: ProofTicket,
}

#[derive(Default)]
struct PoolState {
    running: usize,
    waiting: VecDeque<Job>,
    cache: VecDeque<(String, Arc<Utf8Bytes>, ProofBrief)>,
}

/// The server's proof workers, shared by free play and workshop sessions.
pub struct ProofPool {
    // A std Mutex: held to look at the queue or the cache, never across an `.await` or a proof.
    state: Mutex<PoolState>,
    max_running: usize,
}

impl std::fmt::Debug for ProofPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofPool")
            .field("max_running", &self.max_running)
            .finish_non_exhaustive()
    }
}

impl Default for ProofPool {
    fn default() -> Self {
        Self::new(max_running_proofs())
    }
}

impl ProofPool {
    pub fn new(max_running: usize) -> Self {
        Self {
            state: Mutex::new(PoolState::default()),
            max_running: max_running.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // A poisoned lock only means a thread panicked while holding it; the queue is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a proof, or queues it. Answers go to `reply`: `proof_queued`, `proof_progress`,
    /// then `proof` or `proof_cancelled`. Refused with a sentence when the seed count is out of
    /// range or the queue is full.
    pub fn submit(
        self: &Arc<Self>,
        exercise: Arc<Exercise>,
        request: ProofRequest,
        reply: mpsc::Sender<Utf8Bytes>,
        on_proven: Option<OnProven>,
    ) -> Result<ProofTicket, Refusal> {
        check_seeds(request.seeds).map_err(|error| {
            Refusal::new(
                ErrorCode::BadRequest,
                format!("{}.", capitalize(&error.to_string())),
            )
        })?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Refusal::new(ErrorCode::Internal, "Something went wrong on the server.")
        })?;
        let ticket = ProofTicket {
            cancelled: Arc::new(AtomicBool::new(false)),
        };
        let key = cache_key(&exercise, &request);
        let mut state = self.lock();
        if let Some((_, report, brief)) = state.cache.iter().find(|(k, _, _)| *k == key) {
            send(&reply, mark_cached(report));
            if let Some(on_proven) = on_proven {
                on_proven(brief.clone());
            }
            return Ok(ticket);
        }
        let job = Job {
            on_proven,
            key,
            exercise,
            request,
            reply,
            ticket: ticket.clone(),
        };
        if state.running < self.max_running {
            state.running += 1;
            drop(state);
            self.spawn(&runtime, job);
            return Ok(ticket);
        }
        if state.waiting.len() >= MAX_WAITING_PROOFS {
            return Err(Refusal::new(
                ErrorCode::Busy,
                format!(
                    "The server is busy proving other designs ({} running, {MAX_WAITING_PROOFS} waiting); try again in a minute.",
                    state.running
                ),
            ));
        }
        let position = state.waiting.len() + 1;
        send(&job.reply, queued(position));
        state.waiting.push_back(job);
        Ok(ticket)
    }

    /// Proofs running and waiting now.
    pub fn load(&self) -> (usize, usize) {
        let state = self.lock();
        (state.running, state.waiting.len())
    }

    fn spawn(self: &Arc<Self>, runtime: &tokio::runtime::Handle, job: Job) {
        let pool = self.clone();
        let handle = runtime.clone();
        runtime.spawn_blocking(move || {
            let mut job = job;
            let key = job.key.clone();
            let on_proven = job.on_proven.take();
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run_job(&job)));
            match outcome {
                Ok(Some((report, brief))) => {
                    if let Some(on_proven) = on_proven {
                        on_proven(brief.clone());
                    }
                    // Cached before the client hears of it: asking again at once finds it.
                    pool.remember(key, report.clone(), brief);
                    send(&job.reply, report.as_ref().clone());
                }
                Ok(None) => {}
                Err(_) => {
                    tracing::error!(exercise = %job.exercise.id, "a proof panicked");
                    send(
                        &job.reply,
                        protocol::error(ErrorCode::Internal, "Something went wrong on the server."),
                    );
                }
            }
            pool.next(&handle);
        });
    }

    fn remember(&self, key: String, report: Arc<Utf8Bytes>, brief: ProofBrief) {
        let mut state = self.lock();
        if state.cache.len() >= MAX_CACHED_PROOFS {
            state.cache.pop_front();
        }
        state.cache.push_back((key, report, brief));
    }

    /// A worker is free: start the next waiting proof that is still wanted, and tell the others
    /// their new place.
    fn next(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        let mut state = self.lock();
        state.running -= 1;
        while let Some(job) = state.waiting.pop_front() {
            if job.ticket.is_cancelled() || job.reply.is_closed() {
                send(&job.reply, cancelled("The proof was cancelled."));
                continue;
            }
            state.running += 1;
            for (i, waiting) in state.waiting.iter().enumerate() {
                send(&waiting.reply, queued(i + 1));
            }
            drop(state);
            self.spawn(runtime, job);
            return;
        }
    }
}

/// Runs one proof on this (blocking) thread; the encoded report and its verdict when it finished.
fn run_job(job: &Job) -> Option<(Arc<Utf8Bytes>, ProofBrief)> {
    let mut last_progress: Option<Instant> = None;
    let mut progress = |done: u32, total: u32| {
        if job.ticket.is_cancelled() || job.reply.is_closed() {
            return false;
        }
        if last_progress.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
            last_progress = Some(Instant::now());
            send(
                &job.reply,
                protocol::encode(&ServerMessage::ProofProgress { done, total }),
            );
        }
        true
    };
    match prove(&job.exercise, &job.request, &mut progress) {
        // Sent by the caller once it is cached.
        Ok(Some(report)) => Some((
            Arc::new(encode_report(&job.exercise, &report)),
            report.brief(),
        )),
        Ok(None) => {
            send(&job.reply, cancelled("The proof was cancelled."));
            None
        }
        Err(error) => {
            send(
                &job.reply,
                protocol::error(
                    ErrorCode::NotAllowed,
                    &format!("This design cannot be proven: {error}."),
                ),
            );
            None
        }
    }
}

/// The report as the page reads it: each counterexample carries a run file that `import` loads,
/// paused a moment before the goal breaks. A cached copy is marked as such.
fn encode_report(exercise: &Exercise, report: &ProofReport) -> Utf8Bytes {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Some(goals) = value.get_mut("goals").and_then(|g| g.as_array_mut()) {
        for (goal, proof) in goals.iter_mut().zip(&report.goals) {
            let Some(example) = &proof.counterexample else {
                continue;
            };
            let commands = example
                .commands
                .iter()
                .map(|a| TimedCommand {
                    at: a.at_ms,
                    command: a.action.clone(),
                })
                .collect();
            let run = RunFile::new(&exercise.id, example.seed, commands, example.pause_at)
                .with_choices(report.design.clone())
                .with_design(Design::from_start(report.design.clone()));
            if let Some(slot) = goal.get_mut("counterexample") {
                slot["run"] = serde_json::to_value(run).unwrap_or_default();
            }
        }
    }
    protocol::encode(&ServerMessage::Proof { report: &value })
}

/// Marks a cached report: the text is the fresh one with `"cached":false` flipped.
fn mark_cached(text: &Utf8Bytes) -> Utf8Bytes {
    Utf8Bytes::from(
        text.as_str()
            .replacen("\"cached\":false", "\"cached\":true", 1),
    )
}

fn cache_key(exercise: &Exercise, request: &ProofRequest) -> String {
    #[derive(Serialize)]
    struct Key<'a> {
        exercise: &'a Exercise,
        request: &'a ProofRequest,
    }
    let text = serde_json::to_string(&Key { exercise, request }).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn queued(position: usize) -> Utf8Bytes {
    protocol::encode(&ServerMessage::ProofQueued { position })
}

fn cancelled(message: &str) -> Utf8Bytes {
    protocol::encode(&ServerMessage::ProofCancelled { message })
}
