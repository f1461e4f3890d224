//! `sectriage serve`: the daemon beside GitLab.
//!
//! A poller (source of truth) and a webhook endpoint (fast trigger) feed the
//! durable queue; workers claim jobs with a lease, triage the issue with the
//! engine and post one internal suggestion note per issue revision, then
//! handle maintainers' confirmations. SIGTERM stops intake, lets running jobs
//! finish (or releases them) and exits within a bounded time.

pub mod metrics;
pub mod setup;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;

use crate::confirm::{self, ConfirmPolicy};
use crate::engine::Engine;
use crate::gitlab::{Client, GitLabError};
use crate::intake::webhook::{self, WebhookState};
use crate::intake::{poll, RawReport};
use crate::publish::post::{existing_suggestion, post_internal, revision_digest};
use crate::publish::{render_note, NoteMarker};
use crate::queue::{Job, JobState, Queue};
use crate::triage::decide::LlmOutcome;
pub use metrics::Metrics;

/// Everything the daemon needs, already validated.
#[derive(Clone)]
pub struct DaemonConfig {
    pub projects: Vec<u64>,
    pub listen: String,
    pub webhook_secret: Option<String>,
    pub webhook_signing_token: Option<String>,
    pub poll_interval: Duration,
    pub workers: usize,
    pub lease: Duration,
    /// Compute and log suggestions without posting.
    pub dry_run: bool,
    pub confirm: ConfirmPolicy,
    /// Longest wait for running jobs after SIGTERM.
    pub shutdown_grace: Duration,
}

/// Shared state of the running daemon.
#[derive(Clone)]
pub struct Daemon {
    pub config: Arc<DaemonConfig>,
    pub gitlab: Client,
    pub queue: Queue,
    pub engine: Engine,
    pub metrics: Metrics,
    pub bot_user_id: u64,
    /// Set when GitLab dropped the internal flag: posting stops until an operator acts.
    pub stop_posting: Arc<AtomicBool>,
    /// The tower stack around the LLM (concurrency, rate, timeout); `None` calls the engine's adjudicator directly.
    pub llm_stack: Option<crate::llm::stack::LlmStack>,
}

/// Jobs this process holds right now, so a shutdown can hand them back.
type InFlight = Arc<std::sync::Mutex<std::collections::HashMap<i64, Job>>>;

/// Why a job did not finish.
#[derive(Debug)]
enum JobError {
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    Dead(String),
    /// The token is unusable: the daemon must stop.
    Fatal(String),
}

impl From<GitLabError> for JobError {
    fn from(e: GitLabError) -> Self {
        if e.is_fatal() {
            JobError::Fatal(e.to_string())
        } else if e.is_retryable() {
            JobError::Retry {
                retry_after: e.retry_after(),
                error: e.to_string(),
            }
        } else {
            JobError::Dead(e.to_string())
        }
    }
}

