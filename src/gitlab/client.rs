//! A thin typed client for the eight GitLab REST v4 calls the triage bot makes.
//!
//! Invariants this file keeps:
//! - **Nothing is reported as posted unless GitLab's reply says `internal: true`.** A note saved
//!   public (the bot's role cannot create internal notes, so GitLab silently drops the flag) is
//!   deleted at once and surfaced as [`GitLabError::InternalFlagDropped`].
//! - **`confidential` is never sent.** Sending `confidential=false` would publish a report.
//! - **The token goes only to the configured origin**, in one sensitive default header; it is
//!   never logged, and pagination links pointing elsewhere are refused.
//! - **Note bodies are never logged**, nor put in error messages.
//!
//! Retries live here only for the short term (one call): 429 honouring `Retry-After`, and 5xx
//! or connection failures with exponential backoff plus jitter. Longer backoff belongs to the
//! caller's durable queue, which is why every error says whether it is retryable or fatal.
//! A `Retry-After` binds every clone of the client (GitLab limits the user, not the call): no
//! request leaves before the wait is over, and a call that would wait longer than
//! [`MAX_IN_CALL_WAIT`] returns the rest of the wait to its caller without reaching GitLab.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default number of retries inside one call (so up to five attempts).
pub const DEFAULT_MAX_RETRIES: u32 = 4;
/// Default client-side cap on note creation; half of GitLab.com's 60/min `notes_create` limit.
pub const DEFAULT_NOTES_PER_MINUTE: u32 = 30;
/// Longest server-requested wait slept through inside one call. Longer waits are returned to
/// the caller, whose durable queue can park the job instead of holding a worker.
pub const MAX_IN_CALL_WAIT: Duration = Duration::from_secs(60);
/// GitLab's note body limit, in characters.
pub const MAX_NOTE_CHARS: usize = 1_000_000;

const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(10);
const PER_PAGE: &str = "100";
/// Guards against a server that keeps handing out `next` links.
const MAX_PAGES: usize = 10_000;
/// Error text taken from a response body is cut to this many characters.
const MAX_ERROR_TEXT: usize = 300;

// === impl Token ===

/// A GitLab access token. It prints as `[redacted]` so it cannot leak through `{:?}` or logs.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token string (surrounding whitespace is removed).
    pub fn new(secret: impl Into<String>) -> Token {
        Token(secret.into().trim().to_string())
    }

    /// Reads the token from the environment variable `env_var`, or else from `file`.
    ///
    /// # Errors
    /// [`GitLabError::Config`] when neither yields a non-empty token or the file is unreadable.
    pub fn from_env_or_file(env_var: &str, file: Option<&Path>) -> Result<Token, GitLabError> {
        if let Ok(value) = std::env::var(env_var) {
            if !value.trim().is_empty() {
                return Ok(Token::new(value));
            }
        }
        let Some(path) = file else {
            return Err(GitLabError::Config(format!(
                "no GitLab token: set {env_var} or configure a token file"
            )));
        };
        let text = std::fs::read_to_string(path).map_err(|err| {
            GitLabError::Config(format!(
                "cannot read the GitLab token file {}: {err}: check the path and its permissions",
                path.display()
            ))
        })?;
        if text.trim().is_empty() {
            return Err(GitLabError::Config(format!(
                "the GitLab token file {} is empty: put a project access token in it",
                path.display()
            )));
        }
        Ok(Token::new(text))
    }

    /// The secret itself; only for building the auth header.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

// === impl GitLabConfig ===

/// Where and how to reach GitLab.
#[derive(Debug, Clone)]
pub struct GitLabConfig {
    /// Instance root, e.g. `https://gitlab.com` or `http://127.0.0.1:PORT`; `/api/v4` is
    /// appended by the client (a trailing `/api/v4` is tolerated).
    pub base_url: String,
    /// Project access token with the `api` scope and the Reporter (or Planner) role.
    pub token: Token,
    /// Per-request timeout, connect to last byte.
    pub timeout: Duration,
    /// Retries inside one call for 429, 5xx and connection failures.
    pub max_retries: u32,
    /// Client-side cap on note creation per minute; keep it below the instance's limit.
    pub notes_per_minute: u32,
}

impl GitLabConfig {
    /// A config with the default timeout, retries and note rate.
    pub fn new(base_url: impl Into<String>, token: Token) -> GitLabConfig {
        GitLabConfig {
            base_url: base_url.into(),
            token,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            notes_per_minute: DEFAULT_NOTES_PER_MINUTE,
        }
    }
}

// === domain types ===

/// A GitLab user (the `UserBasic` entity, reduced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub name: String,
}

/// An issue, addressed by `(project_id, iid)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Global ID; also the work-item ID.
    pub id: u64,
    /// Per-project number used in every URL.
    pub iid: u64,
    pub project_id: u64,
    pub title: String,
    pub description: Option<String>,
    /// `opened` or `closed`.
    pub state: String,
    pub confidential: bool,
    /// ISO 8601 with milliseconds, as GitLab sends it.
    pub created_at: String,
    pub updated_at: String,
    pub labels: Vec<String>,
    pub author: User,
    pub web_url: String,
    /// GitLab's count of the issue's user (non-system) notes, when it sends one: a notes
    /// list with fewer lags behind (replicas), so a check over it would miss a comment.
    pub user_notes_count: Option<u64>,
}

/// An award emoji (reaction) on a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Award {
    pub id: u64,
    /// `thumbsup`, `thumbsdown`, ... (no colons).
    pub name: String,
    pub user: User,
}

/// An item of an issue list that could not be decoded (a malformed description, a missing
/// field). Its neighbours are still listed; intake dead-letters it with `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableIssue {
    /// The item's `iid`, when at least that could be read.
    pub iid: Option<u64>,
    /// The item's `updated_at`, when it could be read.
    pub updated_at: Option<String>,
    /// Why it could not be decoded: the error kind and position, never the item's text.
    pub reason: String,
}

