//! Workshop sessions: a facilitator runs a room, learners join with a code and get their own sandbox, the
//! facilitator watches progress live and steers everyone; a shared stage lets people act as consumers.
//!
//! # Layout
//! - `code`: join codes (`K7M-Q4X`). `token`: secret tokens and their hashes.
//! - `room`: one session in memory: settings, roster, each learner's run.
//! - `dashboard`: coalesced roster updates to the facilitator's dashboards, with `aggregate`: the room as
//!   a whole (per-goal counts, the design distribution), in counts and ids, never names.
//! - `timer`: the room's countdown. `results`: the CSV and JSON the facilitator keeps.
//! - `stage`: the shared stage and who may act on which instance.
//! - `store`: SQLite in the data directory, written by one thread; restored at start.
//! - `persist`: restoring at start, the save every second and the idle sweep, the last save at exit.
//! - `actions`: the facilitator's actions on the whole room. `stage_actions`: a learner's on the stage.
//! - `error`: why a request is refused.
//!
//! Session sandboxes live in their own [`SandboxManager`], so the open `/ws/sandboxes/{id}` route cannot
//! reach them: only the session routes, after checking a token, hand one to a connection.
mod actions;
pub mod aggregate;
pub mod code;
pub mod dashboard;
pub mod error;
mod persist;
pub mod results;
pub mod room;
pub mod stage;
mod stage_actions;
pub mod store;
pub mod timer;
pub mod token;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::config::Limits;
use crate::engine::Command;
use crate::exercise::{Catalog, GoalState};
use crate::sandbox::client::{Guard, Outside};
use crate::sandbox::frame::unix_micros;
use crate::sandbox::protocol::{self, ClientMessage, ErrorCode};
use crate::sandbox::run::{Refusal, Run};
use crate::sandbox::run_file::RunFile;
use crate::sandbox::runtime::Request;
use crate::sandbox::{SandboxError, SandboxHandle, SandboxManager, SandboxSettings};
use crate::shutdown::Shutdown;

pub use actions::{Action, ActionOutcome};
pub use code::JoinCode;
pub use error::SessionError;
pub use room::{LearnerView, Room, SessionView};
pub use stage::StageAction;
pub use stage_actions::StageOutcome;
pub use store::{Store, StoreError};
pub use token::{Token, TokenHash};

use dashboard::DashboardMessage;
use room::{GoalBrief, Learner, RoomState, SavedRun};
use stage::Volunteer;
use store::{LearnerRow, Saved, VolunteerRow};

/// How often stored virtual times and activity are brought up to date, and idle sessions looked for.
/// A crash (SIGKILL, power loss) loses at most this much of a running sandbox's progress; its commands
/// are saved at once, and a graceful stop saves everything (see [`Sessions::save_before_exit`]). Each
/// sweep writes only the rows whose time moved: with 200 running learners, 200 small upserts a second in
/// SQLite's WAL mode.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Close codes for a learner's connections. 4xxx: the page's socket does not reconnect, the page says
/// to reload (the sandbox behind the page changed).
pub const CLOSE_EXERCISE_CHANGED: u16 = 4001;
pub const CLOSE_SESSION_ENDED: u16 = 4002;
/// 1012 ("service restart"): the page reconnects by itself and lands on the new sandbox.
pub const CLOSE_RECONNECT: u16 = 1012;
/// Replies a checked command can produce before its end marker; more would be a bug, not a reason to wait.
const CHECK_REPLIES: usize = 8;

/// Every session. Cloning is cheap: clones share one table.
#[derive(Debug, Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    // A std Mutex: held for a lookup or an insert, never across an `.await`.
    rooms: Mutex<HashMap<JoinCode, Arc<Room>>>,
    store: Store,
    sandboxes: SandboxManager,
    catalog: Catalog,
    limits: Limits,
    sweeping: AtomicBool,
}

impl Sessions {
    /// Opens the store in `data_dir` (in memory when `None`) and restores every stored session; their
    /// sandboxes are rebuilt when someone connects. Blocking (database reads).
    pub fn open(
        data_dir: Option<&Path>,
        catalog: Catalog,
        limits: Limits,
    ) -> Result<Self, StoreError> {
        let (store, saved) = Store::open(data_dir)?;
        let sessions = Self {
            inner: Arc::new(Inner {
                rooms: Mutex::new(HashMap::new()),
                store,
                sandboxes: SandboxManager::new(SandboxSettings::from_limits(&limits)),
                catalog,
                limits,
                sweeping: AtomicBool::new(false),
            }),
        };
        sessions.restore(saved);
        Ok(sessions)
    }

