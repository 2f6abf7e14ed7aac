//! Running the server: prepare directories, bind, accept with TCP_NODELAY, serve until shutdown.
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tower::ServiceExt;

use crate::config::{Config, ConfigError, ServeArgs, connectable};
use crate::exercise::Catalog;
use crate::session::Sessions;
use crate::shutdown::shutdown_signal;
use crate::telemetry;
use crate::web::{AppState, app, facilitator_key};

/// How long open connections may take to finish after a shutdown signal. After it the server returns
/// anyway, so a stuck client cannot keep `docker stop` waiting until Docker's own kill (10 s by default).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir { path: PathBuf, source: io::Error },
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error(transparent)]
    Sessions(#[from] crate::session::StoreError),
    #[error("server stopped with an error: {0}")]
    Serve(io::Error),
}

/// `eda-playground serve`: resolve the configuration, start logging and run until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> ExitCode {
    telemetry::init(args.log_format);
    let outcome = Config::from_args_and_env(args)
        .map_err(ServeError::from)
        .and_then(|config| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(ServeError::Runtime)?
                .block_on(start(config))
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the playground server stopped");
            ExitCode::FAILURE
        }
    }
}

/// Prepares the directories, binds `config.bind` and serves until the process is asked to stop.
pub async fn start(config: Config) -> Result<(), ServeError> {
    prepare_data_dir(&config.data_dir).await?;
    log_exercises_dir(config.exercises_dir.as_deref()).await;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.bind,
            source,
        })?;

    let catalog = Catalog::load(config.exercises_dir.as_deref());
    // Edited exercise files are reloaded while the server runs; the handle stops the watcher when the
    // server returns. Without it the server still works, with the exercises as they were at start.
    let _watch = config
        .exercises_dir
        .as_deref()
        .filter(|dir| dir.is_dir())
        .and_then(|dir| match catalog.watch(dir) {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(path = %dir.display(), %error, "cannot watch the exercises directory; edits need a restart");
                None
            }
        });
    let data_dir = config.data_dir.clone();
    let limits = config.limits;
    let sessions_catalog = catalog.clone();
    // Reading the stored sessions is blocking file I/O: off the runtime's worker threads.
    let sessions = tokio::task::spawn_blocking(move || {
        Sessions::open(Some(&data_dir), sessions_catalog, limits)
    })
    .await
    .map_err(|error| ServeError::Serve(io::Error::other(error)))??;
    let key = facilitator_key::resolve(&config);
    let bind = config.bind;
    let mut state = AppState::with_sessions(config, catalog, sessions);
    match key {
        Some((key, text)) => {
            state.facilitator_key = Some(key);
            // Printed, not logged: a log line is read by more people than the terminal is.
            println!(
                "\n  Facilitator link (starts and runs workshop sessions; keep it to yourself):\n  \
                 http://{}/facilitator?key={text}\n",
                connectable(bind)
            );
        }
        None => tracing::info!(
            "no facilitator key needed: the server is bound to a loopback address and no key is set"
        ),
    }
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown.trigger();
    });
    serve(listener, state).await.map_err(ServeError::Serve)
}

/// A client must send its whole request head within this. A connection that trickles its headers
/// (slowloris) is closed instead of holding a socket and a task for ever; a browser sends its head at once.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait before accepting again after the operating system refused a connection (out of file
/// descriptors, say): long enough not to spin, short enough not to be noticed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves the playground on an already-bound listener until `state.shutdown` is triggered.
///
/// Tests bind `127.0.0.1:0` themselves, so they know the port before the server runs and never wait for it.
/// The accept loop is hyper's own rather than `axum::serve`, which cannot bound the time a client takes
/// to send its request head.
pub async fn serve(listener: TcpListener, state: AppState) -> io::Result<()> {
    match listener.local_addr() {
        Ok(addr) => tracing::info!(%addr, "serving the playground on http://{}", connectable(addr)),
        Err(error) => tracing::warn!(%error, "serving the playground (address unknown)"),
    }
    let shutdown = state.shutdown.clone();
    // Saves sessions' progress every second and ends idle sessions; the last save is below.
    state.sessions.start(shutdown.clone());
    let sessions = state.sessions.clone();
    let router = app(state);
    // Every connection task holds a sender; when the last one is gone, every connection has closed.
    let (open_tx, mut all_closed) = mpsc::channel::<()>(1);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = shutdown.triggered() => break,
        };
        // Without TCP_NODELAY Nagle's algorithm delays small writes (measured: static files 25x slower)
        // and every WebSocket frame.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted connection");
        }
        // The peer address goes with each request: free-play quotas count sandboxes per address.
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(remote));
                    request
                });
        let open = open_tx.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let outcome = tokio::select! {
                outcome = connection.as_mut() => outcome,
                () = shutdown.triggered() => {
                    // Finish the request in progress, then close; an upgraded WebSocket has left hyper
                    // already and closes itself on the same signal.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = outcome {
                tracing::debug!(%error, "a connection ended with an error");
            }
            drop(open);
        });
    }
    drop(open_tx);
    let outcome = tokio::select! {
        _ = all_closed.recv() => {
            tracing::info!("the playground server has stopped");
            Ok(())
        }
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; stopping anyway");
            Ok(())
        }
    };
    // Every connection has closed, so no sandbox's clock runs: what is saved now is where each run was.
    if sessions.save_before_exit().await {
        tracing::info!("every session saved");
    } else {
        tracing::error!("the last save of the sessions did not reach the database");
    }
    outcome
}

async fn prepare_data_dir(path: &Path) -> Result<(), ServeError> {
    tokio::fs::create_dir_all(path)
        .await
        .map_err(|source| ServeError::DataDir {
            path: path.to_owned(),
            source,
        })?;
    tracing::info!(path = %path.display(), "data directory ready");
    Ok(())
}

/// The custom exercises directory is optional (the Docker image always names `/exercises`), so a missing or
/// empty one is only worth a log line.
async fn log_exercises_dir(path: Option<&Path>) {
    let Some(path) = path else {
        tracing::info!("no custom exercises directory; serving the bundled exercises");
        return;
    };
    match tokio::fs::read_dir(path).await {
        Ok(mut entries) => match entries.next_entry().await {
            Ok(Some(_)) => {
                tracing::info!(path = %path.display(), "custom exercises directory found")
            }
            Ok(None) => {
                tracing::info!(path = %path.display(), "custom exercises directory is empty")
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the custom exercises directory")
            }
        },
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            tracing::info!(path = %path.display(), "custom exercises directory does not exist; serving the bundled exercises")
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read the custom exercises directory")
        }
    }
}
