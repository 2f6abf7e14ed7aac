//! `eda-playground loadtest`: many WebSocket clients watching one busy sandbox.
//!
//! By default it starts a server in this process on `127.0.0.1:0` with a built-in busy exercise (a topic
//! fanning out to three consumers, well over 500 trace events per virtual second at speed 1); with `--url`
//! it targets a running server and an exercise of its catalog instead. It opens `--clients` connections,
//! lets them watch for `--seconds`, and reports frames delivered per second, the latency from a frame's
//! `sent_at_us` to its arrival (p50/p99), clients that went more than [`STARVED_AFTER`] without a message,
//! and, in process, the process's CPU time and resident memory from `/proc/self`. With `--proofs N`, N more
//! clients keep the server's proof pool busy the whole time (each proving a bundled exercise's default
//! design over 1,000 seeds, again and again), and the report gives the watched sandbox's frame gaps, so
//! that proofs are seen not to hold up live sandboxes.
//!
//! The clients run in the same process (and on the same cores) as an in-process server, so the numbers
//! are a pessimistic bound for the server alone. Clients read only the two fields they need from each frame
//! instead of parsing it, to keep their own cost small.
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::config::Config;
use crate::exercise::Catalog;
use crate::sandbox::frame::unix_micros;
use crate::web::AppState;

/// A client that receives nothing for longer than this while the sandbox runs is starved.
pub const STARVED_AFTER: Duration = Duration::from_secs(1);
/// The goal: 99 % of frames reach their client within this.
pub const P99_GOAL: Duration = Duration::from_millis(100);
/// Connections opened at once while the clients join, so the accept queue is not the thing measured.
const CONNECT_CONCURRENCY: usize = 50;
/// How long setting up (connecting every client, creating the sandbox) may take before giving up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Latency samples kept per client; past it every later frame still counts, only its latency is not kept.
const MAX_SAMPLES_PER_CLIENT: usize = 100_000;

/// The in-process exercise: a topic fanning out to three consumers, 100 orders a virtual second.
const LOADTEST_EXERCISE_ID: &str = "loadtest-fanout";
const LOADTEST_EXERCISE: &str = r#"
id = "loadtest-fanout"
title = "Load test: a busy topic"
part = "communication"
order = 99
minutes = 1
summary = "A topic fanning out to three services, busy enough to measure the playground."
run_for_ms = 3600000
seed = 1
instructions = "Watch the events flow."

[scenario]
[[scenario.channels]]
name = "orders"
kind = "topic"

