//! The playground's picture at the sizes it is used at, in a real headless Chromium: a projector
//! (1920×1080), a laptop (1280×720), a small laptop (1024×768) and a phone (390×844), in light and dark.
//!
//! Each exercise is brought to the end of its run by loading a run file (seed, no commands, `at` = the
//! end), so every counter and badge the run can show is on the picture, the same on every machine. The
//! tests check what a learner would otherwise have to spot by eye: text readable from the back of a room,
//! nothing clipped, no label on top of another, a diagram on a phone; and they save screenshots to
//! `target/screenshots/` to look at. Where Chromium or ChromeDriver is missing they say so and pass.
use std::net::SocketAddr;
use std::path::PathBuf;

use eda_playground::config::Config;
use eda_playground::exercise::Catalog;
use eda_playground::serve::serve;
use eda_playground::web::AppState;
use fantoccini::Client;
use tokio::net::TcpListener;

#[path = "support/browser.rs"]
mod support;
use support::{Browser, View, click, open_at_end, resize, screenshot, strings, tools, wait_until};

/// The sizes the page is made for: projector, laptop, small laptop, phone.
const SIZES: [(u32, u32); 4] = [(1920, 1080), (1280, 720), (1024, 768), (390, 844)];
/// The exercises whose screenshots are kept: a queue with a DLQ, a topic with many subscribers, a stream.
const SHOWN: [&str; 3] = ["poison-message", "pubsub-fanout", "streaming-replay"];
/// On a projector, no text of the diagram is drawn smaller than this many CSS pixels.
const PROJECTOR_MIN_TEXT_PX: f64 = 16.0;

/// The app on a real socket with the bundled exercises only.
async fn spawn_app() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = AppState::with_catalog(Config::default(), Catalog::load(None));
    tokio::spawn(serve(listener, state));
    addr
}

/// A directory of its own for the run files a test writes.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eda-layout-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Waits until the diagram is drawn for the stage's current size.
async fn settle(client: &Client) {
    wait_until(
        client,
        "the diagram drawn for this size",
        "(s => s && s.dataset.builtFor === `${s.clientWidth}x${s.clientHeight}`)(document.querySelector('#topology'))",
    )
    .await;
}

