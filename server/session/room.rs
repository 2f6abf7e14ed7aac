//! One session in memory: the facilitator's token hash, the room's exercise and controls, the roster with
//! each learner's progress and the run that rebuilds their sandbox.
//!
//! A std Mutex guards the state: it is held for reads and small updates, never across an `.await`, so
//! the async parts (sandboxes, store, connections) are reached after the guard is dropped.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::engine::Millis;
use crate::exercise::prove::ProofBrief;
use crate::exercise::{Choices, Design, GoalState, GoalStatus};
use crate::sandbox::SandboxHandle;
use crate::sandbox::client::Outside;
use crate::sandbox::protocol::ClientMessage;
use crate::sandbox::run_file::TimedCommand;

use super::code::JoinCode;
use super::dashboard::Feed;
use super::stage::Stage;
use super::store::{LearnerRow, SandboxRow, SessionRow};
use super::timer::{Timer, TimerView};
use super::token::TokenHash;

/// Notices buffered per connection stream. A connection that misses some keeps its sandbox; notices are
/// a courtesy, the sandbox's own frames are the truth.
pub const OUTSIDE_BUFFER: usize = 16;
/// Longest display name; longer ones are cut.
pub const MAX_NAME_CHARS: usize = 40;

/// Where a learner's (or the stage's) run is: what rebuilds its sandbox exactly.
#[derive(Debug, Clone)]
pub struct SavedRun {
    pub exercise: String,
    pub seed: u64,
    pub log: Arc<[TimedCommand]>,
    pub at: Millis,
    /// The knob options the run was built with at 0 s.
    pub choices: Choices,
    /// The learner's Design.
    pub design: Design,
}

/// What the `log_json` column holds once a run has a Design: the log with the choices that rebuild it.
/// A bare array (a run without knob changes, or one stored before Designs) still reads.
#[derive(Debug, Serialize, serde::Deserialize)]
struct StoredLog {
    #[serde(default)]
    choices: Choices,
    #[serde(default)]
    design: Design,
    log: Vec<TimedCommand>,
}

impl SavedRun {
    pub fn fresh(exercise: &str, seed: u64) -> Self {
        Self {
            exercise: exercise.to_owned(),
            seed,
            log: Arc::from(Vec::new()),
            at: 0,
            choices: Choices::new(),
            design: Design::default(),
        }
    }

    /// Reads the `log_json` column: the timed log, with the Design when one was stored.
    pub fn parse_log(
        json: &str,
    ) -> Result<(Vec<TimedCommand>, Choices, Design), serde_json::Error> {
        if json.trim_start().starts_with('[') {
            return Ok((
                serde_json::from_str(json)?,
                Choices::new(),
                Design::default(),
            ));
        }
        let stored: StoredLog = serde_json::from_str(json)?;
        Ok((stored.log, stored.choices, stored.design))
    }

    pub fn row(&self, session: &JoinCode, owner: String) -> SandboxRow {
        SandboxRow {
            session: session.as_str().to_owned(),
            owner,
            exercise: self.exercise.clone(),
            seed: self.seed,
            log_json: if self.choices.is_empty() && self.design == Design::default() {
                serde_json::to_string(&*self.log)
            } else {
                serde_json::to_string(&StoredLog {
                    choices: self.choices.clone(),
                    design: self.design.clone(),
                    log: self.log.to_vec(),
                })
            }
            .unwrap_or_else(|_| "[]".to_owned()),
            at_ms: self.at,
        }
    }
}

/// One goal as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoalBrief {
    pub id: String,
    pub state: GoalState,
}

impl GoalBrief {
    /// Reads a stored goals snapshot; anything unreadable counts as pending (the sandbox corrects it).
    pub fn parse_stored(json: &str) -> Vec<GoalBrief> {
        #[derive(serde::Deserialize)]
        struct Stored {
            id: String,
            state: String,
        }
        serde_json::from_str::<Vec<Stored>>(json)
            .unwrap_or_default()
            .into_iter()
            .map(|g| GoalBrief {
                id: g.id,
                state: match g.state.as_str() {
                    "met" => GoalState::Met,
                    "broken" => GoalState::Broken,
                    _ => GoalState::Pending,
                },
            })
            .collect()
    }

