//! Durable job queue: SQLite by default, PostgreSQL for several workers.
//!
//! One job means "triage this issue again". Intake (webhook or cursor poll) calls
//! [`Queue::enqueue`]; workers [`claim`](Queue::claim) a job, [`heartbeat`](Queue::heartbeat)
//! while they work and finish with [`complete`](Queue::complete),
//! [`retry_later`](Queue::retry_later), [`dead_letter`](Queue::dead_letter) or, on shutdown,
//! [`release`](Queue::release).
//!
//! # Invariants
//!
//! - **At most one pending job per issue.** A unique partial index on
//!   `(project_id, issue_iid) WHERE state = 'pending'` makes a second enqueue coalesce into the
//!   waiting job: the worker fetches the issue when it runs, so one run covers every event.
//! - **A job is held by at most one worker, fenced by its lease token.** Each claim writes a
//!   fresh random token; every later transition matches on it, so a worker whose lease expired
//!   and was reclaimed gets `false` or [`QueueError::LeaseLost`] and must drop its result.
//! - **Every claim is an attempt**, including a reclaim after an expired lease, so a job that
//!   crashes its worker is dead-lettered after `max_attempts` instead of looping forever.
//!   [`release`](Queue::release) alone gives the attempt back.
//! - **One issue runs on one worker at a time** (best effort): claim skips a job while another
//!   job of the same issue holds a live lease. Two workers can still overlap on one issue when
//!   one reclaims an expired job while the other claims that issue's newer pending job; the
//!   one-suggestion-per-revision marker in GitLab stays the final guard.
//! - **Times are unix milliseconds from this process's clock** ([`now_ms`]), never the
//!   database's, so SQLite and PostgreSQL behave the same and tests only need short durations.
//!
//! # Layout
//!
//! - `backoff`: the retry policy ([`backoff()`], [`QueueConfig`]), pure;
//! - `store`: [`Queue`] and all SQL; the schema is in `migrations/sqlite` and
//!   `migrations/postgres`, which must stay in step;
//! - `error`: [`QueueError`].

mod backoff;
mod error;
mod store;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use backoff::{
    backoff, backoff_ceiling, backoff_with_jitter, QueueConfig, DEFAULT_BASE_BACKOFF,
    DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF,
};
pub use error::QueueError;
pub use store::Queue;

/// Database id of a job.
pub type JobId = i64;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker (possibly until `run_after`).
    Pending,
    /// Held by a worker under a lease.
    Running,
    /// Finished, or superseded by a newer pending job of the same issue.
    Done,
    /// Gave up: a fatal error or too many attempts. Operators can [`Queue::retry_dead`].
    Dead,
}

impl JobState {
    /// Every state, in order.
    pub const ALL: [JobState; 4] = [
        JobState::Pending,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    /// The name stored in the database and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown job state {s:?}: use pending, running, done or dead"))
    }
}

/// A claimed job: what a worker needs to do the work and to prove it still holds the lease.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub project_id: u64,
    pub issue_iid: u64,
    /// This attempt's number, starting at 1.
    pub attempts: u32,
    /// Fencing token of this claim; every transition checks it.
    pub lease_token: String,
    /// Why the job was enqueued.
    pub reason: String,
}

/// A job as operators see it (`list`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobRow {
    pub id: JobId,
    pub project_id: u64,
    pub issue_iid: u64,
    pub state: JobState,
    pub attempts: u32,
    /// The last failure; kept after a later success so operators can see what happened.
    pub last_error: Option<String>,
    pub reason: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub run_after_ms: i64,
    /// What the finished job did (`posted`, `dry-run`, `already-posted`, `skipped-public`, ...).
    pub outcome: Option<String>,
    /// The use case the job suggested, when it computed one.
    pub verdict: Option<String>,
}

/// A safety alarm that stops posting until an operator clears it (`sectriage alarm clear`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alarm {
    /// What kind of alarm, e.g. `internal-flag-dropped`.
    pub name: String,
    /// What happened and what to do, for operators (ids only, never report text).
    pub detail: String,
    pub raised_at_ms: i64,
    /// Which daemon process raised it.
    pub raised_by: String,
}

/// What a posted suggestion said, recorded beside its note id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SuggestionDetails {
    pub use_case: crate::kb::UseCase,
    /// `low`, `medium` or `high`.
    pub confidence: String,
    /// Engine version, plus the prompt version when a model answered.
    pub engine_version: String,
    /// Question codes for the reporter (fixed enum names).
    pub questions: Vec<String>,
    /// What the review pages show; `None` for suggestions recorded before it was kept.
    pub summary: Option<SuggestionSummary>,
}