/// One listing of a project's confidential issues, decoded item by item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueListing {
    pub issues: Vec<Issue>,
    pub unreadable: Vec<UnreadableIssue>,
}

/// A comment on an issue, including system notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: u64,
    pub body: String,
    /// True only when GitLab says the note is internal (`internal`, or the older `confidential`).
    pub internal: bool,
    pub system: bool,
    pub author: User,
    pub created_at: String,
}

/// Counters for metrics, read with [`Client::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// 429 responses received (each one, including those ridden out by retries).
    pub rate_limited: u64,
    /// Notes GitLab saved without `internal: true`.
    pub internal_flag_alarms: u64,
    /// Internal notes created and kept.
    pub notes_created: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
}

// === errors ===

/// What went wrong talking to GitLab, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum GitLabError {
    #[error("GitLab rate limit hit (429){}: retry later; lower notes_per_minute if this repeats", fmt_wait(.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    #[error("GitLab answered with server error {status}: retry later; check the instance's health if it persists")]
    Server { status: u16 },
    #[error("the GitLab token was rejected (expired or revoked): create a new project access token with the api scope and Reporter role ({description})")]
    InvalidToken { description: String },
    #[error("the GitLab token lacks the api scope (read_api cannot post notes or edit labels): create a project access token with the api scope")]
    InsufficientScope,
    #[error("GitLab refused the request (403): give the bot user at least the Reporter role in the project")]
    Forbidden,
    #[error("{what} not found (404): check the project ID and issue IID, and that the bot user is a Reporter in the project (GitLab hides confidential issues behind 404)")]
    NotFound { what: String },
    #[error("GitLab saved note {note_id} as PUBLIC because the bot user may not create internal notes ({}): give the bot user the Reporter role", if *.deleted { "the note was deleted" } else { "deleting it FAILED: delete it by hand now" })]
    InternalFlagDropped { note_id: u64, deleted: bool },
    #[error("GitLab rejected the request: {message}")]
    BadRequest { message: String },
    #[error("{what} is still confidential after the request to publish it: give the bot user the Reporter role, or publish it by hand")]
    NotPublished { what: String },
    #[error("could not reach GitLab: {0}: check gitlab.url and the network")]
    Http(String),
    #[error("unexpected response from GitLab: {0}")]
    Decode(String),
    #[error("invalid GitLab configuration: {0}")]
    Config(String),
}

fn fmt_wait(wait: &Option<Duration>) -> String {
    match wait {
        Some(wait) => format!(", retry after {} ms", wait.as_millis()),
        None => String::new(),
    }
}

impl GitLabError {
    /// Worth trying again later (rate limit, server error, network failure).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GitLabError::RateLimited { .. } | GitLabError::Server { .. } | GitLabError::Http(_)
        )
    }

    /// The server's requested wait, for a 429 that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GitLabError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// No retry can succeed until a human acts: stop the worker and alert.
    ///
    /// `InternalFlagDropped` is fatal because every later note would be published too (and
    /// deleted again), briefly exposing each suggestion.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            GitLabError::InvalidToken { .. }
                | GitLabError::InsufficientScope
                | GitLabError::InternalFlagDropped { .. }
                | GitLabError::Config(_)
        )
    }
}

// === wire types (GitLab JSON, private) ===

#[derive(Deserialize)]
struct WireUser {
    id: u64,
    username: String,
    #[serde(default)]
    name: String,
}

/// Labels are names, or `LabelBasic` objects when `with_labels_details=true`.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireLabel {
    Name(String),
    Detail { name: String },
}

#[derive(Deserialize)]
struct WireIssue {
    id: u64,
    iid: u64,
    project_id: u64,
    title: String,
    description: Option<String>,
    state: String,
    #[serde(default)]
    confidential: bool,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    labels: Vec<WireLabel>,
    author: WireUser,
    web_url: String,
    #[serde(default)]
    user_notes_count: Option<u64>,
}

#[derive(Deserialize)]
struct WireAward {
    id: u64,
    name: String,
    user: WireUser,
}

#[derive(Deserialize)]
struct WireNote {
    id: u64,
    body: String,
    internal: Option<bool>,
    confidential: Option<bool>,
    #[serde(default)]
    system: bool,
    author: WireUser,
    created_at: String,
}

#[derive(Deserialize)]
struct WireMember {
    access_level: u32,
}

impl From<WireUser> for User {
    fn from(wire: WireUser) -> User {
        User {
            id: wire.id,
            username: wire.username,
            name: wire.name,
        }
    }
}

impl From<WireIssue> for Issue {
    fn from(wire: WireIssue) -> Issue {
        Issue {
            id: wire.id,
            iid: wire.iid,
            project_id: wire.project_id,
            title: wire.title,
            description: wire.description,
            state: wire.state,
            confidential: wire.confidential,
            created_at: wire.created_at,
            updated_at: wire.updated_at,
            labels: wire
                .labels
                .into_iter()
                .map(|label| match label {
                    WireLabel::Name(name) | WireLabel::Detail { name } => name,
                })
                .collect(),
            author: wire.author.into(),
            web_url: wire.web_url,
            user_notes_count: wire.user_notes_count,
        }
    }
}

impl From<WireNote> for Note {
    fn from(wire: WireNote) -> Note {
        Note {
            id: wire.id,
            body: wire.body,
            internal: wire.internal.or(wire.confidential).unwrap_or(false),
            system: wire.system,
            author: wire.author.into(),
            created_at: wire.created_at,
        }
    }
}

// === impl Client ===

/// A cheap-to-clone GitLab client; clones share the connection pool, limiter and counters.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// Carries `PRIVATE-TOKEN` as a sensitive default header, so no call site handles it.
    http: reqwest::Client,
    /// `<base_url>/api/v4`, checked to be a base URL at construction.
    api_base: Url,
    max_retries: u32,
    note_bucket: NoteBucket,
    rate_limited: AtomicU64,
    internal_flag_alarms: AtomicU64,
    notes_created: AtomicU64,
    requests: AtomicU64,
    /// No request is sent before this instant: the latest `Retry-After` GitLab asked for.
    quiet_until: std::sync::Mutex<Option<Instant>>,
}

