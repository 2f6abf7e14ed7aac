//! Starting a broker as a child process: a free loopback port, a private directory, readiness by
//! polling, and the whole process group ended when the test is done.
use std::future::Future;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a broker may take to accept connections. RabbitMQ with the management plugin needs
/// about 10 s on a busy two-core machine; past this the suite fails and shows the broker's log.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one condition inside a scenario may take to become true.
pub(crate) const CONDITION_TIMEOUT: Duration = Duration::from_secs(15);

/// Between two polls of a condition.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A port nobody listens on now: bind port 0 on loopback and give it back.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("loopback is available");
    listener.local_addr().expect("a bound address").port()
}

/// A directory of its own under the system's temporary directory, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(prefix: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "eda-conformance-{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("the temporary directory is writable");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A broker process in a process group of its own (RabbitMQ's start script does not `exec` the
/// Erlang VM, so ending the script alone would leave the VM running). Dropping it ends the group.
pub(crate) struct BrokerProcess {
    child: Child,
    pub(crate) log: PathBuf,
}

impl BrokerProcess {
    /// Starts `command` with its output in `log`; `Err` with a sentence when it cannot start at all.
    pub(crate) fn spawn(mut command: Command, log: PathBuf) -> Result<Self, String> {
        let out = std::fs::File::create(&log).map_err(|e| format!("cannot create the log: {e}"))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot create the log: {e}"))?;
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("{program} cannot be started: {e}"))?;
        Ok(Self { child, log })
    }

    /// Whether the process has already ended (a broker that exits at once did not start).
    pub(crate) fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The end of the broker's log, for a failure message.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().rev().take(30).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        // The group id is the child's pid (process_group(0)); `kill -KILL -PID` ends the group.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
