//! The sandbox manager: creates sandboxes within the cap, finds them by id, admits WebSocket clients.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, oneshot, watch};

use crate::config::Limits;
use crate::engine::ScenarioError;
use crate::exercise::Exercise;

use super::SandboxId;
use super::frame::Broadcast;
use super::proofs::ProofPool;
use super::quota::{Ledger, MAX_ANONYMOUS_PER_ADDRESS, Requester};
use super::run::Run;
use super::runtime::{Request, Status, random_seed, run_sandbox};

/// A sandbox with no client for this long ends and frees its slot; the learner's page creates a new one
/// when it is opened again.
pub const SANDBOX_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Broadcasts buffered per sandbox for its slowest client (~2 s of frames). A client that falls further
/// behind gets `RecvError::Lagged` and is resynced with a snapshot.
pub const FRAME_BUFFER: usize = 64;
/// Client requests waiting for a sandbox task. At the limit a request is refused with a "busy" error
/// instead of waiting, so one flooding client cannot hold up the connection's other work.
pub const REQUEST_QUEUE: usize = 256;
/// Recent trace events a snapshot carries: `max_events_per_sandbox`, but never more than this, so a
/// snapshot stays a few hundred kilobytes.
pub const MAX_SNAPSHOT_EVENTS: usize = 2_000;

/// The knobs of every sandbox, from the configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxSettings {
    pub max_sandboxes: usize,
    pub max_clients: usize,
    /// Events kept for snapshots, oldest dropped first.
    pub recent_events: usize,
    /// Messages one sandbox's world may create.
    pub max_messages: u64,
    pub idle_timeout: Duration,
    /// Broadcasts buffered for the slowest client: [`FRAME_BUFFER`] (tests make it tiny to force a lag).
    pub frame_buffer: usize,
}

impl SandboxSettings {
    pub fn from_limits(limits: &Limits) -> Self {
        Self {
            max_sandboxes: limits.max_sandboxes.get(),
            max_clients: limits.max_clients.get(),
            recent_events: limits.max_events_per_sandbox.get().min(MAX_SNAPSHOT_EVENTS),
            max_messages: limits.max_messages_per_sandbox.get(),
            idle_timeout: SANDBOX_IDLE_TIMEOUT,
            frame_buffer: FRAME_BUFFER,
        }
    }
}

/// Why a sandbox cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "the server already runs its maximum of {max} sandboxes; try again when a session ends"
    )]
    Full { max: usize },
    #[error("exercise {exercise}: invalid scenario: {source}")]
    Scenario {
        exercise: String,
        source: ScenarioError,
    },
    #[error("sandboxes can only be created inside the server's async runtime")]
    NoRuntime,
    #[error(
        "this address already runs {MAX_ANONYMOUS_PER_ADDRESS} sandboxes without a browser cookie; open the exercise in a browser, or end one first"
    )]
    AddressQuota,
}

/// Why a request was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the sandbox's request queue is full")]
    Busy,
    #[error("the sandbox has ended")]
    Gone,
}

/// A handle on one running sandbox: where to send requests and where to subscribe to its broadcasts.
#[derive(Debug, Clone)]
pub struct SandboxHandle {
    pub id: SandboxId,
    pub exercise: String,
    requests: mpsc::Sender<Request>,
    frames: broadcast::Sender<Arc<Broadcast>>,
    status: watch::Receiver<Status>,
}

