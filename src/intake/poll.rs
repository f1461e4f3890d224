//! The poller: the source of truth for what needs triage.
//!
//! Lists each project's confidential issues updated since a persisted cursor
//! (GitLab's `updated_after` is inclusive), re-reading an overlap window so
//! an update committed late is not missed, and enqueues each (issue,
//! `updated_at`) once. Webhooks only make this faster.
//!
//! # Invariants
//! - An (issue, `updated_at`) is remembered as seen in the same transaction that enqueues its
//!   job ([`Queue::enqueue_once`]): a crash or a failed insert leaves neither, so the next
//!   poll enqueues it again. Nothing is lost between the two.
//! - Items are decoded one by one: an issue GitLab's JSON cannot give us is dead-lettered
//!   with the reason (operators see it in `queue list --state dead`), and its neighbours are
//!   enqueued as usual.
//! - The cursor advances only after every listed issue is recorded.
//! - A dry run keeps its own cursor and seen keys ([`Intake::DryRun`]), so a later live run on
//!   the same database still enqueues and posts everything.

use std::time::Duration;

use crate::gitlab::{Client, GitLabError};
use crate::intake::timefmt;
use crate::queue::{Enqueued, Queue, QueueError};

/// How far before the cursor each poll looks again.
pub const OVERLAP: Duration = Duration::from_secs(120);
/// How long an (issue, updated_at) pair is remembered as already enqueued.
/// How far ahead of this host's clock the cursor may go (GitLab's and our clocks differ a little).
const CLOCK_TOLERANCE: Duration = Duration::from_secs(60);
const SEEN_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

/// Whose intake this is: a live daemon's, or a dry run's, which must not use up the live
/// daemon's cursor and seen keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    Live,
    DryRun,
}

impl Intake {
    /// Prefix of every cursor and seen key this intake writes.
    pub fn namespace(self) -> &'static str {
        match self {
            Intake::Live => "",
            Intake::DryRun => "dry-run:",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    GitLab(#[from] GitLabError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl PollError {
    /// The wait GitLab asked for (a 429's `Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PollError::GitLab(e) => e.retry_after(),
            PollError::Queue(_) => None,
        }
    }
}

/// What one poll of one project did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    pub listed: usize,
    pub enqueued: usize,
    /// Issues GitLab's JSON could not give us, dead-lettered with the reason.
    pub dead_lettered: usize,
    /// Unreadable items without even an iid: logged, nothing to enqueue.
    pub unnamed: usize,
}

fn cursor_name(intake: Intake, project_id: u64) -> String {
    format!("{}poll:project:{project_id}", intake.namespace())
}

/// Polls one project once and advances its cursor.
///
/// # Errors
/// GitLab or queue errors; the cursor is only advanced after every issue is recorded.
pub async fn poll_project(
    gitlab: &Client,
    queue: &Queue,
    project_id: u64,
    intake: Intake,
) -> Result<PollReport, PollError> {
    let name = cursor_name(intake, project_id);
    let cursor = queue.cursor(&name).await?;
    let since = cursor
        .as_deref()
        .and_then(timefmt::parse_ms)
        .map(|ms| timefmt::format_ms(ms - OVERLAP.as_millis() as i64));
    let listing = gitlab
        .list_confidential_issues_each(project_id, since.as_deref())
        .await?;
    let mut report = PollReport {
        listed: listing.issues.len() + listing.unreadable.len(),
        ..PollReport::default()
    };
    let mut newest = cursor
        .as_deref()
        .and_then(timefmt::parse_ms)
        .unwrap_or(i64::MIN);
    let seen_key = |iid: u64, updated_at: &str| {
        format!("{}seen:{project_id}:{iid}:{updated_at}", intake.namespace())
    };
    for issue in &listing.issues {
        let key = seen_key(issue.iid, &issue.updated_at);
        if let Some(Enqueued::Created(_)) = queue
            .enqueue_once(&key, SEEN_TTL, project_id, issue.iid, "poll")
            .await?
        {
            report.enqueued += 1;
        }
        if let Some(ms) = timefmt::parse_ms(&issue.updated_at) {
            newest = newest.max(ms);
        }
    }
    for bad in &listing.unreadable {
        let Some(iid) = bad.iid else {
            report.unnamed += 1;
            tracing::error!(project_id, reason = %bad.reason, "an issue in GitLab's list has no readable iid; it cannot be triaged");
            continue;
        };
        let updated = bad.updated_at.as_deref().unwrap_or("unknown");
        let key = seen_key(iid, updated);
        if queue
            .dead_letter_once(&key, SEEN_TTL, project_id, iid, "poll", &bad.reason)
            .await?
            .is_some()
        {
            report.dead_lettered += 1;
            tracing::error!(project_id, issue_iid = iid, reason = %bad.reason, "issue dead-lettered: GitLab's JSON for it cannot be decoded; fix the issue, then `sectriage queue retry`");
        }
        if let Some(ms) = bad.updated_at.as_deref().and_then(timefmt::parse_ms) {
            newest = newest.max(ms);
        }
    }
    // An issue stamped ahead of this host's clock (GitLab's clock stepped, an imported
    // issue) must not carry the cursor into the future, or every issue updated before
    // that moment is filtered out until real time catches up. Holding the cursor at our
    // own time only lists some issues again, which the seen keys absorb.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(i64::MAX, |d| d.as_millis() as i64);
    let limit = now_ms.saturating_add(CLOCK_TOLERANCE.as_millis() as i64);
    if newest > limit {
        tracing::warn!(
            project_id,
            ahead_s = (newest - now_ms) / 1000,
            "GitLab lists an issue updated ahead of this host's clock; the poll cursor stays at this host's time (check both clocks)"
        );
        newest = limit;
    }
    if newest > i64::MIN {
        queue.set_cursor(&name, &timefmt::format_ms(newest)).await?;
    }
    tracing::debug!(
        project_id,
        listed = report.listed,
        enqueued = report.enqueued,
        dead_lettered = report.dead_lettered,
        "polled"
    );
    Ok(report)
}
