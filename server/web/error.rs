//! The one error type handlers return. Internal details go to the log, never to the browser.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::web::pages::NotFoundPage;

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
