//! A faithful fake GitLab (the REST v4 subset the bot uses, plus webhooks) on `127.0.0.1:0`.
//!
//! It lives in the library because `sectriage demo` runs against it, and tests use it to prove
//! the dangerous behaviours are handled, so it reproduces them rather than smoothing them over:
//! - `internal` is **silently dropped** (note saved public) when the token user is below
//!   Planner/Reporter;
//! - quick-action lines (`^/\w+`, any case) in note bodies **run** with the poster's rights and
//!   are recorded in [`FakeGitLab::executed_quick_actions`]. The fake is stricter than any
//!   GitLab version: it ignores code fences, so a leak that some version would run shows here;
//! - confidential issues are **404** (not 403) and filtered from lists for users below
//!   Planner (15) who are not the author; unknown projects are 404 too;
//! - offset pagination with `Link` and `x-*` headers, `per_page` ≤ 100 (default 20);
//! - injected 429s (Rack::Attack's `Retry later\n` with `Retry-After` / `RateLimit-*`), 5xx
//!   and latency; 401 `invalid_token` for unknown or revoked tokens.
//!
//! State sits behind a std `Mutex` that is never held across an `.await`; webhook deliveries
//! are queued on a channel and posted in order by one background task.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::client::{Issue, Note, User};
use super::time::{format_hook_utc, format_iso_ms, parse_to_unix_ms};
use super::webhook::sign_webhook;

mod oauth;

/// Lowest role that may read confidential issues and internal notes, create internal notes
/// and run label/state quick actions (GitLab's Planner; Reporter is 20).
pub const PLANNER: u32 = 15;
/// Lowest role that may delete other people's notes.
pub const MAINTAINER: u32 = 40;
const DEFAULT_PER_PAGE: usize = 20;
const MAX_PER_PAGE: usize = 100;
const MAX_NOTE_CHARS: usize = 1_000_000;

/// A misbehaviour to inject into the next requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next `times` requests get 429 with `Retry-After: retry_after_secs`.
    RateLimit { times: u32, retry_after_secs: u64 },
    /// The next `times` requests get 500.
    ServerError { times: u32 },
    /// Every later request waits this long first (`Duration::ZERO` turns it off).
    Latency(Duration),
    /// Notes appear in the notes *list* only this long after they were created, as behind a
    /// lagging replica (`Duration::ZERO` turns it off). Single-note reads are not affected.
    NotesListLag(Duration),
    /// The next `times` note creations are stored, then answered with 502 (a proxy timing out).
    StoreThenBadGateway { times: u32 },
    /// The next `times` note creations fail with 500 before anything is stored.
    NoteCreateFails { times: u32 },
    /// The next `times` note deletions fail with 500.
    DeleteFails { times: u32 },
    /// Right after the next issue list is served, issue `iid` is updated (a maintainer's
    /// label, say) as if between two page requests: it moves to the end of an
    /// `updated_at` listing and every later issue moves up one place.
    UpdateAfterNextList { project_id: u64, iid: u64 },
}

/// A description or title containing this is served with a lone UTF-16 surrogate escape
/// (`\ud800`) in its place: JSON that parses but cannot become a string, as GitLab can send
/// for imported or corrupted text.
pub const LONE_SURROGATE: &str = "\u{E000}lone-surrogate\u{E000}";

/// A running fake GitLab. Dropping it stops the server.
pub struct FakeGitLab {
    /// Instance root, `http://127.0.0.1:PORT`; the API is under `/api/v4`.
    pub base_url: String,
    shared: Shared,
    server: JoinHandle<()>,
    deliveries: JoinHandle<()>,
}

type Shared = Arc<Mutex<FakeState>>;

// === impl FakeGitLab ===

