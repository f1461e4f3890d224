//! Sign-in with the GitLab instance: OAuth 2.0 authorization code flow with PKCE (`S256`)
//! and a single-use random `state`, scope `read_user`; then the member's access level in
//! each watched project, read with the bot's token. Sessions are encrypted cookies.

use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use base64::Engine as _;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::{pages, Review};

pub(super) const SESSION_COOKIE: &str = "sectriage_session";
const STATE_COOKIE: &str = "sectriage_oauth";
/// Where the cookies are sent over plain http (over https `__Host-` needs `/`).
const SESSION_PATH: &str = "/review";
const STATE_PATH: &str = "/review/oauth";

/// A cookie's name and path: `__Host-` and `/` over https, bare and `path` otherwise.
fn cookie_spec(secure: bool, base: &str, path: &'static str) -> (String, &'static str) {
    if secure {
        (format!("__Host-{base}"), "/")
    } else {
        (base.to_string(), path)
    }
}

/// The sign-in's own state cookie: named after the start of its `state`
/// (URL-safe base64, so a valid cookie name), so concurrent sign-ins in one
/// browser do not overwrite each other.
fn state_cookie(state: &str) -> String {
    let tag: String = state
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(16)
        .collect();
    format!("{STATE_COOKIE}_{tag}")
}
/// How long a started sign-in may take (GitLab's codes live ten minutes too).
const SIGN_IN_TTL: Duration = Duration::from_secs(600);
/// At most this many sign-ins in flight; the oldest are dropped first.
const MAX_PENDING: usize = 10_000;

struct Memberships {
    projects: Vec<u64>,
    best_level: Option<u32>,
    allowed: bool,
}

/// A started sign-in, keyed by its `state`.
pub(super) struct Pending {
    verifier: String,
    return_to: String,
    started: Instant,
}

/// A signed-in member, as the session cookie holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Session {
    /// Random; a signed-out session's id is refused until it would have expired.
    pub id: String,
    pub user_id: u64,
    pub username: String,
    /// Watched projects where the member may decide: not kept in the cookie, read again with
    /// the bot's token on every request (a member removed from a project loses it at once).
    #[serde(skip, default)]
    pub projects: Vec<u64>,
    /// Carried by every form; a POST without it is refused.
    pub csrf: String,
    /// Unix seconds.
    pub expires: i64,
}

fn unix_now() -> i64 {
    crate::queue::now_ms() / 1000
}

/// The client address, when the server recorded it (rate limiting only).
pub(super) struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientIp(super::client_ip(info)))
    }
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// oauth2's client with the authorize and token endpoints set.
type OAuthClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

impl Review {
    fn oauth_client(&self) -> Result<OAuthClient, String> {
        let c = self.config();
        let root = c.gitlab_url.as_str().trim_end_matches('/');
        Ok(BasicClient::new(ClientId::new(c.client_id.clone()))
            .set_client_secret(ClientSecret::new(c.client_secret.clone()))
            .set_auth_uri(
                AuthUrl::new(format!("{root}/oauth/authorize")).map_err(|e| e.to_string())?,
            )
            .set_token_uri(TokenUrl::new(format!("{root}/oauth/token")).map_err(|e| e.to_string())?)
            .set_redirect_uri(RedirectUrl::new(c.redirect_uri()).map_err(|e| e.to_string())?))
    }

    /// A cookie's name and path. Over https the name carries the `__Host-`
    /// prefix, which browsers accept only from a secure origin with `Path=/`
    /// and no `Domain`: no other host or plain-http page can plant or
    /// overwrite it. Over plain http (loopback tests, the demo) the name is
    /// bare and the path narrow.
    fn cookie_spec(&self, base: &str, path: &'static str) -> (String, &'static str) {
        cookie_spec(self.config().secure(), base, path)
    }

