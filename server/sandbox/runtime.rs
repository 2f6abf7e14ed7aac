//! The sandbox task: one tokio task owns one [`Run`] and is the only reader of a clock for it.
//!
//! It turns wall time into virtual time (times the speed), answers client requests in arrival order, and
//! every [`FRAME_INTERVAL`] broadcasts at most one frame if anything changed. It sleeps while nobody
//! watches and ends after [`SandboxSettings::idle_timeout`] without a client.
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::SandboxId;
use super::frame::{self, Broadcast, Controls};
use super::manager::SandboxSettings;
use super::metrics_text::MetricsFormat;
use super::proofs::{ProofPool, ProofTicket};
use super::protocol::{self, ClientMessage, ErrorCode, ServerMessage};
use super::run::{Chosen, Refusal, Run};
use super::run_file::TimedCommand;
use crate::engine::Millis;
use crate::exercise::prove::ProofBrief;
use crate::exercise::{Choices, Design, GoalStatus};

/// Time between two frames: at most ~30 frames a second per sandbox, whatever the speed.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// How often a sandbox nobody watches wakes up to see whether it should end.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// The slowest and fastest playback speeds.
pub const MIN_SPEED: f64 = 0.1;
pub const MAX_SPEED: f64 = 20.0;
/// Largest seed a new random seed is drawn below: 2^53, so a browser's numbers hold it exactly.
const MAX_RANDOM_SEED: u64 = 1 << 53;
/// Proofs one sandbox remembers, one per client that asked: a client's new proof replaces its old one,
/// and clients that left are forgotten first. Past it the oldest proof is cancelled.
const MAX_PROOFS_PER_SANDBOX: usize = 16;
/// The first seed of every proof, so that two learners proving the same Design get the same report.
const FIRST_PROOF_SEED: u64 = 1;

/// What a connection asks of its sandbox.
#[derive(Debug)]
pub enum Request {
    /// A snapshot of the run as it is now, for a client that joins or has fallen behind.
    Snapshot(oneshot::Sender<Arc<Broadcast>>),
    /// A client message. Answers meant only for this client (errors, dead letters, exports) go to `reply`.
    Client {
        message: ClientMessage,
        reply: mpsc::Sender<Utf8Bytes>,
    },
    /// End now, after the requests queued before this one (a workshop session replaced the sandbox).
    Stop,
    /// A proof of this sandbox's Design finished: its verdict goes into the status (the roster's "last
    /// proof").
    Proven(ProofBrief),
    /// The run's metrics as a Prometheus or OpenMetrics scrape (`super::metrics`).
    Metrics {
        format: MetricsFormat,
        answer: oneshot::Sender<String>,
    },
    /// What replaying the run so far takes (`super::flow`), for a trace built away from the task.
    Replay(oneshot::Sender<super::flow::Replay>),
}

/// What a sandbox reports outside its broadcast: enough to show a learner's progress and to store the run
/// (seed plus timed command log rebuild it exactly). Receivers are woken when the goals, the log, the seed
/// or the pause change; `at` is kept current but does not wake anyone.
#[derive(Debug, Clone)]
pub struct Status {
    pub seed: u64,
    pub at: Millis,
    pub paused: bool,
    pub goals: Arc<[GoalStatus]>,
    pub log: Arc<[TimedCommand]>,
    /// The verdict of the last proof a client of this sandbox ran.
    pub last_proof: Option<ProofBrief>,
    /// The knob options the run was built with at 0 s (with the seed and the log, they rebuild it).
    pub choices: Choices,
    /// The learner's Design now.
    pub design: Design,
}

impl Status {
    pub fn of(run: &Run, paused: bool) -> Self {
        Self {
            seed: run.seed(),
            at: run.now(),
            paused,
            goals: run.goals().into(),
            log: run.log().into(),
            last_proof: None,
            choices: run.choices().clone(),
            design: run.design().clone(),
        }
    }

