//! The facilitator's actions on a whole room: push an exercise, pause or resume everyone, a fault in
//! every sandbox, the spotlight, hints and the solution, the shared stage.
use super::timer::{self, Timer};
use super::*;

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
    /// Start the countdown: `minutes`, or the exercise's own estimate when left out.
    StartTimer {
        #[serde(default)]
        minutes: Option<f64>,
    },
    StopTimer,
    /// Show the countdown on learners' pages, or hide it.
    ShowTimer {
        to_learners: bool,
    },
    End,
}

/// What an action did, in words for the facilitator.
#[derive(Debug, Clone, Serialize)]
pub struct ActionOutcome {
    pub message: String,
}

impl Sessions {
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
            Action::StartTimer { minutes } => self.start_timer(room, minutes)?,
            Action::StopTimer => self.set_timer(room, Some(None), None),
            Action::ShowTimer { to_learners } => self.set_timer(room, None, Some(to_learners)),
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
        let now = now_ms();
        let rows = {
            let mut state = room.lock();
            state.exercise = exercise.to_owned();
            state.hints_revealed = 0;
            state.solution_revealed = false;
            // The old exercise's countdown means nothing for the new one.
            state.timer = None;
            state
                .learners
                .iter_mut()
                .map(|learner| {
                    learner.run = SavedRun::fresh(exercise, entry.default_seed);
                    learner.goals.clear();
                    learner.hints_used = 0;
                    learner.last_proof = None;
                    learner.start_exercise(now);
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

    fn start_timer(&self, room: &Arc<Room>, minutes: Option<f64>) -> Result<String, SessionError> {
        let minutes = match minutes {
            Some(minutes) => minutes,
            None => {
                let exercise = room.lock().exercise.clone();
                let entry = self
                    .inner
                    .catalog
                    .get(&exercise)
                    .ok_or(SessionError::UnknownExercise(exercise))?;
                f64::from(entry.minutes)
            }
        };
        let timer = Timer::start(minutes, now_ms())?;
        Ok(self.set_timer(room, Some(Some(timer)), None))
    }

    /// Changes the timer (`Some(None)` stops it) or who sees it, and tells learners what they now see.
    fn set_timer(
        &self,
        room: &Arc<Room>,
        timer: Option<Option<Timer>>,
        to_learners: Option<bool>,
    ) -> String {
        let now = now_ms();
        let (shown, message) = {
            let mut state = room.lock();
            if let Some(timer) = timer {
                state.timer = timer;
            }
            if let Some(to_learners) = to_learners {
                state.timer_for_learners = to_learners;
            }
            let message = match (state.timer, state.timer_for_learners) {
                (None, _) => "Timer stopped.".to_owned(),
                (Some(timer), shown) => format!(
                    "Timer: {} left{}.",
                    minutes_text(timer.remaining_ms(now)),
                    if shown {
                        ", shown to learners"
                    } else {
                        ", for you only"
                    }
                ),
            };
            (state.learners_timer(now), message)
        };
        room.tell_learners(Outside::Text(timer::learner_message(shown)));
        message
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
}

/// "12 min", "45 s": a duration as the facilitator reads it.
fn minutes_text(ms: u64) -> String {
    let seconds = ms.div_ceil(1_000);
    if seconds >= 60 {
        format!("{} min", seconds.div_ceil(60))
    } else {
        format!("{seconds} s")
    }
}
