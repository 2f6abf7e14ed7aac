//! A learner's actions on the shared stage: volunteering as an instance, settling what it holds, leaving.
use super::*;

/// What a stage action left the learner with.
#[derive(Debug, Clone, Serialize)]
pub struct StageOutcome {
    pub consumer: Option<String>,
    pub instance: Option<u32>,
}

impl Sessions {
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
}