    pub fn of(goals: &[GoalStatus]) -> Vec<GoalBrief> {
        goals
            .iter()
            .map(|g| GoalBrief {
                id: g.id.clone(),
                state: g.state,
            })
            .collect()
    }
}

#[derive(Debug)]
pub struct Learner {
    pub id: u32,
    pub name: String,
    pub token: TokenHash,
    pub hints_used: u32,
    pub goals: Vec<GoalBrief>,
    /// Wall-clock milliseconds since the Unix epoch of the learner's last message.
    pub last_activity_ms: u64,
    /// Wall-clock microseconds when the goals last changed, for measuring the dashboard's delay.
    pub goals_changed_us: u64,
    pub run: SavedRun,
    /// The verdict of the learner's last proof, while the server runs.
    pub last_proof: Option<ProofBrief>,
    /// How the learner has been working on the room's exercise: what the "stuck" flags and the results
    /// are made of.
    pub effort: Effort,
    pub sandbox: Option<SandboxHandle>,
    /// This learner's open connections: notices, and "close: your sandbox changed".
    pub outside: broadcast::Sender<Outside>,
}

impl Learner {
    pub fn new(id: u32, name: String, token: TokenHash, run: SavedRun) -> Self {
        Self {
            id,
            name,
            token,
            hints_used: 0,
            goals: Vec::new(),
            last_activity_ms: 0,
            goals_changed_us: 0,
            run,
            last_proof: None,
            effort: Effort::default(),
            sandbox: None,
            outside: broadcast::channel(OUTSIDE_BUFFER).0,
        }
    }

    pub fn row(&self, session: &JoinCode) -> LearnerRow {
        LearnerRow {
            session: session.as_str().to_owned(),
            id: self.id,
            name: self.name.clone(),
            token_hash: self.token.0,
            exercise: self.run.exercise.clone(),
            hints_used: self.hints_used,
            goals_json: serde_json::to_string(&self.goals).unwrap_or_else(|_| "[]".to_owned()),
            last_activity_ms: self.last_activity_ms,
        }
    }

    /// The roster line the dashboard shows.
    pub fn view(&self) -> LearnerView {
        LearnerView {
            id: self.id,
            name: self.name.clone(),
            exercise: self.run.exercise.clone(),
            goals_met: self
                .goals
                .iter()
                .filter(|g| g.state == GoalState::Met)
                .count(),
            goals_broken: self
                .goals
                .iter()
                .filter(|g| g.state == GoalState::Broken)
                .count(),
            goals_total: self.goals.len(),
            goals: self.goals.clone(),
            hints_used: self.hints_used,
            last_activity_ms: self.last_activity_ms,
            online: self.outside.receiver_count() > 0,
            at: self.run.at,
            commands: self.run.log.len(),
            goals_changed_us: self.goals_changed_us,
            design: self.run.design.choices.clone(),
            last_proof: self.last_proof.clone(),
            last_change_ms: self.effort.last_change_ms,
            resets_while_broken: self.effort.resets_while_broken,
            all_met_after_ms: self.effort.all_met_after_ms,
        }
    }

    /// Notes a message from the learner's page at wall-clock `now`: a command, a knob change, a reset or
    /// an imported run counts as a change; a reset while a goal is broken is counted.
    pub fn note(&mut self, message: &ClientMessage, now: u64) {
        self.last_activity_ms = now;
        let changes = matches!(
            message,
            ClientMessage::Command { .. }
                | ClientMessage::Choose { .. }
                | ClientMessage::Reset { .. }
                | ClientMessage::Import { .. }
        );
        if changes {
            self.effort.last_change_ms = now;
        }
        if matches!(message, ClientMessage::Reset { .. })
            && self.goals.iter().any(|g| g.state == GoalState::Broken)
        {
            self.effort.resets_while_broken = self.effort.resets_while_broken.saturating_add(1);
        }
    }

