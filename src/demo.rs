//! `sectriage demo`: the fake GitLab with a handful of realistic confidential
//! disclosures, the daemon against it, and the suggestions as they are posted.

use std::time::{Duration, Instant};

use crate::daemon::{Daemon, DaemonConfig};
use crate::engine::Engine;
use crate::gitlab::fake::FakeGitLab;
use crate::gitlab::{Client, GitLabConfig, Token};
use crate::kb::Kb;
use crate::llm::Adjudicator;
use crate::output;
use crate::queue::{Queue, QueueConfig};
use crate::triage::hygiene::Limits;

/// The bundled disclosures: eval-style cases written like 2026 reports.
const DEV_AI_CASES: &str = include_str!("../eval/cases/dev-ai-cases.jsonl");
const DEMO_CASE_IDS: &[&str] = &[
    "dev-ai-001",
    "dev-ai-005",
    "dev-ai-007",
    "dev-ai-013",
    "dev-ai-023",
];
const XHCI: &str = include_str!("../eval/examples/xhci-disclosure.md");
const PROJECT: u64 = 11705;
const USER_MODE_TITLE: &str = "linux-user: heap overflow in target_mmap() with qemu-x86_64";
const USER_MODE_BODY: &str = "Running a crafted static binary under the qemu-x86_64 user-mode emulator overflows a buffer in linux-user/mmap.c target_mmap().";