impl FakeGitLab {
    /// Binds `127.0.0.1:0` and serves until dropped.
    ///
    /// # Panics
    /// If no loopback port can be bound (the fake is for tests and demos).
    pub async fn start() -> FakeGitLab {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the fake GitLab");
        let addr = listener
            .local_addr()
            .expect("local address of the fake GitLab");
        let base_url = format!("http://{addr}");
        let (hook_tx, hook_rx) = mpsc::unbounded_channel();
        let shared: Shared = Arc::new(Mutex::new(FakeState::new(base_url.clone(), hook_tx)));
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "fake GitLab server stopped");
            }
        });
        let deliveries = tokio::spawn(deliver_hooks(hook_rx));
        FakeGitLab {
            base_url,
            shared,
            server,
            deliveries,
        }
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        lock(&self.shared)
    }

    /// Creates an empty (public) project; its confidential issues stay hidden from low roles.
    pub fn add_project(&self, project_id: u64) {
        self.state()
            .projects
            .entry(project_id)
            .or_insert_with(|| Project {
                members: BTreeMap::new(),
                issues: BTreeMap::new(),
                labels: BTreeMap::new(),
                next_iid: 1,
            });
    }

    /// Creates a user with an `api`-scope token and, if `access_level > 0`, membership of
    /// `project_id` (which is created if needed). Returns the user ID and token.
    pub fn add_user(&self, username: &str, project_id: u64, access_level: u32) -> (u64, String) {
        self.add_project(project_id);
        let mut state = self.state();
        state.next_user_id += 1;
        let id = state.next_user_id;
        let token = format!("glpat-fake-{:032x}", rand::rng().random::<u128>());
        state.users.insert(
            id,
            UserRec {
                username: username.to_string(),
                name: title_case(username),
            },
        );
        state.tokens.insert(
            token.clone(),
            TokenRec {
                user_id: id,
                revoked: false,
                read_user_only: false,
            },
        );
        if access_level > 0 {
            if let Some(project) = state.projects.get_mut(&project_id) {
                project.members.insert(id, access_level);
            }
        }
        (id, token)
    }

    /// Sets `user_id`'s access level in `project_id` (0 removes the membership).
    pub fn set_access_level(&self, project_id: u64, user_id: u64, access_level: u32) {
        self.add_project(project_id);
        if let Some(project) = self.state().projects.get_mut(&project_id) {
            if access_level == 0 {
                project.members.remove(&user_id);
            } else {
                project.members.insert(user_id, access_level);
            }
        }
    }

    /// Revokes a token: it then gets 401 `invalid_token`.
    pub fn revoke_token(&self, token: &str) {
        if let Some(rec) = self.state().tokens.get_mut(token) {
            rec.revoked = true;
        }
    }

    /// Accepts a revoked token again (an administrator unblocking the bot user).
    pub fn restore_token(&self, token: &str) {
        if let Some(rec) = self.state().tokens.get_mut(token) {
            rec.revoked = false;
        }
    }

    /// Files an issue as `author_id` and returns its iid (creating the project if needed).
    /// Emits an issue hook.
    pub fn create_issue(
        &self,
        project_id: u64,
        author_id: u64,
        title: &str,
        description: &str,
        confidential: bool,
    ) -> u64 {
        self.add_project(project_id);
        let mut state = self.state();
        let now = state.tick();
        state.next_issue_id += 1;
        let id = state.next_issue_id;
        let Some(project) = state.projects.get_mut(&project_id) else {
            return 0; // unreachable: added above
        };
        let iid = project.next_iid;
        project.next_iid += 1;
        project.issues.insert(
            iid,
            IssueRec {
                id,
                iid,
                project_id,
                title: title.to_string(),
                description: description.to_string(),
                state: "opened".into(),
                confidential,
                created_ms: now,
                updated_ms: now,
                closed_ms: None,
                closed_by: None,
                labels: Vec::new(),
                author_id,
                notes: Vec::new(),
            },
        );
        state.emit_issue_hook(project_id, iid, author_id, "open", json!({}));
        iid
    }

    /// Replaces an issue's description (bumps `updated_at`). Emits an issue hook.
    pub fn edit_issue(&self, project_id: u64, iid: u64, description: &str) {
        let mut state = self.state();
        let now = state.tick();
        let Some(issue) = state.issue_mut(project_id, iid) else {
            return;
        };
        let previous = std::mem::replace(&mut issue.description, description.to_string());
        let previous_updated = issue.updated_ms;
        issue.updated_ms = now;
        let author = issue.author_id;
        // Like GitLab: a system note, and the earlier version kept in the description history.
        state.push_note(
            project_id,
            iid,
            author,
            "changed the description",
            false,
            true,
        );
        let changes = json!({
            "description": {"previous": previous, "current": description},
            "updated_at": {"previous": format_hook_utc(previous_updated), "current": format_hook_utc(now)},
        });
        state.emit_issue_hook(project_id, iid, author, "update", changes);
    }

    /// Makes an issue confidential or public (bumps `updated_at`, adds a system note).
    pub fn set_confidential(&self, project_id: u64, iid: u64, confidential: bool) {
        let mut state = self.state();
        let Some(author) = state
            .issue_mut(project_id, iid)
            .map(|issue| issue.author_id)
        else {
            return;
        };
        state.apply_confidential(project_id, iid, author, confidential);
    }

    /// A human comment (e.g. a maintainer's confirmation), stored as given. Emits a note hook.
    pub fn add_note_as(
        &self,
        project_id: u64,
        iid: u64,
        author_id: u64,
        body: &str,
        internal: bool,
    ) -> u64 {
        let mut state = self.state();
        state.push_note(project_id, iid, author_id, body, internal, false)
    }

    /// `user` awards emoji `name` (`thumbsup`, ...) to a note, as from the web UI; returns the
    /// award id. An Emoji Hook goes out when a webhook is set.
    pub fn award_emoji_as(
        &self,
        project_id: u64,
        iid: u64,
        note_id: u64,
        user: u64,
        name: &str,
    ) -> Option<u64> {
        let mut state = self.state();
        state.award(project_id, iid, note_id, user, name)
    }

    /// `user` changes the issue's labels, as a maintainer would by hand.
    pub fn change_labels_as(
        &self,
        project_id: u64,
        iid: u64,
        user: u64,
        add: &[&str],
        remove: &[&str],
    ) {
        let mut state = self.state();
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        let remove: Vec<String> = remove.iter().map(|s| s.to_string()).collect();
        state.change_labels(project_id, iid, None, &add, &remove);
        let now = state.tick();
        if let Some(issue) = state.issue_mut(project_id, iid) {
            issue.updated_ms = now;
        }
        let changes = json!({});
        state.emit_issue_hook(project_id, iid, user, "update", changes);
    }

    /// The issue as the client would map it, for assertions.
    pub fn issue(&self, project_id: u64, iid: u64) -> Option<Issue> {
        let state = self.state();
        let issue = state.projects.get(&project_id)?.issues.get(&iid)?;
        Some(Issue {
            id: issue.id,
            iid: issue.iid,
            project_id,
            title: issue.title.clone(),
            description: Some(issue.description.clone()),
            state: issue.state.clone(),
            confidential: issue.confidential,
            created_at: format_iso_ms(issue.created_ms),
            updated_at: format_iso_ms(issue.updated_ms),
            labels: issue.labels.clone(),
            author: state.user(issue.author_id),
            web_url: state.issue_web_url(project_id, iid),
            user_notes_count: Some(issue.notes.iter().filter(|n| !n.system).count() as u64),
        })
    }

    /// Every note of the issue, oldest first, internal and system notes included.
    pub fn notes(&self, project_id: u64, iid: u64) -> Vec<Note> {
        let state = self.state();
        let Some(issue) = state
            .projects
            .get(&project_id)
            .and_then(|p| p.issues.get(&iid))
        else {
            return Vec::new();
        };
        issue
            .notes
            .iter()
            .map(|note| Note {
                id: note.id,
                body: note.body.clone(),
                internal: note.internal,
                system: note.system,
                author: state.user(note.author_id),
                created_at: format_iso_ms(note.created_ms),
            })
            .collect()
    }

    /// The project's labels (created on demand by `add_labels` and `/label`).
    pub fn labels(&self, project_id: u64) -> Vec<String> {
        self.state()
            .projects
            .get(&project_id)
            .map(|p| p.labels.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Quick-action lines run from note bodies, in order (a leak shows here).
    pub fn executed_quick_actions(&self) -> Vec<String> {
        self.state().quick_actions.clone()
    }

    /// Injects a fault; rate limits and server errors count down per request.
    pub fn inject(&self, fault: Fault) {
        let mut state = self.state();
        match fault {
            Fault::RateLimit {
                times,
                retry_after_secs,
            } => {
                state.rate_limits_left = times;
                state.retry_after_secs = retry_after_secs;
            }
            Fault::ServerError { times } => state.server_errors_left = times,
            Fault::Latency(latency) => state.latency = latency,
            Fault::NotesListLag(lag) => state.notes_lag = lag,
            Fault::StoreThenBadGateway { times } => state.store_then_fail_left = times,
            Fault::DeleteFails { times } => state.delete_failures_left = times,
            Fault::NoteCreateFails { times } => state.note_create_failures_left = times,
            Fault::UpdateAfterNextList { project_id, iid } => {
                state.update_after_list = Some((project_id, iid));
            }
        }
    }

    /// Sets this GitLab's clock `offset_ms` away from the host's, as after an NTP step;
    /// setting it back steps the clock back (timestamps stop being monotonic, as GitLab's
    /// would).
    pub fn set_clock_offset(&self, offset_ms: i64) {
        let mut state = self.state();
        state.clock_offset_ms = offset_ms;
        state.last_ms = 0;
    }

    /// Sends hooks for issue create/edit/confidentiality change and (non-system) notes to
    /// `url`, with `X-Gitlab-Token` and/or a Standard-Webhooks signature when given.
    pub fn set_webhook(&self, url: &str, secret_token: Option<&str>, signing_token: Option<&str>) {
        self.state().webhook = Some(HookConfig {
            url: url.to_string(),
            secret_token: secret_token.map(str::to_string),
            signing_token: signing_token.map(str::to_string),
        });
    }

    /// API requests received so far (faulted ones included).
    pub fn request_count(&self) -> u64 {
        self.state().requests
    }

    /// Notes ever saved public on a confidential issue (deleted ones included).
    pub fn public_notes_created(&self) -> u64 {
        self.state().public_notes_on_confidential
    }
}

impl Drop for FakeGitLab {
    fn drop(&mut self) {
        self.server.abort();
        self.deliveries.abort();
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, FakeState> {
    // A panic while holding the lock already failed the test; keep serving what is there.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// === state ===

struct FakeState {
    base_url: String,
    /// Last timestamp handed out; every mutation gets a strictly later one.
    last_ms: i64,
    next_user_id: u64,
    next_issue_id: u64,
    next_note_id: u64,
    next_label_id: u64,
    users: BTreeMap<u64, UserRec>,
    tokens: HashMap<String, TokenRec>,
    projects: BTreeMap<u64, Project>,
    rate_limits_left: u32,
    retry_after_secs: u64,
    server_errors_left: u32,
    latency: Duration,
    notes_lag: Duration,
    update_after_list: Option<(u64, u64)>,
    clock_offset_ms: i64,
    public_notes_on_confidential: u64,
    store_then_fail_left: u32,
    delete_failures_left: u32,
    note_create_failures_left: u32,
    quick_actions: Vec<String>,
    webhook: Option<HookConfig>,
    hook_tx: mpsc::UnboundedSender<Delivery>,
    requests: u64,
    oauth: oauth::OAuthState,
}

struct UserRec {
    username: String,
    name: String,
}

struct TokenRec {
    user_id: u64,
    revoked: bool,
    /// An OAuth token with the `read_user` scope: it reads `/api/v4/user` and nothing else.
    read_user_only: bool,
}

struct Project {
    members: BTreeMap<u64, u32>,
    issues: BTreeMap<u64, IssueRec>,
    /// Label name to label ID.
    labels: BTreeMap<String, u64>,
    next_iid: u64,
}

struct IssueRec {
    id: u64,
    iid: u64,
    project_id: u64,
    title: String,
    description: String,
    state: String,
    confidential: bool,
    created_ms: i64,
    updated_ms: i64,
    closed_ms: Option<i64>,
    closed_by: Option<u64>,
    labels: Vec<String>,
    author_id: u64,
    notes: Vec<NoteRec>,
}

struct NoteRec {
    id: u64,
    body: String,
    author_id: u64,
    created_ms: i64,
    updated_ms: i64,
    system: bool,
    internal: bool,
    awards: Vec<AwardRec>,
}

struct AwardRec {
    id: u64,
    name: String,
    user_id: u64,
    created_ms: i64,
}

struct HookConfig {
    url: String,
    secret_token: Option<String>,
    signing_token: Option<String>,
}

struct Delivery {
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl FakeState {
    fn new(base_url: String, hook_tx: mpsc::UnboundedSender<Delivery>) -> FakeState {
        FakeState {
            base_url,
            last_ms: 0,
            next_user_id: 0,
            next_issue_id: 1000,
            next_note_id: 5000,
            next_label_id: 100,
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            projects: BTreeMap::new(),
            rate_limits_left: 0,
            retry_after_secs: 0,
            server_errors_left: 0,
            latency: Duration::ZERO,
            notes_lag: Duration::ZERO,
            update_after_list: None,
            clock_offset_ms: 0,
            public_notes_on_confidential: 0,
            store_then_fail_left: 0,
            delete_failures_left: 0,
            note_create_failures_left: 0,
            quick_actions: Vec::new(),
            webhook: None,
            hook_tx,
            requests: 0,
            oauth: oauth::OAuthState::default(),
        }
    }

    /// Wall-clock milliseconds, forced strictly increasing so cursors never see ties.
    fn tick(&mut self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
            + self.clock_offset_ms;
        self.last_ms = wall.max(self.last_ms + 1);
        self.last_ms
    }

    fn user(&self, id: u64) -> User {
        match self.users.get(&id) {
            Some(user) => User {
                id,
                username: user.username.clone(),
                name: user.name.clone(),
            },
            None => User {
                id,
                username: "ghost".into(),
                name: "Ghost User".into(),
            },
        }
    }

    fn access(&self, user_id: u64, project_id: u64) -> u32 {
        self.projects
            .get(&project_id)
            .and_then(|p| p.members.get(&user_id).copied())
            .unwrap_or(0)
    }

    fn can_see(&self, user_id: u64, issue: &IssueRec) -> bool {
        !issue.confidential
            || issue.author_id == user_id
            || self.access(user_id, issue.project_id) >= PLANNER
    }

    fn issue_mut(&mut self, project_id: u64, iid: u64) -> Option<&mut IssueRec> {
        self.projects.get_mut(&project_id)?.issues.get_mut(&iid)
    }

    fn ensure_label(&mut self, project_id: u64, name: &str) {
        let next = self.next_label_id + 1;
        if let Some(project) = self.projects.get_mut(&project_id) {
            if !project.labels.contains_key(name) {
                project.labels.insert(name.to_string(), next);
                self.next_label_id = next;
            }
        }
    }

    fn project_path(&self, project_id: u64) -> String {
        format!("fake/project-{project_id}")
    }

    fn issue_web_url(&self, project_id: u64, iid: u64) -> String {
        format!(
            "{}/{}/-/issues/{iid}",
            self.base_url,
            self.project_path(project_id)
        )
    }

    /// Stores a note, bumps the issue and emits a note hook unless it is a system note.
    fn push_note(
        &mut self,
        project_id: u64,
        iid: u64,
        author_id: u64,
        body: &str,
        internal: bool,
        system: bool,
    ) -> u64 {
        let now = self.tick();
        self.next_note_id += 1;
        let id = self.next_note_id;
        let Some(issue) = self.issue_mut(project_id, iid) else {
            return 0;
        };
        issue.notes.push(NoteRec {
            id,
            body: body.to_string(),
            author_id,
            created_ms: now,
            updated_ms: now,
            system,
            internal,
            awards: Vec::new(),
        });
        // Whether comments bump updated_at is unverified on GitLab; the fake does bump it.
        issue.updated_ms = now;
        if !system {
            self.emit_note_hook(project_id, iid, id);
        }
        id
    }

    fn apply_confidential(&mut self, project_id: u64, iid: u64, actor: u64, confidential: bool) {
        let now = self.tick();
        let Some(issue) = self.issue_mut(project_id, iid) else {
            return;
        };
        if issue.confidential == confidential {
            return;
        }
        issue.confidential = confidential;
        issue.updated_ms = now;
        let text = if confidential {
            "made the issue confidential"
        } else {
            "made the issue visible to everyone"
        };
        self.push_note(project_id, iid, actor, text, false, true);
        let changes = json!({"confidential": {"previous": !confidential, "current": confidential}});
        self.emit_issue_hook(project_id, iid, actor, "update", changes);
    }

    fn set_state(&mut self, project_id: u64, iid: u64, actor: u64, close: bool) -> bool {
        let now = self.tick();
        let Some(issue) = self.issue_mut(project_id, iid) else {
            return false;
        };
        let target = if close { "closed" } else { "opened" };
        if issue.state == target {
            return false;
        }
        issue.state = target.into();
        issue.updated_ms = now;
        issue.closed_ms = close.then_some(now);
        issue.closed_by = close.then_some(actor);
        let text = if close { "closed" } else { "reopened" };
        self.push_note(project_id, iid, actor, text, false, true);
        true
    }

    /// Adds and removes labels; returns whether the set changed (and the previous set).
    fn change_labels(
        &mut self,
        project_id: u64,
        iid: u64,
        replace: Option<Vec<String>>,
        add: &[String],
        remove: &[String],
    ) -> Option<Vec<String>> {
        for name in replace.iter().flatten().chain(add) {
            self.ensure_label(project_id, name);
        }
        let now = self.tick();
        let issue = self.issue_mut(project_id, iid)?;
        let previous = issue.labels.clone();
        if let Some(replace) = replace {
            issue.labels = replace;
        }
        for name in add {
            if !issue.labels.contains(name) {
                issue.labels.push(name.clone());
            }
        }
        issue.labels.retain(|label| !remove.contains(label));
        issue.labels.sort();
        issue.labels.dedup();
        if issue.labels == previous {
            return None;
        }
        issue.updated_ms = now;
        Some(previous)
    }

    // --- JSON shapes ---

    fn user_basic(&self, id: u64) -> Value {
        let user = self.user(id);
        json!({
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "state": "active",
            "locked": false,
            "avatar_url": format!("https://www.gravatar.com/avatar/{:032x}?s=80&d=identicon", user.id),
            "web_url": format!("{}/{}", self.base_url, user.username),
        })
    }

    fn issue_json(&self, issue: &IssueRec) -> Value {
        let path = self.project_path(issue.project_id);
        let api = format!("{}/api/v4/projects/{}", self.base_url, issue.project_id);
        json!({
            "id": issue.id,
            "iid": issue.iid,
            "project_id": issue.project_id,
            "title": issue.title,
            "description": issue.description,
            "state": issue.state,
            "created_at": format_iso_ms(issue.created_ms),
            "updated_at": format_iso_ms(issue.updated_ms),
            "closed_at": issue.closed_ms.map(format_iso_ms),
            "closed_by": issue.closed_by.map(|id| self.user_basic(id)),
            "labels": issue.labels,
            "milestone": null,
            "assignees": [],
            "assignee": null,
            "author": self.user_basic(issue.author_id),
            "type": "ISSUE",
            "issue_type": "issue",
            "user_notes_count": issue.notes.iter().filter(|n| !n.system).count(),
            "merge_requests_count": 0,
            "upvotes": 0,
            "downvotes": 0,
            "due_date": null,
            "confidential": issue.confidential,
            "discussion_locked": null,
            "web_url": self.issue_web_url(issue.project_id, issue.iid),
            "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null},
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_tasks": false,
            "task_status": "0 of 0 checklist items completed",
            "references": {"short": format!("#{}", issue.iid), "relative": format!("#{}", issue.iid), "full": format!("{path}#{}", issue.iid)},
            "severity": "UNKNOWN",
            "_links": {
                "self": format!("{api}/issues/{}", issue.iid),
                "notes": format!("{api}/issues/{}/notes", issue.iid),
                "award_emoji": format!("{api}/issues/{}/award_emoji", issue.iid),
                "project": api,
                "closed_as_duplicate_of": null
            },
            "subscribed": false,
            "moved_to_id": null,
            "service_desk_reply_to": null,
            "imported": false,
            "imported_from": "none",
        })
    }

    fn note_json(&self, issue: &IssueRec, note: &NoteRec) -> Value {
        json!({
            "id": note.id,
            "type": null,
            "body": note.body,
            "attachment": null,
            "author": self.user_basic(note.author_id),
            "created_at": format_iso_ms(note.created_ms),
            "updated_at": format_iso_ms(note.updated_ms),
            "system": note.system,
            "noteable_id": issue.id,
            "noteable_type": "Issue",
            "project_id": issue.project_id,
            "resolvable": false,
            "confidential": note.internal,
            "internal": note.internal,
            "imported": false,
            "imported_from": "none",
            "noteable_iid": issue.iid,
            "commands_changes": {},
        })
    }

    fn hook_user(&self, id: u64) -> Value {
        let user = self.user(id);
        json!({
            "id": user.id,
            "name": user.name,
            "username": user.username,
            "avatar_url": format!("https://www.gravatar.com/avatar/{:032x}?s=80&d=identicon", user.id),
            "email": "[REDACTED]",
        })
    }

    fn hook_project(&self, project_id: u64) -> Value {
        let path = self.project_path(project_id);
        let web = format!("{}/{path}", self.base_url);
        json!({
            "id": project_id,
            "name": format!("project-{project_id}"),
            "description": "",
            "web_url": web,
            "avatar_url": null,
            "git_ssh_url": format!("git@127.0.0.1:{path}.git"),
            "git_http_url": format!("{web}.git"),
            "namespace": "fake",
            "visibility_level": 20,
            "path_with_namespace": path,
            "default_branch": "master",
            "ci_config_path": null,
            "homepage": web,
            "url": format!("{web}.git"),
            "ssh_url": format!("git@127.0.0.1:{path}.git"),
            "http_url": format!("{web}.git"),
        })
    }

    fn hook_labels(&self, project_id: u64, names: &[String], at_ms: i64) -> Value {
        let labels = self.projects.get(&project_id).map(|p| &p.labels);
        Value::Array(
            names
                .iter()
                .map(|name| {
                    json!({
                        "id": labels.and_then(|l| l.get(name)).copied().unwrap_or(0),
                        "title": name,
                        "color": "#6699cc",
                        "project_id": project_id,
                        "created_at": format_iso_ms(at_ms),
                        "updated_at": format_iso_ms(at_ms),
                        "template": false,
                        "description": null,
                        "type": "ProjectLabel",
                        "group_id": null
                    })
                })
                .collect(),
        )
    }

    // --- webhooks ---

    fn emit_issue_hook(
        &mut self,
        project_id: u64,
        iid: u64,
        actor: u64,
        action: &str,
        changes: Value,
    ) {
        if self.webhook.is_none() {
            return;
        }
        let Some(issue) = self
            .projects
            .get(&project_id)
            .and_then(|p| p.issues.get(&iid))
        else {
            return;
        };
        let labels = self.hook_labels(project_id, &issue.labels, issue.created_ms);
        let body = json!({
            "object_kind": "issue",
            "event_type": if issue.confidential { "confidential_issue" } else { "issue" },
            "user": self.hook_user(actor),
            "project": self.hook_project(project_id),
            "object_attributes": {
                "id": issue.id,
                "title": issue.title,
                "assignee_ids": [],
                "assignee_id": null,
                "author_id": issue.author_id,
                "project_id": project_id,
                // REST-style dates here, the older UTC form in note hooks: parsers need both.
                "created_at": format_iso_ms(issue.created_ms),
                "updated_at": format_iso_ms(issue.updated_ms),
                "updated_by_id": actor,
                "last_edited_at": null,
                "last_edited_by_id": null,
                "relative_position": 0,
                "description": issue.description,
                "milestone_id": null,
                "state_id": if issue.state == "closed" { 2 } else { 1 },
                "confidential": issue.confidential,
                "discussion_locked": null,
                "due_date": null,
                "moved_to_id": null,
                "duplicated_to_id": null,
                "time_estimate": 0,
                "total_time_spent": 0,
                "time_change": 0,
                "human_total_time_spent": null,
                "human_time_estimate": null,
                "human_time_change": null,
                "weight": null,
                "type": "Issue",
                "iid": iid,
                "url": self.issue_web_url(project_id, iid),
                "state": issue.state,
                "action": action,
                "severity": "unknown",
                "labels": labels,
            },
            "repository": {"name": format!("project-{project_id}"), "url": format!("{}/{}.git", self.base_url, self.project_path(project_id)), "description": "", "homepage": format!("{}/{}", self.base_url, self.project_path(project_id))},
            "assignees": [],
            "labels": labels,
            "changes": changes,
        });
        let event = if issue.confidential {
            "Confidential Issue Hook"
        } else {
            "Issue Hook"
        };
        self.queue_hook(event, &body);
    }

    fn award(
        &mut self,
        project_id: u64,
        iid: u64,
        note_id: u64,
        user: u64,
        name: &str,
    ) -> Option<u64> {
        let now = self.tick();
        self.next_note_id += 1;
        let award_id = self.next_note_id;
        let issue = self.issue_mut(project_id, iid)?;
        let note = issue.notes.iter_mut().find(|n| n.id == note_id)?;
        if note
            .awards
            .iter()
            .any(|a| a.user_id == user && a.name == name)
        {
            return None;
        }
        note.awards.push(AwardRec {
            id: award_id,
            name: name.to_string(),
            user_id: user,
            created_ms: now,
        });
        self.emit_emoji_hook(project_id, iid, note_id, award_id);
        Some(award_id)
    }

    fn award_json(&self, note_id: u64, award: &AwardRec) -> Value {
        json!({
            "id": award.id,
            "name": award.name,
            "user": self.user_basic(award.user_id),
            "created_at": format_iso_ms(award.created_ms),
            "updated_at": format_iso_ms(award.created_ms),
            "awardable_id": note_id,
            "awardable_type": "Note",
        })
    }

    fn emit_emoji_hook(&mut self, project_id: u64, iid: u64, note_id: u64, award_id: u64) {
        if self.webhook.is_none() {
            return;
        }
        let Some(issue) = self
            .projects
            .get(&project_id)
            .and_then(|p| p.issues.get(&iid))
        else {
            return;
        };
        let Some(note) = issue.notes.iter().find(|n| n.id == note_id) else {
            return;
        };
        let Some(award) = note.awards.iter().find(|a| a.id == award_id) else {
            return;
        };
        let body = json!({
            "object_kind": "emoji",
            "event_type": "award",
            "user": self.hook_user(award.user_id),
            "project_id": project_id,
            "project": self.hook_project(project_id),
            "object_attributes": {
                "id": award.id,
                "name": award.name,
                "user_id": award.user_id,
                "awardable_type": "Note",
                "awardable_id": note.id,
                "action": "award",
                "created_at": format_hook_utc(award.created_ms),
                "updated_at": format_hook_utc(award.created_ms),
            },
            "note": {"id": note.id, "noteable_type": "Issue", "noteable_id": issue.id, "project_id": project_id},
            "issue": {"id": issue.id, "iid": iid, "project_id": project_id, "confidential": issue.confidential, "state": issue.state},
        });
        self.queue_hook("Emoji Hook", &body);
    }

    fn emit_note_hook(&mut self, project_id: u64, iid: u64, note_id: u64) {
        if self.webhook.is_none() {
            return;
        }
        let Some(issue) = self
            .projects
            .get(&project_id)
            .and_then(|p| p.issues.get(&iid))
        else {
            return;
        };
        let Some(note) = issue.notes.iter().find(|n| n.id == note_id) else {
            return;
        };
        let confidential = note.internal || issue.confidential;
        let body = json!({
            "object_kind": "note",
            "event_type": if confidential { "confidential_note" } else { "note" },
            "user": self.hook_user(note.author_id),
            "project_id": project_id,
            "project": self.hook_project(project_id),
            "repository": {"name": format!("project-{project_id}"), "url": format!("{}/{}.git", self.base_url, self.project_path(project_id)), "description": "", "homepage": format!("{}/{}", self.base_url, self.project_path(project_id))},
            // Like GitLab's, no `internal` field: receivers must fetch the note by REST.
            "object_attributes": {
                "id": note.id,
                "note": note.body,
                "noteable_type": "Issue",
                "author_id": note.author_id,
                "created_at": format_hook_utc(note.created_ms),
                "updated_at": format_hook_utc(note.updated_ms),
                "project_id": project_id,
                "attachment": null,
                "line_code": null,
                "commit_id": "",
                "noteable_id": issue.id,
                "system": false,
                "st_diff": null,
                "action": "create",
                "url": format!("{}#note_{}", self.issue_web_url(project_id, iid), note.id),
                "discussion_id": format!("{:040x}", note.id),
                "type": null,
                "description": note.body,
                "updated_by_id": null,
            },
            "issue": {
                "id": issue.id,
                "title": issue.title,
                "assignee_ids": [],
                "assignee_id": null,
                "author_id": issue.author_id,
                "project_id": project_id,
                "created_at": format_hook_utc(issue.created_ms),
                "updated_at": format_hook_utc(issue.updated_ms),
                "position": 0,
                "branch_name": null,
                "description": issue.description,
                "milestone_id": null,
                "state": issue.state,
                "iid": iid,
                "confidential": issue.confidential,
                "labels": self.hook_labels(project_id, &issue.labels, issue.created_ms),
            },
        });
        let event = if confidential {
            "Confidential Note Hook"
        } else {
            "Note Hook"
        };
        self.queue_hook(event, &body);
    }

    fn queue_hook(&self, event: &str, body: &Value) {
        let Some(hook) = &self.webhook else {
            return;
        };
        let body = body.to_string().into_bytes();
        let id = uuid_v4();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut headers = vec![
            ("Content-Type", "application/json".to_string()),
            ("User-Agent", "GitLab/19.5.0-fake".to_string()),
            ("X-Gitlab-Event", event.to_string()),
            ("X-Gitlab-Instance", self.base_url.clone()),
            ("X-Gitlab-Webhook-UUID", uuid_v4()),
            ("X-Gitlab-Event-UUID", uuid_v4()),
            ("Idempotency-Key", id.clone()),
            ("webhook-id", id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
        ];
        if let Some(secret) = &hook.secret_token {
            headers.push(("X-Gitlab-Token", secret.clone()));
        }
        if let Some(signing) = &hook.signing_token {
            headers.push((
                "webhook-signature",
                sign_webhook(signing, &id, timestamp, &body),
            ));
        }
        // The receiver may be gone in a test; a lost delivery is what GitLab would log too.
        let _ = self.hook_tx.send(Delivery {
            url: hook.url.clone(),
            headers,
            body,
        });
    }
}

async fn deliver_hooks(mut rx: mpsc::UnboundedReceiver<Delivery>) {
    let http = reqwest::Client::new();
    while let Some(delivery) = rx.recv().await {
        let mut request = http.post(&delivery.url).body(delivery.body);
        for (name, value) in &delivery.headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(resp) => tracing::debug!(
                status = resp.status().as_u16(),
                "fake GitLab delivered a webhook"
            ),
            Err(err) => tracing::debug!(error = %err, "fake GitLab webhook delivery failed"),
        }
    }
}

fn uuid_v4() -> String {
    let bits = rand::rng().random::<u128>();
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn title_case(username: &str) -> String {
    let mut chars = username.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// === HTTP layer ===

/// The authenticated user of a request, set by [`gate`].
#[derive(Clone, Copy)]
struct AuthUser(u64);

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/api/v4/user", get(get_current_user))
        .route("/api/v4/projects/{project}/issues", get(list_issues))
        .route(
            "/api/v4/projects/{project}/issues/{iid}",
            get(get_issue).put(put_issue),
        )
        .route(
            "/api/v4/projects/{project}/issues/{iid}/notes",
            get(list_notes).post(post_note),
        )
        .route(
            "/api/v4/projects/{project}/issues/{iid}/notes/{note}",
            get(get_note).put(put_note).delete(delete_note),
        )
        .route(
            "/api/v4/projects/{project}/issues/{iid}/notes/{note}/award_emoji",
            get(list_note_awards).post(post_note_award),
        )
        .route(
            "/api/v4/projects/{project}/members/all/{user}",
            get(get_member),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, json!({"error": "404 Not Found"})) })
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .layer(middleware::map_response(lone_surrogates))
        .with_state(shared.clone())
        .merge(oauth::routes(shared))
}

/// Serves [`LONE_SURROGATE`] as the JSON escape `\ud800`, which no Rust string can hold.
async fn lone_surrogates(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let needle = LONE_SURROGATE.as_bytes();
    if !bytes.windows(needle.len()).any(|w| w == needle) {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let text = String::from_utf8_lossy(&bytes).replace(LONE_SURROGATE, "\\ud800");
    let mut parts = parts;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(text))
}

/// Counts requests, applies injected faults (before auth, like Rack::Attack) and resolves the
/// token to a user.
async fn gate(State(shared): State<Shared>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get("private-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string)
        });
    let (latency, outcome) = {
        let mut state = lock(&shared);
        state.requests += 1;
        let outcome = if state.rate_limits_left > 0 {
            state.rate_limits_left -= 1;
            Err(too_many_requests(state.retry_after_secs))
        } else if state.server_errors_left > 0 {
            state.server_errors_left -= 1;
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"message": "500 Internal Server Error"}),
            ))
        } else {
            match token.as_deref().and_then(|t| state.tokens.get(t)) {
                Some(rec) if rec.read_user_only && request.uri().path() != "/api/v4/user" => {
                    Err(error(
                        StatusCode::FORBIDDEN,
                        json!({"error": "insufficient_scope", "error_description": "The request requires higher privileges than provided by the access token.", "scope": "api read_api"}),
                    ))
                }
                Some(rec) if !rec.revoked => Ok(AuthUser(rec.user_id)),
                Some(_) => Err(unauthorized(
                    "Token was revoked. You have to re-authorize from the user.",
                )),
                None => Err(unauthorized(
                    "Token is expired. You can either do re-authorization or token refresh.",
                )),
            }
        };
        (state.latency, outcome)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match outcome {
        Ok(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(response) => response,
    }
}

/// An error status and GitLab-shaped body, small enough to return in a `Result`.
struct Rejection(StatusCode, Value);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

fn error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn unauthorized(description: &str) -> Response {
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        json!({"error": "invalid_token", "error_description": description}),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer realm=\"Protected by OAuth 2.0\", error=\"invalid_token\"",
        ),
    );
    response
}

