//! Review: the maintainers' pages under `/review` (pending suggestions, one issue with its
//! evidence and decisions, decided issues, statistics), served by `sectriage serve`.
//!
//! # Invariants
//! - Every page but the OAuth callback needs a session, and a session exists only after a
//!   sign-in through the GitLab instance itself (authorization code flow, PKCE `S256`, a
//!   single-use random `state`) by a member at or above `confirm_min_access_level` in a
//!   watched project. The GitLab access token is dropped once the user is known.
//! - The session is an encrypted, HttpOnly, `SameSite=Lax` cookie (`Secure` on https) that
//!   expires; every POST carries the session's CSRF token.
//! - A button decides through [`crate::confirm::decide_from_review`]: the same
//!   authorisation (checked again with the bot's token), labels, publish rules and internal
//!   audit note as a reply.
//! - Report text reaches HTML only through maud's escaping, never a URL or a log line; every
//!   response carries `Cache-Control: no-store` and a strict CSP, and may not be framed.

mod auth;
mod data;
mod pages;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::Key;
use url::Url;

use crate::daemon::Daemon;

/// Where the OAuth application sends users back, under `public_url`.
pub const CALLBACK_PATH: &str = "/review/oauth/callback";

/// What `[review]` configures, resolved.
#[derive(Clone)]
pub struct ReviewConfig {
    /// Where maintainers reach the daemon (no trailing slash).
    pub public_url: Url,
    /// The GitLab instance root (OAuth endpoints and `/api/v4/user`).
    pub gitlab_url: Url,
    pub client_id: String,
    pub client_secret: String,
    pub session: Duration,
}

impl std::fmt::Debug for ReviewConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewConfig")
            .field("public_url", &self.public_url.as_str())
            .field("gitlab_url", &self.gitlab_url.as_str())
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl ReviewConfig {
    /// The redirect URI to register with the OAuth application.
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}{CALLBACK_PATH}",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    fn secure(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    fn origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

/// Sign-in attempts (starts and callbacks) allowed per client address (IPv6: per /64) per
/// minute. Behind a proxy every client shares the proxy's address, hence the headroom.
const SIGN_IN_PER_MINUTE: u32 = 60;
/// Addresses the limiter remembers at most; beyond that the oldest windows are dropped.
const LIMITER_CAPACITY: usize = 10_000;

#[derive(Clone)]
pub(crate) struct Review {
    inner: Arc<Inner>,
}

struct Inner {
    config: ReviewConfig,
    /// Encrypts session cookies; new at every start, so a restart signs everyone out.
    key: Key,
    daemon: Daemon,
    /// OAuth `state` → the PKCE verifier and where to go afterwards; single use.
    pending: Mutex<HashMap<String, auth::Pending>>,
    limiter: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Sessions signed out before they expired: id → expiry (unix seconds).
    revoked: Mutex<HashMap<String, i64>>,
    /// Keys the forms' action ids and the outcome tags; new at every start.
    secret: [u8; 32],
    /// For the token exchange and the user lookup: no default token, no redirects.
    http: reqwest::Client,
    /// What the Pending list last fetched from GitLab per issue (see `data::LIST_CACHE_TTL`).
    list_cache: data::ListCache,
}

impl Review {
    fn new(daemon: &Daemon, config: ReviewConfig) -> Review {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("sectriage/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Review {
            inner: Arc::new(Inner {
                config,
                key: Key::generate(),
                daemon: daemon.clone(),
                pending: Mutex::default(),
                limiter: Mutex::default(),
                revoked: Mutex::default(),
                secret: rand::random(),
                http,
                list_cache: data::ListCache::default(),
            }),
        }
    }

    /// A keyed digest of `parts` (HMAC-SHA256 under this process's secret).
    fn tag(&self, parts: &[&str]) -> [u8; 32] {
        use hmac::Mac as _;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&self.inner.secret)
            .expect("HMAC takes any key length");
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(&[0]);
        }
        mac.finalize().into_bytes().into()
    }

    fn config(&self) -> &ReviewConfig {
        &self.inner.config
    }

    fn daemon(&self) -> &Daemon {
        &self.inner.daemon
    }

    /// False when `ip` made too many sign-in attempts in the last minute.
    fn allow_sign_in(&self, ip: IpAddr) -> bool {
        let mut map = self.inner.limiter.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        if map.len() >= LIMITER_CAPACITY {
            if let Some(oldest) = map.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        let ip = match ip {
            IpAddr::V6(v6) => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::from(seg)
            }
            v4 => v4,
        };
        let slot = map.entry(ip).or_insert((now, 0));
        slot.1 += 1;
        slot.1 <= SIGN_IN_PER_MINUTE
    }
}

impl axum::extract::FromRef<Review> for Key {
    fn from_ref(review: &Review) -> Key {
        review.inner.key.clone()
    }
}

/// The client address of a request, when the server recorded it.
fn client_ip(request_ip: Option<&ConnectInfo<SocketAddr>>) -> IpAddr {
    request_ip.map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

/// The review routes, for [`crate::daemon::router`].
pub fn router(daemon: &Daemon, config: ReviewConfig) -> Router {
    let review = Review::new(daemon, config);
    Router::new()
        .route("/review", get(pages::pending))
        .route("/review/", get(pages::pending))
        .route("/review/decided", get(pages::decided))
        .route("/review/stats", get(pages::stats))
        .route("/review/issue/{project}/{iid}", get(pages::issue))
        .route("/review/issue/{project}/{iid}/decide", post(pages::decide))
        .route(CALLBACK_PATH, get(auth::callback))
        .route("/review/logout", post(auth::logout))
        .route("/review/static/style.css", get(pages::style))
        .fallback(pages::not_found)
        .layer(middleware::from_fn(security_headers))
        .with_state(review)
}

/// The headers every review response carries: confidential data are never cached, framed,
/// sent on as a referrer, or mixed with other origins' scripts and styles.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::PRAGMA, "no-cache");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    response
}
