//! Pages, modules, styles and JSON go out compressed (brotli, or gzip for a client that only takes gzip);
//! static files keep their content-hashed, immutable caching. Run with `--nocapture` to see the bytes the
//! playground page costs a learner on the wire.
use axum::body::Body;
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING};
use axum::http::{Request, StatusCode};
use eda_playground::config::Config;
use eda_playground::web::{AppState, app};
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    encoding: String,
    cache: String,
    bytes: usize,
    text: Option<String>,
}

async fn fetch(state: &AppState, path: &str, accept: &str) -> Reply {
    let request = Request::get(path)
        .header(ACCEPT_ENCODING, accept)
        .body(Body::empty())
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, encoding, cache) = (
        response.status(),
        header(CONTENT_ENCODING),
        header(CACHE_CONTROL),
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        encoding,
        cache,
        bytes: body.len(),
        text: accept
            .is_empty()
            .then(|| String::from_utf8_lossy(&body).into_owned()),
    }
}

fn linked_assets(html: &str) -> Vec<String> {
    html.split("/static/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|p| p.contains(".js") || p.contains(".css"))
        .map(|p| format!("/static/{}", p.replace("&amp;", "&")))
        .collect()
}

fn module_imports(path: &str, source: &str) -> Vec<String> {
    let path = path.split('?').next().unwrap_or(path);
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    source
        .split("from \"./")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|file| format!("{dir}/{file}"))
        .collect()
}

#[tokio::test]
async fn the_playground_and_its_modules_go_out_compressed() {
    let state = AppState::new(Config::default());
    let page = "/exercises/poison-message";
    let plain = fetch(&state, page, "").await;
    assert_eq!(plain.encoding, "", "no Accept-Encoding, no compression");
    let html = plain.text.clone().unwrap();

    let compressed = fetch(&state, page, "gzip, deflate, br").await;
    assert_eq!(compressed.status, StatusCode::OK);
    assert_eq!(compressed.encoding, "br", "the page");
    let mut plain_total = plain.bytes;
    let mut wire_total = compressed.bytes;

    let mut queue = linked_assets(&html);
    let mut seen: Vec<String> = Vec::new();
    while let Some(path) = queue.pop() {
        let bare = path.split('?').next().unwrap_or(&path).to_owned();
        if seen.contains(&bare) {
            continue;
        }
        seen.push(bare.clone());
        let plain = fetch(&state, &path, "").await;
        assert_eq!(plain.status, StatusCode::OK, "{path}");
        let wire = fetch(&state, &path, "gzip, deflate, br").await;
        assert_eq!(wire.encoding, "br", "{path}");
        if path.contains("?v=") {
            assert_eq!(
                wire.cache, "public, max-age=31536000, immutable",
                "{path} stays immutable"
            );
        }
        if bare.ends_with(".js") {
            queue.extend(module_imports(
                &bare,
                plain.text.as_deref().unwrap_or_default(),
            ));
        }
        plain_total += plain.bytes;
        wire_total += wire.bytes;
    }
    assert!(seen.len() > 10, "the page and its modules: {seen:?}");
    // "Most": over half. The share moves with what the page holds (JSON in an attribute, all escaped
    // quotes, compressed far better than the same JSON in a data block does).
    assert!(
        wire_total * 2 < plain_total,
        "brotli saves most of it: {wire_total} of {plain_total}"
    );
    println!(
        "playground page: {plain_total} bytes uncompressed, {wire_total} bytes with brotli ({} files)",
        seen.len() + 1
    );

    let gzip_only = fetch(&state, "/static/js/playground.js", "gzip").await;
    assert_eq!(gzip_only.encoding, "gzip");
    let json = fetch(&state, "/api/exercises", "gzip").await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.encoding, "gzip", "JSON too");
}
