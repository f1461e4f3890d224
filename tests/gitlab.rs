//! The GitLab client against the fake GitLab, the fake against GitLab's own schemas, and the
//! webhook signing and parsing against the shared payloads and test vector.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sectriage::gitlab::fake::{FakeGitLab, Fault};
use sectriage::gitlab::webhook::{
    parse_webhook, sign_webhook, timestamp_is_fresh, verify_webhook_signature, HookKind,
    WebhookEvent,
};
use sectriage::gitlab::{Client, GitLabConfig, GitLabError, Token};
use serde_json::{json, Value};

const PROJECT: u64 = 7;
const GUEST: u32 = 10;
const REPORTER: u32 = 20;
const MAINTAINER: u32 = 40;

// === support ===

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gitlab")
        .join(path)
}

fn read_json(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(path)).unwrap()).unwrap()
}

/// Timeouts and retries small enough that failing tests fail fast.
fn client_for(fake: &FakeGitLab, token: &str) -> Client {
    let mut cfg = GitLabConfig::new(fake.base_url.clone(), Token::new(token));
    cfg.timeout = Duration::from_secs(5);
    cfg.max_retries = 3;
    Client::new(cfg).unwrap()
}

/// A fake with a Reporter bot, a Maintainer and an outside reporter (not a member).
struct World {
    fake: FakeGitLab,
    bot: Client,
    bot_id: u64,
    bot_token: String,
    maintainer_id: u64,
    reporter_id: u64,
}

async fn world() -> World {
    let fake = FakeGitLab::start().await;
    fake.add_project(PROJECT);
    let (bot_id, bot_token) = fake.add_user("project_7_bot", PROJECT, REPORTER);
    let (maintainer_id, _) = fake.add_user("maintainer", PROJECT, MAINTAINER);
    let (reporter_id, _) = fake.add_user("outsider", PROJECT, 0);
    let bot = client_for(&fake, &bot_token);
    World {
        fake,
        bot,
        bot_id,
        bot_token,
        maintainer_id,
        reporter_id,
    }
}

impl World {
    fn report(&self, title: &str) -> u64 {
        self.fake.create_issue(
            PROJECT,
            self.reporter_id,
            title,
            "heap overflow in e1000e",
            true,
        )
    }

    /// A raw API call, for checking the fake's wire format.
    async fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .request(method, format!("{}/api/v4{path}", self.fake.base_url))
            .header("PRIVATE-TOKEN", &self.bot_token)
            .send()
            .await
            .unwrap()
    }

    async fn raw_json(&self, path: &str) -> Value {
        let resp = self.raw(reqwest::Method::GET, path).await;
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }
}

// === client methods ===

#[tokio::test]
async fn current_user_is_the_token_owner() {
    let w = world().await;
    let user = w.bot.current_user().await.unwrap();
    assert_eq!(user.id, w.bot_id);
    assert_eq!(user.username, "project_7_bot");
}

#[tokio::test]
async fn issue_by_iid() {
    let w = world().await;
    let iid = w.report("e1000e: overflow");
    let issue = w.bot.issue(PROJECT, iid).await.unwrap();
    assert_eq!(issue.iid, iid);
    assert_eq!(issue.project_id, PROJECT);
    assert!(issue.confidential);
    assert_eq!(issue.author.id, w.reporter_id);
    assert_eq!(
        issue.description.as_deref(),
        Some("heap overflow in e1000e")
    );
    assert_eq!(Some(issue), w.fake.issue(PROJECT, iid));
    let missing = w.bot.issue(PROJECT, 999).await.unwrap_err();
    assert!(matches!(missing, GitLabError::NotFound { .. }));
    let no_project = w.bot.issue(12345, iid).await.unwrap_err();
    assert!(matches!(no_project, GitLabError::NotFound { .. }));
}