    /// Takes the goals the learner's sandbox reports at wall-clock `now`; true when they changed. The
    /// first time every goal is met at once is kept, as time since the learner started the exercise.
    pub fn set_goals(&mut self, goals: Vec<GoalBrief>, now_us: u64) -> bool {
        if goals == self.goals {
            return false;
        }
        let all_met = !goals.is_empty() && goals.iter().all(|g| g.state == GoalState::Met);
        if all_met && self.effort.all_met_after_ms.is_none() && self.effort.started_ms > 0 {
            self.effort.all_met_after_ms =
                Some((now_us / 1_000).saturating_sub(self.effort.started_ms));
        }
        self.goals = goals;
        self.goals_changed_us = now_us;
        true
    }

    /// The learner starts an exercise afresh at wall-clock `now` (joined, or the facilitator pushed one).
    pub fn start_exercise(&mut self, now: u64) {
        self.effort = Effort {
            started_ms: now,
            last_change_ms: now,
            ..Effort::default()
        };
    }
}

/// How a learner has been working on the room's exercise, kept while the server runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effort {
    /// Wall-clock milliseconds when the learner started the exercise.
    pub started_ms: u64,
    /// Wall-clock milliseconds of the last command, knob change, reset or import (or the start).
    pub last_change_ms: u64,
    /// Resets made while a goal was broken: trying the same thing again.
    pub resets_while_broken: u32,
    /// How long after the start every goal was first met at once.
    pub all_met_after_ms: Option<u64>,
}

/// A roster line, as JSON for the dashboard. Names are shown with `textContent`.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerView {
    pub id: u32,
    pub name: String,
    pub exercise: String,
    pub goals_met: usize,
    pub goals_broken: usize,
    pub goals_total: usize,
    pub goals: Vec<GoalBrief>,
    pub hints_used: u32,
    pub last_activity_ms: u64,
    pub online: bool,
    pub at: Millis,
    pub commands: usize,
    pub goals_changed_us: u64,
    /// The learner's Design as it differs from the exercise's default: knob id → option id.
    pub design: Choices,
    pub last_proof: Option<ProofBrief>,
    /// Wall-clock milliseconds of the learner's last command or knob change: the dashboard flags a
    /// learner as stuck after the facilitator's chosen number of minutes without one.
    pub last_change_ms: u64,
    pub resets_while_broken: u32,
    /// How long the learner took to meet every goal at once, the first time.
    pub all_met_after_ms: Option<u64>,
}

/// The room's own settings and the roster.
#[derive(Debug)]
pub struct RoomState {
    pub exercise: String,
    pub hints_revealed: u32,
    pub solution_revealed: bool,
    pub spotlight: Option<u32>,
    pub last_activity_ms: u64,
    pub learners: Vec<Learner>,
    pub by_token: HashMap<TokenHash, u32>,
    pub stage: Stage,
    /// The countdown for the current exercise, when the facilitator started one.
    pub timer: Option<Timer>,
    /// Whether learners see the countdown on their pages.
    pub timer_for_learners: bool,
}

impl RoomState {
    pub fn new(exercise: &str, last_activity_ms: u64) -> Self {
        Self {
            exercise: exercise.to_owned(),
            hints_revealed: 0,
            solution_revealed: false,
            spotlight: None,
            last_activity_ms,
            learners: Vec::new(),
            by_token: HashMap::new(),
            stage: Stage::default(),
            timer: None,
            timer_for_learners: false,
        }
    }

    /// A new connection of `learner`'s: it hears the room's notices, and is greeted after its snapshot with
    /// the countdown when learners are shown one.
    pub fn subscribe_learner(
        &self,
        learner: &Learner,
    ) -> (broadcast::Receiver<Outside>, Option<Utf8Bytes>) {
        let greeting = self
            .learners_timer(super::now_ms())
            .map(|timer| super::timer::learner_message(Some(timer)));
        (learner.outside.subscribe(), greeting)
    }

    /// The countdown learners are shown: `None` when there is none or it is for the facilitator only.
    pub fn learners_timer(&self, now: u64) -> Option<TimerView> {
        self.timer
            .filter(|_| self.timer_for_learners)
            .map(|timer| timer.view(now))
    }
}

