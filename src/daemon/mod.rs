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
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::confirm::{self, ConfirmPolicy};
use crate::engine::Engine;
use crate::gitlab::{Client, GitLabError};
use crate::intake::webhook::{self, WebhookState};
use crate::intake::{poll, RawReport};
use crate::publish::post::{existing_suggestion, post_internal, revision_digest, BotUsers};
use crate::publish::{render_note_with, LikelyDuplicate, NoteMarker};
use crate::queue::{Job, JobState, PostIntent, Queue};
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
    /// How long a posting attempt that recorded no note blocks another one for the same
    /// revision: long enough for GitLab's notes list to show a note it did store.
    pub post_settle: Duration,
    /// How often undecided suggestions are looked at again for award emoji (which do not
    /// bump an issue's `updated_at`); the Emoji webhook makes it immediate.
    pub decision_sweep: Duration,
    pub reminders: ReminderPolicy,
    /// The review pages under `/review`; `None` serves none.
    pub review: Option<crate::review::ReviewConfig>,
}

/// The minimal-embargo clocks; `None` turns one off.
#[derive(Debug, Clone)]
pub struct ReminderPolicy {
    /// Decided non-virtualization but still confidential after this long.
    pub still_confidential_after: Option<Duration>,
    /// No activity on a confidential issue for this long.
    pub inactive_after: Option<Duration>,
    /// Remind when a fix is mentioned.
    pub fix_posted: bool,
    /// At most one reminder of a kind per issue per window.
    pub window: Duration,
    /// How often the clocks are looked at.
    pub every: Duration,
    /// At most this many reminders per pass.
    pub max_per_pass: usize,
}

impl Default for ReminderPolicy {
    fn default() -> Self {
        ReminderPolicy {
            still_confidential_after: Some(Duration::from_secs(24 * 3600)),
            inactive_after: Some(Duration::from_secs(14 * 24 * 3600)),
            fix_posted: true,
            window: Duration::from_secs(7 * 24 * 3600),
            every: Duration::from_secs(3600),
            max_per_pass: 5,
        }
    }
}

/// A commit id or a merge request named as a fix in a note.
static FIX_MENTION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b(fix(e[sd])?|commit(ted)?|merged|patch(ed)?)\b.{0,80}?(\b[0-9a-f]{12,40}\b|![0-9]+|merge request|/-/merge_requests/|/-/commit/)")
        .expect("fix regex")
});

impl DaemonConfig {
    /// A configuration with the daemon's defaults for everything but the projects.
    pub fn new(projects: Vec<u64>) -> DaemonConfig {
        DaemonConfig {
            projects,
            listen: setup::DEFAULT_LISTEN.into(),
            webhook_secret: None,
            webhook_signing_token: None,
            poll_interval: Duration::from_secs(60),
            workers: 2,
            lease: Duration::from_secs(300),
            dry_run: false,
            confirm: ConfirmPolicy::default(),
            shutdown_grace: Duration::from_secs(20),
            post_settle: DEFAULT_POST_SETTLE,
            decision_sweep: Duration::from_secs(300),
            reminders: ReminderPolicy::default(),
            review: None,
        }
    }
}

/// Default of [`DaemonConfig::post_settle`].
pub const DEFAULT_POST_SETTLE: Duration = Duration::from_secs(120);

/// Name of the alarm raised when GitLab saved one of our notes as public.
pub const ALARM_INTERNAL_FLAG: &str = "internal-flag-dropped";
/// Prefix of the alarm naming a public note that could not be deleted (`…:project:issue:note`).
pub const ALARM_UNDELETED_NOTE: &str = "undeleted-public-note";

/// What readiness is made of, updated by the poller and workers.
#[derive(Debug, Default)]
pub struct Health {
    /// Unix ms of the end of the last poll round in which every project was polled; 0: never.
    last_good_poll_ms: AtomicI64,
    /// Why the last poll round failed, if it did.
    last_poll_error: Mutex<Option<String>>,
    /// The token was rejected (401/403 scope): nothing works until an operator acts.
    token_rejected: Mutex<Option<String>>,
    /// Still looking up the bot user at startup (GitLab unreachable so far).
    waiting_for_gitlab: Mutex<Option<String>>,
    /// The bot's role in a watched project is too low to see confidential issues: GitLab
    /// then lists none and answers 404, so every poll "succeeds" with nothing.
    role_too_low: Mutex<Option<String>>,
}

impl Health {
    fn set(slot: &Mutex<Option<String>>, value: Option<String>) {
        if let Ok(mut slot) = slot.lock() {
            *slot = value;
        }
    }

    fn get(slot: &Mutex<Option<String>>) -> Option<String> {
        slot.lock().ok().and_then(|slot| slot.clone())
    }

    /// Records a GitLab error seen by any component (a rejected token is remembered).
    fn gitlab_error(&self, e: &GitLabError) {
        if matches!(
            e,
            GitLabError::InvalidToken { .. } | GitLabError::InsufficientScope
        ) {
            Health::set(&self.token_rejected, Some(e.to_string()));
        }
    }

    fn seconds_since_good_poll(&self) -> Option<f64> {
        match self.last_good_poll_ms.load(Ordering::SeqCst) {
            0 => None,
            ms => Some((crate::queue::now_ms() - ms).max(0) as f64 / 1000.0),
        }
    }
}