/// What a finished job did (a log and metrics label).
fn outcome_label(o: &Result<&'static str, JobError>) -> &'static str {
    match o {
        Ok(label) => label,
        Err(JobError::Retry { .. }) => "retry",
        Err(JobError::Dead(_)) => "dead",
        Err(JobError::Fatal(_)) => "fatal",
    }
}

impl Daemon {
    /// Processes one job: fetch, skip or triage, post once, handle confirmations.
    async fn process(&self, job: &Job) -> Result<&'static str, JobError> {
        let (p, iid) = (job.project_id, job.issue_iid);
        let issue = match self.gitlab.issue(p, iid).await {
            Ok(issue) => issue,
            Err(GitLabError::NotFound { .. }) => return Ok("skipped-not-visible"),
            Err(e) => return Err(e.into()),
        };
        if !issue.confidential {
            return Ok("skipped-public");
        }
        let notes = self.gitlab.notes(p, iid).await?;
        if !self.config.dry_run && !self.stop_posting.load(Ordering::SeqCst) {
            confirm::handle(
                &self.gitlab,
                &self.config.confirm,
                self.bot_user_id,
                &issue,
                &notes,
            )
            .await?;
        }
        if issue.state == "closed" {
            return Ok("skipped-closed");
        }
        let description = issue.description.clone().unwrap_or_default();
        let revision = revision_digest(&issue.title, &description);
        if let Some(note) = existing_suggestion(&notes, self.bot_user_id, p, iid, &revision) {
            let _ = self
                .queue
                .record_suggestion(p, iid, &revision, note.id, job.id)
                .await;
            return Ok("already-posted");
        }

        let raw = RawReport {
            title: issue.title.clone(),
            body: description.into_bytes(),
            format: "gitlab-issue",
        };
        let started = Instant::now();
        let marker = NoteMarker {
            project_id: p,
            issue_iid: iid,
            revision: revision.clone(),
            job_id: job.id.to_string(),
        };
        let body = match self.engine.triage_via(&raw, self.llm_stack.as_ref()).await {
            Ok(s) => {
                if let LlmOutcome::Answered { usage, .. } | LlmOutcome::Failed { usage, .. } =
                    &s.llm
                {
                    self.metrics
                        .llm_seconds
                        .observe(started.elapsed().as_secs_f64());
                    let tok = |k: &str, v: u64| {
                        self.metrics
                            .llm_tokens
                            .get_or_create(&metrics::KindLabel { kind: k.into() })
                            .inc_by(v)
                    };
                    tok("prompt", usage.prompt);
                    tok("completion", usage.completion);
                    tok("cached", usage.cached.unwrap_or(0));
                }
                tracing::info!(project_id = p, issue_iid = iid, use_case = %s.use_case, confidence = ?s.confidence, declared_tools = s.provenance.declared(), "suggestion computed");
                render_note(&s, Some(&marker)).map_err(|e| {
                    JobError::Dead(format!("rendered note failed its safety check: {e}"))
                })?
            }
            Err(input) => {
                tracing::warn!(project_id = p, issue_iid = iid, error = %input, "report not triaged");
                let note = format!(
                    "{}\n#### sectriage could not triage this report\n\nReason: {input}.\n\nA maintainer needs to triage it by hand.\n",
                    marker.render()
                );
                crate::publish::check_note(&note).map_err(|e| JobError::Dead(e.to_string()))?;
                note
            }
        };
        if self.config.dry_run {
            return Ok("dry-run");
        }
        if self.stop_posting.load(Ordering::SeqCst) {
            return Err(JobError::Retry {
                error: "posting is stopped after an internal-flag alarm".into(),
                retry_after: Some(Duration::from_secs(3600)),
            });
        }
        match post_internal(&self.gitlab, p, iid, &body).await {
            Ok(note) => {
                self.metrics.notes_posted.inc();
                if let Err(e) = self
                    .queue
                    .record_suggestion(p, iid, &revision, note.id, job.id)
                    .await
                {
                    // GitLab's marker remains the source of truth; the local record is a convenience.
                    tracing::warn!(error = %e, "posted but not recorded locally");
                }
                Ok("posted")
            }
            Err(GitLabError::InternalFlagDropped { note_id, deleted }) => {
                self.metrics.internal_flag_alarms.inc();
                self.stop_posting.store(true, Ordering::SeqCst);
                tracing::error!(project_id = p, issue_iid = iid, note_id, deleted, "ALERT: GitLab saved the suggestion as a PUBLIC note; it was deleted and posting is stopped. Give the bot token at least the Reporter role, then restart and retry dead jobs");
                Err(JobError::Dead(format!(
                    "GitLab dropped the internal flag (note {note_id}, deleted: {deleted}); the token's role is below Reporter"
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One worker: claim, heartbeat, process, settle; until shutdown.
    async fn worker(
        self,
        worker_id: String,
        mut shutdown: watch::Receiver<bool>,
        fatal: watch::Sender<Option<String>>,
        in_flight: InFlight,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let job = match self.queue.claim(&worker_id, self.config.lease).await {
                Ok(Some(job)) => job,
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim a job");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Ok(mut held) = in_flight.lock() {
                held.insert(job.id, job.clone());
            }
            let started = Instant::now();
            // Keep the lease alive while the job runs (an LLM call can be slow).
            let hb_queue = self.queue.clone();
            let hb_job = job.clone();
            let lease = self.config.lease;
            let heartbeat = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    if !hb_queue.heartbeat(&hb_job, lease).await.unwrap_or(false) {
                        return;
                    }
                }
            });
            let result = self.process(&job).await;
            heartbeat.abort();
            self.metrics
                .job_seconds
                .observe(started.elapsed().as_secs_f64());
            self.metrics.job(outcome_label(&result));
            let settle = match result {
                Ok(label) => {
                    tracing::info!(
                        job_id = job.id,
                        project_id = job.project_id,
                        issue_iid = job.issue_iid,
                        outcome = label,
                        "job done"
                    );
                    self.queue.complete(&job).await.map(|_| ())
                }
                Err(JobError::Retry { error, retry_after }) => {
                    let state = self.queue.retry_later(&job, &error, retry_after).await;
                    tracing::warn!(job_id = job.id, error = %error, state = ?state.as_ref().ok(), "job will be retried");
                    state.map(|_| ())
                }
                Err(JobError::Dead(error)) => {
                    tracing::error!(job_id = job.id, error = %error, "job dead-lettered");
                    self.queue.dead_letter(&job, &error).await
                }
                Err(JobError::Fatal(error)) => {
                    tracing::error!(job_id = job.id, error = %error, "fatal GitLab error; stopping");
                    let _ = self.queue.release(&job).await;
                    let _ = fatal.send(Some(error));
                    return;
                }
            };
            if let Ok(mut held) = in_flight.lock() {
                held.remove(&job.id);
            }
            if let Err(e) = settle {
                tracing::error!(job_id = job.id, error = %e, "cannot record the job's outcome; its lease will expire and it will run again");
            }
        }
    }

    async fn poller(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            for &project in &self.config.projects {
                match poll::poll_project(&self.gitlab, &self.queue, project).await {
                    Ok(r) if r.enqueued > 0 => tracing::info!(
                        project_id = project,
                        enqueued = r.enqueued,
                        "poll found work"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(project_id = project, error = %e, "poll failed; will retry")
                    }
                }
            }
            self.metrics
                .gitlab_rate_limited
                .set(self.gitlab.stats().rate_limited);
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// The HTTP surface: webhook, metrics, health.
pub fn router(daemon: &Daemon) -> Router {
    let state = WebhookState {
        queue: daemon.queue.clone(),
        secret: daemon.config.webhook_secret.as_deref().map(Arc::from),
        signing_token: daemon
            .config
            .webhook_signing_token
            .as_deref()
            .map(Arc::from),
        projects: daemon.config.projects.clone().into(),
        metrics: daemon.metrics.clone(),
    };
    let d = daemon.clone();
    let r = daemon.clone();
    Router::new()
        .route("/webhook", post(webhook::receive).with_state(state))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let r = r.clone();
                async move {
                    if r.stop_posting.load(Ordering::SeqCst) {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "posting stopped: internal-flag alarm\n",
                        )
                    } else if r.queue.depth_by_state().await.is_err() {
                        (StatusCode::SERVICE_UNAVAILABLE, "queue unavailable\n")
                    } else {
                        (StatusCode::OK, "ready\n")
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let d = d.clone();
                async move {
                    if let Ok(depth) = d.queue.depth_by_state().await {
                        for state in [
                            JobState::Pending,
                            JobState::Running,
                            JobState::Done,
                            JobState::Dead,
                        ] {
                            let n = depth.get(&state).copied().unwrap_or(0);
                            d.metrics
                                .queue_depth
                                .get_or_create(&metrics::StateLabel {
                                    state: state.as_str().into(),
                                })
                                .set(n as i64);
                        }
                    }
                    d.metrics
                        .gitlab_rate_limited
                        .set(d.gitlab.stats().rate_limited);
                    d.metrics.encode()
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(5 * 1024 * 1024))
        .with_state(())
}

/// Runs the daemon until `shutdown` resolves or a fatal error occurs.
///
/// # Errors
/// When the listen address cannot be bound, or on a fatal GitLab error (bad token).
pub async fn run(
    daemon: Daemon,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&daemon.config.listen)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e}; change daemon.listen",
                daemon.config.listen
            )
        })?;
    tracing::info!(addr = %listener.local_addr()?, projects = ?daemon.config.projects, dry_run = daemon.config.dry_run, "sectriage serving");
    let (stop_tx, stop_rx) = watch::channel(false);
    let (fatal_tx, mut fatal_rx) = watch::channel(None::<String>);

    let mut http_stop = stop_rx.clone();
    let app = router(&daemon);
    let http = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.changed().await;
            })
            .await;
    });
    let poller = tokio::spawn(daemon.clone().poller(stop_rx.clone()));
    let in_flight: InFlight = Arc::default();
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..daemon.config.workers.max(1) {
        workers.spawn(daemon.clone().worker(
            format!("{}-{i}", std::process::id()),
            stop_rx.clone(),
            fatal_tx.clone(),
            in_flight.clone(),
        ));
    }

    let fatal = tokio::select! {
        _ = shutdown => None,
        _ = fatal_rx.changed() => fatal_rx.borrow().clone(),
    };
    tracing::info!("stopping: intake first, then workers");
    let _ = stop_tx.send(true);
    let _ = poller.await;
    let _ = http.await;
    // Workers finish their current job; after the grace period the rest are
    // dropped and their leases expire, so the jobs run again elsewhere.
    let _ = tokio::time::timeout(daemon.config.shutdown_grace, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    workers.abort_all();
    // Jobs cut off by the grace period go back to the queue at once instead of
    // waiting for their leases to expire. A note already posted is found by its marker.
    let cut_off: Vec<Job> = in_flight
        .lock()
        .map(|mut held| held.drain().map(|(_, job)| job).collect())
        .unwrap_or_default();
    for job in cut_off {
        match daemon.queue.release(&job).await {
            Ok(()) => tracing::info!(job_id = job.id, "job released at shutdown"),
            Err(e) => {
                tracing::warn!(job_id = job.id, error = %e, "could not release a job at shutdown; its lease will expire")
            }
        }
    }
    match fatal {
        Some(reason) => anyhow::bail!("stopped on a fatal GitLab error: {reason}"),
        None => Ok(()),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