    /// The proof pool of the learners' sandboxes, for free play to share: one cap for the server.
    pub fn proofs(&self) -> std::sync::Arc<crate::sandbox::proofs::ProofPool> {
        self.inner.sandboxes.proofs()
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn sandboxes(&self) -> &SandboxManager {
        &self.inner.sandboxes
    }

    pub fn len(&self) -> usize {
        self.rooms().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<JoinCode, Arc<Room>>> {
        // Insert and remove are single calls: a poisoned table is still whole.
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn default_seed(&self, exercise: &str) -> u64 {
        self.inner
            .catalog
            .get(exercise)
            .map_or(0, |exercise| exercise.default_seed)
    }

    /// Starts a session on `exercise`; returns the room and the facilitator's token (shown once).
    pub async fn create(&self, exercise: &str) -> Result<(Arc<Room>, Token), SessionError> {
        if self.inner.catalog.get(exercise).is_none() {
            return Err(SessionError::UnknownExercise(exercise.to_owned()));
        }
        let token = Token::generate();
        let room = {
            let mut rooms = self.rooms();
            // Ended rooms leave the table at once; this only counts live ones.
            let max = self.inner.limits.max_sessions.get();
            if rooms.len() >= max {
                return Err(SessionError::TooManySessions { max });
            }
            let code = loop {
                let code = JoinCode::generate();
                if !rooms.contains_key(&code) {
                    break code;
                }
            };
            let state = RoomState::new(exercise, now_ms());
            let room = Arc::new(Room::new(
                code.clone(),
                token.hash(),
                now_ms(),
                state,
                false,
            ));
            rooms.insert(code, room.clone());
            room
        };
        ensure_feed(&room, &self.inner.catalog);
        self.store().session(room.session_row()).await;
        tracing::info!(session = %room.code, %exercise, "session started");
        Ok((room, token))
    }

    /// The live session with this code (typed by a person: any case, dash optional).
    pub fn find(&self, code: &str) -> Result<Arc<Room>, SessionError> {
        let code = JoinCode::parse(code).map_err(|_| SessionError::NotFound)?;
        let room = self
            .rooms()
            .get(&code)
            .cloned()
            .ok_or(SessionError::NotFound)?;
        ensure_feed(&room, &self.inner.catalog);
        Ok(room)
    }

    /// The learner whose token this is.
    pub fn learner(&self, room: &Room, token: Option<&str>) -> Result<u32, SessionError> {
        let token = token.ok_or(SessionError::Unauthorized)?;
        room.learner_by_token(&TokenHash::of(token))
            .ok_or(SessionError::Unauthorized)
    }

    /// Succeeds only with the room's facilitator token.
    pub fn facilitator(&self, room: &Room, token: Option<&str>) -> Result<(), SessionError> {
        let token = token.ok_or(SessionError::Unauthorized)?;
        if room.is_facilitator(&TokenHash::of(token)) {
            Ok(())
        } else if room.learner_by_token(&TokenHash::of(token)).is_some() {
            Err(SessionError::Forbidden)
        } else {
            Err(SessionError::Unauthorized)
        }
    }

    /// Adds a learner; returns their id and token (kept by their browser to come back).
    pub async fn join(&self, room: &Arc<Room>, name: &str) -> Result<(u32, Token), SessionError> {
        let name = room::clean_name(name)
            .ok_or_else(|| SessionError::BadRequest("Pick a display name.".to_owned()))?;
        let token = Token::generate();
        let row = {
            let mut state = room.lock();
            let max = self.inner.limits.max_learners.get();
            if state.learners.len() >= max {
                return Err(SessionError::RoomFull { max });
            }
            let id =
                u32::try_from(state.learners.len()).map_err(|_| SessionError::RoomFull { max })?;
            let exercise = state.exercise.clone();
            let run = SavedRun::fresh(&exercise, self.default_seed(&exercise));
            let mut learner = Learner::new(id, name, token.hash(), run);
            learner.last_activity_ms = now_ms();
            learner.start_exercise(learner.last_activity_ms);
            state.last_activity_ms = learner.last_activity_ms;
            state.by_token.insert(token.hash(), id);
            let row = learner.row(&room.code);
            state.learners.push(learner);
            row
        };
        let id = row.id;
        room.feed.mark(id);
        self.send_session(room);
        self.store().learner(row).await;
        Ok((id, token))
    }

    /// The learner's sandbox: the running one, or one rebuilt from their stored run.
    pub fn learner_sandbox(
        &self,
        room: &Arc<Room>,
        learner: u32,
    ) -> Result<SandboxHandle, SessionError> {
        let saved = {
            let state = room.lock();
            let entry = state
                .learners
                .get(learner as usize)
                .ok_or(SessionError::NotFound)?;
            if let Some(handle) = &entry.sandbox
                && self.inner.sandboxes.get(handle.id).is_some()
            {
                return Ok(handle.clone());
            }
            entry.run.clone()
        };
        let run = self.rebuild(&saved)?;
        let handle = self.inner.sandboxes.start(run)?;
        let winner = {
            let mut state = room.lock();
            let entry = state
                .learners
                .get_mut(learner as usize)
                .ok_or(SessionError::NotFound)?;
            match &entry.sandbox {
                // Two connections raced; keep the first sandbox, the second idles out unwatched.
                Some(other) if self.inner.sandboxes.get(other.id).is_some() => other.clone(),
                _ => {
                    entry.sandbox = Some(handle.clone());
                    handle
                }
            }
        };
        if room.paused() {
            request(&winner, ClientMessage::Pause);
        }
        tokio::spawn(watch_sandbox(
            self.clone(),
            Arc::downgrade(room),
            Owner::Learner(learner),
            winner.clone(),
        ));
        Ok(winner)
    }

    /// The stage's sandbox, started (or rebuilt) on first use.
    pub fn stage_sandbox(&self, room: &Arc<Room>) -> Result<SandboxHandle, SessionError> {
        let saved = {
            let state = room.lock();
            if let Some(handle) = &state.stage.sandbox
                && self.inner.sandboxes.get(handle.id).is_some()
            {
                return Ok(handle.clone());
            }
            state.stage.run.clone().ok_or_else(|| {
                SessionError::BadRequest("The facilitator has not opened the stage yet.".to_owned())
            })?
        };
        let handle = self.inner.sandboxes.start(self.rebuild(&saved)?)?;
        room.lock().stage.sandbox = Some(handle.clone());
        tokio::spawn(watch_sandbox(
            self.clone(),
            Arc::downgrade(room),
            Owner::Stage,
            handle.clone(),
        ));
        Ok(handle)
    }

    /// A run from its seed and timed command log, replayed to where it was.
    fn rebuild(&self, saved: &SavedRun) -> Result<Run, SessionError> {
        let exercise = self
            .inner
            .catalog
            .get(&saved.exercise)
            .ok_or_else(|| SessionError::UnknownExercise(saved.exercise.clone()))?;
        let recent = self.inner.sandboxes.settings().recent_events;
        let max_messages = self.inner.sandboxes.settings().max_messages;
        let mut run =
            Run::limited(exercise.clone(), saved.seed, recent, max_messages).map_err(|source| {
                SandboxError::Scenario {
                    exercise: exercise.id.clone(),
                    source,
                }
            })?;
        let designed = !saved.choices.is_empty() || saved.design != Default::default();
        if !saved.log.is_empty() || saved.at > 0 || designed {
            let file = RunFile::new(&exercise.id, saved.seed, saved.log.to_vec(), saved.at)
                .with_choices(saved.choices.clone())
                .with_design(saved.design.clone());
            if let Err(refusal) = run.import(file) {
                // The exercise file changed since the run was stored: the old log no longer fits.
                tracing::warn!(exercise = %exercise.id, reason = %refusal.message, "a stored run cannot be replayed; starting it afresh");
            }
        }
        Ok(run)
    }

    /// The guard on a learner's own sandbox connection: notes activity and hints opened, and refuses
    /// running the sandbox while the facilitator has paused the room.
    pub fn learner_guard(&self, room: &Arc<Room>, learner: u32) -> Guard {
        let room = Arc::downgrade(room);
        let sessions = self.clone();
        Arc::new(move |message: &ClientMessage| {
            let Some(room) = room.upgrade() else {
                return Err(Refusal::new(ErrorCode::Gone, "This session has ended."));
            };
            let now = now_ms();
            {
                let mut state = room.lock();
                state.last_activity_ms = now;
                if let Some(entry) = state.learners.get_mut(learner as usize) {
                    entry.note(message, now);
                }
            }
            room.feed.mark(learner);
            if let ClientMessage::Hint { index } = message {
                sessions.hint_opened(&room, learner, *index);
                return Ok(());
            }
            let runs = matches!(
                message,
                ClientMessage::Play
                    | ClientMessage::Step
                    | ClientMessage::Command { .. }
                    | ClientMessage::Seek { .. }
                    | ClientMessage::Reset { .. }
                    | ClientMessage::Import { .. }
            );
            if runs && room.paused() {
                return Err(Refusal::new(
                    ErrorCode::NotAllowed,
                    "The facilitator has paused the session; wait for them to resume it.",
                ));
            }
            Ok(())
        })
    }

    /// A learner opened hint `index` (from 0) on their page: "hints used" counts the hints they have
    /// seen, at most the exercise's. Called from a connection's guard, which cannot wait, so the store
    /// write is spawned.
    fn hint_opened(&self, room: &Room, learner: u32, index: u32) {
        let row = {
            let mut state = room.lock();
            let Some(entry) = state.learners.get_mut(learner as usize) else {
                return;
            };
            let hints = self
                .inner
                .catalog
                .get(&entry.run.exercise)
                .map_or(0, |exercise| exercise.hints.len());
            let seen = index
                .saturating_add(1)
                .min(u32::try_from(hints).unwrap_or(u32::MAX));
            if seen <= entry.hints_used {
                return;
            }
            entry.hints_used = seen;
            entry.row(&room.code)
        };
        room.feed.mark(learner);
        let store = self.store().clone();
        tokio::spawn(async move { store.learner(row).await });
    }

    /// The guard of a viewer who may look but not touch (spotlight, a learner on the stage). Hints they
    /// open are theirs alone and pass (the connection drops them).
    pub fn read_only_guard() -> Guard {
        Arc::new(|message: &ClientMessage| match message {
            ClientMessage::InspectDlq { .. }
            | ClientMessage::Export
            | ClientMessage::Hint { .. } => Ok(()),
            _ => Err(Refusal::new(
                ErrorCode::NotAllowed,
                "This view is read-only: it is someone else's sandbox.",
            )),
        })
    }

    /// Ends a session: everyone is told, connections close, the store forgets it.
    pub async fn end(&self, room: &Arc<Room>) {
        room.end();
        self.rooms().remove(&room.code);
        room.tell_learners(Outside::Text(protocol::notice(
            "The session has ended. Thank you for taking part!",
        )));
        room.tell_learners(Outside::Close {
            code: CLOSE_SESSION_ENDED,
            reason: "the session has ended",
        });
        let closing = Outside::Close {
            code: CLOSE_SESSION_ENDED,
            reason: "the session has ended",
        };
        let _ = room.spotlight_viewers.send(closing.clone());
        let _ = room.lock().stage.viewers.send(closing);
        room.feed.send(&DashboardMessage::Notice {
            message: "The session has ended.",
            error: false,
        });
        room.feed.close();
        self.store().delete_session(room.code.as_str()).await;
        tracing::info!(session = %room.code, "session ended");
    }

    /// The whole roster, as a dashboard is sent it on connect.
    pub fn roster(&self, room: &Room) -> Utf8Bytes {
        let session = room.summary(self.inner.limits.max_learners.get());
        let learners = room.views(None);
        let aggregate = dashboard::aggregate(&self.inner.catalog, &session.exercise, &learners);
        let health = self.store().health();
        let store_error = health.borrow().clone();
        DashboardMessage::Roster {
            session: &session,
            learners: &learners,
            room: aggregate.as_ref(),
            store_error: store_error.as_deref(),
        }
        .encode()
    }

    fn send_session(&self, room: &Room) {
        let session = room.summary(self.inner.limits.max_learners.get());
        room.feed
            .send(&DashboardMessage::Session { session: &session });
    }
}

const OWNER_STAGE: &str = "stage";

fn owner_learner(id: u32) -> String {
    format!("learner:{id}")
}

#[derive(Debug, Clone, Copy)]
enum Owner {
    Learner(u32),
    Stage,
}

/// Follows one sandbox's status: progress to the roster and the dashboards, the run to the store.
/// Ends with the sandbox (after a last save) or when the sandbox is no longer the owner's.
async fn watch_sandbox(sessions: Sessions, room: Weak<Room>, owner: Owner, handle: SandboxHandle) {
    let mut status = handle.status();
    loop {
        let alive = status.changed().await.is_ok();
        let Some(room) = room.upgrade() else {
            return;
        };
        if room.ended() {
            return;
        }
        let current = status.borrow_and_update().clone();
        let rows = {
            let mut state = room.lock();
            match owner {
                Owner::Learner(id) => {
                    let Some(learner) = state.learners.get_mut(id as usize) else {
                        return;
                    };
                    if learner.sandbox.as_ref().map(|s| s.id) != Some(handle.id) {
                        return;
                    }
                    learner.set_goals(GoalBrief::of(&current.goals), unix_micros());
                    learner.run.seed = current.seed;
                    learner.run.log = current.log.clone();
                    learner.run.at = current.at;
                    learner.run.choices = current.choices.clone();
                    learner.run.design = current.design.clone();
                    learner.last_proof = current.last_proof.clone();
                    if !alive {
                        learner.sandbox = None;
                    }
                    (
                        Some(learner.row(&room.code)),
                        learner.run.row(&room.code, owner_learner(id)),
                    )
                }
                Owner::Stage => {
                    if state.stage.sandbox.as_ref().map(|s| s.id) != Some(handle.id) {
                        return;
                    }
                    let Some(run) = state.stage.run.as_mut() else {
                        return;
                    };
                    run.seed = current.seed;
                    run.log = current.log.clone();
                    run.at = current.at;
                    run.choices = current.choices.clone();
                    run.design = current.design.clone();
                    (None, run.row(&room.code, OWNER_STAGE.to_owned()))
                }
            }
        };
        if let (Owner::Learner(id), Some(_)) = (owner, &rows.0) {
            room.feed.mark(id);
        }
        if let Some(learner) = rows.0 {
            sessions.store().learner(learner).await;
        }
        sessions.store().sandbox(rows.1).await;
        if !alive {
            return;
        }
    }
}

/// Starts the room's dashboard feed once.
fn ensure_feed(room: &Arc<Room>, catalog: &Catalog) {
    if room.start_feed() {
        tokio::spawn(dashboard::run_feed(Arc::downgrade(room), catalog.clone()));
    }
}

/// Queues a message for a sandbox without waiting for its answer (pause and play cannot be refused).
fn request(handle: &SandboxHandle, message: ClientMessage) {
    // A dummy reply queue: nobody reads what these produce.
    let (reply, _) = mpsc::channel(1);
    if let Err(error) = handle.try_request(Request::Client { message, reply }) {
        tracing::debug!(sandbox = %handle.id, %error, "a session request was not queued");
    }
}

/// Sends `message` and waits until the sandbox has handled it: `Err` with the refusal's text if it was
/// refused. The sandbox only answers refusals, so an end marker follows the message: a speed out of
/// range, refused with `bad_request`, a code no command refusal uses. Whatever arrives before the
/// marker is the message's own refusal.
pub async fn checked(handle: SandboxHandle, message: ClientMessage) -> Result<(), String> {
    let (reply, mut replies) = mpsc::channel(CHECK_REPLIES);
    let marker = ClientMessage::Speed { speed: -1.0 };
    handle
        .try_request(Request::Client {
            message,
            reply: reply.clone(),
        })
        .and_then(|()| {
            handle.try_request(Request::Client {
                message: marker,
                reply,
            })
        })
        .map_err(|error| error.to_string())?;
    let mut refusal = None;
    while let Some(text) = replies.recv().await {
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if value["code"] == "bad_request" {
            break;
        }
        refusal.get_or_insert_with(|| value["message"].as_str().unwrap_or("refused").to_owned());
    }
    refusal.map_or(Ok(()), Err)
}

/// Text of a hint or an explanation (safe HTML from the exercise loader) for a notice, which browsers
/// show as text: tags dropped, the few entities the renderer writes decoded.
fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    unix_micros() / 1_000
}

/// Whether any goal of these is met (for tests and the load test).
pub fn goals_met(goals: &[GoalBrief]) -> usize {
    goals.iter().filter(|g| g.state == GoalState::Met).count()
}