impl SandboxHandle {
    /// Subscribes to the sandbox's frames. Subscribe before asking for a snapshot, so nothing falls
    /// between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Broadcast>> {
        self.frames.subscribe()
    }

    /// The sandbox's goals, seed and command log, for a session's dashboard and store. Receivers are
    /// woken when the goals, the log or the controls change, not on every tick of virtual time.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// The sandbox as it is now; `None` when the sandbox has ended.
    pub async fn snapshot(&self) -> Option<Arc<Broadcast>> {
        let (answer, snapshot) = oneshot::channel();
        self.requests.send(Request::Snapshot(answer)).await.ok()?;
        snapshot.await.ok()
    }

    /// Asks the sandbox task something and waits for its answer. The question is queued without waiting, so
    /// a busy sandbox refuses an outside reader (a scrape, a trace export) rather than queueing it behind
    /// its clients.
    pub async fn ask<T>(
        &self,
        question: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, RequestError> {
        let (answer, reply) = oneshot::channel();
        self.try_request(question(answer))?;
        reply.await.map_err(|_| RequestError::Gone)
    }

    /// Queues a request without waiting; fails when the queue is full or the sandbox has ended.
    pub fn try_request(&self, request: Request) -> Result<(), RequestError> {
        self.requests
            .try_send(request)
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => RequestError::Busy,
                mpsc::error::TrySendError::Closed(_) => RequestError::Gone,
            })
    }
}

/// Every live sandbox. Cloning is cheap: clones share one table.
#[derive(Debug, Clone)]
pub struct SandboxManager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    // A std Mutex: it is held for a map lookup or insert, never across an `.await`.
    sandboxes: Mutex<HashMap<SandboxId, SandboxHandle>>,
    clients: Arc<Semaphore>,
    settings: SandboxSettings,
    proofs: Arc<ProofPool>,
    // A std Mutex, like the table's: held for a few map operations, never across an `.await`.
    ledger: Mutex<Ledger>,
}

impl SandboxManager {
    /// A manager with a proof pool of its own.
    pub fn new(settings: SandboxSettings) -> Self {
        Self::with_proofs(settings, Arc::new(ProofPool::default()))
    }

    /// A manager whose sandboxes prove designs on `proofs`, shared with other managers so that the cap on
    /// running proofs is server-wide.
    pub fn with_proofs(settings: SandboxSettings, proofs: Arc<ProofPool>) -> Self {
        Self {
            inner: Arc::new(Inner {
                sandboxes: Mutex::new(HashMap::new()),
                clients: Arc::new(Semaphore::new(settings.max_clients)),
                settings,
                proofs,
                ledger: Mutex::new(Ledger::default()),
            }),
        }
    }

    /// The proof pool this manager's sandboxes use.
    pub fn proofs(&self) -> Arc<ProofPool> {
        self.inner.proofs.clone()
    }

    pub fn settings(&self) -> SandboxSettings {
        self.inner.settings
    }

    /// Starts a sandbox for `exercise`, with `seed` or the exercise's default seed.
    pub fn create(
        &self,
        exercise: Arc<Exercise>,
        seed: Option<u64>,
    ) -> Result<SandboxId, SandboxError> {
        let settings = self.inner.settings;
        let seed = seed.unwrap_or(exercise.default_seed);
        let run = Run::limited(
            exercise.clone(),
            seed,
            settings.recent_events,
            settings.max_messages,
        )
        .map_err(|source| SandboxError::Scenario {
            exercise: exercise.id.clone(),
            source,
        })?;
        self.start(run).map(|handle| handle.id)
    }

    /// A free-play sandbox for `requester`: the browser's live one for this exercise when there is one (a
    /// reload finds its run again), else a new one within the quotas (see [`super::quota`]). At the server's
    /// cap, a sandbox nobody watches is ended to make room, oldest first, before anyone is refused.
    pub fn open_for(
        &self,
        requester: Requester,
        exercise: Arc<Exercise>,
    ) -> Result<SandboxId, SandboxError> {
        let mut to_end = Vec::new();
        {
            let table = self.lock();
            let ledger = self.ledger();
            if let Some(id) = ledger.reusable(&requester, &exercise.id)
                && table.contains_key(&id)
            {
                return Ok(id);
            }
            if ledger.anonymous_at_quota(&requester) {
                return Err(SandboxError::AddressQuota);
            }
            if let Some(oldest) = ledger.over_browser_quota(&requester) {
                to_end.push(oldest);
            }
            if table.len() + 1 - to_end.len() > self.inner.settings.max_sandboxes {
                let unwatched = table
                    .iter()
                    .filter(|(id, handle)| {
                        handle.frames.receiver_count() == 0 && !to_end.contains(id)
                    })
                    .map(|(id, _)| *id);
                match ledger.oldest_of(unwatched) {
                    Some(idle) => to_end.push(idle),
                    None => {
                        return Err(SandboxError::Full {
                            max: self.inner.settings.max_sandboxes,
                        });
                    }
                }
            }
        }
        for id in to_end {
            self.end_now(id);
        }
        let id = self.create(exercise.clone(), None)?;
        self.ledger().record(id, requester, &exercise.id);
        Ok(id)
    }