#[tokio::test]
async fn list_confidential_issues_filters_orders_and_is_inclusive() {
    let w = world().await;
    let first = w.report("first");
    let _public = w
        .fake
        .create_issue(PROJECT, w.reporter_id, "public bug", "not secret", false);
    let second = w.report("second");
    // Editing the first makes it the most recently updated.
    w.fake.edit_issue(PROJECT, first, "updated text");

    let all = w.bot.list_confidential_issues(PROJECT, None).await.unwrap();
    let iids: Vec<u64> = all.iter().map(|i| i.iid).collect();
    assert_eq!(
        iids,
        [second, first],
        "confidential only, oldest update first"
    );

    // updated_after is inclusive: the cursor's own issue comes back.
    let cursor = all[0].updated_at.clone();
    let since = w
        .bot
        .list_confidential_issues(PROJECT, Some(&cursor))
        .await
        .unwrap();
    assert_eq!(
        since.iter().map(|i| i.iid).collect::<Vec<_>>(),
        [second, first]
    );
    let later = all[1].updated_at.clone();
    let since = w
        .bot
        .list_confidential_issues(PROJECT, Some(&later))
        .await
        .unwrap();
    assert_eq!(since.iter().map(|i| i.iid).collect::<Vec<_>>(), [first]);
}

/// An issue updated while the listing is read moves to its end; offset pages would then
/// skip the issue that moved up across the page boundary, for good (the cursor passes it).
#[tokio::test]
async fn an_update_between_pages_skips_no_issue() {
    let w = world().await;
    let iids: Vec<u64> = (0..230).map(|n| w.report(&format!("report {n}"))).collect();
    w.fake.inject(Fault::UpdateAfterNextList {
        project_id: PROJECT,
        iid: iids[0],
    });
    let issues = w.bot.list_confidential_issues(PROJECT, None).await.unwrap();
    let listed: std::collections::BTreeSet<u64> = issues.iter().map(|i| i.iid).collect();
    let missing: Vec<u64> = iids
        .iter()
        .filter(|i| !listed.contains(i))
        .copied()
        .collect();
    assert!(missing.is_empty(), "never listed: {missing:?}");
}

#[tokio::test]
async fn pagination_over_100_issues_follows_link_next() {
    let w = world().await;
    for n in 0..230 {
        w.report(&format!("report {n}"));
    }
    let before = w.fake.request_count();
    let issues = w.bot.list_confidential_issues(PROJECT, None).await.unwrap();
    assert_eq!(issues.len(), 230);
    assert_eq!(w.fake.request_count() - before, 3, "three pages of 100");
    let mut iids: Vec<u64> = issues.iter().map(|i| i.iid).collect();
    iids.dedup();
    assert_eq!(iids.len(), 230, "no page repeated");
    assert!(issues.windows(2).all(|p| p[0].updated_at < p[1].updated_at));
}

#[tokio::test]
async fn fake_pagination_headers() {
    let w = world().await;
    for n in 0..45 {
        w.report(&format!("report {n}"));
    }
    let resp = w
        .raw(
            reqwest::Method::GET,
            &format!("/projects/{PROJECT}/issues?confidential=true&page=2"),
        )
        .await;
    let header = |name: &str| resp.headers()[name].to_str().unwrap().to_string();
    assert_eq!(header("x-page"), "2");
    assert_eq!(header("x-per-page"), "20", "default per_page");
    assert_eq!(header("x-total"), "45");
    assert_eq!(header("x-total-pages"), "3");
    assert_eq!(header("x-next-page"), "3");
    assert_eq!(header("x-prev-page"), "1");
    let link = header("link");
    for rel in ["prev", "next", "first", "last"] {
        assert!(link.contains(&format!("rel=\"{rel}\"")), "{link}");
    }
    assert!(
        link.contains("confidential=true"),
        "links keep the query: {link}"
    );
    let resp = w
        .raw(
            reqwest::Method::GET,
            &format!("/projects/{PROJECT}/issues?per_page=500"),
        )
        .await;
    assert_eq!(
        resp.headers()["x-per-page"],
        "100",
        "per_page is capped at 100"
    );
}