/// What a learner would see as wrong with the layout at this size, one sentence each.
const LAYOUT_PROBLEMS: &str = r#"
const out = [];
const vw = innerWidth;
const topo = document.querySelector('#topology');
if (!(topo.getBoundingClientRect().height > 0)) out.push('the diagram is 0 px tall');
if (document.documentElement.scrollWidth > vw + 1) out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide in ${vw}`);
for (const a of document.querySelectorAll('.site-nav a')) {
  const r = a.getBoundingClientRect();
  if (r.right > vw + 1 || r.left < -1) out.push(`the navigation link "${a.textContent}" is off screen`);
}
for (const tab of document.querySelectorAll('[role=tab]')) {
  const r = tab.getBoundingClientRect();
  const list = tab.closest('[role=tablist]').getBoundingClientRect();
  if (r.right > list.right + 1 || r.right > vw + 1 || tab.scrollWidth > tab.clientWidth + 1) out.push(`the tab "${tab.textContent}" is cut off`);
}
return out;
"#;

/// The smallest text of the diagram as drawn on screen, in CSS pixels, and what it says.
const SMALLEST_TEXT: &str = r#"
let min = [Infinity, ''];
for (const t of document.querySelectorAll('#topology text')) {
  if (!t.textContent.trim() || !t.getBBox().width) continue;
  const px = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
  if (px < min[0]) min = [px, t.textContent];
}
return min;
"#;

/// Pairs of labels, badges and nodes that overlap, and text that runs past its node's border.
const COLLISIONS: &str = r#"
const svg = document.querySelector('#topology');
const out = [];
const r = (el) => el.getBoundingClientRect();
const name = (el) => (el.closest('.dlq') ? 'badge ' : '') + (el.textContent.trim().slice(0, 40) || el.getAttribute('class'));
const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 2;
const labels = [...svg.querySelectorAll('.nodes text, .link-labels text, .filter-labels text, .nodes .dlq, .badges > g')]
  .filter((el) => !(el.tagName === 'text' && el.closest('.dlq, .badges')))
  .filter((el) => el.textContent.trim() && r(el).width > 0);
for (let i = 0; i < labels.length; i++) {
  for (let j = i + 1; j < labels.length; j++) {
    if (overlap(r(labels[i]), r(labels[j]))) out.push(`"${name(labels[i])}" overlaps "${name(labels[j])}"`);
  }
}
const boxes = [...svg.querySelectorAll('.nodes .node')].map((g) => [g, g.querySelector('.node__box')]).filter(([, b]) => b);
for (let i = 0; i < boxes.length; i++) {
  for (let j = i + 1; j < boxes.length; j++) {
    if (overlap(r(boxes[i][1]), r(boxes[j][1]))) out.push(`node "${name(boxes[i][0].querySelector('text'))}" overlaps node "${name(boxes[j][0].querySelector('text'))}"`);
  }
}
for (const [g, box] of boxes) {
  const b = r(box);
  for (const t of g.querySelectorAll('text')) {
    const tr = r(t);
    if (!t.textContent.trim() || !tr.width) continue;
    if (tr.left < b.left - 1 || tr.right > b.right + 1 || tr.top < b.top - 1 || tr.bottom > b.bottom + 1) out.push(`"${name(t)}" runs past its node's border`);
  }
}
const s = r(svg);
for (const el of labels) {
  const e = r(el);
  if (e.left < s.left - 1 || e.right > s.right + 1 || e.top < s.top - 1 || e.bottom > s.bottom + 1) out.push(`"${name(el)}" is cut off by the picture's edge`);
}
return out;
"#;

/// At every size, in light and dark: the diagram has height, nothing is clipped or scrolls sideways,
/// the navigation and every tab fit, and on a projector no text of the diagram is below 16 px.
/// Screenshots of three exercises at each size and scheme are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layout_fits_projector_laptop_and_phone() {
    let Some(tools) = tools("layout_fits_projector_laptop_and_phone") else {
        return;
    };
    let addr = spawn_app().await;
    let dir = scratch("sizes");
    let mut problems = Vec::new();
    for dark in [false, true] {
        let scheme = if dark { "dark" } else { "light" };
        let browser = Browser::start_in(
            &tools,
            &format!("layout-{scheme}"),
            View {
                dark,
                ..View::DEFAULT
            },
        )
        .await;
        let client = &browser.client;
        for exercise in SHOWN {
            open_at_end(client, addr, exercise, &dir).await;
            for (width, height) in SIZES {
                resize(client, width, height).await;
                settle(client).await;
                let at = format!("{exercise} at {width}×{height} ({scheme})");
                for problem in strings(
                    &client
                        .execute(LAYOUT_PROBLEMS, vec![])
                        .await
                        .expect("layout"),
                ) {
                    problems.push(format!("{at}: {problem}"));
                }
                if width == 1920 {
                    let smallest = client.execute(SMALLEST_TEXT, vec![]).await.expect("text");
                    let px = smallest[0].as_f64().unwrap_or(0.0);
                    eprintln!("{at}: smallest diagram text {px:.1} px ({})", smallest[1]);
                    if px < PROJECTOR_MIN_TEXT_PX {
                        problems.push(format!(
                            "{at}: diagram text \"{}\" is {px:.1} px, below {PROJECTOR_MIN_TEXT_PX}",
                            smallest[1].as_str().unwrap_or_default()
                        ));
                    }
                }
                screenshot(
                    client,
                    &format!("layout-{exercise}-{width}x{height}-{scheme}"),
                )
                .await;
                if width == 1920 {
                    // Projector mode: the picture fills the screen and its text grows with it.
                    click(client, "#btn-projector").await;
                    settle(client).await;
                    let smallest = client.execute(SMALLEST_TEXT, vec![]).await.expect("text");
                    let px = smallest[0].as_f64().unwrap_or(0.0);
                    eprintln!("{at}, projector mode: smallest diagram text {px:.1} px");
                    if px < PROJECTOR_MIN_TEXT_PX {
                        problems.push(format!("{at}, projector mode: diagram text {px:.1} px"));
                    }
                    screenshot(client, &format!("layout-{exercise}-projector-{scheme}")).await;
                    click(client, "#btn-projector").await;
                }
            }
            resize(client, View::DEFAULT.width, View::DEFAULT.height).await;
        }
        browser.stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        problems.is_empty(),
        "layout problems:\n{}",
        problems.join("\n")
    );
}