/// Shared state of the running daemon.
#[derive(Clone)]
pub struct Daemon {
    pub config: Arc<DaemonConfig>,
    pub gitlab: Client,
    pub queue: Queue,
    pub engine: Engine,
    pub metrics: Metrics,
    /// The bot's own users, looked up from the token (and the queue) when [`run`] starts.
    bot: Arc<OnceLock<BotUsers>>,
    pub health: Arc<Health>,
    /// The tower stack around the LLM (concurrency, rate, timeout); `None` calls the engine's adjudicator directly.
    pub llm_stack: Option<crate::llm::stack::LlmStack>,
    /// Identifies this process in alarms and worker ids.
    instance: Arc<str>,
    /// Held from the alarm check to the end of each write to GitLab, so a second worker
    /// cannot slip a post in while the first one's reply is raising the alarm.
    post_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Daemon {
    /// A daemon for `config`, rules-only unless [`with_llm_stack`](Daemon::with_llm_stack).
    pub fn new(config: DaemonConfig, gitlab: Client, queue: Queue, engine: Engine) -> Daemon {
        Daemon {
            config: Arc::new(config),
            gitlab,
            queue,
            engine,
            metrics: Metrics::new(),
            bot: Arc::default(),
            health: Arc::default(),
            llm_stack: None,
            instance: format!("pid-{}-{:08x}", std::process::id(), rand::random::<u32>()).into(),
            post_lock: Arc::default(),
        }
    }

    /// Sends LLM calls through this tower stack.
    pub fn with_llm_stack(mut self, stack: Option<crate::llm::stack::LlmStack>) -> Daemon {
        self.llm_stack = stack;
        self
    }

    /// The token's user id, once [`run`] has looked it up.
    pub fn bot_user_id(&self) -> Option<u64> {
        self.bot.get().map(BotUsers::current)
    }

    /// Every user sectriage posted as on this queue, once [`run`] has looked them up.
    pub fn bot_users(&self) -> Option<&BotUsers> {
        self.bot.get()
    }
}

/// Jobs this process holds right now, so a shutdown can hand them back.
type InFlight = Arc<Mutex<std::collections::HashMap<i64, Job>>>;

/// Why a job did not finish.
#[derive(Debug)]
enum JobError {
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    Dead(String),
    /// GitLab rejected the token (revoked, expired, scope): the job goes back to the queue
    /// and the workers wait, not ready, until a poll succeeds with it again.
    TokenRejected(String),
    /// A configuration GitLab refuses (e.g. a foreign pagination origin): the daemon stops.
    Fatal(String),
    /// The job's lease was lost (expired and reclaimed): another holder owns it now.
    LeaseLost,
}

impl From<GitLabError> for JobError {
    fn from(e: GitLabError) -> Self {
        if matches!(
            e,
            GitLabError::InvalidToken { .. } | GitLabError::InsufficientScope
        ) {
            JobError::TokenRejected(e.to_string())
        } else if e.is_fatal() {
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

impl From<crate::queue::QueueError> for JobError {
    fn from(e: crate::queue::QueueError) -> Self {
        JobError::Retry {
            error: e.to_string(),
            retry_after: None,
        }
    }
}

/// What a finished job did (a log and metrics label).
fn outcome_label(o: &Result<Done, JobError>) -> &'static str {
    match o {
        Ok(done) => done.outcome,
        Err(JobError::Retry { .. }) => "retry",
        Err(JobError::Dead(_)) => "dead",
        Err(JobError::TokenRejected(_)) => "token-rejected",
        Err(JobError::Fatal(_)) => "fatal",
        Err(JobError::LeaseLost) => "lease-lost",
    }
}

/// A finished job: what it did, and the use case it suggested when it computed one.
#[derive(Debug, Clone, Copy)]
struct Done {
    outcome: &'static str,
    verdict: Option<crate::kb::UseCase>,
}

impl Done {
    fn just(outcome: &'static str) -> Done {
        Done {
            outcome,
            verdict: None,
        }
    }
}

impl Daemon {
    /// Refuses to write to GitLab while an alarm is raised (read from the queue database, so
    /// every worker of every daemon, and a restarted one, stops alike).
    async fn posting_allowed(&self) -> Result<(), JobError> {
        let alarms = self.queue.alarms().await?;
        self.metrics.alarms_active.set(alarms.len() as i64);
        match alarms.first() {
            None => Ok(()),
            Some(alarm) => Err(JobError::Retry {
                error: format!(
                    "posting is stopped by the {} alarm: fix the cause, then `sectriage alarm clear`",
                    alarm.name
                ),
                retry_after: Some(Duration::from_secs(600)),
            }),
        }
    }

    /// GitLab saved one of our notes as public: stop posting everywhere, durably.
    async fn raise_internal_flag_alarm(&self, p: u64, iid: u64, note_id: u64, deleted: bool) {
        self.metrics.internal_flag_alarms.inc();
        let detail = format!(
            "GitLab saved note {note_id} on issue #{iid} of project {p} as PUBLIC ({}); the bot token's role is below Reporter. Give it the Reporter role, then `sectriage alarm clear` and `sectriage queue retry` the dead jobs",
            if deleted { "deleted at once" } else { "its deletion FAILED and is retried each poll: delete it by hand if it stays" }
        );
        if let Err(e) = self
            .queue
            .raise_alarm(ALARM_INTERNAL_FLAG, &detail, &self.instance)
            .await
        {
            tracing::error!(error = %e, "cannot record the internal-flag alarm in the queue");
        }
        if !deleted {
            let name = format!("{ALARM_UNDELETED_NOTE}:{p}:{iid}:{note_id}");
            let _ = self
                .queue
                .raise_alarm(&name, "public note not deleted yet", &self.instance)
                .await;
        }
        tracing::error!(project_id = p, issue_iid = iid, note_id, deleted, "ALERT: GitLab saved a sectriage note as PUBLIC; posting is stopped until `sectriage alarm clear`");
    }

    /// Retries the deletion of public notes an alarm names; reports each outcome.
    async fn retry_undeleted_notes(&self) {
        let Ok(alarms) = self.queue.alarms().await else {
            return;
        };
        for alarm in alarms {
            let Some(rest) = alarm.name.strip_prefix(&format!("{ALARM_UNDELETED_NOTE}:")) else {
                continue;
            };
            if alarm.detail.starts_with("deleted") {
                continue;
            }
            let ids: Vec<u64> = rest.split(':').filter_map(|x| x.parse().ok()).collect();
            let [p, iid, note] = ids[..] else { continue };
            match self.gitlab.delete_note(p, iid, note).await {
                Ok(()) | Err(GitLabError::NotFound { .. }) => {
                    tracing::warn!(
                        project_id = p,
                        issue_iid = iid,
                        note_id = note,
                        "public note deleted on retry"
                    );
                    let _ = self
                        .queue
                        .raise_alarm(
                            &alarm.name,
                            "deleted on retry; clear the alarm when the cause is fixed",
                            &self.instance,
                        )
                        .await;
                }
                Err(e) => {
                    tracing::error!(project_id = p, issue_iid = iid, note_id = note, error = %e, "ALERT: a PUBLIC sectriage note still cannot be deleted: delete it by hand now");
                }
            }
        }
    }

    /// Processes one job: fetch, skip or triage, post once, handle confirmations.
    async fn process(&self, job: &Job, cancel: &CancellationToken) -> Result<Done, JobError> {
        let (p, iid) = (job.project_id, job.issue_iid);
        let bots = self.bot_users().ok_or_else(|| JobError::Retry {
            error: "the bot user is not known yet".into(),
            retry_after: None,
        })?;
        let issue = match self.gitlab.issue(p, iid).await {
            Ok(issue) => issue,
            Err(GitLabError::NotFound { .. }) => return Ok(Done::just("skipped-not-visible")),
            Err(e) => {
                self.health.gitlab_error(&e);
                return Err(e.into());
            }
        };
        // A public issue is not ours to triage, unless this daemon published it and the job
        // failed before the audit note and the acknowledgement were posted: then it resumes.
        let publishing = confirm::publishing_key(p, iid);
        let resuming = !issue.confidential
            && !self.config.dry_run
            && self.queue.is_remembered(&publishing).await?;
        if !issue.confidential && !resuming {
            return Ok(Done::just("skipped-public"));
        }
        let notes = self.gitlab.notes(p, iid).await?;
        if !self.config.dry_run {
            let _posting = self.post_lock.lock().await;
            self.posting_allowed().await?;
            if cancel.is_cancelled() {
                return Err(JobError::LeaseLost);
            }
            let ctx = confirm::Context {
                gitlab: &self.gitlab,
                queue: &self.queue,
                policy: &self.config.confirm,
                bots,
            };
            match confirm::handle(&ctx, &issue, &notes).await {
                Ok(outcomes) => {
                    for o in &outcomes {
                        if let confirm::ConfirmOutcome::Decided {
                            outcome,
                            engine_version,
                            ..
                        } = o
                        {
                            self.metrics
                                .decision(outcome.as_str(), engine_version.as_deref());
                        }
                    }
                    let published = outcomes
                        .iter()
                        .any(|o| matches!(o, confirm::ConfirmOutcome::Published { .. }));
                    if published || resuming {
                        // Everything the publishing asked for is posted: a later job on the
                        // public issue skips it again.
                        if let Err(e) = self.queue.forget(&publishing).await {
                            tracing::warn!(error = %e, "cannot forget a finished publishing; a later job on the issue re-checks it");
                        }
                    }
                    if published {
                        return Ok(Done::just("published"));
                    }
                    if resuming {
                        return Ok(Done::just("publish-resumed"));
                    }
                }
                Err(confirm::ConfirmError::GitLab(GitLabError::InternalFlagDropped {
                    note_id,
                    deleted,
                })) => {
                    self.raise_internal_flag_alarm(p, iid, note_id, deleted)
                        .await;
                    return Err(JobError::Dead(format!(
                        "GitLab dropped the internal flag of an acknowledgement (note {note_id}, deleted: {deleted})"
                    )));
                }
                Err(confirm::ConfirmError::GitLab(e)) => {
                    self.health.gitlab_error(&e);
                    return Err(e.into());
                }
                Err(confirm::ConfirmError::Queue(e)) => return Err(e.into()),
                Err(confirm::ConfirmError::Alarm(name)) => {
                    return Err(JobError::Retry {
                        error: format!("posting is stopped by the {name} alarm"),
                        retry_after: Some(Duration::from_secs(600)),
                    })
                }
                Err(e @ confirm::ConfirmError::UnsafeNote(_)) => {
                    return Err(JobError::Dead(e.to_string()))
                }
            }
            drop(_posting);
        }
        if issue.state == "closed" {
            return Ok(Done::just("skipped-closed"));
        }
        let description = issue.description.clone().unwrap_or_default();
        let revision = revision_digest(&issue.title, &description);
        if !self.config.dry_run {
            if let Some(note) = existing_suggestion(&notes, bots, p, iid, &revision) {
                let _ = self
                    .queue
                    .record_suggestion(p, iid, &revision, note.id, job.id)
                    .await;
                return Ok(Done::just("already-posted"));
            }
            // GitLab's list can lag behind a note it stored (replicas): our own record of
            // what was posted is consulted too.
            if self.queue.suggestion(p, iid, &revision).await?.is_some() {
                return Ok(Done::just("already-posted"));
            }
        }

        // Never fight a human: once a member decided (a reply, an emoji, our labels set by
        // hand), a new revision gets a short "the decision stands" note, not a new suggestion.
        let standing = if self.config.dry_run {
            None
        } else {
            confirm::record_label_decision(&self.queue, &self.config.confirm, &issue).await?;
            self.queue.decisions(Some((p, iid))).await?.pop()
        };
        let raw = RawReport {
            title: issue.title.clone(),
            body: description.into_bytes(),
            format: "gitlab-issue",
        };
        let started = Instant::now();
        let mut marker = NoteMarker {
            project_id: p,
            issue_iid: iid,
            revision: revision.clone(),
            job_id: job.id.to_string(),
            suggested: None,
        };
        let mut details = None;
        let triaged = match &standing {
            Some(decision) => {
                // No `suggested=`: an emoji on this note confirms nothing.
                marker.suggested = None;
                let note = crate::publish::notes::decision_stands(
                    &marker.render(),
                    decision.final_class,
                    &decision.username,
                );
                crate::publish::check_note(&note).map_err(|e| JobError::Dead(e.to_string()))?;
                Err((note, decision.final_class))
            }
            None => Ok(self.engine.triage_via(&raw, self.llm_stack.as_ref()).await),
        };
        let (body, verdict) = match triaged {
            Err(stands) => stands,
            Ok(triaged) => match triaged {
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
                    tracing::info!(project_id = p, issue_iid = iid, use_case = %s.use_case, confidence = ?s.confidence, declared_tools = s.provenance.declared(), dry_run = self.config.dry_run, "suggestion computed");
                    marker.suggested = Some(s.use_case);
                    let duplicates = self.likely_duplicates(p, iid, &s).await;
                    let note = render_note_with(&s, Some(&marker), &duplicates).map_err(|e| {
                        JobError::Dead(format!("rendered note failed its safety check: {e}"))
                    })?;
                    details = Some(crate::queue::SuggestionDetails {
                        use_case: s.use_case,
                        confidence: format!("{:?}", s.confidence).to_lowercase(),
                        engine_version: match &s.llm {
                            LlmOutcome::Answered { prompt_version, .. } => {
                                format!("{}+{prompt_version}", s.engine_version)
                            }
                            _ => s.engine_version.clone(),
                        },
                        questions: s.questions.iter().map(|q| q.as_str().to_string()).collect(),
                        summary: Some(crate::publish::summary_of(&s, &duplicates)),
                    });
                    (note, Some(s.use_case))
                }
                Err(input) => {
                    tracing::warn!(project_id = p, issue_iid = iid, error = %input, "report not triaged");
                    let note = format!(
                    "{}\n#### sectriage could not triage this report\n\nReason: {input}.\n\nA maintainer needs to triage it by hand.\n",
                    marker.render()
                );
                    crate::publish::check_note(&note).map_err(|e| JobError::Dead(e.to_string()))?;
                    (note, None)
                }
            },
        };
        if self.config.dry_run {
            // Nothing is recorded as posted: a later live run posts this revision.
            return Ok(Done {
                outcome: "dry-run",
                verdict,
            });
        }
        // Right before posting: the alarm (any worker, any daemon) and our lease.
        let _posting = self.post_lock.lock().await;
        self.posting_allowed().await?;
        if cancel.is_cancelled() {
            return Err(JobError::LeaseLost);
        }
        match self
            .queue
            .begin_post(p, iid, &revision, job.id, self.config.post_settle)
            .await?
        {
            PostIntent::Fresh => {}
            PostIntent::Stale { age } => {
                tracing::info!(
                    project_id = p,
                    issue_iid = iid,
                    age_s = age.as_secs(),
                    "an earlier posting attempt left no note on GitLab; posting again"
                )
            }
            PostIntent::Recent { age } => {
                return Err(JobError::Retry {
                    error: "an earlier attempt to post this revision may still appear on GitLab; looking again before posting".into(),
                    retry_after: Some(self.config.post_settle.saturating_sub(age) + Duration::from_millis(100)),
                });
            }
        }
        match post_internal(&self.gitlab, p, iid, &body).await {
            Ok(note) => {
                self.metrics.notes_posted.inc();
                let recorded = self
                    .queue
                    .record_suggestion_with(p, iid, &revision, note.id, job.id, details.as_ref())
                    .await;
                if let Err(e) = recorded {
                    // GitLab's marker remains the source of truth; the intent makes a retry
                    // wait for it instead of posting again.
                    tracing::warn!(error = %e, "posted but not recorded locally");
                }
                Ok(Done {
                    outcome: if standing.is_some() {
                        "decision-stands"
                    } else {
                        "posted"
                    },
                    verdict,
                })
            }
            Err(GitLabError::InternalFlagDropped { note_id, deleted }) => {
                let _ = self.queue.abandon_post(p, iid, &revision).await;
                self.raise_internal_flag_alarm(p, iid, note_id, deleted)
                    .await;
                Err(JobError::Dead(format!(
                    "GitLab dropped the internal flag (note {note_id}, deleted: {deleted}); the token's role is below Reporter"
                )))
            }
            Err(e) => {
                // A refusal is certain: nothing was stored. A 5xx or a broken connection is
                // not: the intent stays, so the retry waits for GitLab's list to settle.
                if !(e.is_retryable() || e.is_fatal()) {
                    let _ = self.queue.abandon_post(p, iid, &revision).await;
                }
                self.health.gitlab_error(&e);
                Err(e.into())
            }
        }
    }

    /// Keeps the job's lease alive until the lease is lost (then cancels `cancel`) or the
    /// job ends. A database error is retried until the lease would have run out.
    async fn heartbeat(&self, job: &Job, cancel: &CancellationToken) {
        let lease = self.config.lease;
        let mut last_ok = Instant::now();
        let mut wait = lease / 3;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => return,
            }
            match self.queue.heartbeat(job, lease).await {
                Ok(true) => {
                    last_ok = Instant::now();
                    wait = lease / 3;
                }
                Ok(false) => {
                    tracing::warn!(
                        job_id = job.id,
                        "lease lost (reclaimed elsewhere); stopping the job"
                    );
                    cancel.cancel();
                    return;
                }
                Err(e) => {
                    // Give up a safety margin before the lease expires, so another worker's
                    // reclaim cannot overlap a post of ours.
                    if last_ok.elapsed() + lease / 6 >= lease {
                        tracing::error!(job_id = job.id, error = %e, "cannot renew the lease; stopping the job");
                        cancel.cancel();
                        return;
                    }
                    tracing::warn!(job_id = job.id, error = %e, "heartbeat failed; retrying");
                    wait = (lease / 12).max(Duration::from_millis(50));
                }
            }
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
            let mut token_rejected = false;
            let started = Instant::now();
            // The heartbeat runs beside the work in this task; losing the lease cancels the
            // token, which stops the work (and is checked right before every write).
            let cancel = CancellationToken::new();
            let result = {
                let work = self.process(&job, &cancel);
                let beat = self.heartbeat(&job, &cancel);
                tokio::pin!(work, beat);
                tokio::select! {
                    r = &mut work => r,
                    () = &mut beat => Err(JobError::LeaseLost),
                }
            };
            cancel.cancel();
            // An issue deleted (or hidden from the bot) while its job ran ends as a vanished
            // issue, not as a dead job: a 404 after the first read means it is gone.
            let result = match result {
                Err(JobError::Dead(error)) => {
                    match self.gitlab.issue(job.project_id, job.issue_iid).await {
                        Err(GitLabError::NotFound { .. }) => Ok(Done::just("skipped-not-visible")),
                        _ => Err(JobError::Dead(error)),
                    }
                }
                other => other,
            };
            self.metrics
                .job_seconds
                .observe(started.elapsed().as_secs_f64());
            self.metrics.job(outcome_label(&result));
            let settle = match result {
                Ok(done) => {
                    tracing::info!(
                        job_id = job.id,
                        project_id = job.project_id,
                        issue_iid = job.issue_iid,
                        outcome = done.outcome,
                        "job done"
                    );
                    let verdict = done.verdict.map(|v| v.to_string());
                    self.queue
                        .complete_with(&job, done.outcome, verdict.as_deref())
                        .await
                        .map(|_| ())
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
                Err(JobError::LeaseLost) => {
                    tracing::warn!(
                        job_id = job.id,
                        "job stopped: its lease was lost; its new holder finishes it"
                    );
                    Ok(())
                }
                Err(JobError::TokenRejected(error)) => {
                    tracing::error!(job_id = job.id, error = %error, "GitLab rejected the token: the job goes back to the queue and this worker waits until a poll succeeds again (readiness reports not ready meanwhile)");
                    Health::set(&self.health.token_rejected, Some(error));
                    token_rejected = true;
                    self.queue.release(&job).await
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
            if token_rejected {
                self.wait_for_token(&mut shutdown).await;
            }
        }
    }

    /// Waits until the token works again: the poller clears the rejection after a poll
    /// succeeds (a token restored or a role given back), so no job burns its retries on a
    /// 401 meanwhile.
    async fn wait_for_token(&self, shutdown: &mut watch::Receiver<bool>) {
        while Health::get(&self.health.token_rejected).is_some() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.changed() => return,
            }
        }
        tracing::info!("GitLab accepts the token again; workers resume");
    }

