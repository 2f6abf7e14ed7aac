//! Exports of a system with a Design, as RabbitMQ definitions (`rabbitmq`) or NATS JetStream
//! configs (`nats`):
//! - `GET /api/sandboxes/{id}/export/{format}`: a running sandbox with its learner's current Design,
//!   read from the sandbox's status watch (which the sandbox task keeps current), so the export needs
//!   no request to the task and never waits on it.
//! - `GET /api/exercises/{id}/export/{format}?KNOB=OPTION&...`: an exercise with the Design the query
//!   names (knobs left out keep their default), for a page that knows its Design but not a sandbox id
//!   this router serves (a workshop session's learner).
use axum::Json;
use axum::extract::{Path, Query, State};

use crate::exercise::Choices;
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

/// 200 with the same shape as a sandbox's export; 404 for an unknown exercise or format; 400 with a
/// sentence for a knob or option the exercise does not have.
pub async fn export_exercise(
    State(state): State<AppState>,
    Path((id, format)): Path<(String, String)>,
    Query(choices): Query<Choices>,
) -> Result<Json<Export>, AppError> {
    let format = Format::parse(&format).map_err(|_| AppError::NotFound)?;
    let exercise = state.catalog.get(&id).ok_or(AppError::NotFound)?;
    export(&exercise, &choices, format)
        .map(Json)
        .map_err(|error| AppError::BadRequest(format!("this design cannot be exported: {error}")))
}
