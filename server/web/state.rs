//! The state every handler can reach through `State<AppState>`.
use std::sync::Arc;

use crate::config::Config;
use crate::web::shutdown::Shutdown;

/// Shared, cheaply cloned server state. Fields are `Arc`s or handles, so a clone per request costs a few
/// reference-count increments.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub shutdown: Shutdown,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        Self {
            config: Arc::new(config),
            shutdown: Shutdown::new(),
        }
    }
}
