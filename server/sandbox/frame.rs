//! What a sandbox broadcasts: a frame or a snapshot, serialized once and shared by every client.
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::ws::Utf8Bytes;

use super::SandboxId;
use super::protocol::{Frame, ServerMessage, Snapshot, encode};
use super::run::Run;

/// One message for every client of a sandbox. `seq` numbers broadcasts, so a client that is sent a
/// snapshot can skip the frames the snapshot already includes.
#[derive(Debug)]
pub struct Broadcast {
    pub seq: u64,
    pub text: Utf8Bytes,
}

/// The sandbox-wide controls a frame and a snapshot report next to the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Controls {
    pub speed: f64,
    pub paused: bool,
}

/// Builds the snapshot of `run` as it is now, numbered `seq`.
pub fn snapshot(id: SandboxId, seq: u64, run: &Run, controls: Controls) -> Arc<Broadcast> {
    let world = run.world();
    let topology = world.topology();
    let metrics = world.metrics();
    let goals = run.goals();
    let bill = run.bill();
    let sandbox = id.to_string();
    let message = ServerMessage::Snapshot(Snapshot {
        seq,
        sandbox,
        exercise: &run.exercise().id,
        seed: run.seed(),
        at: run.now(),
        run_for_ms: run.run_for_ms(),
        speed: controls.speed,
        paused: controls.paused,
        finished: run.finished(),
        topology: &topology,
        metrics: &metrics,
        events: run.recent().collect(),
        goals: &goals,
        bill: &bill,
        markers: run.markers(),
        commands: run.log(),
        history_ms: run.history_ms(),
        choices: run.choices(),
        design: run.design(),
    });
    Arc::new(Broadcast {
        seq,
        text: encode(&message),
    })
}

/// Builds the frame of what happened since the last broadcast, numbered `seq`.
pub fn frame(seq: u64, run: &mut Run, controls: Controls) -> Arc<Broadcast> {
    let metrics = run.world().metrics();
    let goals = run.goals();
    let bill = run.bill();
    let at = run.now();
    let finished = run.finished();
    let (events, markers) = run.take_pending();
    let message = ServerMessage::Frame(Frame {
        seq,
        at,
        speed: controls.speed,
        paused: controls.paused,
        finished,
        events: &events,
        metrics: &metrics,
        goals: &goals,
        bill: &bill,
        markers: &run.markers()[markers],
        design: run.design(),
        sent_at_us: unix_micros(),
    });
    Arc::new(Broadcast {
        seq,
        text: encode(&message),
    })
}

/// Wall-clock microseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
