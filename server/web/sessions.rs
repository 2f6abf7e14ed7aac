//! Workshop session routes: pages, the JSON API and the session WebSockets.
//!
//! Who may do what: the facilitator's token (from the facilitator link's fragment, sent by the page as
//! `Authorization: Bearer`) for the dashboard and every room action; a learner's token (kept in their
//! browser) for their own sandbox and their own instance on the stage. POST actions read the header only,
//! so another site cannot trigger them with the visitor's cookies. Page loads and WebSockets cannot set
//! headers from a browser, so they also accept an HttpOnly, SameSite=Strict cookie that the page gets by
//! presenting its token once.
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use crate::exercise::CatalogEntry;
use crate::sandbox::SandboxHandle;
use crate::session::results::Results;
use crate::session::{Action, Room, SessionError, Sessions, StageAction};
use crate::web::pages::{Layout, PlaygroundPage, PlaygroundView};
use crate::web::ws::{self, Policy, same_origin};
use crate::web::{AppError, AppState, static_files};

/// The session routes, merged into [`crate::web::app`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/new", get(new_session_page))
        .route("/sessions", post(create_session_form))
        .route("/join", get(join_code_page))
        .route("/join/{code}", get(join_page))
        .route("/sessions/{code}/play", get(play_page))
        .route("/sessions/{code}/facilitate", get(facilitator_page))
        .route("/sessions/{code}/spotlight", get(spotlight_page))
        .route("/sessions/{code}/stage", get(stage_page))
        .route("/sessions/{code}/stage/drive", get(stage_drive_page))
        .route("/sessions/{code}/qr.svg", get(qr_svg))
        .route("/api/sessions", post(create_session))
        .route("/api/sessions/{code}/learners", post(join))
        .route("/api/sessions/{code}/me", post(resume))
        .route(
            "/api/sessions/{code}/facilitator",
            post(facilitator_sign_in),
        )
        .route("/api/sessions/{code}/roster", get(roster))
        .route("/api/sessions/{code}/results.csv", get(results_csv))
        .route("/api/sessions/{code}/results.json", get(results_json))
        .route("/api/sessions/{code}/actions", post(action))
        .route("/api/sessions/{code}/stage", post(stage_action))
        .route("/ws/sessions/{code}/sandbox", get(sandbox_socket))
        .route("/ws/sessions/{code}/spotlight", get(spotlight_socket))
        .route("/ws/sessions/{code}/stage", get(stage_socket))
        .route("/ws/sessions/{code}/dashboard", get(dashboard_socket))
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = match &self {
            SessionError::NotFound | SessionError::UnknownExercise(_) => StatusCode::NOT_FOUND,
            SessionError::Ended => StatusCode::GONE,
            SessionError::TooManySessions { .. } => StatusCode::SERVICE_UNAVAILABLE,
            SessionError::RoomFull { .. } => StatusCode::CONFLICT,
            SessionError::Unauthorized => StatusCode::UNAUTHORIZED,
            SessionError::Forbidden => StatusCode::FORBIDDEN,
            SessionError::BadRequest(_) => StatusCode::BAD_REQUEST,
            SessionError::Sandbox(crate::sandbox::SandboxError::Full { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            SessionError::Sandbox(_) | SessionError::Store(_) => {
                return AppError::Internal(self.to_string()).into_response();
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Cookie names: one per session and role, so two sessions in one browser do not mix.
fn learner_cookie(room: &Room) -> String {
    format!("eda_learner_{}", room.code.as_str())
}

fn facilitator_cookie(room: &Room) -> String {
    format!("eda_facilitator_{}", room.code.as_str())
}

/// The token in `Authorization: Bearer …`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// One cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The bearer token, else the cookie: for page loads and WebSockets only.
fn credential<'a>(headers: &'a HeaderMap, cookie_name: &str) -> Option<&'a str> {
    bearer(headers).or_else(|| cookie(headers, cookie_name))
}

fn set_cookie(name: &str, token: &str, sessions: &Sessions) -> HeaderValue {
    let max_age = sessions.limits().session_idle.as_secs();
    let value = format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    // Names are ASCII letters, digits and underscores; tokens are hex: always a valid header.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `http://host` as the browser reached us, for join links and the QR code.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &Bytes, shape: &str) -> Result<T, SessionError> {
    serde_json::from_slice(body).map_err(|error| {
        SessionError::BadRequest(format!(
            "expected {shape}: {}",
            crate::sandbox::plain_errors::plain(&error)
        ))
    })
}

// ---------------------------------------------------------------------------------------------- pages

#[derive(Debug, Template, WebTemplate)]
#[template(path = "session_new.html")]
pub struct NewSessionPage {
    pub layout: Layout,
    pub exercises: Vec<CatalogEntry>,
    pub error: Option<String>,
}

async fn new_session_page(State(state): State<AppState>) -> NewSessionPage {
    NewSessionPage {
        layout: Layout::new(),
        exercises: playable(&state),
        error: None,
    }
}

fn playable(state: &AppState) -> Vec<CatalogEntry> {
    let mut entries: Vec<CatalogEntry> = state
        .catalog
        .entries()
        .into_iter()
        .filter(|e| state.catalog.get(&e.id).is_some())
        .collect();
    entries.sort_by(|a, b| (a.part, a.order, &a.title).cmp(&(b.part, b.order, &b.title)));
    entries
}

#[derive(Debug, Deserialize)]
struct NewSessionForm {
    exercise: String,
}

/// The page shown once, to the facilitator only, right after starting a session: it holds the private
/// link. Never cached.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "session_created.html")]
pub struct CreatedPage {
    pub layout: Layout,
    pub code: String,
    pub join_url: String,
    pub facilitator_url: String,
    pub qr_href: String,
}

async fn create_session_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NewSessionForm>,
) -> Response {
    match state.sessions.create(&form.exercise).await {
        Ok((room, token)) => {
            let base = origin(&headers);
            let page = CreatedPage {
                layout: Layout::new(),
                code: room.code.to_string(),
                join_url: format!("{base}/join/{}", room.code.as_str()),
                facilitator_url: format!(
                    "{base}/sessions/{}/facilitate#{}",
                    room.code.as_str(),
                    token.as_str()
                ),
                qr_href: format!("/sessions/{}/qr.svg", room.code.as_str()),
            };
            ([(CACHE_CONTROL, "no-store")], page).into_response()
        }
        Err(error) => {
            let status = match error {
                SessionError::TooManySessions { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            let page = NewSessionPage {
                layout: Layout::new(),
                exercises: playable(&state),
                error: Some(error.to_string()),
            };
            (status, page).into_response()
        }
    }
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "session_join.html")]
pub struct JoinPage {
    pub layout: Layout,
    /// The code from the URL, when it names a live session.
    pub code: Option<String>,
    pub code_display: String,
    pub exercise_title: String,
    pub error: Option<String>,
    pub js_href: String,
    pub css_href: String,
}

#[derive(Debug, Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

async fn join_code_page(State(state): State<AppState>, Query(query): Query<CodeQuery>) -> Response {
    let error = match query.code.as_deref().map(|code| state.sessions.find(code)) {
        Some(Ok(room)) => {
            return Redirect::to(&format!("/join/{}", room.code.as_str())).into_response();
        }
        Some(Err(error)) => Some(error.to_string()),
        None => None,
    };
    JoinPage {
        layout: Layout::new(),
        code: None,
        code_display: String::new(),
        exercise_title: String::new(),
        error,
        js_href: static_files::href("js/session-join.js"),
        css_href: static_files::href("css/session.css"),
    }
    .into_response()
}

async fn join_page(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    match state.sessions.find(&code) {
        Ok(room) => {
            let exercise = room.lock().exercise.clone();
            let title = state
                .catalog
                .get(&exercise)
                .map_or(exercise, |e| e.title.clone());
            JoinPage {
                layout: Layout::new(),
                code: Some(room.code.as_str().to_owned()),
                code_display: room.code.to_string(),
                exercise_title: title,
                error: None,
                js_href: static_files::href("js/session-join.js"),
                css_href: static_files::href("css/session.css"),
            }
            .into_response()
        }
        Err(error) => (
            StatusCode::NOT_FOUND,
            JoinPage {
                layout: Layout::new(),
                code: None,
                code_display: String::new(),
                exercise_title: String::new(),
                error: Some(error.to_string()),
                js_href: static_files::href("js/session-join.js"),
                css_href: static_files::href("css/session.css"),
            },
        )
            .into_response(),
    }
}

/// `GET /sessions/{code}/play`: the playground on the learner's own sandbox (cookie from joining).
async fn play_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Ok(room) = state.sessions.find(&code) else {
        return Err(AppError::NotFound);
    };
    let Ok(learner) = state
        .sessions
        .learner(&room, credential(&headers, &learner_cookie(&room)))
    else {
        return Ok(Redirect::to(&format!("/join/{}", room.code.as_str())).into_response());
    };
    let exercise_id = room.lock().learners[learner as usize].run.exercise.clone();
    let exercise = state.catalog.get(&exercise_id).ok_or(AppError::NotFound)?;
    let page = PlaygroundPage {
        layout: Layout::new(),
        page: PlaygroundView::new(
            &exercise,
            format!("/ws/sessions/{}/sandbox", room.code.as_str()),
        )?,
    };
    Ok(([(CACHE_CONTROL, "no-store")], page).into_response())
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "session_facilitator.html")]
pub struct FacilitatorPage {
    pub layout: Layout,
    pub code: String,
    pub code_display: String,
    pub join_url: String,
    pub qr_href: String,
    pub exercises: Vec<CatalogEntry>,
    /// Each exercise's consumers and knobs (exercise id → names and labels): the fault form offers the
    /// consumers from a list, and the roster names a learner's choices as the learner saw them.
    pub exercises_json: String,
    /// Each exercise's debrief questions and solution, for the debrief on the projector.
    pub debriefs: Vec<DebriefView>,
    pub js_href: String,
    pub css_href: String,
}

