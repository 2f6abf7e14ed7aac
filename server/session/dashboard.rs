//! The facilitator's live view: learners' changes are marked dirty and, at most every [`COALESCE`], sent
//! as one message of the changed roster lines to every dashboard of the room.
//!
//! Coalescing bounds the dashboard's traffic whatever 200 learners do (one message per interval), and
//! keeps a goal change's delay to the dashboard near one interval plus one sandbox frame.
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use tokio::sync::{Notify, broadcast};

use crate::exercise::Catalog;

use super::aggregate::RoomAggregate;
use super::room::{LearnerView, Room, SessionView};

/// The longest a change waits before it is sent: also the shortest time between two updates.
pub const COALESCE: Duration = Duration::from_millis(100);
/// Updates buffered per dashboard. One that falls further behind is sent the whole roster again.
pub const DASHBOARD_BUFFER: usize = 64;

/// A message to the dashboard, as JSON `{"type":…}`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DashboardMessage<'a> {
    /// Everything: on connect and after falling behind.
    Roster {
        session: &'a SessionView,
        learners: &'a [LearnerView],
        /// The room as a whole; `None` while its exercise is not in the catalog.
        room: Option<&'a RoomAggregate>,
        store_error: Option<&'a str>,
    },
    /// Changed roster lines, and the room as a whole after the change.
    Learners {
        learners: &'a [LearnerView],
        room: Option<&'a RoomAggregate>,
    },
    /// The room's settings changed.
    Session { session: &'a SessionView },
    /// Something to tell the facilitator (a fault's outcome, a store failing).
    Notice { message: &'a str, error: bool },
}

impl DashboardMessage<'_> {
    pub fn encode(&self) -> Utf8Bytes {
        Utf8Bytes::from(serde_json::to_string(self).unwrap_or_else(|error| {
            tracing::error!(%error, "cannot serialize a dashboard message");
            r#"{"type":"notice","message":"Something went wrong on the server.","error":true}"#
                .to_owned()
        }))
    }
}

/// Dirty roster lines and the dashboards' broadcast.
#[derive(Debug)]
pub struct Feed {
    dirty: Mutex<BTreeSet<u32>>,
    wake: Arc<Notify>,
    sender: broadcast::Sender<Utf8Bytes>,
}

impl Default for Feed {
    fn default() -> Self {
        Self::new()
    }
}

impl Feed {
    pub fn new() -> Self {
        Self {
            dirty: Mutex::new(BTreeSet::new()),
            wake: Arc::new(Notify::new()),
            sender: broadcast::channel(DASHBOARD_BUFFER).0,
        }
    }

    /// Notes that a learner's line changed; it goes out with the next update.
    pub fn mark(&self, learner: u32) {
        self.dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(learner);
        self.wake.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.sender.subscribe()
    }

    /// Sends a message to every dashboard now (room settings, notices).
    pub fn send(&self, message: &DashboardMessage<'_>) {
        // No receiver: no dashboard open; the next one is sent the whole roster.
        let _ = self.sender.send(message.encode());
    }

    /// Wakes the feed task so it sees the room has ended.
    pub fn close(&self) {
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<u32> {
        std::mem::take(&mut *self.dirty.lock().unwrap_or_else(PoisonError::into_inner))
            .into_iter()
            .collect()
    }
}

/// Sends the room's dirty lines every [`COALESCE`] while there are any; ends with the room.
pub async fn run_feed(room: Weak<Room>, catalog: Catalog) {
    loop {
        // Wait without holding the room, so an ended room can be dropped meanwhile. `notify_one` keeps a
        // permit when nobody waits, so a mark made before the wait starts is not lost.
        let Some(wake) = room.upgrade().map(|room| room.feed.wake.clone()) else {
            return;
        };
        wake.notified().await;
        tokio::time::sleep(COALESCE).await;
        let Some(room) = room.upgrade() else {
            return;
        };
        if room.ended() {
            return;
        }
        send_dirty(&room, &catalog);
    }
}

fn send_dirty(room: &Arc<Room>, catalog: &Catalog) {
    let ids = room.feed.take();
    if ids.is_empty() {
        return;
    }
    // Every line feeds the aggregate; only the changed ones are sent.
    let everyone = room.views(None);
    let exercise = room.lock().exercise.clone();
    let aggregate = aggregate(catalog, &exercise, &everyone);
    let learners: Vec<LearnerView> = everyone
        .into_iter()
        .filter(|l| ids.binary_search(&l.id).is_ok())
        .collect();
    room.feed.send(&DashboardMessage::Learners {
        learners: &learners,
        room: aggregate.as_ref(),
    });
}

/// The room as a whole on `exercise`, when the catalog has it.
pub fn aggregate(
    catalog: &Catalog,
    exercise: &str,
    learners: &[LearnerView],
) -> Option<RoomAggregate> {
    catalog
        .get(exercise)
        .map(|exercise| RoomAggregate::of(&exercise, learners))
}