#[derive(Debug)]
pub struct Room {
    pub code: JoinCode,
    facilitator: TokenHash,
    pub created_ms: u64,
    state: Mutex<RoomState>,
    /// Set while the facilitator has paused everyone: learners cannot play, step or send commands.
    paused: AtomicBool,
    ended: AtomicBool,
    pub feed: Feed,
    feed_started: AtomicBool,
    /// Viewers of the spotlighted sandbox; told to reconnect when the spotlight moves.
    pub spotlight_viewers: broadcast::Sender<Outside>,
    /// Taken while a volunteer joins the stage, so each new instance is matched to one person. A tokio
    /// Mutex: it is held across the sandbox's answer.
    pub stage_turn: tokio::sync::Mutex<()>,
}

impl Room {
    pub fn new(
        code: JoinCode,
        facilitator: TokenHash,
        created_ms: u64,
        state: RoomState,
        paused: bool,
    ) -> Self {
        Self {
            code,
            facilitator,
            created_ms,
            state: Mutex::new(state),
            paused: AtomicBool::new(paused),
            ended: AtomicBool::new(false),
            feed: Feed::new(),
            feed_started: AtomicBool::new(false),
            stage_turn: tokio::sync::Mutex::new(()),
            spotlight_viewers: broadcast::channel(OUTSIDE_BUFFER).0,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, RoomState> {
        // Every update is a few field writes that leave the state whole, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_facilitator(&self, presented: &TokenHash) -> bool {
        self.facilitator.matches(presented)
    }

    pub fn learner_by_token(&self, presented: &TokenHash) -> Option<u32> {
        self.lock().by_token.get(presented).copied()
    }

    /// True the first time only: the caller starts the dashboard feed.
    pub fn start_feed(&self) -> bool {
        !self.feed_started.swap(true, Ordering::SeqCst)
    }

    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    pub fn end(&self) {
        self.ended.store(true, Ordering::Relaxed);
    }

    pub fn session_row(&self) -> SessionRow {
        let state = self.lock();
        SessionRow {
            code: self.code.as_str().to_owned(),
            facilitator_hash: self.facilitator.0,
            exercise: state.exercise.clone(),
            created_ms: self.created_ms,
            last_activity_ms: state.last_activity_ms,
            hints_revealed: state.hints_revealed,
            solution_revealed: state.solution_revealed,
            paused: self.paused(),
        }
    }

    /// The room's settings as the dashboard shows them.
    pub fn summary(&self, max_learners: usize) -> SessionView {
        let state = self.lock();
        SessionView {
            code: self.code.to_string(),
            exercise: state.exercise.clone(),
            paused: self.paused(),
            hints_revealed: state.hints_revealed,
            solution_revealed: state.solution_revealed,
            spotlight: state.spotlight,
            learners: state.learners.len(),
            max_learners,
            stage: state.stage.exercise.clone(),
            volunteers: state.stage.volunteers(),
            timer: state.timer.map(|timer| timer.view(super::now_ms())),
            timer_for_learners: state.timer_for_learners,
        }
    }

    pub fn views(&self, ids: Option<&[u32]>) -> Vec<LearnerView> {
        let state = self.lock();
        match ids {
            None => state.learners.iter().map(Learner::view).collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| state.learners.get(*id as usize))
                .map(Learner::view)
                .collect(),
        }
    }

    /// Sends `text` to every learner connection.
    pub fn tell_learners(&self, message: Outside) {
        for learner in &self.lock().learners {
            // No receiver means the learner is not connected; the dashboard shows it.
            let _ = learner.outside.send(message.clone());
        }
    }
}

/// The room summary, as JSON for the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub code: String,
    pub exercise: String,
    pub paused: bool,
    pub hints_revealed: u32,
    pub solution_revealed: bool,
    pub spotlight: Option<u32>,
    pub learners: usize,
    pub max_learners: usize,
    pub stage: Option<String>,
    pub volunteers: Vec<super::stage::VolunteerView>,
    pub timer: Option<TimerView>,
    pub timer_for_learners: bool,
}

/// A display name as typed, trimmed and cut; `None` when nothing is left.
pub fn clean_name(name: &str) -> Option<String> {
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    (!name.is_empty()).then_some(name)
}
