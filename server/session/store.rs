//! The session store: an embedded SQLite database in the data directory, so a restart loses nothing.
//!
//! Every write goes through one writer thread fed by a bounded queue, so no database call runs on the async
//! runtime. Rows are whole-state upserts (a learner, a sandbox as seed + timed command log + virtual time),
//! so a later write of the same row replaces an earlier one still waiting: a failed batch is kept, retried
//! with the writes that follow, and reported (log + every dashboard) until it goes through.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot, watch};

/// The database file inside the data directory.
pub const DB_FILE: &str = "sessions.sqlite3";
/// Writes waiting for the writer thread. At the bound a sender waits (the sessions' own tasks, never a
/// request handler's lock), which slows progress reports rather than dropping one.
pub const WRITE_QUEUE: usize = 1_024;
/// Writes committed in one transaction at most.
const MAX_BATCH: usize = 512;
/// Attempts at one batch before it is reported as failing, and the pause between them.
const ATTEMPTS: u32 = 3;
const ATTEMPT_BACKOFF: Duration = Duration::from_millis(50);
/// While a batch keeps failing, how long the writer waits before trying again.
const RETRY_INTERVAL: Duration = Duration::from_secs(2);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    code TEXT PRIMARY KEY,
    facilitator_hash BLOB NOT NULL,
    exercise TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_activity_ms INTEGER NOT NULL,
    hints_revealed INTEGER NOT NULL,
    solution_revealed INTEGER NOT NULL,
    paused INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS learners (
    session TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    exercise TEXT NOT NULL,
    hints_used INTEGER NOT NULL,
    goals_json TEXT NOT NULL,
    last_activity_ms INTEGER NOT NULL,
    PRIMARY KEY (session, id)
);
CREATE TABLE IF NOT EXISTS sandboxes (
    session TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    exercise TEXT NOT NULL,
    seed INTEGER NOT NULL,
    log_json TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (session, owner)
);
CREATE TABLE IF NOT EXISTS stage_volunteers (
    session TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE,
    learner INTEGER NOT NULL,
    name TEXT NOT NULL,
    consumer TEXT NOT NULL,
    instance INTEGER NOT NULL,
    offline INTEGER NOT NULL,
    PRIMARY KEY (session, learner)
);
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub code: String,
    pub facilitator_hash: [u8; 32],
    pub exercise: String,
    pub created_ms: u64,
    pub last_activity_ms: u64,
    pub hints_revealed: u32,
    pub solution_revealed: bool,
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerRow {
    pub session: String,
    pub id: u32,
    pub name: String,
    pub token_hash: [u8; 32],
    pub exercise: String,
    pub hints_used: u32,
    /// The goals snapshot as JSON: `[{"id":…,"state":"met"},…]`.
    pub goals_json: String,
    pub last_activity_ms: u64,
}

/// One sandbox as what rebuilds it exactly: exercise, seed, timed command log (JSON) and virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxRow {
    pub session: String,
    /// `learner:<id>` or `stage`.
    pub owner: String,
    pub exercise: String,
    pub seed: u64,
    pub log_json: String,
    pub at_ms: u64,
}

/// A learner on the shared stage: which instance of which consumer is theirs, so it keeps its owner
/// across a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolunteerRow {
    pub session: String,
    pub learner: u32,
    pub name: String,
    pub consumer: String,
    pub instance: u32,
    pub offline: bool,
}

/// Everything stored, read once at start.
#[derive(Debug, Default)]
pub struct Saved {
    pub sessions: Vec<SessionRow>,
    pub learners: Vec<LearnerRow>,
    pub sandboxes: Vec<SandboxRow>,
    pub volunteers: Vec<VolunteerRow>,
}

#[derive(Debug)]
enum Write {
    Session(SessionRow),
    Learner(LearnerRow),
    Sandbox(SandboxRow),
    Volunteer(VolunteerRow),
    /// A new stage opened in this session: its volunteers are forgotten.
    ClearVolunteers(String),
    Delete(String),
    /// Answered once every write queued before it is committed (or has failed).
    Flush(oneshot::Sender<bool>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Session(String),
    Learner(String, u32),
    Sandbox(String, String),
    Volunteer(String, u32),
    ClearVolunteers(String),
    Delete(String),
}

/// Whether the store keeps up: `None` while writes go through, or what is failing.
pub type StoreHealth = Option<String>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {}: {source}", dir.display())]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the session store's writer thread: {0}")]
    Thread(std::io::Error),
    #[error("session database {}: {source}", path.display())]
    Db {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// The handle sessions write through. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct Store {
    writes: mpsc::Sender<Write>,
    health: watch::Receiver<StoreHealth>,
}

