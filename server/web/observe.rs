//! A free-play sandbox read by outside tools, over plain HTTP:
//! - `GET /api/sandboxes/{id}/metrics`: its metrics for Prometheus (text 0.0.4, or OpenMetrics when the
//!   `Accept` header asks for it);
//! - `GET /api/sandboxes/{id}/traces/{correlation}`: one correlation flow of its run so far as an
//!   OTLP/JSON trace, for Jaeger or Grafana Tempo.
//!
//! Like the export, these need no key: a sandbox id is a random UUID, so knowing it is the permission. Both
//! ask the sandbox task itself (the state lives there) without waiting for room in its queue: a busy
//! sandbox answers 503 and the scraper tries again at its next interval. A trace replays the run from its
//! start, away from the sandbox task and within a server-wide bound.
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::engine::CorrelationId;
use crate::exercise::otlp::TracesData;
use crate::sandbox::manager::RequestError;
use crate::sandbox::metrics_text::MetricsFormat;
use crate::sandbox::runtime::Request;
use crate::sandbox::{SandboxHandle, SandboxId};
use crate::web::{AppError, AppState};

/// 200 with the scrape; 404 for an unknown or ended sandbox; 503 when its queue is full.
pub async fn sandbox_metrics(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let sandbox = find(&state, &id)?;
    let format = MetricsFormat::from_accept(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let text = sandbox
        .ask(|answer| Request::Metrics { format, answer })
        .await
        .map_err(refused)?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response())
}

/// Trace replays running at once, server-wide. Each replays a whole run (milliseconds of CPU for a
/// workshop-length run) on a blocking thread; past the bound a request is refused with 503 rather than
/// queued, so traces never take the CPU the sandboxes' clocks need.
pub const MAX_TRACE_REPLAYS: usize = 2;

static TRACE_REPLAYS: Semaphore = Semaphore::const_new(MAX_TRACE_REPLAYS);

/// 200 with the OTLP/JSON trace; 404 for an unknown sandbox, a malformed correlation id, or one that none
/// of the sandbox's messages carries; 503 when its queue is full or [`MAX_TRACE_REPLAYS`] are running.
pub async fn sandbox_trace(
    State(state): State<AppState>,
    Path((id, correlation)): Path<(String, String)>,
) -> Result<Json<TracesData>, AppError> {
    let sandbox = find(&state, &id)?;
    let correlation = parse_correlation(&correlation).ok_or(AppError::NotFound)?;
    let busy =
        || AppError::Unavailable("Traces are being built; try again in a moment.".to_owned());
    // The semaphore is never closed, so an error only means every permit is taken.
    let permit = TRACE_REPLAYS.try_acquire().map_err(|_| busy())?;
    let replay = sandbox.ask(Request::Replay).await.map_err(refused)?;
    let flow = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        replay.flow(correlation)
    })
    .await
    .map_err(|error| AppError::Internal(format!("a trace replay failed: {error}")))?;
    flow.map(Json).ok_or(AppError::NotFound)
}

/// A correlation id as the trace writes it: 16 hex digits.
pub fn parse_correlation(text: &str) -> Option<CorrelationId> {
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    text.parse().ok()
}

fn find(state: &AppState, id: &str) -> Result<SandboxHandle, AppError> {
    let id = SandboxId::parse(id).map_err(|_| AppError::NotFound)?;
    state.sandboxes.get(id).ok_or(AppError::NotFound)
}

fn refused(error: RequestError) -> AppError {
    match error {
        RequestError::Busy => {
            AppError::Unavailable("The sandbox is busy; try again in a moment.".to_owned())
        }
        RequestError::Gone => AppError::NotFound,
    }
}