    /// Brings the status up to `run`; true when something a watcher cares about changed.
    fn update(&mut self, run: &Run, paused: bool) -> bool {
        self.at = run.now();
        let goals = run.goals();
        let mut changed = false;
        if goals.len() != self.goals.len()
            || goals
                .iter()
                .zip(self.goals.iter())
                .any(|(a, b)| a.state != b.state)
        {
            self.goals = goals.into();
            changed = true;
        }
        if self.seed != run.seed() || self.log.as_ref() != run.log() {
            self.seed = run.seed();
            self.log = run.log().into();
            changed = true;
        }
        if &self.choices != run.choices() || &self.design != run.design() {
            self.choices = run.choices().clone();
            self.design = run.design().clone();
            changed = true;
        }
        if self.paused != paused {
            self.paused = paused;
            changed = true;
        }
        changed
    }
}

/// Runs a sandbox until it has had no client for the idle timeout or every handle is gone.
// Each argument is one of the task's distinct inputs; bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
pub async fn run_sandbox(
    id: SandboxId,
    mut run: Run,
    mut requests: mpsc::Receiver<Request>,
    frames: broadcast::Sender<Arc<Broadcast>>,
    status: watch::Sender<Status>,
    settings: SandboxSettings,
    proofs: Arc<ProofPool>,
    // Weak, so that the task does not keep its own queue open: it ends when every handle is gone.
    myself: mpsc::WeakSender<Request>,
) {
    let mut task = Task {
        status,
        id,
        // A run starts paused: the learner reads the task first and starts it when ready.
        controls: Controls {
            speed: 1.0,
            paused: true,
        },
        proofs,
        proving: Vec::new(),
        myself,
        seq: 0,
        dirty: true,
        snapshot_due: false,
        clock_from: None,
        carry_ms: 0.0,
        frames,
    };
    let mut idle_since: Option<Instant> = None;
    let mut next_frame = Instant::now();
    loop {
        let watched = task.frames.receiver_count() > 0;
        let now = Instant::now();
        if watched {
            idle_since = None;
        } else if now.duration_since(*idle_since.get_or_insert(now)) >= settings.idle_timeout {
            tracing::info!(sandbox = %id, "sandbox idle without clients; ending it");
            break;
        }
        let running = watched && !task.controls.paused && !run.finished();
        if !running {
            task.clock_from = None;
            task.carry_ms = 0.0;
        }
        let busy = running || task.dirty || task.snapshot_due || run.has_pending();
        let wake = if busy && watched {
            next_frame
        } else {
            now + IDLE_CHECK
        };
        tokio::select! {
            request = requests.recv() => match request {
                Some(Request::Stop) => {
                    tracing::info!(sandbox = %id, "sandbox stopped");
                    break;
                }
                Some(request) => task.handle(&mut run, request),
                None => break,
            },
            () = tokio::time::sleep_until(wake) => {
                if running {
                    task.advance_clock(&mut run);
                }
                if watched {
                    task.publish(&mut run);
                }
                next_frame = Instant::now() + FRAME_INTERVAL;
            }
        }
    }
}

struct Task {
    status: watch::Sender<Status>,
    id: SandboxId,
    controls: Controls,
    /// The number of the last broadcast.
    seq: u64,
    /// Something a frame reports changed (speed, pause, a step) since the last frame.
    dirty: bool,
    /// The run was replaced (seek, reset, import): the next broadcast is a snapshot.
    snapshot_due: bool,
    /// The wall-clock instant virtual time was last brought up to; `None` while stopped.
    clock_from: Option<Instant>,
    /// Virtual milliseconds owed but not yet run (the engine counts whole milliseconds).
    carry_ms: f64,
    frames: broadcast::Sender<Arc<Broadcast>>,
    proofs: Arc<ProofPool>,
    /// The proof each client asked for last, by the client's reply queue.
    proving: Vec<(mpsc::Sender<Utf8Bytes>, ProofTicket)>,
    myself: mpsc::WeakSender<Request>,
}