#[tokio::test]
async fn notes_all_pages_oldest_first_with_system_notes() {
    let w = world().await;
    let iid = w.report("many comments");
    for n in 0..130 {
        w.fake.add_note_as(
            PROJECT,
            iid,
            w.maintainer_id,
            &format!("comment {n}"),
            n % 2 == 0,
        );
    }
    w.fake.set_confidential(PROJECT, iid, false); // adds a system note
    let notes = w.bot.notes(PROJECT, iid).await.unwrap();
    assert_eq!(notes.len(), 131);
    assert_eq!(notes[0].body, "comment 0");
    assert!(notes[0].internal);
    assert!(!notes[1].internal);
    assert!(notes.last().unwrap().system);
    assert_eq!(notes, w.fake.notes(PROJECT, iid));
}

#[tokio::test]
async fn create_internal_note_keeps_it_internal() {
    let w = world().await;
    let iid = w.report("to triage");
    let note = w
        .bot
        .create_internal_note(PROJECT, iid, "Suggested classification: in scope (e1000e)")
        .await
        .unwrap();
    assert!(note.internal);
    assert_eq!(note.author.id, w.bot_id);
    let stored = w.fake.notes(PROJECT, iid);
    assert_eq!(stored.len(), 1);
    assert!(stored[0].internal);
    assert_eq!(w.bot.stats().notes_created, 1);
    assert!(w.fake.executed_quick_actions().is_empty());
}

#[tokio::test]
async fn dropped_internal_flag_is_detected_and_the_public_note_deleted() {
    let w = world().await;
    // A Guest cannot create internal notes: GitLab saves the note public without a word.
    let (_, guest_token) = w.fake.add_user("guest_bot", PROJECT, GUEST);
    let guest = client_for(&w.fake, &guest_token);
    let iid = w
        .fake
        .create_issue(PROJECT, w.reporter_id, "public issue", "text", false);
    let err = guest
        .create_internal_note(PROJECT, iid, "Suggested classification: out of scope")
        .await
        .unwrap_err();
    let GitLabError::InternalFlagDropped { note_id, deleted } = err else {
        panic!("expected InternalFlagDropped, got {err:?}");
    };
    assert!(note_id > 0);
    assert!(deleted);
    assert!(err.is_fatal());
    assert!(
        w.fake.notes(PROJECT, iid).is_empty(),
        "no public note remains"
    );
    assert_eq!(guest.stats().internal_flag_alarms, 1);
    assert_eq!(guest.stats().notes_created, 0);
}

#[tokio::test]
async fn delete_note() {
    let w = world().await;
    let iid = w.report("x");
    let note = w
        .bot
        .create_internal_note(PROJECT, iid, "note")
        .await
        .unwrap();
    w.bot.delete_note(PROJECT, iid, note.id).await.unwrap();
    assert!(w.fake.notes(PROJECT, iid).is_empty());
    let again = w.bot.delete_note(PROJECT, iid, note.id).await.unwrap_err();
    assert!(matches!(again, GitLabError::NotFound { .. }));
}

#[tokio::test]
async fn edit_labels_adds_creates_removes_and_keeps_confidentiality() {
    let w = world().await;
    let iid = w.report("labels");
    let issue = w
        .bot
        .edit_labels(PROJECT, iid, &["triage::suggested", "cve::required"], &[])
        .await
        .unwrap();
    assert_eq!(issue.labels, ["cve::required", "triage::suggested"]);
    assert!(
        w.fake
            .labels(PROJECT)
            .contains(&"cve::required".to_string()),
        "unknown labels are created"
    );
    let issue = w
        .bot
        .edit_labels(PROJECT, iid, &["cve::not-required"], &["cve::required"])
        .await
        .unwrap();
    assert_eq!(issue.labels, ["cve::not-required", "triage::suggested"]);
    assert!(issue.confidential);
    assert!(w.fake.issue(PROJECT, iid).unwrap().confidential);
    let bad = w
        .bot
        .edit_labels(PROJECT, iid, &["a,b"], &[])
        .await
        .unwrap_err();
    assert!(matches!(bad, GitLabError::BadRequest { .. }));
    // Nothing to change: no PUT (GitLab would answer 400), just a read.
    let same = w.bot.edit_labels(PROJECT, iid, &[], &[]).await.unwrap();
    assert_eq!(same.labels, issue.labels);
}

