//! Workshop sessions: a facilitator runs a room, learners join with a code and get their own sandbox, the
//! facilitator watches progress live and steers everyone; a shared stage lets people act as consumers.
//!
//! # Layout
//! - `code`: join codes (`K7M-Q4X`). `token`: secret tokens and their hashes.
//! - `room`: one session in memory: settings, roster, each learner's run.
//! - `dashboard`: coalesced roster updates to the facilitator's dashboards.
//! - `stage`: the shared stage and who may act on which instance.
//! - `store`: SQLite in the data directory, written by one thread; restored at start.
//! - `error`: why a request is refused.
//!
//! Session sandboxes live in their own [`SandboxManager`], so the open `/ws/sandboxes/{id}` route cannot
//! reach them: only the session routes, after checking a token, hand one to a connection.
pub mod code;
pub mod dashboard;
pub mod error;
pub mod room;
pub mod stage;
pub mod store;
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

pub use code::JoinCode;
pub use error::SessionError;
pub use room::{LearnerView, Room, SessionView};
pub use stage::StageAction;
pub use store::{Store, StoreError};
pub use token::{Token, TokenHash};

use dashboard::DashboardMessage;
use room::{GoalBrief, Learner, RoomState, SavedRun};
use stage::{Stage, Volunteer};
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

/// A facilitator's action on the whole room, `POST /api/sessions/{code}/actions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Everyone starts `exercise` afresh.
    PushExercise {
        exercise: String,
    },
    PauseAll,
    ResumeAll,
    /// The same engine command in every learner's sandbox ("billing just crashed, for all of you").
    Fault {
        command: Command,
    },
    /// Show one learner's sandbox on the projector (read-only); `None` turns it off.
    Spotlight {
        learner: Option<u32>,
    },
    /// Tell everyone the next hint of the room's exercise.
    RevealHint,
    RevealSolution,
    /// Open the shared stage on `exercise`.
    OpenStage {
        exercise: String,
    },
    End,
}

