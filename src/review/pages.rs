//! The review pages as server-rendered HTML (maud escapes every value). No JavaScript.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::PrivateCookieJar;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

use super::auth::{post_allowed, ClientIp, Session, REFUSED};
use super::{data, Review};
use crate::confirm::{self, stats::Stats, ReviewOutcome};
use crate::kb::UseCase;
use crate::publish::defang;
use crate::queue::now_ms;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}\
header{background:#292961;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center}\
header a{color:#fff;text-decoration:none}header a.active{text-decoration:underline}\
header form{margin-left:auto}main{padding:1em 1.5em}table{border-collapse:collapse;width:100%;background:#fff}\
th,td{border:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top;font-size:.92em}\
th{background:#eee}.virtualization{color:#a00;font-weight:bold}.non-virtualization{color:#060;font-weight:bold}\
.needs-judgement{color:#b60;font-weight:bold}.notice{background:#ffd;border:1px solid #cc9;padding:.6em;margin:.6em 0}\
.error{background:#fee;border:1px solid #c99;padding:.6em}pre{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:.6em;max-height:30em;overflow:auto}\
form.inline{display:inline}button{margin:.2em;padding:.3em .7em}.muted{color:#666}nav.filters{margin:.5em 0}";

pub(super) async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

fn layout(title: &str, session: Option<&Session>, active: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · sectriage review" }
                link rel="stylesheet" href="/review/static/style.css";
            }
            body {
                header {
                    strong { "sectriage review" }
                    @if let Some(s) = session {
                        a href="/review" class=[(active == "pending").then_some("active")] { "Pending" }
                        a href="/review/decided" class=[(active == "decided").then_some("active")] { "Decided" }
                        a href="/review/stats" class=[(active == "stats").then_some("active")] { "Stats" }
                        form method="post" action="/review/logout" {
                            span { "Signed in as " (s.username) " " }
                            input type="hidden" name="csrf" value=(s.csrf);
                            button id="sign-out" type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

fn message(status: StatusCode, title: &str, text: &str, again: bool) -> Response {
    html_response(
        status,
        layout(
            title,
            None,
            "",
            html! {
                h1 { (title) }
                p.error { (text) }
                @if again { p { a href="/review" { "Sign in again" } } }
            },
        ),
    )
}

pub(super) fn too_many_sign_ins() -> Response {
    let mut r = message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many sign-in attempts",
        "Too many sign-in attempts came from this address in the last minute. Wait a minute, then try again.",
        false,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    r
}

pub(super) fn server_error(text: &str) -> Response {
    message(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", text, false)
}

pub(super) fn bad_sign_in(text: &str) -> Response {
    message(StatusCode::BAD_REQUEST, "Sign-in refused", text, true)
}

pub(super) fn refused_sign_in(text: &str) -> Response {
    message(REFUSED, "Sign-in refused", text, true)
}

pub(super) fn forbidden_member(
    username: &str,
    level: Option<u32>,
    min: u32,
    allowed: bool,
) -> Response {
    let why = if !allowed {
        format!("You are signed in to GitLab as {username}, but this sectriage only lets the members named in daemon.confirm_allow_users review suggestions.")
    } else {
        format!(
            "You are signed in to GitLab as {username}, but your access level in the watched projects is {}; reviewing security reports needs at least {min} (Reporter). Ask a project maintainer for access.",
            level.map_or("none (not a member)".to_string(), |l| l.to_string())
        )
    };
    message(REFUSED, "Access denied", &why, false)
}

pub(super) fn csrf_refused() -> Response {
    message(
        REFUSED,
        "Request refused",
        "The form's security token is missing or wrong, or it came from another site. Reload the page and try again.",
        false,
    )
}

pub(super) fn signed_out() -> Response {
    html_response(
        StatusCode::OK,
        layout(
            "Signed out",
            None,
            "",
            html! { h1 { "Signed out" } p { a href="/review" { "Sign in again" } } },
        ),
    )
}

pub(super) async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "No such review page.",
        false,
    )
}

/// The session, or the response that starts a sign-in (anonymous GET) or refuses.
async fn require(
    review: &Review,
    jar: PrivateCookieJar,
    uri: &axum::http::Uri,
    ip: std::net::IpAddr,
) -> Result<Session, Box<Response>> {
    match review.session(&jar).await? {
        Some(s) => Ok(s),
        None => {
            let path = uri
                .path_and_query()
                .map_or("/review".to_string(), |p| p.as_str().to_string());
            Err(Box::new(review.start_sign_in(jar, &path, ip)))
        }
    }
}

fn class_cell(u: Option<UseCase>) -> Markup {
    match u {
        Some(u) => html! { span class=(u.as_str()) { (u.as_str()) } },
        None => html! { span.muted { "none" } },
    }
}

fn age(ms: i64) -> String {
    let secs = ((now_ms() - ms).max(0) / 1000) as u64;
    match secs {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86400),
    }
}

fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn title_of(issue: Option<&crate::gitlab::Issue>) -> String {
    issue.map_or("(GitLab did not return this issue)".into(), |i| {
        defang(&i.title, 160)
    })
}

#[derive(Deserialize, Default)]
pub(super) struct PendingQuery {
    sort: Option<String>,
    class: Option<String>,
    project: Option<u64>,
}

pub(super) async fn pending(
    State(review): State<Review>,
    ClientIp(ip): ClientIp,
    jar: PrivateCookieJar,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<PendingQuery>,
) -> Response {
    let session = match require(&review, jar, &uri, ip).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let projects: Vec<u64> = session
        .projects
        .iter()
        .copied()
        .filter(|p| q.project.is_none_or(|want| want == *p))
        .collect();
    let mut items = match data::pending(review.daemon(), &review.inner.list_cache, &projects).await
    {
        Ok(i) => i,
        Err(e) => return server_error(&format!("the queue database could not be read: {e}")),
    };
    let class: Option<UseCase> = q.class.as_deref().and_then(|c| c.parse().ok());
    if let Some(c) = class {
        items.retain(|i| i.use_case() == Some(c));
    }
    match q.sort.as_deref() {
        Some("confidence") => items.sort_by_key(|i| {
            (
                std::cmp::Reverse(i.confidence_rank()),
                i.suggestion.posted_at_ms,
            )
        }),
        Some("newest") => items.sort_by_key(|i| std::cmp::Reverse(i.suggestion.posted_at_ms)),
        _ => items.sort_by_key(|i| i.suggestion.posted_at_ms),
    }
    let link = |sort: Option<&str>, class: Option<&str>| {
        let mut parts = Vec::new();
        if let Some(s) = sort {
            parts.push(format!("sort={s}"));
        }
        if let Some(c) = class {
            parts.push(format!("class={c}"));
        }
        if let Some(p) = q.project {
            parts.push(format!("project={p}"));
        }
        format!("/review?{}", parts.join("&"))
    };
    let sort = q.sort.as_deref();
    let class_str = class.map(|c| c.as_str());
    let body = html! {
        h1 { "Pending suggestions" }
        p.muted { (items.len()) " awaiting a decision in project(s) " (session.projects.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")) "." }
        nav.filters {
            "Sort: "
            a href=(link(None, class_str)) { "oldest first" } " · "
            a href=(link(Some("newest"), class_str)) { "newest first" } " · "
            a href=(link(Some("confidence"), class_str)) { "confidence" }
            " | Class: "
            a href=(link(sort, None)) { "all" } " · "
            @for c in [UseCase::Virtualization, UseCase::NonVirtualization, UseCase::NeedsJudgement] {
                a href=(link(sort, Some(c.as_str()))) { (c.as_str()) } " "
            }
        }
        table id="pending" {
            thead { tr {
                th { "Issue" } th { "Title" } th { "Suggested" } th { "Confidence" } th { "Security" }
                th { "Declared tools" } th { "Age" } th { "Likely duplicate" } th { "Reminder" }
            } }
            tbody {
                @for i in &items {
                    @let d = i.suggestion.details.as_ref();
                    @let s = d.and_then(|d| d.summary.as_ref());
                    tr {
                        td {
                            a href=(format!("/review/issue/{}/{}", i.project_id, i.iid)) { (i.project_id) "#" (i.iid) }
                            @if let Some(issue) = &i.issue {
                                @if issue.web_url.starts_with("http") {
                                    " " a href=(issue.web_url) rel="noreferrer" { "GitLab" }
                                }
                            }
                        }
                        td { (title_of(i.issue.as_ref())) }
                        td { (class_cell(i.use_case())) }
                        td { (d.map_or("", |d| d.confidence.as_str())) }
                        td { @match s { Some(s) if s.security_relevant => "yes", Some(_) => "no", None => "?" } }
                        td { (s.map_or(String::new(), |s| s.declared_tools.join(", "))) }
                        td { (age(i.suggestion.posted_at_ms)) }
                        td { @if let Some(s) = s { @for (p, iid) in &s.duplicates { a href=(format!("/review/issue/{p}/{iid}")) { (p) "#" (iid) } " " } } }
                        td { (i.reminder.as_deref().unwrap_or("none")) }
                    }
                }
            }
        }
        @if items.is_empty() { p { "Nothing is waiting for a decision." } }
    };
    html_response(
        StatusCode::OK,
        layout("Pending", Some(&session), "pending", body),
    )
}

pub(super) async fn issue(
    State(review): State<Review>,
    ClientIp(ip): ClientIp,
    jar: PrivateCookieJar,
    OriginalUri(uri): OriginalUri,
    Path((project, iid)): Path<(u64, u64)>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let session = match require(&review, jar, &uri, ip).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if !session.projects.contains(&project) {
        return message(
            REFUSED,
            "Access denied",
            "You may not review issues of this project.",
            false,
        );
    }
    let view = match data::issue(review.daemon(), project, iid).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                "Not found",
                "sectriage has posted no suggestion on this issue.",
                false,
            )
        }
        Err(e) => return server_error(&e),
    };
    let latest = view.history.last();
    let details = latest.and_then(|l| l.details.as_ref());
    let summary = details.and_then(|d| d.summary.as_ref());
    let action_id = review.action_id(
        &session,
        project,
        iid,
        latest.map_or("", |l| l.revision.as_str()),
        view.decisions.len(),
    );
    let buttons = [
        ("confirm-virtualization", "Confirm virtualization"),
        ("confirm-non-virtualization", "Confirm non-virtualization"),
        ("confirm-needs-judgement", "Confirm needs-judgement"),
        ("reject", "Reject the suggestion"),
    ];
    let body = html! {
        h1 { "Issue " (project) "#" (iid) }
        @if let (Some(done), Some(tag)) = (&q.done, &q.tag) {
            @if *tag == review.done_tag(&session, project, iid, done) { p.notice id="outcome" { (done_text(done)) } }
        }
        p { strong { (defang(&view.issue.title, 200)) } }
        p {
            @if view.issue.confidential { "Confidential. " } @else { strong { "Public. " } }
            "Labels: " (if view.issue.labels.is_empty() { "none".to_string() } else { view.issue.labels.join(", ") }) ". "
            "Reminder: " (view.reminder.as_deref().unwrap_or("none")) ". "
            @if view.issue.web_url.starts_with("http") { a href=(view.issue.web_url) rel="noreferrer" { "Open on GitLab" } }
        }
        h2 { "Suggestion" }
        @if let Some(d) = details {
            p { "Suggested " (class_cell(Some(d.use_case))) ", " (d.confidence) " confidence, engine " (d.engine_version) "." }
        }
        @if let Some(s) = summary {
            p { "Security relevant if confirmed: " (if s.security_relevant { "yes" } else { "no" })
                ". Declared tools: " (if s.declared_tools.is_empty() { "none".to_string() } else { s.declared_tools.join(", ") })
                ". Embargo requested: " (if s.embargo_request { "yes" } else { "no" }) "." }
            p { "Decisive fact: " (s.decisive) }
            h3 { "Evidence" }
            table id="evidence" {
                thead { tr { th { "Located" } th { "Found as" } th { "Use case" } th { "Facts" } } }
                tbody { @for r in &s.evidence { tr {
                    td { (defang(&r.subject, 120)) } td { (r.found_as) } td { (class_cell(Some(r.use_case))) }
                    td { @if r.facts.is_empty() { span.muted { "(facts as above)" } } @else { (r.facts.join("; ")) } }
                } } }
            }
        }
        @if let Some(n) = &view.note {
            details { summary { "The note as posted on GitLab" } pre { (n.body) } }
        }
        h2 { "Decide" }
        p.muted { "A button does what the same reply on GitLab does: the same access check, labels and publish rules, and an internal note naming you." }
        @for (action, label) in buttons {
            form.inline method="post" action=(format!("/review/issue/{project}/{iid}/decide")) {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="action_id" value=(action_id);
                button id=(action) type="submit" name="action" value=(action) { (label) }
            }
        }
        h2 { "Revision history" }
        table id="history" {
            thead { tr { th { "Posted" } th { "Revision" } th { "Suggested" } th { "Confidence" } th { "Engine" } } }
            tbody { @for h in &view.history { tr {
                td { (when(h.posted_at_ms)) } td { code { (h.revision.chars().take(24).collect::<String>()) } }
                td { (class_cell(h.details.as_ref().map(|d| d.use_case))) }
                td { (h.details.as_ref().map_or("", |d| d.confidence.as_str())) }
                td { (h.details.as_ref().map_or("", |d| d.engine_version.as_str())) }
            } } }
        }
        h2 { "Decisions" }
        table id="decisions" {
            thead { tr { th { "When" } th { "Who" } th { "Via" } th { "Final class" } th { "Outcome" } } }
            tbody { @for d in &view.decisions { tr {
                td { (when(d.decided_at_ms)) } td { (d.username) } td { (d.via.as_str()) }
                td { (class_cell(d.final_class)) } td { (d.outcome.as_str()) }
            } } }
        }
        @if view.decisions.is_empty() { p { "No decision yet." } }
    };
    html_response(StatusCode::OK, layout("Issue", Some(&session), "", body))
}

#[derive(Deserialize, Default)]
pub(super) struct DoneQuery {
    done: Option<String>,
    /// Ties `done` to this member and issue, so a link cannot show a made-up outcome.
    tag: Option<String>,
}

impl Review {
    /// The id of a form drawn for this member, issue, revision and number of decisions: a
    /// form drawn before the latest decision or revision (Back, a second tab) is stale.
    fn action_id(
        &self,
        session: &Session,
        project: u64,
        iid: u64,
        revision: &str,
        decisions: usize,
    ) -> u64 {
        let t = self.tag(&[
            "action",
            &session.user_id.to_string(),
            &project.to_string(),
            &iid.to_string(),
            revision,
            &decisions.to_string(),
        ]);
        u64::from_be_bytes(t[..8].try_into().unwrap_or_default()) & (i64::MAX as u64)
    }

    fn done_tag(&self, session: &Session, project: u64, iid: u64, code: &str) -> String {
        self.tag(&[
            "done",
            &session.id,
            &project.to_string(),
            &iid.to_string(),
            code,
        ])[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn done_text(code: &str) -> &'static str {
    match code {
        "decided" => "Decision recorded; the internal note is on GitLab.",
        "published" => "Decision recorded and the issue was published after a clean scrub check.",
        "held-back" => "Decision recorded; publishing was held back by the scrub check (see the note on GitLab).",
        "again" => "This form was already submitted; nothing was done twice.",
        "refused" => "GitLab no longer lists you at the required access level: nothing was done.",
        "no-suggestion" => "sectriage has posted no suggestion on this issue: nothing was done.",
        "stale" => "This page was drawn before the latest decision or suggestion: nothing was done. Check the decisions below and decide again if needed.",
        _ => "Done.",
    }
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    csrf: Option<String>,
    action: String,
    action_id: u64,
}

pub(super) async fn decide(
    State(review): State<Review>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((project, iid)): Path<(u64, u64)>,
    Form(form): Form<DecideForm>,
) -> Response {
    let session = match review.session(&jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return message(
            REFUSED,
            "Signed out",
            "Your session has expired or you are not signed in. Sign in again; nothing was done.",
            true,
        ),
        Err(r) => return *r,
    };
    if !post_allowed(&review, &session, &headers, form.csrf.as_deref()) {
        return csrf_refused();
    }
    if !session.projects.contains(&project) {
        return message(
            REFUSED,
            "Access denied",
            "You may not decide on issues of this project.",
            false,
        );
    }
    let final_class = match form.action.as_str() {
        "confirm-virtualization" => Some(UseCase::Virtualization),
        "confirm-non-virtualization" => Some(UseCase::NonVirtualization),
        "confirm-needs-judgement" => Some(UseCase::NeedsJudgement),
        "reject" => None,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Unknown action",
                "The form asked for an action sectriage does not know; nothing was done.",
                false,
            )
        }
    };
    let daemon = review.daemon();
    let current = async {
        let latest = daemon.queue.latest_suggestion(project, iid).await?;
        let n = daemon.queue.decisions(Some((project, iid))).await?.len();
        Ok::<_, crate::queue::QueueError>((latest.map(|l| l.revision), n))
    };
    let (revision, n) = match current.await {
        Ok(c) => c,
        Err(e) => return server_error(&format!("the queue database could not be read: {e}")),
    };
    let expected = review.action_id(&session, project, iid, revision.as_deref().unwrap_or(""), n);
    let done_redirect = |code: &str| {
        let tag = review.done_tag(&session, project, iid, code);
        Redirect::to(&format!(
            "/review/issue/{project}/{iid}?done={code}&tag={tag}"
        ))
        .into_response()
    };
    if form.action_id != expected {
        return done_redirect("stale");
    }
    let Some(bots) = daemon.bot_users() else {
        return server_error("sectriage has not reached GitLab yet; try again in a moment");
    };
    let ctx = confirm::Context {
        gitlab: &daemon.gitlab,
        queue: &daemon.queue,
        policy: &daemon.config.confirm,
        bots,
    };
    let outcome = confirm::decide_from_review(
        &ctx,
        project,
        iid,
        (session.user_id, &session.username),
        final_class,
        form.action_id,
    )
    .await;
    let code = match outcome {
        Ok(ReviewOutcome::Done(out)) => {
            tracing::info!(
                project_id = project,
                issue_iid = iid,
                user_id = session.user_id,
                "decision from the review page"
            );
            if out
                .iter()
                .any(|o| matches!(o, confirm::ConfirmOutcome::Published { .. }))
            {
                "published"
            } else if out
                .iter()
                .any(|o| matches!(o, confirm::ConfirmOutcome::HeldBack { .. }))
            {
                "held-back"
            } else {
                "decided"
            }
        }
        Ok(ReviewOutcome::AlreadyDone) => "again",
        Ok(ReviewOutcome::Refused { .. }) => "refused",
        Ok(ReviewOutcome::NoSuggestion) => "no-suggestion",
        Err(e) => {
            tracing::warn!(project_id = project, issue_iid = iid, error = %e, "review decision failed");
            return server_error(&format!("the decision could not be completed: {e}. Reload the issue page and try again; what was done is shown there"));
        }
    };
    done_redirect(code)
}

pub(super) async fn decided(
    State(review): State<Review>,
    ClientIp(ip): ClientIp,
    jar: PrivateCookieJar,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let session = match require(&review, jar, &uri, ip).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let all = match review.daemon().queue.decisions(None).await {
        Ok(d) => d,
        Err(e) => return server_error(&format!("the queue database could not be read: {e}")),
    };
    let mine: Vec<_> = all
        .into_iter()
        .filter(|d| session.projects.contains(&d.project_id))
        .collect();
    let mut latest = confirm::stats::latest_per_issue(&mine);
    latest.sort_by_key(|d| std::cmp::Reverse(d.decided_at_ms));
    let body = html! {
        h1 { "Decided" }
        table id="decided" {
            thead { tr { th { "Issue" } th { "Suggested" } th { "Final class" } th { "Outcome" } th { "Who" } th { "Via" } th { "When" } } }
            tbody { @for d in &latest { tr {
                td { a href=(format!("/review/issue/{}/{}", d.project_id, d.issue_iid)) { (d.project_id) "#" (d.issue_iid) } }
                td { (class_cell(d.suggested)) } td { (class_cell(d.final_class)) } td { (d.outcome.as_str()) }
                td { (d.username) } td { (d.via.as_str()) } td { (when(d.decided_at_ms)) }
            } } }
        }
        @if latest.is_empty() { p { "No decisions yet." } }
    };
    html_response(
        StatusCode::OK,
        layout("Decided", Some(&session), "decided", body),
    )
}

pub(super) async fn stats(
    State(review): State<Review>,
    ClientIp(ip): ClientIp,
    jar: PrivateCookieJar,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let session = match require(&review, jar, &uri, ip).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let daemon = review.daemon();
    let all = match daemon.queue.decisions(None).await {
        Ok(d) => d,
        Err(e) => return server_error(&format!("the queue database could not be read: {e}")),
    };
    let mine: Vec<_> = all
        .into_iter()
        .filter(|d| session.projects.contains(&d.project_id))
        .collect();
    let stats = Stats::of(&mine);
    let weeks = match data::declared_share_by_week(daemon, &session.projects).await {
        Ok(w) => w,
        Err(e) => return server_error(&format!("the queue database could not be read: {e}")),
    };
    let acceptance: Vec<(String, f64, String)> = stats
        .by_engine
        .iter()
        .map(|(engine, (acc, all))| {
            (
                engine.clone(),
                *acc as f64 / (*all).max(1) as f64,
                format!("{acc}/{all}"),
            )
        })
        .collect();
    let seconds = confirm::stats::seconds_to_decision(&confirm::stats::latest_per_issue(&mine));
    let waits: Vec<(String, f64, String)> = [
        ("< 1 h", 0.0, 3600.0),
        ("1–24 h", 3600.0, 86400.0),
        ("1–7 d", 86400.0, 604800.0),
        ("> 7 d", 604800.0, f64::MAX),
    ]
    .into_iter()
    .map(|(name, lo, hi)| {
        let n = seconds.iter().filter(|w| **w >= lo && **w < hi).count();
        (name.to_string(), n as f64, n.to_string())
    })
    .collect();
    let share: Vec<(String, f64, String)> = weeks
        .iter()
        .map(|(w, s, n)| (w.clone(), *s, format!("{:.0} % of {n}", s * 100.0)))
        .collect();
    let classes = [
        "virtualization",
        "non-virtualization",
        "needs-judgement",
        "none",
    ];
    let body = html! {
        h1 { "Statistics" }
        p { (stats.issues) " decided issue(s). Acceptance rate: "
            (stats.acceptance_rate().map_or("no decisions yet".to_string(), |r| format!("{:.0} %", r * 100.0)))
            ". Median time to decision: "
            (stats.median_seconds_to_decision.map_or("n/a".to_string(), |s| format!("{:.1} h", s / 3600.0))) "." }
        figure id="acceptance" { (PreEscaped(crate::eval::chart::bar_chart("Acceptance per engine and prompt version", &acceptance, Some(1.0)))) }
        h2 { "Suggested (rows) against decided (columns)" }
        table id="confusion" {
            thead { tr { th { "" } @for c in classes { th { (c) } } } }
            tbody { @for r in classes { tr { th { (r) } @for c in classes {
                td { (stats.confusion.get(&(r.to_string(), c.to_string())).copied().unwrap_or(0)) }
            } } } }
        }
        figure id="waits" { (PreEscaped(crate::eval::chart::bar_chart("Time from suggestion to decision", &waits, None))) }
        figure id="declared" { (PreEscaped(crate::eval::chart::bar_chart("Suggestions with a declared automated tool, per week", &share, Some(1.0)))) }
    };
    html_response(
        StatusCode::OK,
        layout("Stats", Some(&session), "stats", body),
    )
}
