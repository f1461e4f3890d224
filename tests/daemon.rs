//! The daemon end to end against the fake GitLab (and no model): one internal
//! note per issue revision, public issues untouched, webhooks authenticated and
//! de-duplicated, 429 storms ridden out, a dropped internal flag caught,
//! confirmations honoured only from maintainers, and SIGKILL crashes survived.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sectriage::confirm::ConfirmPolicy;
use sectriage::daemon::{self, Daemon, DaemonConfig, Metrics};
use sectriage::engine::Engine;
use sectriage::gitlab::fake::{FakeGitLab, Fault};
use sectriage::gitlab::{Client, GitLabConfig, Token};
use sectriage::kb::Kb;
use sectriage::queue::{Queue, QueueConfig};
use sectriage::triage::hygiene::Limits;

const PROJECT: u64 = 7;
const XHCI: &str = include_str!("../eval/examples/xhci-disclosure.md");

struct Setup {
    fake: FakeGitLab,
    bot_id: u64,
    bot_token: String,
    reporter_id: u64,
    _dir: tempfile::TempDir,
    queue_url: String,
}

async fn setup(bot_level: u32) -> Setup {
    let fake = FakeGitLab::start().await;
    fake.add_project(PROJECT);
    let (bot_id, bot_token) = fake.add_user("sectriage-bot", PROJECT, bot_level);
    let (reporter_id, _) = fake.add_user("reporter", PROJECT, 10);
    let dir = tempfile::tempdir().unwrap();
    let queue_url = match std::env::var("SECTRIAGE_TEST_POSTGRES_URL") {
        // Each test gets its own schema, so parallel tests never share jobs.
        Ok(base) => {
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
        Err(_) => format!("sqlite://{}", dir.path().join("q.db").display()),
    };
    Setup {
        fake,
        bot_id,
        bot_token,
        reporter_id,
        _dir: dir,
        queue_url,
    }
}

async fn daemon_for(s: &Setup, secret: Option<&str>, signing: Option<&str>) -> Daemon {
    let gitlab = Client::new(GitLabConfig {
        base_url: s.fake.base_url.clone(),
        token: Token::new(s.bot_token.clone()),
        timeout: Duration::from_secs(10),
        max_retries: 6,
        notes_per_minute: 6000,
    })
    .unwrap();
    Daemon {
        config: Arc::new(DaemonConfig {
            projects: vec![PROJECT],
            listen: "127.0.0.1:0".into(),
            webhook_secret: secret.map(str::to_string),
            webhook_signing_token: signing.map(str::to_string),
            poll_interval: Duration::from_millis(200),
            workers: 2,
            lease: Duration::from_secs(30),
            dry_run: false,
            confirm: ConfirmPolicy::default(),
            shutdown_grace: Duration::from_secs(5),
        }),
        gitlab,
        queue: Queue::connect(&s.queue_url, QueueConfig::default())
            .await
            .unwrap(),
        engine: Engine {
            kb: Kb::embedded(),
            limits: Limits::default(),
            llm: None,
        },
        metrics: Metrics::new(),
        bot_user_id: s.bot_id,
        stop_posting: Arc::new(AtomicBool::new(false)),
        llm_stack: None,
    }
}

/// Writes a `serve` config for the fake GitLab and starts `sectriage serve` (rules only).
fn spawn_serve(s: &Setup, dir: &std::path::Path, lease_secs: u64) -> std::process::Child {
    let config = dir.join("sectriage.toml");
    std::fs::write(
        &config,
        format!(
            "[gitlab]\nurl = \"{}\"\nprojects = [{PROJECT}]\n[daemon]\nqueue_url = \"{}\"\nlisten = \"127.0.0.1:0\"\npoll_interval_secs = 1\nworkers = 2\nlease_secs = {lease_secs}\n",
            s.fake.base_url, s.queue_url
        ),
    )
    .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(["serve", "--llm", "none", "--config"])
        .arg(&config)
        .env("SECTRIAGE_GITLAB_TOKEN", &s.bot_token)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_issue_gets_one_internal_note_edit_gets_one_update_public_untouched() {
    let s = setup(20).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_authenticated_and_deduplicated() {
    let s = setup(20).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_reject_stale_timestamps() {
    let s = setup(20).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_ridden_out_without_losing_jobs() {
    let s = setup(20).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_internal_flag_is_caught_and_the_public_note_deleted() {
    // A Guest-level token: GitLab silently saves notes public.
    let s = setup(10).await;
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
    let stop_posting = d.stop_posting.clone();
    let queue = d.queue.clone();
    let run = Running::start(d);
    wait_until("the alarm", Duration::from_secs(20), || {
        stop_posting.load(std::sync::atomic::Ordering::SeqCst)
    })
    .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_maintainers_confirm() {
    let s = setup(20).await;
    let (maint, _) = s.fake.add_user("maintainer", PROJECT, 40);
    let (dev, _) = s.fake.add_user("developer", PROJECT, 30);
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
    assert!(
        issue.labels.contains(&"security::triage".to_string()),
        "{:?}",
        issue.labels
    );
    assert!(!issue.labels.contains(&"security::not-in-scope".to_string()));
    assert!(issue.confidential, "confirmation never publishes the issue");
    let notes = bot_notes(&s, iid);
    assert!(notes
        .iter()
        .any(|n| n.body.contains("Confirmation ignored")));
    assert!(notes.iter().all(|n| n.internal));
}

/// SIGKILLs `sectriage serve` at random points while it works through a
/// backlog, restarts it, and checks every issue ends with exactly one note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_test_sigkill_at_random_points() {
    let s = setup(20).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_share_one_queue() {
    let s = setup(20).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_within_a_bounded_time() {
    let s = setup(20).await;
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
