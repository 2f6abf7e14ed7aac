//! The catalog: bundled exercises plus a directory of the facilitator's own.
//!
//! A file in the directory overrides the bundled exercise with the same id. A file that
//! does not load shows its error in [`Catalog::entries`] and hides nothing else; when it
//! breaks after having loaded, its last good version stays in use. [`Catalog::watch`]
//! reloads a file when it changes, so an edit shows without a restart.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use super::Exercise;
use super::bundled::BUNDLED;
use super::load::{LoadError, load_file, parse};
use super::model::{Origin, Part};

/// Exercise files read from one directory. Files beyond it (in name order) are not read,
/// and the catalog says so with an error entry, so a stray directory of thousands of files
/// cannot slow the server down.
pub const MAX_EXERCISE_FILES: usize = 256;

/// How long the watcher waits for a burst of file events to settle before it reloads:
/// editors write a file in several steps, and reading it half-written would flash an error.
pub const WATCH_DEBOUNCE: Duration = Duration::from_millis(150);

/// Reload notices a [`WatchHandle`] keeps for whoever waits on them. At the limit newer
/// notices are dropped: they only inform, the catalog itself is already up to date.
pub const MAX_PENDING_RELOAD_NOTICES: usize = 64;

/// One line of the home page: an exercise, or the error of a file that does not load.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogEntry {
    pub id: String,
    pub title: String,
    pub part: Part,
    pub order: u32,
    pub minutes: u32,
    pub summary: String,
    /// Set when the file is broken; the last good version (if any) stays in use.
    pub error: Option<String>,
}

/// One file's state: its last good exercise and its current error.
#[derive(Debug, Clone)]
struct Slot {
    /// The file name, shown for a file that never loaded.
    name: String,
    exercise: Option<Arc<Exercise>>,
    error: Option<LoadError>,
}

impl Slot {
    fn from_result(name: String, result: Result<Exercise, LoadError>) -> Self {
        match result {
            Ok(exercise) => Slot {
                name,
                exercise: Some(Arc::new(exercise)),
                error: None,
            },
            Err(error) => Slot {
                name,
                exercise: None,
                error: Some(error),
            },
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    bundled: Vec<Slot>,
    files: BTreeMap<PathBuf, Slot>,
    /// Files that were not read because the directory holds too many.
    skipped: usize,
}

/// Shared, cheaply cloned handle on the current exercises.
///
/// A std `RwLock`, not tokio's: it is held only to copy an `Arc` in or out, never across
/// an await, and the watcher thread that writes is not a task.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    inner: Arc<RwLock<Inner>>,
}

/// What the catalog resolves to: per id, the exercise in use and the entry shown.
struct Resolved {
    entry: CatalogEntry,
    exercise: Option<Arc<Exercise>>,
}

impl Catalog {
    /// The bundled exercises plus those in `dir`, which override bundled ones by id.
    pub fn load(dir: Option<&Path>) -> Catalog {
        let bundled = BUNDLED
            .iter()
            .map(|(name, text)| {
                let shown = format!("exercises/{name}");
                Slot::from_result(
                    (*name).to_owned(),
                    parse(text, &shown, Origin::Bundled((*name).to_owned())),
                )
            })
            .collect();
        let mut inner = Inner {
            bundled,
            ..Inner::default()
        };
        if let Some(dir) = dir {
            let mut paths = exercise_files(dir);
            if paths.len() > MAX_EXERCISE_FILES {
                inner.skipped = paths.len() - MAX_EXERCISE_FILES;
                paths.truncate(MAX_EXERCISE_FILES);
            }
            for path in paths {
                let slot = Slot::from_result(file_name(&path), load_file(&path));
                inner.files.insert(path, slot);
            }
        }
        Catalog {
            inner: Arc::new(RwLock::new(inner)),
        }
    }

    /// Only the bundled exercises.
    pub fn bundled() -> Catalog {
        Catalog::load(None)
    }

    pub fn entries(&self) -> Vec<CatalogEntry> {
        let mut entries: Vec<_> = self.resolve().into_iter().map(|r| r.entry).collect();
        entries.sort_by(|a, b| (a.part, a.order, &a.id).cmp(&(b.part, b.order, &b.id)));
        entries
    }

