//! The learner's Design and "Prove it", driven through the WebSocket protocol as the page drives them:
//! knobs chosen with `choose`, then Reset, then the run played to its end (seeks, which advance virtual time
//! exactly as play does), the solution's operator actions sent at their times.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use eda_playground::config::Config;
use eda_playground::exercise::{Catalog, Exercise};
use eda_playground::serve::serve;
use eda_playground::web::AppState;

/// Bounds a failure; a passing test never waits for it.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

struct TestApp {
    addr: SocketAddr,
    state: AppState,
}

async fn spawn_app() -> TestApp {
    let state = AppState::with_catalog(Config::default(), Catalog::bundled());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state.clone()));
    TestApp { addr, state }
}

impl TestApp {
    fn exercise(&self, id: &str) -> Arc<Exercise> {
        self.state.catalog.get(id).expect("a bundled exercise")
    }

    /// A sandbox on the exercise's own seed, as the page creates one, and a client on it.
    async fn open(&self, id: &str) -> Client {
        let sandbox = self
            .state
            .sandboxes
            .create(self.exercise(id), None)
            .unwrap();
        let url = format!("ws://{}/ws/sandboxes/{sandbox}", self.addr);
        let (ws, _) = tokio::time::timeout(TEST_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .unwrap()
            .unwrap();
        Client { ws }
    }
}

struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// Reads until a message satisfies `wanted`; a bounded number of messages guards against livelock.
    async fn until(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..10_000 {
            let next = tokio::time::timeout(TEST_TIMEOUT, self.ws.next()).await;
            let Ok(Some(Ok(message))) = next else {
                panic!("the connection ended or went silent before {what}");
            };
            let Message::Text(text) = message else {
                continue;
            };
            let json: Value = serde_json::from_str(&text).unwrap();
            assert_ne!(
                json["type"], "error",
                "refused while waiting for {what}: {json}"
            );
            if wanted(&json) {
                return json;
            }
        }
        panic!("never received {what}");
    }

    async fn snapshot(&mut self) -> Value {
        self.until("a snapshot", |m| m["type"] == "snapshot").await
    }

    /// Sends a message and waits until a broadcast shows `wanted`.
    async fn seek(&mut self, at: u64) -> Value {
        self.send(json!({"type": "seek", "at": at})).await;
        self.until(&format!("the snapshot at {at} ms"), |m| {
            m["type"] == "snapshot" && m["at"] == at
        })
        .await
    }
}

