//! `GET /ws/sandboxes/{id}`: one WebSocket client of a sandbox (protocol v1, `docs/PROTOCOL.md`).
//!
//! Before the upgrade: the Origin must match the Host, the sandbox must exist and the client cap must have
//! room. After it the socket is split in two tasks. The send task subscribes to the sandbox's broadcast,
//! then asks for a snapshot and forwards the frames numbered after it, resyncing with a fresh snapshot
//! when it lags; it also pings, and forwards this client's own replies. The receive task rate-limits,
//! parses and queues requests for the sandbox, and decides when to close.
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::response::Response;
use futures_util::stream::SplitStream;
use futures_util::{Sink, SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc, oneshot};
use tokio::time::Instant;

use crate::sandbox::frame::Broadcast;
use crate::sandbox::manager::RequestError;
use crate::sandbox::protocol::{self, ClientMessage, ErrorCode, parse_client};
use crate::sandbox::runtime::Request;
use crate::sandbox::{SandboxHandle, SandboxId};
use crate::shutdown::Shutdown;
use crate::web::{AppError, AppState};

/// Largest client message (and frame). A bigger one closes the connection with 1009 "message too big":
/// the largest legitimate message, an import of a run file, fits many times over.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;
/// How often the server pings an idle client.
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// How long after a ping a client may stay silent before it is taken for gone and closed.
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);
/// Replies meant for one client (errors, dead letters, exports) waiting to be written. At the limit
/// further replies are dropped: the client is not reading, and the rate limit keeps replies few anyway.
pub const CLIENT_REPLY_QUEUE: usize = 32;
/// A client that sends this many times its per-second allowance within one second is flooding, not
/// clicking fast, and is closed with 1008.
pub const FLOOD_FACTOR: u32 = 5;
/// Lagging this many times within [`LAG_WINDOW`] closes the client with a notice: its link cannot keep
/// up, and resending snapshots would only cost everyone else.
pub const MAX_LAGS: usize = 3;
pub const LAG_WINDOW: Duration = Duration::from_secs(10);
/// When a connection is pinged and when its silence closes it: [`PING_INTERVAL`] and [`PONG_TIMEOUT`]
/// unless the server's state says otherwise (tests use short ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            ping_interval: PING_INTERVAL,
            pong_timeout: PONG_TIMEOUT,
        }
    }
}

impl Keepalive {
    /// How long a client may stay silent: a ping's interval, then its timeout.
    fn silence(self) -> Duration {
        self.ping_interval + self.pong_timeout
    }
}

/// How long the send task may take to write the closing frame after the receive side ended.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The upgrade handler: checks before upgrading, then hands the socket to [`client`].
pub async fn sandbox_socket(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !same_origin(&headers) {
        return Err(AppError::Forbidden(
            "WebSocket connections are accepted from this server's own pages only",
        ));
    }
    let sandbox = SandboxId::parse(&id)
        .ok()
        .and_then(|id| state.sandboxes.get(id))
        .ok_or(AppError::NotFound)?;
    let permit = state.sandboxes.admit_client().ok_or_else(|| {
        AppError::Unavailable(format!(
            "The server is at its limit of {} connections; try again in a minute.",
            state.sandboxes.settings().max_clients
        ))
    })?;
    let rate = state.config.limits.max_commands_per_sec;
    let shutdown = state.shutdown.clone();
    let keepalive = state.keepalive;
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .on_failed_upgrade(|error| tracing::debug!(%error, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| {
            client(
                socket,
                sandbox,
                Policy::open(),
                rate,
                keepalive,
                shutdown,
                permit,
            )
        }))
}

/// Whether a browser page on this server opened the socket: no Origin (not a browser), or an Origin whose
/// host and port are the Host the request was sent to. Anything else is another site's page using the
/// visitor's browser, and is refused.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

pub use crate::sandbox::client::{Guard, Outside};

