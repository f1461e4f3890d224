//! The daemon end to end against the fake GitLab (and no model): one internal
//! note per issue revision, public issues untouched, webhooks authenticated and
//! de-duplicated, 429 storms ridden out, a dropped internal flag caught,
//! confirmations honoured only from maintainers, and SIGKILL crashes survived.

use std::time::{Duration, Instant};

use sectriage::daemon::{self, Daemon, DaemonConfig};
use sectriage::engine::Engine;
use sectriage::gitlab::fake::{FakeGitLab, Fault, LONE_SURROGATE};
use sectriage::gitlab::{Client, GitLabConfig, Token};
use sectriage::intake::poll::{self, Intake};
use sectriage::kb::Kb;
use sectriage::queue::{JobState, Queue, QueueConfig};
use sectriage::triage::hygiene::Limits;

mod support;

const PROJECT: u64 = 7;
const XHCI: &str = include_str!("../eval/examples/xhci-disclosure.md");

/// Which queue database a test runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one SQLite and one PostgreSQL test per shared test body. The PostgreSQL variant
/// needs `SECTRIAGE_TEST_POSTGRES_URL`; it says so when it is missing and fails under CI.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if super::support::postgres_url().is_none() {
                        return;
                    }
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    new_issue_gets_one_internal_note_edit_gets_one_update_public_untouched,
    webhooks_are_authenticated_and_deduplicated,
    signed_webhooks_reject_stale_timestamps,
    a_429_storm_is_ridden_out_without_losing_jobs,
    dropped_internal_flag_is_caught_and_the_public_note_deleted,
    only_maintainers_confirm,
    crash_test_sigkill_at_random_points,
    two_daemons_share_one_queue,
    sigterm_stops_within_a_bounded_time,
    failed_job_insert_during_a_poll_loses_no_issue,
    failed_enqueue_of_a_webhook_is_not_answered_duplicate_on_redelivery,
    empty_webhook_secrets_authenticate_nothing,
    lagging_notes_list_gets_no_duplicate_note,
    bad_gateway_for_a_stored_note_gets_no_duplicate,
    malformed_issue_is_dead_lettered_and_its_project_carries_on,
    alarm_survives_a_restart_and_stops_every_worker,
    undeleted_public_note_is_retried_and_reported,
    signed_replay_with_a_fresh_idempotency_key_is_a_duplicate,
    poller_honours_a_long_retry_after,
    readyz_reflects_gitlab_the_token_and_the_queue,
    lost_lease_stops_the_job_before_it_posts,
    shutdown_does_not_wait_for_a_slow_poll,
    dry_run_does_not_block_the_live_run,
    reporter_reply_and_reporter_thumbsup_apply_cve_required_a_guests_do_nothing,
    clean_non_virtualization_is_published_only_with_publish_on_confirm,
    planted_private_data_holds_publishing_back_until_scrubbed,
    a_label_removed_by_a_maintainer_stays_removed_and_the_decision_stands,
    near_misses_are_answered_and_ask_posts_the_questions_for_the_reporter,
    thumbsdown_rejects_and_emoji_webhook_triggers_at_once,
    a_rediscovered_bug_is_flagged_as_a_likely_duplicate,
    minimal_embargo_reminders_come_once_per_window,
    a_rejection_cancels_an_earlier_confirmation_for_publishing,
    a_lagging_notes_list_gets_one_acknowledgement_per_reply,
    a_comment_the_notes_list_does_not_show_yet_holds_publishing_back,
    a_clock_step_on_gitlab_does_not_hide_later_issues,
    a_guest_token_is_not_ready,
    a_revoked_token_pauses_the_workers_and_the_daemon_stays_up,
    a_failure_after_publishing_still_posts_the_audit_note,
    a_replaced_token_of_a_new_bot_user_keeps_the_suggestions_counting,
);

struct Setup {
    backend: Backend,
    fake: FakeGitLab,
    bot_id: u64,
    bot_token: String,
    reporter_id: u64,
    dir: tempfile::TempDir,
    queue_url: String,
}

async fn setup(bot_level: u32, backend: Backend) -> Setup {
    let fake = FakeGitLab::start().await;
    fake.add_project(PROJECT);
    let (bot_id, bot_token) = fake.add_user("sectriage-bot", PROJECT, bot_level);
    let (reporter_id, _) = fake.add_user("reporter", PROJECT, 10);
    let dir = tempfile::tempdir().unwrap();
    let queue_url = match backend {
        // Each test gets its own schema, so parallel tests never share jobs.
        Backend::Postgres => {
            let base = support::postgres_url().expect("checked by the macro");
            let schema = format!("daemon_{:016x}", rand::random::<u64>());
            let admin = sqlx::PgPool::connect(&base).await.unwrap();
            sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-c%20search_path%3D{schema}")
        }
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("q.db").display()),
    };
    Setup {
        backend,
        fake,
        bot_id,
        bot_token,
        reporter_id,
        dir,
        queue_url,
    }
}

fn client(s: &Setup, token: &str) -> Client {
    Client::new(GitLabConfig {
        base_url: s.fake.base_url.clone(),
        token: Token::new(token.to_string()),
        timeout: Duration::from_secs(10),
        max_retries: 6,
        notes_per_minute: 6000,
    })
    .unwrap()
}

fn test_config(secret: Option<&str>, signing: Option<&str>) -> DaemonConfig {
    DaemonConfig {
        listen: "127.0.0.1:0".into(),
        webhook_secret: secret.map(str::to_string),
        webhook_signing_token: signing.map(str::to_string),
        poll_interval: Duration::from_millis(200),
        lease: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(5),
        post_settle: Duration::from_secs(4),
        ..DaemonConfig::new(vec![PROJECT])
    }
}

async fn daemon_with(s: &Setup, config: DaemonConfig) -> Daemon {
    daemon_as(s, config, &s.bot_token).await
}

/// A daemon whose GitLab token is `token`.
async fn daemon_as(s: &Setup, config: DaemonConfig, token: &str) -> Daemon {
    Daemon::new(
        config,
        client(s, token),
        Queue::connect(&s.queue_url, QueueConfig::default())
            .await
            .unwrap(),
        Engine {
            kb: Kb::embedded(),
            limits: Limits::default(),
            llm: None,
        },
    )
}

async fn daemon_for(s: &Setup, secret: Option<&str>, signing: Option<&str>) -> Daemon {
    daemon_with(s, test_config(secret, signing)).await
}

