//! `eda-playground loadtest --learners N`: a workshop session of N learners, each with a running sandbox
//! watched over its own WebSocket, plus a facilitator dashboard, in this process. Reports CPU, memory,
//! memory per sandbox and the delay from a learner seeing their goals change to the dashboard showing it.
//!
//! Every learner injects a poison message now and then so goals keep changing. A benchmark, not a test:
//! the exit code says whether the goal (under 1 GiB, dashboard p99 under 500 ms) was met.
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::config::Config;
use crate::exercise::Catalog;
use crate::loadtest::{process_cpu_seconds, process_rss_mib};
use crate::session::Sessions;
use crate::web::AppState;

/// The exercise every learner runs: bundled, with a queue, retries and a dead-letter queue.
pub const EXERCISE: &str = "poison-message";
/// The knob learners set before they start, spread over its options, so the room's design distribution
/// (sent with every dashboard update) has something to count.
const DESIGN_KNOB: &str = "billing-attempts";
const DESIGN_OPTIONS: [&str; 3] = ["100", "5", "1"];
/// Time between two poison messages from one learner; learners are spread over it.
const POISON_EVERY: Duration = Duration::from_secs(5);
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);
/// The goals on a 2-core machine.
const MEMORY_GOAL_MIB: f64 = 1024.0;
const P99_GOAL_MS: f64 = 500.0;

#[derive(Debug, Serialize)]
pub struct SessionReport {
    pub learners: usize,
    pub seconds: f64,
    pub speed: f64,
    pub cpu_seconds: Option<f64>,
    pub cpu_percent_of_one_core: Option<f64>,
    pub rss_mib: Option<f64>,
    /// (RSS with every sandbox running − RSS before the first) / learners.
    pub rss_per_sandbox_kib: Option<f64>,
    pub goal_changes: usize,
    pub dashboard_p50_ms: f64,
    pub dashboard_p99_ms: f64,
    pub dashboard_max_ms: f64,
    pub dashboard_messages: u64,
    /// Bytes the dashboard received, roster lines and the room's aggregate included.
    pub dashboard_bytes: u64,
    /// Learners the last aggregate counted on the exercise (all of them, when it keeps up).
    pub aggregate_learners: u64,
    pub goal_met: bool,
}

/// When each learner last saw their goals change, by learner id and goal signature.
type Seen = Arc<Mutex<HashMap<(u64, String), Instant>>>;

pub fn run(learners: usize, seconds: u64, speed: f64, json: bool) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|runtime| runtime.block_on(loadtest(learners, seconds, speed)));
    match outcome {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                print_report(&report);
            }
            if report.goal_met {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("loadtest: {error}");
            ExitCode::FAILURE
        }
    }
}

pub async fn loadtest(learners: usize, seconds: u64, speed: f64) -> Result<SessionReport, String> {
    let data = std::env::temp_dir().join(format!("eda-loadtest-{}", uuid::Uuid::new_v4()));
    let result = measure(learners, seconds, speed, &data).await;
    let _ = std::fs::remove_dir_all(&data);
    result
}