/// What a connection may do beyond watching: the open `/ws/sandboxes/{id}` route lets every message
/// through; a workshop session's routes pass a guard (read-only viewers, a paused room) and its notices.
pub struct Policy {
    pub guard: Option<Guard>,
    pub outside: Option<broadcast::Receiver<Outside>>,
    /// A message for this connection alone, sent right after its snapshot (a session's countdown).
    pub greeting: Option<Utf8Bytes>,
}

impl Policy {
    pub fn open() -> Self {
        Self {
            guard: None,
            outside: None,
            greeting: None,
        }
    }

    /// A session's connection: its guard, if any, and the notices it hears.
    pub fn watched(guard: Option<Guard>, outside: broadcast::Receiver<Outside>) -> Self {
        Self {
            guard,
            outside: Some(outside),
            greeting: None,
        }
    }
}

/// How the connection ends, decided by the receive task and written by the send task.
struct Close {
    code: u16,
    reason: &'static str,
}

/// Runs one client until either side ends. `_permit` holds its place under the client cap.
pub async fn client(
    socket: WebSocket,
    sandbox: SandboxHandle,
    policy: Policy,
    rate: NonZeroU32,
    keepalive: Keepalive,
    shutdown: Shutdown,
    _permit: OwnedSemaphorePermit,
) {
    // Subscribe before the snapshot is asked for, so no frame falls between the two.
    let frames = sandbox.subscribe();
    let (sink, stream) = socket.split();
    let (replies, replies_rx) = mpsc::channel(CLIENT_REPLY_QUEUE);
    let (close, close_rx) = oneshot::channel();
    let mut send = tokio::spawn(send_loop(
        sink,
        sandbox.clone(),
        frames,
        replies_rx,
        close_rx,
        (policy.greeting, policy.outside),
        keepalive.ping_interval,
        shutdown,
    ));
    let mut receive = tokio::spawn(receive_loop(
        stream,
        sandbox,
        replies,
        close,
        policy.guard,
        rate,
        keepalive.silence(),
    ));
    tokio::select! {
        _ = &mut send => receive.abort(),
        _ = &mut receive => {
            // The receive side has said its last word (or the client left); let the send side write the
            // close frame, but not forever.
            if tokio::time::timeout(CLOSE_TIMEOUT, &mut send).await.is_err() {
                send.abort();
            }
        }
    }
}