fn too_many_requests(retry_after_secs: u64) -> Response {
    let now = SystemTime::now();
    let reset = now + Duration::from_secs(retry_after_secs);
    let reset_unix = reset.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/plain")],
        "Retry later\n",
    )
        .into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        ("retry-after", retry_after_secs.to_string()),
        ("ratelimit-name", "throttle_authenticated_api".to_string()),
        ("ratelimit-limit", "2000".to_string()),
        ("ratelimit-observed", "2001".to_string()),
        ("ratelimit-remaining", "0".to_string()),
        ("ratelimit-reset", reset_unix.to_string()),
        ("ratelimit-resettime", httpdate::fmt_http_date(reset)),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn project_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        json!({"message": "404 Project Not Found"}),
    )
}

fn issue_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        json!({"message": "404 Issue Not Found"}),
    )
}

/// Request parameters from the query string, a form body or a JSON body, merged (body wins).
struct Params(HashMap<String, Vec<String>>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name)?.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "t" => Some(true),
            "false" | "0" | "no" | "f" => Some(false),
            _ => None,
        }
    }

    fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    fn insert(&mut self, key: &str, value: String) {
        let key = key.strip_suffix("[]").unwrap_or(key).to_string();
        self.0.entry(key).or_default().push(value);
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut params = Params(HashMap::new());
        if let Some(query) = request.uri().query() {
            for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                params.insert(&key, value.into_owned());
            }
        }
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if body.is_empty() {
            return Ok(params);
        }
        if content_type.starts_with("application/json") {
            let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&body) else {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "The provided content-type 'application/json' does not match the body"}),
                ));
            };
            for (key, value) in map {
                let values = match value {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                for value in values {
                    match value {
                        Value::Null => {}
                        Value::String(text) => params.insert(&key, text),
                        other => params.insert(&key, other.to_string()),
                    }
                }
            }
        } else {
            for (key, value) in url::form_urlencoded::parse(&body) {
                params.insert(&key, value.into_owned());
            }
        }
        Ok(params)
    }
}