async fn measure(
    learners: usize,
    seconds: u64,
    speed: f64,
    data: &std::path::Path,
) -> Result<SessionReport, String> {
    let mut config = Config::default();
    config.limits.max_learners = std::num::NonZeroUsize::new(learners.max(1)).ok_or("learners")?;
    config.limits.max_sandboxes = std::num::NonZeroUsize::new(learners + 10).ok_or("learners")?;
    config.limits.max_clients = std::num::NonZeroUsize::new(learners * 2 + 10).ok_or("learners")?;
    let catalog = Catalog::bundled();
    let sessions =
        Sessions::open(Some(data), catalog.clone(), config.limits).map_err(|e| e.to_string())?;
    let state = AppState::with_sessions(config, catalog, sessions);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(crate::serve::serve(listener, state.clone()));

    let (room, facilitator) = state
        .sessions
        .create(EXERCISE)
        .await
        .map_err(|e| e.to_string())?;
    let code = room.code.as_str().to_owned();
    let rss_before = process_rss_mib();

    let seen: Seen = Arc::default();
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = Vec::with_capacity(learners);
    let mut ready = Vec::with_capacity(learners);
    for index in 0..learners {
        let (_, token) = state
            .sessions
            .join(&room, &format!("learner {index}"))
            .await
            .map_err(|e| e.to_string())?;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        ready.push(ready_rx);
        let url = format!("ws://{addr}/ws/sessions/{code}/sandbox");
        let offset = POISON_EVERY.mul_f64(index as f64 / learners as f64);
        tasks.push(tokio::spawn(learner(
            index as u64,
            url,
            token.as_str().to_owned(),
            speed,
            offset,
            seen.clone(),
            ready_tx,
            stop.clone(),
        )));
    }
    tokio::time::timeout(SETUP_TIMEOUT, async {
        for ready in ready {
            ready
                .await
                .map_err(|_| "a learner could not connect".to_owned())??;
        }
        Ok::<(), String>(())
    })
    .await
    .map_err(|_| "setting up took too long".to_owned())??;

    let dashboard = tokio::spawn(dashboard(
        format!("ws://{addr}/ws/sessions/{code}/dashboard"),
        facilitator.as_str().to_owned(),
        seen,
        stop.clone(),
    ));
    let cpu_before = process_cpu_seconds();
    let began = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let _ = stop_tx.send(true);
    let elapsed = began.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let rss = process_rss_mib();
    let DashboardSeen {
        mut delays,
        messages,
        bytes,
        aggregate_learners,
    } = dashboard.await.map_err(|e| e.to_string())??;
    for task in tasks {
        let _ = task.await;
    }
    delays.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if delays.is_empty() {
            return 0.0;
        }
        let rank = ((delays.len() - 1) as f64 * p).round() as usize;
        delays[rank.min(delays.len() - 1)] as f64 / 1_000.0
    };
    let p99 = percentile(0.99);
    Ok(SessionReport {
        learners,
        seconds: elapsed,
        speed,
        cpu_seconds: cpu,
        cpu_percent_of_one_core: cpu.map(|cpu| cpu / elapsed * 100.0),
        rss_mib: rss,
        rss_per_sandbox_kib: rss
            .zip(rss_before)
            .map(|(after, before)| (after - before) * 1024.0 / learners as f64),
        goal_changes: delays.len(),
        dashboard_p50_ms: percentile(0.5),
        dashboard_p99_ms: p99,
        dashboard_max_ms: percentile(1.0),
        dashboard_messages: messages,
        dashboard_bytes: bytes,
        aggregate_learners,
        goal_met: rss.is_some_and(|rss| rss < MEMORY_GOAL_MIB)
            && p99 < P99_GOAL_MS
            && !delays.is_empty(),
    })
}