/// A suggestion's review facts, in sectriage's own words or knowledge-base terms (never the
/// report's text beyond the located subjects the note shows too).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SuggestionSummary {
    pub security_relevant: bool,
    /// Declared automated tools, as kinds (`AI/LLM`, `fuzzer`, ...).
    pub declared_tools: Vec<String>,
    /// The reporter asks for an embargo or a disclosure date.
    pub embargo_request: bool,
    /// Likely duplicates: `(project id, issue iid)`.
    pub duplicates: Vec<(u64, u64)>,
    /// The decisive fact (our own sentence).
    pub decisive: String,
    pub evidence: Vec<EvidenceRow>,
}

/// One row of a suggestion's evidence table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EvidenceRow {
    /// The located file, function, machine or accelerator.
    pub subject: String,
    /// How it was found (`Stack frame`, `command line`, ...).
    pub found_as: String,
    pub use_case: crate::kb::UseCase,
    /// Knowledge-base facts, each shown once per table.
    pub facts: Vec<String>,
}

/// A recorded suggestion: the latest one of an issue, for confirmations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SuggestionRow {
    pub revision: String,
    pub note_id: u64,
    pub posted_at_ms: i64,
    /// `None` for suggestions recorded before details were kept.
    pub details: Option<SuggestionDetails>,
}

/// How a maintainer's decision reached sectriage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    Reply,
    Emoji,
    Review,
    /// Our labels changed by hand.
    Labels,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Reply => "reply",
            Via::Emoji => "emoji",
            Via::Review => "review",
            Via::Labels => "labels",
        }
    }
}

impl FromStr for Via {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Via::Reply, Via::Emoji, Via::Review, Via::Labels]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown decision source {s:?}"))
    }
}

/// What a decision did to the suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionOutcome {
    /// The maintainer confirmed the suggested class.
    Accepted,
    /// The maintainer confirmed another class.
    Overridden,
    /// The maintainer rejected the suggestion without choosing a class.
    Rejected,
}

impl DecisionOutcome {
    pub const ALL: [DecisionOutcome; 3] = [
        DecisionOutcome::Accepted,
        DecisionOutcome::Overridden,
        DecisionOutcome::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionOutcome::Accepted => "accepted",
            DecisionOutcome::Overridden => "overridden",
            DecisionOutcome::Rejected => "rejected",
        }
    }

    /// The outcome of deciding `final_class` (`None`: rejected) on a suggestion of `suggested`.
    pub fn of(
        suggested: Option<crate::kb::UseCase>,
        final_class: Option<crate::kb::UseCase>,
    ) -> Self {
        match final_class {
            None => DecisionOutcome::Rejected,
            Some(f) if Some(f) == suggested => DecisionOutcome::Accepted,
            Some(_) => DecisionOutcome::Overridden,
        }
    }
}

impl FromStr for DecisionOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DecisionOutcome::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown decision outcome {s:?}"))
    }
}

/// A maintainer's decision on an issue, with the suggestion it was made on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub project_id: u64,
    pub issue_iid: u64,
    pub via: Via,
    /// The note, award or review action that carried it: de-duplicates decisions.
    pub source_id: u64,
    pub revision: Option<String>,
    pub suggested: Option<crate::kb::UseCase>,
    pub confidence: Option<String>,
    pub engine_version: Option<String>,
    /// `None` when the suggestion was rejected without a class.
    pub final_class: Option<crate::kb::UseCase>,
    pub outcome: DecisionOutcome,
    pub user_id: u64,
    pub username: String,
    pub suggested_at_ms: Option<i64>,
    pub decided_at_ms: i64,
}

/// What [`Queue::begin_post`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostIntent {
    /// No earlier attempt: this caller may post now.
    Fresh,
    /// An earlier attempt started this long ago and did not record a note: GitLab may have
    /// stored it (an unclear answer, or a notes list that lags). The intent was renewed for
    /// this caller, which may post.
    Stale { age: Duration },
    /// An earlier attempt started this long ago, too recently to tell whether GitLab stored
    /// its note: look again later instead of posting.
    Recent { age: Duration },
}

/// What [`Queue::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new pending job.
    Created(JobId),
    /// The issue already had a pending job; this event is covered by it.
    Coalesced(JobId),
}

impl Enqueued {
    /// The pending job that will handle the event.
    pub fn id(self) -> JobId {
        match self {
            Enqueued::Created(id) | Enqueued::Coalesced(id) => id,
        }
    }
}

/// The queue's clock: unix time in milliseconds. Every stored time comes from here.
pub fn now_ms() -> i64 {
    // A clock before 1970 is a broken host; treating it as 0 keeps the queue running.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(duration_ms)
        .unwrap_or(0)
}

/// A duration in whole milliseconds, saturating instead of overflowing.
pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
