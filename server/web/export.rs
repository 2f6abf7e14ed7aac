//! `GET /api/sandboxes/{id}/export/{format}`: the system of a running sandbox with its learner's
//! current Design, as RabbitMQ definitions (`rabbitmq`) or NATS JetStream configs (`nats`).
//!
//! The Design is read from the sandbox's status watch, which the sandbox task keeps current, so
//! the export needs no request to the task and never waits on it.
use axum::Json;
use axum::extract::{Path, State};

use crate::exercise::export::{Export, Format, export};
use crate::sandbox::SandboxId;
use crate::web::{AppError, AppState};

/// 200 with `{"exercise", "format", "file", "notes"}`; 404 for an unknown sandbox or format; 400 when
/// the Design no longer fits the exercise (its file changed under it).
pub async fn export_sandbox(
    State(state): State<AppState>,
    Path((id, format)): Path<(String, String)>,
) -> Result<Json<Export>, AppError> {
    let id = SandboxId::parse(&id).map_err(|_| AppError::NotFound)?;
    let format = Format::parse(&format).map_err(|_| AppError::NotFound)?;
    let sandbox = state.sandboxes.get(id).ok_or(AppError::NotFound)?;
    let exercise = state
        .catalog
        .get(&sandbox.exercise)
        .ok_or(AppError::NotFound)?;
    let design = sandbox.status().borrow().design.clone();
    export(&exercise, &design.choices, format)
        .map(Json)
        .map_err(|error| AppError::BadRequest(format!("this design cannot be exported: {error}")))
}
