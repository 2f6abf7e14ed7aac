//! EDA Playground: a self-hosted browser playground for event-driven architecture workshops.
//!
//! # Layout
//!
//! - [`cli`]: the command line; one subcommand per way of using the playground.
//! - [`config`]: typed settings from flags and `EDA_*` environment variables, with the caps.
//! - [`telemetry`]: the `tracing` subscriber (text or JSON lines), silenceable in tests.
//! - [`serve`]: bind, accept with TCP_NODELAY, serve until a graceful shutdown.
//! - [`healthcheck`]: the `healthcheck` subcommand, a tiny HTTP/1.1 client for `/healthz`.
//! - [`web`]: the axum router built in one place (`web::app`): pages, static files, health, the JSON
//!   API (`web::api`), metrics and traces for outside tools (`web::observe`), the sandbox WebSocket
//!   (`web::ws`), security headers, errors, shutdown.
//! - [`engine`]: the pure, deterministic broker simulation, driven by passed-in virtual time.
//! - [`headless`]: `run`, `prove`, `export`, `asyncapi`, `trace` and `bench`: the engine and exercises
//!   without a browser.
//! - [`exercise`]: exercise files, their knobs and goals, the learner's Design and the one path from a
//!   Design to a world, chaos profiles and proofs, the run's bill, the watched catalog, `check` and `schema`; what real
//!   brokers call each setting (`exercise::brokers`) and a Design as their configuration (`exercise::export`).
//! - [`sandbox`]: live runs of an exercise: one task per sandbox owns the world and its clock, and
//!   broadcasts frames to its WebSocket clients (`web::ws`, protocol in `docs/PROTOCOL.md`); the
//!   server-wide pool that proves Designs off those tasks.
//! - [`session`]: workshop sessions: join codes, tokens, rooms with their roster and learner sandboxes,
//!   the facilitator's live dashboard, the shared stage, and the SQLite store that survives restarts.
//! - [`shutdown`]: the OS signals that stop the server, and the flag every long-lived task watches.
//! - [`loadtest`]: the `loadtest` subcommand: many WebSocket clients on one busy sandbox, measured.
//! - [`loadtest_session`]: `loadtest --learners N`: a workshop session of N learners and a dashboard.
pub mod cli;
pub mod config;
pub mod engine;
pub mod exercise;
pub mod headless;
pub mod healthcheck;
pub mod loadtest;
pub mod loadtest_session;
pub mod sandbox;
pub mod serve;
pub mod session;
pub mod shutdown;
pub mod telemetry;
pub mod web;