fn parse_id(text: &str) -> Option<u64> {
    text.parse().ok()
}

/// Offset pagination: slices `items` and adds GitLab's `Link` and `x-*` headers.
fn paginate(base_url: &str, uri: &Uri, params: &Params, items: Vec<Value>) -> Response {
    let per_page = params
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map_or(DEFAULT_PER_PAGE, |n| n.min(MAX_PER_PAGE));
    let page = params
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let total = items.len();
    let total_pages = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let link_to = |target: usize| -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(original) = uri.query() {
            for (key, value) in url::form_urlencoded::parse(original.as_bytes()) {
                if key != "page" && key != "per_page" {
                    query.append_pair(&key, &value);
                }
            }
        }
        query.append_pair("page", &target.to_string());
        query.append_pair("per_page", &per_page.to_string());
        format!("<{base_url}{}?{}>", uri.path(), query.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if page < total_pages {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
    }
    links.push(format!("{}; rel=\"first\"", link_to(1)));
    links.push(format!("{}; rel=\"last\"", link_to(total_pages)));
    let mut response = Json(Value::Array(slice)).into_response();
    let headers = response.headers_mut();
    let next = if page < total_pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let prev = if page > 1 {
        (page - 1).to_string()
    } else {
        String::new()
    };
    for (name, value) in [
        ("link", links.join(", ")),
        ("x-page", page.to_string()),
        ("x-per-page", per_page.to_string()),
        ("x-total", total.to_string()),
        ("x-total-pages", total_pages.to_string()),
        ("x-next-page", next),
        ("x-prev-page", prev),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

// === handlers ===

async fn get_current_user(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
) -> Response {
    let state = lock(&shared);
    let mut body = state.user_basic(user);
    body["bot"] = json!(false);
    Json(body).into_response()
}

/// A time filter parameter, or the 400 GitLab gives for a malformed one.
fn time_param(params: &Params, name: &str) -> Result<Option<i64>, Rejection> {
    match params.get(name) {
        None => Ok(None),
        Some(text) => parse_to_unix_ms(text).map(Some).ok_or_else(|| {
            Rejection(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("{name} is invalid")}),
            )
        }),
    }
}

async fn list_issues(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path(project): Path<String>,
    uri: Uri,
    params: Params,
) -> Response {
    let state = lock(&shared);
    let Some(project) = parse_id(&project).and_then(|id| state.projects.get(&id)) else {
        return project_not_found();
    };
    let mut filters = [None; 4];
    for (slot, name) in filters.iter_mut().zip([
        "created_after",
        "created_before",
        "updated_after",
        "updated_before",
    ]) {
        match time_param(&params, name) {
            Ok(value) => *slot = value,
            Err(rejection) => return rejection.into_response(),
        }
    }
    let [created_after, created_before, updated_after, updated_before] = filters;
    let confidential = params.flag("confidential");
    let wanted_state = params.get("state").unwrap_or("all");
    let wanted_labels = params.list("labels").unwrap_or_default();
    let mut issues: Vec<&IssueRec> = project
        .issues
        .values()
        .filter(|issue| state.can_see(user, issue))
        .filter(|issue| confidential.is_none_or(|c| issue.confidential == c))
        .filter(|issue| wanted_state == "all" || issue.state == wanted_state)
        .filter(|issue| wanted_labels.iter().all(|l| issue.labels.contains(l)))
        // GitLab's time filters are inclusive ("on or after").
        .filter(|issue| created_after.is_none_or(|t| issue.created_ms >= t))
        .filter(|issue| created_before.is_none_or(|t| issue.created_ms <= t))
        .filter(|issue| updated_after.is_none_or(|t| issue.updated_ms >= t))
        .filter(|issue| updated_before.is_none_or(|t| issue.updated_ms <= t))
        .collect();
    let order_by = params.get("order_by").unwrap_or("created_at");
    issues.sort_by(|a, b| {
        let key = match order_by {
            "updated_at" => a.updated_ms.cmp(&b.updated_ms),
            "title" => a.title.cmp(&b.title),
            _ => a.created_ms.cmp(&b.created_ms),
        };
        key.then(a.id.cmp(&b.id))
    });
    if params.get("sort").unwrap_or("desc") != "asc" {
        issues.reverse();
    }
    let items = issues.iter().map(|issue| state.issue_json(issue)).collect();
    let response = paginate(&state.base_url, &uri, &params, items);
    let mut state = state;
    if let Some((project_id, iid)) = state.update_after_list.take() {
        let now = state.tick();
        if let Some(issue) = state.issue_mut(project_id, iid) {
            issue.updated_ms = now;
        }
    }
    response
}

/// Looks up a visible issue, or the 404 GitLab gives for missing and hidden ones alike.
fn visible_issue<'a>(
    state: &'a FakeState,
    user: u64,
    project: &str,
    iid: &str,
) -> Result<&'a IssueRec, Rejection> {
    let project = parse_id(project)
        .and_then(|id| state.projects.get(&id))
        .ok_or_else(|| {
            Rejection(
                StatusCode::NOT_FOUND,
                json!({"message": "404 Project Not Found"}),
            )
        })?;
    parse_id(iid)
        .and_then(|iid| project.issues.get(&iid))
        .filter(|issue| state.can_see(user, issue))
        .ok_or_else(|| {
            Rejection(
                StatusCode::NOT_FOUND,
                json!({"message": "404 Issue Not Found"}),
            )
        })
}