fn signature(goals: &Value) -> String {
    goals
        .as_array()
        .map(|goals| {
            goals
                .iter()
                .map(|g| {
                    g["state"]
                        .as_str()
                        .unwrap_or("?")
                        .chars()
                        .next()
                        .unwrap_or('?')
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One learner: watches their sandbox, notes when their goals change, sends a poison message now and then.
#[allow(clippy::too_many_arguments)]
async fn learner(
    id: u64,
    url: String,
    token: String,
    speed: f64,
    offset: Duration,
    seen: Seen,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut request = match url.into_client_request() {
        Ok(request) => request,
        Err(error) => {
            let _ = ready.send(Err(error.to_string()));
            return;
        }
    };
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.headers_mut().insert("authorization", value);
    }
    let mut ws = match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => ws,
        Err(error) => {
            let _ = ready.send(Err(error.to_string()));
            return;
        }
    };
    let mut channel = None;
    let mut last = String::new();
    let _ = ws
        .send(Message::text(
            json!({"type": "speed", "speed": speed}).to_string(),
        ))
        .await;
    let option = DESIGN_OPTIONS[usize::try_from(id).unwrap_or(0) % DESIGN_OPTIONS.len()];
    let _ = ws
        .send(Message::text(
            json!({"type": "choose", "knob": DESIGN_KNOB, "option": option}).to_string(),
        ))
        .await;
    // A run opens paused: each learner starts theirs.
    let _ = ws
        .send(Message::text(json!({"type": "play"}).to_string()))
        .await;
    let mut ready = Some(ready);
    let mut poison = tokio::time::interval_at(tokio::time::Instant::now() + offset, POISON_EVERY);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = poison.tick() => {
                if let Some(channel) = &channel {
                    let command = json!({"type": "command", "command": {"kind": "inject_poison", "channel": channel}});
                    if ws.send(Message::text(command.to_string())).await.is_err() {
                        break;
                    }
                }
            }
            message = ws.next() => {
                let Some(Ok(Message::Text(text))) = message else {
                    if matches!(message, None | Some(Err(_))) { break; }
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
                if value["type"] == "snapshot" {
                    channel = value["topology"]["channels"][0]["name"].as_str().map(str::to_owned);
                    last = signature(&value["goals"]);
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(Ok(()));
                    }
                } else if value["type"] == "frame" {
                    let now = signature(&value["goals"]);
                    if now != last {
                        seen.lock().unwrap_or_else(PoisonError::into_inner).insert((id, now.clone()), Instant::now());
                        last = now;
                    }
                }
            }
        }
    }
}

/// The facilitator's dashboard: for each roster line whose goals changed, the delay since the learner saw it.
async fn dashboard(
    url: String,
    token: String,
    seen: Seen,
    mut stop: watch::Receiver<bool>,
) -> Result<DashboardSeen, String> {
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().map_err(|_| "token")?,
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    let mut delays = Vec::new();
    let mut messages = 0;
    let mut bytes = 0;
    let mut aggregate_learners = 0;
    let mut shown: HashMap<u64, String> = HashMap::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            message = ws.next() => {
                let Some(Ok(Message::Text(text))) = message else {
                    if matches!(message, None | Some(Err(_))) { break; }
                    continue;
                };
                messages += 1;
                bytes += text.len() as u64;
                let arrived = Instant::now();
                let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
                if value["type"] != "learners" {
                    continue;
                }
                aggregate_learners = value["room"]["learners"].as_u64().unwrap_or(aggregate_learners);
                for line in value["learners"].as_array().into_iter().flatten() {
                    let (Some(id), goals) = (line["id"].as_u64(), signature(&line["goals"])) else { continue };
                    // Only a change counts: a line is also resent when the learner is merely active.
                    if shown.insert(id, goals.clone()).is_none_or(|before| before == goals) {
                        continue;
                    }
                    let seen_at = seen.lock().unwrap_or_else(PoisonError::into_inner).remove(&(id, goals));
                    // No entry: the dashboard heard of it before the learner's own frame arrived.
                    let delay = seen_at.map_or(Duration::ZERO, |at| arrived.saturating_duration_since(at));
                    delays.push(u64::try_from(delay.as_micros()).unwrap_or(u64::MAX));
                }
            }
        }
    }
    Ok(DashboardSeen {
        delays,
        messages,
        bytes,
        aggregate_learners,
    })
}

/// What the dashboard saw: goal-change delays in microseconds, messages, bytes, the aggregate's count.
struct DashboardSeen {
    delays: Vec<u64>,
    messages: u64,
    bytes: u64,
    aggregate_learners: u64,
}

fn print_report(r: &SessionReport) {
    println!(
        "workshop session load test: {} learners, {:.1} s at speed {}",
        r.learners, r.seconds, r.speed
    );
    if let (Some(cpu), Some(share)) = (r.cpu_seconds, r.cpu_percent_of_one_core) {
        println!("  process CPU              {cpu:>10.2} s  ({share:.0} % of one core)");
    }
    if let Some(rss) = r.rss_mib {
        println!("  process RSS              {rss:>10.1} MiB");
    }
    if let Some(per) = r.rss_per_sandbox_kib {
        println!("  memory per sandbox       {per:>10.0} KiB");
    }
    println!("  goal changes measured    {:>10}", r.goal_changes);
    println!("  dashboard delay p50      {:>10.1} ms", r.dashboard_p50_ms);
    println!("  dashboard delay p99      {:>10.1} ms", r.dashboard_p99_ms);
    println!("  dashboard delay max      {:>10.1} ms", r.dashboard_max_ms);
    println!("  dashboard messages       {:>10}", r.dashboard_messages);
    println!(
        "  dashboard traffic        {:>10.1} KiB/s (roster lines and the room's aggregate)",
        r.dashboard_bytes as f64 / 1024.0 / r.seconds.max(f64::EPSILON)
    );
    println!(
        "  aggregate counts         {:>10} learners",
        r.aggregate_learners
    );
    println!(
        "  goal (< {MEMORY_GOAL_MIB} MiB, p99 < {P99_GOAL_MS} ms): {}",
        if r.goal_met { "met" } else { "NOT met" }
    );
}