    fn cookie(
        &self,
        base: &str,
        value: String,
        path: &'static str,
        max_age: Duration,
    ) -> Cookie<'static> {
        let (name, path) = self.cookie_spec(base, path);
        Cookie::build((name, value))
            .path(path)
            .http_only(true)
            .secure(self.config().secure())
            .same_site(SameSite::Lax)
            .max_age(time::Duration::seconds(max_age.as_secs() as i64))
            .build()
    }

    /// The signed-in member, if the cookie holds a session that has not expired.
    fn cookie_session(&self, jar: &PrivateCookieJar) -> Option<Session> {
        let cookie = jar.get(&self.cookie_spec(SESSION_COOKIE, SESSION_PATH).0)?;
        let session: Session = serde_json::from_str(cookie.value()).ok()?;
        let revoked = self
            .inner
            .revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&session.id);
        (session.expires > unix_now() && !revoked).then_some(session)
    }

    /// The signed-in member with the projects GitLab lets them review *now*: `Ok(None)` when
    /// there is no valid session, `Err` with the page to show when access was lost or
    /// GitLab cannot say.
    pub(super) async fn session(
        &self,
        jar: &PrivateCookieJar,
    ) -> Result<Option<Session>, Box<Response>> {
        let Some(mut session) = self.cookie_session(jar) else {
            return Ok(None);
        };
        match self.memberships(session.user_id, &session.username).await {
            Ok(m) if !m.projects.is_empty() => {
                session.projects = m.projects;
                Ok(Some(session))
            }
            Ok(m) => Err(Box::new(pages::forbidden_member(
                &session.username,
                m.best_level,
                self.daemon().config.confirm.min_access_level,
                m.allowed,
            ))),
            Err(()) => Err(Box::new(pages::server_error(
                "GitLab did not answer the membership lookup; try again in a moment",
            ))),
        }
    }

    /// Where the member may review, read with the bot's token.
    async fn memberships(&self, user_id: u64, username: &str) -> Result<Memberships, ()> {
        let daemon = self.daemon();
        let policy = &daemon.config.confirm;
        let allowed = policy.allowed_users.is_empty()
            || policy
                .allowed_users
                .iter()
                .any(|u| u.eq_ignore_ascii_case(username));
        let mut m = Memberships {
            projects: Vec::new(),
            best_level: None,
            allowed,
        };
        if !allowed {
            return Ok(m);
        }
        for &p in &daemon.config.projects {
            match daemon.gitlab.member_access_level(p, user_id).await {
                Ok(level) => {
                    m.best_level = m.best_level.max(level);
                    if level.is_some_and(|l| l >= policy.min_access_level) {
                        m.projects.push(p);
                    }
                }
                Err(e) => {
                    tracing::warn!(project_id = p, error = %e, "review: membership lookup failed");
                    return Err(());
                }
            }
        }
        Ok(m)
    }

    /// Starts a sign-in: a redirect to GitLab's authorize endpoint with a fresh `state` and
    /// PKCE challenge, remembered here and in a short-lived cookie of this browser.
    pub(super) fn start_sign_in(
        &self,
        jar: PrivateCookieJar,
        return_to: &str,
        ip: std::net::IpAddr,
    ) -> Response {
        if !self.allow_sign_in(ip) {
            return pages::too_many_sign_ins();
        }
        let client = match self.oauth_client() {
            Ok(c) => c,
            Err(e) => {
                return pages::server_error(&format!(
                    "the review sign-in is misconfigured ({e}); check [review] and gitlab.url"
                ))
            }
        };
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("read_user".into()))
            .set_pkce_challenge(challenge)
            .url();
        {
            let mut pending = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.retain(|_, p| p.started.elapsed() < SIGN_IN_TTL);
            if pending.len() >= MAX_PENDING {
                if let Some(oldest) = pending
                    .iter()
                    .min_by_key(|(_, p)| p.started)
                    .map(|(k, _)| k.clone())
                {
                    pending.remove(&oldest);
                }
            }
            pending.insert(
                state.secret().clone(),
                Pending {
                    verifier: verifier.secret().clone(),
                    return_to: safe_return(return_to),
                    started: Instant::now(),
                },
            );
        }
        let jar = jar.add(self.cookie(
            &state_cookie(state.secret()),
            state.secret().clone(),
            STATE_PATH,
            SIGN_IN_TTL,
        ));
        (jar, Redirect::to(url.as_str())).into_response()
    }

    async fn gitlab_user(&self, access_token: &str) -> Result<(u64, String), String> {
        #[derive(Deserialize)]
        struct User {
            id: u64,
            username: String,
        }
        let url = format!(
            "{}/api/v4/user",
            self.config().gitlab_url.as_str().trim_end_matches('/')
        );
        let resp = self
            .inner
            .http
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| format!("GitLab could not be reached ({})", e.without_url()))?;
        if !resp.status().is_success() {
            return Err(format!(
                "GitLab answered {} to the user lookup",
                resp.status()
            ));
        }
        let user: User = resp.json().await.map_err(|e| {
            format!(
                "GitLab's user answer was not understood ({})",
                e.without_url()
            )
        })?;
        Ok((user.id, user.username))
    }
}

