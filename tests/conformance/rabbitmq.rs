//! A RabbitMQ node of its own: started from the Debian package's scripts with every path in a
//! temporary directory, the management plugin on (for definitions import), reached with lapin.
use std::process::Command;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lapin::{Channel, Connection, ConnectionProperties};

use crate::process::{BrokerProcess, READY_TIMEOUT, TempDir, eventually, free_port};

/// The server script the Debian package installs; `/usr/sbin/rabbitmq-server` would switch to the
/// `rabbitmq` user and the system's directories.
const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// Erlang's port mapper, which a node needs to be reachable by name.
const EPMD: &str = "epmd";

/// How long a delivery may stay unacknowledged before the node closes the channel
/// (consumer_timeout); short, so that the ack-deadline scenario can watch it happen.
pub(crate) const CONSUMER_TIMEOUT_MS: u64 = 1_000;

/// The largest message the node accepts (max_message_size), small enough for the size-limit
/// scenario to pass it with a few kilobytes and far above what the other scenarios publish.
pub(crate) const MAX_MESSAGE_SIZE: u32 = 65_536;

/// How often each channel checks its deliveries against consumer_timeout. The node's default
/// is a minute; RabbitMQ's own consumer-timeout tests shorten it the same way.
const CHANNEL_TICK_INTERVAL_MS: u64 = 200;

/// `guest:guest`, which a fresh node accepts from loopback.
const BASIC_AUTH: &str = "Basic Z3Vlc3Q6Z3Vlc3Q=";

pub(crate) struct RabbitMq {
    pub(crate) amqp_port: u16,
    pub(crate) http_port: u16,
    http: Client<HttpConnector, Full<Bytes>>,
    // Dropped in this order: the node, its port mapper, then its directory.
    _process: BrokerProcess,
    _epmd: BrokerProcess,
    _dir: TempDir,
}

impl RabbitMq {
    /// Starts a node and waits until both AMQP and the management API answer. `Err` only when the
    /// server cannot be started at all (not installed); a node that starts and fails panics.
    pub(crate) async fn start() -> Result<Self, String> {
        if !std::path::Path::new(SERVER).exists() {
            return Err(format!(
                "{SERVER} is not installed (Debian package rabbitmq-server)"
            ));
        }
        let dir = TempDir::new("rabbitmq");
        let (amqp_port, http_port, dist_port) = (free_port(), free_port(), free_port());
        let base = dir.path();
        std::fs::write(base.join("enabled_plugins"), "[rabbitmq_management].\n")
            .map_err(|e| e.to_string())?;
        std::fs::write(
            base.join("rabbitmq.conf"),
            format!(
                "listeners.tcp.default = 127.0.0.1:{amqp_port}\n\
                 management.tcp.ip = 127.0.0.1\n\
                 management.tcp.port = {http_port}\n\
                 consumer_timeout = {CONSUMER_TIMEOUT_MS}\n\
                 max_message_size = {MAX_MESSAGE_SIZE}\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(
            base.join("advanced.config"),
            format!("[{{rabbit, [{{channel_tick_interval, {CHANNEL_TICK_INTERVAL_MS}}}]}}].\n"),
        )
        .map_err(|e| e.to_string())?;
        // An epmd of its own on a free port, in this test's process group: otherwise the node starts
        // a system-wide epmd daemon that outlives the test.
        let epmd_port = free_port();
        let mut epmd = Command::new(EPMD);
        epmd.args(["-port", &epmd_port.to_string()]);
        let epmd = BrokerProcess::spawn(epmd, base.join("epmd.log"))?;
        eventually("epmd to listen", READY_TIMEOUT, || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", epmd_port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        let mut command = Command::new(SERVER);
        command
            .env("HOME", base)
            .env("ERL_EPMD_PORT", epmd_port.to_string())
            .env(
                "RABBITMQ_NODENAME",
                format!("eda-conformance-{amqp_port}@localhost"),
            )
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", amqp_port.to_string())
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", base.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", base.join("log"))
            .env("RABBITMQ_PLUGINS_EXPAND_DIR", base.join("plugins-expand"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                base.join("enabled_plugins"),
            )
            .env("RABBITMQ_CONFIG_FILE", base.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                base.join("advanced.config"),
            );
        let mut process = BrokerProcess::spawn(command, base.join("server.log"))?;
        let http = Client::builder(TokioExecutor::new()).build_http();
        let probe = format!("http://127.0.0.1:{http_port}/api/overview");
        eventually("RabbitMQ to accept connections", READY_TIMEOUT, || {
            assert!(
                !process.exited(),
                "RabbitMQ exited while starting:\n{}",
                process.log_tail()
            );
            let http = http.clone();
            let probe = probe.clone();
            async move {
                let amqp = Connection::connect(&url(amqp_port), properties())
                    .await
                    .ok()?;
                let _ = amqp.close(200, "ready").await;
                let status = get(&http, &probe).await.ok()?.0;
                (status == 200).then_some(())
            }
        })
        .await;
        Ok(Self {
            amqp_port,
            http_port,
            http,
            _process: process,
            _epmd: epmd,
            _dir: dir,
        })
    }

    pub(crate) async fn connect(&self) -> Connection {
        Connection::connect(&url(self.amqp_port), properties())
            .await
            .expect("an AMQP connection to the test node")
    }

    pub(crate) async fn channel(&self) -> (Connection, Channel) {
        let connection = self.connect().await;
        let channel = connection.create_channel().await.expect("a channel");
        (connection, channel)
    }

    /// `GET` on the management API: status and JSON body.
    pub(crate) async fn api_get(&self, path: &str) -> (u16, serde_json::Value) {
        let uri = format!("http://127.0.0.1:{}{path}", self.http_port);
        let (status, body) = get(&self.http, &uri)
            .await
            .expect("the management API answers");
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    /// `POST` JSON on the management API: the status and body.
    pub(crate) async fn api_post(&self, path: &str, body: &serde_json::Value) -> (u16, String) {
        self.api_send(hyper::Method::POST, path, body).await
    }

    /// `DELETE` on the management API: the status and body.
    pub(crate) async fn api_delete(&self, path: &str) -> (u16, String) {
        self.api_send(hyper::Method::DELETE, path, &serde_json::Value::Null)
            .await
    }

    async fn api_send(
        &self,
        method: hyper::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, String) {
        let uri = format!("http://127.0.0.1:{}{path}", self.http_port);
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let request = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", BASIC_AUTH)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a request");
        let response = self
            .http
            .request(request)
            .await
            .expect("the management API answers");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn url(port: u16) -> String {
    format!("amqp://guest:guest@127.0.0.1:{port}/%2f")
}

fn properties() -> ConnectionProperties {
    ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current())
}

async fn get(http: &Client<HttpConnector, Full<Bytes>>, uri: &str) -> Result<(u16, Bytes), String> {
    let request = hyper::Request::get(uri)
        .header("authorization", BASIC_AUTH)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let response = http.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}
