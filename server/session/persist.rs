//! Sessions across restarts: restoring the store at start, the periodic save of virtual times and the
//! idle sweep, and the last save before the process exits.
use super::*;

impl Sessions {
    pub(super) fn restore(&self, saved: Saved) {
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
            let mut state = RoomState::new(&row.exercise, row.last_activity_ms);
            state.hints_revealed = row.hints_revealed;
            state.solution_revealed = row.solution_revealed;
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
                // When the learner started is not stored: "time to all met" stays unknown for them.
                learner.effort.last_change_ms = l.last_activity_ms;
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
}