/// Only paths under `/review` may be returned to after sign-in (no open redirect).
fn safe_return(path: &str) -> String {
    let ok = path.starts_with("/review")
        && !path.contains("//")
        && !path.contains('\\')
        && path.chars().all(|c| c.is_ascii_graphic());
    if ok {
        path.to_string()
    } else {
        "/review".into()
    }
}

/// oauth2's HTTP hook, over this crate's reqwest.
async fn send(
    http: reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let mut builder = http.request(parts.method, parts.uri.to_string());
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let resp = builder.body(body).send().await?;
    let mut out = http::Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        out = out.header(name, value);
    }
    let bytes = resp.bytes().await?;
    Ok(out
        .body(bytes.to_vec())
        .unwrap_or_else(|_| http::Response::new(Vec::new())))
}

#[derive(Deserialize)]
pub(super) struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// GitLab sends the browser back here with a code and the `state`.
pub(super) async fn callback(
    State(review): State<Review>,
    ClientIp(ip): ClientIp,
    jar: PrivateCookieJar,
    Query(params): Query<CallbackParams>,
) -> Response {
    if !review.allow_sign_in(ip) {
        return pages::too_many_sign_ins();
    }
    // One cookie per sign-in, named after its state: two tabs signing in at
    // once each keep their own.
    let (state_name, state_path) = review.cookie_spec(
        &state_cookie(params.state.as_deref().unwrap_or_default()),
        STATE_PATH,
    );
    let cookie_state = jar.get(&state_name).map(|c| c.value().to_string());
    let jar = jar.remove(Cookie::build(state_name).path(state_path).build());
    if params.error.is_some() {
        return (
            jar,
            pages::refused_sign_in(
                "GitLab did not authorise the sign-in (it was denied or cancelled).",
            ),
        )
            .into_response();
    }
    let (Some(code), Some(state)) = (params.code, params.state) else {
        return (
            jar,
            pages::bad_sign_in(
                "The sign-in answer lacks its code or state. Start again from the review page.",
            ),
        )
            .into_response();
    };
    // The state must be this browser's and still unused: a forged, replayed or foreign
    // callback is refused before any code is exchanged.
    let same_browser = cookie_state
        .as_deref()
        .is_some_and(|c| bool::from(c.as_bytes().ct_eq(state.as_bytes())));
    // Only this browser's callback consumes the state: a foreign one cannot cancel it.
    let pending = if same_browser {
        let mut map = review
            .inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.remove(&state)
    } else {
        None
    };
    let pending = match pending {
        Some(p) if same_browser && p.started.elapsed() < SIGN_IN_TTL => p,
        _ => {
            tracing::warn!("review sign-in refused: unknown, used, expired or foreign OAuth state");
            return (jar, pages::bad_sign_in("This sign-in could not be verified: its state is unknown, already used, expired or from another browser. Start again from the review page.")).into_response();
        }
    };
    let client = match review.oauth_client() {
        Ok(c) => c,
        Err(e) => {
            return pages::server_error(&format!("the review sign-in is misconfigured ({e})"))
        }
    };
    let http = review.inner.http.clone();
    let hook = move |req: oauth2::HttpRequest| send(http.clone(), req);
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&hook)
        .await;
    let access = match token {
        Ok(t) => t.access_token().secret().clone(),
        Err(e) => {
            let why = match &e {
                oauth2::RequestTokenError::ServerResponse(r) => r.error().to_string(),
                oauth2::RequestTokenError::Request(_) => "GitLab could not be reached".into(),
                _ => "an answer that was not understood".into(),
            };
            tracing::warn!(reason = %why, "review sign-in refused: GitLab did not exchange the code");
            return (
                jar,
                pages::bad_sign_in(&format!(
                    "GitLab refused the sign-in code ({why}). Start again from the review page."
                )),
            )
                .into_response();
        }
    };
    let user = review.gitlab_user(&access).await;
    // The member's token is not kept: from here on the bot's token reads memberships.
    drop(access);
    let (user_id, username) = match user {
        Ok(u) => u,
        Err(why) => {
            return (
                jar,
                pages::bad_sign_in(&format!("{why}. Try again in a moment.")),
            )
                .into_response()
        }
    };
    let m = match review.memberships(user_id, &username).await {
        Ok(m) => m,
        Err(()) => {
            return pages::server_error(
                "GitLab did not answer the membership lookup; try again in a moment",
            )
        }
    };
    if m.projects.is_empty() {
        tracing::info!(user_id, access_level = ?m.best_level, "review sign-in refused: not a member at the required level");
        let min = review.daemon().config.confirm.min_access_level;
        return (
            jar,
            pages::forbidden_member(&username, m.best_level, min, m.allowed),
        )
            .into_response();
    }
    let projects = m.projects;
    let session = Session {
        id: random_token(),
        user_id,
        username,
        projects,
        csrf: random_token(),
        expires: unix_now() + review.config().session.as_secs() as i64,
    };
    tracing::info!(user_id, projects = ?session.projects, "review sign-in");
    let value = serde_json::to_string(&session).unwrap_or_default();
    let jar = jar.add(review.cookie(SESSION_COOKIE, value, SESSION_PATH, review.config().session));
    (jar, Redirect::to(&pending.return_to)).into_response()
}