impl Store {
    /// Opens (or creates) the database in `dir`, reads everything stored, and starts the writer thread.
    /// `None` keeps the database in memory (tests, and servers built without a data directory).
    /// Blocking: call it before serving or from `spawn_blocking`.
    pub fn open(dir: Option<&Path>) -> Result<(Store, Saved), StoreError> {
        let path = dir.map_or_else(|| PathBuf::from(":memory:"), |dir| dir.join(DB_FILE));
        let db = |source| StoreError::Db {
            path: path.clone(),
            source,
        };
        let conn = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                    dir: dir.to_owned(),
                    source,
                })?;
                Connection::open(&path).map_err(db)?
            }
            None => Connection::open_in_memory().map_err(db)?,
        };
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )
        .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        let saved = load(&conn).map_err(db)?;
        let (writes, receiver) = mpsc::channel(WRITE_QUEUE);
        let (health_tx, health) = watch::channel(None);
        std::thread::Builder::new()
            .name("session-store".to_owned())
            .spawn(move || writer(conn, receiver, health_tx))
            .map_err(StoreError::Thread)?;
        Ok((Store { writes, health }, saved))
    }

    pub async fn session(&self, row: SessionRow) {
        self.send(Write::Session(row)).await;
    }

    pub async fn learner(&self, row: LearnerRow) {
        self.send(Write::Learner(row)).await;
    }

    pub async fn sandbox(&self, row: SandboxRow) {
        self.send(Write::Sandbox(row)).await;
    }

    pub async fn volunteer(&self, row: VolunteerRow) {
        self.send(Write::Volunteer(row)).await;
    }

    pub async fn clear_volunteers(&self, code: &str) {
        self.send(Write::ClearVolunteers(code.to_owned())).await;
    }

    pub async fn delete_session(&self, code: &str) {
        self.send(Write::Delete(code.to_owned())).await;
    }

    /// Waits until every write queued so far is committed; false if the store is failing.
    pub async fn flush(&self) -> bool {
        let (answer, done) = oneshot::channel();
        self.send(Write::Flush(answer)).await;
        done.await.unwrap_or(false)
    }

    /// What is failing, if anything; dashboards show it.
    pub fn health(&self) -> watch::Receiver<StoreHealth> {
        self.health.clone()
    }

    async fn send(&self, write: Write) {
        if self.writes.send(write).await.is_err() {
            // The writer thread only ends when every Store is dropped, so this is a bug worth a line.
            tracing::error!("the session store's writer has stopped; a write was lost");
        }
    }
}

