//! The state every handler can reach through `State<AppState>`.
use std::sync::Arc;

use crate::config::Config;
use crate::exercise::Catalog;
use crate::sandbox::{SandboxManager, SandboxSettings};
use crate::session::Sessions;
use crate::shutdown::Shutdown;
use crate::web::facilitator_key::FacilitatorKey;
use crate::web::upgrade_limit::UpgradeLimiter;
use crate::web::ws::Keepalive;

/// Shared, cheaply cloned server state. Fields are `Arc`s or handles, so a clone per request costs a few
/// reference-count increments.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub shutdown: Shutdown,
    /// The exercises: bundled, plus the configured directory's.
    pub catalog: Catalog,
    /// The live sandboxes and the WebSocket client cap.
    pub sandboxes: SandboxManager,
    /// Workshop sessions, with their own sandboxes and store.
    pub sessions: Sessions,
    /// How WebSocket clients are pinged and when their silence closes them.
    pub keepalive: Keepalive,
    /// The key facilitator routes need; `None` when none is needed (a loopback server with no key set).
    pub facilitator_key: Option<FacilitatorKey>,
    /// WebSocket upgrades per peer address (see [`UpgradeLimiter`]).
    pub upgrades: Arc<UpgradeLimiter>,
}

impl AppState {
    /// State with the catalog loaded from `config.exercises_dir` (bundled exercises when unset).
    pub fn new(config: Config) -> Self {
        let catalog = Catalog::load(config.exercises_dir.as_deref());
        Self::with_catalog(config, catalog)
    }

    /// State with a catalog the caller loaded (the server, to watch its directory; tests, with their own).
    /// Sessions are kept in memory only; the server uses [`AppState::with_sessions`] for its data dir.
    pub fn with_catalog(config: Config, catalog: Catalog) -> Self {
        let sessions = match Sessions::open(None, catalog.clone(), config.limits) {
            Ok(sessions) => sessions,
            // An in-memory database needs no file; failing here means SQLite itself cannot start.
            Err(error) => panic!("cannot start an in-memory session store: {error}"),
        };
        Self::with_sessions(config, catalog, sessions)
    }

    /// State with sessions the caller opened (on the data directory, restoring stored sessions).
    pub fn with_sessions(config: Config, catalog: Catalog, sessions: Sessions) -> Self {
        let sandboxes = SandboxManager::with_proofs(
            SandboxSettings::from_limits(&config.limits),
            sessions.proofs(),
        );
        let facilitator_key = config
            .facilitator_key
            .as_ref()
            .map(|key| FacilitatorKey::of(&key.0));
        Self {
            config: Arc::new(config),
            shutdown: Shutdown::new(),
            catalog,
            sandboxes,
            sessions,
            keepalive: Keepalive::default(),
            facilitator_key,
            upgrades: Arc::new(UpgradeLimiter::default()),
        }
    }
}
