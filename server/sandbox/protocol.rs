//! Protocol v1: the JSON messages of `/ws/sandboxes/{id}`, as serde types. `docs/PROTOCOL.md` is the
//! reader's version of this file; a change here is a change there.
//!
//! Every server message is one text frame `{"v":1,"type":…}`; a client message is `{"type":…}`.
use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};

use crate::engine::{Command, DeadLetterView, Metrics, Millis, Topology, TraceEvent};
use crate::exercise::bill::Bill;
use crate::exercise::model::Choices;
use crate::exercise::{Design, GoalStatus};

use super::run_file::{RunFile, TimedCommand};

/// The `"v"` of every server message. Bumped on a change an old client would misread.
pub const PROTOCOL_VERSION: u32 = 1;

/// A fault or change on the timeline: `{"at":…,"label":"crash","detail":"billing"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    pub at: Millis,
    pub label: &'static str,
    /// The service, consumer or channel the fault was aimed at; empty for the broker.
    pub detail: String,
}

/// Everything a client needs to draw a sandbox from scratch.
#[derive(Debug, Serialize)]
pub struct Snapshot<'a> {
    /// The sequence number of the last frame this snapshot includes; later frames follow it.
    pub seq: u64,
    pub sandbox: String,
    pub exercise: &'a str,
    pub seed: u64,
    pub at: Millis,
    pub run_for_ms: Millis,
    pub speed: f64,
    pub paused: bool,
    pub finished: bool,
    pub topology: &'a Topology,
    pub metrics: &'a Metrics,
    /// The most recent trace events, oldest first.
    pub events: Vec<&'a TraceEvent>,
    pub goals: &'a [GoalStatus],
    /// The run's bill so far: what the design costs, its latency and throughput.
    pub bill: &'a Bill,
    pub markers: &'a [Marker],
    pub commands: &'a [TimedCommand],
    /// The furthest virtual time this run has reached: a timeline can seek anywhere in `0..=history_ms`.
    pub history_ms: Millis,
    /// The knob options the run was built with at 0 s (knob id → option id); knobs not named are at
    /// their default. With the seed and `commands` they rebuild the run.
    pub choices: &'a Choices,
    /// The learner's Design now: every knob choice, with when a choice made in this run took effect.
    pub design: &'a Design,
}

/// What changed since the previous frame.
#[derive(Debug, Serialize)]
pub struct Frame<'a> {
    pub seq: u64,
    pub at: Millis,
    pub speed: f64,
    pub paused: bool,
    pub finished: bool,
    pub events: &'a [TraceEvent],
    pub metrics: &'a Metrics,
    pub goals: &'a [GoalStatus],
    /// The run's bill so far: what the design costs, its latency and throughput.
    pub bill: &'a Bill,
    /// Markers new in this frame.
    pub markers: &'a [Marker],
    /// The learner's Design, so that a live knob change shows at once.
    pub design: &'a Design,
    /// Wall-clock microseconds since the Unix epoch when the server sent the frame, for latency
    /// measurements. Never seen by the engine.
    pub sent_at_us: u64,
}

/// A server message; serialized with [`encode`], which adds `"v":1`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    Snapshot(Snapshot<'a>),
    Frame(Frame<'a>),
    DeadLetters {
        consumer: &'a str,
        letters: &'a [DeadLetterView],
    },
    RunFile {
        run: &'a RunFile,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
    },
    Notice {
        message: &'a str,
    },
    /// A proof waits for a worker; `position` 1 is next.
    ProofQueued {
        position: usize,
    },
    /// Seeds of a running proof done so far.
    ProofProgress {
        done: u32,
        total: u32,
    },
    /// A finished proof (docs/PROTOCOL.md §4a).
    Proof {
        report: &'a serde_json::Value,
    },
    ProofCancelled {
        message: &'a str,
    },
}