/// In every bundled exercise at the end of its run, at each size but the phone's: no label, badge or
/// node is drawn on top of another, and no text runs past its node's border or the picture's edge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_label_collides_in_any_exercise() {
    let Some(tools) = tools("no_label_collides_in_any_exercise") else {
        return;
    };
    let addr = spawn_app().await;
    let dir = scratch("collide");
    let browser = Browser::start(&tools, "collide").await;
    let client = &browser.client;
    client
        .goto(&format!("http://{addr}/api/exercises"))
        .await
        .expect("open the catalog");
    let catalog = client
        .execute("return JSON.parse(document.body.innerText);", vec![])
        .await
        .expect("the catalog as JSON");
    let ids: Vec<String> = catalog
        .as_array()
        .expect("a list of exercises")
        .iter()
        .filter(|e| e["error"].is_null())
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    assert!(ids.len() >= 10, "the bundled exercises: {ids:?}");
    let mut problems = Vec::new();
    for exercise in &ids {
        open_at_end(client, addr, exercise, &dir).await;
        for (width, height) in &SIZES[..3] {
            resize(client, *width, *height).await;
            settle(client).await;
            for problem in strings(
                &client
                    .execute(COLLISIONS, vec![])
                    .await
                    .expect("collisions"),
            ) {
                problems.push(format!("{exercise} at {width}×{height}: {problem}"));
            }
        }
        resize(client, View::DEFAULT.width, View::DEFAULT.height).await;
    }
    if !problems.is_empty() {
        screenshot(client, "collisions-last").await;
    }
    browser.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    assert!(problems.is_empty(), "collisions:\n{}", problems.join("\n"));
}

/// The sequence diagram of a journey across many services: no lane header on top of another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_lane_headers_do_not_collide() {
    let Some(tools) = tools("sequence_lane_headers_do_not_collide") else {
        return;
    };
    let addr = spawn_app().await;
    let dir = scratch("sequence");
    let browser = Browser::start(&tools, "sequence").await;
    let client = &browser.client;
    open_at_end(client, addr, "correlation-journey", &dir).await;
    click(client, "#log .log__msg").await;
    click(client, "#tab-sequence").await;
    let lanes = wait_until(
        client,
        "a sequence with several lanes",
        "document.querySelectorAll('#sequence .seq__head').length",
    )
    .await;
    let problems = client
        .execute(
            "const heads = [...document.querySelectorAll('#sequence .seq__head')].map(h => [h.textContent, h.getBoundingClientRect()]);
             const out = [];
             for (let i = 0; i < heads.length; i++) for (let j = i + 1; j < heads.length; j++) {
               const [a, ra] = heads[i], [b, rb] = heads[j];
               if (Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left) > 1 && Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top) > 1) out.push(`${a} overlaps ${b}`);
             }
             return out;",
            vec![],
        )
        .await
        .expect("lane headers");
    screenshot(client, "sequence-lanes").await;
    browser.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    assert!(lanes.as_u64().unwrap_or(0) >= 3, "lanes: {lanes}");
    assert_eq!(strings(&problems), Vec::<String>::new());
}