impl Task {
    fn advance_clock(&mut self, run: &mut Run) {
        let now = Instant::now();
        let Some(from) = self.clock_from.replace(now) else {
            return;
        };
        let owed =
            now.duration_since(from).as_secs_f64() * 1_000.0 * self.controls.speed + self.carry_ms;
        let whole = owed.floor();
        self.carry_ms = owed - whole;
        if whole >= 1.0 {
            // `whole` is at most a few seconds times the speed: far inside u64.
            run.advance_to(run.now().saturating_add(whole as u64));
        }
        if run.finished() {
            self.controls.paused = true;
            self.dirty = true;
        }
    }

    /// Sends one frame if anything changed, or a snapshot if a frame cannot say it.
    fn publish(&mut self, run: &mut Run) {
        if self.snapshot_due || run.overflowed() {
            run.clear_pending();
            self.broadcast(frame::snapshot(self.id, self.seq + 1, run, self.controls));
        } else if self.dirty || run.has_pending() {
            self.broadcast(frame::frame(self.seq + 1, run, self.controls));
        } else {
            return;
        }
        let paused = self.controls.paused;
        self.status
            .send_if_modified(|status| status.update(run, paused));
    }

    fn broadcast(&mut self, message: Arc<Broadcast>) {
        self.seq = message.seq;
        self.dirty = false;
        self.snapshot_due = false;
        // An error only means nobody is subscribed right now; the next joiner gets a snapshot.
        let _ = self.frames.send(message);
    }

    fn handle(&mut self, run: &mut Run, request: Request) {
        match request {
            Request::Snapshot(answer) => {
                // Pending events would reach the joiner twice (in the snapshot's ring and in the next
                // frame), so they go out first and the snapshot is numbered after them.
                self.publish(run);
                let snapshot = frame::snapshot(self.id, self.seq, run, self.controls);
                // The connection may have gone meanwhile; nothing to do then.
                let _ = answer.send(snapshot);
            }
            Request::Client { message, reply } => {
                if let Err(refusal) = self.client_message(run, message, &reply) {
                    send_reply(&reply, protocol::error(refusal.code, &refusal.message));
                }
                // A command changes the log even when nobody watches (a session's broadcast fault).
                let paused = self.controls.paused;
                self.status
                    .send_if_modified(|status| status.update(run, paused));
            }
            // The task's loop ends on it before handing it here.
            Request::Stop => {}
            // The asker may have gone meanwhile (a scrape that timed out); nothing to do then.
            Request::Metrics { format, answer } => {
                let _ = answer.send(super::metrics::render(run, self.id, format));
            }
            Request::Replay(answer) => {
                let _ = answer.send(super::flow::Replay::of(run));
            }
            Request::Proven(brief) => {
                self.status.send_if_modified(|status| {
                    let changed = status.last_proof.as_ref() != Some(&brief);
                    status.last_proof = Some(brief);
                    changed
                });
            }
        }
    }