#[tokio::test]
async fn member_access_level_effective_or_none() {
    let w = world().await;
    assert_eq!(
        w.bot
            .member_access_level(PROJECT, w.maintainer_id)
            .await
            .unwrap(),
        Some(MAINTAINER)
    );
    assert_eq!(
        w.bot
            .member_access_level(PROJECT, w.reporter_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        w.bot.member_access_level(PROJECT, 424242).await.unwrap(),
        None
    );
}

// === failures ===

#[tokio::test]
async fn rate_limit_storm_is_ridden_out_honouring_retry_after() {
    let w = world().await;
    let iid = w.report("busy");
    w.fake.inject(Fault::RateLimit {
        times: 2,
        retry_after_secs: 1,
    });
    let start = Instant::now();
    let issue = w.bot.issue(PROJECT, iid).await.unwrap();
    assert_eq!(issue.iid, iid);
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "waited Retry-After twice"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(w.bot.stats().rate_limited, 2);
    assert_eq!(w.bot.stats().requests, 3);
}

#[tokio::test]
async fn rate_limit_beyond_retries_is_returned_with_its_wait() {
    let w = world().await;
    let iid = w.report("busy");
    w.fake.inject(Fault::RateLimit {
        times: 10,
        retry_after_secs: 0,
    });
    let err = w.bot.issue(PROJECT, iid).await.unwrap_err();
    assert!(matches!(err, GitLabError::RateLimited { .. }));
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert_eq!(
        w.bot.stats().rate_limited,
        4,
        "first try plus max_retries=3"
    );
}

/// GitLab limits the user, not the call: once one call was told to wait, no other call of
/// the same client (a clone in the poller, another worker) reaches GitLab before the wait ends.
#[tokio::test]
async fn a_long_retry_after_holds_back_every_call_of_the_client() {
    let w = world().await;
    let iid = w.report("busy");
    w.fake.inject(Fault::RateLimit {
        times: 1,
        retry_after_secs: 300,
    });
    let first = w.bot.issue(PROJECT, iid).await.unwrap_err();
    assert!(first.retry_after().unwrap() > Duration::from_secs(60));
    let seen = w.fake.request_count();
    let other = w.bot.clone();
    let second = other.notes(PROJECT, iid).await.unwrap_err();
    let wait = second
        .retry_after()
        .expect("the second call carries the rest of the wait");
    assert!(
        wait > Duration::from_secs(290) && wait <= Duration::from_secs(300),
        "{wait:?}"
    );
    assert_eq!(
        w.fake.request_count(),
        seen,
        "the second call did not reach GitLab during the wait"
    );
}

#[tokio::test]
async fn a_short_retry_after_delays_the_other_calls_too() {
    let w = world().await;
    let iid = w.report("busy");
    w.fake.inject(Fault::RateLimit {
        times: 1,
        retry_after_secs: 2,
    });
    let start = Instant::now();
    let first = tokio::spawn({
        let bot = w.bot.clone();
        async move { bot.issue(PROJECT, iid).await }
    });
    while w.fake.request_count() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The 429 is served: a call started now waits out the same Retry-After.
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.bot.notes(PROJECT, iid).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "the second call went out during the wait: {:?}",
        start.elapsed()
    );
    first.await.unwrap().unwrap();
    assert_eq!(w.bot.stats().rate_limited, 1);
}

