//! One run of an exercise: the world, its goal tracker, the seed and the timed command log.
//!
//! No tokio and no clock here: the sandbox task says how far virtual time moves. Because one seed and one
//! timed log always give one run, going back in time is a rebuild: a new world from the seed, the logged
//! commands up to the instant replayed, then `advance_to` it.
use std::collections::VecDeque;
use std::sync::Arc;

use crate::engine::{
    CommandError, DeadLetterView, Millis, ScenarioError, TraceEvent, TraceKind, World,
};
use crate::exercise::bill::Bill;
use crate::exercise::model::Choices;
use crate::exercise::{Design, Exercise, GoalStatus, GoalTracker, TimedAction, start_world};

use super::protocol::{ErrorCode, Marker};
use super::run_file::{MAX_LOGGED_COMMANDS, RunFile, RunFileError, TimedCommand};

/// Events kept for the next frame. Past it the run stops keeping them and the next broadcast is a
/// snapshot instead (a seek far ahead, or a very busy scenario at 20x), so a frame stays small and the
/// browser resyncs from the recent-events ring.
pub const MAX_EVENTS_PER_FRAME: usize = 1_000;

/// Virtual time advanced between two drains of the trace when a rebuild or a seek covers a long span,
/// so the undrained trace stays small.
const ADVANCE_CHUNK_MS: Millis = 1_000;

/// Alert firings and resolutions drawn on the timeline; past it a flapping rule's further changes are
/// only in the log, and the timeline stays readable (and small in every snapshot).
pub const MAX_ALERT_MARKERS: usize = 200;

/// Why a client's request was refused: a protocol error code and a text for the learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The run reached the exercise's end; only a reset or a seek back continues it.
    pub fn finished() -> Self {
        Self::new(
            ErrorCode::Finished,
            "The run has reached the end of the exercise: reset, or seek back to try something else.",
        )
    }
}

/// What choosing a knob did to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// It was the Design's choice already.
    Unchanged,
    /// The running world changed now.
    Live,
    /// The run was rebuilt from 0 s with the new Design.
    Restarted,
}

pub struct Run {
    exercise: Arc<Exercise>,
    seed: u64,
    /// The knob options the world was built with at 0 s: with the seed and the log, they rebuild the run.
    choices: Choices,
    /// The learner's Design: what they have chosen now. It outlives the run: a reset, a new seed, a seek
    /// or a fork keeps it; only a choice changes it.
    design: Design,
    world: World,
    tracker: GoalTracker,
    /// The timed command log. After a seek back, the commands past `now` stay until the learner forks.
    log: Vec<TimedCommand>,
    /// How many commands of `log` the world has applied.
    applied: usize,
    /// The most recent events, for snapshots; at most `recent_cap`, oldest dropped first.
    recent: VecDeque<TraceEvent>,
    recent_cap: usize,
    /// Messages the world may create; part of the run's configuration, kept across rebuilds.
    message_cap: u64,
    /// Faults and changes on the timeline. Bounded by the scenario's faults plus the logged commands.
    markers: Vec<Marker>,
    /// Markers of alerts so far, held to MAX_ALERT_MARKERS.
    alert_markers: usize,
    /// Markers not yet sent in a frame start here.
    markers_sent: usize,
    /// Events since the last frame, at most [`MAX_EVENTS_PER_FRAME`].
    pending: Vec<TraceEvent>,
    /// Set when `pending` could not hold every event: the next broadcast must be a snapshot.
    overflowed: bool,
    history_ms: Millis,
    finished: bool,
    /// The log past now is a loaded recording (a run file saved mid-way, a proof's counterexample): play
    /// goes on through it instead of forking, until the learner seeks or sends a command.
    recording: bool,
}

impl Run {
    /// A run whose world may create at most `message_cap` messages (the sandbox's configured cap).
    pub fn limited(
        exercise: Arc<Exercise>,
        seed: u64,
        recent_cap: usize,
        message_cap: u64,
    ) -> Result<Self, ScenarioError> {
        Self::designed(exercise, seed, Choices::new(), recent_cap, message_cap).map_err(|refusal| {
            ScenarioError {
                field: "knobs".into(),
                reason: refusal.message,
            }
        })
    }