// Each argument is one of the connection's distinct inputs; bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
async fn send_loop<S>(
    mut sink: S,
    sandbox: SandboxHandle,
    mut frames: broadcast::Receiver<Arc<Broadcast>>,
    mut replies: mpsc::Receiver<Utf8Bytes>,
    mut close: oneshot::Receiver<Close>,
    (greeting, mut outside): (Option<Utf8Bytes>, Option<broadcast::Receiver<Outside>>),
    ping_interval: Duration,
    shutdown: Shutdown,
) where
    // The socket's half, or a test's stand-in.
    S: Sink<Message> + Unpin,
{
    let Some(mut after) = resync(&mut sink, &sandbox).await else {
        return;
    };
    if let Some(text) = greeting
        && sink.send(Message::Text(text)).await.is_err()
    {
        return;
    }
    let stopping = shutdown.triggered();
    tokio::pin!(stopping);
    let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    let mut lags = Lags::default();
    loop {
        let sent = tokio::select! {
            biased;
            decided = &mut close => {
                if let Ok(Close { code, reason }) = decided {
                    // The replies queued before the decision (the `rate_limited` error before a flood
                    // closes the socket) say why; they go first.
                    while let Ok(text) = replies.try_recv() {
                        if sink.send(Message::Text(text)).await.is_err() {
                            return;
                        }
                    }
                    close_with(&mut sink, code, reason).await;
                }
                return;
            }
            () = &mut stopping => {
                close_with(&mut sink, close_code::AWAY, "the server is shutting down").await;
                return;
            }
            Some(text) = replies.recv() => sink.send(Message::Text(text)).await,
            received = next_outside(&mut outside) => match received {
                Ok(Outside::Text(text)) => sink.send(Message::Text(text)).await,
                Ok(Outside::Close { code, reason }) => {
                    close_with(&mut sink, code, reason).await;
                    return;
                }
                // A notice missed is not worth closing over; the sender has ended: keep the sandbox.
                Err(RecvError::Lagged(_)) => Ok(()),
                Err(RecvError::Closed) => {
                    outside = None;
                    Ok(())
                }
            },
            received = frames.recv() => match received {
                Ok(broadcast) if broadcast.seq > after => {
                    after = broadcast.seq;
                    sink.send(Message::Text(broadcast.text.clone())).await
                }
                // Already included in the snapshot this client was sent.
                Ok(_) => Ok(()),
                Err(RecvError::Lagged(missed)) => {
                    if lags.on_lag(Instant::now()) == OnLag::Close {
                        tracing::info!(sandbox = %sandbox.id, "closing a client that keeps falling behind");
                        let notice = protocol::notice(
                            "Your connection cannot keep up with this sandbox; reload the page to reconnect.",
                        );
                        let _ = sink.send(Message::Text(notice)).await;
                        close_with(&mut sink, close_code::AGAIN, "too slow to keep up").await;
                        return;
                    }
                    tracing::debug!(sandbox = %sandbox.id, missed, "a client fell behind; resyncing");
                    match resync(&mut sink, &sandbox).await {
                        Some(seq) => {
                            after = seq;
                            Ok(())
                        }
                        None => return,
                    }
                }
                Err(RecvError::Closed) => {
                    close_with(&mut sink, close_code::AWAY, "the sandbox has ended").await;
                    return;
                }
            },
            _ = ping.tick() => sink.send(Message::Ping(Bytes::new())).await,
        };
        if sent.is_err() {
            // The client is gone; the receive side sees it too.
            return;
        }
    }
}

/// The lags of one client within the last [`LAG_WINDOW`], to tell a hiccup (resync) from a link that
/// cannot keep up (close). Holds at most [`MAX_LAGS`] instants: older ones are dropped as each lag comes.
#[derive(Debug, Default)]
struct Lags {
    at: Vec<Instant>,
}

/// What to do about a lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnLag {
    /// Send a fresh snapshot and go on.
    Resync,
    /// Send a notice and close with 1013.
    Close,
}

impl Lags {
    fn on_lag(&mut self, now: Instant) -> OnLag {
        self.at.retain(|at| now.duration_since(*at) < LAG_WINDOW);
        self.at.push(now);
        if self.at.len() >= MAX_LAGS {
            OnLag::Close
        } else {
            OnLag::Resync
        }
    }
}