/// An exercise's debrief questions and its solution's explanation, as safe HTML from the loader.
#[derive(Debug)]
pub struct DebriefView {
    pub id: String,
    pub questions: Vec<String>,
    pub solution_html: String,
}

/// `GET /sessions/{code}/facilitate`: the dashboard. The page holds no secret: its script reads the
/// token from the link's fragment (which browsers never send) or from its own storage.
async fn facilitator_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<FacilitatorPage, AppError> {
    let room = state.sessions.find(&code).map_err(|_| AppError::NotFound)?;
    Ok(FacilitatorPage {
        layout: Layout::new(),
        code: room.code.as_str().to_owned(),
        code_display: room.code.to_string(),
        join_url: format!("{}/join/{}", origin(&headers), room.code.as_str()),
        qr_href: format!("/sessions/{}/qr.svg", room.code.as_str()),
        exercises: playable(&state),
        exercises_json: exercises_for_dashboard(&state),
        debriefs: state
            .catalog
            .exercises()
            .iter()
            .map(|e| DebriefView {
                id: e.id.clone(),
                questions: e.debrief.clone(),
                solution_html: e.solution.explanation_html.clone(),
            })
            .collect(),
        js_href: static_files::href("js/session-facilitator.js"),
        css_href: static_files::href("css/session.css"),
    })
}