    fn client_message(
        &mut self,
        run: &mut Run,
        message: ClientMessage,
        reply: &mpsc::Sender<Utf8Bytes>,
    ) -> Result<(), Refusal> {
        match message {
            ClientMessage::Command { command } => {
                run.command(command)?;
                self.dirty = true;
            }
            ClientMessage::Pause => {
                self.controls.paused = true;
                self.dirty = true;
            }
            ClientMessage::Play => {
                if run.finished() {
                    return Err(Refusal::finished());
                }
                if !run.recording() {
                    run.fork();
                }
                self.controls.paused = false;
                self.dirty = true;
            }
            ClientMessage::Step => {
                run.step()?;
                self.controls.paused = true;
                self.dirty = true;
            }
            ClientMessage::Speed { speed } => {
                if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
                    return Err(Refusal::new(
                        ErrorCode::BadRequest,
                        format!("Speed must be between {MIN_SPEED} and {MAX_SPEED}."),
                    ));
                }
                self.controls.speed = speed;
                self.dirty = true;
            }
            ClientMessage::Reset { new_seed, choices } => {
                let seed = if new_seed { random_seed() } else { run.seed() };
                match choices {
                    Some(choices) => run.reset_with(seed, choices)?,
                    None => run.reset(seed)?,
                }
                self.snapshot_due = true;
            }
            ClientMessage::Choose { knob, option } => match run.choose(&knob, &option)? {
                Chosen::Unchanged => {}
                Chosen::Live => self.dirty = true,
                Chosen::Restarted => {
                    self.snapshot_due = true;
                    send_reply(
                        reply,
                        protocol::notice(&format!(
                            "The run restarted from 0 s with your design, on the same seed ({}).",
                            run.seed()
                        )),
                    );
                }
            },
            ClientMessage::Prove { seeds } => self.prove(run, seeds, reply)?,
            ClientMessage::CancelProof => {
                if let Some(index) = self.proving.iter().position(|(r, _)| r.same_channel(reply)) {
                    let (_, ticket) = self.proving.remove(index);
                    ticket.cancel();
                } else {
                    send_reply(
                        reply,
                        protocol::encode(&ServerMessage::ProofCancelled {
                            message: "No proof was running.",
                        }),
                    );
                }
            }
            ClientMessage::Seek { at } => {
                run.seek(at).map_err(|e| internal(self.id, &e))?;
                self.controls.paused = true;
                self.snapshot_due = true;
            }
            ClientMessage::InspectDlq { consumer } => {
                let letters = run.dead_letters(&consumer)?;
                send_reply(
                    reply,
                    protocol::encode(&ServerMessage::DeadLetters {
                        consumer: &consumer,
                        letters: &letters,
                    }),
                );
            }
            ClientMessage::Export => {
                let file = run.export();
                send_reply(
                    reply,
                    protocol::encode(&ServerMessage::RunFile { run: &file }),
                );
            }
            ClientMessage::Import { run: file } => {
                run.import(file)?;
                self.controls.paused = true;
                self.snapshot_due = true;
            }
            // Connections keep hints to themselves (`web::ws`); nothing in the run changes.
            ClientMessage::Hint { .. } => return Ok(()),
        }
        if run.finished() {
            self.controls.paused = true;
        }
        Ok(())
    }
}

impl Task {
    /// Hands the current Design to the proof pool, replacing this client's earlier proof.
    fn prove(
        &mut self,
        run: &Run,
        seeds: u32,
        reply: &mpsc::Sender<Utf8Bytes>,
    ) -> Result<(), Refusal> {
        self.proving.retain(|(client, ticket)| {
            let stays = !client.is_closed() && !client.same_channel(reply);
            if !stays {
                ticket.cancel();
            }
            stays
        });
        if self.proving.len() >= MAX_PROOFS_PER_SANDBOX {
            let (_, oldest) = self.proving.remove(0);
            oldest.cancel();
        }
        let (exercise, choices, actions) = run.proof_input();
        let request = crate::exercise::prove::ProofRequest {
            choices,
            actions,
            seeds,
            first_seed: FIRST_PROOF_SEED,
        };
        let myself = self.myself.clone();
        let on_proven: super::proofs::OnProven = Box::new(move |brief| {
            // The sandbox may have ended, or its queue be full; the roster then misses this verdict.
            if let Some(queue) = myself.upgrade() {
                let _ = queue.try_send(Request::Proven(brief));
            }
        });
        let ticket = self
            .proofs
            .submit(exercise, request, reply.clone(), Some(on_proven))?;
        self.proving.push((reply.clone(), ticket));
        Ok(())
    }
}

/// Queues an answer for one client. A client whose queue is full is not reading; its answer is dropped
/// rather than holding up the sandbox, and the rate limit keeps such answers few.
pub(crate) fn send_reply(reply: &mpsc::Sender<Utf8Bytes>, text: Utf8Bytes) {
    if reply.try_send(text).is_err() {
        tracing::debug!("a client's reply queue is full or closed; reply dropped");
    }
}

/// A rebuild failed although the same scenario built before: a bug. Logged; the client gets the generic text.
fn internal(id: SandboxId, error: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(sandbox = %id, %error, "cannot rebuild a sandbox's world");
    Refusal::new(ErrorCode::Internal, "Something went wrong on the server.")
}

/// A fresh seed below 2^53, from the operating system's randomness (through a v4 UUID).
pub fn random_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0 % MAX_RANDOM_SEED
}
