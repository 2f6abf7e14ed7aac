//! `GET /healthz`: answers while the server accepts requests; used by `eda-playground healthcheck`.
use axum::Json;
use serde::Serialize;

/// The health report: `{"status":"ok","version":"0.1.0"}`.
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}