/// A POST's CSRF token and origin: both must be this site's and this session's.
pub(super) fn post_allowed(
    review: &Review,
    session: &Session,
    headers: &HeaderMap,
    token: Option<&str>,
) -> bool {
    // Browsers send `Origin: null` under `Referrer-Policy: no-referrer`; then the token
    // (and the SameSite cookie) carry the check alone.
    let origin_ok = match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None | Some("null") => true,
        Some(o) => o == review.config().origin(),
    };
    // Not touched by the referrer policy: browsers say where a request came from.
    let site_ok = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => matches!(site, "same-origin" | "none"),
    };
    let token_ok = token
        .is_some_and(|t| !t.is_empty() && bool::from(t.as_bytes().ct_eq(session.csrf.as_bytes())));
    origin_ok && site_ok && token_ok
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    csrf: Option<String>,
}

pub(super) async fn logout(
    State(review): State<Review>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let Some(session) = review.cookie_session(&jar) else {
        return pages::signed_out();
    };
    if !post_allowed(&review, &session, &headers, form.csrf.as_deref()) {
        return pages::csrf_refused();
    }
    {
        let mut revoked = review
            .inner
            .revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = unix_now();
        revoked.retain(|_, exp| *exp > now);
        revoked.insert(session.id.clone(), session.expires);
    }
    let (name, path) = review.cookie_spec(SESSION_COOKIE, SESSION_PATH);
    let jar = jar.remove(Cookie::build(name).path(path).build());
    tracing::info!(user_id = session.user_id, "review sign-out");
    (jar, pages::signed_out()).into_response()
}

/// The status of a refusal page.
pub(super) const REFUSED: StatusCode = StatusCode::FORBIDDEN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_carry_the_host_prefix_and_the_root_path() {
        assert_eq!(
            cookie_spec(true, SESSION_COOKIE, SESSION_PATH),
            ("__Host-sectriage_session".to_string(), "/")
        );
        assert_eq!(
            cookie_spec(false, SESSION_COOKIE, SESSION_PATH),
            ("sectriage_session".to_string(), "/review")
        );
    }

    #[test]
    fn each_sign_in_has_its_own_state_cookie() {
        let a = state_cookie("Qk3xv9_-aaaaaaaaaaaaaaaaZZ");
        let b = state_cookie("Rm2yw8_-bbbbbbbbbbbbbbbbZZ");
        assert_ne!(a, b);
        assert_eq!(a, "sectriage_oauth_Qk3xv9_-aaaaaaaa");
        // Whatever arrives as `state`, the name stays a valid cookie name.
        assert_eq!(state_cookie("a;b=c d\r\n"), "sectriage_oauth_abcd");
    }
}
