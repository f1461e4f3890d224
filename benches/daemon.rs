//! `cargo bench --bench daemon`: the daemon against the fake GitLab and a fake
//! LLM. Prints throughput against the bound min(C / L, note rate limit), the
//! worker's own per-issue overhead (no LLM, no injected latency), and peak
//! memory while working through a backlog of 10,000 issues.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use sectriage::daemon::{self, Daemon, DaemonConfig};
use sectriage::engine::Engine;
use sectriage::gitlab::fake::FakeGitLab;
use sectriage::gitlab::{Client, GitLabConfig, Token};
use sectriage::kb::Kb;
use sectriage::llm::{Adjudicator, LlmConfig, PromptKind};
use sectriage::queue::{Queue, QueueConfig};
use sectriage::triage::hygiene::Limits;
use support::{answer, FakeLlm, Reply};

const PROJECT: u64 = 1;
const BODY: &str = include_str!("../eval/examples/xhci-disclosure.md");

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<f64>()
                    .unwrap_or(0.0)
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

struct Run {
    issues: usize,
    workers: usize,
    llm_latency: Option<Duration>,
    notes_per_minute: u32,
}

/// Returns (seconds to post every suggestion, notes posted).
async fn run(r: &Run) -> (f64, usize) {
    let fake = FakeGitLab::start().await;
    fake.add_project(PROJECT);
    let (bot_id, token) = fake.add_user("bot", PROJECT, 20);
    let (author, _) = fake.add_user("reporter", PROJECT, 10);
    let mut iids = Vec::with_capacity(r.issues);
    for i in 0..r.issues {
        iids.push(fake.create_issue(
            PROJECT,
            author,
            &format!("hw/usb/hcd-xhci: loop {i}"),
            BODY,
            true,
        ));
    }
    let llm = match r.llm_latency {
        None => None,
        Some(latency) => {
            let fake_llm = FakeLlm::start(move |_, _| {
                Reply::Slow(latency, Box::new(Reply::Content(answer("virtualization"))))
            })
            .await;
            let url = fake_llm.base_url.clone();
            std::mem::forget(fake_llm); // keep serving for the whole run
            Some(Adjudicator::new(
                LlmConfig {
                    base_url: url,
                    model: "fake".into(),
                    api_key: "k".into(),
                    timeout: Duration::from_secs(30),
                    max_prompt_tokens: 6000,
                    max_completion_tokens: 200,
                    prompt: PromptKind::Adjudicate,
                },
                None,
            ))
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::new(
        DaemonConfig {
            listen: "127.0.0.1:0".into(),
            webhook_secret: Some("x".into()),
            poll_interval: Duration::from_secs(2),
            workers: r.workers,
            lease: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
            ..DaemonConfig::new(vec![PROJECT])
        },
        Client::new(GitLabConfig {
            base_url: fake.base_url.clone(),
            token: Token::new(token),
            timeout: Duration::from_secs(30),
            max_retries: 4,
            notes_per_minute: r.notes_per_minute,
        })
        .unwrap(),
        Queue::connect(
            &format!("sqlite://{}", dir.path().join("q.db").display()),
            QueueConfig::default(),
        )
        .await
        .unwrap(),
        Engine {
            kb: Kb::embedded(),
            limits: Limits::default(),
            llm,
        },
    );
    let started = Instant::now();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(daemon::run(d, async move {
        let _ = rx.await;
    }));
    let posted = loop {
        let posted = iids
            .iter()
            .filter(|&&i| fake.notes(PROJECT, i).iter().any(|n| n.author.id == bot_id))
            .count();
        if posted == iids.len() || started.elapsed() > Duration::from_secs(600) {
            break posted;
        }
        tokio::time::sleep(Duration::from_millis(if iids.len() > 1000 {
            1000
        } else {
            100
        }))
        .await;
    };
    let secs = started.elapsed().as_secs_f64();
    let _ = tx.send(());
    let _ = task.await;
    (secs, posted)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!(
        "{:<44} {:>7} {:>9} {:>11} {:>11}",
        "run", "issues", "seconds", "issues/s", "bound/s"
    );
    let cases = [
        (
            "C=4, L=200 ms, notes unlimited",
            Run {
                issues: 80,
                workers: 4,
                llm_latency: Some(Duration::from_millis(200)),
                notes_per_minute: 60_000,
            },
        ),
        (
            "C=8, L=200 ms, notes unlimited",
            Run {
                issues: 160,
                workers: 8,
                llm_latency: Some(Duration::from_millis(200)),
                notes_per_minute: 60_000,
            },
        ),
        (
            "C=8, L=200 ms, 120 notes/min",
            Run {
                issues: 160,
                workers: 8,
                llm_latency: Some(Duration::from_millis(200)),
                notes_per_minute: 120,
            },
        ),
    ];
    for (name, r) in &cases {
        let (secs, posted) = run(r).await;
        // bound/s = N / max(N·L/C, (N − burst)/rate): the LLM's C/L, or the note
        // bucket's sustained rate once its one-minute burst is spent.
        let n = r.issues as f64;
        let llm_secs = n * r.llm_latency.map(|l| l.as_secs_f64()).unwrap_or(0.0) / r.workers as f64;
        let note_secs =
            (n - r.notes_per_minute as f64).max(0.0) / (r.notes_per_minute as f64 / 60.0);
        println!(
            "{:<44} {:>7} {:>9.2} {:>11.1} {:>11.1}",
            name,
            posted,
            secs,
            posted as f64 / secs,
            n / llm_secs.max(note_secs)
        );
    }
    let (secs, posted) = run(&Run {
        issues: 400,
        workers: 2,
        llm_latency: None,
        notes_per_minute: 600_000,
    })
    .await;
    println!("worker overhead (rules only, C=2, no latency): {:.2} ms per issue ({posted} issues in {secs:.2} s, fake GitLab on loopback included)", secs * 1000.0 / posted as f64);
    let before = peak_rss_mib();
    let (secs, posted) = run(&Run {
        issues: 10_000,
        workers: 2,
        llm_latency: None,
        notes_per_minute: 6_000_000,
    })
    .await;
    println!(
        "backlog of 10,000: {posted} posted in {secs:.1} s; peak RSS {:.0} MiB (was {before:.0} MiB before; includes the in-process fake GitLab holding every issue and note)",
        peak_rss_mib()
    );
}
