//! The fake GitLab's OAuth 2.0 provider: the authorization code flow with PKCE as GitLab
//! runs it (`/oauth/authorize`, `/oauth/token`), so the review page's sign-in is tested for
//! real. The sign-in form asks only for a username: the fake's users have no passwords.
//!
//! What it checks, like GitLab: the client id and the exact redirect URI of a registered
//! application; the client secret (form fields or HTTP Basic); a code used once, within
//! ten minutes, by the client and redirect URI it was issued for; `S256` as the challenge
//! method and the verifier against the challenge. Tokens it issues have the `read_user`
//! scope: they read `/api/v4/user` and nothing else.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine as _;
use rand::Rng;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{lock, FakeGitLab, Shared, TokenRec};

/// How long an authorization code stays valid (GitLab: ten minutes).
const CODE_TTL: Duration = Duration::from_secs(600);

pub(super) struct OAuthApp {
    secret: String,
    redirect_uri: String,
}

pub(super) struct CodeRec {
    client_id: String,
    redirect_uri: String,
    user_id: u64,
    challenge: String,
    issued: Instant,
}

#[derive(Default)]
pub(super) struct OAuthState {
    apps: HashMap<String, OAuthApp>,
    codes: HashMap<String, CodeRec>,
    /// Codes the token endpoint refused, by reason (for tests).
    pub(super) refusals: Vec<String>,
    /// Every code issued, oldest first (for replay tests).
    issued: Vec<String>,
}

impl FakeGitLab {
    /// Registers an OAuth application (Admin or User settings > Applications on GitLab) with
    /// one redirect URI; returns its client id and secret.
    pub fn register_oauth_app(&self, redirect_uri: &str) -> (String, String) {
        let mut rng = rand::rng();
        let id = format!("{:032x}", rng.random::<u128>());
        let secret = format!("gloas-{:032x}", rng.random::<u128>());
        self.state().oauth.apps.insert(
            id.clone(),
            OAuthApp {
                secret: secret.clone(),
                redirect_uri: redirect_uri.to_string(),
            },
        );
        (id, secret)
    }

    /// Every authorization code issued so far, oldest first (used ones included).
    pub fn oauth_codes(&self) -> Vec<String> {
        self.state().oauth.issued.clone()
    }

    /// Why the token endpoint refused each refused exchange, oldest first.
    pub fn oauth_refusals(&self) -> Vec<String> {
        self.state().oauth.refusals.clone()
    }
}

pub(super) fn routes(shared: Shared) -> Router {
    Router::new()
        .route("/oauth/authorize", get(authorize_form).post(authorize))
        .route("/oauth/token", axum::routing::post(token))
        .with_state(shared)
}

#[derive(Deserialize, Clone)]
struct AuthorizeParams {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
}