    /// One poll round over every project; the wait GitLab asked for, if it asked.
    async fn poll_round(&self, intake: poll::Intake) -> Option<Duration> {
        let mut all_ok = true;
        let mut wait: Option<Duration> = None;
        for &project in &self.config.projects {
            match poll::poll_project(&self.gitlab, &self.queue, project, intake).await {
                Ok(r) => {
                    if r.enqueued > 0 || r.dead_lettered > 0 {
                        tracing::info!(
                            project_id = project,
                            enqueued = r.enqueued,
                            dead_lettered = r.dead_lettered,
                            "poll found work"
                        );
                    }
                }
                Err(e) => {
                    all_ok = false;
                    self.metrics.poll_failures.inc();
                    if let poll::PollError::GitLab(g) = &e {
                        self.health.gitlab_error(g);
                    }
                    wait = wait.max(e.retry_after());
                    Health::set(
                        &self.health.last_poll_error,
                        Some(format!("project {project}: {e}")),
                    );
                    tracing::warn!(project_id = project, error = %e, retry_after_s = e.retry_after().map(|d| d.as_secs()), "poll failed; will retry");
                }
            }
        }
        self.check_role().await;
        if all_ok {
            self.health
                .last_good_poll_ms
                .store(crate::queue::now_ms(), Ordering::SeqCst);
            Health::set(&self.health.last_poll_error, None);
            Health::set(&self.health.token_rejected, None);
        }
        self.metrics
            .gitlab_rate_limited
            .set(self.gitlab.stats().rate_limited);
        wait
    }

