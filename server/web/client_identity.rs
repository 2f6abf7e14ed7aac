//! Who a free-play request comes from: the browser's `eda_browser` cookie (issued on its first page) and
//! the connection's peer address, for the quotas of [`crate::sandbox::quota`].
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderValue;
use axum::http::request::Parts;

use crate::sandbox::quota::Requester;

use super::sessions::cookie;

/// The cookie that names a browser. It is not a secret: it only groups a browser's own sandboxes.
pub const BROWSER_COOKIE: &str = "eda_browser";
/// How long a browser keeps its name: a workshop day and then some.
const BROWSER_COOKIE_MAX_AGE_SECS: u64 = 7 * 24 * 60 * 60;

/// The requester as the request names itself: its cookie if it sent one, and its address.
#[derive(Debug, Clone)]
pub struct ClientIdentity(pub Requester);

impl ClientIdentity {
    /// For a page a browser opens: a browser without a cookie gets one now (the header to set), and the
    /// sandbox it is about to get is recorded under it, so that a reload finds it again.
    pub fn for_page(self) -> (Requester, Option<HeaderValue>) {
        let ClientIdentity(mut requester) = self;
        if requester.browser.is_some() {
            return (requester, None);
        }
        let fresh = uuid::Uuid::new_v4().simple().to_string();
        let header = HeaderValue::from_str(&format!(
            "{BROWSER_COOKIE}={fresh}; Path=/; HttpOnly; SameSite=Lax; Max-Age={BROWSER_COOKIE_MAX_AGE_SECS}"
        ))
        .ok();
        requester.browser = Some(fresh);
        (requester, header)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIdentity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Absent when the router is called without a socket (tests); the quotas then go by cookie alone.
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        // Only a name this server could have issued counts; anything else is treated as no cookie.
        let browser = cookie(&parts.headers, BROWSER_COOKIE)
            .filter(|value| value.len() == 32 && value.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_owned);
        Ok(Self(Requester { browser, address }))
    }
}