/// `{"exercise-id": {"title": …, "minutes": 20, "consumers": ["billing", …], "channels": […], "services": […],
/// "knobs": {"knob-id": {"label": …, "options": {"id": label}}}}}` for every playable exercise.
fn exercises_for_dashboard(state: &AppState) -> String {
    let map: serde_json::Map<String, serde_json::Value> = state
        .catalog
        .exercises()
        .iter()
        .map(|e| {
            let consumers: Vec<&str> = e
                .scenario
                .consumers
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            let knobs: serde_json::Map<String, serde_json::Value> = e
                .knobs
                .iter()
                .map(|k| {
                    let options: serde_json::Map<String, serde_json::Value> = k
                        .options
                        .iter()
                        .map(|o| (o.id.clone(), serde_json::Value::from(o.label.clone())))
                        .collect();
                    (
                        k.id.clone(),
                        serde_json::json!({ "label": k.label, "options": options }),
                    )
                })
                .collect();
            let channels: Vec<String> =
                e.scenario.channels.iter().map(|c| c.name.clone()).collect();
            // What a link fault can aim at: every service that talks to the broker.
            let services: Vec<&str> = e
                .scenario
                .producers
                .iter()
                .map(|p| p.name.as_str())
                .chain(consumers.iter().copied())
                .collect();
            (
                e.id.clone(),
                serde_json::json!({
                    "title": e.title,
                    "minutes": e.minutes,
                    "consumers": consumers,
                    "channels": channels,
                    "services": services,
                    "knobs": knobs,
                }),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The playground page on a sandbox the viewer may only watch, or the facilitator may drive.
async fn viewer_page(
    state: &AppState,
    room: &Room,
    exercise: &str,
    ws: String,
    read_only: bool,
) -> Result<Response, AppError> {
    let exercise = state.catalog.get(exercise).ok_or(AppError::NotFound)?;
    let mut view = PlaygroundView::new(&exercise, ws)?;
    view.read_only = read_only;
    let page = PlaygroundPage {
        layout: Layout::new(),
        page: view,
    };
    let _ = room;
    Ok(([(CACHE_CONTROL, "no-store")], page).into_response())
}

/// `GET /sessions/{code}/spotlight`: the spotlighted learner's sandbox, read-only, for the projector.
async fn spotlight_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let room = state.sessions.find(&code).map_err(|_| AppError::NotFound)?;
    state
        .sessions
        .facilitator(&room, credential(&headers, &facilitator_cookie(&room)))
        .map_err(|_| AppError::Forbidden("only the facilitator can open the spotlight"))?;
    let exercise = {
        let state = room.lock();
        state
            .spotlight
            .and_then(|id| state.learners.get(id as usize))
            .map_or_else(|| state.exercise.clone(), |l| l.run.exercise.clone())
    };
    let ws = format!("/ws/sessions/{}/spotlight", room.code.as_str());
    viewer_page(&state, &room, &exercise, ws, true).await
}

/// `GET /sessions/{code}/stage/drive`: the facilitator's full playground on the stage.
async fn stage_drive_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let room = state.sessions.find(&code).map_err(|_| AppError::NotFound)?;
    state
        .sessions
        .facilitator(&room, credential(&headers, &facilitator_cookie(&room)))
        .map_err(|_| AppError::Forbidden("only the facilitator can drive the stage"))?;
    let exercise = room
        .lock()
        .stage
        .exercise
        .clone()
        .ok_or(AppError::NotFound)?;
    let ws = format!("/ws/sessions/{}/stage", room.code.as_str());
    viewer_page(&state, &room, &exercise, ws, false).await
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "session_stage.html")]
pub struct StagePage {
    pub layout: Layout,
    pub code: String,
    pub code_display: String,
    pub js_href: String,
    pub css_href: String,
}

/// `GET /sessions/{code}/stage`: the shared stage as a learner sees it, with the volunteer controls.
async fn stage_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<StagePage, AppError> {
    let room = state.sessions.find(&code).map_err(|_| AppError::NotFound)?;
    Ok(StagePage {
        layout: Layout::new(),
        code: room.code.as_str().to_owned(),
        code_display: room.code.to_string(),
        js_href: static_files::href("js/session-stage.js"),
        css_href: static_files::href("css/session.css"),
    })
}

/// `GET /sessions/{code}/qr.svg`: the join URL as a QR code, for the projector.
async fn qr_svg(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let room = state.sessions.find(&code).map_err(|_| AppError::NotFound)?;
    let url = format!("{}/join/{}", origin(&headers), room.code.as_str());
    let qr = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("QR code for {url}: {e}")))?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok((
        [(CONTENT_TYPE, "image/svg+xml"), (CACHE_CONTROL, "no-cache")],
        svg,
    )
        .into_response())
}

