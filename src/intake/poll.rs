//! The poller: the source of truth for what needs triage.
//!
//! Lists each project's confidential issues updated since a persisted cursor
//! (GitLab's `updated_after` is inclusive), re-reading an overlap window so
//! an update committed late is not missed, and enqueues each (issue,
//! `updated_at`) once. Webhooks only make this faster.

use std::time::Duration;

use crate::gitlab::{Client, GitLabError};
use crate::intake::timefmt;
use crate::queue::{Enqueued, Queue, QueueError};

/// How far before the cursor each poll looks again.
pub const OVERLAP: Duration = Duration::from_secs(120);
/// How long an (issue, updated_at) pair is remembered as already enqueued.
const SEEN_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    GitLab(#[from] GitLabError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// What one poll of one project did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    pub listed: usize,
    pub enqueued: usize,
}

fn cursor_name(project_id: u64) -> String {
    format!("poll:project:{project_id}")
}

/// Polls one project once and advances its cursor.
///
/// # Errors
/// GitLab or queue errors; the cursor is only advanced after every issue is enqueued.
pub async fn poll_project(
    gitlab: &Client,
    queue: &Queue,
    project_id: u64,
) -> Result<PollReport, PollError> {
    let cursor = queue.cursor(&cursor_name(project_id)).await?;
    let since = cursor
        .as_deref()
        .and_then(timefmt::parse_ms)
        .map(|ms| timefmt::format_ms(ms - OVERLAP.as_millis() as i64));
    let issues = gitlab
        .list_confidential_issues(project_id, since.as_deref())
        .await?;
    let mut report = PollReport {
        listed: issues.len(),
        ..PollReport::default()
    };
    let mut newest = cursor
        .as_deref()
        .and_then(timefmt::parse_ms)
        .unwrap_or(i64::MIN);
    for issue in &issues {
        let seen = format!("seen:{project_id}:{}:{}", issue.iid, issue.updated_at);
        if queue.remember_delivery(&seen, SEEN_TTL).await? {
            if let Enqueued::Created(_) = queue.enqueue(project_id, issue.iid, "poll").await? {
                report.enqueued += 1;
            }
        }
        if let Some(ms) = timefmt::parse_ms(&issue.updated_at) {
            newest = newest.max(ms);
        }
    }
    if newest > i64::MIN {
        queue
            .set_cursor(&cursor_name(project_id), &timefmt::format_ms(newest))
            .await?;
    }
    tracing::debug!(
        project_id,
        listed = report.listed,
        enqueued = report.enqueued,
        "polled"
    );
    Ok(report)
}