/// The next message from outside, or never when there is no such stream.
async fn next_outside(
    outside: &mut Option<broadcast::Receiver<Outside>>,
) -> Result<Outside, RecvError> {
    match outside {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends a fresh snapshot and returns its number, or closes when the sandbox has ended.
async fn resync<S: Sink<Message> + Unpin>(sink: &mut S, sandbox: &SandboxHandle) -> Option<u64> {
    let Some(snapshot) = sandbox.snapshot().await else {
        close_with(sink, close_code::AWAY, "the sandbox has ended").await;
        return None;
    };
    sink.send(Message::Text(snapshot.text.clone())).await.ok()?;
    Some(snapshot.seq)
}

async fn close_with<S: Sink<Message> + Unpin>(sink: &mut S, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    // The client may already be gone; there is nobody left to tell then.
    let _ = sink.send(Message::Close(Some(frame))).await;
}

async fn receive_loop(
    mut stream: SplitStream<WebSocket>,
    sandbox: SandboxHandle,
    replies: mpsc::Sender<Utf8Bytes>,
    close: oneshot::Sender<Close>,
    guard: Option<Guard>,
    rate: NonZeroU32,
    silence: Duration,
) {
    let mut limiter = RateLimiter::new(rate);
    let outcome = loop {
        // Any message, pongs included, proves the client is alive.
        let next = match tokio::time::timeout(silence, stream.next()).await {
            Err(_) => {
                break Some(Close {
                    code: close_code::POLICY,
                    reason: "no answer to ping",
                });
            }
            Ok(None) => break None,
            Ok(Some(Err(error))) => {
                if too_big(error) {
                    break Some(Close {
                        code: close_code::SIZE,
                        reason: "message too big (64 KiB at most)",
                    });
                }
                break None;
            }
            Ok(Some(Ok(message))) => message,
        };
        let text = match next {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
            Message::Ping(_) => continue,
            Message::Pong(_) => continue,
            Message::Close(_) => break None,
        };
        match limiter.admit(Instant::now()) {
            Admit::Yes => {}
            Admit::Limited { first } => {
                if first {
                    reply(
                        &replies,
                        protocol::error(
                            ErrorCode::RateLimited,
                            &format!(
                                "More than {} messages a second; this one was dropped. Slow down.",
                                limiter.per_second
                            ),
                        ),
                    );
                }
                continue;
            }
            Admit::Flood => {
                tracing::info!(sandbox = %sandbox.id, "closing a client that floods messages");
                break Some(Close {
                    code: close_code::POLICY,
                    reason: "too many messages",
                });
            }
        }
        let Some(text) = text else {
            reply(
                &replies,
                protocol::error(
                    ErrorCode::Binary,
                    "Binary frames are not part of the protocol; send JSON text.",
                ),
            );
            continue;
        };
        let message = match parse_client(&text) {
            Ok(message) => message,
            Err((code, message)) => {
                reply(&replies, protocol::error(code, &message));
                continue;
            }
        };
        if let Some(Err(refusal)) = guard.as_ref().map(|guard| guard(&message)) {
            reply(&replies, protocol::error(refusal.code, &refusal.message));
            continue;
        }
        // A hint opened is for the guard to note (a session's dashboard); the sandbox has no use for it.
        if matches!(message, ClientMessage::Hint { .. }) {
            continue;
        }
        let request = Request::Client {
            message,
            reply: replies.clone(),
        };
        match sandbox.try_request(request) {
            Ok(()) => {}
            Err(RequestError::Busy) => reply(
                &replies,
                protocol::error(
                    ErrorCode::Busy,
                    "The sandbox is busy; try again in a moment.",
                ),
            ),
            Err(RequestError::Gone) => {
                break Some(Close {
                    code: close_code::AWAY,
                    reason: "the sandbox has ended",
                });
            }
        }
    };
    if let Some(decided) = outcome {
        // The send task may have ended already; then the socket is gone and so is the need to close it.
        let _ = close.send(decided);
    }
}

fn reply(replies: &mpsc::Sender<Utf8Bytes>, text: Utf8Bytes) {
    if replies.try_send(text).is_err() {
        tracing::debug!("a client's reply queue is full; reply dropped");
    }
}

/// Whether a read failed because the client's message is over [`MAX_CLIENT_MESSAGE_BYTES`].
fn too_big(error: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    matches!(
        error.into_inner().downcast_ref::<Error>(),
        Some(Error::Capacity(_))
    )
}

/// Messages a connection may send: `per_second` in each one-second window; past it they are dropped
/// with one `rate_limited` error per window, and past [`FLOOD_FACTOR`] times it the client is closed.
struct RateLimiter {
    per_second: u32,
    window_start: Option<Instant>,
    count: u32,
}

#[derive(Debug, PartialEq, Eq)]
enum Admit {
    Yes,
    /// Dropped; `first` is set for the first drop of the window, the one that gets an error reply.
    Limited {
        first: bool,
    },
    Flood,
}

impl RateLimiter {
    fn new(per_second: NonZeroU32) -> Self {
        Self {
            per_second: per_second.get(),
            window_start: None,
            count: 0,
        }
    }

    fn admit(&mut self, now: Instant) -> Admit {
        let fresh = self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1));
        if fresh {
            self.window_start = Some(now);
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        if self.count > self.per_second.saturating_mul(FLOOD_FACTOR) {
            Admit::Flood
        } else if self.count > self.per_second {
            Admit::Limited {
                first: self.count == self.per_second + 1,
            }
        } else {
            Admit::Yes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use tokio::sync::Semaphore;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            headers.insert(ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn same_origin_accepts_own_pages_and_non_browsers_only() {
        assert!(same_origin(&headers(None, "localhost:8080")));
        assert!(same_origin(&headers(
            Some("http://localhost:8080"),
            "localhost:8080"
        )));
        assert!(same_origin(&headers(
            Some("https://Play.Example"),
            "play.example"
        )));
        assert!(!same_origin(&headers(
            Some("http://evil.example"),
            "localhost:8080"
        )));
        assert!(!same_origin(&headers(
            Some("http://localhost:9999"),
            "localhost:8080"
        )));
        assert!(!same_origin(&headers(Some("null"), "localhost:8080")));
    }

    #[test]
    fn lags_resync_until_max_lags_fall_within_the_window() {
        let start = Instant::now();
        let mut lags = Lags::default();
        for i in 0..MAX_LAGS - 1 {
            let at = start + Duration::from_millis(10 * i as u64);
            assert_eq!(lags.on_lag(at), OnLag::Resync, "lag {i} resyncs");
        }
        let last = start + LAG_WINDOW - Duration::from_millis(1);
        assert_eq!(lags.on_lag(last), OnLag::Close);
    }

    #[test]
    fn lags_older_than_the_window_are_forgotten() {
        let start = Instant::now();
        let mut lags = Lags::default();
        // One lag per window, forever, is a hiccup each time: never a close.
        for i in 0..(MAX_LAGS as u32 * 4) {
            assert_eq!(
                lags.on_lag(start + LAG_WINDOW * i),
                OnLag::Resync,
                "lag {i}"
            );
        }
        // Lags spread just wider than the window: the oldest has always expired when the next comes.
        let mut lags = Lags::default();
        let spacing = LAG_WINDOW / (MAX_LAGS as u32 - 1);
        for i in 0..(MAX_LAGS as u32 * 4) {
            let at = start + (spacing + Duration::from_millis(1)) * i;
            assert_eq!(lags.on_lag(at), OnLag::Resync, "spread lag {i}");
        }
        // Exactly the window apart counts as outside it.
        let mut lags = Lags::default();
        assert_eq!(lags.on_lag(start), OnLag::Resync);
        let later = start + LAG_WINDOW;
        for _ in 0..MAX_LAGS - 1 {
            assert_eq!(lags.on_lag(later), OnLag::Resync);
        }
        assert_eq!(lags.on_lag(later), OnLag::Close);
    }

    /// A stand-in for the socket's send half: each message reaches `delivered` at once, then the send
    /// waits for a permit of `gate`. The test decides when `send_loop` may read its next frame.
    fn gated_sink(
        delivered: mpsc::Sender<Message>,
        gate: Arc<Semaphore>,
    ) -> impl Sink<Message> + Unpin {
        Box::pin(futures_util::sink::unfold(
            (delivered, gate),
            |(delivered, gate), message: Message| async move {
                delivered.send(message).await.map_err(|_| ())?;
                gate.acquire().await.map_err(|_| ())?.forget();
                Ok::<_, ()>((delivered, gate))
            },
        ))
    }

    /// Bounds a failure; a passing test never waits for it.
    const TEST_TIMEOUT: Duration = Duration::from_secs(10);

    async fn next(delivered: &mut mpsc::Receiver<Message>) -> Message {
        tokio::time::timeout(TEST_TIMEOUT, delivered.recv())
            .await
            .expect("send_loop sent nothing")
            .expect("send_loop ended")
    }

    fn message_type(message: &Message) -> String {
        let Message::Text(text) = message else {
            panic!("not a text message: {message:?}");
        };
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        json["type"].as_str().unwrap_or_default().to_owned()
    }

    /// Returns once the sandbox has broadcast `count` frames from now on.
    async fn outrun(sandbox: &SandboxHandle, count: u64) {
        let mut probe = sandbox.subscribe();
        let mut seen = 0;
        tokio::time::timeout(TEST_TIMEOUT, async {
            while seen < count {
                match probe.recv().await {
                    Ok(_) => seen += 1,
                    Err(RecvError::Lagged(missed)) => seen += missed,
                    Err(RecvError::Closed) => panic!("the sandbox ended"),
                }
            }
        })
        .await
        .expect("the sandbox stopped broadcasting");
    }

    #[tokio::test]
    async fn a_lagging_client_is_resynced_then_closed_after_max_lags() {
        use crate::config::Config;
        use crate::exercise::Catalog;
        use crate::sandbox::{SandboxManager, SandboxSettings};

        const BUFFER: usize = 2;
        let exercise = Catalog::load(None)
            .get("competing-consumers")
            .expect("the bundled exercise");
        let manager = SandboxManager::new(SandboxSettings {
            frame_buffer: BUFFER,
            ..SandboxSettings::from_limits(&Config::default().limits)
        });
        let sandbox = manager
            .get(manager.create(exercise, Some(1)).unwrap())
            .unwrap();
        // A run starts paused; this one must broadcast frames on its own.
        let (play_replies, _play_replies_rx) = mpsc::channel(1);
        sandbox
            .try_request(Request::Client {
                message: ClientMessage::Play,
                reply: play_replies,
            })
            .unwrap();

        let frames = sandbox.subscribe();
        let (delivered_tx, mut delivered) = mpsc::channel(8);
        let gate = Arc::new(Semaphore::new(0));
        // Held open: a dropped sender would read as the receive side's decision to close.
        let (_replies, replies_rx) = mpsc::channel(1);
        let (_close, close_rx) = oneshot::channel();
        let task = tokio::spawn(send_loop(
            gated_sink(delivered_tx, gate.clone()),
            sandbox.clone(),
            frames,
            replies_rx,
            close_rx,
            (None, None),
            PING_INTERVAL,
            Shutdown::new(),
        ));
        assert_eq!(message_type(&next(&mut delivered).await), "snapshot");

        // send_loop is held in its last send, so its receiver stands still while the sandbox broadcasts
        // more than the buffer holds: the next read is a lag.
        let past_the_buffer = 2 * BUFFER as u64 + 1;
        for lag in 1..MAX_LAGS {
            outrun(&sandbox, past_the_buffer).await;
            gate.add_permits(1);
            assert_eq!(
                message_type(&next(&mut delivered).await),
                "snapshot",
                "lag {lag} resyncs"
            );
        }
        outrun(&sandbox, past_the_buffer).await;
        gate.add_permits(1);
        let notice = next(&mut delivered).await;
        assert_eq!(message_type(&notice), "notice");
        gate.add_permits(1);
        match next(&mut delivered).await {
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, close_code::AGAIN);
                assert_eq!(frame.reason.as_str(), "too slow to keep up");
            }
            other => panic!("expected a close, got {other:?}"),
        }
        gate.add_permits(1);
        tokio::time::timeout(TEST_TIMEOUT, task)
            .await
            .expect("send_loop ended after closing")
            .unwrap();
    }

    #[test]
    fn rate_limiter_drops_past_the_rate_and_flags_a_flood() {
        let mut limiter = RateLimiter::new(NonZeroU32::new(2).unwrap());
        let start = Instant::now();
        assert_eq!(limiter.admit(start), Admit::Yes);
        assert_eq!(limiter.admit(start), Admit::Yes);
        assert_eq!(limiter.admit(start), Admit::Limited { first: true });
        assert_eq!(limiter.admit(start), Admit::Limited { first: false });
        for _ in 0..6 {
            limiter.admit(start);
        }
        assert_eq!(limiter.admit(start), Admit::Flood);
        // A new second starts a new allowance.
        assert_eq!(limiter.admit(start + Duration::from_secs(1)), Admit::Yes);
    }
}