/// Why a client message was refused. The connection stays open unless a close frame follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, or no `"type"` string.
    BadJson,
    /// A `"type"` this protocol version does not have.
    UnknownType,
    /// A known type with missing or wrong fields (a speed out of range, a seek past the end).
    BadRequest,
    /// The command is not a valid engine command, or names something the world does not have.
    InvalidCommand,
    /// The exercise does not offer this command.
    NotAllowed,
    /// Too big to accept (a run file with too many commands).
    TooLarge,
    /// More messages per second than the server accepts; the message was dropped.
    RateLimited,
    /// Binary frames are not part of the protocol.
    Binary,
    /// The run reached the exercise's end: reset or seek back to continue.
    Finished,
    /// A run file that cannot be loaded here.
    BadRunFile,
    /// The sandbox is busy; try again.
    Busy,
    /// The sandbox is gone (reaped or the server is stopping).
    Gone,
    /// A server-side failure; details are in the server log.
    Internal,
}

/// `{"v":1,…}`: the version next to the message's own fields.
#[derive(Serialize)]
struct Versioned<'a, 'b> {
    v: u32,
    #[serde(flatten)]
    message: &'b ServerMessage<'a>,
}

/// Serializes a server message once, into the text every client of a sandbox is sent.
pub fn encode(message: &ServerMessage<'_>) -> Utf8Bytes {
    let versioned = Versioned {
        v: PROTOCOL_VERSION,
        message,
    };
    match serde_json::to_string(&versioned) {
        Ok(text) => Utf8Bytes::from(text),
        Err(error) => {
            // Our types have string keys and no custom serializers, so this is a bug; the client
            // gets the generic error and the log gets the detail.
            tracing::error!(%error, "cannot serialize a server message");
            Utf8Bytes::from_static(
                r#"{"v":1,"type":"error","code":"internal","message":"Something went wrong on the server."}"#,
            )
        }
    }
}

/// An error message for one client.
pub fn error(code: ErrorCode, message: &str) -> Utf8Bytes {
    encode(&ServerMessage::Error { code, message })
}

/// A notice for one client (or all of them).
pub fn notice(message: &str) -> Utf8Bytes {
    encode(&ServerMessage::Notice { message })
}

/// A client message, tagged on `"type"`. Unknown extra fields are ignored.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Command {
        command: Command,
    },
    Pause,
    Play,
    Step,
    Speed {
        speed: f64,
    },
    Reset {
        #[serde(default)]
        new_seed: bool,
        /// Restart with these options for the exercise's restart knobs (knob id → option id). Without
        /// it the run keeps the options it has.
        #[serde(default)]
        choices: Option<Choices>,
    },
    Seek {
        at: Millis,
    },
    InspectDlq {
        consumer: String,
    },
    Export,
    Import {
        run: RunFile,
    },
    /// Set one knob of the learner's Design.
    Choose {
        knob: String,
        option: String,
    },
    /// Prove the current Design over `seeds` seeded chaos runs.
    Prove {
        #[serde(default = "default_proof_seeds")]
        seeds: u32,
    },
    /// Stop this client's proof.
    CancelProof,
    /// The learner opened hint `index` (from 0) of the exercise. Only a workshop session's learner
    /// connection counts it (the dashboard's "hints used"); it never reaches the sandbox.
    Hint {
        index: u32,
    },
}

/// The `"type"` values [`ClientMessage`] knows.
pub const CLIENT_TYPES: &[&str] = &[
    "command",
    "pause",
    "play",
    "step",
    "speed",
    "reset",
    "seek",
    "inspect_dlq",
    "export",
    "import",
    "hint",
    "choose",
    "prove",
    "cancel_proof",
];

fn default_proof_seeds() -> u32 {
    crate::exercise::prove::DEFAULT_PROOF_SEEDS
}

/// The deepest nesting of arrays and objects a client message may have: serde_json's own recursion
/// limit, which keeps a parse from exhausting the stack. A deeper message is valid JSON, refused with a
/// sentence that says so; a published payload sits three levels down (message, command, payload).
pub const MAX_JSON_DEPTH: usize = 128;