[[scenario.producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 100
keys = ["a", "b", "c", "d", "e", "f", "g", "h"]
payload = { amount = 25 }

[[scenario.consumers]]
name = "billing"
channel = "orders"
processing_ms = 5
effect = { kind = "once", label = "charged" }
design = { instances = 2 }

[[scenario.consumers]]
name = "shipping"
channel = "orders"
processing_ms = 8

[[scenario.consumers]]
name = "analytics"
channel = "orders"
processing_ms = 2

[[goals]]
id = "once"
description = "Every order is charged exactly once"
check = { kind = "exactly_once", consumer = "billing" }

[solution]
knobs = {}
explanation = "Nothing to change: this exercise only measures the playground."
"#;

/// Flags of `eda-playground loadtest`.
#[derive(Debug, Clone, Args)]
pub struct LoadtestArgs {
    /// WebSocket clients watching the sandbox.
    #[arg(long, default_value_t = 200, value_parser = crate::config::parse_cap::<usize>)]
    pub clients: usize,
    /// Seconds to measure, after every client has joined.
    #[arg(long, default_value_t = 20, value_parser = crate::config::parse_cap::<u64>)]
    pub seconds: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// A running server to test, e.g. http://127.0.0.1:8080 [default: a server in this process].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// With --url: the exercise to run (it must be in that server's catalog).
    #[arg(long, value_name = "ID", default_value = "poison-message")]
    pub exercise: String,
    /// Playback speed of the sandbox (0.1 to 20).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Run a workshop session instead: this many learners, each with a running sandbox, and a
    /// facilitator dashboard (in this process; see `loadtest_session`).
    #[arg(long, value_parser = crate::config::parse_cap::<usize>)]
    pub learners: Option<usize>,
    /// In process: this many clients keep proofs running (or queued) on other sandboxes throughout.
    #[arg(long, default_value_t = 0)]
    pub proofs: usize,
    /// In process: this many more clients join the watched sandbox and never read their socket; the
    /// report gives the process's memory once they joined and at the end.
    #[arg(long, default_value_t = 0)]
    pub stalled: usize,
}

/// The exercise the `--proofs` clients prove: the slowest bundled one to prove.
const PROOF_EXERCISE: &str = "pubsub-fanout";
/// The goal for the watched sandbox's frame gaps while proofs run: 99 % of gaps under this.
pub const GAP_P99_GOAL: Duration = Duration::from_millis(100);

/// What a load test measured.
#[derive(Debug, Serialize)]
pub struct Report {
    pub clients: usize,
    pub seconds: f64,
    pub speed: f64,
    /// Trace events the sandbox produced per wall-clock second (seen by one client).
    pub events_per_sec: f64,
    /// Frames delivered per second, all clients together.
    pub frames_per_sec: f64,
    /// Frames delivered per second to one client, on average.
    pub frames_per_sec_per_client: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    /// Time between two frames at a client (the frame interval is 33 ms): p50, p99, max.
    pub frame_gap_p50_ms: f64,
    pub frame_gap_p99_ms: f64,
    pub frame_gap_max_ms: f64,
    /// Clients that never read, and the resident memory once they had joined (`rss_mib` is at the end).
    pub stalled_clients: usize,
    pub rss_mib_after_join: Option<f64>,
    /// Clients proving designs on other sandboxes meanwhile, and the proofs they finished.
    pub proof_clients: usize,
    pub proofs_finished: u64,
    /// Clients that went more than a second without a message.
    pub starved_clients: usize,
    /// Snapshots sent after the first one: resyncs of lagging clients (and overflowing frames).
    pub resyncs: u64,
    /// Connections the server closed or lost during the run.
    pub disconnected: usize,
    /// In process only: user + system CPU seconds of the whole process (server and clients) and the
    /// share of one core that is.
    pub cpu_seconds: Option<f64>,
    pub cpu_percent_of_one_core: Option<f64>,
    pub rss_mib: Option<f64>,
    pub goal_met: bool,
}

/// Why a load test could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadtestError {
    #[error("the --url must look like http://HOST:PORT, got {0:?}")]
    Url(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot prepare the load-test exercise: {0}")]
    Setup(String),
    #[error("cannot create a sandbox: {0}")]
    Create(String),
    #[error("cannot connect client {client}: {error}")]
    Connect { client: usize, error: String },
    #[error("setting up took longer than {SETUP_TIMEOUT:?}")]
    SetupTimeout,
}

/// `eda-playground loadtest`.
pub fn run(args: LoadtestArgs) -> ExitCode {
    if let Some(learners) = args.learners {
        return crate::loadtest_session::run(learners, args.seconds, args.speed, args.json);
    }
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(LoadtestError::Runtime)
        .and_then(|runtime| runtime.block_on(loadtest(&args)));
    match outcome {
        Ok(report) => {
            print_report(&report, args.json);
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

/// Runs a load test and measures it.
pub async fn loadtest(args: &LoadtestArgs) -> Result<Report, LoadtestError> {
    let stop_signal = watch::channel(false);
    let (authority, ws_path, _server) = match &args.url {
        Some(url) => {
            let authority = authority_of(url)?;
            let path = create_remote_sandbox(&authority, &args.exercise).await?;
            (authority, path, None)
        }
        None => {
            let (addr, path, server) = start_in_process(args.clients + args.proofs).await?;
            (addr.to_string(), path, Some(server))
        }
    };
    let provers: Vec<_> = if args.url.is_none() {
        (0..args.proofs)
            .map(|index| {
                let authority = authority.clone();
                let stop = stop_signal.1.clone();
                tokio::spawn(async move { keep_proving(authority, index, stop).await })
            })
            .collect()
    } else {
        Vec::new()
    };
    let url = format!("ws://{authority}{ws_path}");

    let (start_tx, start) = watch::channel(None::<Instant>);
    let (stop_tx, stop) = (stop_signal.0, stop_signal.1);
    let mut clients = Vec::with_capacity(args.clients);
    let mut joined = Vec::with_capacity(args.clients);
    for index in 0..args.clients {
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        joined.push(ready);
        let url = url.clone();
        let (start, stop) = (start.clone(), stop.clone());
        let speed = (index == 0).then_some(args.speed);
        clients.push(tokio::spawn(async move {
            watch_sandbox(index, url, speed, ready_tx, start, stop).await
        }));
        if index % CONNECT_CONCURRENCY == CONNECT_CONCURRENCY - 1 {
            tokio::task::yield_now().await;
        }
    }
    let setup = async {
        for (client, ready) in joined.into_iter().enumerate() {
            match ready.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(LoadtestError::Connect { client, error }),
                Err(_) => {
                    return Err(LoadtestError::Connect {
                        client,
                        error: "the client task ended".to_owned(),
                    });
                }
            }
        }
        Ok(())
    };
    tokio::time::timeout(SETUP_TIMEOUT, setup)
        .await
        .map_err(|_| LoadtestError::SetupTimeout)??;

    // Clients that connect, take the socket's first bytes at most, and never read again: the server must
    // spend bounded memory on them (its broadcast lags them out, the kernel's buffers fill and stop).
    let mut stalled = Vec::with_capacity(args.stalled);
    for _ in 0..args.stalled {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(url.as_str()).await {
            stalled.push(ws);
        }
    }
    let rss_after_join = args.url.is_none().then(process_rss_mib).flatten();
    let cpu_before = process_cpu_seconds();
    let began = Instant::now();
    let _ = start_tx.send(Some(began));
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let _ = stop_tx.send(true);
    let elapsed = began.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let rss_mib = args.url.is_none().then(process_rss_mib).flatten();

    let mut proofs_finished = 0;
    for prover in provers {
        proofs_finished += prover.await.unwrap_or(0);
    }
    let mut totals = ClientStats::default();
    let mut starved = 0;
    let mut disconnected = 0;
    let mut events = 0;
    for (index, client) in clients.into_iter().enumerate() {
        let Ok(stats) = client.await else { continue };
        if index == 0 {
            events = stats.events;
        }
        if stats.max_gap > STARVED_AFTER {
            starved += 1;
        }
        if stats.disconnected {
            disconnected += 1;
        }
        totals.frames += stats.frames;
        totals.resyncs += stats.resyncs;
        totals.latencies_us.extend(stats.latencies_us);
        totals.gaps_us.extend(stats.gaps_us);
    }
    totals.latencies_us.sort_unstable();
    totals.gaps_us.sort_unstable();
    let latency = |p: f64| percentile_ms(&totals.latencies_us, p);
    let gap = |p: f64| percentile_ms(&totals.gaps_us, p);
    let latency_p99_ms = latency(0.99);
    let frame_gap_p99_ms = gap(0.99);
    let frames_per_sec = totals.frames as f64 / elapsed;
    Ok(Report {
        clients: args.clients,
        seconds: elapsed,
        speed: args.speed,
        events_per_sec: events as f64 / elapsed,
        frames_per_sec,
        frames_per_sec_per_client: frames_per_sec / args.clients as f64,
        latency_p50_ms: latency(0.50),
        latency_p99_ms,
        latency_max_ms: latency(1.0),
        frame_gap_p50_ms: gap(0.50),
        frame_gap_p99_ms,
        frame_gap_max_ms: gap(1.0),
        stalled_clients: stalled.len(),
        rss_mib_after_join: rss_after_join,
        proof_clients: args.proofs,
        proofs_finished,
        starved_clients: starved,
        resyncs: totals.resyncs,
        disconnected,
        cpu_seconds: args.url.is_none().then_some(cpu).flatten(),
        cpu_percent_of_one_core: args
            .url
            .is_none()
            .then_some(cpu)
            .flatten()
            .map(|cpu| cpu / elapsed * 100.0),
        rss_mib,
        goal_met: latency_p99_ms < P99_GOAL.as_secs_f64() * 1_000.0
            && (args.proofs == 0 || frame_gap_p99_ms < GAP_P99_GOAL.as_secs_f64() * 1_000.0)
            && starved == 0
            && disconnected == 0
            && totals.frames > 0,
    })
}

/// The value at rank `p` (0 to 1) of sorted microsecond samples, in milliseconds.
fn percentile_ms(samples: &[u64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let rank = ((samples.len() - 1) as f64 * p).round() as usize;
    samples[rank.min(samples.len() - 1)] as f64 / 1_000.0
}

/// One `--proofs` client: a sandbox of its own on [`PROOF_EXERCISE`], proving its default design over
/// 1,000 seeds (a different count each time, so the cache never answers) until told to stop. Returns
/// the proofs it saw finish.
async fn keep_proving(authority: String, index: usize, mut stop: watch::Receiver<bool>) -> u64 {
    let Ok(path) = create_remote_sandbox(&authority, PROOF_EXERCISE).await else {
        return 0;
    };
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("ws://{authority}{path}")).await
    else {
        return 0;
    };
    let mut finished = 0;
    let mut seeds = 1_000 - index as u64 * 50;
    loop {
        let prove = format!(r#"{{"type":"prove","seeds":{seeds}}}"#);
        if futures_util::SinkExt::send(&mut ws, Message::text(prove))
            .await
            .is_err()
        {
            return finished;
        }
        loop {
            let message = tokio::select! {
                message = ws.next() => message,
                _ = stop.wait_for(|stopped| *stopped) => return finished,
            };
            match message {
                Some(Ok(Message::Text(text))) if text.starts_with(r#"{"v":1,"type":"proof""#) => {
                    finished += 1;
                    break;
                }
                Some(Ok(_)) => {}
                _ => return finished,
            }
        }
        seeds = seeds.saturating_sub(1).max(1);
    }
}

/// Starts a server in this process with the load-test exercise and one sandbox; returns where to connect.
async fn start_in_process(
    clients: usize,
) -> Result<
    (
        SocketAddr,
        String,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ),
    LoadtestError,
> {
    let dir = std::env::temp_dir().join(format!("eda-loadtest-{}", uuid::Uuid::new_v4()));
    let catalog = load_exercise(&dir).map_err(LoadtestError::Setup);
    // The directory only had to exist while the catalog read it.
    let _ = std::fs::remove_dir_all(&dir);
    let catalog = catalog?;
    let exercise = catalog
        .get(LOADTEST_EXERCISE_ID)
        .ok_or_else(|| LoadtestError::Setup(format!("{:?}", catalog.entries())))?;
    let mut config = Config::default();
    if let Some(room) = std::num::NonZeroUsize::new(clients.saturating_add(16)) {
        config.limits.max_clients = config.limits.max_clients.max(room);
    }
    let state = AppState::with_catalog(config, catalog);
    let id = state
        .sandboxes
        .create(exercise, None)
        .map_err(|e| LoadtestError::Create(e.to_string()))?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| LoadtestError::Setup(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| LoadtestError::Setup(e.to_string()))?;
    let server = tokio::spawn(crate::serve::serve(listener, state));
    Ok((addr, format!("/ws/sandboxes/{id}"), server))
}

fn load_exercise(dir: &Path) -> Result<Catalog, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("loadtest.toml"), LOADTEST_EXERCISE).map_err(|e| e.to_string())?;
    Ok(Catalog::load(Some(dir)))
}

/// What one client saw during the measured window.
#[derive(Debug, Default)]
struct ClientStats {
    frames: u64,
    events: u64,
    resyncs: u64,
    latencies_us: Vec<u64>,
    /// Microseconds between two frames.
    gaps_us: Vec<u64>,
    max_gap: Duration,
    disconnected: bool,
}

/// One client: connect, say it is ready, then count what arrives between start and stop.
async fn watch_sandbox(
    index: usize,
    url: String,
    speed: Option<f64>,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
    mut start: watch::Receiver<Option<Instant>>,
    mut stop: watch::Receiver<bool>,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let mut ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(error) => {
            let _ = ready.send(Err(error.to_string()));
            return stats;
        }
    };
    if let Some(speed) = speed {
        // A run opens paused: the first client sets the speed and starts it.
        let command = format!(r#"{{"type":"speed","speed":{speed}}}"#);
        for command in [command, r#"{"type":"play"}"#.to_owned()] {
            if let Err(error) = futures_util::SinkExt::send(&mut ws, Message::text(command)).await {
                let _ = ready.send(Err(error.to_string()));
                return stats;
            }
        }
    }
    // Ready once the join snapshot is in, so that every snapshot counted later is a resync.
    match ws.next().await {
        Some(Ok(Message::Text(text))) if text.starts_with(r#"{"v":1,"type":"snapshot""#) => {
            let _ = ready.send(Ok(()));
        }
        other => {
            let _ = ready.send(Err(format!("expected a snapshot first, got {other:?}")));
            return stats;
        }
    }
    let mut last = None::<Instant>;
    let mut last_frame = None::<Instant>;
    let mut snapshots = 0;
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let Some(Ok(message)) = message else {
            stats.disconnected = true;
            break;
        };
        let arrived_us = unix_micros();
        let Some(started) = *start.borrow_and_update() else {
            continue;
        };
        let now = Instant::now();
        let since = last.unwrap_or(started);
        stats.max_gap = stats.max_gap.max(now.saturating_duration_since(since));
        last = Some(now);
        let Message::Text(text) = message else {
            continue;
        };
        if text.starts_with(r#"{"v":1,"type":"snapshot""#) {
            snapshots += 1;
            continue;
        }
        if !text.starts_with(r#"{"v":1,"type":"frame""#) {
            continue;
        }
        stats.frames += 1;
        if let Some(previous) = last_frame.replace(now)
            && stats.gaps_us.len() < MAX_SAMPLES_PER_CLIENT
        {
            stats
                .gaps_us
                .push(now.saturating_duration_since(previous).as_micros() as u64);
        }
        if let Some(sent) = field_u64(&text, "\"sent_at_us\":") {
            if stats.latencies_us.len() < MAX_SAMPLES_PER_CLIENT {
                stats.latencies_us.push(arrived_us.saturating_sub(sent));
            }
        }
        if index == 0 {
            stats.events += count_events(&text);
        }
    }
    if let Some(started) = *start.borrow() {
        let end = Instant::now();
        stats.max_gap = stats
            .max_gap
            .max(end.saturating_duration_since(last.unwrap_or(started)));
    }
    stats.resyncs = snapshots;
    stats
}

/// The number after `key` in a JSON text, without parsing the rest.
fn field_u64(text: &str, key: &str) -> Option<u64> {
    let start = text.rfind(key)? + key.len();
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Trace events in a frame: one client parses its frames fully to count them.
fn count_events(text: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|frame| frame["events"].as_array().map(|e| e.len() as u64))
        .unwrap_or(0)
}

/// User + system CPU seconds of this process, from `/proc/self/stat` (Linux only).
pub(crate) fn process_cpu_seconds() -> Option<f64> {
    // USER_HZ, the unit of these fields, is 100 on every Linux the playground targets.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it start after its closing ')'.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Resident memory of this process in MiB, from `/proc/self/statm` (Linux only).
pub(crate) fn process_rss_mib() -> Option<f64> {
    // The page size is 4 KiB on the x86-64 and arm64 Linux the playground targets.
    const PAGE_BYTES: f64 = 4096.0;
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident * PAGE_BYTES / (1024.0 * 1024.0))
}

/// `http://host:port[/…]` → `host:port`.
fn authority_of(url: &str) -> Result<String, LoadtestError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| LoadtestError::Url(url.to_owned()))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(LoadtestError::Url(url.to_owned()));
    }
    Ok(authority.to_owned())
}

