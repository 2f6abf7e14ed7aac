//! HTML pages, rendered from the askama templates in `templates/` (compiled into the binary).
use askama::Template;
use askama_web::WebTemplate;

use crate::web::static_files;

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

/// One part of the workshop series, shown on the home page until its exercises are listed there.
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

/// `GET /`: the landing page.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub tracks: &'static [Track],
}

pub async fn home() -> HomePage {
    HomePage {
        layout: Layout::new(),
        tracks: &TRACKS,
    }
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