/// What an action did, in words for the facilitator.
#[derive(Debug, Clone, Serialize)]
pub struct ActionOutcome {
    pub message: String,
}

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

    fn restore(&self, saved: Saved) {
        let mut runs: HashMap<(String, String), SavedRun> = HashMap::new();
        for row in saved.sandboxes {
            let (log, choices, design) = SavedRun::parse_log(&row.log_json).unwrap_or_else(|error| {
                tracing::warn!(session = %row.session, owner = %row.owner, %error, "a stored command log is unreadable; that sandbox starts afresh");
                (Vec::new(), Default::default(), Default::default())
            });
            runs.insert(
                (row.session, row.owner),
                SavedRun {
                    exercise: row.exercise,
                    seed: row.seed,
                    log: log.into(),
                    at: row.at_ms,
                    choices,
                    design,
                },
            );
        }
        let mut learners: HashMap<String, Vec<LearnerRow>> = HashMap::new();
        for row in saved.learners {
            learners.entry(row.session.clone()).or_default().push(row);
        }
        let mut volunteers: HashMap<String, Vec<VolunteerRow>> = HashMap::new();
        for row in saved.volunteers {
            volunteers.entry(row.session.clone()).or_default().push(row);
        }
        let mut rooms = self.rooms();
        for row in saved.sessions {
            let Ok(code) = JoinCode::parse(&row.code) else {
                tracing::warn!(code = %row.code, "skipping a stored session with an invalid code");
                continue;
            };
            let mut state = RoomState {
                exercise: row.exercise.clone(),
                hints_revealed: row.hints_revealed,
                solution_revealed: row.solution_revealed,
                spotlight: None,
                last_activity_ms: row.last_activity_ms,
                learners: Vec::new(),
                by_token: HashMap::new(),
                stage: Stage::default(),
            };
            for l in learners.remove(&row.code).unwrap_or_default() {
                if l.id as usize != state.learners.len() {
                    tracing::warn!(session = %row.code, learner = l.id, "skipping a stored learner out of sequence");
                    continue;
                }
                let run = runs
                    .remove(&(row.code.clone(), owner_learner(l.id)))
                    .unwrap_or_else(|| {
                        SavedRun::fresh(&l.exercise, self.default_seed(&l.exercise))
                    });
                let token = TokenHash(l.token_hash);
                let mut learner = Learner::new(l.id, l.name, token, run);
                learner.hints_used = l.hints_used;
                learner.goals = GoalBrief::parse_stored(&l.goals_json);
                learner.last_activity_ms = l.last_activity_ms;
                state.by_token.insert(token, l.id);
                state.learners.push(learner);
            }
            if let Some(run) = runs.remove(&(row.code.clone(), OWNER_STAGE.to_owned())) {
                state.stage.open(run);
                // The rebuilt stage replays the same volunteer commands: each instance gets its owner back.
                for v in volunteers.remove(&row.code).unwrap_or_default() {
                    state.stage.enlist(
                        v.learner,
                        Volunteer {
                            name: v.name,
                            consumer: v.consumer,
                            instance: v.instance,
                            offline: v.offline,
                        },
                    );
                }
            }
            let room = Room::new(
                code.clone(),
                TokenHash(row.facilitator_hash),
                row.created_ms,
                state,
                row.paused,
            );
            tracing::info!(session = %code, learners = room.lock().learners.len(), "session restored");
            rooms.insert(code, Arc::new(room));
        }
    }

    /// Starts the sweeper (stored times, idle expiry) once; it stops at shutdown after a last save.
    pub fn start(&self, shutdown: Shutdown) {
        if self.inner.sweeping.swap(true, Ordering::SeqCst) {
            return;
        }
        let sessions = self.clone();
        tokio::spawn(async move {
            let stopping = shutdown.triggered();
            tokio::pin!(stopping);
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            loop {
                tokio::select! {
                    _ = tick.tick() => sessions.sweep().await,
                    // The final save is the server's to make, after the last connection has closed:
                    // `save_before_exit`.
                    () = &mut stopping => return,
                }
            }
        });
    }

    /// The last save of a graceful stop, made once every connection has closed (so no sandbox runs any
    /// more): every sandbox's virtual time, then a flush. A restart then loses no virtual time.
    pub async fn save_before_exit(&self) -> bool {
        self.sweep().await;
        self.store().flush().await
    }

    /// Saves virtual times and activity that changed, and ends sessions idle past the limit.
    pub async fn sweep(&self) {
        self.sweep_at(now_ms()).await;
    }

    /// [`Sessions::sweep`] as if the wall clock read `now` (ms since the Unix epoch); tests pass times
    /// on either side of the idle limit.
    #[doc(hidden)]
    pub async fn sweep_at(&self, now: u64) {
        let idle_ms = u64::try_from(self.inner.limits.session_idle.as_millis()).unwrap_or(u64::MAX);
        let rooms: Vec<Arc<Room>> = self.rooms().values().cloned().collect();
        for room in rooms {
            if now.saturating_sub(room.lock().last_activity_ms.max(room.created_ms)) > idle_ms {
                tracing::info!(session = %room.code, "session idle past the limit; ending it");
                self.end(&room).await;
                continue;
            }
            let mut rows = Vec::new();
            {
                let mut state = room.lock();
                for learner in &mut state.learners {
                    let Some(at) = learner.sandbox.as_ref().map(|s| s.status().borrow().at) else {
                        continue;
                    };
                    if at != learner.run.at {
                        learner.run.at = at;
                        rows.push((
                            Some(learner.row(&room.code)),
                            learner.run.row(&room.code, owner_learner(learner.id)),
                        ));
                    }
                }
                let stage = &mut state.stage;
                let stage_at = stage.sandbox.as_ref().map(|s| s.status().borrow().at);
                if let (Some(at), Some(run)) = (stage_at, stage.run.as_mut())
                    && at != run.at
                {
                    run.at = at;
                    rows.push((None, run.row(&room.code, OWNER_STAGE.to_owned())));
                }
            }
            for (learner, sandbox) in rows {
                if let Some(learner) = learner {
                    self.store().learner(learner).await;
                }
                self.store().sandbox(sandbox).await;
            }
            self.store().session(room.session_row()).await;
        }
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
            let state = RoomState {
                exercise: exercise.to_owned(),
                hints_revealed: 0,
                solution_revealed: false,
                spotlight: None,
                last_activity_ms: now_ms(),
                learners: Vec::new(),
                by_token: HashMap::new(),
                stage: Stage::default(),
            };
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
        ensure_feed(&room);
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
        ensure_feed(&room);
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
                    entry.last_activity_ms = now;
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

    /// A facilitator's action on the room.
    pub async fn act(
        &self,
        room: &Arc<Room>,
        action: Action,
    ) -> Result<ActionOutcome, SessionError> {
        room.lock().last_activity_ms = now_ms();
        let message = match action {
            Action::PushExercise { exercise } => self.push_exercise(room, &exercise).await?,
            Action::PauseAll => self.pause_all(room, true).await,
            Action::ResumeAll => self.pause_all(room, false).await,
            Action::Fault { command } => self.fault(room, command).await,
            Action::Spotlight { learner } => self.spotlight(room, learner)?,
            Action::RevealHint => self.reveal_hint(room)?,
            Action::RevealSolution => self.reveal_solution(room)?,
            Action::OpenStage { exercise } => self.open_stage(room, &exercise).await?,
            Action::End => {
                self.end(room).await;
                "The session has ended.".to_owned()
            }
        };
        self.send_session(room);
        self.store().session(room.session_row()).await;
        Ok(ActionOutcome { message })
    }

    async fn push_exercise(
        &self,
        room: &Arc<Room>,
        exercise: &str,
    ) -> Result<String, SessionError> {
        let entry = self
            .inner
            .catalog
            .get(exercise)
            .ok_or_else(|| SessionError::UnknownExercise(exercise.to_owned()))?;
        let mut replaced = Vec::new();
        let rows = {
            let mut state = room.lock();
            state.exercise = exercise.to_owned();
            state.hints_revealed = 0;
            state.solution_revealed = false;
            state
                .learners
                .iter_mut()
                .map(|learner| {
                    learner.run = SavedRun::fresh(exercise, entry.default_seed);
                    learner.goals.clear();
                    learner.hints_used = 0;
                    // The old sandbox ends below, once its connections are told why.
                    replaced.extend(learner.sandbox.take());
                    (
                        learner.row(&room.code),
                        learner.run.row(&room.code, owner_learner(learner.id)),
                    )
                })
                .collect::<Vec<_>>()
        };
        room.tell_learners(Outside::Text(protocol::notice(&format!(
            "Your facilitator started “{}”. Reload the page to open it.",
            entry.title
        ))));
        room.tell_learners(Outside::Close {
            code: CLOSE_EXERCISE_CHANGED,
            reason: "new exercise: reload the page",
        });
        // The spotlight page was drawn for the old exercise: it reloads too.
        let _ = room.spotlight_viewers.send(Outside::Close {
            code: CLOSE_EXERCISE_CHANGED,
            reason: "new exercise: reload the page",
        });
        for handle in &replaced {
            self.inner.sandboxes.stop(handle).await;
        }
        for (learner, _) in &rows {
            room.feed.mark(learner.id);
        }
        let count = rows.len();
        for (learner, sandbox) in rows {
            self.store().learner(learner).await;
            self.store().sandbox(sandbox).await;
        }
        Ok(format!("{count} learners moved to “{}”.", entry.title))
    }

    async fn pause_all(&self, room: &Arc<Room>, pause: bool) -> String {
        room.set_paused(pause);
        let handles = self.running(room);
        for handle in &handles {
            request(
                handle,
                if pause {
                    ClientMessage::Pause
                } else {
                    ClientMessage::Play
                },
            );
        }
        room.tell_learners(Outside::Text(protocol::notice(if pause {
            "Your facilitator paused everyone's sandbox."
        } else {
            "Your facilitator resumed everyone's sandbox."
        })));
        if pause {
            format!("Paused {} sandboxes.", handles.len())
        } else {
            format!("Resumed {} sandboxes.", handles.len())
        }
    }

    fn running(&self, room: &Room) -> Vec<SandboxHandle> {
        room.lock()
            .learners
            .iter()
            .filter_map(|l| l.sandbox.clone())
            .collect()
    }

    /// Applies `command` in every learner's sandbox, starting the ones nobody has open, and reports how
    /// many accepted it.
    async fn fault(&self, room: &Arc<Room>, command: Command) -> String {
        let count = room.lock().learners.len();
        let mut checks = Vec::with_capacity(count);
        let mut refused: Vec<String> = Vec::new();
        for learner in 0..count {
            let learner = u32::try_from(learner).unwrap_or(u32::MAX);
            match self.learner_sandbox(room, learner) {
                Ok(handle) => checks.push(tokio::spawn(checked(
                    handle,
                    ClientMessage::Command {
                        command: command.clone(),
                    },
                ))),
                Err(error) => refused.push(error.to_string()),
            }
        }
        let mut accepted = 0;
        for check in checks {
            match check.await {
                Ok(Ok(())) => accepted += 1,
                Ok(Err(reason)) => refused.push(reason),
                Err(error) => refused.push(error.to_string()),
            }
        }
        let label = command.label();
        if accepted > 0 {
            room.tell_learners(Outside::Text(protocol::notice(&format!(
                "Your facilitator injected a fault for everyone: {label}."
            ))));
        }
        let mut message = format!("{label}: applied in {accepted} of {count} sandboxes.");
        if let Some(first) = refused.first() {
            message.push_str(&format!(" Refused by {}: {first}", refused.len()));
        }
        message
    }

    fn spotlight(&self, room: &Arc<Room>, learner: Option<u32>) -> Result<String, SessionError> {
        let name = {
            let mut state = room.lock();
            let name = match learner {
                Some(id) => Some(
                    state
                        .learners
                        .get(id as usize)
                        .ok_or(SessionError::NotFound)?
                        .name
                        .clone(),
                ),
                None => None,
            };
            state.spotlight = learner;
            if let Some(id) = learner
                && let Some(entry) = state.learners.get(id as usize)
            {
                let _ = entry.outside.send(Outside::Text(protocol::notice(
                    "Your sandbox is on the projector now (read-only for everyone else).",
                )));
            }
            name
        };
        // Viewers reconnect and land on the new sandbox.
        let _ = room.spotlight_viewers.send(Outside::Close {
            code: CLOSE_RECONNECT,
            reason: "the spotlight moved",
        });
        Ok(match name {
            Some(name) => format!("{name} is in the spotlight."),
            None => "Spotlight off.".to_owned(),
        })
    }

    fn reveal_hint(&self, room: &Arc<Room>) -> Result<String, SessionError> {
        let (exercise, index) = {
            let mut state = room.lock();
            let exercise = self
                .inner
                .catalog
                .get(&state.exercise)
                .ok_or_else(|| SessionError::UnknownExercise(state.exercise.clone()))?;
            if state.hints_revealed as usize >= exercise.hints.len() {
                return Err(SessionError::BadRequest(
                    "Every hint of this exercise is already revealed.".to_owned(),
                ));
            }
            state.hints_revealed += 1;
            let revealed = state.hints_revealed;
            for learner in &mut state.learners {
                learner.hints_used = learner.hints_used.max(revealed);
                room.feed.mark(learner.id);
            }
            (exercise, revealed as usize)
        };
        let hint = plain_text(&exercise.hints[index - 1]);
        room.tell_learners(Outside::Text(protocol::notice(&format!(
            "Hint {index} from your facilitator: {hint}"
        ))));
        Ok(format!(
            "Hint {index} of {} revealed.",
            exercise.hints.len()
        ))
    }

    fn reveal_solution(&self, room: &Arc<Room>) -> Result<String, SessionError> {
        let exercise = {
            let mut state = room.lock();
            state.solution_revealed = true;
            self.inner
                .catalog
                .get(&state.exercise)
                .ok_or_else(|| SessionError::UnknownExercise(state.exercise.clone()))?
        };
        let knobs: Vec<String> = exercise
            .solution
            .knobs
            .iter()
            .map(|(knob, option)| format!("{knob} = {option}"))
            .collect();
        let mut text = format!(
            "Solution: {}",
            plain_text(&exercise.solution.explanation_html)
        );
        if !knobs.is_empty() {
            text.push_str(&format!(" (settings: {})", knobs.join(", ")));
        }
        room.tell_learners(Outside::Text(protocol::notice(&text)));
        Ok("Solution revealed.".to_owned())
    }

    async fn open_stage(&self, room: &Arc<Room>, exercise: &str) -> Result<String, SessionError> {
        let entry = self
            .inner
            .catalog
            .get(exercise)
            .ok_or_else(|| SessionError::UnknownExercise(exercise.to_owned()))?;
        let run = SavedRun::fresh(exercise, entry.default_seed);
        let row = run.row(&room.code, OWNER_STAGE.to_owned());
        {
            let mut state = room.lock();
            state.stage.open(run);
            let _ = state.stage.viewers.send(Outside::Close {
                code: CLOSE_RECONNECT,
                reason: "a new stage opened",
            });
        }
        self.store().clear_volunteers(room.code.as_str()).await;
        self.store().sandbox(row).await;
        self.stage_sandbox(room)?;
        room.tell_learners(Outside::Text(protocol::notice(
            "The shared stage is open: watch it and volunteer from the session page.",
        )));
        Ok(format!("The stage is open on “{}”.", entry.title))
    }

    /// A learner's action on the shared stage, on their own instance only.
    pub async fn stage_action(
        &self,
        room: &Arc<Room>,
        learner: u32,
        action: StageAction,
    ) -> Result<StageOutcome, SessionError> {
        let handle = self.stage_sandbox(room)?;
        let name = {
            let mut state = room.lock();
            state.last_activity_ms = now_ms();
            state
                .learners
                .get(learner as usize)
                .map(|l| l.name.clone())
                .unwrap_or_default()
        };
        let outcome = match &action {
            StageAction::Volunteer { consumer } => {
                room.lock().stage.check_volunteer(learner)?;
                // One volunteer at a time per room, so the new instance is unambiguous.
                let _turn = room.stage_turn.lock().await;
                checked(
                    handle.clone(),
                    ClientMessage::Command {
                        command: Command::Volunteer {
                            consumer: consumer.clone(),
                        },
                    },
                )
                .await
                .map_err(SessionError::BadRequest)?;
                let snapshot = handle
                    .snapshot()
                    .await
                    .ok_or_else(|| SessionError::BadRequest("The stage has ended.".to_owned()))?;
                let taken = room.lock().stage.taken(consumer);
                let instance = stage::new_manual_instance(&snapshot.text, consumer, &taken)
                    .ok_or_else(|| {
                        SessionError::BadRequest("No instance could be added.".to_owned())
                    })?;
                room.lock().stage.enlist(
                    learner,
                    Volunteer {
                        name,
                        consumer: consumer.clone(),
                        instance,
                        offline: false,
                    },
                );
                StageOutcome {
                    consumer: Some(consumer.clone()),
                    instance: Some(instance),
                }
            }
            StageAction::Settle { .. } | StageAction::Leave => {
                let command = room.lock().stage.command_for(learner, &action)?;
                checked(handle, ClientMessage::Command { command })
                    .await
                    .map_err(SessionError::BadRequest)?;
                if matches!(action, StageAction::Leave) {
                    room.lock().stage.mark_offline(learner);
                }
                let state = room.lock();
                let mine = state.stage.volunteer_of(learner);
                StageOutcome {
                    consumer: mine.map(|v| v.consumer.clone()),
                    instance: mine.map(|v| v.instance),
                }
            }
        };
        let saved = room
            .lock()
            .stage
            .volunteer_of(learner)
            .map(|v| VolunteerRow {
                session: room.code.as_str().to_owned(),
                learner,
                name: v.name.clone(),
                consumer: v.consumer.clone(),
                instance: v.instance,
                offline: v.offline,
            });
        if let Some(row) = saved {
            self.store().volunteer(row).await;
        }
        self.send_session(room);
        Ok(outcome)
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
        let health = self.store().health();
        let store_error = health.borrow().clone();
        DashboardMessage::Roster {
            session: &session,
            learners: &learners,
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

/// What a stage action left the learner with.
#[derive(Debug, Clone, Serialize)]
pub struct StageOutcome {
    pub consumer: Option<String>,
    pub instance: Option<u32>,
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
                    let goals = GoalBrief::of(&current.goals);
                    if goals != learner.goals {
                        learner.goals = goals;
                        learner.goals_changed_us = unix_micros();
                    }
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
fn ensure_feed(room: &Arc<Room>) {
    if room.start_feed() {
        tokio::spawn(dashboard::run_feed(Arc::downgrade(room)));
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