#[tokio::test]
async fn rate_limited_note_is_retried() {
    let w = world().await;
    let iid = w.report("busy");
    w.fake.inject(Fault::RateLimit {
        times: 1,
        retry_after_secs: 0,
    });
    let note = w
        .bot
        .create_internal_note(PROJECT, iid, "note")
        .await
        .unwrap();
    assert!(note.internal);
    assert_eq!(w.fake.notes(PROJECT, iid).len(), 1, "posted exactly once");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let w = world().await;
    let iid = w.report("flaky");
    w.fake.inject(Fault::ServerError { times: 2 });
    let issue = w.bot.issue(PROJECT, iid).await.unwrap();
    assert_eq!(issue.iid, iid);
    assert_eq!(w.bot.stats().requests, 3);

    w.fake.inject(Fault::ServerError { times: 10 });
    let err = w.bot.issue(PROJECT, iid).await.unwrap_err();
    assert!(matches!(err, GitLabError::Server { status: 500 }));
    assert!(err.is_retryable() && !err.is_fatal());
}

#[tokio::test]
async fn server_error_on_note_post_is_not_retried_to_avoid_duplicates() {
    let w = world().await;
    let iid = w.report("flaky");
    w.fake.inject(Fault::ServerError { times: 1 });
    let before = w.bot.stats().requests;
    let err = w
        .bot
        .create_internal_note(PROJECT, iid, "note")
        .await
        .unwrap_err();
    assert!(matches!(err, GitLabError::Server { .. }));
    assert_eq!(w.bot.stats().requests - before, 1);
}

