//! HTML pages, rendered from the askama templates in `templates/` (compiled into the binary).
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::response::{IntoResponse, Response};

use crate::exercise::brokers::{self, NoteTarget};
use crate::exercise::{CatalogEntry, Exercise, Knob, KnobTarget, Part};
use crate::sandbox::SandboxError;
use crate::web::client_identity::ClientIdentity;
use crate::web::error::ErrorPage;
use crate::web::{AppError, AppState, static_files};

/// What `templates/base.html` needs from every page: the versioned asset URLs and the build version.
#[derive(Debug, Clone)]
pub struct Layout {
    pub css_href: String,
    pub js_href: String,
    pub icon_href: String,
    pub version: &'static str,
}

impl Layout {
    pub fn new() -> Self {
        Self {
            css_href: static_files::href("css/app.css"),
            js_href: static_files::href("js/app.js"),
            icon_href: static_files::href("favicon.svg"),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

impl Default for Layout {
    fn default() -> Self {
        Self::new()
    }
}

/// One part of the workshop series, as the home page introduces it.
#[derive(Debug, Clone, Copy)]
pub struct Track {
    pub number: u8,
    pub title: &'static str,
    pub summary: &'static str,
}

/// The three parts of the workshop series the playground follows.
pub const TRACKS: [Track; 3] = [
    Track {
        number: 1,
        title: "How event systems communicate",
        summary: "Events and commands, publish/subscribe, queues and streams, consumer groups.",
    },
    Track {
        number: 2,
        title: "When things go wrong",
        summary: "Failing consumers, retries and dead letters, duplicates and idempotency, ordering.",
    },
    Track {
        number: 3,
        title: "Keeping it running",
        summary: "Correlating flows, versioning event schemas, replaying from a checkpoint.",
    },
];

/// One part with its exercises, in order; broken files are listed with their error.
#[derive(Debug, Clone)]
pub struct PartGroup {
    pub track: Track,
    pub entries: Vec<HomeEntry>,
}

/// A catalog line and whether it can be opened (a broken file may still have a last good version).
#[derive(Debug, Clone)]
pub struct HomeEntry {
    pub entry: CatalogEntry,
    pub playable: bool,
}

/// `GET /`: the landing page, with the catalog grouped by workshop part.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub parts: Vec<PartGroup>,
    /// Marks the exercises this browser has done or proven (kept in its own storage).
    pub js_href: String,
    /// The catalog's own styles, which no other page needs.
    pub css_href: String,
}

pub async fn home(State(state): State<AppState>) -> HomePage {
    HomePage {
        layout: Layout::new(),
        js_href: static_files::href("js/home.js"),
        css_href: static_files::href("css/home.css"),
        parts: group_by_part(
            state
                .catalog
                .entries()
                .into_iter()
                .map(|mut entry| HomeEntry {
                    playable: state.catalog.get(&entry.id).is_some(),
                    entry: CatalogEntry {
                        error: entry.error.take().map(|e| without_directories(&e)),
                        ..entry
                    },
                })
                .collect(),
        ),
    }
}

/// A load error as the home page shows it: file paths reduced to their file name, so the page names the
/// broken file and line without telling every visitor where the facilitator keeps it.
pub fn without_directories(error: &str) -> String {
    error
        .split(' ')
        .map(|word| match word.rfind('/') {
            Some(slash) if word.contains(".toml") || word.contains(".json") => &word[slash + 1..],
            _ => word,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sorts entries into the three parts, each by its `order` then title.
pub fn group_by_part(mut entries: Vec<HomeEntry>) -> Vec<PartGroup> {
    entries.sort_by(|a, b| {
        let key = |e: &HomeEntry| (e.entry.part, e.entry.order, e.entry.title.clone());
        key(a).cmp(&key(b))
    });
    TRACKS
        .iter()
        .map(|track| PartGroup {
            track: *track,
            entries: entries
                .iter()
                .filter(|e| e.entry.part.number() == track.number)
                .cloned()
                .collect(),
        })
        .collect()
}

/// What the playground template needs from an exercise and its new sandbox.
#[derive(Debug, Clone)]
pub struct PlaygroundView {
    pub id: String,
    pub title: String,
    pub part_number: u8,
    pub part_title: &'static str,
    /// Already rendered to safe HTML by the exercise loader.
    pub instructions_html: String,
    pub hints: Vec<String>,
    pub debrief: Vec<String>,
    /// The exercise's knobs as JSON, for the design panel, in a `<script type="application/json">` block:
    /// unlike an attribute it needs no `&#34;` for every quote. Every `<` is written `\u003c`, so no
    /// text of an exercise can close the block.
    pub knobs_json: String,
    pub run_for_ms: u64,
    /// The WebSocket path of the sandbox this page opened.
    pub ws: String,
    /// The exercise after this one in the catalog's order (part, then order), for the success moment;
    /// empty for the last one.
    pub next_id: String,
    pub next_title: String,
    /// A page that only watches (the projector's spotlight): no controls, nothing to prove.
    pub read_only: bool,
    pub css_href: String,
    pub js_href: String,
}

/// The exercise's knobs as the page draws them, each with what real brokers call its setting.
fn knobs_with_notes(exercise: &Exercise) -> Vec<serde_json::Value> {
    exercise
        .knobs
        .iter()
        .map(|knob| {
            // An alert rule is the monitoring's setting, not a broker's: it has no broker note.
            let target = match knob.target {
                KnobTarget::Consumer(_) => Some(NoteTarget::Consumer),
                KnobTarget::Producer(_) => Some(NoteTarget::Producer),
                KnobTarget::Channel(_) => Some(NoteTarget::Channel),
                KnobTarget::Alert(_) | KnobTarget::Contract(_) => None,
            };
            let mut value = serde_json::to_value(knob).unwrap_or_default();
            if let (Some(fields), Some(_)) = (value.as_object_mut(), knob.range) {
                compact_range(fields, knob);
            }
            if let (Some(fields), Some(note)) = (
                value.as_object_mut(),
                target.and_then(|target| brokers::note(target, &knob.field)),
            ) {
                fields.insert(
                    "brokers".to_owned(),
                    serde_json::to_value(note).unwrap_or_default(),
                );
            }
            value
        })
        .collect()
}

/// A range knob's options as the page needs them: its values, with the unit's singular for 1, instead
/// of up to 100 option objects. The page builds each option from them (its id is the number, its label
/// the number and the unit), so a slider's knob costs a few hundred bytes of the first render.
fn compact_range(fields: &mut serde_json::Map<String, serde_json::Value>, knob: &Knob) {
    let values: Vec<serde_json::Value> = knob.options.iter().map(|o| o.value.clone()).collect();
    let unit_one = knob
        .options
        .iter()
        .find(|o| o.value.as_f64() == Some(1.0))
        .and_then(|o| o.label.strip_prefix("1 "))
        .map(str::to_owned);
    fields.remove("options");
    fields.insert("values".to_owned(), serde_json::Value::from(values));
    if let Some(unit_one) = unit_one {
        fields.insert("unit_one".to_owned(), serde_json::Value::from(unit_one));
    }
}

impl PlaygroundView {
    pub fn new(exercise: &Exercise, ws: String) -> Result<Self, AppError> {
        let knobs_json = serde_json::to_string(&knobs_with_notes(exercise))
            .map_err(|e| AppError::Internal(format!("knobs of {}: {e}", exercise.id)))?
            .replace('<', "\\u003c");
        Ok(Self {
            id: exercise.id.clone(),
            title: exercise.title.clone(),
            part_number: exercise.part.number(),
            part_title: part_title(exercise.part),
            instructions_html: exercise.instructions_html.clone(),
            hints: exercise.hints.clone(),
            debrief: exercise.debrief.clone(),
            knobs_json,
            run_for_ms: exercise.run_for_ms,
            ws,
            next_id: String::new(),
            next_title: String::new(),
            read_only: false,
            css_href: static_files::href("css/playground.css"),
            js_href: static_files::href("js/playground.js"),
        })
    }
}

impl PlaygroundView {
    /// The same view, pointing at the exercise that follows it in `catalog`.
    pub fn with_next(mut self, catalog: &crate::exercise::Catalog) -> Self {
        let mut all = catalog.exercises();
        all.sort_by(|a, b| (a.part, a.order, &a.title).cmp(&(b.part, b.order, &b.title)));
        if let Some(next) = all
            .iter()
            .position(|e| e.id == self.id)
            .and_then(|i| all.get(i + 1))
        {
            self.next_id = next.id.clone();
            self.next_title = next.title.clone();
        }
        self
    }
}

fn part_title(part: Part) -> &'static str {
    TRACKS
        .iter()
        .find(|t| t.number == part.number())
        .map_or("", |t| t.title)
}

/// `GET /exercises/{id}`: the playground, on a fresh sandbox of the exercise.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "playground.html")]
pub struct PlaygroundPage {
    pub layout: Layout,
    pub page: PlaygroundView,
}

pub async fn playground(
    State(state): State<AppState>,
    Path(id): Path<String>,
    identity: ClientIdentity,
) -> Result<Response, AppError> {
    let exercise = state.catalog.get(&id).ok_or(AppError::NotFound)?;
    let (requester, new_cookie) = identity.for_page();
    let sandbox = match state.sandboxes.open_for(requester, exercise.clone()) {
        Ok(sandbox) => sandbox,
        // A browser is navigating: a cap or a quota gets a page that says what to do, not JSON.
        Err(error @ (SandboxError::Full { .. } | SandboxError::AddressQuota)) => {
            let page = ErrorPage::new(
                "No sandbox free right now",
                &format!("The server is busy: {error}."),
                "Wait a minute and reload this page; sandboxes nobody is watching end after ten minutes. \
                 In a workshop session, your facilitator's sandboxes are kept apart and are not affected.",
            );
            return Ok((StatusCode::SERVICE_UNAVAILABLE, page).into_response());
        }
        Err(other) => return Err(AppError::Internal(other.to_string())),
    };
    let page = PlaygroundPage {
        layout: Layout::new(),
        page: PlaygroundView::new(&exercise, format!("/ws/sandboxes/{sandbox}"))?
            .with_next(&state.catalog),
    };
    // Never cached: the page names this browser's own sandbox, which a reload finds again (the cookie).
    let mut response = ([(CACHE_CONTROL, "no-store")], page).into_response();
    if let Some(cookie) = new_cookie {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The page behind every 404; see [`crate::web::error::AppError::NotFound`].
#[derive(Debug, Template, WebTemplate)]
#[template(path = "not_found.html")]
pub struct NotFoundPage {
    pub layout: Layout,
}

impl NotFoundPage {
    pub fn new() -> Self {
        Self {
            layout: Layout::new(),
        }
    }
}

impl Default for NotFoundPage {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_errors_name_the_file_but_not_its_directory() {
        assert_eq!(
            without_directories("/srv/workshop/exercises/broken.toml:15:29: goals[0]: no consumer"),
            "broken.toml:15:29: goals[0]: no consumer"
        );
        assert_eq!(without_directories("a / b and c"), "a / b and c");
    }

    #[test]
    fn the_next_exercise_follows_the_part_then_the_next_part_and_the_last_has_none() {
        let catalog = crate::exercise::Catalog::load(None);
        let next = |id: &str| {
            let exercise = catalog.get(id).expect("a bundled exercise");
            let view = PlaygroundView::new(&exercise, String::new())
                .expect("a view")
                .with_next(&catalog);
            view.next_id
        };
        let mut all = catalog.exercises();
        all.sort_by(|a, b| (a.part, a.order, &a.title).cmp(&(b.part, b.order, &b.title)));
        for pair in all.windows(2) {
            assert_eq!(next(&pair[0].id), pair[1].id, "after {}", pair[0].id);
        }
        let last_of_part_one = all.iter().rfind(|e| e.part.number() == 1).unwrap();
        assert_eq!(
            catalog
                .get(&next(&last_of_part_one.id))
                .unwrap()
                .part
                .number(),
            2,
            "part 1 leads into part 2"
        );
        assert_eq!(
            next(&all.last().unwrap().id),
            "",
            "the last exercise has none"
        );
    }
}
