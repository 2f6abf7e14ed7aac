//! The contract between a sandbox's WebSocket client loop (`web::ws`) and whoever hands it a sandbox with
//! conditions (a workshop session): a guard on the client's messages, and messages from outside the
//! sandbox. It lives here, below both, so that sessions need nothing from the web layer.
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;

use super::protocol::ClientMessage;
use super::run::Refusal;

/// Checks a client message before it reaches the sandbox; a refusal is sent back to the client instead.
pub type Guard = Arc<dyn Fn(&ClientMessage) -> Result<(), Refusal> + Send + Sync>;

/// Something for one client from outside its sandbox (a workshop session's notices).
#[derive(Debug, Clone)]
pub enum Outside {
    /// A protocol message, sent as is.
    Text(Utf8Bytes),
    /// Close the connection (the client's sandbox changed, the session ended).
    Close { code: u16, reason: &'static str },
}