    pub fn get(&self, id: &str) -> Option<Arc<Exercise>> {
        self.resolve()
            .into_iter()
            .find(|r| r.entry.id == id)
            .and_then(|r| r.exercise)
    }

    /// Every exercise in use, in catalog order.
    pub fn exercises(&self) -> Vec<Arc<Exercise>> {
        let mut all: Vec<_> = self
            .resolve()
            .into_iter()
            .filter_map(|r| r.exercise)
            .collect();
        all.sort_by(|a, b| (a.part, a.order, &a.id).cmp(&(b.part, b.order, &b.id)));
        all
    }

    /// Every file's error, as `(file, error)`.
    pub fn errors(&self) -> Vec<LoadError> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner
            .bundled
            .iter()
            .chain(inner.files.values())
            .filter_map(|s| s.error.clone())
            .collect()
    }

    /// Reads one file again: a good file replaces its last version, a broken one keeps the
    /// last good version and records the error, a deleted one leaves the catalog.
    pub fn reload_path(&self, path: &Path) {
        let exists = path.is_file();
        let result = exists.then(|| load_file(path));
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        match result {
            None => {
                inner.files.remove(path);
            }
            Some(Ok(exercise)) => {
                inner.files.insert(
                    path.to_path_buf(),
                    Slot {
                        name: file_name(path),
                        exercise: Some(Arc::new(exercise)),
                        error: None,
                    },
                );
            }
            Some(Err(error)) => {
                let slot = inner.files.entry(path.to_path_buf()).or_insert(Slot {
                    name: file_name(path),
                    exercise: None,
                    error: None,
                });
                slot.error = Some(error);
            }
        }
    }

    /// Watches `dir` and reloads each exercise file that changes, until the handle is
    /// dropped.
    pub fn watch(&self, dir: &Path) -> Result<WatchHandle, WatchError> {
        use notify::Watcher;
        let (events, incoming) = std::sync::mpsc::channel();
        // The notify callback runs on notify's own thread; the channel hands its events to
        // ours, which debounces and reloads. It is unbounded on purpose: notify must never
        // block, and our thread drains it continuously.
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = events.send(event);
        })
        .map_err(WatchError::Start)?;
        watcher
            .watch(dir, notify::RecursiveMode::NonRecursive)
            .map_err(WatchError::Start)?;
        let (notices, reloaded) = std::sync::mpsc::sync_channel(MAX_PENDING_RELOAD_NOTICES);
        let catalog = self.clone();
        let thread = std::thread::Builder::new()
            .name("exercise-watch".into())
            .spawn(move || watch_loop(&catalog, &incoming, &notices))
            .map_err(WatchError::Thread)?;
        Ok(WatchHandle {
            watcher: Some(watcher),
            thread: Some(thread),
            reloaded,
        })
    }

    fn resolve(&self) -> Vec<Resolved> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut by_id: BTreeMap<String, Resolved> = BTreeMap::new();
        let mut broken = Vec::new();
        for slot in &inner.bundled {
            place(&mut by_id, &mut broken, slot, false);
        }
        let mut from_files: BTreeMap<String, String> = BTreeMap::new();
        for slot in inner.files.values() {
            if let Some(exercise) = &slot.exercise
                && let Some(first) = from_files.get(&exercise.id)
            {
                broken.push(error_entry(
                    &slot.name,
                    format!(
                        "{}: the id {:?} is already used by {first}; this file is ignored",
                        slot.name, exercise.id
                    ),
                ));
                continue;
            }
            if let Some(exercise) = &slot.exercise {
                from_files.insert(exercise.id.clone(), slot.name.clone());
            }
            place(&mut by_id, &mut broken, slot, true);
        }
        if inner.skipped > 0 {
            broken.push(error_entry(
                "(more files)",
                format!(
                    "{} exercise files were not read: a directory holds at most {MAX_EXERCISE_FILES}",
                    inner.skipped
                ),
            ));
        }
        by_id
            .into_values()
            .chain(broken.into_iter().map(|entry| Resolved {
                entry,
                exercise: None,
            }))
            .collect()
    }
}