async fn get_issue(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid)): Path<(String, String)>,
) -> Response {
    let state = lock(&shared);
    match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => Json(state.issue_json(issue)).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn put_issue(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid)): Path<(String, String)>,
    params: Params,
) -> Response {
    let mut state = lock(&shared);
    let (project_id, iid, author_id) = match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => (issue.project_id, issue.iid, issue.author_id),
        Err(rejection) => return rejection.into_response(),
    };
    const EDITABLE: [&str; 8] = [
        "title",
        "description",
        "labels",
        "add_labels",
        "remove_labels",
        "confidential",
        "state_event",
        "discussion_locked",
    ];
    if !EDITABLE.iter().any(|name| params.get(name).is_some()) {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"error": "assignee_id, assignee_ids, confidential, created_at, description, discussion_locked, due_date, labels, add_labels, remove_labels, milestone_id, state_event, title, issue_type are missing, at least one parameter must be provided"}),
        );
    }
    let can_admin = state.access(user, project_id) >= PLANNER;
    if !can_admin && author_id != user {
        return error(StatusCode::FORBIDDEN, json!({"message": "403 Forbidden"}));
    }
    let mut changes = serde_json::Map::new();
    let mut action = "update";
    if let Some(title) = params.get("title") {
        let now = state.tick();
        if let Some(issue) = state.issue_mut(project_id, iid) {
            let previous = std::mem::replace(&mut issue.title, title.to_string());
            issue.updated_ms = now;
            changes.insert(
                "title".into(),
                json!({"previous": previous, "current": title}),
            );
        }
    }
    if let Some(description) = params.get("description") {
        let now = state.tick();
        if let Some(issue) = state.issue_mut(project_id, iid) {
            let previous = std::mem::replace(&mut issue.description, description.to_string());
            issue.updated_ms = now;
            changes.insert(
                "description".into(),
                json!({"previous": previous, "current": description}),
            );
        }
    }
    // Like GitLab, fields needing admin_issue are ignored (not refused) for the author alone.
    if can_admin {
        let replace = params.list("labels");
        let add = params.list("add_labels").unwrap_or_default();
        let remove = params.list("remove_labels").unwrap_or_default();
        if replace.is_some() || !add.is_empty() || !remove.is_empty() {
            if let Some(previous) = state.change_labels(project_id, iid, replace, &add, &remove) {
                let current = state
                    .projects
                    .get(&project_id)
                    .and_then(|p| p.issues.get(&iid))
                    .map(|i| i.labels.clone())
                    .unwrap_or_default();
                let now = state.last_ms;
                changes.insert(
                    "labels".into(),
                    json!({"previous": state.hook_labels(project_id, &previous, now), "current": state.hook_labels(project_id, &current, now)}),
                );
            }
        }
        if let Some(event) = params.get("state_event") {
            let close = event == "close";
            if (close || event == "reopen") && state.set_state(project_id, iid, user, close) {
                action = if close { "close" } else { "reopen" };
            }
        }
    }
    if let Some(confidential) = params.flag("confidential") {
        // Needs admin_issue (Planner/Reporter and up) like labels; ignored for the author alone.
        if can_admin {
            // apply_confidential emits its own hook, carrying changes.confidential.
            state.apply_confidential(project_id, iid, user, confidential);
        }
    }
    if !changes.is_empty() || action != "update" {
        state.emit_issue_hook(project_id, iid, user, action, Value::Object(changes));
    }
    match state
        .projects
        .get(&project_id)
        .and_then(|p| p.issues.get(&iid))
    {
        Some(issue) => Json(state.issue_json(issue)).into_response(),
        None => issue_not_found(),
    }
}

