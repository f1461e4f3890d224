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

/// Runs the demo and returns once every disclosure has its suggestion (or the timeout passes).
///
/// # Errors
/// When the fake GitLab, the queue or the daemon cannot start.
pub async fn run(llm: Option<Adjudicator>, timeout: Duration) -> anyhow::Result<()> {
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
    let daemon = Daemon::new(
        DaemonConfig {
            listen: "127.0.0.1:0".into(),
            webhook_secret: Some("demo-secret".into()),
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
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
    let _ = stop_tx.send(());
    running.await??;
    let public_notes = fake.notes(PROJECT, public_iid).len();
    output::println(&format!(
        "\n{} of {} disclosures got exactly one suggestion; the public issue has {public_notes} notes; quick actions run from our notes: {}",
        issues.iter().filter(|(_, iid)| fake.notes(PROJECT, *iid).iter().filter(|n| n.author.id == bot_id).count() == 1).count(),
        issues.len(),
        fake.executed_quick_actions().len()
    ))?;
    output::println(
        "Next: `sectriage serve --config sectriage.toml` against your GitLab (see README).",
    )?;
    Ok(())
}