impl Inner {
    /// How long every call must still wait because of an earlier 429.
    fn quiet_for(&self) -> Option<Duration> {
        let until = (*self.quiet_until.lock().ok()?)?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// Holds every call back for `wait` (never shortening an earlier, longer wait).
    fn keep_quiet(&self, wait: Duration) {
        if let Ok(mut until) = self.quiet_until.lock() {
            let new = Instant::now() + wait;
            if until.is_none_or(|u| u < new) {
                *until = Some(new);
            }
        }
    }
}

/// How a call may be retried.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CallKind {
    /// GET, PUT of label deltas, DELETE: repeating them is harmless.
    Idempotent,
    /// POST of a note: repeating after a 5xx or a lost reply could post it twice, so only a 429
    /// or a failed connect (GitLab never saw the request) is retried. Also rate limited.
    CreateNote,
}

impl Client {
    /// Builds a client; does no IO (call [`Client::current_user`] to check the token).
    ///
    /// # Errors
    /// [`GitLabError::Config`] for a malformed base URL, an unusable token or a zero rate.
    pub fn new(cfg: GitLabConfig) -> Result<Client, GitLabError> {
        let api_base = api_base(&cfg.base_url)?;
        if cfg.notes_per_minute == 0 {
            return Err(GitLabError::Config(
                "gitlab.notes_per_minute is 0, so no note could ever be posted: set it to 1..60"
                    .into(),
            ));
        }
        if cfg.token.secret().is_empty() {
            return Err(GitLabError::Config(
                "the GitLab token is empty: provide a project access token".into(),
            ));
        }
        let mut token = HeaderValue::from_str(cfg.token.secret()).map_err(|_| {
            GitLabError::Config(
                "the GitLab token contains characters not allowed in a header: copy it again"
                    .into(),
            )
        })?;
        token.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("PRIVATE-TOKEN", token);
        if api_base.scheme() == "http" && !is_loopback(&api_base) {
            tracing::warn!(
                host = api_base.host_str(),
                "gitlab.url uses plain http: the token travels unencrypted"
            );
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(cfg.timeout)
            .user_agent(concat!("sectriage/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the token to another host; GitLab's API does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| GitLabError::Config(format!("cannot build the HTTP client: {err}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_base,
                max_retries: cfg.max_retries,
                note_bucket: NoteBucket::per_minute(cfg.notes_per_minute),
                rate_limited: AtomicU64::new(0),
                internal_flag_alarms: AtomicU64::new(0),
                notes_created: AtomicU64::new(0),
                requests: AtomicU64::new(0),
                quiet_until: std::sync::Mutex::new(None),
            }),
        })
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ClientStats {
        let inner = &self.inner;
        ClientStats {
            rate_limited: inner.rate_limited.load(Ordering::Relaxed),
            internal_flag_alarms: inner.internal_flag_alarms.load(Ordering::Relaxed),
            notes_created: inner.notes_created.load(Ordering::Relaxed),
            requests: inner.requests.load(Ordering::Relaxed),
        }
    }

    /// The token's user (`GET /user`): the bot's own ID, to skip its own notes.
    ///
    /// # Errors
    /// [`GitLabError::InvalidToken`] for a rejected token; transport and server errors.
    pub async fn current_user(&self) -> Result<User, GitLabError> {
        let url = self.url(&["user"]);
        let resp = self
            .execute(
                Method::GET,
                url,
                None,
                "the current user",
                CallKind::Idempotent,
            )
            .await?;
        Ok(decode::<WireUser>(resp, "the current user").await?.into())
    }

    /// Confidential issues of a project, oldest update first, all pages.
    ///
    /// Sends `confidential=true`, `updated_after` (inclusive, ISO 8601), `order_by=updated_at`,
    /// `sort=asc`, `state=all`, `per_page=100`, and follows `Link: rel="next"`.
    ///
    /// # Errors
    /// Any [`GitLabError`]; partial results are not returned.
    pub async fn list_confidential_issues(
        &self,
        project_id: u64,
        updated_after: Option<&str>,
    ) -> Result<Vec<Issue>, GitLabError> {
        let listing = self
            .list_confidential_issues_each(project_id, updated_after)
            .await?;
        match listing.unreadable.first() {
            Some(bad) => Err(GitLabError::Decode(format!(
                "project {project_id}: issue {}: {}",
                bad.iid
                    .map_or_else(|| "?".to_string(), |iid| format!("#{iid}")),
                bad.reason
            ))),
            None => Ok(listing.issues),
        }
    }

    /// Like [`list_confidential_issues`](Client::list_confidential_issues), but decodes each
    /// item on its own: one malformed issue is reported in
    /// [`IssueListing::unreadable`] instead of failing the whole listing, so it cannot block
    /// intake of its project.
    ///
    /// # Errors
    /// Any [`GitLabError`] for the listing itself (a page that is not a JSON array, HTTP).
    pub async fn list_confidential_issues_each(
        &self,
        project_id: u64,
        updated_after: Option<&str>,
    ) -> Result<IssueListing, GitLabError> {
        let what = format!("project {project_id}");
        // Raw items first: the array's syntax is checked, but a string that cannot become a
        // Rust string (a lone surrogate escape) only fails its own item below.
        let items = self.walk_issues(project_id, updated_after, &what).await?;
        let mut listing = IssueListing::default();
        let mut n_public = 0;
        for item in items {
            match serde_json::from_str::<WireIssue>(item.get()) {
                Ok(issue) if issue.confidential => listing.issues.push(issue.into()),
                // GitLab filters on the server; dropping stragglers keeps the method's promise
                // even if a proxy or an old version ignores the parameter.
                Ok(_) => n_public += 1,
                Err(err) => {
                    #[derive(Deserialize)]
                    struct Key {
                        iid: Option<u64>,
                        updated_at: Option<String>,
                    }
                    let key = serde_json::from_str::<Key>(item.get()).ok();
                    listing.unreadable.push(UnreadableIssue {
                        iid: key.as_ref().and_then(|k| k.iid),
                        updated_at: key.and_then(|k| k.updated_at),
                        // serde's messages can quote input; keep the kind and position only.
                        reason: format!(
                            "GitLab's JSON for this issue cannot be decoded ({:?} error at column {} of the item){}",
                            err.classify(),
                            err.column(),
                            if err.to_string().contains("escape") {
                                ": a malformed \\u escape in a string, such as a lone UTF-16 surrogate"
                            } else {
                                ""
                            }
                        ),
                    });
                }
            }
        }
        if n_public > 0 {
            tracing::warn!(
                project_id,
                n_dropped = n_public,
                "GitLab listed non-confidential issues for confidential=true; dropped them"
            );
        }
        Ok(listing)
    }