async fn list_notes(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid)): Path<(String, String)>,
    uri: Uri,
    params: Params,
) -> Response {
    let state = lock(&shared);
    let issue = match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => issue,
        Err(rejection) => return rejection.into_response(),
    };
    let can_read_internal = state.access(user, issue.project_id) >= PLANNER;
    let listed_before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
        - state.notes_lag.as_millis() as i64;
    let mut notes: Vec<&NoteRec> = issue
        .notes
        .iter()
        .filter(|note| can_read_internal || !note.internal)
        .filter(|note| state.notes_lag.is_zero() || note.created_ms <= listed_before)
        .collect();
    let by_updated = params.get("order_by") == Some("updated_at");
    notes.sort_by_key(|note| {
        (
            if by_updated {
                note.updated_ms
            } else {
                note.created_ms
            },
            note.id,
        )
    });
    // GitLab's default is newest first.
    if params.get("sort").unwrap_or("desc") != "asc" {
        notes.reverse();
    }
    let items = notes
        .iter()
        .map(|note| state.note_json(issue, note))
        .collect();
    paginate(&state.base_url, &uri, &params, items)
}

async fn get_note(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid, note)): Path<(String, String, String)>,
) -> Response {
    let state = lock(&shared);
    let issue = match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => issue,
        Err(rejection) => return rejection.into_response(),
    };
    let can_read_internal = state.access(user, issue.project_id) >= PLANNER;
    match issue
        .notes
        .iter()
        .find(|n| Some(n.id) == parse_id(&note) && (can_read_internal || !n.internal))
    {
        Some(note) => Json(state.note_json(issue, note)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            json!({"message": "404 Note Not Found"}),
        ),
    }
}

