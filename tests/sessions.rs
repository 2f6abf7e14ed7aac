//! Workshop sessions over a real socket: a server on `127.0.0.1:0`, many tokio-tungstenite clients, HTTP
//! through `oneshot` on the same state (the harness is `support/sessions.rs`). Nothing sleeps: every
//! wait is for a message, bounded by [`TEST_TIMEOUT`].
use axum::body::Body;
use axum::http::{Request, StatusCode};
use eda_playground::config::Config;
use eda_playground::sandbox::SandboxId;
use eda_playground::web::app;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

#[path = "support/sessions.rs"]
mod support;
use support::*;

#[tokio::test]
async fn learners_progress_reaches_the_dashboard_and_a_fault_reaches_every_sandbox() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let mut learners = Vec::new();
    for n in 0..12 {
        let (id, token) = app.join(&code, &format!("learner {n}")).await;
        let mut client = app
            .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
            .await
            .unwrap();
        let snapshot = client.next().await;
        assert_eq!(snapshot["type"], "snapshot");
        assert_eq!(snapshot["exercise"], "session-test");
        learners.push((id, token, client));
    }
    let mut dashboard = app
        .connect(
            &format!("/ws/sessions/{code}/dashboard"),
            Some(&facilitator),
        )
        .await
        .unwrap();
    let roster = dashboard.next().await;
    assert_eq!(roster["type"], "roster");
    assert_eq!(roster["learners"].as_array().unwrap().len(), 12);
    assert_eq!(roster["learners"][3]["name"], "learner 3");

    // Learner 0 breaks their goal with a poison message; the dashboard sees it.
    let (id0, _, client0) = &mut learners[0];
    client0.send(json!({"type": "speed", "speed": 20})).await;
    client0.send(json!({"type": "play"})).await;
    client0
        .send(json!({"type": "command", "command": {"kind": "inject_poison", "channel": "orders"}}))
        .await;
    let id0 = *id0;
    dashboard
        .until_learner(id0, |l| l["goals_broken"] == 1)
        .await;

    // One fault for everyone reaches every sandbox.
    let (status, outcome) = app
        .act(
            &code,
            &facilitator,
            json!({"type": "fault", "command": {"kind": "crash", "consumer": "billing"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("applied in 12 of 12"),
        "{outcome}"
    );
    for (_, _, client) in &mut learners {
        client
            .until(|m| {
                m["markers"]
                    .as_array()
                    .is_some_and(|markers| markers.iter().any(|k| k["label"] == "crash"))
            })
            .await;
    }

    // Pause everyone: learners cannot play until the facilitator resumes.
    let (status, _) = app
        .act(&code, &facilitator, json!({"type": "pause_all"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, client1) = &mut learners[1];
    client1.send(json!({"type": "play"})).await;
    let refused = client1.until(|m| m["type"] == "error").await;
    assert!(
        refused["message"].as_str().unwrap().contains("paused"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_reconnecting_learner_gets_the_same_sandbox_back() {
    let app = spawn_app(Config::default(), None).await;
    let (code, _) = app.session().await;
    let (_, token) = app.join(&code, "Ada").await;
    let path = format!("/ws/sessions/{code}/sandbox");
    let mut first = app.connect(&path, Some(&token)).await.unwrap();
    let snapshot = first.next().await;
    first
        .send(json!({"type": "command", "command": {"kind": "crash", "consumer": "billing"}}))
        .await;
    first
        .until(|m| m["markers"].as_array().is_some_and(|k| !k.is_empty()))
        .await;
    drop(first);

    let mut again = app.connect(&path, Some(&token)).await.unwrap();
    let back = again.next().await;
    assert_eq!(back["type"], "snapshot");
    assert_eq!(
        back["sandbox"], snapshot["sandbox"],
        "the same sandbox, not a new one"
    );
    assert_eq!(back["commands"][0]["command"]["kind"], "crash");
}

/// A hint opened on the learner's page reaches the dashboard's "hints used"; the sandbox never sees it.
#[tokio::test]
async fn hints_a_learner_opens_reach_the_dashboard() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let (id, token) = app.join(&code, "Ada").await;
    let mut learner = app
        .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
        .await
        .unwrap();
    learner.next().await;
    let mut dashboard = app
        .connect(
            &format!("/ws/sessions/{code}/dashboard"),
            Some(&facilitator),
        )
        .await
        .unwrap();
    let roster = dashboard.next().await;
    assert_eq!(roster["learners"][0]["hints_used"], 0);

    // The exercise has one hint: an index past it counts as all of them, not more.
    learner.send(json!({"type": "hint", "index": 0})).await;
    learner.send(json!({"type": "hint", "index": 5})).await;
    // A refused speed right after: the first error the learner gets is its, not one about the hints.
    learner.send(json!({"type": "speed", "speed": -1})).await;
    let error = learner.until(|m| m["type"] == "error").await;
    assert_eq!(error["code"], "bad_request", "{error}");
    dashboard.until_learner(id, |l| l["hints_used"] == 1).await;
    let room = app.state.sessions.find(&code).unwrap();
    assert_eq!(
        room.views(None)[0].hints_used,
        1,
        "capped at the exercise's hints"
    );
}

/// Pushing an exercise closes learners' connections with 4001 (their page reloads into it) and ends
/// their old sandboxes at once instead of after the idle timeout.
#[tokio::test]
async fn pushing_an_exercise_frees_the_old_sandboxes_at_once() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let (_, token) = app.join(&code, "Ada").await;
    let path = format!("/ws/sessions/{code}/sandbox");
    let mut learner = app.connect(&path, Some(&token)).await.unwrap();
    let old = learner.next().await;
    learner
        .send(json!({"type": "command", "command": {"kind": "crash", "consumer": "billing"}}))
        .await;
    learner
        .until(|m| m["markers"].as_array().is_some_and(|k| !k.is_empty()))
        .await;
    let sandboxes = app.state.sessions.sandboxes();
    let old_id = SandboxId::parse(old["sandbox"].as_str().unwrap()).unwrap();
    let old_status = sandboxes
        .get(old_id)
        .expect("the learner's sandbox runs")
        .status();
    assert_eq!(sandboxes.len(), 1);

    let (status, outcome) = app
        .act(
            &code,
            &facilitator,
            json!({"type": "push_exercise", "exercise": "session-test"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert!(
        sandboxes.get(old_id).is_none() && sandboxes.is_empty(),
        "the old sandbox left the table with the push"
    );
    // Its task has ended too: its status channel is closed.
    let mut old_status = old_status;
    tokio::time::timeout(TEST_TIMEOUT, async {
        while old_status.changed().await.is_ok() {}
    })
    .await
    .expect("the old sandbox's task ends");
    let close = loop {
        match tokio::time::timeout(TEST_TIMEOUT, learner.ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close, Some(4001), "the page is told to reload");

    // Reconnecting lands in a fresh sandbox of the pushed exercise.
    let mut again = app.connect(&path, Some(&token)).await.unwrap();
    let fresh = again.next().await;
    assert_eq!(fresh["type"], "snapshot");
    assert_ne!(fresh["sandbox"], old["sandbox"]);
    assert_eq!(fresh["commands"], json!([]), "{fresh}");
}

#[tokio::test]
async fn learners_cannot_act_as_facilitator_or_reach_each_others_sandbox() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let (other_code, other_facilitator) = app.session().await;
    let (_, ada) = app.join(&code, "Ada").await;
    let (bob_id, bob) = app.join(&code, "Bob").await;
    let pause = json!({"type": "pause_all"});

    // Facilitator actions: no token, a learner's token, a guessed token, another session's token.
    assert_eq!(
        app.act(&code, "", pause.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.act(&code, &ada, pause.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let guess = "0".repeat(64);
    assert_eq!(
        app.act(&code, &guess, pause.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.act(&code, &other_facilitator, pause.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.act(&code, &facilitator, pause.clone()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.http(
            "GET",
            &format!("/api/sessions/{code}/roster"),
            Some(&ada),
            Value::Null
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // Ada's token means nothing in another session.
    assert_eq!(
        app.http(
            "POST",
            &format!("/api/sessions/{other_code}/me"),
            Some(&ada),
            Value::Null
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );

    // Sockets: the dashboard and another learner's sandbox need the facilitator's token.
    assert_eq!(
        app.connect(&format!("/ws/sessions/{code}/dashboard"), Some(&ada))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        app.connect(
            &format!("/ws/sessions/{code}/sandbox?learner={bob_id}"),
            Some(&ada)
        )
        .await
        .err(),
        Some(403)
    );
    assert_eq!(
        app.connect(&format!("/ws/sessions/{code}/sandbox"), None)
            .await
            .err(),
        Some(401)
    );

    // Bob's sandbox, known by id, is not reachable through the open sandbox route.
    let mut bob_client = app
        .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&bob))
        .await
        .unwrap();
    let snapshot = bob_client.next().await;
    let id = snapshot["sandbox"].as_str().unwrap();
    assert_eq!(
        app.connect(&format!("/ws/sandboxes/{id}"), None)
            .await
            .err(),
        Some(404)
    );

    // The facilitator may watch Bob's sandbox, read-only.
    let mut watcher = app
        .connect(
            &format!("/ws/sessions/{code}/sandbox?learner={bob_id}"),
            Some(&facilitator),
        )
        .await
        .unwrap();
    assert_eq!(watcher.next().await["sandbox"], snapshot["sandbox"]);
    watcher
        .send(json!({"type": "command", "command": {"kind": "crash", "consumer": "billing"}}))
        .await;
    let refused = watcher.until(|m| m["type"] == "error").await;
    assert_eq!(refused["code"], "not_allowed");

    // Pages never carry a token.
    let (_, roster) = app
        .http(
            "GET",
            &format!("/api/sessions/{code}/roster"),
            Some(&facilitator),
            Value::Null,
        )
        .await;
    assert!(!roster.to_string().contains(&ada));
    assert!(!roster.to_string().contains(&facilitator));
}

#[tokio::test]
async fn caps_give_a_clear_message() {
    let mut config = Config::default();
    config.limits.max_learners = std::num::NonZeroUsize::new(2).unwrap();
    config.limits.max_sessions = std::num::NonZeroUsize::new(1).unwrap();
    let app = spawn_app(config, None).await;
    let (code, _) = app.session().await;
    app.join(&code, "one").await;
    app.join(&code, "two").await;
    let (status, body) = app
        .http(
            "POST",
            &format!("/api/sessions/{code}/learners"),
            None,
            json!({"name": "three"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["error"].as_str().unwrap().contains("full"), "{body}");
    let (status, body) = app
        .http(
            "POST",
            "/api/sessions",
            None,
            json!({"exercise": "session-test"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"].as_str().unwrap().contains("maximum"),
        "{body}"
    );
    let (status, _) = app
        .http(
            "POST",
            "/api/sessions/ZZZ-ZZZ/learners",
            None,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_restart_restores_sessions_and_sandboxes_from_the_database() {
    let data = TempDir::new("eda-session-data");
    let (code, facilitator, token, seed, commands) = {
        let app = spawn_app(Config::default(), Some(&data.0)).await;
        let (code, facilitator) = app.session().await;
        let (_, token) = app.join(&code, "Grace").await;
        let mut client = app
            .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
            .await
            .unwrap();
        let snapshot = client.next().await;
        client
            .send(json!({"type": "command", "command": {"kind": "inject_poison", "channel": "orders"}}))
            .await;
        client
            .send(json!({"type": "command", "command": {"kind": "crash", "consumer": "billing"}}))
            .await;
        let after = client
            .until(|m| {
                m["markers"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k["label"] == "crash"))
            })
            .await;
        assert!(after["type"] == "frame" || after["type"] == "snapshot");
        // Let the status reach the store, then stop the server.
        let (status, _) = app
            .act(&code, &facilitator, json!({"type": "reveal_hint"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        drop(client);
        wait_for_saved_log(&app, &code, 2).await;
        assert!(app.state.sessions.store().flush().await);
        app.state.shutdown.trigger();
        (code, facilitator, token, snapshot["seed"].clone(), 2)
    };

    let app = spawn_app(Config::default(), Some(&data.0)).await;
    let (status, roster) = app
        .http(
            "GET",
            &format!("/api/sessions/{code}/roster"),
            Some(&facilitator),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(roster["learners"][0]["name"], "Grace");
    assert_eq!(roster["session"]["hints_revealed"], 1);
    let mut client = app
        .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
        .await
        .unwrap();
    let snapshot = client.next().await;
    assert_eq!(snapshot["seed"], seed);
    let logged = snapshot["commands"].as_array().unwrap();
    assert_eq!(logged.len(), commands);
    assert_eq!(logged[0]["command"]["kind"], "inject_poison");
    assert_eq!(logged[1]["command"]["kind"], "crash");
}

/// Waits on the room's state (not the clock) until the learner's run has `commands` commands saved.
/// Who is which instance on the stage survives a restart: the instance keeps its owner.
#[tokio::test]
async fn a_restart_keeps_stage_volunteers_with_their_instances() {
    let data = TempDir::new("eda-session-stage");
    let (code, ada) = {
        let app = spawn_app(Config::default(), Some(&data.0)).await;
        let (code, facilitator) = app.session().await;
        let (_, ada) = app.join(&code, "Ada").await;
        let (status, body) = app
            .act(
                &code,
                &facilitator,
                json!({"type": "open_stage", "exercise": "session-test"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let volunteer = json!({"action": "volunteer", "consumer": "billing"});
        let (status, mine) = app
            .http(
                "POST",
                &format!("/api/sessions/{code}/stage"),
                Some(&ada),
                volunteer,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        assert_eq!(mine["instance"], 1);
        // The stage's log (the volunteer command) reaches the room, then the store.
        let room = app.state.sessions.find(&code).unwrap();
        tokio::time::timeout(TEST_TIMEOUT, async {
            while room
                .lock()
                .stage
                .run
                .as_ref()
                .is_none_or(|r| r.log.is_empty())
            {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        assert!(app.state.sessions.store().flush().await);
        app.state.shutdown.trigger();
        (code, ada)
    };

    let app = spawn_app(Config::default(), Some(&data.0)).await;
    let stage = format!("/api/sessions/{code}/stage");
    let volunteer = json!({"action": "volunteer", "consumer": "billing"});
    let (status, again) = app.http("POST", &stage, Some(&ada), volunteer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "still on stage: {again}");
    assert!(
        again["error"]
            .as_str()
            .unwrap()
            .contains("instance 1 of billing"),
        "{again}"
    );
    let (status, left) = app
        .http("POST", &stage, Some(&ada), json!({"action": "leave"}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "her own instance goes offline: {left}"
    );
    assert_eq!(left["instance"], 1);
}

async fn wait_for_saved_log(app: &TestApp, code: &str, commands: usize) {
    let room = app.state.sessions.find(code).unwrap();
    let mut status = {
        let state = room.lock();
        state.learners[0].sandbox.as_ref().unwrap().status()
    };
    tokio::time::timeout(TEST_TIMEOUT, status.wait_for(|s| s.log.len() >= commands))
        .await
        .unwrap()
        .unwrap();
    // The watcher copies it into the room right after the status changes; the store write follows.
    tokio::time::timeout(TEST_TIMEOUT, async {
        loop {
            if room.lock().learners[0].run.log.len() >= commands {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn on_the_stage_a_learner_acts_only_on_their_own_instance() {
    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let (_, ada) = app.join(&code, "Ada").await;
    let (_, bob) = app.join(&code, "Bob").await;
    let stage = format!("/api/sessions/{code}/stage");
    let (status, _) = app
        .http("POST", &stage, Some(&ada), json!({"action": "leave"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no stage yet");
    let (status, body) = app
        .act(
            &code,
            &facilitator,
            json!({"type": "open_stage", "exercise": "session-test"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Watching is read-only for learners.
    let mut watcher = app
        .connect(&format!("/ws/sessions/{code}/stage"), Some(&bob))
        .await
        .unwrap();
    assert_eq!(watcher.next().await["type"], "snapshot");
    watcher
        .send(json!({"type": "command", "command": {"kind": "crash", "consumer": "billing"}}))
        .await;
    assert_eq!(
        watcher.until(|m| m["type"] == "error").await["code"],
        "not_allowed"
    );

    let (status, mine) = app
        .http(
            "POST",
            &stage,
            Some(&ada),
            json!({"action": "volunteer", "consumer": "billing"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["consumer"], "billing");
    assert_eq!(
        mine["instance"], 1,
        "billing had one instance; Ada's is the next"
    );
    let (status, again) = app
        .http(
            "POST",
            &stage,
            Some(&ada),
            json!({"action": "volunteer", "consumer": "billing"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");

    // Bob is not on stage: he cannot settle or take anyone offline.
    let settle = json!({"action": "settle", "message": "0000000000000001", "outcome": "ack"});
    assert_eq!(
        app.http("POST", &stage, Some(&bob), settle.clone()).await.0,
        StatusCode::BAD_REQUEST
    );
    // Ada settling a message she does not hold is refused by the engine.
    let (status, refused) = app.http("POST", &stage, Some(&ada), settle).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

    let (status, _) = app
        .http("POST", &stage, Some(&ada), json!({"action": "leave"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, roster) = app
        .http(
            "GET",
            &format!("/api/sessions/{code}/roster"),
            Some(&facilitator),
            Value::Null,
        )
        .await;
    assert_eq!(roster["session"]["volunteers"][0]["offline"], true);
}

/// Hints a learner opened are theirs after a restart: the dashboard of the restarted server still counts
/// them.
#[tokio::test]
async fn hints_used_survive_a_restart() {
    let data = TempDir::new("eda-session-hints");
    let (code, facilitator) = {
        let app = spawn_app(Config::default(), Some(&data.0)).await;
        let (code, facilitator) = app.session().await;
        let (id, token) = app.join(&code, "Ada").await;
        let mut learner = app
            .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
            .await
            .unwrap();
        learner.next().await;
        let mut dashboard = app
            .connect(
                &format!("/ws/sessions/{code}/dashboard"),
                Some(&facilitator),
            )
            .await
            .unwrap();
        learner.send(json!({"type": "hint", "index": 0})).await;
        dashboard.until_learner(id, |l| l["hints_used"] == 1).await;
        // The hint's store write is spawned by the connection's guard; wait until the database has it.
        let db = data.0.join(eda_playground::session::store::DB_FILE);
        tokio::time::timeout(TEST_TIMEOUT, async {
            loop {
                assert!(app.state.sessions.store().flush().await);
                let conn = rusqlite::Connection::open(&db).unwrap();
                let stored: u32 = conn
                    .query_row(
                        "SELECT hints_used FROM learners WHERE session = ?1",
                        [&code],
                        |row| row.get(0),
                    )
                    .unwrap();
                if stored == 1 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the hint never reached the database");
        app.state.shutdown.trigger();
        (code, facilitator)
    };

    let app = spawn_app(Config::default(), Some(&data.0)).await;
    let (status, roster) = app
        .http(
            "GET",
            &format!("/api/sessions/{code}/roster"),
            Some(&facilitator),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{roster}");
    assert_eq!(roster["learners"][0]["hints_used"], 1, "{roster}");
}

/// A store that cannot write tells every dashboard, keeps retrying, and says so when it writes again.
#[tokio::test]
async fn a_failing_store_is_reported_on_the_dashboard_until_it_recovers() {
    use eda_playground::session::store::{LearnerRow, SessionRow};

    let app = spawn_app(Config::default(), None).await;
    let (code, facilitator) = app.session().await;
    let mut dashboard = app
        .connect(
            &format!("/ws/sessions/{code}/dashboard"),
            Some(&facilitator),
        )
        .await
        .unwrap();
    let roster = dashboard.next().await;
    assert_eq!(roster["type"], "roster");
    assert_eq!(roster["store_error"], Value::Null);

    // A learner of a session the database does not have: its foreign key fails every batch it is in.
    let store = app.state.sessions.store();
    store
        .learner(LearnerRow {
            session: "ORPHAN".to_owned(),
            id: 0,
            name: "Nobody".to_owned(),
            token_hash: [3; 32],
            exercise: "session-test".to_owned(),
            hints_used: 0,
            goals_json: "[]".to_owned(),
            last_activity_ms: 1,
        })
        .await;
    let failing = dashboard.until(|m| m["type"] == "notice").await;
    assert_eq!(failing["error"], true, "{failing}");
    assert!(
        failing["message"]
            .as_str()
            .unwrap()
            .contains("cannot be saved"),
        "{failing}"
    );

    // Its session arrives; the kept write goes through with it on the next retry.
    store
        .session(SessionRow {
            code: "ORPHAN".to_owned(),
            facilitator_hash: [4; 32],
            exercise: "session-test".to_owned(),
            created_ms: 1,
            last_activity_ms: 1,
            hints_revealed: 0,
            solution_revealed: false,
            paused: false,
        })
        .await;
    dashboard
        .until(|m| m["type"] == "notice" && m["message"] == "Progress is being saved again.")
        .await;
    assert!(store.flush().await);
}

/// A learner's Design reaches the dashboard, their last proof too, and both knobs (a live one and one that
/// rebuilt the run) survive a restart of the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learners_design_and_last_proof_reach_the_dashboard_and_the_design_survives_a_restart() {
    let data = TempDir::new("eda-session-design");
    let (code, token) = {
        let app = spawn_app(Config::default(), Some(&data.0)).await;
        let (code, facilitator) = app.session().await;
        let (id, token) = app.join(&code, "Barbara").await;
        let mut learner = app
            .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
            .await
            .unwrap();
        learner.next().await;
        let mut dashboard = app
            .connect(
                &format!("/ws/sessions/{code}/dashboard"),
                Some(&facilitator),
            )
            .await
            .unwrap();
        dashboard.next().await;

        learner
            .send(json!({"type": "choose", "knob": "deliveries", "option": "five"}))
            .await;
        learner.until(|m| m["type"] == "snapshot").await;
        learner
            .send(json!({"type": "choose", "knob": "billing-retry", "option": "none"}))
            .await;
        dashboard
            .until_learner(id, |l| {
                l["design"]["billing-retry"] == "none" && l["design"]["deliveries"] == "five"
            })
            .await;

        learner.send(json!({"type": "prove", "seeds": 5})).await;
        let proof = learner.until(|m| m["type"] == "proof").await;
        let passed = proof["report"]["passed"].clone();
        dashboard
            .until_learner(id, |l| {
                l["last_proof"]["seeds"] == 5 && l["last_proof"]["passed"] == passed
            })
            .await;

        drop(learner);
        let room = app.state.sessions.find(&code).unwrap();
        tokio::time::timeout(TEST_TIMEOUT, async {
            loop {
                if room.lock().learners[0].run.design.choices.len() == 2 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        assert!(app.state.sessions.store().flush().await);
        app.state.shutdown.trigger();
        (code, token)
    };

    let app = spawn_app(Config::default(), Some(&data.0)).await;
    let mut learner = app
        .connect(&format!("/ws/sessions/{code}/sandbox"), Some(&token))
        .await
        .unwrap();
    let snapshot = learner.next().await;
    assert_eq!(snapshot["design"]["choices"]["billing-retry"], "none");
    assert_eq!(snapshot["design"]["choices"]["deliveries"], "five");
    assert_eq!(
        snapshot["choices"]["deliveries"], "five",
        "the run is built with it"
    );
}

/// The projector's spotlight only watches: its page carries no controls to press.
#[tokio::test]
async fn the_spotlight_page_is_read_only() {
    let test = spawn_app(Config::default(), None).await;
    let (code, facilitator) = test.session().await;
    test.join(&code, "Ada").await;
    let request = Request::builder()
        .uri(format!("/sessions/{code}/spotlight"))
        .header("authorization", format!("Bearer {facilitator}"))
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let response = app(test.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let html = String::from_utf8_lossy(&body);
    assert!(
        html.contains("data-readonly"),
        "the page is marked read-only"
    );
    assert!(html.contains("Watching: the learner drives this sandbox"));
}
