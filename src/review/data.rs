//! What the review pages show, gathered from the queue database and (for titles, links,
//! notes and reminders) GitLab with the bot's token. Nothing here is logged.

use futures::stream::{self, StreamExt};

use crate::daemon::Daemon;
use crate::gitlab::{Issue, Note};
use crate::kb::UseCase;
use crate::publish::post::BotUsers;
use crate::queue::{Decision, QueueError, SuggestionRow};

/// A suggestion awaiting a decision.
pub(super) struct PendingItem {
    pub project_id: u64,
    pub iid: u64,
    /// `None` when GitLab did not answer for this issue.
    pub issue: Option<Issue>,
    pub suggestion: SuggestionRow,
    pub reminder: Option<String>,
}

impl PendingItem {
    pub fn use_case(&self) -> Option<UseCase> {
        self.suggestion.details.as_ref().map(|d| d.use_case)
    }

    pub fn confidence_rank(&self) -> u8 {
        match self
            .suggestion
            .details
            .as_ref()
            .map(|d| d.confidence.as_str())
        {
            Some("high") => 3,
            Some("medium") => 2,
            Some("low") => 1,
            _ => 0,
        }
    }
}

/// The reminder kind sectriage last posted on the issue, from its marker.
pub(super) fn last_reminder(notes: &[Note], bots: &BotUsers) -> Option<String> {
    notes
        .iter()
        .filter(|n| bots.is_ours(n.author.id))
        .filter_map(|n| {
            let rest = n.body.split("<!-- sectriage:reminder kind=").nth(1)?;
            let kind: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (!kind.is_empty()).then_some((n.id, kind))
        })
        .max_by_key(|(id, _)| *id)
        .map(|(_, k)| k)
}

/// How long the Pending list reuses what GitLab said of an issue (its title and
/// the last reminder): a list does not need them fresher, and without it every
/// view costs two API calls per pending issue. The issue page and every
/// decision read GitLab afresh.
pub(super) const LIST_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Issues the list cache holds at most; beyond that, expired entries go first,
/// then everything.
const LIST_CACHE_CAPACITY: usize = 5_000;

/// One issue's entry: when it was fetched, the issue, its last reminder kind.
type ListEntry = (std::time::Instant, Issue, Option<String>);

/// What the Pending list last fetched per issue (project, iid). Only answers
/// GitLab gave are kept, so an error is retried on the next view.
#[derive(Default)]
pub(super) struct ListCache {
    entries: std::sync::Mutex<std::collections::HashMap<(u64, u64), ListEntry>>,
}

impl ListCache {
    fn get(&self, key: (u64, u64)) -> Option<(Issue, Option<String>)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&key)
            .filter(|(at, _, _)| at.elapsed() < LIST_CACHE_TTL)
            .map(|(_, issue, reminder)| (issue.clone(), reminder.clone()))
    }

    fn put(&self, key: (u64, u64), issue: Issue, reminder: Option<String>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= LIST_CACHE_CAPACITY {
            entries.retain(|_, (at, _, _)| at.elapsed() < LIST_CACHE_TTL);
            if entries.len() >= LIST_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (std::time::Instant::now(), issue, reminder));
    }
}