fn goal_states(message: &Value) -> Vec<(String, String)> {
    message["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_owned(),
                g["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every bundled exercise, solved the way a learner solves it in the page: each knob of the solution
/// chosen (live knobs change the running world, restart knobs rebuild it), then Reset, which must keep
/// the Design, then the run to its end with the solution's operator actions at their times. Every goal
/// must be met, and the final snapshot must still carry the Design.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bundled_solution_meets_every_goal_when_applied_through_the_protocol() {
    let app = spawn_app().await;
    let exercises = app.state.catalog.exercises();
    assert!(exercises.len() >= 19, "the bundled exercises load");
    let mut unsolved = Vec::new();
    for exercise in &exercises {
        let mut client = app.open(&exercise.id).await;
        let first = client.snapshot().await;
        assert_eq!(
            first["paused"], true,
            "{}: a run starts paused",
            exercise.id
        );
        for (knob, option) in &exercise.solution.knobs {
            if &exercise.knob(knob).unwrap().default == option {
                continue;
            }
            client
                .send(json!({"type": "choose", "knob": knob, "option": option}))
                .await;
            client
                .until(
                    &format!("{}: {knob}={option} in the design", exercise.id),
                    |m| {
                        (m["type"] == "frame" || m["type"] == "snapshot")
                            && m["design"]["choices"][knob] == option.as_str()
                    },
                )
                .await;
        }
        client.send(json!({"type": "reset"})).await;
        let reset = client.snapshot().await;
        assert_eq!(reset["at"], 0, "{}: reset goes back to 0 s", exercise.id);
        for (knob, option) in &exercise.solution.knobs {
            if &exercise.knob(knob).unwrap().default != option {
                assert_eq!(
                    reset["design"]["choices"][knob], *option,
                    "{}: Reset keeps the Design",
                    exercise.id
                );
            }
        }
        let mut actions = exercise.solution.actions.clone();
        actions.sort_by_key(|a| a.at_ms);
        for action in &actions {
            if action.at_ms > 0 {
                client.seek(action.at_ms).await;
            }
            client
                .send(json!({"type": "command", "command": action.action}))
                .await;
        }
        let end = client.seek(exercise.run_for_ms).await;
        assert_eq!(end["finished"], true);
        let goals = goal_states(&end);
        if goals.iter().any(|(_, state)| state != "met") {
            unsolved.push(format!("{}: {goals:?}", exercise.id));
        }
    }
    assert!(
        unsolved.is_empty(),
        "solutions that do not work from the page:\n{}",
        unsolved.join("\n")
    );
}

/// A live knob changes the running consumer at once: four instances chosen mid-run are four instances up.
#[tokio::test]
async fn a_live_instances_knob_starts_the_instances_at_once() {
    let app = spawn_app().await;
    let mut client = app.open("competing-consumers").await;
    client.snapshot().await;
    client.seek(2_000).await;
    let exercise = app.exercise("competing-consumers");
    let knob = exercise
        .knobs
        .iter()
        .find(|k| k.field == "instances")
        .expect("an instances knob");
    let most = knob.options.last().unwrap();
    let wanted = most.value.as_u64().unwrap();
    client
        .send(json!({"type": "choose", "knob": knob.id, "option": most.id}))
        .await;
    let frame = client
        .until("a frame with the new design", |m| {
            m["type"] == "frame" && m["design"]["choices"][&knob.id] == most.id.as_str()
        })
        .await;
    assert_eq!(frame["design"]["since_ms"][&knob.id], 2_000);
    let consumer = &frame["metrics"]["consumers"][0];
    let up = consumer["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "up")
        .count() as u64;
    assert_eq!(up, wanted, "every wanted instance runs");
}

/// A restart knob chosen after a live one keeps the live one: the Design is one value.
#[tokio::test]
async fn a_restart_knob_keeps_the_live_knobs_already_chosen() {
    let app = spawn_app().await;
    let exercise = app.exercise("outbox");
    let live = exercise.knobs.iter().find(|k| k.live).expect("a live knob");
    let restart = exercise
        .knobs
        .iter()
        .find(|k| !k.live)
        .expect("a restart knob");
    let live_choice = &live
        .options
        .iter()
        .find(|o| o.id != live.default)
        .unwrap()
        .id;
    let restart_choice = &restart
        .options
        .iter()
        .find(|o| o.id != restart.default)
        .unwrap()
        .id;
    let mut client = app.open("outbox").await;
    client.snapshot().await;
    client
        .send(json!({"type": "choose", "knob": live.id, "option": live_choice}))
        .await;
    client
        .send(json!({"type": "choose", "knob": restart.id, "option": restart_choice}))
        .await;
    let notice = client
        .until("the restart notice", |m| m["type"] == "notice")
        .await;
    assert!(
        notice["message"].as_str().unwrap().contains("restarted"),
        "{notice}"
    );
    let snapshot = client.snapshot().await;
    assert_eq!(snapshot["at"], 0);
    assert_eq!(
        snapshot["design"]["choices"][&live.id],
        live_choice.as_str()
    );
    assert_eq!(
        snapshot["design"]["choices"][&restart.id],
        restart_choice.as_str()
    );
    // And a seek back and a new seed keep it too.
    client.seek(5_000).await;
    let back = client.seek(1_000).await;
    assert_eq!(back["design"]["choices"][&live.id], live_choice.as_str());
    client
        .send(json!({"type": "reset", "new_seed": true}))
        .await;
    let fresh = client.snapshot().await;
    assert_eq!(fresh["design"]["choices"][&live.id], live_choice.as_str());
    assert_eq!(
        fresh["design"]["choices"][&restart.id],
        restart_choice.as_str()
    );
}

/// An unknown knob or option is refused with a sentence, and nothing changes.
#[tokio::test]
async fn unknown_knobs_and_options_are_refused() {
    let app = spawn_app().await;
    let mut client = app.open("idempotency").await;
    client.snapshot().await;
    client
        .send(json!({"type": "choose", "knob": "no-such-knob", "option": "x"}))
        .await;
    let error = next_error(&mut client).await;
    assert_eq!(error["code"], "not_allowed");
    assert!(error["message"].as_str().unwrap().contains("no knob"));
    let knob = &app.exercise("idempotency").knobs[0];
    client
        .send(json!({"type": "choose", "knob": knob.id, "option": "no-such-option"}))
        .await;
    let error = next_error(&mut client).await;
    assert!(error["message"].as_str().unwrap().contains("has no option"));
}

async fn next_error(client: &mut Client) -> Value {
    for _ in 0..1_000 {
        let next = tokio::time::timeout(TEST_TIMEOUT, client.ws.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = next else {
            continue;
        };
        let json: Value = serde_json::from_str(&text).unwrap();
        if json["type"] == "error" {
            return json;
        }
    }
    panic!("no error came");
}

/// "Prove it": the default design of idempotency fails under chaos with a shrunk counterexample whose run
/// file opens paused before the break, and the solution is proven on every seed. The same request again is
/// served from the cache with the same verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prove_it_reports_a_counterexample_that_opens_before_the_break() {
    let app = spawn_app().await;
    let exercise = app.exercise("idempotency");
    let mut client = app.open("idempotency").await;
    client.snapshot().await;
    client.send(json!({"type": "prove", "seeds": 50})).await;
    let report = client
        .until("the proof of the default", |m| m["type"] == "proof")
        .await["report"]
        .clone();
    assert_eq!(report["seeds"], 50);
    assert!(report["passed"].as_u64().unwrap() < 50, "the default fails");
    let failing = report["goals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["failed"].as_u64() > Some(0))
        .expect("a failing goal");
    let example = &failing["counterexample"];
    assert!(!example["sentence"].as_str().unwrap().is_empty());
    let breaks_at = example["breaks_at"].as_u64().unwrap();
    let run = example["run"].clone();
    assert_eq!(run["format"], "eda-playground-run");

    // Open it: paused a moment before the break, the goal still holding; stepping on breaks it.
    client.send(json!({"type": "import", "run": run})).await;
    let opened = client.snapshot().await;
    assert_eq!(opened["paused"], true);
    assert!(opened["at"].as_u64().unwrap() < breaks_at);
    let goal_id = failing["id"].as_str().unwrap().to_owned();
    let state_of = |m: &Value| {
        m["goals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == goal_id.as_str())
            .map(|g| g["state"].as_str().unwrap().to_owned())
    };
    assert_ne!(state_of(&opened).as_deref(), Some("broken"));
    let broke = client.seek(breaks_at).await;
    assert_eq!(
        state_of(&broke).as_deref(),
        Some("broken"),
        "the counterexample reproduces"
    );

    // The solution holds on every seed; asking again comes from the cache with the same verdict.
    for (knob, option) in &exercise.solution.knobs {
        client
            .send(json!({"type": "choose", "knob": knob, "option": option}))
            .await;
    }
    for cached in [false, true] {
        client.send(json!({"type": "prove", "seeds": 50})).await;
        let proof = client.until("the proof", |m| m["type"] == "proof").await;
        assert_eq!(proof["report"]["passed"], 50, "{proof}");
        assert_eq!(proof["report"]["cached"], cached);
    }
}

/// A proof streams its progress and can be cancelled; a seed count out of range is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_streams_progress_can_be_cancelled_and_refuses_bad_counts() {
    let app = spawn_app().await;
    let mut client = app.open("out-of-order").await;
    client.snapshot().await;
    client.send(json!({"type": "prove", "seeds": 0})).await;
    let error = next_error(&mut client).await;
    assert_eq!(error["code"], "bad_request");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("between 1 and 1000")
    );
    client.send(json!({"type": "prove", "seeds": 1001})).await;
    assert_eq!(next_error(&mut client).await["code"], "bad_request");

    client.send(json!({"type": "prove", "seeds": 1000})).await;
    let progress = client
        .until("progress", |m| m["type"] == "proof_progress")
        .await;
    assert_eq!(progress["total"], 1000);
    client.send(json!({"type": "cancel_proof"})).await;
    client
        .until("the cancellation", |m| m["type"] == "proof_cancelled")
        .await;
}

/// A proof asked of a sandbox that has ended gets the connection closed with a reason, not a hang.
#[tokio::test]
async fn a_proof_on_a_sandbox_that_is_gone_is_answered() {
    let app = spawn_app().await;
    let exercise = app.exercise("idempotency");
    let id = app.state.sandboxes.create(exercise, None).unwrap();
    let url = format!("ws://{}/ws/sandboxes/{id}", app.addr);
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut client = Client { ws };
    client.snapshot().await;
    let handle = app.state.sandboxes.get(id).unwrap();
    app.state.sandboxes.stop(&handle).await;
    client.send(json!({"type": "prove", "seeds": 10})).await;
    let closed = tokio::time::timeout(TEST_TIMEOUT, async {
        loop {
            match client.ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.reason.to_string()),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the server answers");
    let reason = closed.unwrap_or_default();
    assert!(reason.contains("ended"), "closed because: {reason:?}");
}

/// The Design reaches the world the way the page's knob does: through `set_design` at 0 s, so the
/// trace shows the change and the running instances follow it.
#[test]
fn a_design_starts_the_world_through_set_design() {
    use eda_playground::engine::{InstanceStatus, TraceKind};
    let exercise = Catalog::bundled().get("competing-consumers").unwrap();
    let knob = exercise
        .knobs
        .iter()
        .find(|k| k.field == "instances")
        .unwrap();
    let most = knob.options.last().unwrap();
    let choices = [(knob.id.clone(), most.id.clone())].into_iter().collect();
    let mut world = eda_playground::exercise::start_world(&exercise, &choices, 1, None).unwrap();
    let trace = world.drain_trace();
    assert!(
        trace.iter().any(|e| e.at == 0
            && matches!(&e.kind, TraceKind::Fault { label, .. } if *label == "change design")),
        "the live knob went through set_design"
    );
    let up = world.metrics().consumers[0]
        .instances
        .iter()
        .filter(|i| i.status == InstanceStatus::Up)
        .count() as u64;
    assert_eq!(up, most.value.as_u64().unwrap());
}

/// A malformed message is answered with a sentence a learner can read, not serde's wording.
#[tokio::test]
async fn bad_fields_are_answered_in_plain_sentences() {
    let app = spawn_app().await;
    let mut client = app.open("idempotency").await;
    client.snapshot().await;
    client.send(json!({"type": "seek", "at": -5})).await;
    let error = next_error(&mut client).await;
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("-5 is not allowed here: expected a whole number of 0 or more"),
        "{message}"
    );
    assert!(
        !message.contains("u64") && !message.contains("line 1"),
        "{message}"
    );
    client.send(json!({"type": "speed", "speed": "fast"})).await;
    let message = next_error(&mut client).await["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("\"fast\" is the wrong kind of value: expected a number"),
        "{message}"
    );
    client
        .send(json!({"type": "prove", "seeds": 10, "extra": 1}))
        .await;
    client.send(json!({"type": "import"})).await;
    let message = next_error(&mut client).await["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("the field \"run\" is missing"),
        "{message}"
    );
}

/// A live knob chosen at 2 s stays in the Design when the learner rewinds to 1 s and plays on (a fork
/// drops the logged change, and the Design puts it back at once), and an exported run brings it back.
#[tokio::test]
async fn the_design_survives_a_fork_and_an_export_and_import() {
    let app = spawn_app().await;
    let mut client = app.open("idempotency").await;
    client.snapshot().await;
    client.seek(2_000).await;
    client
        .send(json!({"type": "choose", "knob": "billing-idempotency", "option": "business_key"}))
        .await;
    client
        .until("the live change", |m| {
            m["type"] == "frame" && m["design"]["choices"]["billing-idempotency"] == "business_key"
        })
        .await;
    let back = client.seek(1_000).await;
    assert_eq!(
        back["design"]["choices"]["billing-idempotency"],
        "business_key"
    );
    assert_eq!(
        back["metrics"]["consumers"][0]["design"]["idempotency"], "none",
        "the past is shown as it was"
    );
    client.send(json!({"type": "play"})).await;
    client.send(json!({"type": "pause"})).await;
    let forked = client
        .until("the forked run with the Design applied again", |m| {
            m["type"] == "frame"
                && m["metrics"]["consumers"][0]["design"]["idempotency"] == "business_key"
        })
        .await;
    assert_eq!(
        forked["design"]["choices"]["billing-idempotency"],
        "business_key"
    );

    client.send(json!({"type": "export"})).await;
    let file = client
        .until("the run file", |m| m["type"] == "run_file")
        .await["run"]
        .clone();
    assert_eq!(
        file["design"]["choices"]["billing-idempotency"],
        "business_key"
    );
    client.send(json!({"type": "reset", "choices": {}})).await;
    let plain = client.snapshot().await;
    assert!(plain["design"]["choices"].as_object().unwrap().is_empty());
    client.send(json!({"type": "import", "run": file})).await;
    let imported = client.snapshot().await;
    assert_eq!(
        imported["design"]["choices"]["billing-idempotency"],
        "business_key"
    );
}

/// `GET /api/sandboxes/{id}/export/{format}` exports the system with the Design the learner has
/// now: a knob chosen over the socket shows in the export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_of_a_sandbox_follows_its_design() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let app = spawn_app().await;
    let sandbox = app
        .state
        .sandboxes
        .create(app.exercise("poison-message"), None)
        .unwrap();
    let get = |path: String| {
        let router = eda_playground::web::app(app.state.clone());
        async move {
            let response = router
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or_default(),
            )
        }
    };
    let (status, before) = get(format!("/api/sandboxes/{sandbox}/export/rabbitmq")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before["format"], "rabbitmq");
    assert_eq!(before["file"]["vhosts"][0]["name"], "eda-poison-message");

    let url = format!("ws://{}/ws/sandboxes/{sandbox}", app.addr);
    let (ws, _) = tokio::time::timeout(TEST_TIMEOUT, tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .unwrap();
    let mut client = Client { ws };
    client.snapshot().await;
    client
        .send(json!({"type": "choose", "knob": "billing-attempts", "option": "3"}))
        .await;
    client
        .until("the new design", |m| {
            m["design"]["choices"]["billing-attempts"] == "3"
        })
        .await;
    let mut after = Value::Null;
    for _ in 0..1_000 {
        let (status, body) = get(format!("/api/sandboxes/{sandbox}/export/nats")).await;
        assert_eq!(status, StatusCode::OK);
        after = body;
        if after.to_string().contains("up to 3 deliveries") {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        after["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("up to 3 deliveries")),
        "{after}"
    );
    assert_eq!(after["file"]["streams"][0]["name"], "PAYMENTS");

    let (status, _) = get(format!("/api/sandboxes/{sandbox}/export/kafka")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get("/api/sandboxes/not-a-sandbox/export/nats".to_owned()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An alert rule set in the Design fires in the run the page draws: the firing is in the events (with
/// the messages waiting then), on the timeline's markers and in the metrics that redden the consumer;
/// at the end it has resolved and the goals about the alerting are met.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_rule_chosen_in_the_design_fires_and_resolves_on_the_timeline() {
    let app = spawn_app().await;
    let mut client = app.open("alert-rules").await;
    client.snapshot().await;
    for (knob, option) in [
        ("on-call-metric", "lag"),
        ("on-call-above", "20"),
        ("on-call-for", "2000"),
    ] {
        client
            .send(json!({"type": "choose", "knob": knob, "option": option}))
            .await;
        client
            .until(&format!("{knob}={option} in the design"), |m| {
                (m["type"] == "frame" || m["type"] == "snapshot")
                    && m["design"]["choices"][knob] == option
            })
            .await;
    }
    let firing = client.seek(18_000).await;
    let fired = firing["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "alert_fired")
        .cloned()
        .expect("the alert fired by 18 s");
    assert_eq!(fired["alert"], "on-call");
    assert_eq!(fired["metric"], "lag");
    assert!(fired["value"].as_f64().unwrap() > 20.0, "{fired}");
    assert_eq!(fired["messages"].as_array().unwrap().len(), 3, "{fired}");
    let at = fired["at"].as_u64().unwrap();
    assert!((14_000..=18_000).contains(&at), "fired at {at}");
    assert!(
        firing["markers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["label"] == "alert fired" && m["detail"] == "on-call" && m["at"] == at),
        "{}",
        firing["markers"]
    );
    let rule = &firing["metrics"]["alerts"][0];
    assert_eq!(
        (
            rule["alert"].clone(),
            rule["firing"].clone(),
            rule["above"].clone(),
            rule["for_ms"].clone()
        ),
        (json!("on-call"), json!(true), json!(20.0), json!(2000))
    );

    let end = client.seek(40_000).await;
    assert!(
        end["markers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["label"] == "alert resolved"),
        "{}",
        end["markers"]
    );
    assert_eq!(end["metrics"]["alerts"][0]["firing"], false);
    assert_eq!(
        goal_states(&end),
        vec![
            ("caught".to_owned(), "met".to_owned()),
            ("quiet".to_owned(), "met".to_owned()),
            ("one-rule".to_owned(), "met".to_owned()),
        ]
    );
}
