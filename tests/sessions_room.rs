//! The room as the facilitator steers it, over the same WebSockets and HTTP the dashboard uses: per-goal
//! counts and the design distribution that follow learners' changes, the counts "stuck" flags are made
//! of, the timer learners may see, and the results to keep (names only when asked).
use axum::http::StatusCode;
use eda_playground::config::Config;
use serde_json::{Value, json};

#[path = "support/sessions.rs"]
mod support;
use support::*;

/// The option ids of knob `knob` mapped to the learners who hold them, from a dashboard message's `room`.
fn holders(message: &Value, knob: &str, option: &str) -> Vec<u64> {
    message["room"]["knobs"]
        .as_array()
        .and_then(|knobs| knobs.iter().find(|k| k["id"] == knob))
        .and_then(|k| k["options"].as_array())
        .and_then(|options| options.iter().find(|o| o["id"] == option))
        .and_then(|o| o["learners"].as_array())
        .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

fn goal(message: &Value, id: &str) -> Value {
    message["room"]["goals"]
        .as_array()
        .and_then(|goals| goals.iter().find(|g| g["id"] == id))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn per_goal_counts_and_the_design_distribution_follow_the_learners() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let mut learners = Vec::new();
    for name in ["Ada", "Grace", "Linus"] {
        let (id, _, client) = app.learner(&code, name).await;
        learners.push((id, client));
    }
    let (mut dashboard, roster) = app.dashboard(&code, &facilitator).await;
    assert_eq!(roster["room"]["learners"], 3);
    assert_eq!(roster["room"]["title"], "Session test");
    assert_eq!(
        goal(&roster, "no-failures"),
        json!({"id": "no-failures", "description": "Billing never fails", "met": 0, "broken": 0, "pending": 3})
    );
    assert_eq!(holders(&roster, "billing-retry", "five"), vec![0, 1, 2]);
    let five = &roster["room"]["knobs"][0]["options"][0];
    assert_eq!(five["default"], true, "{five}");
    assert!(
        roster["learners"][0].get("name").is_some() && roster["room"].get("names").is_none(),
        "the aggregate carries ids, never names"
    );

    // Grace changes her design: the distribution moves her, and the combinations follow.
    learners[1]
        .1
        .send(json!({"type": "choose", "knob": "billing-retry", "option": "none"}))
        .await;
    let moved = dashboard
        .until(|m| m["type"] == "learners" && holders(m, "billing-retry", "none") == vec![1])
        .await;
    assert_eq!(holders(&moved, "billing-retry", "five"), vec![0, 2]);
    let combinations = moved["room"]["combinations"].as_array().unwrap();
    assert_eq!(combinations.len(), 2);
    assert_eq!(
        combinations[0]["learners"],
        json!([0, 2]),
        "most chosen first"
    );
    assert_eq!(
        combinations[1]["choices"],
        json!([
            "Billing retries: none",
            "Deliveries before dead-lettering: three"
        ])
    );

    // Ada breaks her goal with a poison message: one broken, two pending.
    break_the_goal(&mut learners[0].1).await;
    let broken = dashboard
        .until(|m| m["type"] == "learners" && goal(m, "no-failures")["broken"] == 1)
        .await;
    assert_eq!(goal(&broken, "no-failures")["pending"], 2);
}

#[tokio::test]
async fn what_stuck_flags_are_made_of_reaches_the_dashboard() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let (id, _, mut learner) = app.learner(&code, "Ken").await;
    let (mut dashboard, roster) = app.dashboard(&code, &facilitator).await;
    let joined = roster["learners"][0]["last_change_ms"].as_u64().unwrap();
    assert!(joined > 0, "joining counts as the start: {roster}");
    assert_eq!(roster["room"]["hints_total"], 1);

    // A reset while nothing is broken is not counted; one with a broken goal is.
    learner.send(json!({"type": "reset"})).await;
    learner.until(|m| m["type"] == "snapshot").await;
    learner.send(json!({"type": "speed", "speed": 20})).await;
    learner.send(json!({"type": "play"})).await;
    learner
        .send(json!({"type": "command", "command": {"kind": "inject_poison", "channel": "orders"}}))
        .await;
    dashboard
        .until_learner(id, |l| l["goals_broken"] == 1)
        .await;
    for _ in 0..3 {
        learner.send(json!({"type": "reset"})).await;
        learner.until(|m| m["type"] == "snapshot").await;
        learner.send(json!({"type": "play"})).await;
        learner
            .send(json!({"type": "command", "command": {"kind": "inject_poison", "channel": "orders"}}))
            .await;
        learner
            .until(|m| {
                m["goals"]
                    .as_array()
                    .is_some_and(|g| g.iter().any(|g| g["state"] == "broken"))
            })
            .await;
    }
    let line = dashboard
        .until_learner(id, |l| l["resets_while_broken"] == 3)
        .await;
    let ken = line["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap();
    assert!(ken["last_change_ms"].as_u64().unwrap() >= joined);

    // Opening the only hint: every hint opened.
    learner.send(json!({"type": "hint", "index": 0})).await;
    dashboard.until_learner(id, |l| l["hints_used"] == 1).await;
}

#[tokio::test]
async fn the_timer_counts_down_for_the_facilitator_and_learners_see_it_when_shown() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let (_, token, mut learner) = app.learner(&code, "Ada").await;

    // Without minutes, the exercise's own (5 in the test exercise); for the facilitator only at first.
    let (status, outcome) = app
        .act(&code, &facilitator, json!({"type": "start_timer"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["message"], "Timer: 5 min left, for you only.");
    let hidden = learner.until(|m| m["type"] == "timer").await;
    assert_eq!(hidden["timer"], Value::Null, "learners do not see it yet");
    let (_, roster) = app
        .http(
            "GET",
            &format!("/api/sessions/{code}/roster"),
            Some(&facilitator),
            Value::Null,
        )
        .await;
    assert_eq!(roster["session"]["timer"]["duration_ms"], 300_000);
    assert!(roster["session"]["timer"]["remaining_ms"].as_u64().unwrap() <= 300_000);

    // Shown to learners: connected pages get it now, and a page that connects later gets it too.
    let (status, _) = app
        .act(
            &code,
            &facilitator,
            json!({"type": "show_timer", "to_learners": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let shown = learner.until(|m| m["type"] == "timer").await;
    assert_eq!(shown["timer"]["duration_ms"], 300_000);
    assert_eq!(shown["timer"]["ended"], false);
    let mut second_tab = app
        .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
        .await
        .unwrap();
    assert_eq!(second_tab.next().await["type"], "snapshot");
    let late = second_tab.until(|m| m["type"] == "timer").await;
    assert_eq!(late["timer"]["duration_ms"], 300_000);

    // Stopped: learners' countdowns go.
    let (status, outcome) = app
        .act(&code, &facilitator, json!({"type": "stop_timer"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome["message"], "Timer stopped.");
    let gone = learner.until(|m| m["type"] == "timer").await;
    assert_eq!(gone["timer"], Value::Null);

    // Nonsense is refused with a sentence.
    for minutes in [0.0, -3.0, 10_000.0] {
        let (status, body) = app
            .act(
                &code,
                &facilitator,
                json!({"type": "start_timer", "minutes": minutes}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{minutes}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("minutes"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn results_download_without_names_unless_asked() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let (_, token, mut learner) = app.learner(&code, "=HYPERLINK(\"x\")").await;
    app.join(&code, "Grace, the admiral").await;
    learner
        .send(json!({"type": "choose", "knob": "billing-retry", "option": "none"}))
        .await;
    let room = app.state.sessions.find(&code).unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        while room.lock().learners[0].run.design.choices.is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();

    let csv = text(
        &app,
        &format!("/api/sessions/{code}/results.csv"),
        Some(&facilitator),
    )
    .await;
    assert_eq!(csv.0, StatusCode::OK);
    let lines: Vec<&str> = csv.1.lines().collect();
    assert_eq!(
        lines[0],
        "learner,exercise,goals_met,goals_total,goals,hints_used,proof,proof_failing_goal,all_met_after_s,resets_while_broken,design"
    );
    assert_eq!(lines.len(), 3, "{}", csv.1);
    assert!(
        lines[1].starts_with("Learner 1,session-test,"),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with(",Billing retries: none"), "{}", lines[1]);
    assert!(!csv.1.contains("Grace") && !csv.1.contains("HYPERLINK"));

    let named = text(
        &app,
        &format!("/api/sessions/{code}/results.csv?names=true"),
        Some(&facilitator),
    )
    .await;
    assert!(
        named.1.contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "a formula stays text: {}",
        named.1
    );
    assert!(named.1.contains("\"Grace, the admiral\""), "{}", named.1);

    let (status, json) = app
        .http(
            "GET",
            &format!("/api/sessions/{code}/results.json"),
            Some(&facilitator),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["names_included"], false);
    assert_eq!(json["learners"][0]["learner"], "Learner 1");
    assert_eq!(
        json["learners"][0]["design"],
        json!(["Billing retries: none"])
    );

    // A learner's token is not the facilitator's.
    let refused = text(
        &app,
        &format!("/api/sessions/{code}/results.csv"),
        Some(&token),
    )
    .await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN);
}

/// Plays the learner's run and sends a poison message, which billing fails on: the goal breaks.
async fn break_the_goal(learner: &mut Client) {
    learner.send(json!({"type": "play"})).await;
    learner
        .send(json!({"type": "command", "command": {"kind": "inject_poison", "channel": "orders"}}))
        .await;
    learner
        .until(|m| {
            m["goals"]
                .as_array()
                .is_some_and(|g| g.iter().any(|g| g["state"] == "broken"))
        })
        .await;
}

async fn text(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, String) {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = Request::builder()
        .uri(path)
        .header("host", app.addr.to_string());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = eda_playground::web::app(app.state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}