/// Writes a `serve` config for the fake GitLab and starts `sectriage serve` (rules only).
fn spawn_serve(s: &Setup, dir: &std::path::Path, lease_secs: u64) -> std::process::Child {
    serve_command(s, dir, lease_secs)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// `sectriage serve` (rules only) with a config for the fake GitLab written into `dir`.
fn serve_command(s: &Setup, dir: &std::path::Path, lease_secs: u64) -> std::process::Command {
    let config = dir.join("sectriage.toml");
    std::fs::write(
        &config,
        format!(
            "[gitlab]\nurl = \"{}\"\nprojects = [{PROJECT}]\n[daemon]\nqueue_url = \"{}\"\nlisten = \"127.0.0.1:0\"\npoll_interval_secs = 1\nworkers = 2\nlease_secs = {lease_secs}\npost_settle_secs = 3\n",
            s.fake.base_url, s.queue_url
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sectriage"));
    cmd.args(["serve", "--llm", "none", "--config"])
        .arg(&config)
        .env("SECTRIAGE_GITLAB_TOKEN", &s.bot_token);
    cmd
}

/// Makes the queue database fail (`on`) or accept again (`off`) every row change `event`
/// (`INSERT`, `UPDATE OF col`) on `jobs` for which the condition `when` holds (empty: all),
/// as a full disk or an I/O error would.
async fn break_jobs_table(s: &Setup, event: &str, when: &str, on: bool) {
    let name = format!("broken_{}", event.replace(' ', "_").to_lowercase());
    match s.backend {
        Backend::Sqlite => {
            use sqlx::Connection as _;
            let mut conn = sqlx::SqliteConnection::connect(&s.queue_url).await.unwrap();
            let sql = if on {
                let when = if when.is_empty() {
                    String::new()
                } else {
                    format!("WHEN {when}")
                };
                format!("CREATE TRIGGER {name} BEFORE {event} ON jobs FOR EACH ROW {when} BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
            } else {
                format!("DROP TRIGGER {name}")
            };
            sqlx::query(&sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(&s.queue_url).await.unwrap();
            let stmts: Vec<String> = if on {
                vec![
                    format!("CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$ LANGUAGE plpgsql"),
                    format!(
                        "CREATE TRIGGER {name} BEFORE {event} ON jobs FOR EACH ROW {} EXECUTE FUNCTION {name}()",
                        if when.is_empty() { String::new() } else { format!("WHEN ({when})") }
                    ),
                ]
            } else {
                vec![
                    format!("DROP TRIGGER {name} ON jobs"),
                    format!("DROP FUNCTION {name}()"),
                ]
            };
            for sql in stmts {
                sqlx::query(&sql).execute(&mut conn).await.unwrap();
            }
            conn.close().await.unwrap();
        }
    }
}

async fn serve_router(d: &Daemon) -> std::net::SocketAddr {
    let app = daemon::router(d);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn readyz(d: &Daemon) -> Option<String> {
    d.not_ready().await
}

fn bot_notes(s: &Setup, iid: u64) -> Vec<sectriage::gitlab::Note> {
    s.fake
        .notes(PROJECT, iid)
        .into_iter()
        .filter(|n| n.author.id == s.bot_id)
        .collect()
}

async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the daemon in the background; dropping the guard stops it.
struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    fn start(d: Daemon) -> Running {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(daemon::run(d, async move {
            let _ = rx.await;
        }));
        Running {
            stop: Some(tx),
            task,
        }
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap()
    }
}

async fn new_issue_gets_one_internal_note_edit_gets_one_update_public_untouched(backend: Backend) {
    let s = setup(20, backend).await;
    let (title, body) = XHCI.split_once('\n').unwrap();
    let iid = s
        .fake
        .create_issue(PROJECT, s.reporter_id, title, body, true);
    let public = s.fake.create_issue(
        PROJECT,
        s.reporter_id,
        "public bug",
        "hw/net/e1000e_core.c crash",
        false,
    );
    let run = Running::start(daemon_for(&s, Some("t"), None).await);
    wait_until("the first suggestion", Duration::from_secs(20), || {
        bot_notes(&s, iid).len() == 1
    })
    .await;
    let note = &bot_notes(&s, iid)[0];
    assert!(note.internal, "the suggestion must be internal");
    assert!(note.body.contains("virtualization use case"));
    // Several more polls must not add a second note for the same revision.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(bot_notes(&s, iid).len(), 1);

    s.fake.edit_issue(
        PROJECT,
        iid,
        &format!("{body}\n\nUpdate: also reproduces with -machine pc."),
    );
    wait_until("the update", Duration::from_secs(20), || {
        bot_notes(&s, iid).len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(bot_notes(&s, iid).len(), 2, "one note per revision");
    assert!(
        s.fake.notes(PROJECT, public).is_empty(),
        "public issues are never touched"
    );
    assert!(s.fake.executed_quick_actions().is_empty());
    run.stop().await.unwrap();
}

async fn webhooks_are_authenticated_and_deduplicated(backend: Backend) {
    let s = setup(20, backend).await;
    let d = daemon_for(&s, Some("s3cret"), None).await;
    let queue = d.queue.clone();
    let app = daemon::router(&d);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let body = serde_json::json!({
        "object_kind": "issue", "event_type": "confidential_issue",
        "project": {"id": PROJECT}, "project_id": PROJECT,
        "object_attributes": {"iid": 5, "confidential": true, "action": "open", "id": 99}
    })
    .to_string();
    let post = |token: &'static str, key: &'static str| {
        let body = body.clone();
        async move {
            reqwest::Client::new()
                .post(format!("http://{addr}/webhook"))
                .header("X-Gitlab-Event", "Confidential Issue Hook")
                .header("X-Gitlab-Token", token)
                .header("Idempotency-Key", key)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post("wrong", "k0").await, 401);
    assert_eq!(
        queue.list(None, 100).await.unwrap().len(),
        0,
        "forged hook made no job"
    );
    assert_eq!(post("s3cret", "k1").await, 202);
    assert_eq!(post("s3cret", "k1").await, 200, "duplicate delivery");
    assert_eq!(
        post("s3cret", "k2").await,
        202,
        "new delivery, coalesced into the pending job"
    );
    assert_eq!(queue.list(None, 100).await.unwrap().len(), 1, "one job");
}

async fn signed_webhooks_reject_stale_timestamps(backend: Backend) {
    let s = setup(20, backend).await;
    let token = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let d = daemon_for(&s, None, Some(token)).await;
    let queue = d.queue.clone();
    let app = daemon::router(&d);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let body = serde_json::json!({"object_kind": "issue", "project": {"id": PROJECT}, "project_id": PROJECT, "object_attributes": {"iid": 3, "confidential": true, "action": "open", "id": 1}}).to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let send = |ts: i64, id: &'static str| {
        let body = body.clone();
        let sig = sectriage::gitlab::webhook::sign_webhook(token, id, ts, body.as_bytes());
        async move {
            reqwest::Client::new()
                .post(format!("http://{addr}/webhook"))
                .header("X-Gitlab-Event", "Confidential Issue Hook")
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send(now - 3600, "old").await, 401, "stale timestamp");
    assert_eq!(send(now, "fresh").await, 202);
    assert_eq!(queue.list(None, 10).await.unwrap().len(), 1);
}

async fn a_429_storm_is_ridden_out_without_losing_jobs(backend: Backend) {
    let s = setup(20, backend).await;
    let mut iids = Vec::new();
    for i in 0..6 {
        iids.push(s.fake.create_issue(
            PROJECT,
            s.reporter_id,
            &format!("hw/net/e1000e: overflow {i}"),
            "guest-triggered heap overflow in e1000e_core.c",
            true,
        ));
    }
    s.fake.inject(Fault::RateLimit {
        times: 15,
        retry_after_secs: 1,
    });
    let run = Running::start(daemon_for(&s, None, None).await);
    wait_until("every issue's suggestion", Duration::from_secs(60), || {
        iids.iter().all(|&i| bot_notes(&s, i).len() == 1)
    })
    .await;
    run.stop().await.unwrap();
    for i in iids {
        assert_eq!(bot_notes(&s, i).len(), 1);
    }
}

async fn dropped_internal_flag_is_caught_and_the_public_note_deleted(backend: Backend) {
    // A Guest-level token: GitLab silently saves notes public.
    let s = setup(10, backend).await;
    let iid = s.fake.create_issue(
        PROJECT,
        s.bot_id, // a Guest sees the confidential issue it filed
        "hw/usb/hcd-xhci: loop",
        "xhci guest loop",
        true,
    );
    let d = daemon_for(&s, None, None).await;
    // GitLab lists confidential issues only to Planners and up; a webhook brings this one in.
    d.queue.enqueue(PROJECT, iid, "webhook").await.unwrap();
    let queue = d.queue.clone();
    let run = Running::start(d);
    let start = Instant::now();
    while queue.alarms().await.unwrap().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "no alarm");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.stop().await.unwrap();
    assert!(
        s.fake
            .notes(PROJECT, iid)
            .iter()
            .all(|n| n.author.id != s.bot_id),
        "the public note was deleted"
    );
    let dead = queue
        .list(Some(sectriage::queue::JobState::Dead), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("internal flag"));
}

async fn only_maintainers_confirm(backend: Backend) {
    // Kept as a regression of the old behaviour's shape: a Guest's command is refused and a
    // member's applied; the default role is now Reporter (see the confirm tests below).
    let s = setup(20, backend).await;
    let (maint, _) = s.fake.add_user("maintainer", PROJECT, 40);
    let dev = s.reporter_id; // the Guest-level author of the report
    let iid = s.fake.create_issue(
        PROJECT,
        s.reporter_id,
        "hw/usb/hcd-xhci: loop",
        "guest loop in xhci_kick_epctx",
        true,
    );
    let run = Running::start(daemon_for(&s, None, None).await);
    wait_until("the suggestion", Duration::from_secs(20), || {
        bot_notes(&s, iid).len() == 1
    })
    .await;
    s.fake.add_note_as(
        PROJECT,
        iid,
        dev,
        "sectriage confirm non-virtualization",
        true,
    );
    s.fake.add_note_as(
        PROJECT,
        iid,
        maint,
        "sectriage confirm virtualization",
        true,
    );
    // Notes do not bump the issue in every GitLab version: a webhook or poll of notes triggers the job.
    run.stop().await.unwrap();
    let d = daemon_for(&s, None, None).await;
    d.queue.enqueue(PROJECT, iid, "test").await.unwrap();
    let run = Running::start(d);
    wait_until("two acknowledgements", Duration::from_secs(20), || {
        bot_notes(&s, iid).len() == 3
    })
    .await;
    run.stop().await.unwrap();
    let issue = s.fake.issue(PROJECT, iid).unwrap();
    assert_eq!(issue.labels, vec!["cve::required".to_string()]);
    assert!(issue.confidential, "confirmation never publishes the issue");
    let notes = bot_notes(&s, iid);
    assert!(notes.iter().any(|n| n.body.contains("Command ignored")));
    assert!(notes.iter().filter(|n| !n.system).all(|n| n.internal));
}

/// SIGKILLs `sectriage serve` at random points while it works through a
/// backlog, restarts it, and checks every issue ends with exactly one note.
async fn crash_test_sigkill_at_random_points(backend: Backend) {
    let s = setup(20, backend).await;
    let n_issues = 25;
    let mut iids = Vec::new();
    for i in 0..n_issues {
        iids.push(s.fake.create_issue(
            PROJECT,
            s.reporter_id,
            &format!("hw/net/e1000e: overflow {i}"),
            "guest heap overflow in e1000e_core.c under KVM on q35",
            true,
        ));
    }
    s.fake.inject(Fault::Latency(Duration::from_millis(30)));
    let dir = tempfile::tempdir().unwrap();
    let spawn = || spawn_serve(&s, dir.path(), 2);
    let mut kills = 0;
    let mut seed: u64 = 0x5eed;
    let done = || iids.iter().all(|&i| !bot_notes(&s, i).is_empty());
    while !done() && kills < 12 {
        let mut child = spawn();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = 150 + (seed >> 33) % 900;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    let mut child = spawn();
    wait_until(
        "every issue's suggestion after the crashes",
        Duration::from_secs(90),
        done,
    )
    .await;
    // Let leases of killed runs expire and any re-run finish.
    tokio::time::sleep(Duration::from_secs(4)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    eprintln!("crash test: {kills} SIGKILLs at random points, {n_issues} issues");
    for &i in &iids {
        assert_eq!(
            bot_notes(&s, i).len(),
            1,
            "issue {i} must have exactly one suggestion"
        );
    }
    assert!(kills >= 3, "too few kill points exercised ({kills})");
}

async fn two_daemons_share_one_queue(backend: Backend) {
    let s = setup(20, backend).await;
    let mut iids = Vec::new();
    for i in 0..16 {
        iids.push(s.fake.create_issue(
            PROJECT,
            s.reporter_id,
            &format!("hw/scsi/lsi53c895a: reentrancy {i}"),
            "guest DMA re-entrancy in lsi_execute_script",
            true,
        ));
    }
    s.fake.inject(Fault::Latency(Duration::from_millis(20)));
    let a = Running::start(daemon_for(&s, None, None).await);
    let b = Running::start(daemon_for(&s, None, None).await);
    wait_until("every suggestion", Duration::from_secs(60), || {
        iids.iter().all(|&i| !bot_notes(&s, i).is_empty())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    for i in iids {
        assert_eq!(bot_notes(&s, i).len(), 1, "issue {i}");
    }
}

async fn sigterm_stops_within_a_bounded_time(backend: Backend) {
    let s = setup(20, backend).await;
    for i in 0..30 {
        s.fake.create_issue(
            PROJECT,
            s.reporter_id,
            &format!("hw/usb/hcd-xhci: loop {i}"),
            "guest loop",
            true,
        );
    }
    s.fake.inject(Fault::Latency(Duration::from_millis(200)));
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_serve(&s, dir.path(), 300);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let term = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            term.elapsed() < Duration::from_secs(30),
            "did not exit within 30 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    eprintln!("exited {:.2} s after SIGTERM", term.elapsed().as_secs_f64());
}

// === regressions for the independent test's defects ===

fn issue_body(i: usize) -> (String, String) {
    (
        format!("hw/net/e1000e: overflow {i}"),
        "guest-triggered heap overflow in e1000e_core.c under KVM on q35".to_string(),
    )
}

async fn jobs_of(queue: &Queue, iid: u64) -> Vec<sectriage::queue::JobRow> {
    queue
        .list(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.issue_iid == iid)
        .collect()
}

/// Defect 1: the seen key and the job used to be two commits; a failed insert lost the issue.
async fn failed_job_insert_during_a_poll_loses_no_issue(backend: Backend) {
    let s = setup(20, backend).await;
    let (title, body) = issue_body(0);
    let iid = s
        .fake
        .create_issue(PROJECT, s.reporter_id, &title, &body, true);
    let queue = Queue::connect(&s.queue_url, QueueConfig::default())
        .await
        .unwrap();
    let gitlab = client(&s, &s.bot_token);
    break_jobs_table(&s, "INSERT", "", true).await;
    let failed = poll::poll_project(&gitlab, &queue, PROJECT, Intake::Live).await;
    assert!(failed.is_err(), "a failing job insert fails the poll");
    break_jobs_table(&s, "INSERT", "", false).await;
    let again = poll::poll_project(&gitlab, &queue, PROJECT, Intake::Live)
        .await
        .unwrap();
    assert_eq!(again.enqueued, 1, "the next poll enqueues the issue");
    assert_eq!(jobs_of(&queue, iid).await.len(), 1);
}

/// An issue stamped half an hour ahead (GitLab's clock stepped, then stepped back) must
/// not carry the poll cursor past the issues created after it.
async fn a_clock_step_on_gitlab_does_not_hide_later_issues(backend: Backend) {
    let s = setup(20, backend).await;
    let queue = Queue::connect(&s.queue_url, QueueConfig::default())
        .await
        .unwrap();
    let gitlab = client(&s, &s.bot_token);
    let (title, body) = issue_body(0);
    s.fake.set_clock_offset(30 * 60 * 1000);
    let ahead = s
        .fake
        .create_issue(PROJECT, s.reporter_id, &title, &body, true);
    s.fake.set_clock_offset(0);
    let first = poll::poll_project(&gitlab, &queue, PROJECT, Intake::Live)
        .await
        .unwrap();
    assert_eq!(first.enqueued, 1);
    let (title, body) = issue_body(1);
    let later = s
        .fake
        .create_issue(PROJECT, s.reporter_id, &title, &body, true);
    let second = poll::poll_project(&gitlab, &queue, PROJECT, Intake::Live)
        .await
        .unwrap();
    assert_eq!(
        second.enqueued, 1,
        "the issue after the clock step is listed"
    );
    assert_eq!(jobs_of(&queue, later).await.len(), 1);
    assert_eq!(jobs_of(&queue, ahead).await.len(), 1, "and nothing twice");
}

/// Defect 1, webhook path: a delivery whose enqueue failed must not be "duplicate" on retry.
async fn failed_enqueue_of_a_webhook_is_not_answered_duplicate_on_redelivery(backend: Backend) {
    let s = setup(20, backend).await;
    let d = daemon_for(&s, Some("s3cret"), None).await;
    let queue = d.queue.clone();
    let addr = serve_router(&d).await;
    let body = serde_json::json!({
        "object_kind": "issue", "event_type": "confidential_issue",
        "project": {"id": PROJECT}, "object_attributes": {"iid": 5, "confidential": true}
    })
    .to_string();
    let post = || {
        reqwest::Client::new()
            .post(format!("http://{addr}/webhook"))
            .header("X-Gitlab-Event", "Confidential Issue Hook")
            .header("X-Gitlab-Token", "s3cret")
            .header("Idempotency-Key", "delivery-1")
            .body(body.clone())
            .send()
    };
    break_jobs_table(&s, "INSERT", "", true).await;
    assert_eq!(post().await.unwrap().status().as_u16(), 503);
    break_jobs_table(&s, "INSERT", "", false).await;
    assert_eq!(
        post().await.unwrap().status().as_u16(),
        202,
        "GitLab's retry of the delivery gets a job"
    );
    assert_eq!(jobs_of(&queue, 5).await.len(), 1);
}

/// Defect 2: an empty secret or an empty signing key must not open the webhook.
async fn empty_webhook_secrets_authenticate_nothing(backend: Backend) {
    use base64::Engine as _;
    use hmac::Mac as _;
    let s = setup(20, backend).await;
    let body = serde_json::json!({
        "object_kind": "issue", "project": {"id": PROJECT},
        "object_attributes": {"iid": 9, "confidential": true}
    })
    .to_string();
    // An empty X-Gitlab-Token secret.
    let d = daemon_for(&s, Some(""), None).await;
    let addr = serve_router(&d).await;
    for token in [None, Some("")] {
        let mut req = reqwest::Client::new()
            .post(format!("http://{addr}/webhook"))
            .header("X-Gitlab-Event", "Confidential Issue Hook");
        if let Some(t) = token {
            req = req.header("X-Gitlab-Token", t);
        }
        let status = req.body(body.clone()).send().await.unwrap().status();
        assert_eq!(status.as_u16(), 401, "empty secret, token {token:?}");
    }
    // A signing token with an empty key, and a delivery signed with that empty key.
    let d = daemon_for(&s, None, Some("whsec_")).await;
    let addr = serve_router(&d).await;
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"").unwrap();
    mac.update(format!("msg-1.{ts}.{body}").as_bytes());
    let sig = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    let status = reqwest::Client::new()
        .post(format!("http://{addr}/webhook"))
        .header("X-Gitlab-Event", "Confidential Issue Hook")
        .header("webhook-id", "msg-1")
        .header("webhook-timestamp", &ts)
        .header("webhook-signature", sig)
        .body(body.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 401, "signed with an empty key");
    assert!(d.queue.list(None, 10).await.unwrap().is_empty(), "no job");
}

/// Defect 3: posting bumps the issue, the next poll re-runs it, and a lagging notes list does
/// not show our note yet: the local record must stop a second note.
async fn lagging_notes_list_gets_no_duplicate_note(backend: Backend) {
    let s = setup(20, backend).await;
    s.fake.inject(Fault::NotesListLag(Duration::from_secs(3)));
    let mut iids = Vec::new();
    for i in 0..4 {
        let (title, body) = issue_body(i);
        iids.push(
            s.fake
                .create_issue(PROJECT, s.reporter_id, &title, &body, true),
        );
    }
    let run = Running::start(daemon_for(&s, None, None).await);
    wait_until("every suggestion", Duration::from_secs(30), || {
        iids.iter().all(|&i| !bot_notes(&s, i).is_empty())
    })
    .await;
    // Many polls while the list still lags, and after it caught up.
    tokio::time::sleep(Duration::from_secs(5)).await;
    run.stop().await.unwrap();
    for i in iids {
        assert_eq!(bot_notes(&s, i).len(), 1, "issue {i}: one suggestion");
    }
}

/// Defect 3: a 502 for a POST GitLab did store, with a lagging list, must not post twice.
async fn bad_gateway_for_a_stored_note_gets_no_duplicate(backend: Backend) {
    let s = setup(20, backend).await;
    s.fake.inject(Fault::NotesListLag(Duration::from_secs(2)));
    s.fake.inject(Fault::StoreThenBadGateway { times: 1 });
    let (title, body) = issue_body(0);
    let iid = s
        .fake
        .create_issue(PROJECT, s.reporter_id, &title, &body, true);
    let run = Running::start(daemon_for(&s, None, None).await);
    wait_until("the suggestion", Duration::from_secs(20), || {
        !bot_notes(&s, iid).is_empty()
    })
    .await;
    // Past the settle time (4 s in tests) and the retry that follows it.
    tokio::time::sleep(Duration::from_secs(7)).await;
    run.stop().await.unwrap();
    assert_eq!(bot_notes(&s, iid).len(), 1);
}

/// Defect 4: one undecodable issue must not block the project.
async fn malformed_issue_is_dead_lettered_and_its_project_carries_on(backend: Backend) {
    let s = setup(20, backend).await;
    let bad = s.fake.create_issue(
        PROJECT,
        s.reporter_id,
        "hw/usb: crash",
        &format!("a description with {LONE_SURROGATE} in it"),
        true,
    );
    let (title, body) = issue_body(1);
    let good = s
        .fake
        .create_issue(PROJECT, s.reporter_id, &title, &body, true);
    let d = daemon_for(&s, None, None).await;
    let queue = d.queue.clone();
    let run = Running::start(d);
    wait_until(
        "the good issue's suggestion",
        Duration::from_secs(20),
        || bot_notes(&s, good).len() == 1,
    )
    .await;
    run.stop().await.unwrap();
    let dead = jobs_of(&queue, bad).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].state, JobState::Dead);
    let reason = dead[0].last_error.clone().unwrap_or_default();
    assert!(reason.contains("surrogate"), "{reason}");
    assert!(
        !reason.contains("lone-surrogate"),
        "no issue text in the reason"
    );
}

/// Defect 5: the alarm is in the database: a restarted daemon does not post again.
async fn alarm_survives_a_restart_and_stops_every_worker(backend: Backend) {
    // A Guest-level token: GitLab silently saves notes public.
    let s = setup(10, backend).await;
    let mut iids = Vec::new();
    for i in 0..4 {
        iids.push(s.fake.create_issue(
            PROJECT,
            s.bot_id, // a Guest sees the confidential issues it filed
            &format!("hw/usb/hcd-xhci: loop {i}"),
            "xhci guest loop",
            true,
        ));
    }
    let config = || DaemonConfig {
        workers: 4,
        ..test_config(None, None)
    };
    let d = daemon_with(&s, config()).await;
    for &i in &iids {
        d.queue.enqueue(PROJECT, i, "webhook").await.unwrap();
    }
    let queue = d.queue.clone();
    let run = Running::start(d);
    let start = Instant::now();
    while queue.alarms().await.unwrap().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "no alarm");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    run.stop().await.unwrap();
    let posted = s.fake.public_notes_created();
    assert_eq!(
        posted, 1,
        "4 workers: one public note before posting stopped"
    );

    // A restart on the same queue: still not ready, still not posting.
    let d = daemon_with(&s, config()).await;
    let later = s
        .fake
        .create_issue(PROJECT, s.bot_id, "hw/usb: loop", "xhci loop", true);
    d.queue.enqueue(PROJECT, later, "webhook").await.unwrap();
    let probe = d.clone();
    let run = Running::start(d);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let why = readyz(&probe).await.expect("not ready after a restart");
    assert!(why.contains("internal-flag-dropped"), "{why}");
    assert_eq!(
        s.fake.public_notes_created(),
        1,
        "no public note after the restart"
    );
    run.stop().await.unwrap();
    assert_eq!(queue.clear_alarms().await.unwrap(), 1);
    assert!(queue.alarms().await.unwrap().is_empty());
}

/// Defect 5: when the DELETE of the public note fails, it is retried and reported.
async fn undeleted_public_note_is_retried_and_reported(backend: Backend) {
    let s = setup(10, backend).await;
    let iid = s
        .fake
        .create_issue(PROJECT, s.bot_id, "hw/usb: loop", "xhci loop", true);
    s.fake.inject(Fault::DeleteFails { times: 1000 });
    let d = daemon_for(&s, None, None).await;
    d.queue.enqueue(PROJECT, iid, "webhook").await.unwrap();
    let queue = d.queue.clone();
    let run = Running::start(d);
    wait_until("the public note", Duration::from_secs(20), || {
        !bot_notes(&s, iid).is_empty()
    })
    .await;
    let start = Instant::now();
    loop {
        let alarms = queue.alarms().await.unwrap();
        if alarms
            .iter()
            .any(|a| a.name.starts_with(daemon::ALARM_UNDELETED_NOTE))
        {
            assert!(
                alarms.iter().any(|a| a.detail.contains("FAILED")),
                "{alarms:?}"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{alarms:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        bot_notes(&s, iid).len(),
        1,
        "the public note is still there"
    );
    s.fake.inject(Fault::DeleteFails { times: 0 });
    wait_until("the retried deletion", Duration::from_secs(20), || {
        bot_notes(&s, iid).is_empty()
    })
    .await;
    run.stop().await.unwrap();
}

/// Defect 6: once a signature verified, the signed `webhook-id` is the de-duplication key.
async fn signed_replay_with_a_fresh_idempotency_key_is_a_duplicate(backend: Backend) {
    let s = setup(20, backend).await;
    let token = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let d = daemon_for(&s, None, Some(token)).await;
    let queue = d.queue.clone();
    let addr = serve_router(&d).await;
    let body = serde_json::json!({"object_kind": "issue", "project": {"id": PROJECT}, "object_attributes": {"iid": 3, "confidential": true}}).to_string();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sig = sectriage::gitlab::webhook::sign_webhook(token, "msg-1", ts, body.as_bytes());
    let mut statuses = Vec::new();
    for i in 0..4 {
        let status = reqwest::Client::new()
            .post(format!("http://{addr}/webhook"))
            .header("X-Gitlab-Event", "Confidential Issue Hook")
            .header("webhook-id", "msg-1")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", &sig)
            .header("Idempotency-Key", format!("fresh-{i}"))
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        statuses.push(status);
        // Let a worker-less queue keep the first job pending; claim it so coalescing cannot hide a new job.
        if let Some(job) = queue.claim("w", Duration::from_secs(60)).await.unwrap() {
            queue.complete(&job).await.unwrap();
        }
    }
    assert_eq!(statuses, [202, 200, 200, 200]);
    assert_eq!(queue.list(None, 10).await.unwrap().len(), 1, "one job");
}

/// Defect 7: a Retry-After above a minute is honoured by the poller.
async fn poller_honours_a_long_retry_after(backend: Backend) {
    let s = setup(20, backend).await;
    let d = daemon_for(&s, None, None).await;
    let probe = d.clone();
    let run = Running::start(d);
    let start = Instant::now();
    while readyz(&probe).await.is_some() {
        assert!(start.elapsed() < Duration::from_secs(20), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.fake.inject(Fault::RateLimit {
        times: 10_000,
        retry_after_secs: 90,
    });
    let before = s.fake.request_count();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls = s.fake.request_count() - before;
    run.stop().await.unwrap();
    // 200 ms polls would make about 15 calls; a 90 s Retry-After allows the one that got it.
    assert!(
        calls <= 2,
        "{calls} GitLab calls within 3 s of a 90 s Retry-After"
    );
}

/// Defect 8: readiness follows GitLab errors, a revoked token and the queue file.
async fn readyz_reflects_gitlab_the_token_and_the_queue(backend: Backend) {
    let s = setup(20, backend).await;
    let d = daemon_for(&s, None, None).await;
    let probe = d.clone();
    let addr = serve_router(&d).await;
    let run = Running::start(d);
    let ready = || async { readyz(&probe).await };
    let wait_for = |want_ready: bool, what: &'static str| {
        let probe = probe.clone();
        async move {
            let start = Instant::now();
            loop {
                let now = probe.not_ready().await;
                if now.is_none() == want_ready {
                    return now;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "timed out waiting for {what}: {now:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    wait_for(true, "ready").await;
    s.fake.inject(Fault::ServerError { times: 100_000 });
    let why = wait_for(false, "not ready on 5xx").await.unwrap();
    assert!(why.contains("poll failed"), "{why}");
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sectriage_poll_failures_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sectriage_seconds_since_last_good_poll"),
        "{metrics}"
    );
    s.fake.inject(Fault::ServerError { times: 0 });
    wait_for(true, "ready again").await;

    s.fake.revoke_token(&s.bot_token);
    let why = wait_for(false, "not ready with a revoked token")
        .await
        .unwrap();
    assert!(why.contains("token"), "{why}");
    run.stop().await.unwrap();

    if s.backend == Backend::Sqlite {
        let file = s.dir.path().join("q.db");
        std::fs::remove_file(&file).unwrap();
        let why = ready()
            .await
            .expect("not ready once the queue file is gone");
        assert!(why.contains("deleted"), "{why}");
        assert!(
            !file.exists(),
            "the deleted queue was not silently recreated"
        );
    }
}

/// Defect 9: a lease lost while the job runs stops it before it posts.
async fn lost_lease_stops_the_job_before_it_posts(backend: Backend) {
    let s = setup(20, backend).await;
    let (title, body) = issue_body(0);
    let iid = s
        .fake
        .create_issue(PROJECT, s.reporter_id, &title, &body, true);
    // Every GitLab call takes 500 ms: fetching the issue and its notes outlasts the lease.
    s.fake.inject(Fault::Latency(Duration::from_millis(500)));
    let d = daemon_with(
        &s,
        DaemonConfig {
            lease: Duration::from_millis(900),
            workers: 1,
            ..test_config(None, None)
        },
    )
    .await;
    // Heartbeats (a running job's lease extended) fail, as on a database error.
    break_jobs_table(
        &s,
        "UPDATE OF lease_until_ms",
        "OLD.state = 'running' AND NEW.state = 'running'",
        true,
    )
    .await;
    let run = Running::start(d);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        bot_notes(&s, iid).is_empty(),
        "a job whose lease was lost posted anyway"
    );
    break_jobs_table(
        &s,
        "UPDATE OF lease_until_ms",
        "OLD.state = 'running' AND NEW.state = 'running'",
        false,
    )
    .await;
    s.fake.inject(Fault::Latency(Duration::from_millis(50)));
    wait_until(
        "the suggestion once heartbeats work",
        Duration::from_secs(30),
        || bot_notes(&s, iid).len() == 1,
    )
    .await;
    run.stop().await.unwrap();
}

/// Defect 10: shutdown does not wait for a poll stuck in a slow GitLab call.
async fn shutdown_does_not_wait_for_a_slow_poll(backend: Backend) {
    let s = setup(20, backend).await;
    let d = daemon_with(
        &s,
        DaemonConfig {
            shutdown_grace: Duration::from_secs(1),
            ..test_config(None, None)
        },
    )
    .await;
    let probe = d.clone();
    let run = Running::start(d);
    let start = Instant::now();
    while probe.not_ready().await.is_some() {
        assert!(start.elapsed() < Duration::from_secs(20), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.fake.inject(Fault::Latency(Duration::from_secs(8)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stop = Instant::now();
    run.stop().await.unwrap();
    assert!(
        stop.elapsed() < Duration::from_secs(4),
        "shutdown took {:?}",
        stop.elapsed()
    );
}

/// Defect 11: a dry run posts nothing and does not use up the live run's intake.
async fn dry_run_does_not_block_the_live_run(backend: Backend) {
    let s = setup(20, backend).await;
    let (title, body) = issue_body(0);
    let iid = s
        .fake
        .create_issue(PROJECT, s.reporter_id, &title, &body, true);
    let d = daemon_with(
        &s,
        DaemonConfig {
            dry_run: true,
            ..test_config(None, None)
        },
    )
    .await;
    let queue = d.queue.clone();
    let run = Running::start(d);
    let start = Instant::now();
    loop {
        let jobs = jobs_of(&queue, iid).await;
        if jobs.iter().any(|j| j.state == JobState::Done) {
            assert_eq!(jobs[0].outcome.as_deref(), Some("dry-run"), "{jobs:?}");
            assert_eq!(
                jobs[0].verdict.as_deref(),
                Some("virtualization"),
                "{jobs:?}"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{jobs:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.stop().await.unwrap();
    assert!(bot_notes(&s, iid).is_empty(), "a dry run posts nothing");
    let run = Running::start(daemon_for(&s, None, None).await);
    wait_until("the live run's suggestion", Duration::from_secs(20), || {
        bot_notes(&s, iid).len() == 1
    })
    .await;
    run.stop().await.unwrap();
}

/// Defect 10: GitLab unreachable at startup: `serve` stays up, retries, and says not ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_waits_for_an_unreachable_gitlab_instead_of_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (gitlab_port, listen_port) = (free_port(), free_port());
    let config = dir.path().join("sectriage.toml");
    std::fs::write(
        &config,
        format!(
            "[gitlab]\nurl = \"http://127.0.0.1:{gitlab_port}\"\nprojects = [{PROJECT}]\n[daemon]\nqueue_url = \"sqlite://{}\"\nlisten = \"127.0.0.1:{listen_port}\"\n",
            dir.path().join("q.db").display()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(["serve", "--llm", "none", "--config"])
        .arg(&config)
        .env("SECTRIAGE_GITLAB_TOKEN", "glpat-test")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let still_running = child.try_wait().unwrap().is_none();
    let ready = reqwest::get(format!("http://127.0.0.1:{listen_port}/readyz")).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(still_running, "serve exited while GitLab was unreachable");
    let ready = ready.expect("the HTTP surface is up while GitLab is down");
    assert_eq!(ready.status().as_u16(), 503);
    let text = ready.text().await.unwrap();
    assert!(text.contains("waiting for GitLab"), "{text}");
}

/// Defect 10: an unreachable PostgreSQL is reported with its cause, quickly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_postgres_names_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("sectriage.toml");
    std::fs::write(
        &config,
        format!(
            "[gitlab]\nurl = \"http://127.0.0.1:1\"\nprojects = [{PROJECT}]\n[daemon]\nqueue_url = \"postgres://u:secret@127.0.0.1:{port}/db\"\n"
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(["serve", "--llm", "none", "--config"])
        .arg(&config)
        .env("SECTRIAGE_GITLAB_TOKEN", "glpat-test")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is not printed: {stderr}"
    );
}

// === the confirm stage (issue 9) ===

const NON_VIRT: &str = "linux-user: heap overflow in target_mmap() with qemu-x86_64\n\nRunning a crafted static binary under the qemu-x86_64 user-mode emulator overflows a buffer in linux-user/mmap.c target_mmap().";

fn confirm_config(publish: bool) -> DaemonConfig {
    DaemonConfig {
        confirm: sectriage::confirm::ConfirmPolicy {
            publish_on_confirm: publish,
            ..Default::default()
        },
        decision_sweep: Duration::from_millis(300),
        ..test_config(None, None)
    }
}

fn suggestion_note(s: &Setup, iid: u64) -> sectriage::gitlab::Note {
    bot_notes(s, iid)
        .into_iter()
        .find(|n| n.body.contains("sectriage:suggestion"))
        .expect("a suggestion note")
}

fn create(s: &Setup, text: &str) -> u64 {
    let (title, body) = text.split_once('\n').unwrap();
    s.fake
        .create_issue(PROJECT, s.reporter_id, title, body.trim_start(), true)
}

async fn wait_suggested(s: &Setup, iids: &[u64]) {
    wait_until("the suggestions", Duration::from_secs(30), || {
        iids.iter().all(|&i| {
            bot_notes(s, i)
                .iter()
                .any(|n| n.body.contains("sectriage:suggestion"))
        })
    })
    .await;
}

async fn reporter_reply_and_reporter_thumbsup_apply_cve_required_a_guests_do_nothing(
    backend: Backend,
) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("subsystem-maintainer", PROJECT, 20);
    let by_reply = create(&s, XHCI);
    let by_emoji = create(&s, "hw/net/e1000e: heap overflow in e1000e_write_packet_to_guest()\n\nA guest driver on q35 with KVM overflows a heap buffer in hw/net/e1000e_core.c.");
    let d = daemon_with(&s, confirm_config(false)).await;
    let queue = d.queue.clone();
    let run = Running::start(d);
    wait_suggested(&s, &[by_reply, by_emoji]).await;
    // The Guest-level reporter tries both ways first: nothing happens.
    s.fake.add_note_as(
        PROJECT,
        by_reply,
        s.reporter_id,
        "sectriage confirm virtualization",
        false,
    );
    let note = suggestion_note(&s, by_emoji);
    assert!(
        note.body.contains("suggested=virtualization"),
        "{}",
        note.body
    );
    s.fake
        .award_emoji_as(PROJECT, by_emoji, note.id, s.reporter_id, "thumbsup")
        .unwrap();
    wait_until("the refusal", Duration::from_secs(20), || {
        bot_notes(&s, by_reply)
            .iter()
            .any(|n| n.body.contains("Command ignored"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(s.fake.issue(PROJECT, by_reply).unwrap().labels.is_empty());
    assert!(
        s.fake.issue(PROJECT, by_emoji).unwrap().labels.is_empty(),
        "a Guest's emoji does nothing"
    );
    // A Reporter (QEMU's subsystem maintainers) decides: by reply and by emoji.
    s.fake.add_note_as(
        PROJECT,
        by_reply,
        maintainer,
        "Sectriage confirm virtualization",
        true,
    );
    s.fake
        .award_emoji_as(PROJECT, by_emoji, note.id, maintainer, "thumbsup")
        .unwrap();
    let labels = |iid| s.fake.issue(PROJECT, iid).unwrap().labels;
    wait_until("cve::required on both", Duration::from_secs(20), || {
        labels(by_reply) == ["cve::required"] && labels(by_emoji) == ["cve::required"]
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    run.stop().await.unwrap();
    for iid in [by_reply, by_emoji] {
        let issue = s.fake.issue(PROJECT, iid).unwrap();
        assert!(
            issue.confidential,
            "a virtualization decision never publishes"
        );
        let acks: Vec<_> = bot_notes(&s, iid)
            .into_iter()
            .filter(|n| n.body.contains("Decision by subsystem-maintainer"))
            .collect();
        assert_eq!(acks.len(), 1, "one acknowledgement, {iid}");
        assert!(acks[0].internal);
        assert!(
            acks[0].body.contains("accepting the suggestion"),
            "{}",
            acks[0].body
        );
    }
    let decisions = queue.decisions(None).await.unwrap();
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    assert!(decisions.iter().all(
        |d| d.outcome == sectriage::queue::DecisionOutcome::Accepted && d.user_id == maintainer
    ));
    assert!(decisions
        .iter()
        .any(|d| d.via == sectriage::queue::Via::Emoji));
    assert_eq!(s.fake.public_notes_created(), 0);
}

async fn clean_non_virtualization_is_published_only_with_publish_on_confirm(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let kept = create(&s, NON_VIRT);
    // Without publish_on_confirm: decided, labelled as configured (none), still confidential.
    let d = daemon_with(&s, confirm_config(false)).await;
    let run = Running::start(d);
    wait_suggested(&s, &[kept]).await;
    assert!(suggestion_note(&s, kept)
        .body
        .contains("suggested=non-virtualization"));
    s.fake.add_note_as(
        PROJECT,
        kept,
        maintainer,
        "sectriage confirm non-virtualization",
        true,
    );
    wait_until("the acknowledgement", Duration::from_secs(20), || {
        bot_notes(&s, kept)
            .iter()
            .any(|n| n.body.contains("Decision by maint"))
    })
    .await;
    run.stop().await.unwrap();
    assert!(
        s.fake.issue(PROJECT, kept).unwrap().confidential,
        "publish_on_confirm is off"
    );

    // With it: a clean report is published, GitLab's reply checked, an internal audit note.
    let published = create(&s, NON_VIRT);
    let d = daemon_with(&s, confirm_config(true)).await;
    let run = Running::start(d);
    wait_suggested(&s, &[published]).await;
    s.fake.add_note_as(
        PROJECT,
        published,
        maintainer,
        "sectriage confirm non-virtualization",
        true,
    );
    wait_until("publication", Duration::from_secs(20), || {
        !s.fake.issue(PROJECT, published).unwrap().confidential
    })
    .await;
    wait_until("the audit note", Duration::from_secs(10), || {
        bot_notes(&s, published)
            .iter()
            .any(|n| n.body.contains("Published:") && n.internal)
    })
    .await;
    run.stop().await.unwrap();
    assert!(
        s.fake.issue(PROJECT, kept).unwrap().confidential,
        "the earlier issue was not touched"
    );
}

async fn planted_private_data_holds_publishing_back_until_scrubbed(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let planted = format!(
        "{NON_VIRT}\n\nReach me at researcher@corp-mail.net, token glpat-AbCdEfGhIjKlMnOpQrSt."
    );
    let iid = create(&s, &planted);
    let d = daemon_with(&s, confirm_config(true)).await;
    let run = Running::start(d);
    wait_suggested(&s, &[iid]).await;
    s.fake.add_note_as(
        PROJECT,
        iid,
        maintainer,
        "sectriage confirm non-virtualization",
        true,
    );
    wait_until("the findings", Duration::from_secs(20), || {
        bot_notes(&s, iid)
            .iter()
            .any(|n| n.body.contains("Not published"))
    })
    .await;
    let held = bot_notes(&s, iid)
        .into_iter()
        .find(|n| n.body.contains("Not published"))
        .unwrap();
    assert!(held.internal);
    assert!(s.fake.issue(PROJECT, iid).unwrap().confidential);
    assert!(
        !held.body.contains("researcher@") && !held.body.contains("glpat-AbCd"),
        "findings never repeat the secret: {}",
        held.body
    );
    assert!(held.body.contains("sectriage publish"), "{}", held.body);
    // Scrubbed, then `sectriage publish` runs the check again: the secrets are gone from
    // the description, but GitLab keeps the edited-away version in its history, which would
    // become public too, so sectriage still holds back and says why.
    s.fake.edit_issue(
        PROJECT,
        iid,
        NON_VIRT.split_once('\n').unwrap().1.trim_start(),
    );
    s.fake
        .add_note_as(PROJECT, iid, maintainer, "sectriage publish", true);
    wait_until("the second check", Duration::from_secs(20), || {
        bot_notes(&s, iid)
            .iter()
            .filter(|n| n.body.contains("Not published"))
            .count()
            == 2
    })
    .await;
    run.stop().await.unwrap();
    let second = bot_notes(&s, iid)
        .into_iter()
        .rfind(|n| n.body.contains("Not published"))
        .unwrap();
    assert!(second.body.contains("history"), "{}", second.body);
    assert!(
        !second.body.contains("e-mail address"),
        "the scrubbed text is clean now: {}",
        second.body
    );
    assert!(s.fake.issue(PROJECT, iid).unwrap().confidential);
}

/// A rejection after a confirmation cancels it: `sectriage publish` then refuses.
async fn a_rejection_cancels_an_earlier_confirmation_for_publishing(backend: Backend) {
    let s = setup(20, backend).await;
    let (a, _) = s.fake.add_user("maint-a", PROJECT, 20);
    let (b, _) = s.fake.add_user("maint-b", PROJECT, 20);
    let planted = format!("{NON_VIRT}\n\nReach me at researcher@corp-mail.net.");
    let iid = create(&s, &planted);
    let run = Running::start(daemon_with(&s, confirm_config(true)).await);
    wait_suggested(&s, &[iid]).await;
    s.fake.add_note_as(
        PROJECT,
        iid,
        a,
        "sectriage confirm non-virtualization",
        true,
    );
    wait_until("the hold-back", Duration::from_secs(20), || {
        bot_notes(&s, iid)
            .iter()
            .any(|n| n.body.contains("Not published"))
    })
    .await;
    s.fake
        .add_note_as(PROJECT, iid, b, "sectriage reject", true);
    s.fake
        .add_note_as(PROJECT, iid, a, "sectriage publish", true);
    wait_until("the refusal", Duration::from_secs(20), || {
        bot_notes(&s, iid).iter().any(|n| {
            n.body
                .contains("Not published: no non-virtualization decision")
        })
    })
    .await;
    run.stop().await.unwrap();
    assert!(s.fake.issue(PROJECT, iid).unwrap().confidential);
}

async fn a_label_removed_by_a_maintainer_stays_removed_and_the_decision_stands(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 40);
    let iid = create(&s, XHCI);
    let d = daemon_with(&s, confirm_config(false)).await;
    let run = Running::start(d);
    wait_suggested(&s, &[iid]).await;
    s.fake.add_note_as(
        PROJECT,
        iid,
        maintainer,
        "sectriage confirm virtualization",
        true,
    );
    wait_until("the label", Duration::from_secs(20), || {
        s.fake.issue(PROJECT, iid).unwrap().labels == ["cve::required"]
    })
    .await;
    s.fake
        .change_labels_as(PROJECT, iid, maintainer, &[], &["cve::required"]);
    // The reporter rewrites the report so it reads as user-mode: a new revision.
    s.fake.edit_issue(
        PROJECT,
        iid,
        NON_VIRT.split_once('\n').unwrap().1.trim_start(),
    );
    wait_until("the decision-stands note", Duration::from_secs(20), || {
        bot_notes(&s, iid).iter().any(|n| n.body.contains("stands"))
    })
    .await;
    // Another confirmation-free round trip: the label stays removed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    run.stop().await.unwrap();
    assert!(
        s.fake.issue(PROJECT, iid).unwrap().labels.is_empty(),
        "a label a human removed is never re-added"
    );
    let suggestions: Vec<_> = bot_notes(&s, iid)
        .into_iter()
        .filter(|n| n.body.contains("Suggested:"))
        .collect();
    assert_eq!(
        suggestions.len(),
        1,
        "no new suggestion contradicts the decision"
    );
    assert!(bot_notes(&s, iid).iter().all(|n| n.internal));
}

async fn near_misses_are_answered_and_ask_posts_the_questions_for_the_reporter(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let iid = create(&s, "QEMU crashes with my fuzzer input\n\nThe fuzzer found a crash in a device model; the guest can trigger it.");
    let d = daemon_with(&s, confirm_config(false)).await;
    let queue = d.queue.clone();
    let run = Running::start(d);
    wait_suggested(&s, &[iid]).await;
    s.fake.add_note_as(
        PROJECT,
        iid,
        maintainer,
        "/sectriage confirm virtualisation",
        true,
    );
    wait_until("the near-miss answer", Duration::from_secs(20), || {
        bot_notes(&s, iid).iter().any(|n| {
            n.body.contains("`sectriage confirm virtualization`")
                && n.body.contains("nothing was done")
        })
    })
    .await;
    assert!(s.fake.issue(PROJECT, iid).unwrap().labels.is_empty());
    assert!(
        queue.decisions(None).await.unwrap().is_empty(),
        "a near miss decides nothing"
    );
    s.fake
        .add_note_as(PROJECT, iid, maintainer, "sectriage ask", true);
    wait_until("the questions", Duration::from_secs(20), || {
        bot_notes(&s, iid)
            .iter()
            .any(|n| !n.internal && n.body.contains("Questions from the QEMU maintainers"))
    })
    .await;
    run.stop().await.unwrap();
    let public: Vec<_> = bot_notes(&s, iid)
        .into_iter()
        .filter(|n| !n.internal)
        .collect();
    assert_eq!(
        public.len(),
        1,
        "the questions are the only non-internal note"
    );
    assert!(
        !public[0].body.contains("fuzzer input"),
        "no report text in the questions"
    );
    assert!(s.fake.issue(PROJECT, iid).unwrap().confidential);
}

async fn thumbsdown_rejects_and_emoji_webhook_triggers_at_once(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let iid = create(&s, XHCI);
    let mut config = confirm_config(false);
    config.webhook_secret = Some("hook-secret".into());
    // No sweep within the test: only the Emoji Hook can bring the award in.
    config.decision_sweep = Duration::from_secs(3600);
    config.poll_interval = Duration::from_secs(3600);
    let d = daemon_with(&s, config).await;
    let queue = d.queue.clone();
    let addr = serve_router(&d).await;
    s.fake
        .set_webhook(&format!("http://{addr}/webhook"), Some("hook-secret"), None);
    let run = Running::start(d);
    wait_suggested(&s, &[iid]).await;
    let note = suggestion_note(&s, iid);
    s.fake
        .award_emoji_as(PROJECT, iid, note.id, maintainer, "thumbsdown")
        .unwrap();
    wait_until("the rejection", Duration::from_secs(20), || {
        bot_notes(&s, iid)
            .iter()
            .any(|n| n.body.contains("Suggestion rejected by maint"))
    })
    .await;
    run.stop().await.unwrap();
    assert!(
        s.fake.issue(PROJECT, iid).unwrap().labels.is_empty(),
        "a rejection applies no labels"
    );
    let d = queue.decisions(None).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].outcome, sectriage::queue::DecisionOutcome::Rejected);
}

/// Issue 9: `sectriage decisions export` writes real decisions as eval cases that
/// `sectriage eval` scores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_export_runs_through_eval() {
    let s = setup(20, Backend::Sqlite).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let virt = create(&s, XHCI);
    let nonvirt = create(&s, NON_VIRT);
    let d = daemon_with(&s, confirm_config(false)).await;
    let run = Running::start(d);
    wait_suggested(&s, &[virt, nonvirt]).await;
    s.fake.add_note_as(
        PROJECT,
        virt,
        maintainer,
        "sectriage confirm virtualization",
        true,
    );
    s.fake.add_note_as(
        PROJECT,
        nonvirt,
        maintainer,
        "sectriage confirm virtualization",
        true,
    );
    wait_until("two decisions", Duration::from_secs(20), || {
        [virt, nonvirt].iter().all(|&i| {
            bot_notes(&s, i)
                .iter()
                .any(|n| n.body.contains("Decision by maint"))
        })
    })
    .await;
    run.stop().await.unwrap();
    let config = s.dir.path().join("export.toml");
    std::fs::write(
        &config,
        format!(
            "[gitlab]\nurl = \"{}\"\nprojects = [{PROJECT}]\n[daemon]\nqueue_url = \"{}\"\n",
            s.fake.base_url, s.queue_url
        ),
    )
    .unwrap();
    let out = s.dir.path().join("decided.jsonl");
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(["decisions", "export", "--out"])
        .arg(&out)
        .arg("--config")
        .arg(&config)
        .env("SECTRIAGE_GITLAB_TOKEN", &s.bot_token)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.contains("\"confidential\":true"), "{first}");
    assert_eq!(text.lines().count(), 3, "header and two cases");
    let report = s.dir.path().join("report");
    let eval = std::process::Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(["eval", "--llm", "none", "--cases"])
        .arg(&out)
        .arg("--out-dir")
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&eval.stdout);
    let stderr = String::from_utf8_lossy(&eval.stderr);
    assert!(eval.status.success(), "{stdout}\n{stderr}");
    let scored: Vec<std::path::PathBuf> = walk(&report)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "cases.jsonl"))
        .collect();
    assert_eq!(scored.len(), 1, "{scored:?}");
    assert_eq!(
        std::fs::read_to_string(&scored[0]).unwrap().lines().count(),
        2,
        "both decided cases scored"
    );
    // The maintainer overrode the user-mode suggestion: the engine disagrees on one of two.
    let stats = std::process::Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(["stats", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stats = String::from_utf8_lossy(&stats.stdout);
    assert!(
        stats.contains("accepted   1") && stats.contains("overridden 1"),
        "{stats}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

async fn a_rediscovered_bug_is_flagged_as_a_likely_duplicate(backend: Backend) {
    let s = setup(20, backend).await;
    let first = create(&s, XHCI);
    let other = create(&s, NON_VIRT);
    let d = daemon_with(&s, confirm_config(false)).await;
    let run = Running::start(d);
    wait_suggested(&s, &[first, other]).await;
    // The same bug found again by another tool, reworded.
    let (title, body) = XHCI.split_once('\n').unwrap();
    let again = s.fake.create_issue(
        PROJECT,
        s.reporter_id,
        &format!("Re-found by our fuzzer: {title}"),
        &format!("Found with a coverage-guided fuzzer.\n\n{body}"),
        true,
    );
    wait_suggested(&s, &[again]).await;
    run.stop().await.unwrap();
    let note = suggestion_note(&s, again);
    assert!(
        note.body.contains(&format!(
            "Possibly the same as issue {first} of project {PROJECT}"
        )),
        "{}",
        note.body
    );
    assert!(
        !note.body.contains(&format!("issue {other} of")),
        "a different bug is not a duplicate"
    );
    assert!(sectriage::publish::check_note(&note.body).is_ok());
}

async fn minimal_embargo_reminders_come_once_per_window(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let decided = create(&s, NON_VIRT);
    let fixed = create(&s, XHCI);
    let idle = create(&s, "hw/net/e1000e: heap overflow in e1000e_write_packet_to_guest()\n\nA guest driver on q35 with KVM overflows a heap buffer in hw/net/e1000e_core.c.");
    let mut config = confirm_config(false);
    config.reminders = sectriage::daemon::ReminderPolicy {
        still_confidential_after: Some(Duration::from_secs(1)),
        inactive_after: Some(Duration::from_secs(4)),
        fix_posted: true,
        window: Duration::from_secs(3600),
        every: Duration::from_millis(300),
        max_per_pass: 5,
    };
    let run = Running::start(daemon_with(&s, config).await);
    wait_suggested(&s, &[decided, fixed, idle]).await;
    s.fake.add_note_as(
        PROJECT,
        decided,
        maintainer,
        "sectriage confirm non-virtualization",
        true,
    );
    s.fake.add_note_as(
        PROJECT,
        fixed,
        maintainer,
        "Fixed by commit 0123456789abcdef0123456789abcdef01234567, merged to master.",
        false,
    );
    let reminders = |iid: u64, kind: &str| {
        bot_notes(&s, iid)
            .into_iter()
            .filter(|n| n.body.contains(&format!("sectriage:reminder kind={kind} ")))
            .collect::<Vec<_>>()
    };
    wait_until("the three reminders", Duration::from_secs(30), || {
        !reminders(decided, "still-confidential").is_empty()
            && !reminders(fixed, "fix-posted").is_empty()
            && !reminders(idle, "inactive").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    run.stop().await.unwrap();
    for (iid, kind) in [
        (decided, "still-confidential"),
        (fixed, "fix-posted"),
        (idle, "inactive"),
    ] {
        let r = reminders(iid, kind);
        assert_eq!(r.len(), 1, "issue {iid}: one {kind} reminder per window");
        assert!(r[0].internal);
        assert!(r[0].body.contains("security-process.md"), "{}", r[0].body);
    }
    assert!(
        reminders(decided, "inactive").is_empty() && reminders(decided, "fix-posted").is_empty()
    );
}

/// With a lagging notes list, the job that runs after an acknowledgement (posting it bumps
/// the issue) does not see it yet: the reply must still be handled once.
async fn a_lagging_notes_list_gets_one_acknowledgement_per_reply(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let iid = create(&s, XHCI);
    let run = Running::start(daemon_with(&s, confirm_config(false)).await);
    wait_suggested(&s, &[iid]).await;
    s.fake.inject(Fault::NotesListLag(Duration::from_secs(3)));
    s.fake.add_note_as(
        PROJECT,
        iid,
        maintainer,
        "sectriage confirm virtualization",
        true,
    );
    s.fake
        .add_note_as(PROJECT, iid, maintainer, "sectriage ask", true);
    wait_until("the acknowledgement", Duration::from_secs(30), || {
        bot_notes(&s, iid)
            .iter()
            .any(|n| n.body.contains("Decision by maint"))
    })
    .await;
    // Polls, sweeps and the jobs the bot's own notes trigger, while the list lags and after.
    tokio::time::sleep(Duration::from_secs(6)).await;
    run.stop().await.unwrap();
    let count = |what: &str| {
        bot_notes(&s, iid)
            .iter()
            .filter(|n| n.body.contains(what))
            .count()
    };
    assert_eq!(count("Decision by maint"), 1);
    let asked = count("question(s) were posted");
    assert_eq!(
        asked + count("lists no questions"),
        1,
        "`sectriage ask` answered once"
    );
    assert_eq!(
        bot_notes(&s, iid).iter().filter(|n| !n.internal).count(),
        asked,
        "questions for the reporter posted at most once"
    );
}

/// Confidentiality of logs: `sectriage serve` at the most verbose level, its own
/// logs and every library's, never carries an issue's title, its text or a
/// comment's text, while it triages the issue and reads its notes. The ids it
/// logs instead are there, so the capture is known to work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_carry_titles_report_text_or_comments() {
    let s = setup(20, Backend::Sqlite).await;
    let (maint, _) = s.fake.add_user("maintainer", PROJECT, 40);
    const TITLE_MARK: &str = "Zq7TitleMarker";
    const BODY_MARK: &str = "Xb91BodyMarker";
    const NOTE_MARK: &str = "Nc55NoteMarker";
    let iid = s.fake.create_issue(
        PROJECT,
        s.reporter_id,
        &format!("hw/usb/hcd-xhci: endless loop {TITLE_MARK}"),
        &format!(
            "A guest loops xhci_kick_epctx() forever under KVM on q35.\n\
             {BODY_MARK}: reporter's private details, @someone #12 https://example.invalid/x\n\
             qemu-system-x86_64 -M q35 -accel kvm -device qemu-xhci"
        ),
        true,
    );
    s.fake.add_note_as(
        PROJECT,
        iid,
        s.reporter_id,
        &format!("More private context: {NOTE_MARK}"),
        false,
    );
    s.fake.add_note_as(
        PROJECT,
        iid,
        maint,
        &format!("sectriage confirm virtualization\n{NOTE_MARK} from the maintainer"),
        true,
    );
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = serve_command(&s, dir.path(), 30)
        .env("SECTRIAGE_LOG", "trace")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_until("the suggestion", Duration::from_secs(30), || {
        !bot_notes(&s, iid).is_empty()
    })
    .await;
    // Let the note pass and the next polls run, so the notes are read too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.lines().count() > 20 && logs.contains("TRACE") && logs.contains(&format!("{iid}")),
        "the capture holds the daemon's logs:\n{}",
        logs.chars().take(2000).collect::<String>()
    );
    for (what, mark) in [
        ("the title", TITLE_MARK),
        ("the report text", BODY_MARK),
        ("a comment", NOTE_MARK),
    ] {
        let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(mark)).take(3).collect();
        assert!(leaks.is_empty(), "{what} reached the logs: {leaks:#?}");
    }
}

/// A reporter's comment posted just before a maintainer's thumbsup, while GitLab's notes
/// list still lags behind it: the scrub check must not pass over it. The issue stays
/// confidential and the findings say why.
async fn a_comment_the_notes_list_does_not_show_yet_holds_publishing_back(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let iid = create(&s, NON_VIRT);
    let mut config = confirm_config(true);
    config.webhook_secret = Some("hook-secret".into());
    config.decision_sweep = Duration::from_secs(3600);
    config.poll_interval = Duration::from_secs(3600);
    let d = daemon_with(&s, config).await;
    let addr = serve_router(&d).await;
    s.fake
        .set_webhook(&format!("http://{addr}/webhook"), Some("hook-secret"), None);
    let run = Running::start(d);
    wait_suggested(&s, &[iid]).await;
    let note = suggestion_note(&s, iid);
    // The suggestion is older than the lag, the reporter's comment is not.
    tokio::time::sleep(Duration::from_secs(4)).await;
    s.fake.inject(Fault::NotesListLag(Duration::from_secs(3)));
    s.fake.add_note_as(
        PROJECT,
        iid,
        s.reporter_id,
        "You can reach me at researcher@corp-mail.net or +1 415 555 0199.",
        false,
    );
    s.fake
        .award_emoji_as(PROJECT, iid, note.id, maintainer, "thumbsup")
        .unwrap();
    wait_until("the findings", Duration::from_secs(30), || {
        bot_notes(&s, iid)
            .iter()
            .any(|n| n.body.contains("Not published"))
    })
    .await;
    run.stop().await.unwrap();
    assert!(
        s.fake.issue(PROJECT, iid).unwrap().confidential,
        "never published over an unchecked comment"
    );
}

/// GitLab's token form defaults to Guest, which sees no confidential issue: every poll
/// "succeeds" with nothing. Readiness must say so instead of "ready".
async fn a_guest_token_is_not_ready(backend: Backend) {
    let s = setup(10, backend).await;
    let d = daemon_for(&s, None, None).await;
    let probe = d.clone();
    let run = Running::start(d);
    let start = Instant::now();
    let why = loop {
        if let Some(why) = probe.not_ready().await {
            if why.contains("role too low") {
                break why;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never said why");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    run.stop().await.unwrap();
    assert!(why.contains("Reporter"), "{why}");
}

/// A revoked token (an administrator blocking the bot, an expired token) keeps the daemon up:
/// readiness says why, the job waits in the queue instead of burning its retries, and work
/// resumes once GitLab accepts the token again. Before, the first 401 in a job stopped the
/// process.
async fn a_revoked_token_pauses_the_workers_and_the_daemon_stays_up(backend: Backend) {
    let s = setup(20, backend).await;
    let d = daemon_for(&s, None, None).await;
    let probe = d.clone();
    let addr = serve_router(&d).await;
    let run = Running::start(d);
    let start = Instant::now();
    while probe.not_ready().await.is_some() {
        assert!(start.elapsed() < Duration::from_secs(20), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.fake.revoke_token(&s.bot_token);
    let (title, body) = issue_body(0);
    let iid = s
        .fake
        .create_issue(PROJECT, s.reporter_id, &title, &body, true);
    probe.queue.enqueue(PROJECT, iid, "webhook").await.unwrap();
    let start = Instant::now();
    loop {
        let metrics = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("outcome=\"token-rejected\"") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no job met the 401: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !run.task.is_finished(),
        "the daemon stopped on a revoked token"
    );
    let why = probe
        .not_ready()
        .await
        .expect("not ready while the token is revoked");
    assert!(why.contains("token rejected"), "{why}");
    let jobs = jobs_of(&probe.queue, iid).await;
    assert!(
        jobs.iter().any(|j| j.state == JobState::Pending),
        "the job went back to the queue: {jobs:?}"
    );
    assert!(bot_notes(&s, iid).is_empty());

    s.fake.restore_token(&s.bot_token);
    wait_until(
        "the suggestion after the token came back",
        Duration::from_secs(20),
        || bot_notes(&s, iid).len() == 1,
    )
    .await;
    assert_eq!(probe.not_ready().await, None);
    run.stop().await.unwrap();
}

/// The audit trail of a publication survives a failure right after it: the note saying who
/// decided and that the scrub check was clean used to be lost, because the retry found the
/// issue public and skipped it.
async fn a_failure_after_publishing_still_posts_the_audit_note(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let iid = create(&s, NON_VIRT);
    let d = daemon_with(&s, confirm_config(true)).await;
    let run = Running::start(d);
    wait_suggested(&s, &[iid]).await;
    // The first note posted after the decision is the audit note, after the change.
    s.fake.inject(Fault::NoteCreateFails { times: 1 });
    s.fake.add_note_as(
        PROJECT,
        iid,
        maintainer,
        "sectriage confirm non-virtualization",
        true,
    );
    wait_until("publication", Duration::from_secs(20), || {
        !s.fake.issue(PROJECT, iid).unwrap().confidential
    })
    .await;
    wait_until(
        "the audit note and the acknowledgement after the retry",
        Duration::from_secs(30),
        || {
            let notes = bot_notes(&s, iid);
            notes.iter().any(|n| n.body.contains("Published:"))
                && notes.iter().any(|n| n.body.contains("Decision by maint"))
        },
    )
    .await;
    let notes = bot_notes(&s, iid);
    assert!(notes.iter().filter(|n| !n.system).all(|n| n.internal));
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.body.contains("Published:"))
            .count(),
        1
    );
    // The work is finished: a later job on the public issue skips it.
    let d = daemon_with(&s, confirm_config(true)).await;
    assert!(!d
        .queue
        .is_remembered(&sectriage::confirm::publishing_key(PROJECT, iid))
        .await
        .unwrap());
    run.stop().await.unwrap();
    assert_eq!(s.fake.public_notes_created(), 0);
}

/// Replacing the project access token with one of a new bot user (GitLab makes a new bot
/// user for every project access token) must not orphan the suggestions the old one posted:
/// a maintainer's reply to one still decides, and no second suggestion is posted.
async fn a_replaced_token_of_a_new_bot_user_keeps_the_suggestions_counting(backend: Backend) {
    let s = setup(20, backend).await;
    let (maintainer, _) = s.fake.add_user("maint", PROJECT, 20);
    let iid = create(&s, NON_VIRT);
    let run = Running::start(daemon_with(&s, confirm_config(false)).await);
    wait_suggested(&s, &[iid]).await;
    run.stop().await.unwrap();

    let (new_bot, new_token) = s.fake.add_user("sectriage-bot-2", PROJECT, 20);
    s.fake.revoke_token(&s.bot_token);
    let run = Running::start(daemon_as(&s, confirm_config(false), &new_token).await);
    s.fake.add_note_as(
        PROJECT,
        iid,
        maintainer,
        "sectriage confirm non-virtualization",
        true,
    );
    let by_new_bot = || {
        s.fake
            .notes(PROJECT, iid)
            .into_iter()
            .filter(|n| n.author.id == new_bot)
            .collect::<Vec<_>>()
    };
    wait_until(
        "the new bot's acknowledgement of the reply to the old suggestion",
        Duration::from_secs(20),
        || {
            by_new_bot()
                .iter()
                .any(|n| n.body.contains("Decision by maint"))
        },
    )
    .await;
    // A poll round or two more: still one suggestion in all, one acknowledgement.
    tokio::time::sleep(Duration::from_secs(1)).await;
    run.stop().await.unwrap();
    let suggestions = s
        .fake
        .notes(PROJECT, iid)
        .iter()
        .filter(|n| n.body.contains("sectriage:suggestion"))
        .count();
    assert_eq!(suggestions, 1);
    assert_eq!(
        by_new_bot()
            .iter()
            .filter(|n| n.body.contains("Decision by maint"))
            .count(),
        1
    );
    let d = daemon_as(&s, confirm_config(false), &new_token).await;
    let decisions = d.queue.decisions(Some((PROJECT, iid))).await.unwrap();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(
        decisions[0].final_class,
        Some(sectriage::kb::UseCase::NonVirtualization)
    );
}