async fn post_note(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid)): Path<(String, String)>,
    params: Params,
) -> Response {
    let mut state = lock(&shared);
    let (project_id, iid) = match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => (issue.project_id, issue.iid),
        Err(rejection) => return rejection.into_response(),
    };
    let Some(body) = params.get("body").map(str::to_string) else {
        return error(StatusCode::BAD_REQUEST, json!({"error": "body is missing"}));
    };
    if state.note_create_failures_left > 0 {
        state.note_create_failures_left -= 1;
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "500 Internal Server Error"}),
        );
    }
    if body.chars().count() > MAX_NOTE_CHARS {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"message": {"note": ["is too long (maximum is 1000000 characters)"]}}),
        );
    }
    let can_admin = state.access(user, project_id) >= PLANNER;
    // `internal` wins over the deprecated `confidential`; both are dropped silently, and the
    // note saved public, for users who may not create internal notes. This is GitLab's trap.
    let requested_internal = params
        .flag("internal")
        .or_else(|| params.flag("confidential"))
        .unwrap_or(false);
    let internal = requested_internal && can_admin;
    let (remaining, summary) =
        run_quick_actions(&mut state, project_id, iid, user, can_admin, &body);
    if remaining.trim().is_empty() {
        if summary.is_empty() {
            return error(StatusCode::BAD_REQUEST, json!({"error": "body is empty"}));
        }
        return (
            StatusCode::ACCEPTED,
            Json(json!({"commands_changes": {}, "summary": summary})),
        )
            .into_response();
    }
    let note_id = state.push_note(project_id, iid, user, &remaining, internal, false);
    let confidential = state
        .projects
        .get(&project_id)
        .and_then(|p| p.issues.get(&iid))
        .is_some_and(|i| i.confidential);
    if confidential && !internal {
        state.public_notes_on_confidential += 1;
    }
    if state.store_then_fail_left > 0 {
        state.store_then_fail_left -= 1;
        return error(
            StatusCode::BAD_GATEWAY,
            json!({"message": "502 Bad Gateway"}),
        );
    }
    let issue = state
        .projects
        .get(&project_id)
        .and_then(|p| p.issues.get(&iid));
    match issue.and_then(|issue| {
        issue
            .notes
            .iter()
            .find(|n| n.id == note_id)
            .map(|n| (issue, n))
    }) {
        Some((issue, note)) => {
            (StatusCode::CREATED, Json(state.note_json(issue, note))).into_response()
        }
        None => issue_not_found(),
    }
}

async fn put_note(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid, note)): Path<(String, String, String)>,
    params: Params,
) -> Response {
    let mut state = lock(&shared);
    let (project_id, iid) = match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => (issue.project_id, issue.iid),
        Err(rejection) => return rejection.into_response(),
    };
    let Some(body) = params.get("body").map(str::to_string) else {
        return error(StatusCode::BAD_REQUEST, json!({"error": "body is missing"}));
    };
    let now = state.tick();
    let note_id = parse_id(&note);
    let Some(issue) = state.issue_mut(project_id, iid) else {
        return issue_not_found();
    };
    let Some(note) = issue
        .notes
        .iter_mut()
        .find(|n| Some(n.id) == note_id && !n.system)
    else {
        return error(
            StatusCode::NOT_FOUND,
            json!({"message": "404 Note Not Found"}),
        );
    };
    if note.author_id != user {
        return error(StatusCode::FORBIDDEN, json!({"message": "403 Forbidden"}));
    }
    note.body = body;
    note.updated_ms = now;
    let note_id = note.id;
    let issue = state
        .projects
        .get(&project_id)
        .and_then(|p| p.issues.get(&iid));
    match issue.and_then(|issue| {
        issue
            .notes
            .iter()
            .find(|n| n.id == note_id)
            .map(|n| (issue, n))
    }) {
        Some((issue, note)) => Json(state.note_json(issue, note)).into_response(),
        None => issue_not_found(),
    }
}

