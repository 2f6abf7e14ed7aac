//! Sandboxes: live runs of an exercise that browsers watch and steer over a WebSocket.
//!
//! One tokio task per sandbox owns the run and is the only thing that turns wall time into virtual time;
//! clients talk to it through a bounded queue and watch it through one broadcast of pre-serialized frames.
//!
//! # Layout
//! - `client`: what a client loop may be given besides frames: a guard on its messages, outside notices.
//! - `manager`: the table of sandboxes, the caps, and [`SandboxManager::create`].
//! - `runtime`: the sandbox task: clock, speed, pause/step, requests, one frame per tick.
//! - `run`: the world, goal tracker, seed, the learner's Design and the timed command log; choose, seek,
//!   reset, import (no tokio).
//! - `quota`: free-play quotas: sandboxes per browser and per address, reuse on reload.
//! - `flow`: one correlation flow of the run, replayed from its start, as an OTLP/JSON trace.
//! - `metrics`, `metrics_text`: the run's metrics as a Prometheus or OpenMetrics scrape.
//! - `proofs`: the server-wide proof pool: bounded workers and queue, progress, cancel, cache.
//! - `frame`: frames and snapshots, serialized once for every client.
//! - `plain_errors`: serde's messages rewritten as sentences for learners.
//! - `protocol`: the serde types of protocol v1 (`docs/PROTOCOL.md`).
//! - `run_file`: the export/import format.
pub mod client;
pub mod flow;
pub mod frame;
pub mod manager;
pub mod metrics;
pub mod metrics_text;
pub mod plain_errors;
pub mod proofs;
pub mod protocol;
pub mod quota;
pub mod run;
pub mod run_file;
pub mod runtime;

use std::fmt;

use serde::Serialize;
use uuid::Uuid;

pub use manager::{SandboxError, SandboxHandle, SandboxManager, SandboxSettings};

/// A sandbox's id: a random UUID, hard to guess, so knowing it is what lets a browser watch a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SandboxId(Uuid);

impl SandboxId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Reads an id from a URL segment.
    pub fn parse(text: &str) -> Result<Self, SandboxIdError> {
        Uuid::try_parse(text).map(Self).map_err(|_| SandboxIdError)
    }
}

impl Default for SandboxId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SandboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a sandbox id")]
pub struct SandboxIdError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_ids_round_trip_and_reject_junk() {
        let id = SandboxId::new();
        assert_eq!(SandboxId::parse(&id.to_string()), Ok(id));
        assert_eq!(SandboxId::parse("../etc/passwd"), Err(SandboxIdError));
        assert_eq!(SandboxId::parse(""), Err(SandboxIdError));
    }
}