/// `POST /api/sandboxes` over a bare HTTP/1.1 connection; returns the WebSocket path.
async fn create_remote_sandbox(authority: &str, exercise: &str) -> Result<String, LoadtestError> {
    let create = |e: std::io::Error| LoadtestError::Create(e.to_string());
    let body = serde_json::json!({ "exercise": exercise }).to_string();
    let request = format!(
        "POST /api/sandboxes HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect(authority).await.map_err(create)?;
        stream.write_all(request.as_bytes()).await.map_err(create)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.map_err(create)?;
        Ok::<_, LoadtestError>(answer)
    };
    let answer = tokio::time::timeout(SETUP_TIMEOUT, exchange)
        .await
        .map_err(|_| LoadtestError::SetupTimeout)??;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    if !head.starts_with("HTTP/1.1 201") {
        let status = head.lines().next().unwrap_or_default();
        return Err(LoadtestError::Create(format!("{status} {body}")));
    }
    let created: serde_json::Value =
        serde_json::from_str(body).map_err(|e| LoadtestError::Create(e.to_string()))?;
    created["ws"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| LoadtestError::Create(format!("no \"ws\" in {body}")))
}

fn print_report(report: &Report, json: bool) {
    if json {
        match serde_json::to_string_pretty(report) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("loadtest: cannot write the report: {error}"),
        }
        return;
    }
    println!(
        "{} clients, {:.1} s at speed {}",
        report.clients, report.seconds, report.speed
    );
    println!("  events/s produced      {:>10.0}", report.events_per_sec);
    println!(
        "  frames/s delivered     {:>10.0}  ({:.1} per client)",
        report.frames_per_sec, report.frames_per_sec_per_client
    );
    println!(
        "  latency p50 / p99 / max {:>7.1} / {:.1} / {:.1} ms",
        report.latency_p50_ms, report.latency_p99_ms, report.latency_max_ms
    );
    println!(
        "  frame gap p50 / p99 / max {:>5.1} / {:.1} / {:.1} ms",
        report.frame_gap_p50_ms, report.frame_gap_p99_ms, report.frame_gap_max_ms
    );
    if report.stalled_clients > 0
        && let (Some(before), Some(after)) = (report.rss_mib_after_join, report.rss_mib)
    {
        println!(
            "  stalled clients        {:>10}  (never read; RSS {before:.1} MiB once joined, {after:.1} MiB at the end)",
            report.stalled_clients
        );
    }
    if report.proof_clients > 0 {
        println!(
            "  proofs meanwhile       {:>10}  clients, {} proofs finished",
            report.proof_clients, report.proofs_finished
        );
    }
    println!(
        "  starved clients        {:>10}  (nothing for more than {} s)",
        report.starved_clients,
        STARVED_AFTER.as_secs()
    );
    println!("  resync snapshots       {:>10}", report.resyncs);
    println!("  disconnected           {:>10}", report.disconnected);
    if let (Some(cpu), Some(share)) = (report.cpu_seconds, report.cpu_percent_of_one_core) {
        println!("  process CPU            {cpu:>10.2} s  ({share:.0} % of one core)");
    }
    if let Some(rss) = report.rss_mib {
        println!("  process RSS            {rss:>10.1} MiB");
    }
    println!(
        "  goal (p99 < {} ms, nobody starved): {}",
        P99_GOAL.as_millis(),
        if report.goal_met { "met" } else { "MISSED" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_u64_reads_the_last_occurrence() {
        let text = r#"{"v":1,"type":"frame","events":[{"sent_at_us":1}],"sent_at_us":1234567}"#;
        assert_eq!(field_u64(text, "\"sent_at_us\":"), Some(1_234_567));
        assert_eq!(field_u64(text, "\"nope\":"), None);
    }

    #[test]
    fn authority_of_wants_http_urls() {
        assert_eq!(
            authority_of("http://127.0.0.1:8080/").unwrap(),
            "127.0.0.1:8080"
        );
        assert!(authority_of("ftp://x").is_err());
        assert!(authority_of("http://").is_err());
    }

    #[test]
    fn proc_readings_are_positive_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(process_cpu_seconds().is_some());
            assert!(process_rss_mib().is_some_and(|mib| mib > 0.0));
        }
    }
}
