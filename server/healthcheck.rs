//! `eda-playground healthcheck`: ask a running server for `/healthz` and exit 0 on a 200, 1 otherwise.
//!
//! It speaks just enough HTTP/1.1 over a std `TcpStream` to read a status line, so the container image needs
//! no curl and no shell (Docker's `HEALTHCHECK` runs the binary itself).
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use crate::config::{BindArgs, ConfigError, connectable, parse_cap};

/// How long a check may take in all (connect, send, read the status line) unless `--timeout-secs` says so.
pub const DEFAULT_TIMEOUT_SECS: u64 = 3;

/// The most bytes read while looking for the status line; a longer first line counts as a bad answer.
pub const MAX_STATUS_LINE: usize = 1024;

/// Flags of `eda-playground healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// URL to check, e.g. http://127.0.0.1:8080/healthz [default: /healthz at the bind address, with 0.0.0.0
    /// replaced by 127.0.0.1].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    #[command(flatten)]
    pub bind: BindArgs,

    /// Seconds the whole check may take.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = parse_cap::<u64>)]
    pub timeout_secs: u64,
}

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0:?} is not a URL this check understands; use http://HOST[:PORT][/PATH]")]
    InvalidUrl(String),
    #[error("cannot resolve {host}: {source}")]
    Resolve { host: String, source: io::Error },
    #[error("cannot reach {addr}: {source}")]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("no answer from {addr}: {source}")]
    Exchange { addr: SocketAddr, source: io::Error },
    #[error("{addr} did not answer with HTTP")]
    NotHttp { addr: SocketAddr },
    #[error("{addr} answered with status {status}")]
    Status { addr: SocketAddr, status: u16 },
}

/// Where to send the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    /// The `Host` header: the name the user gave, or the address.
    pub host: String,
    pub path: String,
}

impl Target {
    /// `/healthz` on the address the server binds; an unspecified address (0.0.0.0, ::) becomes loopback.
    pub fn from_bind(bind: SocketAddr) -> Self {
        let addr = connectable(bind);
        Self {
            addr,
            host: addr.to_string(),
            path: "/healthz".to_owned(),
        }
    }

    /// Parses `http://HOST[:PORT][/PATH]` (port 80 and path `/healthz` when left out) and resolves HOST.
    pub fn from_url(url: &str) -> Result<Self, HealthcheckError> {
        let invalid = || HealthcheckError::InvalidUrl(url.to_owned());
        let rest = url.strip_prefix("http://").ok_or_else(invalid)?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/healthz"),
        };
        let (host, port) = split_host_port(authority).ok_or_else(invalid)?;
        if host.is_empty() || path.contains(char::is_whitespace) {
            return Err(invalid());
        }
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|source| HealthcheckError::Resolve {
                host: host.to_owned(),
                source,
            })?
            .next()
            .ok_or_else(|| HealthcheckError::Resolve {
                host: host.to_owned(),
                source: io::Error::new(io::ErrorKind::NotFound, "no address"),
            })?;
        Ok(Self {
            addr: connectable(addr),
            host: authority.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// Splits `host:port`, `[v6]:port`, `host` or `[v6]` (port 80 when absent); brackets are removed.
fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        return match after {
            "" => Some((host, 80)),
            _ => Some((host, after.strip_prefix(':')?.parse().ok()?)),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, port.parse().ok()?)),
        None => Some((authority, 80)),
    }
}

/// Sends `GET target.path` and succeeds when the status is 200, all within `timeout`.
pub fn probe(target: &Target, timeout: Duration) -> Result<(), HealthcheckError> {
    let addr = target.addr;
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|source| HealthcheckError::Connect { addr, source })?;
    let exchange = |source| HealthcheckError::Exchange { addr, source };

    stream
        .set_write_timeout(Some(remaining(deadline).map_err(exchange)?))
        .map_err(exchange)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: eda-playground-healthcheck\r\nConnection: close\r\n\r\n",
        target.path, target.host
    );
    stream.write_all(request.as_bytes()).map_err(exchange)?;

    let mut head = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        if head.len() >= MAX_STATUS_LINE {
            return Err(HealthcheckError::NotHttp { addr });
        }
        stream
            .set_read_timeout(Some(remaining(deadline).map_err(exchange)?))
            .map_err(exchange)?;
        let n = stream.read(&mut buf).map_err(exchange)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    match parse_status(&head) {
        Some(200) => Ok(()),
        Some(status) => Err(HealthcheckError::Status { addr, status }),
        None => Err(HealthcheckError::NotHttp { addr }),
    }
}

/// Time left before `deadline`, or a timeout error when none is (a zero timeout would mean "block").
fn remaining(deadline: Instant) -> Result<Duration, io::Error> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left),
        _ => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the check took too long",
        )),
    }
}

/// The status code of an HTTP/1.x status line such as `HTTP/1.1 200 OK`.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

/// `eda-playground healthcheck`: exit 0 when the server answers 200, 1 otherwise (one line either way).
pub fn run(args: HealthcheckArgs) -> ExitCode {
    let target = match &args.url {
        Some(url) => Target::from_url(url),
        None => args
            .bind
            .resolve(|name| std::env::var(name).ok())
            .map(Target::from_bind)
            .map_err(Into::into),
    };
    let outcome = target
        .and_then(|target| probe(&target, Duration::from_secs(args.timeout_secs)).map(|()| target));
    match outcome {
        Ok(target) => {
            println!("healthy: http://{}{}", target.host, target.path);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("unhealthy: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(parse_status(b"HTTP/1.1 200\r\n"), Some(200));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 20 OK\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn unspecified_bind_is_reached_through_loopback() {
        let target = Target::from_bind("0.0.0.0:8080".parse().unwrap());
        assert_eq!(target.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(target.path, "/healthz");
        assert_eq!(
            connectable("[::]:9000".parse().unwrap()).to_string(),
            "[::1]:9000"
        );
    }

    #[test]
    fn urls() {
        let target = Target::from_url("http://127.0.0.1:9000/healthz").unwrap();
        assert_eq!(target.addr.to_string(), "127.0.0.1:9000");
        assert_eq!(target.host, "127.0.0.1:9000");
        let target = Target::from_url("http://[::1]:8081").unwrap();
        assert_eq!(target.addr.to_string(), "[::1]:8081");
        assert_eq!(target.path, "/healthz");
        assert_eq!(split_host_port("localhost"), Some(("localhost", 80)));
        for bad in [
            "https://x/healthz",
            "127.0.0.1:8080",
            "http://:80/",
            "http://h:port/",
            "http://h/a b",
        ] {
            assert!(
                matches!(Target::from_url(bad), Err(HealthcheckError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }
}
