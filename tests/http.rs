//! The router without a socket: every request goes through `web::app` with `tower::ServiceExt::oneshot`.
use axum::body::Body;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};
use axum::http::{HeaderMap, Request, StatusCode};
use eda_playground::config::Config;
use eda_playground::web::{AppState, app};
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(request: Request<Body>) -> Reply {
    let response = app(AppState::new(Config::default()))
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(path: &str) -> Reply {
    send(Request::get(path).body(Body::empty()).unwrap()).await
}

fn header(reply: &Reply, name: impl axum::http::header::AsHeaderName) -> &str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn assert_security_headers(reply: &Reply) {
    let csp = header(reply, CONTENT_SECURITY_POLICY);
    assert!(csp.contains("default-src 'self'"), "CSP: {csp}");
    assert!(csp.contains("script-src 'self'"), "CSP: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "CSP: {csp}");
    assert!(!csp.contains("unsafe-inline"), "CSP: {csp}");
    assert_eq!(header(reply, "x-content-type-options"), "nosniff");
    assert_eq!(header(reply, "referrer-policy"), "no-referrer");
}

/// The values of every `attr="..."` in `html`.
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[tokio::test]
async fn healthz_answers_json_with_status_and_version() {
    let reply = get("/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_TYPE), "application/json");
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_security_headers(&reply);
}

#[tokio::test]
async fn home_page_renders_with_csp_and_no_inline_script_or_style() {
    let reply = get("/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_security_headers(&reply);
    assert!(reply.body.contains("EDA Playground"));
    // The catalog, grouped by workshop part, links each bundled exercise.
    for part in ["Part 1:", "Part 2:", "Part 3:"] {
        assert!(reply.body.contains(part), "{part} missing");
    }
    assert!(reply.body.contains("href=\"/exercises/poison-message\""));
    assert_no_inline_code(&reply.body);
}

#[tokio::test]
async fn playground_page_opens_a_sandbox_and_names_its_socket() {
    let reply = get("/exercises/poison-message").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_security_headers(&reply);
    assert_eq!(header(&reply, CACHE_CONTROL), "no-store");
    let ws = attribute_values(&reply.body, "data-ws");
    assert_eq!(ws.len(), 1, "one sandbox socket");
    assert!(ws[0].starts_with("/ws/sandboxes/"), "data-ws={}", ws[0]);
    assert!(reply.body.contains("/static/js/playground.js?v="));
    assert!(reply.body.contains("/static/css/playground.css?v="));
    assert_no_inline_code(&reply.body);

    let missing = get("/exercises/no-such-exercise").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("This page does not exist"));
}

/// No inline script, style or event handler: the CSP would block them. A JSON data block
/// (`type="application/json"`) is data the page reads, never run, and is allowed.
fn assert_no_inline_code(body: &str) {
    let scripts: Vec<&str> = body.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "the page loads its module");
    for script in scripts {
        let tag = &script[..script.find('>').unwrap()];
        if tag.contains(" type=\"application/json\"") {
            continue;
        }
        assert!(
            tag.contains(" src=\"/static/"),
            "inline or foreign script: <script{tag}>"
        );
        assert!(
            script[tag.len() + 1..].starts_with("</script>"),
            "script with a body"
        );
    }
    assert!(
        !body.contains("<style"),
        "inline <style> would be blocked by the CSP"
    );
    assert!(
        !body.contains(" style=\""),
        "inline style attribute would be blocked by the CSP"
    );
    let handlers = [
        "onclick", "onload", "onerror", "onsubmit", "onchange", "oninput",
    ];
    assert!(
        handlers.iter().all(|h| !body.contains(&format!(" {h}="))),
        "inline event handler"
    );
}

#[tokio::test]
async fn every_linked_asset_is_served_from_this_host() {
    let page = get("/").await;
    let links: Vec<&str> = attribute_values(&page.body, "href")
        .into_iter()
        .chain(attribute_values(&page.body, "src"))
        .collect();
    let assets: Vec<&str> = links
        .iter()
        .copied()
        .filter(|l| l.starts_with("/static/"))
        .collect();
    assert_eq!(
        assets.len(),
        5,
        "icon, stylesheet, the site script, the home page's script and its stylesheet: {links:?}"
    );
    for link in &links {
        assert!(
            link.starts_with('/') || link.starts_with('#'),
            "link leaves the server: {link}"
        );
    }
    for asset in assets {
        let reply = get(asset).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert_eq!(
            header(&reply, CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{asset}"
        );
        assert_security_headers(&reply);
    }
}

#[tokio::test]
async fn static_css_has_its_content_type_and_revalidates_without_a_version() {
    let reply = get("/static/css/app.css").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_TYPE), "text/css; charset=utf-8");
    assert_eq!(header(&reply, CACHE_CONTROL), "no-cache");
    assert!(reply.body.contains("prefers-color-scheme: dark"));
    let etag = header(&reply, ETAG).to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "ETag: {etag}");

    let js = get("/static/js/app.js").await;
    assert_eq!(header(&js, CONTENT_TYPE), "text/javascript; charset=utf-8");

    let stale = get("/static/css/app.css?v=0000000000000000").await;
    assert_eq!(
        header(&stale, CACHE_CONTROL),
        "no-cache",
        "an old version must not be cached for a year"
    );

    let request = Request::get("/static/css/app.css")
        .header(IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let revalidated = send(request).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.body.is_empty());
}

#[tokio::test]
async fn unknown_paths_get_the_custom_404_page_without_internal_detail() {
    for path in [
        "/no/such/page",
        "/static/missing.css",
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
    ] {
        let reply = get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header(&reply, CONTENT_TYPE),
            "text/html; charset=utf-8",
            "{path}"
        );
        assert!(reply.body.contains("This page does not exist"), "{path}");
        assert!(reply.body.contains("href=\"/\""), "{path}: a way back home");
        for leak in [
            "server/", ".rs", "axum", "panicked", "Cargo", "/root", "/work",
        ] {
            assert!(
                !reply.body.contains(leak),
                "{path}: 404 page mentions {leak:?}"
            );
        }
        assert_security_headers(&reply);
    }
}

#[tokio::test]
async fn broker_notes_name_every_setting_in_four_brokers() {
    let reply = get("/api/brokers").await;
    assert_eq!(reply.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let notes = json["notes"].as_array().unwrap();
    let max = notes
        .iter()
        .find(|n| n["target"] == "channel" && n["field"] == "max_deliveries")
        .expect("a note for max deliveries");
    for broker in ["engine", "rabbitmq", "kafka", "sqs", "nats", "counting"] {
        assert!(
            max[broker].as_str().is_some_and(|t| !t.is_empty()),
            "{broker}"
        );
    }
}

#[tokio::test]
async fn an_exercise_exports_with_the_design_its_query_names() {
    let reply = get("/api/exercises/poison-message/export/nats?billing-attempts=3").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["format"], "nats");
    assert_eq!(json["file"]["consumers"][0]["config"]["max_deliver"], 100);
    assert!(
        json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("up to 3 deliveries")),
        "{}",
        reply.body
    );

    let reply = get("/api/exercises/poison-message/export/rabbitmq?nope=x").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("no knob"), "{}", reply.body);
    let reply = get("/api/exercises/poison-message/export/kafka").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = get("/api/exercises/no-such-exercise/export/nats").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}