async fn delete_note(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid, note)): Path<(String, String, String)>,
) -> Response {
    let mut state = lock(&shared);
    let (project_id, iid) = match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => (issue.project_id, issue.iid),
        Err(rejection) => return rejection.into_response(),
    };
    if state.delete_failures_left > 0 {
        state.delete_failures_left -= 1;
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "500 Internal Server Error"}),
        );
    }
    let is_maintainer = state.access(user, project_id) >= MAINTAINER;
    let note_id = parse_id(&note);
    let Some(issue) = state.issue_mut(project_id, iid) else {
        return issue_not_found();
    };
    let Some(index) = issue
        .notes
        .iter()
        .position(|n| Some(n.id) == note_id && !n.system)
    else {
        return error(
            StatusCode::NOT_FOUND,
            json!({"message": "404 Note Not Found"}),
        );
    };
    if issue.notes[index].author_id != user && !is_maintainer {
        return error(StatusCode::FORBIDDEN, json!({"message": "403 Forbidden"}));
    }
    issue.notes.remove(index);
    StatusCode::NO_CONTENT.into_response()
}

async fn list_note_awards(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid, note)): Path<(String, String, String)>,
    uri: Uri,
    params: Params,
) -> Response {
    let state = lock(&shared);
    let issue = match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => issue,
        Err(rejection) => return rejection.into_response(),
    };
    let can_read_internal = state.access(user, issue.project_id) >= PLANNER;
    let Some(note) = issue
        .notes
        .iter()
        .find(|n| Some(n.id) == parse_id(&note) && (can_read_internal || !n.internal))
    else {
        return error(StatusCode::NOT_FOUND, json!({"message": "404 Not found"}));
    };
    let items = note
        .awards
        .iter()
        .map(|a| state.award_json(note.id, a))
        .collect();
    paginate(&state.base_url, &uri, &params, items)
}

async fn post_note_award(
    State(shared): State<Shared>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path((project, iid, note)): Path<(String, String, String)>,
    params: Params,
) -> Response {
    let mut state = lock(&shared);
    let (project_id, iid) = match visible_issue(&state, user, &project, &iid) {
        Ok(issue) => (issue.project_id, issue.iid),
        Err(rejection) => return rejection.into_response(),
    };
    let Some(name) = params.get("name").map(str::to_string) else {
        return error(StatusCode::BAD_REQUEST, json!({"error": "name is missing"}));
    };
    let Some(note_id) = parse_id(&note) else {
        return error(StatusCode::NOT_FOUND, json!({"message": "404 Not found"}));
    };
    match state.award(project_id, iid, note_id, user, &name) {
        Some(award_id) => {
            let issue = state
                .projects
                .get(&project_id)
                .and_then(|p| p.issues.get(&iid));
            let award = issue
                .and_then(|i| i.notes.iter().find(|n| n.id == note_id))
                .and_then(|n| {
                    n.awards
                        .iter()
                        .find(|a| a.id == award_id)
                        .map(|a| state.award_json(n.id, a))
                });
            (StatusCode::CREATED, Json(award.unwrap_or(Value::Null))).into_response()
        }
        None => error(
            StatusCode::NOT_FOUND,
            json!({"message": "404 Award Emoji Name has already been taken"}),
        ),
    }
}

async fn get_member(
    State(shared): State<Shared>,
    Extension(AuthUser(_user)): Extension<AuthUser>,
    Path((project, member)): Path<(String, String)>,
) -> Response {
    let state = lock(&shared);
    let Some(project) = parse_id(&project).and_then(|id| state.projects.get(&id)) else {
        return project_not_found();
    };
    let member = parse_id(&member);
    match member.and_then(|id| project.members.get(&id).map(|level| (id, *level))) {
        Some((id, access_level)) => {
            let mut body = state.user_basic(id);
            body["access_level"] = json!(access_level);
            body["created_at"] = json!(format_iso_ms(0));
            body["created_by"] = state.user_basic(id);
            body["expires_at"] = Value::Null;
            body["group_saml_identity"] = Value::Null;
            Json(body).into_response()
        }
        None => error(StatusCode::NOT_FOUND, json!({"message": "404 Not found"})),
    }
}

// === quick actions ===

/// Runs `^/\w+` lines of a note body as quick actions and returns the body without them plus
/// GitLab-style summaries. Every command line is recorded, permitted or not: a command that
/// reached GitLab is a leak whatever its effect. Only `/confidential`, `/close`, `/reopen`,
/// `/label`, `/unlabel` and `/relabel` have effects here.
fn run_quick_actions(
    state: &mut FakeState,
    project_id: u64,
    iid: u64,
    user: u64,
    can_admin: bool,
    body: &str,
) -> (String, Vec<String>) {
    let body = body.replace('\r', "");
    let mut kept = Vec::new();
    let mut summary = Vec::new();
    for line in body.split('\n') {
        let Some(command) = quick_action(line) else {
            kept.push(line);
            continue;
        };
        state.quick_actions.push(line.trim().to_string());
        let args = line.trim()[1 + command.len()..].trim();
        let command = command.to_ascii_lowercase();
        if !can_admin {
            continue;
        }
        match command.as_str() {
            "confidential" => {
                state.apply_confidential(project_id, iid, user, true);
                summary.push("Made this issue confidential.".to_string());
            }
            "close" | "reopen" => {
                let close = command == "close";
                if state.set_state(project_id, iid, user, close) {
                    let action = if close { "close" } else { "reopen" };
                    state.emit_issue_hook(project_id, iid, user, action, json!({}));
                }
                summary.push(
                    if close {
                        "Closed this issue."
                    } else {
                        "Reopened this issue."
                    }
                    .to_string(),
                );
            }
            "label" | "unlabel" | "relabel" => {
                let names = label_args(args);
                let (replace, add, remove) = match command.as_str() {
                    "label" => (None, names.clone(), Vec::new()),
                    "relabel" => (Some(names.clone()), Vec::new(), Vec::new()),
                    _ if names.is_empty() => (Some(Vec::new()), Vec::new(), Vec::new()),
                    _ => (None, Vec::new(), names.clone()),
                };
                if let Some(previous) = state.change_labels(project_id, iid, replace, &add, &remove)
                {
                    let now = state.last_ms;
                    let changes = json!({"labels": {"previous": state.hook_labels(project_id, &previous, now)}});
                    state.emit_issue_hook(project_id, iid, user, "update", changes);
                }
                let list: Vec<String> = names.iter().map(|n| format!("~{n}")).collect();
                summary.push(format!("Ran /{command} {}.", list.join(" ")));
            }
            _ => summary.push(format!("Ran /{command}.")),
        }
    }
    (kept.join("\n"), summary)
}

/// The command name if the line is a quick action (`/` then word characters, at line start).
fn quick_action(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('/')?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// `~a ~"b c" d` into label names.
fn label_args(args: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = args.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches('~');
        let (name, tail) = if let Some(quoted) = rest.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match rest.find(char::is_whitespace) {
                Some(end) => (&rest[..end], &rest[end..]),
                None => (rest, ""),
            }
        };
        if !name.is_empty() {
            names.push(name.to_string());
        }
        rest = tail.trim_start();
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_action_lines() {
        assert_eq!(quick_action("/label ~x"), Some("label"));
        assert_eq!(quick_action("/CLOSE"), Some("CLOSE"));
        assert_eq!(quick_action(" /close"), None);
        assert_eq!(quick_action("/ close"), None);
        assert_eq!(quick_action("> /close"), None);
    }

    #[test]
    fn label_arguments() {
        assert_eq!(label_args("~a ~\"b c\" d"), ["a", "b c", "d"]);
        assert!(label_args("").is_empty());
    }

    #[test]
    fn uuids_look_like_v4() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }
}