    /// A run of this exercise built from these knob options at 0 s, with this run's caps.
    fn with_choices(&self, seed: u64, choices: Choices) -> Result<Self, Refusal> {
        Self::designed(
            self.exercise.clone(),
            seed,
            choices,
            self.recent_cap,
            self.message_cap,
        )
    }

    /// A run of the exercise under this Design (knob id → option id) from 0 s, with the given caps.
    pub fn designed(
        exercise: Arc<Exercise>,
        seed: u64,
        choices: Choices,
        recent_cap: usize,
        message_cap: u64,
    ) -> Result<Self, Refusal> {
        let choices = exercise
            .normalize(&choices)
            .map_err(|e| Refusal::new(ErrorCode::NotAllowed, e.to_string()))?;
        let world = start_world(&exercise, &choices, seed, Some(message_cap))
            .map_err(|e| Refusal::new(ErrorCode::NotAllowed, e.to_string()))?;
        let tracker = GoalTracker::new(&exercise);
        let mut run = Self {
            exercise,
            seed,
            design: Design::from_start(choices.clone()),
            choices,
            world,
            tracker,
            log: Vec::new(),
            applied: 0,
            recent: VecDeque::with_capacity(recent_cap.min(4_096)),
            recent_cap: recent_cap.max(1),
            message_cap,
            markers: Vec::new(),
            alert_markers: 0,
            markers_sent: 0,
            pending: Vec::new(),
            overflowed: false,
            history_ms: 0,
            finished: false,
            recording: false,
        };
        // Whatever is due at time 0 happens at once, so every state the run shows is "everything up to
        // now has happened" and a step always moves time forward.
        run.advance_to(0);
        Ok(run)
    }

    /// The exercise, shared, for work done away from the run (a replay).
    pub fn exercise_arc(&self) -> Arc<Exercise> {
        self.exercise.clone()
    }

