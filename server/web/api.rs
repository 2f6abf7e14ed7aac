//! The JSON API: the exercise catalog (and each exercise as AsyncAPI) and creating sandboxes.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::exercise::{CatalogEntry, Choices};
use crate::sandbox::{SandboxError, SandboxId};
use crate::web::client_identity::ClientIdentity;
use crate::web::{AppError, AppState};

/// A sandbox that cannot be had: a cap or a quota says why in a sentence; anything else is internal.
pub fn refused(error: SandboxError) -> AppError {
    match error {
        SandboxError::Full { .. } | SandboxError::AddressQuota => {
            AppError::Unavailable(format!("{error}."))
        }
        other => AppError::Internal(other.to_string()),
    }
}

/// `POST /api/sandboxes` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSandbox {
    pub exercise: String,
    #[serde(default)]
    pub seed: Option<u64>,
}

/// `POST /api/sandboxes` answer: where to connect.
#[derive(Debug, Serialize)]
pub struct SandboxCreated {
    pub sandbox: SandboxId,
    pub exercise: String,
    pub ws: String,
}

/// `GET /api/exercises`: the catalog, broken files included with their error (naming the file, not the
/// server's directories, as the home page does).
pub async fn exercises(State(state): State<AppState>) -> Json<Vec<CatalogEntry>> {
    let mut entries = state.catalog.entries();
    for entry in &mut entries {
        entry.error = entry
            .error
            .take()
            .map(|e| crate::web::pages::without_directories(&e));
    }
    Json(entries)
}

/// `GET /api/brokers`: what real brokers call each knob kind and channel setting, so the page can show a
/// note next to a knob (look one up by the knob's target kind and field).
pub async fn brokers() -> Json<BrokerNotes> {
    Json(BrokerNotes {
        notes: crate::exercise::brokers::NOTES,
    })
}

/// `GET /api/exercises/{id}/asyncapi?KNOB=OPTION&...`: the exercise's system with the Design the query
/// names (knobs left out keep their default) as an AsyncAPI 3.0.0 document; 404 for an unknown exercise,
/// 400 with a sentence for a knob or option it does not have.
pub async fn asyncapi(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(choices): Query<Choices>,
) -> Result<Json<serde_json::Value>, AppError> {
    let exercise = state.catalog.get(&id).ok_or(AppError::NotFound)?;
    crate::exercise::asyncapi::document(&exercise, &choices)
        .map(Json)
        .map_err(|error| AppError::BadRequest(format!("this design cannot be described: {error}")))
}

/// `GET /api/brokers` answer.
#[derive(Debug, Serialize)]
pub struct BrokerNotes {
    pub notes: &'static [crate::exercise::brokers::BrokerNote],
}

/// `POST /api/sandboxes` with `{"exercise":"id","seed":optional}`: 201, 400, 404 or 503.
pub async fn create_sandbox(
    State(state): State<AppState>,
    ClientIdentity(requester): ClientIdentity,
    body: Bytes,
) -> Result<(StatusCode, Json<SandboxCreated>), AppError> {
    // Parsed by hand rather than with the `Json` extractor, so a bad body gets this API's error shape.
    let request: CreateSandbox = serde_json::from_slice(&body).map_err(|_| {
        AppError::BadRequest(
            r#"expected a JSON body {"exercise": "<id>", "seed": <optional number>}"#.to_owned(),
        )
    })?;
    let exercise = state
        .catalog
        .get(&request.exercise)
        .ok_or(AppError::NotFound)?;
    let id = match request.seed {
        // A chosen seed is a fresh run by definition: no reuse.
        Some(seed) => state.sandboxes.create(exercise, Some(seed)),
        None => state.sandboxes.open_for(requester, exercise),
    }
    .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(SandboxCreated {
            sandbox: id,
            exercise: request.exercise,
            ws: format!("/ws/sandboxes/{id}"),
        }),
    ))
}