    /// Checks the bot's role in every watched project: below Planner (15) GitLab hides
    /// confidential issues from it, so polls list nothing and jobs find nothing, silently.
    /// Readiness says so until the role is raised. A failed lookup changes nothing.
    async fn check_role(&self) {
        const PLANNER: u32 = 15;
        let Some(bot) = self.bot_user_id() else {
            return;
        };
        let mut problems = Vec::new();
        for &project in &self.config.projects {
            match self.gitlab.member_access_level(project, bot).await {
                Ok(Some(level)) if level >= PLANNER => {}
                Ok(level) => {
                    let role =
                        level.map_or("not a member".to_string(), |l| format!("access level {l}"));
                    tracing::error!(project_id = project, role = %role, "the bot cannot see confidential issues of this project: give its token the Reporter role");
                    problems.push(format!("bot role too low in project {project} ({role}): it cannot see confidential issues; give the token the Reporter role"));
                }
                Err(_) => return,
            }
        }
        Health::set(
            &self.health.role_too_low,
            (!problems.is_empty()).then(|| problems.join("; ")),
        );
    }

    /// Other watched issues whose report fingerprint matches this one, best first; this
    /// report's fingerprint is stored for the next ones. Errors only cost the hint.
    async fn likely_duplicates(
        &self,
        p: u64,
        iid: u64,
        s: &crate::triage::Suggestion,
    ) -> Vec<LikelyDuplicate> {
        use crate::triage::fingerprint::{similarity, Fingerprint};
        const LOOK_BACK_MS: i64 = 180 * 24 * 3600 * 1000;
        let mine = Fingerprint::of(s);
        if mine.is_empty() {
            return Vec::new();
        }
        let mut found = Vec::new();
        match self
            .queue
            .fingerprints(crate::queue::now_ms() - LOOK_BACK_MS)
            .await
        {
            Ok(all) => {
                for (op, oiid, json) in all {
                    if (op, oiid) == (p, iid) {
                        continue;
                    }
                    let Ok(other) = serde_json::from_str::<Fingerprint>(&json) else {
                        continue;
                    };
                    let sim = similarity(mine, &other);
                    if sim.likely_duplicate() {
                        found.push(LikelyDuplicate {
                            project_id: op,
                            issue_iid: oiid,
                            score: sim.score,
                            shared: sim.describe(),
                        });
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read fingerprints; no duplicate hint"),
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        if !self.config.dry_run {
            if let Ok(json) = serde_json::to_string(mine) {
                if let Err(e) = self.queue.record_fingerprint(p, iid, &json).await {
                    tracing::warn!(error = %e, "cannot store the report fingerprint");
                }
            }
        }
        found
    }

    /// Posts the reminders that are due, at most `max_per_pass`; each at most once per issue,
    /// kind and window (a marker in the note, so a crash never repeats one).
    async fn remind(&self) {
        use crate::publish::notes::{reminder, ReminderKind};
        const LOOK_BACK_MS: i64 = 365 * 24 * 3600 * 1000;
        let policy = &self.config.reminders;
        let Some(bots) = self.bot_users() else {
            return;
        };
        let now = crate::queue::now_ms();
        let window = now / crate::queue::duration_ms(policy.window).max(1);
        let Ok(tracked) = self.queue.tracked_issues(now - LOOK_BACK_MS).await else {
            return;
        };
        let mut posted = 0;
        for (p, iid) in tracked {
            if posted >= policy.max_per_pass {
                tracing::info!(
                    max = policy.max_per_pass,
                    "reminder limit for this pass reached; the rest wait"
                );
                return;
            }
            let Ok(issue) = self.gitlab.issue(p, iid).await else {
                continue;
            };
            if !issue.confidential {
                continue;
            }
            let Ok(notes) = self.gitlab.notes(p, iid).await else {
                continue;
            };
            let mut due: Option<(ReminderKind, String)> = None;
            if let Some(after) = policy.still_confidential_after {
                let decided = self
                    .queue
                    .decisions(Some((p, iid)))
                    .await
                    .ok()
                    .and_then(|mut d| d.pop());
                if let Some(d) =
                    decided.filter(|d| d.final_class == Some(crate::kb::UseCase::NonVirtualization))
                {
                    let age = now - d.decided_at_ms;
                    if age >= crate::queue::duration_ms(after) {
                        due = Some((ReminderKind::StillConfidential, human_age(age)));
                    }
                }
            }
            if due.is_none() && policy.fix_posted {
                let fixed = notes.iter().any(|n| {
                    !bots.is_ours(n.author.id) && !n.system && FIX_MENTION.is_match(&n.body)
                });
                if fixed {
                    due = Some((ReminderKind::FixPosted, String::new()));
                }
            }
            if due.is_none() && issue.state != "closed" {
                if let (Some(after), Some(updated)) = (
                    policy.inactive_after,
                    crate::gitlab::time::parse_to_unix_ms(&issue.updated_at),
                ) {
                    let age = now - updated;
                    if age >= crate::queue::duration_ms(after) {
                        due = Some((ReminderKind::Inactive, human_age(age)));
                    }
                }
            }
            let Some((kind, age)) = due else { continue };
            let marker = format!(
                "<!-- sectriage:reminder kind={} window={window} -->",
                kind.as_str()
            );
            if notes
                .iter()
                .any(|n| bots.is_ours(n.author.id) && n.body.contains(&marker))
            {
                continue;
            }
            let body = reminder(&marker, kind, &age);
            if crate::publish::check_note(&body).is_err() {
                continue;
            }
            let _posting = self.post_lock.lock().await;
            if self.posting_allowed().await.is_err() {
                return;
            }
            match self.gitlab.create_internal_note(p, iid, &body).await {
                Ok(_) => {
                    posted += 1;
                    tracing::info!(
                        project_id = p,
                        issue_iid = iid,
                        kind = kind.as_str(),
                        "reminder posted"
                    );
                }
                Err(GitLabError::InternalFlagDropped { note_id, deleted }) => {
                    self.raise_internal_flag_alarm(p, iid, note_id, deleted)
                        .await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(project_id = p, issue_iid = iid, error = %e, "reminder not posted")
                }
            }
        }
    }

    /// Enqueues issues whose suggestion awaits a decision, once per sweep window.
    async fn sweep_undecided(&self) {
        const LOOK_BACK_MS: i64 = 30 * 24 * 3600 * 1000;
        let now = crate::queue::now_ms();
        let window = now / crate::queue::duration_ms(self.config.decision_sweep).max(1);
        let Ok(issues) = self.queue.undecided_suggestions(now - LOOK_BACK_MS).await else {
            return;
        };
        for (p, iid) in issues {
            let key = format!("sweep:{p}:{iid}:{window}");
            if let Err(e) = self
                .queue
                .enqueue_once(
                    &key,
                    self.config.decision_sweep * 2,
                    p,
                    iid,
                    "decision-sweep",
                )
                .await
            {
                tracing::warn!(project_id = p, issue_iid = iid, error = %e, "cannot enqueue an undecided suggestion");
            }
        }
    }

    async fn poller(self, mut shutdown: watch::Receiver<bool>) {
        let intake = if self.config.dry_run {
            poll::Intake::DryRun
        } else {
            poll::Intake::Live
        };
        let mut last_sweep = Instant::now();
        // The first reminder pass comes one interval after startup, not at once.
        let mut last_reminders = Instant::now();
        loop {
            // A GitLab call with its retries can take a minute: shutdown must not wait for it.
            let wait = tokio::select! {
                w = self.poll_round(intake) => w,
                _ = shutdown.changed() => return,
            };
            if !self.config.dry_run {
                tokio::select! {
                    () = self.retry_undeleted_notes() => {}
                    _ = shutdown.changed() => return,
                }
                if last_sweep.elapsed() >= self.config.decision_sweep {
                    last_sweep = Instant::now();
                    self.sweep_undecided().await;
                }
                if last_reminders.elapsed() >= self.config.reminders.every {
                    last_reminders = Instant::now();
                    tokio::select! {
                        () = self.remind() => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
            // Honour a long Retry-After: GitLab asked us not to call before then.
            let sleep = wait.map_or(self.config.poll_interval, |w| {
                w.max(self.config.poll_interval)
            });
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Why the daemon is not ready, or `None` when it is.
    pub async fn not_ready(&self) -> Option<String> {
        let mut reasons = Vec::new();
        if let Some(why) = Health::get(&self.health.waiting_for_gitlab) {
            reasons.push(format!("waiting for GitLab: {why}"));
        }
        if let Some(why) = Health::get(&self.health.token_rejected) {
            reasons.push(format!("GitLab token rejected: {why}"));
        }
        if let Some(why) = Health::get(&self.health.role_too_low) {
            reasons.push(why);
        }
        match self.queue.alarms().await {
            Ok(alarms) => {
                self.metrics.alarms_active.set(alarms.len() as i64);
                for alarm in alarms {
                    reasons.push(format!(
                        "posting stopped by alarm {}: {}",
                        alarm.name, alarm.detail
                    ));
                }
            }
            Err(e) => reasons.push(format!("queue unreadable: {e}")),
        }
        if let Err(e) = self.queue.probe_write().await {
            reasons.push(format!("queue not writable: {e}"));
        }
        if let Some(why) = Health::get(&self.health.last_poll_error) {
            reasons.push(format!("last poll failed: {why}"));
        }
        let stale_after = (self.config.poll_interval * 3).max(Duration::from_secs(60));
        match self.health.seconds_since_good_poll() {
            None => {
                if Health::get(&self.health.waiting_for_gitlab).is_none() {
                    reasons.push("no successful poll yet".into());
                }
            }
            Some(s) if s > stale_after.as_secs_f64() => {
                reasons.push(format!("no successful poll for {s:.0} s"))
            }
            Some(_) => {}
        }
        (!reasons.is_empty()).then(|| reasons.join("\n"))
    }
}

/// "3 days", "5 hours", "40 minutes", "12 seconds".
fn human_age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 2 * 3600 => format!("{} hours", s / 3600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
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
        intake: if daemon.config.dry_run {
            poll::Intake::DryRun
        } else {
            poll::Intake::Live
        },
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
                    match r.not_ready().await {
                        None => (StatusCode::OK, "ready\n".to_string()),
                        Some(why) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("not ready:\n{why}\n"),
                        ),
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
                    if let Ok(alarms) = d.queue.alarms().await {
                        d.metrics.alarms_active.set(alarms.len() as i64);
                    }
                    if let Ok(decisions) = d.queue.decisions(None).await {
                        let stats = crate::confirm::stats::Stats::of(&decisions);
                        d.metrics
                            .acceptance_rate
                            .set(stats.acceptance_rate().unwrap_or(0.0));
                    }
                    d.metrics
                        .seconds_since_last_good_poll
                        .set(d.health.seconds_since_good_poll().unwrap_or(-1.0));
                    d.metrics
                        .gitlab_rate_limited
                        .set(d.gitlab.stats().rate_limited);
                    d.metrics.encode()
                }
            }),
        )
        // GitLab sends webhook bodies up to 25 MB; a 413 counts as a failed delivery and
        // four in a row disable the hook.
        .layer(axum::extract::DefaultBodyLimit::max(25 * 1024 * 1024))
        .with_state(())
        .merge(match &daemon.config.review {
            Some(config) => crate::review::router(daemon, config.clone()),
            None => Router::new(),
        })
}

/// Looks up the bot user, retrying with backoff while GitLab is unreachable (readiness says
/// why meanwhile). `None` when shutdown came first.
async fn resolve_bot(
    daemon: &Daemon,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<crate::gitlab::User> {
    let mut wait = Duration::from_secs(1);
    loop {
        let e = match daemon.gitlab.current_user().await {
            Ok(me) => {
                Health::set(&daemon.health.waiting_for_gitlab, None);
                Health::set(&daemon.health.token_rejected, None);
                return Some(me);
            }
            Err(e) => e,
        };
        daemon.health.gitlab_error(&e);
        Health::set(&daemon.health.waiting_for_gitlab, Some(e.to_string()));
        let pause = e.retry_after().map_or(wait, |r| r.max(wait));
        tracing::error!(error = %e, retry_in_s = pause.as_secs(), "cannot look up the bot user; retrying (readiness reports not ready meanwhile)");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return None,
        }
        wait = (wait * 2).min(Duration::from_secs(60));
    }
}

/// The token's user and every earlier bot user of this queue (recording this one): notes
/// of a replaced token's user stay sectriage's own. A queue error costs only the earlier
/// users, with a warning.
async fn bot_users(queue: &Queue, me: &crate::gitlab::User) -> BotUsers {
    match queue.bot_users(me.id, &me.username).await {
        Ok(all) => {
            if all.len() > 1 {
                tracing::info!(
                    user_id = me.id,
                    earlier = all.len() - 1,
                    "notes of earlier bot users of this queue count as sectriage's own"
                );
            }
            BotUsers::new(me.id, all)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the earlier bot users from the queue: notes a replaced token posted are not recognised until a restart");
            BotUsers::new(me.id, [])
        }
    }
}

/// Runs the daemon until `shutdown` resolves or a fatal error occurs.
///
/// The HTTP surface comes up first; the bot user is looked up with retries (GitLab may be
/// unreachable at startup: readiness says so instead of the process exiting), then the poller
/// and workers start.
///
/// # Errors
/// When the listen address cannot be bound, or on a configuration GitLab refuses during a job.
/// A rejected token does not stop the daemon: readiness says so and the workers wait until a
/// poll succeeds again.
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
    if let Ok(alarms) = daemon.queue.alarms().await {
        for alarm in &alarms {
            tracing::error!(alarm = %alarm.name, detail = %alarm.detail, "ALERT: an alarm from an earlier run is still raised: posting stays stopped until `sectriage alarm clear`");
        }
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let (fatal_tx, mut fatal_rx) = watch::channel(None::<String>);

    let mut http_stop = stop_rx.clone();
    let app = router(&daemon);
    let http = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.changed().await;
            })
            .await;
    });
    let in_flight: InFlight = Arc::default();
    let mut workers = tokio::task::JoinSet::new();
    let starter = {
        let daemon = daemon.clone();
        let stop_rx = stop_rx.clone();
        let fatal_tx = fatal_tx.clone();
        let in_flight = in_flight.clone();
        async move {
            let mut startup_stop = stop_rx.clone();
            let me = resolve_bot(&daemon, &mut startup_stop).await?;
            let _ = daemon.bot.set(bot_users(&daemon.queue, &me).await);
            let poller = tokio::spawn(daemon.clone().poller(stop_rx.clone()));
            let mut set = tokio::task::JoinSet::new();
            for i in 0..daemon.config.workers.max(1) {
                set.spawn(daemon.clone().worker(
                    format!("{}-{i}", daemon.instance),
                    stop_rx.clone(),
                    fatal_tx.clone(),
                    in_flight.clone(),
                ));
            }
            Some((poller, set))
        }
    };
    let started = tokio::spawn(starter);

    let fatal = tokio::select! {
        _ = shutdown => None,
        _ = fatal_rx.changed() => fatal_rx.borrow().clone(),
    };
    tracing::info!("stopping: intake first, then workers");
    let _ = stop_tx.send(true);
    let mut poller = None;
    if let Ok(Some((p, set))) = started.await {
        poller = Some(p);
        workers = set;
    }
    if let Some(p) = poller {
        let _ = p.await;
    }
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