/// Puts one slot's exercise (or error) in the resolution; a file overrides by id.
fn place(
    by_id: &mut BTreeMap<String, Resolved>,
    broken: &mut Vec<CatalogEntry>,
    slot: &Slot,
    overrides: bool,
) {
    let error = slot.error.as_ref().map(ToString::to_string);
    match &slot.exercise {
        Some(exercise) => {
            if !overrides && by_id.contains_key(&exercise.id) {
                return;
            }
            by_id.insert(
                exercise.id.clone(),
                Resolved {
                    entry: CatalogEntry {
                        id: exercise.id.clone(),
                        title: exercise.title.clone(),
                        part: exercise.part,
                        order: exercise.order,
                        minutes: exercise.minutes,
                        summary: exercise.summary.clone(),
                        error,
                    },
                    exercise: Some(exercise.clone()),
                },
            );
        }
        None => {
            if let Some(error) = error {
                broken.push(error_entry(&slot.name, error));
            }
        }
    }
}

/// The entry of a file that never loaded: named after the file, listed last in part 1.
fn error_entry(name: &str, error: String) -> CatalogEntry {
    let id = name.trim_end_matches(".toml").to_owned();
    CatalogEntry {
        id: id.clone(),
        title: name.to_owned(),
        part: Part::Communication,
        order: u32::MAX,
        minutes: 0,
        summary: "This exercise file does not load.".to_owned(),
        error: Some(error),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The `*.toml` files of a directory, in name order. A missing or unreadable directory has
/// none: the bundled exercises are served on their own.
pub fn exercise_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| is_exercise_file(path))
        .collect();
    paths.sort();
    paths
}

fn is_exercise_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
        && !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Waits for file events, lets a burst settle, then reloads each changed exercise file.
/// Ends when the watcher (the sending side) is dropped.
fn watch_loop(
    catalog: &Catalog,
    incoming: &Receiver<notify::Result<notify::Event>>,
    notices: &SyncSender<PathBuf>,
) {
    while let Ok(first) = incoming.recv() {
        let mut changed = std::collections::BTreeSet::new();
        collect(&mut changed, first);
        loop {
            match incoming.recv_timeout(WATCH_DEBOUNCE) {
                Ok(event) => collect(&mut changed, event),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        for path in changed {
            catalog.reload_path(&path);
            tracing::info!(path = %path.display(), "exercise file reloaded");
            // Full means nobody is reading the notices; dropping one is harmless.
            let _ = notices.try_send(path);
        }
    }
}

fn collect(
    changed: &mut std::collections::BTreeSet<PathBuf>,
    event: notify::Result<notify::Event>,
) {
    match event {
        Ok(event) => {
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            changed.extend(event.paths.into_iter().filter(|p| is_exercise_file(p)));
        }
        Err(error) => tracing::warn!(%error, "watching the exercises directory"),
    }
}

/// Why the exercises directory cannot be watched.
#[derive(Debug, Error)]
pub enum WatchError {
    #[error("cannot watch the exercises directory: {0}")]
    Start(#[source] notify::Error),
    #[error("cannot start the watcher thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Keeps the directory watched; dropping it stops the watcher and its thread.
pub struct WatchHandle {
    watcher: Option<notify::RecommendedWatcher>,
    thread: Option<std::thread::JoinHandle<()>>,
    reloaded: Receiver<PathBuf>,
}

impl WatchHandle {
    /// Waits up to `timeout` for the next file the watcher reloaded.
    pub fn next_reload(&self, timeout: Duration) -> Option<PathBuf> {
        self.reloaded.recv_timeout(timeout).ok()
    }

    /// Forgets the reloads that happened so far.
    pub fn clear_reloads(&self) {
        while !matches!(
            self.reloaded.try_recv(),
            Err(TryRecvError::Empty | TryRecvError::Disconnected)
        ) {}
    }
}

impl std::fmt::Debug for WatchHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHandle").finish_non_exhaustive()
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        // Dropping the watcher drops the channel's sender, which ends the thread's loop.
        self.watcher.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
