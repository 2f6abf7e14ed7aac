//! Browsers get pages, scripts get JSON: a refusal written as `{"error": "…"}` (a cap, a bad form, a
//! session that ended) becomes a page in the site's style when the request was a browser navigating,
//! with the same sentence. Handlers keep one way of saying no.
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ErrorPage, wants_html};

/// The largest JSON error body read to turn into a page; a longer one is passed on as it is.
const MAX_ERROR_BODY_BYTES: usize = 16 * 1024;

/// Middleware: a JSON error answered to a browser navigation is rendered as an [`ErrorPage`].
pub async fn html_for_browsers(request: Request, next: Next) -> Response {
    let browser = wants_html(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !browser || !json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
    let Some(message) = message else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let (title, what_to_do) = match status.as_u16() {
        400 => (
            "That request did not work",
            "Go back, check what you entered, and try again.",
        ),
        401 | 403 => (
            "Not allowed",
            "Open the link you were given again, or ask your facilitator.",
        ),
        404 => ("Not found", "It may have ended; go back to the exercises."),
        409 | 410 => (
            "Not any more",
            "The session may be full or over; ask your facilitator.",
        ),
        429 | 503 => ("The server is busy", "Wait a minute and try again."),
        _ => ("Something went wrong", "Try again in a moment."),
    };
    (status, ErrorPage::new(title, &message, what_to_do)).into_response()
}
