//! The facilitator key: who may start a workshop session and run one.
//!
//! As Jupyter does with its token, the server knows one key and prints a link that carries it. Opening the
//! link once (`GET /facilitator?key=…`) sets an HttpOnly cookie and moves on to "Start a session", so the
//! key leaves the address bar at once; after that the browser sends the cookie. A JSON client sends the key
//! in the `X-Facilitator-Key` header instead. Joining a session and free play need no key.
//!
//! Whether a key is needed depends only on the address the server is bound to, never on the client's
//! address (behind a reverse proxy every client looks local): a server bound to a loopback address with no
//! key configured needs none; any other server needs one, and makes one up at start when none is set.
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::config::Config;
use crate::session::token::{Token, TokenHash};

use super::error::{ErrorPage, wants_html};
use super::sessions::cookie;
use super::state::AppState;

/// The cookie that carries the key after the facilitator link was opened.
pub const KEY_COOKIE: &str = "eda_facilitator_key";
/// The header a JSON client sends the key in.
pub const KEY_HEADER: &str = "x-facilitator-key";
/// How long the cookie lasts: a long workshop day.
const COOKIE_MAX_AGE_SECS: u64 = 24 * 60 * 60;

/// The key of a running server: only its hash is kept, like the session tokens'.
#[derive(Debug, Clone, Copy)]
pub struct FacilitatorKey(TokenHash);

impl FacilitatorKey {
    pub fn of(key: &str) -> Self {
        Self(TokenHash::of(key))
    }

    fn admits(&self, presented: &str) -> bool {
        self.0.matches(&TokenHash::of(presented))
    }
}

/// The key this server needs, from the configuration and the bound address, and the key text when the
/// operator must be told it (a key made up at start, or one they set). `None`: no key needed.
pub fn resolve(config: &Config) -> Option<(FacilitatorKey, String)> {
    let text = match &config.facilitator_key {
        Some(key) => key.0.clone(),
        None if config.bind.ip().is_loopback() => return None,
        None => Token::generate().as_str().to_owned(),
    };
    Some((FacilitatorKey::of(&text), text))
}

/// Whether this request carries the key (or none is needed).
pub fn admitted(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(key) = state.facilitator_key else {
        return true;
    };
    let from_header = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
    let from_cookie = cookie(headers, KEY_COOKIE);
    [from_header, from_cookie]
        .into_iter()
        .flatten()
        .any(|presented| key.admits(presented))
}

/// The refusal for a request without the key: a page for a browser, `{"error": …}` with 401 otherwise.
pub fn refusal(headers: &HeaderMap) -> Response {
    const WHAT: &str = "Only the facilitator can start and run workshop sessions.";
    const HOW: &str = "Open the facilitator link the server printed when it started (it carries the key), \
                       or send the key in the X-Facilitator-Key header. Learners join with the session's code \
                       and need no key.";
    if wants_html(headers) {
        (
            StatusCode::FORBIDDEN,
            ErrorPage::new("Facilitator key needed", WHAT, HOW),
        )
            .into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "error": format!("{WHAT} {HOW}") })),
        )
            .into_response()
    }
}

#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    key: Option<String>,
}

/// `GET /facilitator?key=…`: the facilitator link. A right key sets the cookie and goes on to "Start a
/// session"; a wrong one is told so.
pub async fn open_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<KeyQuery>,
) -> Response {
    let Some(key) = state.facilitator_key else {
        return redirect_to_start(None);
    };
    match query.key.as_deref() {
        Some(presented) if key.admits(presented) => {
            let cookie = format!(
                "{KEY_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_SECS}",
                presented.trim()
            );
            redirect_to_start(HeaderValue::from_str(&cookie).ok())
        }
        _ => {
            let page = ErrorPage::new(
                "This facilitator link is not valid",
                "The key in the link does not match this server's.",
                "Copy the facilitator link again from where the server printed it; a server that made up its \
                 key prints a new one at every start.",
            );
            let status = if wants_html(&headers) {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            };
            (status, page).into_response()
        }
    }
}

fn redirect_to_start(cookie: Option<HeaderValue>) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, HeaderValue::from_static("/sessions/new")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

/// Whether a request is the facilitator's: starting a session, and every page, action and socket of a
/// session's facilitator (the dashboard, the spotlight, driving the stage, a learner's sandbox watched).
pub fn is_facilitator_route(method: &axum::http::Method, path: &str, query: Option<&str>) -> bool {
    use axum::http::Method;
    if path == "/sessions/new"
        || (method == Method::POST && (path == "/sessions" || path == "/api/sessions"))
    {
        return true;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["sessions", _, "facilitate" | "spotlight"] | ["sessions", _, "stage", "drive"] => true,
        ["api", "sessions", _, "facilitator" | "roster" | "actions"] => true,
        ["ws", "sessions", _, "dashboard" | "spotlight"] => true,
        // The facilitator watching one learner's sandbox; a learner's own socket has no query.
        ["ws", "sessions", _, "sandbox"] => query.is_some_and(|q| q.contains("learner=")),
        _ => false,
    }
}

/// Middleware: a facilitator route without the key gets [`refusal`]; everything else passes.
pub async fn guard(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let uri = request.uri();
    if is_facilitator_route(request.method(), uri.path(), uri.query())
        && !admitted(&state, request.headers())
    {
        return refusal(request.headers());
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn facilitator_routes_are_told_apart_from_learners_and_free_play() {
        let get = Method::GET;
        let post = Method::POST;
        assert!(is_facilitator_route(&get, "/sessions/new", None));
        assert!(is_facilitator_route(&post, "/api/sessions", None));
        assert!(is_facilitator_route(
            &get,
            "/sessions/K7MQ4X/facilitate",
            None
        ));
        assert!(is_facilitator_route(
            &get,
            "/ws/sessions/K7MQ4X/dashboard",
            None
        ));
        assert!(is_facilitator_route(
            &get,
            "/ws/sessions/K7MQ4X/sandbox",
            Some("learner=3")
        ));
        assert!(!is_facilitator_route(
            &get,
            "/ws/sessions/K7MQ4X/sandbox",
            None
        ));
        assert!(!is_facilitator_route(
            &post,
            "/api/sessions/K7MQ4X/learners",
            None
        ));
        assert!(!is_facilitator_route(&get, "/join/K7MQ4X", None));
        assert!(!is_facilitator_route(&post, "/api/sandboxes", None));
        assert!(!is_facilitator_route(&get, "/exercises/idempotency", None));
    }
}