fn load(conn: &Connection) -> rusqlite::Result<Saved> {
    let mut saved = Saved::default();
    let mut statement = conn.prepare(
        "SELECT code, facilitator_hash, exercise, created_ms, last_activity_ms, hints_revealed,
                solution_revealed, paused FROM sessions",
    )?;
    saved.sessions = statement
        .query_map([], |row| {
            Ok(SessionRow {
                code: row.get(0)?,
                facilitator_hash: hash_of(row.get::<_, Vec<u8>>(1)?),
                exercise: row.get(2)?,
                created_ms: row.get(3)?,
                last_activity_ms: row.get(4)?,
                hints_revealed: row.get(5)?,
                solution_revealed: row.get(6)?,
                paused: row.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut statement = conn.prepare(
        "SELECT session, id, name, token_hash, exercise, hints_used, goals_json, last_activity_ms
         FROM learners ORDER BY session, id",
    )?;
    saved.learners = statement
        .query_map([], |row| {
            Ok(LearnerRow {
                session: row.get(0)?,
                id: row.get(1)?,
                name: row.get(2)?,
                token_hash: hash_of(row.get::<_, Vec<u8>>(3)?),
                exercise: row.get(4)?,
                hints_used: row.get(5)?,
                goals_json: row.get(6)?,
                last_activity_ms: row.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut statement =
        conn.prepare("SELECT session, owner, exercise, seed, log_json, at_ms FROM sandboxes")?;
    saved.sandboxes = statement
        .query_map([], |row| {
            Ok(SandboxRow {
                session: row.get(0)?,
                owner: row.get(1)?,
                exercise: row.get(2)?,
                seed: row.get(3)?,
                log_json: row.get(4)?,
                at_ms: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut statement = conn.prepare(
        "SELECT session, learner, name, consumer, instance, offline FROM stage_volunteers
         ORDER BY session, learner",
    )?;
    saved.volunteers = statement
        .query_map([], |row| {
            Ok(VolunteerRow {
                session: row.get(0)?,
                learner: row.get(1)?,
                name: row.get(2)?,
                consumer: row.get(3)?,
                instance: row.get(4)?,
                offline: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(saved)
}

/// A stored hash of the wrong length matches no token (all zeros is no SHA-256 of anything one can find).
fn hash_of(bytes: Vec<u8>) -> [u8; 32] {
    bytes.try_into().unwrap_or([0; 32])
}

fn writer(
    mut conn: Connection,
    mut receiver: mpsc::Receiver<Write>,
    health: watch::Sender<StoreHealth>,
) {
    let mut pending: HashMap<Key, Write> = HashMap::new();
    let mut flushes: Vec<oneshot::Sender<bool>> = Vec::new();
    loop {
        if pending.is_empty() && flushes.is_empty() {
            match receiver.blocking_recv() {
                Some(write) => queue(&mut pending, &mut flushes, write),
                None => return,
            }
        } else if health.borrow().is_some() {
            std::thread::sleep(RETRY_INTERVAL);
        }
        while pending.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(write) => queue(&mut pending, &mut flushes, write),
                Err(_) => break,
            }
        }
        let mut result = Ok(());
        for attempt in 0..ATTEMPTS {
            result = commit(&mut conn, &pending);
            if result.is_ok() {
                break;
            }
            std::thread::sleep(ATTEMPT_BACKOFF * 2u32.pow(attempt));
        }
        match result {
            Ok(()) => {
                pending.clear();
                if health.borrow().is_some() {
                    tracing::info!("the session store is writing again");
                    health.send_replace(None);
                }
                for flush in flushes.drain(..) {
                    let _ = flush.send(true);
                }
            }
            Err(error) => {
                tracing::error!(%error, waiting = pending.len(), "cannot save sessions; will retry");
                health.send_replace(Some(
                    "Progress cannot be saved right now; the server keeps retrying.".to_owned(),
                ));
                for flush in flushes.drain(..) {
                    let _ = flush.send(false);
                }
            }
        }
    }
}

fn queue(
    pending: &mut HashMap<Key, Write>,
    flushes: &mut Vec<oneshot::Sender<bool>>,
    write: Write,
) {
    let key = match &write {
        Write::Session(row) => Key::Session(row.code.clone()),
        Write::Learner(row) => Key::Learner(row.session.clone(), row.id),
        Write::Sandbox(row) => Key::Sandbox(row.session.clone(), row.owner.clone()),
        Write::Volunteer(row) => Key::Volunteer(row.session.clone(), row.learner),
        // Volunteers of the old stage still waiting are dropped; the clear runs before the ones after it.
        Write::ClearVolunteers(code) => {
            pending.retain(|key, _| !matches!(key, Key::Volunteer(c, _) if c == code));
            Key::ClearVolunteers(code.clone())
        }
        Write::Delete(code) => {
            pending.retain(|key, _| match key {
                Key::Session(c)
                | Key::Learner(c, _)
                | Key::Sandbox(c, _)
                | Key::Volunteer(c, _)
                | Key::ClearVolunteers(c) => c != code,
                Key::Delete(_) => true,
            });
            Key::Delete(code.clone())
        }
        Write::Flush(_) => {
            if let Write::Flush(answer) = write {
                flushes.push(answer);
            }
            return;
        }
    };
    pending.insert(key, write);
}

fn commit(conn: &mut Connection, pending: &HashMap<Key, Write>) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    // Parents before children, a stage's clear before its new volunteers, deletions last.
    for rank in 0..6 {
        for write in pending.values() {
            match (rank, write) {
                (0, Write::Session(s)) => {
                    tx.execute(
                        "INSERT INTO sessions (code, facilitator_hash, exercise, created_ms,
                            last_activity_ms, hints_revealed, solution_revealed, paused)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT(code) DO UPDATE SET exercise = ?3, last_activity_ms = ?5,
                            hints_revealed = ?6, solution_revealed = ?7, paused = ?8",
                        params![
                            s.code,
                            &s.facilitator_hash[..],
                            s.exercise,
                            s.created_ms,
                            s.last_activity_ms,
                            s.hints_revealed,
                            s.solution_revealed,
                            s.paused
                        ],
                    )?;
                }
                (1, Write::Learner(l)) => {
                    tx.execute(
                        "INSERT INTO learners (session, id, name, token_hash, exercise, hints_used,
                            goals_json, last_activity_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT(session, id) DO UPDATE SET exercise = ?5, hints_used = ?6,
                            goals_json = ?7, last_activity_ms = ?8",
                        params![
                            l.session,
                            l.id,
                            l.name,
                            &l.token_hash[..],
                            l.exercise,
                            l.hints_used,
                            l.goals_json,
                            l.last_activity_ms
                        ],
                    )?;
                }
                (2, Write::Sandbox(b)) => {
                    tx.execute(
                        "INSERT INTO sandboxes (session, owner, exercise, seed, log_json, at_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT(session, owner) DO UPDATE SET exercise = ?3, seed = ?4,
                            log_json = ?5, at_ms = ?6",
                        params![b.session, b.owner, b.exercise, b.seed, b.log_json, b.at_ms],
                    )?;
                }
                (3, Write::ClearVolunteers(code)) => {
                    tx.execute(
                        "DELETE FROM stage_volunteers WHERE session = ?1",
                        params![code],
                    )?;
                }
                (4, Write::Volunteer(v)) => {
                    tx.execute(
                        "INSERT INTO stage_volunteers (session, learner, name, consumer, instance, offline)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT(session, learner) DO UPDATE SET name = ?3, consumer = ?4,
                            instance = ?5, offline = ?6",
                        params![v.session, v.learner, v.name, v.consumer, v.instance, v.offline],
                    )?;
                }
                (5, Write::Delete(code)) => {
                    tx.execute("DELETE FROM sessions WHERE code = ?1", params![code])?;
                }
                _ => {}
            }
        }
    }
    tx.commit()
}

/// Whether a session exists in the database (for tests and the command line).
pub fn has_session(dir: &Path, code: &str) -> rusqlite::Result<bool> {
    let conn = Connection::open(dir.join(DB_FILE))?;
    conn.query_row("SELECT 1 FROM sessions WHERE code = ?1", [code], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}