    /// Every confidential issue updated on or after `updated_after`, oldest update first.
    ///
    /// Offset pages are not stable: an issue updated while the list is read moves to its
    /// end, every later issue moves up one place, and the first issue of the next page
    /// would never be read. So each request asks again for page 1 from the newest update
    /// already read (less a millisecond: `updated_after` is inclusive, and equal
    /// timestamps may straddle a page); only a full page of one timestamp, which makes no
    /// progress that way, goes on to the next offset page.
    async fn walk_issues(
        &self,
        project_id: u64,
        updated_after: Option<&str>,
        what: &str,
    ) -> Result<Vec<Box<serde_json::value::RawValue>>, GitLabError> {
        #[derive(Deserialize)]
        struct Key {
            iid: Option<u64>,
            updated_at: Option<String>,
        }
        let per_page: usize = PER_PAGE.parse().expect("a number");
        let mut items = Vec::new();
        let mut read: HashSet<String> = HashSet::new();
        let mut after: Option<String> = updated_after.map(str::to_string);
        let mut page = 1usize;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["projects", &project_id.to_string(), "issues"]);
            {
                let mut query = url.query_pairs_mut();
                query
                    .append_pair("confidential", "true")
                    .append_pair("order_by", "updated_at")
                    .append_pair("sort", "asc")
                    .append_pair("state", "all")
                    .append_pair("per_page", PER_PAGE);
                if let Some(after) = &after {
                    query.append_pair("updated_after", after);
                }
                if page > 1 {
                    query.append_pair("page", &page.to_string());
                }
            }
            let resp = self
                .execute(Method::GET, url, None, what, CallKind::Idempotent)
                .await?;
            let batch: Vec<Box<serde_json::value::RawValue>> = decode(resp, what).await?;
            let full = batch.len() >= per_page;
            let mut newest: Option<i64> = None;
            for item in batch {
                let key = serde_json::from_str::<Key>(item.get()).ok();
                let updated = key.as_ref().and_then(|k| k.updated_at.as_deref());
                if let Some(ms) = updated.and_then(super::time::parse_to_unix_ms) {
                    newest = Some(newest.map_or(ms, |n| n.max(ms)));
                }
                let id = match &key {
                    Some(Key {
                        iid: Some(iid),
                        updated_at,
                    }) => {
                        format!("{iid}@{}", updated_at.as_deref().unwrap_or(""))
                    }
                    _ => item.get().to_string(),
                };
                if read.insert(id) {
                    items.push(item);
                }
            }
            if !full {
                return Ok(items);
            }
            let next = newest.map(|ms| super::time::format_iso_ms(ms - 1));
            if next.is_some() && next != after {
                after = next;
                page = 1;
            } else {
                page += 1;
            }
        }
        Err(GitLabError::Decode(format!(
            "listing of {what} does not end (over {MAX_PAGES} pages)"
        )))
    }

    /// One issue by its per-project `iid`.
    ///
    /// # Errors
    /// [`GitLabError::NotFound`] also when the bot may not see the confidential issue.
    pub async fn issue(&self, project_id: u64, iid: u64) -> Result<Issue, GitLabError> {
        let url = self.issue_url(project_id, iid, &[]);
        let what = issue_what(project_id, iid);
        let resp = self
            .execute(Method::GET, url, None, &what, CallKind::Idempotent)
            .await?;
        Ok(decode::<WireIssue>(resp, &what).await?.into())
    }

    /// All notes of an issue, oldest first, system notes included.
    ///
    /// # Errors
    /// Any [`GitLabError`].
    pub async fn notes(&self, project_id: u64, iid: u64) -> Result<Vec<Note>, GitLabError> {
        let mut url = self.issue_url(project_id, iid, &["notes"]);
        url.query_pairs_mut()
            .append_pair("sort", "asc")
            .append_pair("order_by", "created_at")
            .append_pair("per_page", PER_PAGE);
        let what = format!("notes of {}", issue_what(project_id, iid));
        let notes: Vec<WireNote> = self.get_all_pages(url, &what).await?;
        Ok(notes.into_iter().map(Note::from).collect())
    }

    /// Posts an internal note and proves GitLab kept it internal.
    ///
    /// If the reply's `internal` is not exactly `true`, the note was saved public: it is deleted
    /// at once, an error-level alert is logged (IDs only) and
    /// [`GitLabError::InternalFlagDropped`] is returned. Waits for the note rate limiter first.
    ///
    /// # Errors
    /// `InternalFlagDropped` as above; `BadRequest` for an empty or oversized body, or a body
    /// GitLab ran as quick actions only (202); any other [`GitLabError`].
    pub async fn create_internal_note(
        &self,
        project_id: u64,
        iid: u64,
        body: &str,
    ) -> Result<Note, GitLabError> {
        if body.trim().is_empty() {
            return Err(GitLabError::BadRequest {
                message: "refusing to post an empty note".into(),
            });
        }
        if body.chars().count() > MAX_NOTE_CHARS {
            return Err(GitLabError::BadRequest {
                message: format!("note body exceeds GitLab's {MAX_NOTE_CHARS} character limit"),
            });
        }
        let url = self.issue_url(project_id, iid, &["notes"]);
        let what = format!("notes of {}", issue_what(project_id, iid));
        let payload = json!({ "body": body, "internal": true });
        let resp = self
            .execute(
                Method::POST,
                url,
                Some(payload),
                &what,
                CallKind::CreateNote,
            )
            .await?;
        if resp.status() == StatusCode::ACCEPTED {
            // GitLab ran the whole body as quick actions and stored nothing.
            tracing::error!(
                project_id,
                issue_iid = iid,
                "ALERT: GitLab ran a posted note as quick actions only (202); check the issue's confidentiality, state and labels"
            );
            return Err(GitLabError::BadRequest {
                message: "GitLab ran the note as quick actions and saved nothing: never start a note line with '/'".into(),
            });
        }
        let wire: WireNote = decode(resp, &what).await?;
        if wire.internal != Some(true) {
            let note_id = wire.id;
            self.inner
                .internal_flag_alarms
                .fetch_add(1, Ordering::Relaxed);
            let deleted = match self.delete_note(project_id, iid, note_id).await {
                Ok(()) => true,
                Err(err) => {
                    tracing::error!(project_id, issue_iid = iid, note_id, error = %err, "could not delete the public note");
                    false
                }
            };
            tracing::error!(
                project_id,
                issue_iid = iid,
                note_id,
                deleted,
                "ALERT: GitLab saved the triage note as PUBLIC (internal flag dropped; bot role below Reporter)"
            );
            return Err(GitLabError::InternalFlagDropped { note_id, deleted });
        }
        // GitLab strips trailing whitespace from every note it stores (its quick-action
        // extractor returns the body right-trimmed), and strips executed quick actions: only
        // the second is a difference.
        if wire.body.trim_end() != body.trim_end() {
            // GitLab strips executed quick actions from the stored body.
            tracing::error!(
                project_id,
                issue_iid = iid,
                note_id = wire.id,
                "ALERT: stored note body differs from the posted one; GitLab may have run quick actions from it"
            );
        }
        self.inner.notes_created.fetch_add(1, Ordering::Relaxed);
        Ok(wire.into())
    }

    /// Deletes a note (204).
    ///
    /// # Errors
    /// Any [`GitLabError`]; `NotFound` when it is already gone.
    pub async fn delete_note(
        &self,
        project_id: u64,
        iid: u64,
        note_id: u64,
    ) -> Result<(), GitLabError> {
        let url = self.issue_url(project_id, iid, &["notes", &note_id.to_string()]);
        let what = format!("note {note_id} of {}", issue_what(project_id, iid));
        self.execute(Method::DELETE, url, None, &what, CallKind::Idempotent)
            .await?;
        Ok(())
    }

    /// The award emoji on one note of an issue.
    ///
    /// # Errors
    /// Any [`GitLabError`].
    pub async fn note_awards(
        &self,
        project_id: u64,
        iid: u64,
        note_id: u64,
    ) -> Result<Vec<Award>, GitLabError> {
        let mut url = self.issue_url(
            project_id,
            iid,
            &["notes", &note_id.to_string(), "award_emoji"],
        );
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        let what = format!(
            "award emoji of note {note_id} of {}",
            issue_what(project_id, iid)
        );
        let awards: Vec<WireAward> = self.get_all_pages(url, &what).await?;
        Ok(awards
            .into_iter()
            .map(|a| Award {
                id: a.id,
                name: a.name,
                user: a.user.into(),
            })
            .collect())
    }

    /// Makes a confidential issue public (`confidential=false`): the only call that sends the
    /// attribute. Returns the issue as GitLab answered.
    ///
    /// # Errors
    /// [`GitLabError::NotPublished`] when GitLab's reply still says `confidential: true` (the
    /// bot's role may not change it); any other [`GitLabError`].
    pub async fn publish_issue(&self, project_id: u64, iid: u64) -> Result<Issue, GitLabError> {
        let issue = self.set_confidential(project_id, iid, false).await?;
        if issue.confidential {
            return Err(GitLabError::NotPublished {
                what: issue_what(project_id, iid),
            });
        }
        Ok(issue)
    }

    /// Makes a just-published issue confidential again (a comment with private data arrived
    /// while it was being published).
    ///
    /// # Errors
    /// Any [`GitLabError`].
    pub async fn hide_issue(&self, project_id: u64, iid: u64) -> Result<Issue, GitLabError> {
        self.set_confidential(project_id, iid, true).await
    }

    /// `PUT` of the issue's confidential attribute; the issue as GitLab answered.
    async fn set_confidential(
        &self,
        project_id: u64,
        iid: u64,
        confidential: bool,
    ) -> Result<Issue, GitLabError> {
        let url = self.issue_url(project_id, iid, &[]);
        let what = issue_what(project_id, iid);
        let resp = self
            .execute(
                Method::PUT,
                url,
                Some(json!({ "confidential": confidential })),
                &what,
                CallKind::Idempotent,
            )
            .await?;
        Ok(decode::<WireIssue>(resp, &what).await?.into())
    }

    /// Posts an ordinary (non-internal) note: only for questions a maintainer asked the bot
    /// to put to the reporter (`sectriage ask`). On a confidential issue only the reporter and
    /// project members see it.
    ///
    /// # Errors
    /// Any [`GitLabError`]; `BadRequest` for an empty or oversized body.
    pub async fn create_note_for_reporter(
        &self,
        project_id: u64,
        iid: u64,
        body: &str,
    ) -> Result<Note, GitLabError> {
        if body.trim().is_empty() || body.chars().count() > MAX_NOTE_CHARS {
            return Err(GitLabError::BadRequest {
                message: "refusing to post an empty or oversized note".into(),
            });
        }
        let url = self.issue_url(project_id, iid, &["notes"]);
        let what = format!("notes of {}", issue_what(project_id, iid));
        let resp = self
            .execute(
                Method::POST,
                url,
                Some(json!({ "body": body })),
                &what,
                CallKind::CreateNote,
            )
            .await?;
        if resp.status() == StatusCode::ACCEPTED {
            return Err(GitLabError::BadRequest {
                message: "GitLab ran the note as quick actions and saved nothing".into(),
            });
        }
        let wire: WireNote = decode(resp, &what).await?;
        Ok(wire.into())
    }

    /// Adds and removes labels with `add_labels` / `remove_labels`; never sends `confidential`.
    /// Unknown labels are created by GitLab. With nothing to change, just reads the issue.
    ///
    /// # Errors
    /// `BadRequest` for an empty label name or one containing a comma (GitLab's list
    /// separator); any other [`GitLabError`].
    pub async fn edit_labels(
        &self,
        project_id: u64,
        iid: u64,
        add: &[&str],
        remove: &[&str],
    ) -> Result<Issue, GitLabError> {
        for label in add.iter().chain(remove) {
            if label.trim().is_empty() || label.contains(',') {
                return Err(GitLabError::BadRequest {
                    message: format!("label {label:?} is empty or contains a comma"),
                });
            }
        }
        if add.is_empty() && remove.is_empty() {
            return self.issue(project_id, iid).await;
        }
        let mut payload = serde_json::Map::new();
        if !add.is_empty() {
            payload.insert("add_labels".into(), Value::String(add.join(",")));
        }
        if !remove.is_empty() {
            payload.insert("remove_labels".into(), Value::String(remove.join(",")));
        }
        let url = self.issue_url(project_id, iid, &[]);
        let what = issue_what(project_id, iid);
        let resp = self
            .execute(
                Method::PUT,
                url,
                Some(Value::Object(payload)),
                &what,
                CallKind::Idempotent,
            )
            .await?;
        Ok(decode::<WireIssue>(resp, &what).await?.into())
    }

    /// The user's effective access level in the project (`members/all`), `None` if not a member.
    ///
    /// # Errors
    /// Any [`GitLabError`] other than 404.
    pub async fn member_access_level(
        &self,
        project_id: u64,
        user_id: u64,
    ) -> Result<Option<u32>, GitLabError> {
        let url = self.url(&[
            "projects",
            &project_id.to_string(),
            "members",
            "all",
            &user_id.to_string(),
        ]);
        let what = format!("member {user_id} of project {project_id}");
        match self
            .execute(Method::GET, url, None, &what, CallKind::Idempotent)
            .await
        {
            Ok(resp) => Ok(Some(decode::<WireMember>(resp, &what).await?.access_level)),
            Err(GitLabError::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    // --- plumbing ---

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.api_base.clone();
        // Cannot fail: `api_base` was checked to be a base URL in `new`.
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        url
    }

    fn issue_url(&self, project_id: u64, iid: u64, tail: &[&str]) -> Url {
        let project = project_id.to_string();
        let iid = iid.to_string();
        let mut segments = vec!["projects", project.as_str(), "issues", iid.as_str()];
        segments.extend_from_slice(tail);
        self.url(&segments)
    }

    /// Follows `Link: rel="next"` from `first` and concatenates the pages.
    async fn get_all_pages<W: DeserializeOwned>(
        &self,
        first: Url,
        what: &str,
    ) -> Result<Vec<W>, GitLabError> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(first);
        while let Some(url) = next {
            if seen.len() >= MAX_PAGES || !seen.insert(url.to_string()) {
                return Err(GitLabError::Decode(format!(
                    "pagination of {what} does not end (repeated or over {MAX_PAGES} pages)"
                )));
            }
            let resp = self
                .execute(Method::GET, url, None, what, CallKind::Idempotent)
                .await?;
            next = match next_link(resp.headers()) {
                Some(link) => Some(self.checked_link(&link)?),
                None => None,
            };
            let page: Vec<W> = decode(resp, what).await?;
            items.extend(page);
        }
        Ok(items)
    }

    /// A `next` link must stay on our origin, or the token would follow it elsewhere.
    fn checked_link(&self, link: &str) -> Result<Url, GitLabError> {
        let url = self
            .inner
            .api_base
            .join(link)
            .map_err(|err| GitLabError::Decode(format!("bad pagination link: {err}")))?;
        if url.origin() != self.inner.api_base.origin() {
            return Err(GitLabError::Config(format!(
                "GitLab sent a pagination link to {}, not {}; refusing to send the token there: set gitlab.url to the instance's external URL",
                url.origin().ascii_serialization(),
                self.inner.api_base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// Sends one call, retrying within the call as [`CallKind`] allows.
    async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        what: &str,
        kind: CallKind,
    ) -> Result<reqwest::Response, GitLabError> {
        let inner = &self.inner;
        let mut attempt: u32 = 0;
        loop {
            // A wait GitLab asked of another call binds this one too.
            if let Some(wait) = inner.quiet_for() {
                if wait > MAX_IN_CALL_WAIT {
                    return Err(GitLabError::RateLimited {
                        retry_after: Some(wait),
                    });
                }
                tracing::debug!(%method, path = url.path(), wait_ms = wait.as_millis() as u64, "holding a gitlab call for an earlier Retry-After");
                tokio::time::sleep(wait).await;
            }
            if kind == CallKind::CreateNote {
                inner.note_bucket.acquire().await;
            }
            inner.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = inner.http.request(method.clone(), url.clone());
            if let Some(body) = &body {
                request = request.json(body);
            }
            let (err, never_reached_gitlab) = match request.send().await {
                Ok(resp) if resp.status().is_success() => {
                    tracing::debug!(%method, path = url.path(), status = resp.status().as_u16(), attempt, "gitlab call");
                    return Ok(resp);
                }
                Ok(resp) => (error_from_response(resp, what).await, false),
                Err(err) => (GitLabError::Http(describe_reqwest(&err)), err.is_connect()),
            };
            if let GitLabError::RateLimited { retry_after } = &err {
                inner.rate_limited.fetch_add(1, Ordering::Relaxed);
                if let Some(wait) = retry_after {
                    inner.keep_quiet(*wait);
                }
            }
            let kind_allows = match kind {
                CallKind::Idempotent => true,
                CallKind::CreateNote => {
                    matches!(err, GitLabError::RateLimited { .. }) || never_reached_gitlab
                }
            };
            if !(err.is_retryable() && kind_allows && attempt < inner.max_retries) {
                tracing::debug!(%method, path = url.path(), attempt, error = %err, "gitlab call failed");
                return Err(err);
            }
            let delay = match err.retry_after() {
                Some(wait) if wait > MAX_IN_CALL_WAIT => return Err(err),
                Some(wait) => wait,
                None => backoff(attempt),
            };
            tracing::warn!(%method, path = url.path(), attempt, delay_ms = delay.as_millis() as u64, error = %err, "retrying gitlab call");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

/// `<base_url>/api/v4`, refusing anything that is not a plain http(s) base.
fn api_base(base_url: &str) -> Result<Url, GitLabError> {
    let mut url = Url::parse(base_url.trim()).map_err(|err| {
        GitLabError::Config(format!(
            "gitlab.url {base_url:?} is not a URL ({err}): use the instance root, e.g. https://gitlab.com"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(GitLabError::Config(format!(
            "gitlab.url {base_url:?} must be an http(s) URL such as https://gitlab.com"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(GitLabError::Config(format!(
            "gitlab.url {base_url:?} must not carry credentials, a query or a fragment"
        )));
    }
    let path = url.path().trim_end_matches('/').to_string();
    let path = path.strip_suffix("/api/v4").unwrap_or(&path).to_string();
    url.set_path(&format!("{path}/api/v4"));
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn issue_what(project_id: u64, iid: u64) -> String {
    format!("issue #{iid} of project {project_id}")
}

/// Exponential backoff with equal jitter: half fixed, half random, capped.
fn backoff(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(BACKOFF_CAP);
    let half = exp / 2;
    let jitter_ms = rand::rng().random_range(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter_ms)
}

/// A reqwest error with its causes, which carry the useful part ("connection refused").
fn describe_reqwest(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn decode<T: DeserializeOwned>(
    resp: reqwest::Response,
    what: &str,
) -> Result<T, GitLabError> {
    let bytes = resp
        .bytes()
        .await
        .map_err(|err| GitLabError::Http(describe_reqwest(&err)))?;
    // serde's messages can quote input (a note body); report the position only.
    serde_json::from_slice(&bytes).map_err(|err| {
        GitLabError::Decode(format!(
            "{what}: {:?} error at line {} column {}",
            err.classify(),
            err.line(),
            err.column()
        ))
    })
}

async fn error_from_response(resp: reqwest::Response, what: &str) -> GitLabError {
    let status = resp.status();
    let retry_after = retry_after_from(resp.headers(), SystemTime::now());
    let text = resp.text().await.unwrap_or_default();
    let json: Option<Value> = serde_json::from_str(&text).ok();
    let field = |name: &str| -> Option<String> {
        json.as_ref()?.get(name).map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    };
    match status.as_u16() {
        401 => GitLabError::InvalidToken {
            description: field("error_description")
                .or_else(|| field("message"))
                .unwrap_or_else(|| "401 Unauthorized".into()),
        },
        403 if field("error").as_deref() == Some("insufficient_scope") => {
            GitLabError::InsufficientScope
        }
        403 => GitLabError::Forbidden,
        404 => GitLabError::NotFound { what: what.into() },
        429 => GitLabError::RateLimited { retry_after },
        500..=599 => GitLabError::Server {
            status: status.as_u16(),
        },
        code => {
            let detail = field("message")
                .or_else(|| field("error"))
                .unwrap_or_else(|| text.trim().to_string());
            GitLabError::BadRequest {
                message: format!("HTTP {code} for {what}: {}", truncate(&detail)),
            }
        }
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_TEXT).collect()
}

/// The wait a 429 asks for: `Retry-After` (seconds or HTTP date), else `RateLimit-ResetTime`
/// (HTTP date), else `RateLimit-Reset` (Unix seconds).
fn retry_after_from(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    let until = |at: SystemTime| at.duration_since(now).unwrap_or(Duration::ZERO);
    if let Some(value) = header("retry-after") {
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(until(at));
        }
    }
    if let Some(at) = header("ratelimit-resettime").and_then(|v| httpdate::parse_http_date(v).ok())
    {
        return Some(until(at));
    }
    header("ratelimit-reset")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|secs| until(UNIX_EPOCH + Duration::from_secs(secs)))
}

/// The `rel="next"` target of a `Link` header. URLs are taken from inside `<…>` so commas in
/// query strings cannot split them.
fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all("link") {
        let Ok(text) = value.to_str() else { continue };
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let close = after.find('>')?;
            let target = &after[..close];
            let params_end = after[close..].find('<').map_or(after.len(), |i| close + i);
            let params = &after[close + 1..params_end];
            let is_next = params.split(';').any(|param| {
                let Some((key, value)) = param.split_once('=') else {
                    return false;
                };
                key.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_end_matches(',')
                        .trim_end()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(target.to_string());
            }
            rest = &after[params_end..];
        }
    }
    None
}

// === impl NoteBucket ===

/// Token bucket for note creation.
///
/// Chosen over `tower::limit::RateLimit` because that service needs `&mut self` (so a
/// `Buffer` task spawned on a runtime) while `Client::new` is synchronous and must not require
/// one. The async mutex is fair, so waiters are served in arrival order.
struct NoteBucket {
    capacity: f64,
    per_second: f64,
    state: tokio::sync::Mutex<(f64, Instant)>,
}

impl NoteBucket {
    fn per_minute(n: u32) -> NoteBucket {
        let capacity = f64::from(n.max(1));
        NoteBucket {
            capacity,
            per_second: capacity / 60.0,
            state: tokio::sync::Mutex::new((capacity, Instant::now())),
        }
    }

    async fn acquire(&self) {
        // Holding the lock across the sleep is deliberate: it queues later callers behind us.
        let mut state = self.state.lock().await;
        loop {
            let now = Instant::now();
            let (tokens, last) = *state;
            let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.per_second)
                .min(self.capacity);
            if tokens >= 1.0 {
                *state = (tokens - 1.0, now);
                return;
            }
            *state = (tokens, now);
            let wait = Duration::from_secs_f64((1.0 - tokens) / self.per_second);
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "note rate limit: waiting"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_redacted() {
        let token = Token::new("glpat-secret");
        assert_eq!(format!("{token:?} {token}"), "[redacted] [redacted]");
        let cfg = GitLabConfig::new("https://gitlab.com", token);
        assert!(!format!("{cfg:?}").contains("glpat"));
    }

    #[test]
    fn token_from_file_when_env_unset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "glpat-abc\n").unwrap();
        let token =
            Token::from_env_or_file("SECTRIAGE_TEST_SURELY_UNSET_VAR", Some(&path)).unwrap();
        assert_eq!(token.secret(), "glpat-abc");
        let err = Token::from_env_or_file("SECTRIAGE_TEST_SURELY_UNSET_VAR", None).unwrap_err();
        assert!(err.to_string().contains("SECTRIAGE_TEST_SURELY_UNSET_VAR"));
        std::fs::write(&path, "  \n").unwrap();
        assert!(matches!(
            Token::from_env_or_file("SECTRIAGE_TEST_SURELY_UNSET_VAR", Some(&path)),
            Err(GitLabError::Config(_))
        ));
    }

    #[test]
    fn api_base_appends_api_v4_once() {
        for (input, want) in [
            ("https://gitlab.com", "https://gitlab.com/api/v4"),
            ("https://gitlab.com/", "https://gitlab.com/api/v4"),
            ("https://host/gitlab/", "https://host/gitlab/api/v4"),
            (
                "http://127.0.0.1:8080/api/v4",
                "http://127.0.0.1:8080/api/v4",
            ),
        ] {
            assert_eq!(api_base(input).unwrap().as_str(), want);
        }
        for bad in [
            "gitlab.com",
            "ftp://gitlab.com",
            "https://u:p@gitlab.com",
            "https://g?x=1",
        ] {
            assert!(
                matches!(api_base(bad), Err(GitLabError::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn next_link_parsing() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static(
                "<https://g/api/v4/projects/1/issues?labels=a,b&page=1>; rel=\"prev\", <https://g/api/v4/projects/1/issues?labels=a,b&page=3>; rel=\"next\", <https://g/x?page=9>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://g/api/v4/projects/1/issues?labels=a,b&page=3")
        );
        headers.insert(
            "link",
            HeaderValue::from_static("<https://g/x?page=1>; rel=\"first\""),
        );
        assert_eq!(next_link(&headers), None);
    }

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(
            retry_after_from(&headers, now),
            Some(Duration::from_secs(7))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        headers.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        assert_eq!(
            retry_after_from(&headers, now),
            Some(Duration::from_secs(5))
        );
        headers.clear();
        let date = httpdate::fmt_http_date(now + Duration::from_secs(3));
        headers.insert("ratelimit-resettime", HeaderValue::from_str(&date).unwrap());
        assert_eq!(
            retry_after_from(&headers, now),
            Some(Duration::from_secs(3))
        );
        headers.clear();
        headers.insert("ratelimit-reset", HeaderValue::from_static("1700000002"));
        assert_eq!(
            retry_after_from(&headers, now),
            Some(Duration::from_secs(2))
        );
        headers.clear();
        assert_eq!(retry_after_from(&headers, now), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..20 {
            let delay = backoff(attempt);
            let exp = BACKOFF_BASE
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(BACKOFF_CAP);
            assert!(delay >= exp / 2 && delay <= exp, "{attempt}: {delay:?}");
        }
    }

    #[test]
    fn error_classes() {
        assert!(GitLabError::Server { status: 502 }.is_retryable());
        assert!(GitLabError::InvalidToken {
            description: String::new()
        }
        .is_fatal());
        assert!(GitLabError::InternalFlagDropped {
            note_id: 1,
            deleted: true
        }
        .is_fatal());
        assert!(!GitLabError::NotFound { what: "x".into() }.is_retryable());
        let limited = GitLabError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        assert!(GitLabError::InvalidToken { description: "Token is expired.".into() }
            .to_string()
            .starts_with("the GitLab token was rejected (expired or revoked): create a new project access token with the api scope and Reporter role"));
    }

    #[test]
    fn wire_issue_accepts_label_details_and_extra_fields() {
        let issue: WireIssue = serde_json::from_value(json!({
            "id": 1, "iid": 2, "project_id": 3, "title": "t", "description": null,
            "state": "opened", "confidential": true, "created_at": "x", "updated_at": "y",
            "labels": ["a", {"id": 9, "name": "b", "color": "#fff"}],
            "author": {"id": 5, "username": "u", "name": "U", "state": "active"},
            "web_url": "https://g/i/2", "brand_new_field": {"x": 1}
        }))
        .unwrap();
        let issue = Issue::from(issue);
        assert_eq!(issue.labels, ["a", "b"]);
        assert_eq!(issue.description, None);
    }

    #[tokio::test]
    async fn note_bucket_spaces_out_after_burst() {
        let bucket = NoteBucket::per_minute(600); // 10 per second, burst 600
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(50));
        let bucket = NoteBucket::per_minute(1200); // 20 per second
        *bucket.state.lock().await = (0.0, Instant::now());
        let start = Instant::now();
        bucket.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(40));
    }
}