// ------------------------------------------------------------------------------------------------ API

#[derive(Debug, Serialize)]
pub struct SessionCreated {
    pub code: String,
    pub code_display: String,
    pub join_url: String,
    pub facilitator_url: String,
    pub facilitator_token: String,
}

/// `POST /api/sessions` with `{"exercise": id}`.
async fn create_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<SessionCreated>), SessionError> {
    #[derive(Deserialize)]
    struct Body {
        exercise: String,
    }
    let body: Body = parse_json(&body, r#"{"exercise": "<id>"}"#)?;
    let (room, token) = state.sessions.create(&body.exercise).await?;
    let base = origin(&headers);
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            code: room.code.as_str().to_owned(),
            code_display: room.code.to_string(),
            join_url: format!("{base}/join/{}", room.code.as_str()),
            facilitator_url: format!(
                "{base}/sessions/{}/facilitate#{}",
                room.code.as_str(),
                token.as_str()
            ),
            facilitator_token: token.as_str().to_owned(),
        }),
    ))
}

#[derive(Debug, Serialize)]
pub struct Joined {
    pub learner: u32,
    pub name: String,
    pub token: String,
    pub play_url: String,
}

/// `POST /api/sessions/{code}/learners` with `{"name": …}`: joins, and sets the learner cookie.
async fn join(
    State(state): State<AppState>,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Response, SessionError> {
    #[derive(Deserialize)]
    struct Body {
        name: String,
    }
    let room = state.sessions.find(&code)?;
    let body: Body = parse_json(&body, r#"{"name": "<display name>"}"#)?;
    let (learner, token) = state.sessions.join(&room, &body.name).await?;
    let name = room.lock().learners[learner as usize].name.clone();
    let cookie = set_cookie(&learner_cookie(&room), token.as_str(), &state.sessions);
    Ok((
        StatusCode::CREATED,
        [(SET_COOKIE, cookie)],
        Json(Joined {
            learner,
            name,
            token: token.as_str().to_owned(),
            play_url: format!("/sessions/{}/play", room.code.as_str()),
        }),
    )
        .into_response())
}

/// `POST /api/sessions/{code}/me` with the learner's bearer token: who they are, and the cookie again
/// (a browser that kept the token but lost the cookie).
async fn resume(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, SessionError> {
    let room = state.sessions.find(&code)?;
    let token = bearer(&headers);
    let learner = state.sessions.learner(&room, token)?;
    let name = room.lock().learners[learner as usize].name.clone();
    let cookie = set_cookie(
        &learner_cookie(&room),
        token.unwrap_or_default(),
        &state.sessions,
    );
    Ok((
        [(SET_COOKIE, cookie)],
        Json(serde_json::json!({
            "learner": learner,
            "name": name,
            "play_url": format!("/sessions/{}/play", room.code.as_str()),
            "stage_url": format!("/sessions/{}/stage", room.code.as_str()),
        })),
    )
        .into_response())
}

/// `POST /api/sessions/{code}/facilitator` with the facilitator's bearer token: the cookie for the
/// dashboard's WebSocket and the spotlight page.
async fn facilitator_sign_in(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, SessionError> {
    let room = state.sessions.find(&code)?;
    let token = bearer(&headers);
    state.sessions.facilitator(&room, token)?;
    let cookie = set_cookie(
        &facilitator_cookie(&room),
        token.unwrap_or_default(),
        &state.sessions,
    );
    Ok((
        [(SET_COOKIE, cookie)],
        Json(serde_json::json!({ "ok": true })),
    )
        .into_response())
}

/// `GET /api/sessions/{code}/roster` (facilitator): the roster as the dashboard gets it.
async fn roster(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, SessionError> {
    let room = state.sessions.find(&code)?;
    state.sessions.facilitator(&room, bearer(&headers))?;
    let text = state.sessions.roster(&room);
    Ok(([(CONTENT_TYPE, "application/json")], text.to_string()).into_response())
}

#[derive(Debug, Deserialize)]
struct ResultsQuery {
    /// Include learners' names (off unless the facilitator ticks the box).
    #[serde(default)]
    names: bool,
}

/// `GET /api/sessions/{code}/results.csv` (facilitator, bearer or cookie, so a plain link downloads it).
async fn results_csv(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<ResultsQuery>,
    headers: HeaderMap,
) -> Result<Response, SessionError> {
    let results = facilitator_results(&state, &code, &headers, query.names)?;
    Ok(download(
        "text/csv; charset=utf-8",
        &format!("session-{}.csv", results.session),
        results.csv(),
    ))
}

/// `GET /api/sessions/{code}/results.json` (facilitator).
async fn results_json(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<ResultsQuery>,
    headers: HeaderMap,
) -> Result<Response, SessionError> {
    let results = facilitator_results(&state, &code, &headers, query.names)?;
    let body = serde_json::to_string_pretty(&results).map_err(|error| {
        tracing::error!(%error, "cannot serialize session results");
        SessionError::Store("the results could not be written".to_owned())
    })?;
    Ok(download(
        "application/json",
        &format!("session-{}.json", results.session),
        body,
    ))
}

fn facilitator_results(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
    names: bool,
) -> Result<Results, SessionError> {
    let room = state.sessions.find(code)?;
    state
        .sessions
        .facilitator(&room, credential(headers, &facilitator_cookie(&room)))?;
    Ok(Results::of(&room, &state.catalog, names))
}

/// A file the browser saves rather than shows; never cached, as it holds learners' results.
fn download(content_type: &'static str, file_name: &str, body: String) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_DISPOSITION, disposition),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// `POST /api/sessions/{code}/actions` (facilitator) with an [`Action`].
async fn action(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<crate::session::ActionOutcome>, SessionError> {
    let room = state.sessions.find(&code)?;
    state.sessions.facilitator(&room, bearer(&headers))?;
    let action: Action = parse_json(&body, r#"an action {"type": "pause_all", …}"#)?;
    Ok(Json(state.sessions.act(&room, action).await?))
}

/// `POST /api/sessions/{code}/stage` (learner) with a [`StageAction`].
async fn stage_action(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<crate::session::StageOutcome>, SessionError> {
    let room = state.sessions.find(&code)?;
    let learner = state.sessions.learner(&room, bearer(&headers))?;
    let action: StageAction = parse_json(&body, r#"{"action": "volunteer", "consumer": …}"#)?;
    Ok(Json(
        state.sessions.stage_action(&room, learner, action).await?,
    ))
}

// ----------------------------------------------------------------------------------------- WebSockets

/// Why a session socket was refused before the upgrade.
enum Refused {
    App(AppError),
    Session(SessionError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::App(error) => error.into_response(),
            Refused::Session(error) => error.into_response(),
        }
    }
}

/// Checks shared by every session socket: same origin, a live session, room under the client cap.
fn admit(
    state: &AppState,
    headers: &HeaderMap,
    code: &str,
) -> Result<(Arc<Room>, tokio::sync::OwnedSemaphorePermit), Refused> {
    if !same_origin(headers) {
        return Err(Refused::App(AppError::Forbidden(
            "WebSocket connections are accepted from this server's own pages only",
        )));
    }
    let room = state.sessions.find(code).map_err(Refused::Session)?;
    let permit = state.sessions.sandboxes().admit_client().ok_or_else(|| {
        Refused::App(AppError::Unavailable(
            "The server is at its connection limit; try again in a minute.".into(),
        ))
    })?;
    Ok((room, permit))
}

/// [`admit`], for the facilitator only.
fn admit_facilitator(
    state: &AppState,
    headers: &HeaderMap,
    code: &str,
) -> Result<(Arc<Room>, tokio::sync::OwnedSemaphorePermit), Refused> {
    let (room, permit) = admit(state, headers, code)?;
    state
        .sessions
        .facilitator(&room, credential(headers, &facilitator_cookie(&room)))
        .map_err(Refused::Session)?;
    Ok((room, permit))
}

fn upgrade_to_sandbox(
    state: &AppState,
    upgrade: WebSocketUpgrade,
    sandbox: SandboxHandle,
    policy: Policy,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Response {
    let rate = state.config.limits.max_commands_per_sec;
    let shutdown = state.shutdown.clone();
    let keepalive = state.keepalive;
    upgrade
        .max_message_size(ws::MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(ws::MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            ws::client(socket, sandbox, policy, rate, keepalive, shutdown, permit)
        })
}

#[derive(Debug, Deserialize)]
struct WatchQuery {
    learner: Option<u32>,
}

/// `GET /ws/sessions/{code}/sandbox`: a learner's own sandbox (their token), or with `?learner=N` and
/// the facilitator's token, that learner's sandbox read-only.
async fn sandbox_socket(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<WatchQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (room, permit) = match admit(&state, &headers, &code) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.into_response(),
    };
    let sessions = &state.sessions;
    let (learner, guard) = match query.learner {
        Some(learner) => {
            if let Err(error) =
                sessions.facilitator(&room, credential(&headers, &facilitator_cookie(&room)))
            {
                return error.into_response();
            }
            (learner, Sessions::read_only_guard())
        }
        None => match sessions.learner(&room, credential(&headers, &learner_cookie(&room))) {
            Ok(learner) => (learner, sessions.learner_guard(&room, learner)),
            Err(error) => return error.into_response(),
        },
    };
    let sandbox = match sessions.learner_sandbox(&room, learner) {
        Ok(sandbox) => sandbox,
        Err(error) => return error.into_response(),
    };
    let ((outside, greeting), own) = {
        let state = room.lock();
        match state.learners.get(learner as usize) {
            Some(entry) if query.learner.is_none() => (state.subscribe_learner(entry), true),
            _ => ((room.spotlight_viewers.subscribe(), None), false),
        }
    };
    // The roster shows who is connected: a run that opens paused changes nothing else the dashboard
    // would hear of, so the learner's line is marked here.
    if own {
        room.feed.mark(learner);
    }
    let policy = Policy {
        greeting,
        ..Policy::watched(Some(guard), outside)
    };
    upgrade_to_sandbox(&state, upgrade, sandbox, policy, permit)
}

/// `GET /ws/sessions/{code}/spotlight` (facilitator): whichever sandbox is in the spotlight, read-only;
/// the connection closes with 1012 when the spotlight moves, and the page reconnects to the new one.
async fn spotlight_socket(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (room, permit) = match admit_facilitator(&state, &headers, &code) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.into_response(),
    };
    let Some(learner) = room.lock().spotlight else {
        return SessionError::BadRequest("Nobody is in the spotlight.".to_owned()).into_response();
    };
    let outside = room.spotlight_viewers.subscribe();
    match state.sessions.learner_sandbox(&room, learner) {
        Ok(sandbox) => upgrade_to_sandbox(
            &state,
            upgrade,
            sandbox,
            Policy::watched(Some(Sessions::read_only_guard()), outside),
            permit,
        ),
        Err(error) => error.into_response(),
    }
}

/// `GET /ws/sessions/{code}/stage`: the shared stage. The facilitator drives it; learners watch (their
/// stage actions go through `POST /api/sessions/{code}/stage`).
async fn stage_socket(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (room, permit) = match admit(&state, &headers, &code) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.into_response(),
    };
    let sessions = &state.sessions;
    let guard = if sessions
        .facilitator(&room, credential(&headers, &facilitator_cookie(&room)))
        .is_ok()
    {
        None
    } else if sessions
        .learner(&room, credential(&headers, &learner_cookie(&room)))
        .is_ok()
    {
        Some(Sessions::read_only_guard())
    } else {
        return SessionError::Unauthorized.into_response();
    };
    let outside = room.lock().stage.viewers.subscribe();
    match sessions.stage_sandbox(&room) {
        Ok(sandbox) => upgrade_to_sandbox(
            &state,
            upgrade,
            sandbox,
            Policy::watched(guard, outside),
            permit,
        ),
        Err(error) => error.into_response(),
    }
}

/// `GET /ws/sessions/{code}/dashboard` (facilitator): the roster, then coalesced updates.
async fn dashboard_socket(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (room, permit) = match admit_facilitator(&state, &headers, &code) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.into_response(),
    };
    let sessions = state.sessions.clone();
    let shutdown = state.shutdown.clone();
    upgrade.on_upgrade(move |socket| async move {
        dashboard(socket, sessions, room, shutdown).await;
        drop(permit);
    })
}

async fn dashboard(
    socket: WebSocket,
    sessions: Sessions,
    room: Arc<Room>,
    shutdown: crate::shutdown::Shutdown,
) {
    // Subscribe before the roster is read, so no update falls between the two.
    let mut updates = room.feed.subscribe();
    let mut store = sessions.store().health();
    let (mut sink, mut stream) = socket.split();
    if sink
        .send(Message::Text(sessions.roster(&room)))
        .await
        .is_err()
    {
        return;
    }
    let stopping = shutdown.triggered();
    tokio::pin!(stopping);
    loop {
        let sent = tokio::select! {
            update = updates.recv() => match update {
                Ok(text) => sink.send(Message::Text(text)).await,
                // Fell behind: the whole roster replaces what was missed.
                Err(RecvError::Lagged(_)) => sink.send(Message::Text(sessions.roster(&room))).await,
                Err(RecvError::Closed) => break,
            },
            changed = store.changed() => {
                if changed.is_err() {
                    break;
                }
                let failing = store.borrow_and_update().clone();
                let message = failing.unwrap_or_else(|| "Progress is being saved again.".to_owned());
                let text = serde_json::json!({"type": "notice", "message": message, "error": true});
                sink.send(Message::Text(Utf8Bytes::from(text.to_string()))).await
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                // The dashboard sends nothing but pongs; its actions are POSTs.
                Some(Ok(_)) => Ok(()),
            },
            () = &mut stopping => {
                let _ = sink.send(Message::Close(Some(axum::extract::ws::CloseFrame {
                    code: close_code::AWAY,
                    reason: Utf8Bytes::from_static("the server is shutting down"),
                }))).await;
                break;
            }
        };
        if sent.is_err() || room.ended() {
            break;
        }
    }
}