#[tokio::test]
async fn slow_gitlab_times_out_as_retryable_http_error() {
    let w = world().await;
    w.fake.inject(Fault::Latency(Duration::from_millis(400)));
    let mut cfg = GitLabConfig::new(w.fake.base_url.clone(), Token::new(w.bot_token.clone()));
    cfg.timeout = Duration::from_millis(100);
    cfg.max_retries = 0;
    let err = Client::new(cfg).unwrap().current_user().await.unwrap_err();
    assert!(matches!(err, GitLabError::Http(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn invalid_or_revoked_token_is_fatal_with_a_clear_message() {
    let w = world().await;
    let stranger = client_for(&w.fake, "glpat-not-a-real-token");
    let err = stranger.current_user().await.unwrap_err();
    assert!(matches!(err, GitLabError::InvalidToken { .. }));
    assert!(err.is_fatal() && !err.is_retryable());
    assert!(err.to_string().starts_with(
        "the GitLab token was rejected (expired or revoked): create a new project access token with the api scope and Reporter role"
    ));
    assert!(!err.to_string().contains("glpat-not-a-real-token"));

    w.fake.revoke_token(&w.bot_token);
    let err = w.bot.current_user().await.unwrap_err();
    let GitLabError::InvalidToken { description } = &err else {
        panic!("{err:?}");
    };
    assert!(description.contains("revoked"));
    assert_eq!(w.bot.stats().requests, 1, "401 is not retried");
}

#[tokio::test]
async fn confidential_issues_are_404_and_unlisted_for_a_guest() {
    let w = world().await;
    let (guest_id, guest_token) = w.fake.add_user("guest", PROJECT, GUEST);
    let guest = client_for(&w.fake, &guest_token);
    let hidden = w.report("secret");
    let own = w
        .fake
        .create_issue(PROJECT, guest_id, "my own report", "text", true);
    let err = guest.issue(PROJECT, hidden).await.unwrap_err();
    assert!(
        matches!(err, GitLabError::NotFound { .. }),
        "404, not 403: {err:?}"
    );
    assert_eq!(
        guest.issue(PROJECT, own).await.unwrap().iid,
        own,
        "authors see their own"
    );
    let listed = guest.list_confidential_issues(PROJECT, None).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.iid).collect::<Vec<_>>(), [own]);
    let resp = w.raw(reqwest::Method::GET, "/projects/999/issues").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["message"],
        "404 Project Not Found"
    );
}

#[tokio::test]
async fn quick_actions_in_a_posted_body_run_and_are_recorded() {
    let w = world().await;
    let iid = w.report("leaky");
    // The kind of body a careless template would produce by echoing report text.
    let body = "Suggested classification: out of scope\n/close\n/LABEL ~\"not a bug\"\nthanks";
    let note = w
        .bot
        .create_internal_note(PROJECT, iid, body)
        .await
        .unwrap();
    assert_eq!(
        w.fake.executed_quick_actions(),
        ["/close", "/LABEL ~\"not a bug\""],
        "the fake reveals the leak"
    );
    assert_ne!(
        note.body, body,
        "GitLab strips executed commands from the stored body"
    );
    let issue = w.fake.issue(PROJECT, iid).unwrap();
    assert_eq!(issue.state, "closed");
    assert_eq!(issue.labels, ["not a bug"]);

    // A body made only of commands is answered 202 and stores nothing.
    let err = w
        .bot
        .create_internal_note(PROJECT, iid, "/reopen\n/unlabel")
        .await
        .unwrap_err();
    assert!(matches!(err, GitLabError::BadRequest { .. }), "{err:?}");
    assert_eq!(w.fake.issue(PROJECT, iid).unwrap().state, "opened");
    assert_eq!(
        w.fake
            .notes(PROJECT, iid)
            .iter()
            .filter(|n| !n.system)
            .count(),
        1
    );
}

// === fake fidelity ===

#[tokio::test]
async fn fake_accepts_query_form_and_json_parameters() {
    let w = world().await;
    let iid = w.report("params");
    let url = format!("{}/api/v4/projects/{PROJECT}/issues/{iid}", w.fake.base_url);
    let http = reqwest::Client::new();
    let send = |request: reqwest::RequestBuilder| async {
        let resp = request
            .header("PRIVATE-TOKEN", &w.bot_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    };
    send(http.put(format!("{url}?add_labels=from-query"))).await;
    send(
        http.put(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("add_labels=from-form%2Csecond"),
    )
    .await;
    send(http.put(&url).json(&json!({"add_labels": "from-json"}))).await;
    let labels = w.fake.issue(PROJECT, iid).unwrap().labels;
    assert_eq!(labels, ["from-form", "from-json", "from-query", "second"]);
    let resp = http
        .put(&url)
        .header("PRIVATE-TOKEN", &w.bot_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "at least one parameter is required");
}

#[tokio::test]
async fn fake_timestamps_have_milliseconds_and_strictly_increase() {
    let w = world().await;
    let iid = w.report("clock");
    let before = w.fake.issue(PROJECT, iid).unwrap().updated_at;
    w.fake.edit_issue(PROJECT, iid, "v2");
    let after = w.fake.issue(PROJECT, iid).unwrap().updated_at;
    assert!(after > before, "{before} then {after}");
    assert_eq!(after.len(), "2026-01-04T15:31:51.081Z".len());
    assert!(after.ends_with('Z') && after.as_bytes()[19] == b'.');
}

#[tokio::test]
async fn fake_rate_limit_response_is_shaped_like_rack_attack() {
    let w = world().await;
    w.fake.inject(Fault::RateLimit {
        times: 1,
        retry_after_secs: 3,
    });
    let resp = w.raw(reqwest::Method::GET, "/user").await;
    assert_eq!(resp.status(), 429);
    for name in [
        "retry-after",
        "ratelimit-name",
        "ratelimit-limit",
        "ratelimit-observed",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-resettime",
    ] {
        assert!(resp.headers().contains_key(name), "{name}");
    }
    assert_eq!(resp.headers()["retry-after"], "3");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(resp.text().await.unwrap(), "Retry later\n");
}

// === schemas ===

/// GitLab's spec schemas as minimum contracts: closed objects opened up.
fn open_schema(mut schema: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                    map.remove("additionalProperties");
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut schema);
    schema
}

fn assert_valid(schema_path: &str, instance: &Value) {
    let errors = schema_errors(schema_path, instance);
    assert!(errors.is_empty(), "{schema_path}: {errors:#?}");
}

fn schema_errors(schema_path: &str, instance: &Value) -> Vec<String> {
    const BASE: &str = "https://gitlab.example/schemas/public_api/v4/";
    let issue = open_schema(read_json("schemas/public_api/v4/issue.json"));
    let registry = jsonschema::Registry::new()
        .add(format!("{BASE}issue.json"), issue)
        .unwrap()
        .prepare()
        .unwrap();
    let schema = open_schema(read_json(&format!("schemas/public_api/v4/{schema_path}")));
    let validator = jsonschema::options()
        .with_registry(&registry)
        .with_base_uri(format!("{BASE}{schema_path}"))
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[tokio::test]
async fn fake_responses_match_gitlab_schemas() {
    let w = world().await;
    let iid = w.report("schema");
    w.bot.edit_labels(PROJECT, iid, &["x"], &[]).await.unwrap();
    w.bot
        .create_internal_note(PROJECT, iid, "internal")
        .await
        .unwrap();
    w.fake
        .add_note_as(PROJECT, iid, w.maintainer_id, "public", false);
    w.fake.set_confidential(PROJECT, iid, true);

    let issues = w.raw_json(&format!("/projects/{PROJECT}/issues")).await;
    assert_eq!(issues.as_array().unwrap().len(), 1);
    assert_valid("issues.json", &issues);
    assert_valid(
        "issue.json",
        &w.raw_json(&format!("/projects/{PROJECT}/issues/{iid}"))
            .await,
    );
    let notes = w
        .raw_json(&format!("/projects/{PROJECT}/issues/{iid}/notes"))
        .await;
    assert_valid("notes.json", &notes);
    for note in notes.as_array().unwrap() {
        assert_eq!(note["internal"], note["confidential"]);
        assert!(note["attachment"].is_null());
    }
    assert_valid("user/basic.json", &w.raw_json("/user").await);
    let member = w
        .raw_json(&format!(
            "/projects/{PROJECT}/members/all/{}",
            w.maintainer_id
        ))
        .await;
    assert_eq!(member["access_level"], MAINTAINER);
    assert_valid("members.json", &Value::Array(vec![member]));
}

#[test]
fn schemas_do_reject_bad_documents() {
    // Guards the harness: an opened-up schema must still enforce required fields and types.
    assert!(!schema_errors("notes.json", &json!([{"id": 1, "body": "x"}])).is_empty());
    let errors = schema_errors("issues.json", &json!([{"id": "not a number"}]));
    assert!(!errors.is_empty(), "the $ref to issue.json is resolved");
    // Extra fields are fine: newer GitLab returns more than these 2023 schemas list.
    let note = json!([{"id": 1, "body": "x", "attachment": null, "author": {"id": 1, "name": "a", "username": "a", "state": "active", "avatar_url": "https://a/b", "web_url": "https://a/a"}, "created_at": "2026-01-04T15:31:51.081Z", "updated_at": "2026-01-04T15:31:51.081Z", "system": false, "noteable_id": 1, "noteable_type": "Issue", "imported": false}]);
    assert_valid("notes.json", &note);
}

// === webhooks ===

#[test]
fn signing_test_vector() {
    let vector = read_json("webhooks/signing_test_vector.json");
    let token = vector["signing_token"].as_str().unwrap();
    let headers = &vector["headers"];
    let id = headers["webhook-id"].as_str().unwrap();
    let timestamp = headers["webhook-timestamp"].as_str().unwrap();
    let signature = headers["webhook-signature"].as_str().unwrap();
    let body = std::fs::read(fixture(&format!(
        "webhooks/{}",
        vector["body_file"].as_str().unwrap()
    )))
    .unwrap();

    assert_eq!(
        sign_webhook(token, id, timestamp.parse().unwrap(), &body),
        signature
    );
    assert!(verify_webhook_signature(
        token, id, timestamp, &body, signature
    ));
    assert_eq!(headers["Idempotency-Key"], headers["webhook-id"]);

    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert!(!verify_webhook_signature(
        token, id, timestamp, &tampered, signature
    ));
    let wrong = vector["negative_cases"]["wrong_token"].as_str().unwrap();
    assert!(!verify_webhook_signature(
        wrong, id, timestamp, &body, signature
    ));
    let ts: i64 = timestamp.parse().unwrap();
    assert!(timestamp_is_fresh(timestamp, ts + 299, 300));
    assert!(!timestamp_is_fresh(timestamp, ts + 301, 300), "stale");
}

#[test]
fn parses_the_documented_payloads() {
    let cases = [
        (
            "Issue Hook",
            "issue_hook.json",
            HookKind::Issue,
            1,
            23,
            false,
        ),
        (
            "Confidential Issue Hook",
            "confidential_issue_hook.derived.json",
            HookKind::Issue,
            1,
            23,
            true,
        ),
        (
            "Note Hook",
            "note_hook_issue.json",
            HookKind::Note,
            5,
            17,
            false,
        ),
        (
            "Confidential Note Hook",
            "confidential_note_hook_issue.derived.json",
            HookKind::Note,
            5,
            17,
            true,
        ),
    ];
    for (event, file, kind, project_id, issue_iid, confidential) in cases {
        let body = std::fs::read(fixture(&format!("webhooks/{file}"))).unwrap();
        let parsed = parse_webhook(event, &body).unwrap();
        assert_eq!(
            parsed,
            WebhookEvent {
                kind,
                project_id,
                issue_iid,
                confidential
            },
            "{file}"
        );
    }
}

type Received = Arc<Mutex<Vec<(axum::http::HeaderMap, axum::body::Bytes)>>>;

async fn hook_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push((headers, body));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn wait_for(received: &Received, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while received.lock().unwrap().len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn fake_emits_signed_webhooks() {
    const SIGNING: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let w = world().await;
    let (url, received) = hook_receiver().await;
    w.fake
        .set_webhook(&url, Some("plain-secret"), Some(SIGNING));
    let iid = w.report("hooked");
    w.fake
        .add_note_as(PROJECT, iid, w.maintainer_id, "confirmed", false);
    w.fake.edit_issue(PROJECT, iid, "new text");
    w.fake.set_confidential(PROJECT, iid, false); // its system note sends no note hook
    wait_for(&received, 4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let received = received.lock().unwrap().clone();
    let events: Vec<&str> = received
        .iter()
        .map(|(h, _)| h["x-gitlab-event"].to_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "Confidential Issue Hook",
            "Confidential Note Hook",
            "Confidential Issue Hook",
            "Issue Hook"
        ]
    );
    let mut ids = std::collections::HashSet::new();
    for (headers, body) in &received {
        let header = |name: &str| headers[name].to_str().unwrap();
        assert_eq!(header("idempotency-key"), header("webhook-id"));
        assert!(
            ids.insert(header("webhook-id").to_string()),
            "a fresh id per event"
        );
        assert_eq!(header("x-gitlab-token"), "plain-secret");
        assert!(verify_webhook_signature(
            SIGNING,
            header("webhook-id"),
            header("webhook-timestamp"),
            body,
            header("webhook-signature"),
        ));
        let event = parse_webhook(header("x-gitlab-event"), body).unwrap();
        assert_eq!((event.project_id, event.issue_iid), (PROJECT, iid));
    }
    let last: Value = serde_json::from_slice(&received[3].1).unwrap();
    assert_eq!(
        last["changes"]["confidential"],
        json!({"previous": true, "current": false})
    );
    let note: Value = serde_json::from_slice(&received[1].1).unwrap();
    assert!(
        note["object_attributes"].get("internal").is_none(),
        "like GitLab"
    );
    assert!(note["object_attributes"]["created_at"]
        .as_str()
        .unwrap()
        .ends_with(" UTC"));
}

#[tokio::test]
async fn unsigned_webhooks_carry_no_signature() {
    let w = world().await;
    let (url, received) = hook_receiver().await;
    w.fake.set_webhook(&url, None, None);
    w.fake
        .create_issue(PROJECT, w.reporter_id, "public", "text", false);
    wait_for(&received, 1).await;
    let received = received.lock().unwrap().clone();
    let (headers, _) = &received[0];
    assert_eq!(headers["x-gitlab-event"], "Issue Hook");
    assert!(!headers.contains_key("webhook-signature"));
    assert!(!headers.contains_key("x-gitlab-token"));
    assert!(headers.contains_key("webhook-timestamp"));
}
