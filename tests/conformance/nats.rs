//! A NATS server with JetStream of its own (`nats-server -js`), its store in a temporary
//! directory, reached with async-nats.
use std::process::Command;

use async_nats::jetstream::{self, stream};

use crate::process::{BrokerProcess, READY_TIMEOUT, TempDir, eventually, free_port};

const SERVER: &str = "nats-server";

/// The largest message the server accepts (max_payload), set small for the size-limit scenario
/// and far above what the other scenarios publish.
pub(crate) const MAX_PAYLOAD: u32 = 65_536;

pub(crate) struct Nats {
    pub(crate) client: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    _process: BrokerProcess,
    _dir: TempDir,
}

impl Nats {
    /// Starts a server and waits until a client connects. `Err` only when the binary cannot be
    /// started at all.
    pub(crate) async fn start() -> Result<Self, String> {
        let dir = TempDir::new("nats");
        let port = free_port();
        let mut command = Command::new(SERVER);
        // max_payload has no command-line flag: it goes in a configuration file.
        let config = dir.path().join("server.conf");
        std::fs::write(&config, format!("max_payload: {MAX_PAYLOAD}\n"))
            .map_err(|e| e.to_string())?;
        command.arg("-c").arg(&config);
        command.args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"]);
        command.arg(dir.path().join("store"));
        let mut process = BrokerProcess::spawn(command, dir.path().join("server.log"))?;
        let url = format!("nats://127.0.0.1:{port}");
        let client = eventually("NATS to accept connections", READY_TIMEOUT, || {
            assert!(
                !process.exited(),
                "nats-server exited while starting:\n{}",
                process.log_tail()
            );
            let url = url.clone();
            async move { async_nats::connect(url).await.ok() }
        })
        .await;
        let jetstream = jetstream::new(client.clone());
        Ok(Self {
            client,
            jetstream,
            _process: process,
            _dir: dir,
        })
    }

    pub(crate) async fn stream(&self, config: stream::Config) -> stream::Stream {
        let name = config.name.clone();
        self.jetstream
            .create_stream(config)
            .await
            .unwrap_or_else(|e| panic!("stream {name} created: {e}"))
    }

    pub(crate) async fn publish(&self, subject: &str, bodies: &[String]) {
        for body in bodies {
            self.jetstream
                .publish(subject.to_owned(), body.clone().into())
                .await
                .expect("a publish")
                .await
                .expect("a publish ack");
        }
    }
}