/// Parses a client text frame, telling bad JSON, too deep JSON, an unknown type and bad fields apart.
pub fn parse_client(text: &str) -> Result<ClientMessage, (ErrorCode, String)> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            (
                ErrorCode::TooLarge,
                format!(
                    "This JSON nests arrays and objects deeper than {MAX_JSON_DEPTH} levels, the most \
                     the sandbox reads; a payload may nest {} levels. Flatten it and send it again.",
                    MAX_JSON_DEPTH - 3
                ),
            )
        } else {
            (
                ErrorCode::BadJson,
                "Not valid JSON: send one JSON object per text frame.".to_owned(),
            )
        }
    })?;
    let Some(kind) = value
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
    else {
        return Err((
            ErrorCode::BadJson,
            r#"Expected a JSON object with a "type" string."#.to_owned(),
        ));
    };
    if !CLIENT_TYPES.contains(&kind.as_str()) {
        return Err((
            ErrorCode::UnknownType,
            format!(
                "Unknown message type {:?}; known types: {}.",
                truncate(&kind, 40),
                CLIENT_TYPES.join(", ")
            ),
        ));
    }
    let code = if kind == "command" {
        ErrorCode::InvalidCommand
    } else if kind == "import" {
        ErrorCode::BadRunFile
    } else {
        ErrorCode::BadRequest
    };
    // serde's message describes the client's own input, never server internals, so it is safe to return,
    // once rewritten as a sentence ("-5 is not allowed here: expected a whole number of 0 or more").
    serde_json::from_value(value).map_err(|e| {
        (
            code,
            format!(
                "Invalid {kind} message: {}.",
                super::plain_errors::plain(&e)
            ),
        )
    })
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_json_is_read_up_to_its_documented_depth_and_refused_past_it_with_a_reason() {
        let publish = |depth: usize| {
            format!(
                r#"{{"type":"command","command":{{"kind":"publish","channel":"orders","event_type":"X","key":"k","payload":{}{}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        assert!(parse_client(&publish(MAX_JSON_DEPTH - 3)).is_ok());
        let (code, message) = parse_client(&publish(200)).unwrap_err();
        assert_eq!(code, ErrorCode::TooLarge);
        assert!(message.contains("deeper than 128 levels"), "{message}");
    }

    #[test]
    fn parse_client_tells_bad_json_unknown_type_and_bad_command_apart() {
        assert_eq!(parse_client("{nope").unwrap_err().0, ErrorCode::BadJson);
        assert_eq!(parse_client("[1,2]").unwrap_err().0, ErrorCode::BadJson);
        assert_eq!(
            parse_client(r#"{"type":"dance"}"#).unwrap_err().0,
            ErrorCode::UnknownType
        );
        assert_eq!(
            parse_client(r#"{"type":"command","command":{"kind":"explode"}}"#)
                .unwrap_err()
                .0,
            ErrorCode::InvalidCommand
        );
        assert_eq!(
            parse_client(r#"{"type":"speed"}"#).unwrap_err().0,
            ErrorCode::BadRequest
        );
        assert!(matches!(
            parse_client(r#"{"type":"command","command":{"kind":"crash","consumer":"billing"}}"#),
            Ok(ClientMessage::Command { .. })
        ));
        assert!(matches!(
            parse_client(r#"{"type":"hint","index":1}"#),
            Ok(ClientMessage::Hint { index: 1 })
        ));
        assert!(matches!(
            parse_client(r#"{"type":"reset"}"#),
            Ok(ClientMessage::Reset {
                new_seed: false,
                choices: None
            })
        ));
    }

    #[test]
    fn every_server_message_carries_the_version() {
        let text = error(ErrorCode::RateLimited, "slow down");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["v"], 1);
        assert_eq!(json["type"], "error");
        assert_eq!(json["code"], "rate_limited");
    }
}