fn page(status: StatusCode, body: String) -> Response {
    (status, Html(format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>Fake GitLab</title></head><body>{body}</body></html>"))).into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The request's problem, as GitLab's authorize page would show it, or `None`.
fn check_authorize(shared: &Shared, p: &AuthorizeParams) -> Option<String> {
    let state = lock(shared);
    let Some(app) = state.oauth.apps.get(&p.client_id) else {
        return Some("Client authentication failed due to unknown client.".into());
    };
    if app.redirect_uri != p.redirect_uri {
        return Some("The redirect URI included is not valid.".into());
    }
    if p.response_type != "code" {
        return Some("The authorization server does not support this response type.".into());
    }
    if !p.scope.split(' ').any(|s| s == "read_user") {
        return Some("The requested scope is invalid, unknown, or malformed.".into());
    }
    if p.code_challenge.is_empty() || p.code_challenge_method != "S256" {
        return Some("Code challenge is required, with the S256 method.".into());
    }
    None
}

async fn authorize_form(
    State(shared): State<Shared>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    if let Some(problem) = check_authorize(&shared, &p) {
        return page(StatusCode::BAD_REQUEST, format!("<p>{}</p>", esc(&problem)));
    }
    let hidden = [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", &p.state),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
    ]
    .iter()
    .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
    .collect::<String>();
    page(
        StatusCode::OK,
        format!(
            "<h1>Fake GitLab: sign in</h1><p>An application asks to read your user profile (scope read_user).</p>\
             <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
             <label>Username <input id=\"username\" name=\"username\" autocomplete=\"username\"></label>\
             <button id=\"authorize\" name=\"decision\" value=\"authorize\">Sign in and authorize</button>\
             <button id=\"deny\" name=\"decision\" value=\"deny\">Deny</button></form>"
        ),
    )
}

#[derive(Deserialize)]
struct AuthorizeForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    #[serde(default)]
    username: String,
    #[serde(default)]
    decision: String,
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return page(StatusCode::BAD_REQUEST, "<p>Bad redirect URI.</p>".into()),
    };
    url.query_pairs_mut().extend_pairs(pairs);
    Redirect::to(url.as_str()).into_response()
}

async fn authorize(State(shared): State<Shared>, Form(form): Form<AuthorizeForm>) -> Response {
    let p = form.params;
    if let Some(problem) = check_authorize(&shared, &p) {
        return page(StatusCode::BAD_REQUEST, format!("<p>{}</p>", esc(&problem)));
    }
    if form.decision == "deny" {
        return redirect_with(
            &p.redirect_uri,
            &[("error", "access_denied"), ("state", &p.state)],
        );
    }
    let mut state = lock(&shared);
    let Some(user_id) = state
        .users
        .iter()
        .find(|(_, u)| u.username == form.username.trim())
        .map(|(id, _)| *id)
    else {
        return page(
            StatusCode::UNAUTHORIZED,
            "<p>Invalid login or password.</p>".into(),
        );
    };
    let code = format!("{:064x}", rand::rng().random::<u128>());
    state.oauth.issued.push(code.clone());
    state.oauth.codes.insert(
        code.clone(),
        CodeRec {
            client_id: p.client_id.clone(),
            redirect_uri: p.redirect_uri.clone(),
            user_id,
            challenge: p.code_challenge.clone(),
            issued: Instant::now(),
        },
    );
    drop(state);
    redirect_with(&p.redirect_uri, &[("code", &code), ("state", &p.state)])
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    code_verifier: String,
}

/// Client credentials from HTTP Basic (RFC 6749 2.3.1, form-urlencoded parts).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

fn grant_error(shared: &Shared, error: &str, why: &str) -> Response {
    lock(shared).oauth.refusals.push(why.to_string());
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": why})),
    )
        .into_response()
}

async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let (client_id, secret) = match (basic_credentials(&headers), form.client_id) {
        (Some(c), _) => c,
        (None, Some(id)) => (id, form.client_secret.unwrap_or_default()),
        (None, None) => return grant_error(&shared, "invalid_client", "no client credentials"),
    };
    if form.grant_type != "authorization_code" {
        return grant_error(&shared, "unsupported_grant_type", "grant type");
    }
    let mut state = lock(&shared);
    match state.oauth.apps.get(&client_id) {
        Some(app) if app.secret == secret => {}
        _ => {
            drop(state);
            return grant_error(&shared, "invalid_client", "client authentication failed");
        }
    }
    // A code is single-use: it is gone whether or not this exchange succeeds.
    let Some(code) = state.oauth.codes.remove(&form.code) else {
        drop(state);
        return grant_error(&shared, "invalid_grant", "unknown or already used code");
    };
    drop(state);
    if code.issued.elapsed() > CODE_TTL {
        return grant_error(&shared, "invalid_grant", "code expired");
    }
    if code.client_id != client_id || code.redirect_uri != form.redirect_uri {
        return grant_error(&shared, "invalid_grant", "client or redirect URI mismatch");
    }
    let digest = Sha256::digest(form.code_verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    if form.code_verifier.len() < 43 || computed != code.challenge {
        return grant_error(&shared, "invalid_grant", "PKCE verification failed");
    }
    let access = format!("{:064x}", rand::rng().random::<u128>());
    lock(&shared).tokens.insert(
        access.clone(),
        TokenRec {
            user_id: code.user_id,
            revoked: false,
            read_user_only: true,
        },
    );
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 7200,
        "refresh_token": format!("{:064x}", rand::rng().random::<u128>()),
        "scope": "read_user",
        "created_at": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    }))
    .into_response()
}
