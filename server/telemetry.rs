//! Logging: one `tracing` subscriber, readable text or JSON lines, filtered by `RUST_LOG`.
//!
//! Building the subscriber and installing it are separate so a test can build one that writes to
//! `std::io::sink` (silent) or to a buffer it inspects, without touching the process-wide default.
use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use crate::config::LogFormat;

/// The level filter when `RUST_LOG` is not set: our own crate at info, request traces and libraries quiet.
pub const DEFAULT_FILTER: &str = "info,tower_http=warn";

/// A subscriber that writes `format` lines to `sink`, filtered by `RUST_LOG` or else `default_filter`.
/// `ansi` colours text lines; only worth it when the sink is a terminal.
pub fn subscriber<W>(
    format: LogFormat,
    default_filter: &str,
    ansi: bool,
    sink: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(sink),
            ),
        ),
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_ansi(false)
                    .with_writer(sink),
            ),
        ),
    }
}

/// Installs the process-wide subscriber writing to stderr (stdout stays free for command output).
///
/// Calling it twice keeps the first subscriber: the second call is a no-op, which is what tests that start
/// several servers in one process want.
pub fn init(format: LogFormat) {
    // An error only means a subscriber is already installed; keeping the first one is the intended policy.
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing::subscriber::set_global_default(subscriber(
        format,
        DEFAULT_FILTER,
        ansi,
        std::io::stderr,
    ));
}
