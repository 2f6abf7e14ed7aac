//! WebSocket upgrades per address: a token bucket per peer address, so one machine opening sockets in a
//! loop cannot use up the server's connection cap for the room.
//!
//! A rate, not a count of open sockets: a room behind one proxy shares one address, and 200 learners
//! reconnecting after a Wi-Fi blip must all get back in. Their pages retry with backoff, so a burst over
//! the bucket only spreads their return over a few seconds. Loopback peers are not limited: they are this
//! machine (the load tests, or a reverse proxy in front of the server, behind which every client looks
//! local; rate-limit in the proxy then).
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// Upgrades one address may start per second, on average. Policy past it: refused with 429 and a
/// sentence; the page's socket retries with backoff.
pub const UPGRADES_PER_SECOND: f64 = 20.0;
/// Upgrades one address may start at once before the rate applies: a classroom's worth of reloads.
pub const UPGRADE_BURST: f64 = 60.0;
/// Addresses remembered. Past it, the addresses whose bucket has refilled (idle ones) are forgotten
/// first; if none has, the new address is let through untracked rather than refused.
pub const MAX_TRACKED_ADDRESSES: usize = 4_096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every address seen lately.
#[derive(Debug, Default)]
pub struct UpgradeLimiter {
    // A std Mutex: held for one map operation, never across an `.await`.
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl UpgradeLimiter {
    /// Takes one upgrade from `address`'s bucket at `now`; false when it is empty.
    pub fn admit(&self, address: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(&address) && buckets.len() >= MAX_TRACKED_ADDRESSES {
            let refill = Duration::from_secs_f64(UPGRADE_BURST / UPGRADES_PER_SECOND);
            buckets.retain(|_, b| now.saturating_duration_since(b.at) < refill);
            if buckets.len() >= MAX_TRACKED_ADDRESSES {
                return true;
            }
        }
        let bucket = buckets.entry(address).or_insert(Bucket {
            tokens: UPGRADE_BURST,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * UPGRADES_PER_SECOND).min(UPGRADE_BURST);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Middleware on every `/ws/` route: an address over its rate gets 429 before any upgrade work.
pub async fn limit_upgrades(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/ws/")
        && let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && !peer.ip().is_loopback()
        && !state.upgrades.admit(peer.ip(), Instant::now())
    {
        // JSON for everyone; a browser navigating gets it as a page (`error_pages`).
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({
                "error": "Too many live connections were opened from your address just now. \
                          Wait a few seconds: the page reconnects by itself."
            })),
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_burst_then_its_rate_and_others_are_not_affected() {
        let limiter = UpgradeLimiter::default();
        let start = Instant::now();
        let one = IpAddr::from([10, 0, 0, 1]);
        let admitted = (0..100).filter(|_| limiter.admit(one, start)).count();
        assert_eq!(admitted, UPGRADE_BURST as usize);
        assert!(
            limiter.admit(IpAddr::from([10, 0, 0, 2]), start),
            "another address"
        );
        let later = start + Duration::from_millis(500);
        let refilled = (0..100).filter(|_| limiter.admit(one, later)).count();
        assert_eq!(refilled, (UPGRADES_PER_SECOND / 2.0) as usize);
    }
}