/// Runs the demo and returns once every disclosure has its suggestion (or the timeout passes).
///
/// # Errors
/// When the fake GitLab, the queue or the daemon cannot start.
pub async fn run(
    llm: Option<Adjudicator>,
    timeout: Duration,
    keep_running: bool,
) -> anyhow::Result<()> {
    let fake = FakeGitLab::start().await;
    fake.add_project(PROJECT);
    let (bot_id, bot_token) = fake.add_user("sectriage-bot", PROJECT, 20);
    let (reporter_id, _) = fake.add_user("reporter", PROJECT, 10);

    let mut issues = Vec::new();
    let (title, body) = XHCI.split_once('\n').unwrap_or((XHCI, ""));
    issues.push((
        title.to_string(),
        fake.create_issue(PROJECT, reporter_id, title, body.trim_start(), true),
    ));
    for line in DEV_AI_CASES.lines() {
        let Ok(case) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if !DEMO_CASE_IDS.contains(&case["id"].as_str().unwrap_or("")) {
            continue;
        }
        let title = case["title"].as_str().unwrap_or("").to_string();
        let report = case["report"].as_str().unwrap_or("");
        let body = report
            .split_once('\n')
            .map(|(_, b)| b.trim_start())
            .unwrap_or(report);
        let iid = fake.create_issue(PROJECT, reporter_id, &title, body, true);
        issues.push((title, iid));
    }
    // Two user-mode reports for the publishing step: one clean, one with private data.
    let clean_iid = fake.create_issue(PROJECT, reporter_id, USER_MODE_TITLE, USER_MODE_BODY, true);
    issues.push((USER_MODE_TITLE.to_string(), clean_iid));
    let planted_iid = fake.create_issue(
        PROJECT,
        reporter_id,
        USER_MODE_TITLE,
        &format!("{USER_MODE_BODY}\n\nContact: researcher@corp-mail.net, phone +44 20 7946 0958."),
        true,
    );
    issues.push((USER_MODE_TITLE.to_string(), planted_iid));
    let (maintainer_id, _) = fake.add_user("demo-maintainer", PROJECT, 20);
    let public_iid = fake.create_issue(
        PROJECT,
        reporter_id,
        "Docs: typo in the qemu-img manual",
        "A public, ordinary bug: sectriage must leave it alone.",
        false,
    );
    output::println(&format!(
        "fake GitLab at {} with {} confidential disclosures (project {PROJECT}) and 1 public issue",
        fake.base_url,
        issues.len()
    ))?;

    let dir = tempfile::tempdir()?;
    let queue = Queue::connect(
        &format!("sqlite://{}", dir.path().join("demo.db").display()),
        QueueConfig::default(),
    )
    .await?;
    let gitlab = Client::new(GitLabConfig {
        base_url: fake.base_url.clone(),
        token: Token::new(bot_token),
        timeout: Duration::from_secs(10),
        max_retries: 3,
        notes_per_minute: 600,
    })?;
    // The review pages need their address before the daemon starts (the OAuth redirect URI).
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let public_url = format!("http://127.0.0.1:{port}");
    fake.add_user("demo-guest", PROJECT, 10);
    let (client_id, client_secret) =
        fake.register_oauth_app(&format!("{public_url}{}", crate::review::CALLBACK_PATH));
    let review = crate::review::ReviewConfig {
        public_url: url::Url::parse(&public_url)?,
        gitlab_url: url::Url::parse(&fake.base_url)?,
        client_id,
        client_secret,
        session: Duration::from_secs(8 * 3600),
    };
    let daemon = Daemon::new(
        DaemonConfig {
            listen: format!("127.0.0.1:{port}"),
            review: Some(review),
            webhook_secret: Some("demo-secret".into()),
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
            decision_sweep: Duration::from_millis(500),
            confirm: crate::confirm::ConfirmPolicy {
                publish_on_confirm: true,
                ..Default::default()
            },
            ..DaemonConfig::new(vec![PROJECT])
        },
        gitlab,
        queue,
        Engine {
            kb: Kb::embedded(),
            limits: Limits::default(),
            llm,
        },
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(crate::daemon::run(daemon, async move {
        let _ = stop_rx.await;
    }));

    let started = Instant::now();
    let mut shown = vec![false; issues.len()];
    while shown.iter().any(|s| !s) && started.elapsed() < timeout {
        for (i, (title, iid)) in issues.iter().enumerate() {
            if shown[i] {
                continue;
            }
            if let Some(note) = fake
                .notes(PROJECT, *iid)
                .into_iter()
                .find(|n| n.author.id == bot_id)
            {
                shown[i] = true;
                let mut shown_note = format!("\n=== issue #{iid}: {title}\n--- internal note by sectriage-bot ({:.1} s after start, internal: {}):", started.elapsed().as_secs_f64(), note.internal);
                for line in note.body.lines().filter(|l| !l.starts_with("<!--")) {
                    shown_note.push_str("\n    ");
                    shown_note.push_str(line);
                }
                if let Err(e) = output::println(&shown_note) {
                    let _ = stop_tx.send(());
                    let _ = running.await;
                    return Err(e.into());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The maintainers' half: a scripted Reporter-level maintainer decides.
    let suggestion_of = |iid: u64| {
        fake.notes(PROJECT, iid)
            .into_iter()
            .find(|n| n.author.id == bot_id && n.body.contains("sectriage:suggestion"))
    };
    let (reply_iid, emoji_iid) = (issues[0].1, issues[1].1);
    let steps = [
        (reply_iid, "replies `sectriage confirm virtualization`"),
        (emoji_iid, "reacts with thumbsup on the suggestion"),
        (clean_iid, "replies `sectriage confirm non-virtualization` (clean report)"),
        (planted_iid, "replies `sectriage confirm non-virtualization` (report with an e-mail address and a phone number)"),
    ];
    output::println("\n=== a maintainer (Reporter role) decides:")?;
    fake.add_note_as(
        PROJECT,
        reply_iid,
        maintainer_id,
        "sectriage confirm virtualization",
        true,
    );
    if let Some(note) = suggestion_of(emoji_iid) {
        fake.award_emoji_as(PROJECT, emoji_iid, note.id, maintainer_id, "thumbsup");
    }
    fake.add_note_as(
        PROJECT,
        clean_iid,
        maintainer_id,
        "sectriage confirm non-virtualization",
        true,
    );
    fake.add_note_as(
        PROJECT,
        planted_iid,
        maintainer_id,
        "sectriage confirm non-virtualization",
        true,
    );
    let answered = |iid: u64| {
        fake.notes(PROJECT, iid)
            .into_iter()
            .filter(|n| n.author.id == bot_id && n.body.contains("sectriage:ack"))
            .collect::<Vec<_>>()
    };
    let settled = || {
        fake.issue(PROJECT, reply_iid)
            .is_some_and(|i| i.labels.iter().any(|l| l == "cve::required"))
            && fake
                .issue(PROJECT, emoji_iid)
                .is_some_and(|i| i.labels.iter().any(|l| l == "cve::required"))
            && fake
                .issue(PROJECT, clean_iid)
                .is_some_and(|i| !i.confidential)
            && answered(planted_iid)
                .iter()
                .any(|n| n.body.contains("Not published"))
    };
    let decided_at = Instant::now();
    while !settled() && decided_at.elapsed() < timeout {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (iid, what) in steps {
        let issue = fake.issue(PROJECT, iid);
        let mut text = format!(
            "\n--- issue #{iid}: the maintainer {what}; labels now {:?}, confidential: {}",
            issue.as_ref().map(|i| i.labels.clone()).unwrap_or_default(),
            issue.as_ref().is_some_and(|i| i.confidential)
        );
        for note in answered(iid) {
            for line in note.body.lines().filter(|l| !l.starts_with("<!--")) {
                text.push_str("\n    ");
                text.push_str(line);
            }
        }
        output::println(&text)?;
    }
    if keep_running {
        output::println(&format!(
            "\n=== review pages: {public_url}/review\n    Sign in on the fake GitLab as demo-maintainer (Reporter: may review and decide) or demo-guest (Guest: refused).\n    The fake GitLab runs at {}. Press Ctrl-C to stop.",
            fake.base_url
        ))?;
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = stop_tx.send(());
    running.await??;
    let public_notes = fake.notes(PROJECT, public_iid).len();
    output::println(&format!(
        "\n{} of {} disclosures got exactly one suggestion; the public issue has {public_notes} notes; quick actions run from our notes: {}",
        issues.iter().filter(|(_, iid)| fake.notes(PROJECT, *iid).iter().filter(|n| n.author.id == bot_id && n.body.contains("sectriage:suggestion")).count() == 1).count(),
        issues.len(),
        fake.executed_quick_actions().len()
    ))?;
    output::println(
        "Next: `sectriage serve --config sectriage.toml` against your GitLab (see README).",
    )?;
    Ok(())
}
