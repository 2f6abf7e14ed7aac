//! Graceful shutdown: the OS signals that end the server, and a handle that tells every task to stop.
//!
//! [`shutdown_signal`] resolves on Ctrl-C or SIGTERM (what `docker stop` sends). The server turns that into
//! [`Shutdown::trigger`]; long-lived tasks such as WebSocket connections hold a clone of [`Shutdown`] and
//! end when [`Shutdown::triggered`] resolves, so the server does not wait on them forever.
use tokio::sync::watch;

/// A cloneable "stop now" flag. Cloning is cheap; all clones see the same flag.
#[derive(Debug, Clone)]
pub struct Shutdown {
    // watch and not broadcast: a task that subscribes after the trigger must still see it.
    flag: watch::Sender<bool>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self {
            flag: watch::Sender::new(false),
        }
    }

    /// Asks every holder to stop. Triggering twice is harmless.
    pub fn trigger(&self) {
        self.flag.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.flag.borrow()
    }

    /// Resolves once [`Shutdown::trigger`] has been called (at once if it already was).
    pub async fn triggered(&self) {
        let mut receiver = self.flag.subscribe();
        // `wait_for` fails only when every sender is gone, and `self` holds one, so it cannot fail here.
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

/// Resolves when the process is asked to stop: Ctrl-C anywhere, SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            // Without a Ctrl-C handler the server can still be stopped by SIGTERM; never resolve this arm.
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };

    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn triggered_resolves_for_clones_made_before_and_after_the_trigger() {
        let shutdown = Shutdown::new();
        let before = shutdown.clone();
        assert!(!before.is_triggered());
        shutdown.trigger();
        before.triggered().await;
        shutdown.clone().triggered().await;
        assert!(shutdown.is_triggered());
    }
}