    /// Ends a free-play sandbox at once, without waiting: out of the table and the ledger now, its task
    /// after the requests queued before.
    fn end_now(&self, id: SandboxId) {
        if let Some(handle) = self.lock().remove(&id) {
            // The task may be gone already, or its queue full; either way it is out of the table.
            let _ = handle.try_request(Request::Stop);
            tracing::info!(sandbox = %id, "free-play sandbox ended to make room");
        }
        self.ledger().forget(id);
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // Each ledger change is a single map call; a poisoned lock leaves nothing half-done.
        self.inner
            .ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a sandbox on a run the caller built (a session restoring a learner's run from its seed and
    /// command log).
    pub fn start(&self, run: Run) -> Result<SandboxHandle, SandboxError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SandboxError::NoRuntime)?;
        let settings = self.inner.settings;
        let id = SandboxId::new();
        let exercise = run.exercise().id.clone();
        let seed = run.seed();
        let (requests, receiver) = mpsc::channel(REQUEST_QUEUE);
        let myself = requests.downgrade();
        let (frames, _) = broadcast::channel(settings.frame_buffer);
        let (status, status_rx) = watch::channel(Status::of(&run, true));
        let handle = SandboxHandle {
            id,
            exercise: exercise.clone(),
            requests,
            frames: frames.clone(),
            status: status_rx,
        };
        {
            let mut sandboxes = self.lock();
            if sandboxes.len() >= settings.max_sandboxes {
                return Err(SandboxError::Full {
                    max: settings.max_sandboxes,
                });
            }
            sandboxes.insert(id, handle.clone());
        }
        let table = Arc::downgrade(&self.inner);
        let proofs = self.inner.proofs.clone();
        runtime.spawn(async move {
            run_sandbox(id, run, receiver, frames, status, settings, proofs, myself).await;
            remove(&table, id);
        });
        tracing::info!(sandbox = %id, %exercise, seed, "sandbox created");
        Ok(handle)
    }

    /// Ends a sandbox now instead of after its idle timeout (a workshop session replaced it): it leaves
    /// the table at once, so it no longer counts against the cap, and its task ends after the requests
    /// queued before. Its clients see their frames end (close 1001), unless told otherwise first.
    pub async fn stop(&self, handle: &SandboxHandle) {
        self.lock().remove(&handle.id);
        // An error means the task has ended already.
        let _ = handle.requests.send(Request::Stop).await;
    }

    pub fn get(&self, id: SandboxId) -> Option<SandboxHandle> {
        self.lock().get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A place for one more WebSocket client, or `None` at the `max_clients` cap. The place is freed
    /// when the permit is dropped, at the end of the connection.
    pub fn admit_client(&self) -> Option<OwnedSemaphorePermit> {
        // The semaphore is never closed, so failing means only "no permit left".
        self.inner.clients.clone().try_acquire_owned().ok()
    }

    /// A random seed for a new run, below 2^53 so browsers hold it exactly.
    pub fn random_seed() -> u64 {
        random_seed()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SandboxId, SandboxHandle>> {
        // A panic while holding the lock cannot leave the map half-changed (insert and remove are
        // single calls), so a poisoned lock is still safe to use.
        self.inner
            .sandboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn remove(table: &Weak<Inner>, id: SandboxId) {
    if let Some(inner) = table.upgrade() {
        inner
            .sandboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        inner
            .ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .forget(id);
        tracing::info!(sandbox = %id, "sandbox ended");
    }
}
