//! Static files (CSS, JS, icons), embedded in the binary so the server is one file that works offline.
//!
//! A small table of `include_bytes!` entries rather than a crate: there are a handful of files, the table
//! states each content type explicitly, and a file missing from `static/` fails the build.
//!
//! Caching: pages link each file as `/static/PATH?v=HASH` (see [`href`]), where HASH is computed from the
//! content at compile time. A request carrying the current hash may be cached for a year, because a new
//! build with different content links a different URL. Any other request must revalidate; the `ETag`
//! makes that a cheap 304.
use axum::extract::{Path, RawQuery};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::web::error::AppError;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The path below `/static/`, e.g. `css/app.css`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// FNV-1a of `body`, computed at compile time; names the version in URLs and ETags.
    pub hash: u64,
}

const fn asset(path: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
    Asset {
        path,
        content_type,
        body,
        hash: fnv1a(body),
    }
}

/// Every file served under `/static/`.
pub static ASSETS: &[Asset] = &[
    asset(
        "css/app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/app.css"),
    ),
    asset(
        "css/home.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/home.css"),
    ),
    asset(
        "js/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/app.js"),
    ),
    asset(
        "css/playground.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/playground.css"),
    ),
    asset(
        "css/views.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/views.css"),
    ),
    asset(
        "js/playground.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/playground.js"),
    ),
    asset(
        "js/dom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/dom.js"),
    ),
    asset(
        "js/events.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/events.js"),
    ),
    asset(
        "js/state.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/state.js"),
    ),
    asset(
        "js/socket.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/socket.js"),
    ),
    asset(
        "js/topology.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/topology.js"),
    ),
    asset(
        "js/fit.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/fit.js"),
    ),
    asset(
        "js/glyphs.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/glyphs.js"),
    ),
    asset(
        "js/origins.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/origins.js"),
    ),
    asset(
        "js/lost.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/lost.js"),
    ),
    asset(
        "js/animate.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/animate.js"),
    ),
    asset(
        "js/eventlog.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/eventlog.js"),
    ),
    asset(
        "js/journey.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/journey.js"),
    ),
    asset(
        "js/sequence.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/sequence.js"),
    ),
    asset(
        "js/timeline.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/timeline.js"),
    ),
    asset(
        "js/goals.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/goals.js"),
    ),
    asset(
        "js/controls.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/controls.js"),
    ),
    asset(
        "js/design.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/design.js"),
    ),
    asset(
        "js/success.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/success.js"),
    ),
    asset(
        "js/progress.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/progress.js"),
    ),
    asset(
        "js/home.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/home.js"),
    ),
    asset(
        "css/session.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/session.css"),
    ),
    asset(
        "js/session-join.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/session-join.js"),
    ),
    asset(
        "js/session-facilitator.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/session-facilitator.js"),
    ),
    asset(
        "js/session-stage.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/session-stage.js"),
    ),
    asset(
        "js/session-room.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/session-room.js"),
    ),
    asset(
        "js/session-roster.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/session-roster.js"),
    ),
    asset(
        "js/session-debrief.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/session-debrief.js"),
    ),
    asset(
        "js/countdown.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/countdown.js"),
    ),
    asset(
        "js/faults.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/faults.js"),
    ),
    asset(
        "js/room-timer.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/room-timer.js"),
    ),
    asset(
        "js/bill.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/bill.js"),
    ),
    asset(
        "js/letters.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/letters.js"),
    ),
    asset(
        "js/proof-report.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/proof-report.js"),
    ),
    asset(
        "js/catalog.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/catalog.js"),
    ),
    asset(
        "js/lazy.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/lazy.js"),
    ),
    asset(
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
];

/// `Cache-Control` for a request that names the current version: it can never change under that URL.
const CACHE_VERSIONED: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for any other request: keep a copy, but ask (with the ETag) before using it.
const CACHE_REVALIDATE: &str = "no-cache";

pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// The URL pages use for a static file, with its content hash so browsers can cache it safely.
/// An unknown path gets a plain URL (and a 404 when fetched); a test checks every linked path exists.
pub fn href(path: &str) -> String {
    match find(path) {
        Some(asset) => format!("/static/{}?v={:016x}", asset.path, asset.hash),
        None => format!("/static/{path}"),
    }
}

/// `GET /static/{*path}`.
pub async fn serve_static(
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let asset = find(&path).ok_or(AppError::NotFound)?;
    let version = format!("{:016x}", asset.hash);
    let etag = format!("\"{version}\"");
    let cache_control = match query.as_deref().and_then(|q| q.strip_prefix("v=")) {
        Some(requested) if requested == version => CACHE_VERSIONED,
        _ => CACHE_REVALIDATE,
    };
    // Both values are built from hex digits, quotes and ASCII constants, which are valid header values.
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| AppError::Internal(e.to_string()))?;
    let cache_headers = [
        (ETAG, etag_value),
        (CACHE_CONTROL, HeaderValue::from_static(cache_control)),
    ];

    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache_headers).into_response());
    }
    Ok((
        cache_headers,
        [(CONTENT_TYPE, HeaderValue::from_static(asset.content_type))],
        asset.body,
    )
        .into_response())
}

/// 64-bit FNV-1a: tiny, `const`, and good enough to tell two versions of a file apart (not for security).
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn href_carries_the_content_hash() {
        let css = find("css/app.css").map(|a| a.hash);
        assert_eq!(
            Some(href("css/app.css")),
            css.map(|h| format!("/static/css/app.css?v={h:016x}"))
        );
        assert_eq!(href("missing.css"), "/static/missing.css");
    }

    #[test]
    fn paths_are_unique() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(
                ASSETS[i + 1..].iter().all(|b| b.path != a.path),
                "duplicate {}",
                a.path
            );
        }
    }
}
