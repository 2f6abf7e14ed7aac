// Each test binary that includes this module uses part of it.
#![allow(dead_code)]
//! A bare HTTP/1.1 client for tests that talk to a real server on loopback, as a browser or a script
//! would: one request per connection, the whole answer read, bounded by a timeout.
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `head` (the request line and any headers, without the final blank line) and `body`.
pub(crate) async fn request(addr: SocketAddr, head: &str, body: &str) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let text = format!(
            "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(text.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    };
    let answer = tokio::time::timeout(HTTP_TIMEOUT, exchange).await.unwrap();
    let (headers, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Reply {
        status: headers[9..12].parse().unwrap(),
        headers: headers.to_owned(),
        body: body.to_owned(),
    }
}

/// `POST path` with a JSON body and, when given, a bearer token.
pub(crate) async fn post_json(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> Reply {
    let auth = token.map_or(String::new(), |t| format!("\r\nAuthorization: Bearer {t}"));
    request(
        addr,
        &format!("POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json{auth}"),
        &body.to_string(),
    )
    .await
}