/// Undecided suggestions in `projects`, with what GitLab says of each issue.
pub(super) async fn pending(
    daemon: &Daemon,
    cache: &ListCache,
    projects: &[u64],
) -> Result<Vec<PendingItem>, QueueError> {
    // Awaiting a decision: no decision yet, or the latest one rejected the suggestion
    // without settling the class (a maintainer must still decide).
    let decisions = daemon.queue.decisions(None).await?;
    let settled: std::collections::HashSet<(u64, u64)> =
        crate::confirm::stats::latest_per_issue(&decisions)
            .into_iter()
            .filter(|d| d.final_class.is_some())
            .map(|d| (d.project_id, d.issue_iid))
            .collect();
    let mut rows = Vec::new();
    for (p, iid) in daemon.queue.tracked_issues(0).await? {
        if !projects.contains(&p) || settled.contains(&(p, iid)) {
            continue;
        }
        if let Some(s) = daemon.queue.latest_suggestion(p, iid).await? {
            // A note that only says a decision stands, or that triage failed, has no class.
            if s.details.is_some() {
                rows.push((p, iid, s));
            }
        }
    }
    let bot = daemon.bot_users();
    let items = stream::iter(rows)
        .map(|(p, iid, suggestion)| async move {
            let (issue, reminder) = match cache.get((p, iid)) {
                Some((issue, reminder)) => (Some(issue), reminder),
                None => {
                    let issue = daemon.gitlab.issue(p, iid).await.ok();
                    let notes = match (bot, &issue) {
                        (Some(_), Some(_)) => daemon.gitlab.notes(p, iid).await.ok(),
                        _ => None,
                    };
                    let reminder = notes
                        .as_deref()
                        .zip(bot)
                        .and_then(|(n, bot)| last_reminder(n, bot));
                    if let (Some(i), Some(_)) = (&issue, &notes) {
                        cache.put((p, iid), i.clone(), reminder.clone());
                    }
                    (issue, reminder)
                }
            };
            PendingItem {
                project_id: p,
                iid,
                issue,
                suggestion,
                reminder,
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    Ok(items)
}

/// One issue: GitLab's view, our notes, the suggestion history and the decisions.
pub(super) struct IssueView {
    pub issue: Issue,
    /// The latest suggestion note as posted.
    pub note: Option<Note>,
    pub history: Vec<SuggestionRow>,
    pub decisions: Vec<Decision>,
    pub reminder: Option<String>,
}

pub(super) async fn issue(
    daemon: &Daemon,
    project_id: u64,
    iid: u64,
) -> Result<Option<IssueView>, String> {
    let history = daemon
        .queue
        .suggestions_of(project_id, iid)
        .await
        .map_err(|e| e.to_string())?;
    if history.is_empty() {
        return Ok(None);
    }
    let issue = daemon
        .gitlab
        .issue(project_id, iid)
        .await
        .map_err(|e| format!("GitLab did not return the issue: {e}"))?;
    let notes = daemon
        .gitlab
        .notes(project_id, iid)
        .await
        .map_err(|e| format!("GitLab did not return the notes: {e}"))?;
    let bot = daemon.bot_users();
    let note = bot
        .and_then(|b| crate::confirm::latest_suggestion(&notes, b))
        .map(|(n, _)| n.clone());
    let reminder = bot.and_then(|b| last_reminder(&notes, b));
    let decisions = daemon
        .queue
        .decisions(Some((project_id, iid)))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(IssueView {
        issue,
        note,
        history,
        decisions,
        reminder,
    }))
}

/// Declared-tool share per ISO week of the suggestions' posting: `(week, share, n)`.
pub(super) async fn declared_share_by_week(
    daemon: &Daemon,
    projects: &[u64],
) -> Result<Vec<(String, f64, usize)>, QueueError> {
    let mut weeks: std::collections::BTreeMap<(i32, u8), (usize, usize)> = Default::default();
    for (p, iid) in daemon.queue.tracked_issues(0).await? {
        if !projects.contains(&p) {
            continue;
        }
        for s in daemon.queue.suggestions_of(p, iid).await? {
            let Some(summary) = s.details.as_ref().and_then(|d| d.summary.as_ref()) else {
                continue;
            };
            let Ok(at) = time::OffsetDateTime::from_unix_timestamp(s.posted_at_ms / 1000) else {
                continue;
            };
            let (year, week, _) = at.to_iso_week_date();
            let slot = weeks.entry((year, week)).or_default();
            slot.1 += 1;
            if !summary.declared_tools.is_empty() {
                slot.0 += 1;
            }
        }
    }
    Ok(weeks
        .into_iter()
        .map(|((y, w), (declared, all))| {
            (
                format!("{y}-W{w:02}"),
                declared as f64 / all.max(1) as f64,
                all,
            )
        })
        .collect())
}
