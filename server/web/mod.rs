//! The web layer: routes, pages, static files and the middleware around them.
//!
//! [`app`] builds the whole router in one place, so tests exercise exactly what the server runs, without a
//! socket, through `tower::ServiceExt::oneshot`.
pub mod api;
pub mod client_identity;
pub mod error;
pub mod error_pages;
pub mod export;
pub mod facilitator_key;
pub mod health;
pub mod observe;
pub mod pages;
pub mod security;
pub mod sessions;
pub mod state;
pub mod static_files;
pub mod upgrade_limit;
pub mod ws;

use axum::Router;
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

pub use error::AppError;
pub use state::AppState;

/// The application: every route, the 404 fallback, security headers, compression (brotli or gzip, as the
/// client accepts; a room on one Wi-Fi shares its bandwidth) and request tracing.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/exercises/{id}", get(pages::playground))
        .route("/healthz", get(health::healthz))
        .route("/static/{*path}", get(static_files::serve_static))
        .route("/api/exercises", get(api::exercises))
        .route("/api/exercises/{id}/asyncapi", get(api::asyncapi))
        .route("/api/brokers", get(api::brokers))
        .route("/api/sandboxes", post(api::create_sandbox))
        .route(
            "/api/sandboxes/{id}/export/{format}",
            get(export::export_sandbox),
        )
        .route("/api/sandboxes/{id}/metrics", get(observe::sandbox_metrics))
        .route(
            "/api/sandboxes/{id}/traces/{correlation}",
            get(observe::sandbox_trace),
        )
        .route(
            "/api/exercises/{id}/export/{format}",
            get(export::export_exercise),
        )
        .route("/ws/sandboxes/{id}", get(ws::sandbox_socket))
        .route("/facilitator", get(facilitator_key::open_link))
        .merge(sessions::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            facilitator_key::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            upgrade_limit::limit_upgrades,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(error_pages::html_for_browsers))
        .layer(axum::middleware::map_response(
            security::set_security_headers,
        ))
        .layer(CompressionLayer::new().br(true).gzip(true))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// The span of one request: its method and path, never its query string, which may carry the facilitator
/// key (`/facilitator?key=…`) and so must not reach a log.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
}

async fn not_found() -> AppError {
    AppError::NotFound
}
