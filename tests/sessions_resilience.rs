//! Workshop sessions when things go wrong: idle sessions end, a failing store write is reported and
//! retried rather than dropped. No server and no socket: these drive `Sessions` and `Store` directly.
use std::path::PathBuf;
use std::time::Duration;

use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::session::Sessions;
use eda_playground::session::store::{self, LearnerRow, SessionRow, Store};

/// Bounds a failure; a passing test never waits for it. The store retries a failing batch every two
/// seconds, so this leaves room for a few retries.
const TEST_TIMEOUT: Duration = Duration::from_secs(15);

struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_session_idle_past_the_limit_ends_and_leaves_the_store() {
    let data = TempDir::new("eda-session-idle");
    let mut limits = Config::default().limits;
    limits.session_idle = Duration::from_secs(30 * 60);
    let idle_ms = 30 * 60 * 1_000;
    let sessions = Sessions::open(Some(&data.0), Catalog::load(None), limits).unwrap();
    let (idle, _) = sessions.create("competing-consumers").await.unwrap();
    let (busy, _) = sessions.create("competing-consumers").await.unwrap();
    let idle_code = idle.code.as_str().to_owned();
    let busy_code = busy.code.as_str().to_owned();
    let since = idle.lock().last_activity_ms.max(idle.created_ms);
    // The other session saw activity a minute later (what a learner's message records).
    busy.lock().last_activity_ms = since.max(busy.created_ms) + 60_000;

    // At the limit exactly, both stay.
    sessions.sweep_at(since + idle_ms).await;
    assert!(sessions.find(&idle_code).is_ok(), "not before the limit");
    assert!(sessions.find(&busy_code).is_ok());

    // A millisecond past it, the idle one ends; the one with later activity stays.
    sessions.sweep_at(since + idle_ms + 1).await;
    assert!(sessions.find(&idle_code).is_err(), "the idle session ended");
    assert!(idle.ended());
    assert!(
        sessions.find(&busy_code).is_ok(),
        "activity keeps a session"
    );
    assert!(!busy.ended());

    assert!(sessions.store().flush().await);
    assert!(!store::has_session(&data.0, &idle_code).unwrap());
    assert!(store::has_session(&data.0, &busy_code).unwrap());
}

fn session_row(code: &str) -> SessionRow {
    SessionRow {
        code: code.to_owned(),
        facilitator_hash: [1; 32],
        exercise: "competing-consumers".to_owned(),
        created_ms: 1_000,
        last_activity_ms: 1_000,
        hints_revealed: 0,
        solution_revealed: false,
        paused: false,
    }
}

fn learner_row(code: &str, hints_used: u32) -> LearnerRow {
    LearnerRow {
        session: code.to_owned(),
        id: 0,
        name: "Ada".to_owned(),
        token_hash: [2; 32],
        exercise: "competing-consumers".to_owned(),
        hints_used,
        goals_json: "[]".to_owned(),
        last_activity_ms: 1_000,
    }
}

/// A learner row for a session the database does not have breaks its foreign key: the batch fails
/// every time until the session row arrives. The write is reported, kept and retried with that later
/// write, and then saved.
#[tokio::test]
async fn a_failing_store_write_is_reported_and_retried_not_dropped() {
    let data = TempDir::new("eda-session-store");
    {
        let (store, saved) = Store::open(Some(&data.0)).unwrap();
        assert!(saved.sessions.is_empty());
        let mut health = store.health();
        store.learner(learner_row("ABC123", 2)).await;
        assert!(
            !tokio::time::timeout(TEST_TIMEOUT, store.flush())
                .await
                .unwrap(),
            "a flush says when the writes behind it failed"
        );
        let reported = health.borrow_and_update().clone();
        assert!(
            reported
                .as_deref()
                .is_some_and(|text| text.contains("cannot be saved")),
            "the failure is reported for dashboards: {reported:?}"
        );

        store.session(session_row("ABC123")).await;
        assert!(
            tokio::time::timeout(TEST_TIMEOUT, store.flush())
                .await
                .unwrap(),
            "the retry goes through once the session row is there"
        );
        assert_eq!(*store.health().borrow(), None, "the report is cleared");
    }

    // Reopened, as after a restart: the learner written while the store was failing is there.
    let (_store, saved) = Store::open(Some(&data.0)).unwrap();
    assert_eq!(saved.sessions.len(), 1);
    assert_eq!(saved.learners, vec![learner_row("ABC123", 2)]);
}