    pub fn exercise(&self) -> &Exercise {
        &self.exercise
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The knob options the world was built with at 0 s.
    pub fn choices(&self) -> &Choices {
        &self.choices
    }

    /// The learner's Design now.
    pub fn design(&self) -> &Design {
        &self.design
    }

    /// Sets one knob of the Design. A live knob changes the running world now, through a logged
    /// `set_design`; any other knob, or any knob once the run has finished, rebuilds the run from 0 s
    /// with the new Design and the same seed. An unknown knob or option leaves everything as it was.
    pub fn choose(&mut self, knob_id: &str, option_id: &str) -> Result<Chosen, Refusal> {
        let not_allowed =
            |e: &dyn std::fmt::Display| Refusal::new(ErrorCode::NotAllowed, e.to_string());
        let mut choices = self.design.choices.clone();
        choices.insert(knob_id.to_owned(), option_id.to_owned());
        // Refuses an unknown knob or option before anything changes.
        let choices = self
            .exercise
            .normalize(&choices)
            .map_err(|e| not_allowed(&e))?;
        let live = self.exercise.knob(knob_id).is_some_and(|k| k.live);
        if choices == self.design.choices {
            return Ok(Chosen::Unchanged);
        }
        if live && !self.finished {
            let command = self
                .exercise
                .live_command(&self.world, knob_id, option_id)
                .map_err(|e| not_allowed(&e))?;
            self.command(command)?;
            self.design.choices = choices;
            self.design.since_ms.insert(knob_id.to_owned(), self.now());
            return Ok(Chosen::Live);
        }
        *self = self.with_choices(self.seed, choices)?;
        Ok(Chosen::Restarted)
    }

    /// What a proof of the current Design runs: the exercise, the Design, and the operator actions of
    /// this run's log (redrives, replays, rebuilds), which are part of how the learner runs the system.
    pub fn proof_input(&self) -> (Arc<Exercise>, Choices, Vec<TimedAction>) {
        let actions = self
            .log
            .iter()
            .filter(|timed| {
                matches!(
                    timed.command,
                    crate::engine::Command::Redrive { .. }
                        | crate::engine::Command::Seek { .. }
                        | crate::engine::Command::Rebuild { .. }
                )
            })
            .map(|timed| TimedAction {
                at_ms: timed.at,
                action: timed.command.clone(),
            })
            .collect();
        (self.exercise.clone(), self.design.choices.clone(), actions)
    }

    pub fn now(&self) -> Millis {
        self.world.now()
    }

    pub fn run_for_ms(&self) -> Millis {
        self.exercise.run_for_ms
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    pub fn history_ms(&self) -> Millis {
        self.history_ms
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    /// Messages the world may create: with the seed, the choices and the log, what rebuilds it.
    pub fn message_cap(&self) -> u64 {
        self.message_cap
    }

    pub fn log(&self) -> &[TimedCommand] {
        &self.log
    }

    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }

    pub fn recent(&self) -> impl Iterator<Item = &TraceEvent> {
        self.recent.iter()
    }

    pub fn goals(&self) -> Vec<GoalStatus> {
        self.tracker.status(&self.world, self.finished)
    }

    /// The run's bill so far, at the exercise's prices.
    pub fn bill(&self) -> Bill {
        Bill::of(&self.world, &self.exercise.cost)
    }

    /// Whether events are waiting for a frame, or the next broadcast must be a snapshot.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.markers_sent < self.markers.len() || self.overflowed
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Takes the events for the next frame, and the range of `markers()` it reports.
    pub fn take_pending(&mut self) -> (Vec<TraceEvent>, std::ops::Range<usize>) {
        let events = std::mem::take(&mut self.pending);
        let from = std::mem::replace(&mut self.markers_sent, self.markers.len());
        self.overflowed = false;
        (events, from..self.markers.len())
    }

    /// Forgets what a snapshot is about to tell every client anyway.
    pub fn clear_pending(&mut self) {
        self.pending.clear();
        self.markers_sent = self.markers.len();
        self.overflowed = false;
    }

    /// Lets virtual time run to `target` (never past the exercise's end), applying logged commands kept
    /// from before a seek as their time comes. Reaching the end marks the run finished.
    pub fn advance_to(&mut self, target: Millis) {
        let target = target.min(self.run_for_ms());
        loop {
            let chunk_end = target.min(self.world.now().saturating_add(ADVANCE_CHUNK_MS));
            if let Some(at) = self.next_logged_at().filter(|at| *at <= chunk_end) {
                let command = self.log[self.applied].command.clone();
                if let Err(error) = self.world.apply(at, command) {
                    // The command was accepted once at this very state; same seed, same log, same
                    // answer. Keep going rather than stop the run.
                    tracing::warn!(%error, at, "a logged command was refused on replay");
                }
                self.applied += 1;
                self.collect();
                continue;
            }
            self.world.advance_to(chunk_end);
            self.collect();
            if chunk_end >= target {
                break;
            }
        }
        self.history_ms = self.history_ms.max(self.world.now());
        if self.world.now() >= self.run_for_ms() {
            self.finished = true;
        }
    }

    /// Runs everything at the next instant something happens (an engine event or a logged command), or
    /// goes to the end when nothing will. Refused once the run is finished.
    pub fn step(&mut self) -> Result<(), Refusal> {
        self.refuse_if_finished()?;
        let next = match (self.world.next_deadline(), self.next_logged_at()) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => self.run_for_ms(),
        };
        self.advance_to(next.max(self.now()));
        Ok(())
    }

    /// Checks and applies a learner's command now and appends it to the log, forking the timeline if a
    /// seek had kept later commands.
    pub fn command(&mut self, command: crate::engine::Command) -> Result<(), Refusal> {
        self.refuse_if_finished()?;
        self.exercise
            .allows(&command)
            .map_err(|reason| Refusal::new(ErrorCode::NotAllowed, reason))?;
        self.world.check(&command).map_err(invalid_command)?;
        self.fork();
        if self.log.len() >= MAX_LOGGED_COMMANDS {
            return Err(Refusal::new(
                ErrorCode::TooLarge,
                format!(
                    "This run already has {MAX_LOGGED_COMMANDS} commands; reset to start again."
                ),
            ));
        }
        let at = self.now();
        self.world
            .apply(at, command.clone())
            .map_err(invalid_command)?;
        let changes_design = matches!(command, crate::engine::Command::SetDesign { .. });
        self.log.push(TimedCommand { at, command });
        self.applied = self.log.len();
        self.collect();
        if changes_design {
            self.follow_live_design();
        }
        Ok(())
    }

    /// A `set_design` sent as a plain command changes the Design too: each live knob takes the option
    /// the running consumer now matches (a value no option has leaves the knob's choice as it was).
    fn follow_live_design(&mut self) {
        let now = self.now();
        let mut choices = self.design.choices.clone();
        for knob in self.exercise.knobs.iter().filter(|k| k.live) {
            if let Some(option) = self.exercise.live_choice(&self.world, &knob.id)
                && choices.get(&knob.id).unwrap_or(&knob.default) != &option
            {
                choices.insert(knob.id.clone(), option);
                self.design.since_ms.insert(knob.id.clone(), now);
            }
        }
        if let Ok(normal) = self.exercise.normalize(&choices) {
            self.design.choices = normal;
        }
    }

    /// Whether play should go on through a loaded recording rather than fork.
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Drops the logged commands after now: the learner changed the past. A live knob chosen after now
    /// goes with them from the log, but not from the Design: it is applied again, now.
    pub fn fork(&mut self) {
        self.recording = false;
        let dropped = self.log.len() > self.applied;
        self.log.truncate(self.applied);
        self.history_ms = self.now();
        if dropped && !self.finished {
            self.reapply_design();
        }
    }

    /// Brings each live knob of the running world to the Design's choice, through logged `set_design`s.
    fn reapply_design(&mut self) {
        let now = self.now();
        let live: Vec<(String, String)> = self
            .exercise
            .knobs
            .iter()
            .filter(|k| k.live)
            .map(|k| {
                let chosen = self.design.choices.get(&k.id).unwrap_or(&k.default);
                (k.id.clone(), chosen.clone())
            })
            .collect();
        for (knob, option) in live {
            if self.exercise.live_choice(&self.world, &knob).as_ref() == Some(&option) {
                continue;
            }
            let Ok(command) = self.exercise.live_command(&self.world, &knob, &option) else {
                continue;
            };
            if self.log.len() < MAX_LOGGED_COMMANDS
                && self.world.apply(now, command.clone()).is_ok()
            {
                self.log.push(TimedCommand { at: now, command });
                self.applied = self.log.len();
                self.design.since_ms.insert(knob, now);
            }
        }
        self.collect();
    }

    /// Goes to `at` (clamped to the exercise's end): forward by running, backward by a rebuild.
    pub fn seek(&mut self, at: Millis) -> Result<(), ScenarioError> {
        let at = at.min(self.run_for_ms());
        self.recording = false;
        if at < self.now() {
            let history = self.history_ms;
            let log = std::mem::take(&mut self.log);
            let design = self.design.clone();
            self.rebuild(self.seed, log)?;
            self.design = design;
            self.history_ms = history;
        }
        self.finished = false;
        self.advance_to(at);
        self.finished = self.now() >= self.run_for_ms();
        Ok(())
    }

    /// Back to time 0 with an empty log, with the same or another seed, and the Design kept: the run is
    /// built with it from the start.
    pub fn reset(&mut self, seed: u64) -> Result<(), Refusal> {
        *self = self.with_choices(seed, self.design.choices.clone())?;
        Ok(())
    }

    /// Back to time 0 with an empty log and this Design instead. The run is unchanged when the options are
    /// refused.
    pub fn reset_with(&mut self, seed: u64, choices: Choices) -> Result<(), Refusal> {
        *self = self.with_choices(seed, choices)?;
        Ok(())
    }

    /// Replaces this run with the one a run file describes, paused where it was saved.
    pub fn import(&mut self, file: RunFile) -> Result<(), Refusal> {
        file.validate(&self.exercise).map_err(bad_run_file)?;
        for (index, timed) in file.commands.iter().enumerate() {
            self.exercise.allows(&timed.command).map_err(|reason| {
                Refusal::new(ErrorCode::NotAllowed, format!("command {index}: {reason}"))
            })?;
        }
        let mut candidate = self.with_choices(file.seed, file.choices.clone())?;
        for (index, timed) in file.commands.iter().enumerate() {
            if timed.at > file.at {
                // Past where the run was saved: kept, and replayed as time gets there.
                candidate.log.push(timed.clone());
                continue;
            }
            candidate.advance_to(timed.at);
            candidate.world.check(&timed.command).map_err(|e| {
                Refusal::new(ErrorCode::BadRunFile, format!("command {index}: {e}"))
            })?;
            candidate
                .world
                .apply(timed.at, timed.command.clone())
                .map_err(|e| {
                    Refusal::new(ErrorCode::BadRunFile, format!("command {index}: {e}"))
                })?;
            candidate.log.push(timed.clone());
            candidate.applied = candidate.log.len();
            candidate.collect();
        }
        candidate.advance_to(file.at);
        candidate.finished = candidate.now() >= candidate.run_for_ms();
        candidate.recording = candidate.log.len() > candidate.applied;
        if let Some(design) = file.design {
            let choices = candidate
                .exercise
                .normalize(&design.choices)
                .map_err(|e| Refusal::new(ErrorCode::BadRunFile, e.to_string()))?;
            candidate.design = Design {
                choices,
                since_ms: design.since_ms,
            };
        }
        *self = candidate;
        Ok(())
    }

    pub fn export(&self) -> RunFile {
        RunFile::new(&self.exercise.id, self.seed, self.log.clone(), self.now())
            .with_choices(self.choices.clone())
            .with_design(self.design.clone())
    }

    pub fn dead_letters(&self, consumer: &str) -> Result<Vec<DeadLetterView>, Refusal> {
        self.world.dead_letters(consumer).map_err(invalid_command)
    }

    fn rebuild(&mut self, seed: u64, log: Vec<TimedCommand>) -> Result<(), ScenarioError> {
        let mut fresh = self
            .with_choices(seed, self.choices.clone())
            .map_err(|refusal| ScenarioError {
                field: "knobs".into(),
                reason: refusal.message,
            })?;
        fresh.log = log;
        *self = fresh;
        Ok(())
    }

    fn next_logged_at(&self) -> Option<Millis> {
        self.log.get(self.applied).map(|c| c.at)
    }

    fn refuse_if_finished(&self) -> Result<(), Refusal> {
        if self.finished {
            return Err(Refusal::finished());
        }
        Ok(())
    }

    /// Drains the trace into the tracker, the recent ring, the markers and the next frame.
    fn collect(&mut self) {
        let events = self.world.drain_trace();
        if events.is_empty() {
            return;
        }
        self.tracker.observe(&events);
        for event in &events {
            let marker = match &event.kind {
                TraceKind::Fault { label, command } => Some((*label, target_of(command))),
                // An alert firing or resolving is on the timeline too: when someone was woken.
                TraceKind::AlertFired { alert, .. } | TraceKind::AlertResolved { alert, .. }
                    if self.alert_markers < MAX_ALERT_MARKERS =>
                {
                    self.alert_markers += 1;
                    let label = if matches!(event.kind, TraceKind::AlertFired { .. }) {
                        "alert fired"
                    } else {
                        "alert resolved"
                    };
                    Some((label, alert.to_string()))
                }
                // A release shipping or held back by a red build. Validation bounds releases per
                // service, so these markers are bounded too.
                TraceKind::ReleaseDeployed { release, .. } => {
                    Some(("release shipped", release.to_string()))
                }
                TraceKind::ReleaseBlocked { release, .. } => {
                    Some(("build red", release.to_string()))
                }
                _ => None,
            };
            if let Some((label, detail)) = marker {
                self.markers.push(Marker {
                    at: event.at,
                    label,
                    detail,
                });
            }
        }
        let room = MAX_EVENTS_PER_FRAME.saturating_sub(self.pending.len());
        if events.len() > room {
            self.overflowed = true;
            self.pending.clear();
        } else if !self.overflowed {
            self.pending.extend(events.iter().cloned());
        }
        // Only the newest `recent_cap` events of a big batch can stay in the ring.
        let keep = events.len().min(self.recent_cap);
        let skip = events.len() - keep;
        while self.recent.len() + keep > self.recent_cap {
            self.recent.pop_front();
        }
        self.recent.extend(events.into_iter().skip(skip));
    }
}

/// The service, consumer or channel a command is aimed at: what a timeline marker shows next to its label.
fn target_of(command: &crate::engine::Command) -> String {
    let value = serde_json::to_value(command).unwrap_or_default();
    ["consumer", "service", "channel"]
        .iter()
        .find_map(|field| value.get(field).and_then(|v| v.as_str()))
        .unwrap_or_default()
        .to_owned()
}

fn invalid_command(error: CommandError) -> Refusal {
    Refusal::new(ErrorCode::InvalidCommand, error.to_string())
}

fn bad_run_file(error: RunFileError) -> Refusal {
    let code = match error {
        RunFileError::TooManyCommands(_) => ErrorCode::TooLarge,
        _ => ErrorCode::BadRunFile,
    };
    Refusal::new(code, error.to_string())
}
