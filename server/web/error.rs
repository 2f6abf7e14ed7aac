//! The one error type handlers return. Internal details go to the log, never to the browser.
use askama::Template;
use askama_web::WebTemplate;
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::web::pages::{Layout, NotFoundPage};

/// A page in the site's style for a request a browser made that cannot be served: what happened, and
/// what to do about it.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub title: String,
    pub what: String,
    pub what_to_do: String,
}

impl ErrorPage {
    pub fn new(title: &str, what: &str, what_to_do: &str) -> Self {
        Self {
            layout: Layout::new(),
            title: title.to_owned(),
            what: what.to_owned(),
            what_to_do: what_to_do.to_owned(),
        }
    }
}

/// Whether the client is a browser navigating (it asks for HTML first), rather than a script or a JSON
/// client, which keep their JSON errors.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .starts_with("text/html")
        })
}

/// What the client is told: a 404 with the custom page, a 4xx/503 with a message written for them (as
/// `{"error": …}`), or a generic 500 message.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// The request itself is wrong; the text says how, in the client's terms.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Refused on purpose (a WebSocket from another site's page).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// A cap is reached; the text says which and what to do.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A failure the client cannot fix. The text is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The only text a browser sees for a server-side failure.
pub const INTERNAL_ERROR_MESSAGE: &str =
    "Something went wrong on the server. The facilitator can find details in the server log.";

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, NotFoundPage::new()).into_response(),
            Self::BadRequest(message) => json_error(StatusCode::BAD_REQUEST, &message),
            Self::Forbidden(message) => json_error(StatusCode::FORBIDDEN, message),
            Self::Unavailable(message) => json_error(StatusCode::SERVICE_UNAVAILABLE, &message),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE).into_response()
            }
        }
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn internal_errors_hide_their_detail() {
        let response =
            AppError::Internal("open /secret/path: permission denied".to_owned()).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        assert_eq!(text, INTERNAL_ERROR_MESSAGE);
        assert!(!text.contains("/secret"));
    }
}
