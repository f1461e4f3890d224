//! Confirm: the only stage that changes an issue, and only on a human's word.
//!
//! QEMU hands disclosures to subsystem maintainers with the Reporter role
//! (`security-process.md`, "Handling of disclosures"), so by default any member
//! at access level 20 or above may decide, optionally narrowed to an allow-list
//! of usernames. A member decides by replying to a suggestion (first non-empty
//! line: `sectriage confirm virtualization|non-virtualization|needs-judgement`,
//! `sectriage reject`, `sectriage publish`, `sectriage ask`) or with an award
//! emoji on the suggestion note (`thumbsup` confirms what it suggests,
//! `thumbsdown` rejects it).
//!
//! # Invariants
//! - Only authorised members count; the bot's own notes and emoji never do.
//! - Each reply or emoji is handled once: its acknowledgement carries a marker
//!   naming it, and the decision is recorded in the queue database keyed by it.
//! - Labels are added and removed exactly as configured; a label sectriage added
//!   and a human removed is never added again.
//! - The confidential flag is changed only by [`publish`]: after an authorised
//!   non-virtualization decision, with `publish_on_confirm` (or `sectriage
//!   publish`), and a clean scrub check; the reply must say `confidential: false`.
//! - Every note posted here is internal, except the questions an authorised
//!   member asked the bot to put to the reporter (`sectriage ask`).

pub mod command;
pub mod stats;

use crate::gitlab::{Award, Client, GitLabError, Issue, Note};
use crate::kb::UseCase;
pub use crate::publish::post::BotUsers;
use crate::publish::scrub::{self, Place};
use crate::publish::{check_note, notes, NoteMarker};
use crate::queue::{Decision, DecisionOutcome, Queue, QueueError, Via};
pub use command::{Command, Parsed};

/// GitLab's Reporter access level: QEMU's subsystem maintainers hold it.
pub const REPORTER: u32 = 20;

/// Labels applied on confirmation, who may confirm, and whether to publish.
#[derive(Debug, Clone)]
pub struct ConfirmPolicy {
    pub min_access_level: u32,
    /// When not empty, only these usernames may decide (and still only at the level).
    pub allowed_users: Vec<String>,
    pub virtualization_labels: Vec<String>,
    pub non_virtualization_labels: Vec<String>,
    /// Publish a confirmed non-virtualization issue after a clean scrub check.
    pub publish_on_confirm: bool,
}

impl Default for ConfirmPolicy {
    fn default() -> Self {
        ConfirmPolicy {
            min_access_level: REPORTER,
            allowed_users: Vec::new(),
            virtualization_labels: vec!["cve::required".into()],
            non_virtualization_labels: Vec::new(),
            publish_on_confirm: false,
        }
    }
}

impl ConfirmPolicy {
    fn labels_for(&self, class: UseCase) -> (&[String], &[String]) {
        match class {
            UseCase::Virtualization => {
                (&self.virtualization_labels, &self.non_virtualization_labels)
            }
            UseCase::NonVirtualization => {
                (&self.non_virtualization_labels, &self.virtualization_labels)
            }
            UseCase::NeedsJudgement => (&[], &[]),
        }
    }

    /// The class a label set already decides (labels a human may have added).
    pub fn class_of_labels(&self, labels: &[String]) -> Option<UseCase> {
        let has = |set: &[String]| !set.is_empty() && set.iter().all(|l| labels.contains(l));
        match (
            has(&self.virtualization_labels),
            has(&self.non_virtualization_labels),
        ) {
            (true, false) => Some(UseCase::Virtualization),
            (false, true) => Some(UseCase::NonVirtualization),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(transparent)]
    GitLab(#[from] GitLabError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("an acknowledgement failed its safety check: {0}")]
    UnsafeNote(#[from] crate::publish::UnsafeNote),
    #[error("posting is stopped by the {0} alarm: fix the cause, then `sectriage alarm clear`")]
    Alarm(String),
}

/// What happened to one reply or emoji.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Decided {
        source_id: u64,
        via: Via,
        final_class: Option<UseCase>,
        outcome: DecisionOutcome,
        engine_version: Option<String>,
    },
    Published {
        source_id: u64,
    },
    HeldBack {
        source_id: u64,
        findings: usize,
    },
    Asked {
        source_id: u64,
    },
    Refused {
        source_id: u64,
        access_level: Option<u32>,
    },
    Explained {
        source_id: u64,
    },
}

impl ConfirmOutcome {
    /// Published when the scrub check found nothing, else held back.
    fn of_publish(source_id: u64, findings: usize) -> ConfirmOutcome {
        if findings == 0 {
            ConfirmOutcome::Published { source_id }
        } else {
            ConfirmOutcome::HeldBack {
                source_id,
                findings,
            }
        }
    }
}

/// Who acted, as GitLab says.
struct Actor<'a> {
    id: u64,
    username: &'a str,
}

/// What [`handle`] needs.
pub struct Context<'a> {
    pub gitlab: &'a Client,
    pub queue: &'a Queue,
    pub policy: &'a ConfirmPolicy,
    /// Who sectriage posts as (see [`BotUsers`]).
    pub bots: &'a BotUsers,
}

/// Remembered in the queue while publishing an issue is under way (see [`Context::publish`]);
/// the daemon forgets it once the job that published the issue has posted everything.
pub fn publishing_key(project_id: u64, iid: u64) -> String {
    format!("publishing:{project_id}:{iid}")
}

/// Why an issue must not be published yet: private data in its title, description or a
/// non-internal note, a comment GitLab counts but did not list, an edit history.
fn pre_publish_findings(issue: &Issue, notes: &[Note]) -> Vec<String> {
    let description = issue.description.clone().unwrap_or_default();
    let mut parts: Vec<(Place, &str)> = vec![
        (Place::Title, issue.title.as_str()),
        (Place::Description, description.as_str()),
    ];
    // System notes become public too ("changed title from ..." quotes the old title).
    for n in notes.iter().filter(|n| !n.internal) {
        parts.push((Place::Note(n.id), n.body.as_str()));
    }
    let mut findings: Vec<String> = scrub::scrub(&parts).iter().map(|f| f.describe()).collect();
    // GitLab's notes list can lag behind a stored note (replicas); its count of user
    // notes does not. A list shorter than the count hides a comment from the check.
    let listed = notes.iter().filter(|n| !n.system).count() as u64;
    if let Some(counted) = issue.user_notes_count.filter(|&c| c > listed) {
        findings.push(format!("GitLab counts {counted} comments but listed {listed}: a recent comment could not be checked; reply `sectriage publish` again in a minute"));
    }
    // An edited title or description keeps earlier versions in GitLab's history, which
    // becomes public with the issue; sectriage can neither check nor remove them.
    let edited = notes.iter().any(|n| {
        n.system
            && (n.body.starts_with("changed the description")
                || n.body.starts_with("changed title"))
    });
    if edited {
        findings.push("the title or description was edited: GitLab keeps the earlier versions in the issue's history, which becomes public too; check or delete those versions, then publish by hand".into());
    }
    findings
}

fn ack_marker(kind: &str, id: u64) -> String {
    format!("<!-- sectriage:ack {kind}={id} -->")
}

/// The queue key remembering that an acknowledgement with `marker` was posted on the issue:
/// GitLab's notes list can lag behind a note it stored, and the reply must not be handled twice.
fn ack_key(issue: &Issue, marker: &str) -> String {
    format!("acked:{}:{}:{marker}", issue.project_id, issue.iid)
}

impl Context<'_> {
    async fn acknowledged(
        &self,
        issue: &Issue,
        notes: &[Note],
        marker: &str,
    ) -> Result<bool, QueueError> {
        let listed = notes
            .iter()
            .any(|n| self.bots.is_ours(n.author.id) && n.body.contains(marker));
        Ok(listed || self.queue.is_remembered(&ack_key(issue, marker)).await?)
    }
}

/// The latest suggestion note we posted on the issue, and what it suggests.
pub fn latest_suggestion<'n>(notes: &'n [Note], bots: &BotUsers) -> Option<(&'n Note, NoteMarker)> {
    notes
        .iter()
        .filter(|n| bots.is_ours(n.author.id))
        .filter_map(|n| NoteMarker::parse(&n.body).map(|m| (n, m)))
        .max_by_key(|(n, _)| n.id)
}

impl Context<'_> {
    async fn authorised(
        &self,
        project_id: u64,
        actor: &Actor<'_>,
    ) -> Result<(bool, Option<u32>), GitLabError> {
        if self.bots.is_ours(actor.id) {
            return Ok((false, None));
        }
        if !self.policy.allowed_users.is_empty()
            && !self
                .policy
                .allowed_users
                .iter()
                .any(|u| u.eq_ignore_ascii_case(actor.username))
        {
            return Ok((false, None));
        }
        let level = self
            .gitlab
            .member_access_level(project_id, actor.id)
            .await?;
        Ok((
            level.is_some_and(|l| l >= self.policy.min_access_level),
            level,
        ))
    }

    async fn post(&self, issue: &Issue, body: &str) -> Result<(), ConfirmError> {
        check_note(body)?;
        // Another worker or daemon may have raised an alarm since this job started.
        if let Some(alarm) = self.queue.alarms().await?.first() {
            return Err(ConfirmError::Alarm(alarm.name.clone()));
        }
        self.gitlab
            .create_internal_note(issue.project_id, issue.iid, body)
            .await?;
        if let Some(marker) = body
            .lines()
            .next()
            .filter(|l| l.starts_with("<!-- sectriage:ack "))
        {
            if let Err(e) = self
                .queue
                .remember_delivery(
                    &ack_key(issue, marker),
                    std::time::Duration::from_secs(365 * 24 * 3600),
                )
                .await
            {
                tracing::warn!(error = %e, "acknowledgement posted but not remembered locally");
            }
        }
        Ok(())
    }

    /// Applies a class's labels, skipping any a human removed after sectriage added it.
    async fn apply_labels(
        &self,
        issue: &Issue,
        class: UseCase,
    ) -> Result<Vec<String>, ConfirmError> {
        let (add, remove) = self.policy.labels_for(class);
        // The labels as they are now: an earlier decision in this job may have changed them.
        let issue = &self.gitlab.issue(issue.project_id, issue.iid).await?;
        let applied_before = self
            .queue
            .applied_labels(issue.project_id, issue.iid)
            .await?;
        let add: Vec<&str> = add
            .iter()
            .map(String::as_str)
            .filter(|l| {
                let removed_by_a_human =
                    applied_before.iter().any(|a| a == l) && !issue.labels.iter().any(|i| i == l);
                !removed_by_a_human
            })
            .collect();
        let remove: Vec<&str> = remove
            .iter()
            .map(String::as_str)
            .filter(|l| issue.labels.iter().any(|i| i == l))
            .collect();
        if !add.is_empty() || !remove.is_empty() {
            self.gitlab
                .edit_labels(issue.project_id, issue.iid, &add, &remove)
                .await?;
            self.queue
                .record_applied_labels(issue.project_id, issue.iid, &add)
                .await?;
            // A label sectriage removed itself is not "removed by a human" later.
            self.queue
                .forget_applied_labels(issue.project_id, issue.iid, &remove)
                .await?;
        }
        Ok(add.iter().map(|s| s.to_string()).collect())
    }

    /// Runs the scrub check and, when clean, publishes the issue; either way posts the audit
    /// or the findings as an internal note. Returns the number of findings.
    ///
    /// From just before the change until the job ends, [`publishing_key`] is remembered: a
    /// retry after a failure past that point (the audit note, the acknowledgement) finds the
    /// issue public and resumes here instead of skipping it, so the audit trail is not lost.
    async fn publish(
        &self,
        issue: &Issue,
        actor: &Actor<'_>,
        marker: &str,
    ) -> Result<usize, ConfirmError> {
        // What the job read at its start can be minutes old: a reporter's comment posted
        // since must be checked too, so the issue and its notes are read afresh.
        let fresh = self.gitlab.issue(issue.project_id, issue.iid).await?;
        let notes = self.gitlab.notes(issue.project_id, issue.iid).await?;
        let issue = &fresh;
        let notes = notes.as_slice();
        let key = publishing_key(issue.project_id, issue.iid);
        let resuming = !issue.confidential && self.queue.is_remembered(&key).await?;
        let checked: std::collections::HashSet<u64> = if resuming {
            // An earlier attempt published the issue and then failed: only what is public
            // now matters, so every non-internal note is checked again below.
            std::collections::HashSet::new()
        } else {
            let findings = pre_publish_findings(issue, notes);
            if !findings.is_empty() {
                return self.hold_back(issue, actor, marker, findings).await;
            }
            self.queue
                .remember_delivery(&key, std::time::Duration::from_secs(30 * 24 * 3600))
                .await?;
            let published = self
                .gitlab
                .publish_issue(issue.project_id, issue.iid)
                .await?;
            tracing::info!(
                project_id = issue.project_id,
                issue_iid = issue.iid,
                confidential = published.confidential,
                "issue published after a confirmed non-virtualization decision and a clean scrub check"
            );
            notes.iter().map(|n| n.id).collect()
        };
        // A comment that arrived between the check and the change is public now: read the
        // notes once more and, if a new one holds private data, make the issue confidential
        // again before anything else.
        let after = self.gitlab.notes(issue.project_id, issue.iid).await?;
        let late: Vec<(Place, &str)> = after
            .iter()
            .filter(|n| !n.internal && !checked.contains(&n.id))
            .map(|n| (Place::Note(n.id), n.body.as_str()))
            .collect();
        let late_findings = scrub::scrub(&late);
        if !late_findings.is_empty() {
            self.gitlab.hide_issue(issue.project_id, issue.iid).await?;
            tracing::warn!(
                project_id = issue.project_id,
                issue_iid = issue.iid,
                n_findings = late_findings.len(),
                "a comment with private data arrived while the issue was published; made it confidential again"
            );
            let mut list: Vec<String> = late_findings.iter().map(|f| f.describe()).collect();
            list.push("this comment arrived while the issue was being published: it was public for a moment, and the issue is confidential again".into());
            return self.hold_back(issue, actor, marker, list).await;
        }
        if !(resuming && self.acknowledged(issue, &after, marker).await?) {
            self.post(issue, &notes::published(marker, actor.username))
                .await?;
        }
        Ok(0)
    }

    /// Posts the findings that keep the issue confidential; returns how many there are.
    async fn hold_back(
        &self,
        issue: &Issue,
        actor: &Actor<'_>,
        marker: &str,
        findings: Vec<String>,
    ) -> Result<usize, ConfirmError> {
        self.post(
            issue,
            &notes::publish_held_back(marker, actor.username, &findings),
        )
        .await?;
        Ok(findings.len())
    }

    /// The latest decision with a class (for `sectriage publish`).
    async fn decided_class(&self, issue: &Issue) -> Result<Option<UseCase>, QueueError> {
        Ok(self
            .queue
            .decisions(Some((issue.project_id, issue.iid)))
            .await?
            .last()
            // The very latest decision stands (a rejection cancels a confirmation); labels
            // never authorise publishing, since who set them is unknown.
            .filter(|d| d.via != Via::Labels)
            .and_then(|d| d.final_class))
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        issue: &Issue,
        suggestion: Option<&NoteMarker>,
        actor: &Actor<'_>,
        via: Via,
        source_id: u64,
        final_class: Option<UseCase>,
        marker: &str,
    ) -> Result<Vec<ConfirmOutcome>, ConfirmError> {
        let mut out = Vec::new();
        let latest = self
            .queue
            .latest_suggestion(issue.project_id, issue.iid)
            .await?;
        let suggested = suggestion.and_then(|m| m.suggested).or_else(|| {
            latest
                .as_ref()
                .and_then(|r| r.details.as_ref().map(|d| d.use_case))
        });
        let outcome = DecisionOutcome::of(suggested, final_class);
        let labels = match final_class {
            Some(class) => self.apply_labels(issue, class).await?,
            None => Vec::new(),
        };
        let details = latest.as_ref().and_then(|r| r.details.clone());
        self.queue
            .record_decision(&Decision {
                project_id: issue.project_id,
                issue_iid: issue.iid,
                via,
                source_id,
                revision: suggestion.map(|m| m.revision.clone()),
                suggested,
                confidence: details.as_ref().map(|d| d.confidence.clone()),
                engine_version: details.as_ref().map(|d| d.engine_version.clone()),
                final_class,
                outcome,
                user_id: actor.id,
                username: actor.username.to_string(),
                suggested_at_ms: latest.as_ref().map(|r| r.posted_at_ms),
                decided_at_ms: crate::queue::now_ms(),
            })
            .await?;
        tracing::info!(project_id = issue.project_id, issue_iid = issue.iid, via = via.as_str(), outcome = outcome.as_str(), final_class = ?final_class, "maintainer decision recorded");
        out.push(ConfirmOutcome::Decided {
            source_id,
            via,
            final_class,
            outcome,
            engine_version: details.as_ref().map(|d| d.engine_version.clone()),
        });
        let publishing =
            final_class == Some(UseCase::NonVirtualization) && self.policy.publish_on_confirm;
        if publishing {
            let findings = self
                .publish(issue, actor, &ack_marker("publish-of", source_id))
                .await?;
            out.push(ConfirmOutcome::of_publish(source_id, findings));
        }
        // The acknowledgement comes last: if publishing failed, the reply is not yet marked
        // handled and the retry tries again (labels and the decision row are idempotent).
        self.post(
            issue,
            &notes::decision_ack(
                marker,
                actor.username,
                via,
                final_class,
                outcome,
                &labels,
                publishing,
            ),
        )
        .await?;
        Ok(out)
    }
}

/// Handles new replies and emoji on one issue.
///
/// # Errors
/// GitLab or queue errors; a reply or emoji is acknowledged only after what it asked for was
/// done, so a failure is retried with the job.
pub async fn handle(
    ctx: &Context<'_>,
    issue: &Issue,
    notes: &[Note],
) -> Result<Vec<ConfirmOutcome>, ConfirmError> {
    let bots = ctx.bots;
    let Some((suggestion_note, suggestion)) = latest_suggestion(notes, bots) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();

    // Replies, oldest first.
    for note in notes
        .iter()
        .filter(|n| !n.system && !bots.is_ours(n.author.id))
    {
        let parsed = command::parse(&note.body);
        if parsed == Parsed::Other {
            continue;
        }
        let marker = ack_marker("note", note.id);
        if ctx.acknowledged(issue, notes, &marker).await? {
            continue;
        }
        let actor = Actor {
            id: note.author.id,
            username: &note.author.username,
        };
        let (ok, level) = ctx.authorised(issue.project_id, &actor).await?;
        if !ok {
            // Near misses from people who may not decide get no answer.
            if let Parsed::Command(_) = parsed {
                ctx.post(issue, &notes::refused(&marker, ctx.policy.min_access_level))
                    .await?;
                out.push(ConfirmOutcome::Refused {
                    source_id: note.id,
                    access_level: level,
                });
            }
            continue;
        }
        match parsed {
            Parsed::Other => {}
            Parsed::NearMiss(understood) => {
                ctx.post(issue, &notes::near_miss(&marker, understood))
                    .await?;
                out.push(ConfirmOutcome::Explained { source_id: note.id });
            }
            Parsed::Command(cmd @ (Command::Confirm(_) | Command::Reject)) => {
                let final_class = match cmd {
                    Command::Confirm(class) => Some(class),
                    _ => None,
                };
                out.extend(
                    ctx.decide(
                        issue,
                        Some(&suggestion),
                        &actor,
                        Via::Reply,
                        note.id,
                        final_class,
                        &marker,
                    )
                    .await?,
                );
            }
            Parsed::Command(Command::Publish) => {
                let decided = ctx.decided_class(issue).await?;
                if decided == Some(UseCase::NonVirtualization) && ctx.policy.publish_on_confirm {
                    let findings = ctx.publish(issue, &actor, &marker).await?;
                    out.push(ConfirmOutcome::of_publish(note.id, findings));
                } else {
                    ctx.post(
                        issue,
                        &notes::publish_refused(&marker, decided, ctx.policy.publish_on_confirm),
                    )
                    .await?;
                    out.push(ConfirmOutcome::Explained { source_id: note.id });
                }
            }
            Parsed::Command(Command::Ask) => {
                let questions: Vec<String> = ctx
                    .queue
                    .latest_suggestion(issue.project_id, issue.iid)
                    .await?
                    .and_then(|r| r.details)
                    .map(|d| d.questions)
                    .unwrap_or_default();
                let texts: Vec<&'static str> = questions
                    .iter()
                    .filter_map(|q| crate::triage::decide::Question::from_code(q))
                    .map(|q| q.text())
                    .collect();
                if texts.is_empty() {
                    ctx.post(issue, &notes::nothing_to_ask(&marker)).await?;
                    out.push(ConfirmOutcome::Explained { source_id: note.id });
                } else {
                    // The marker lets a retry see that the questions went out, even
                    // when the delivery record below was never written (a crash).
                    let ask_marker = format!("<!-- sectriage:ask reply={} -->", note.id);
                    let body = format!("{ask_marker}\n{}", notes::questions_for_reporter(&texts));
                    check_note(&body)?;
                    let latest = ctx.gitlab.issue(issue.project_id, issue.iid).await?;
                    if !latest.confidential {
                        tracing::info!(project_id = issue.project_id, issue_iid = issue.iid, "issue became public; questions posted all the same (they hold no report text)");
                    }
                    // Once per reply: recorded only once GitLab has stored the note (a
                    // failed POST is retried with the job, never reported as sent), and
                    // before posting, the delivery record and the marker in the issue's
                    // notes are both checked, so a retry does not post the questions twice.
                    let key = format!("ask:{}:{}:{}", issue.project_id, issue.iid, note.id);
                    let already = ctx.queue.is_remembered(&key).await?
                        || notes
                            .iter()
                            .any(|n| bots.is_ours(n.author.id) && n.body.contains(&ask_marker));
                    if !already {
                        if let Some(alarm) = ctx.queue.alarms().await?.first() {
                            return Err(ConfirmError::Alarm(alarm.name.clone()));
                        }
                        ctx.gitlab
                            .create_note_for_reporter(issue.project_id, issue.iid, &body)
                            .await?;
                        ctx.queue
                            .remember_delivery(
                                &key,
                                std::time::Duration::from_secs(365 * 24 * 3600),
                            )
                            .await?;
                    }
                    ctx.post(issue, &notes::asked(&marker, actor.username, texts.len()))
                        .await?;
                    out.push(ConfirmOutcome::Asked { source_id: note.id });
                }
            }
        }
    }

    // Emoji on the latest suggestion note.
    let awards: Vec<Award> = ctx
        .gitlab
        .note_awards(issue.project_id, issue.iid, suggestion_note.id)
        .await?;
    for award in awards.iter().filter(|a| !bots.is_ours(a.user.id)) {
        let final_class = match award.name.as_str() {
            "thumbsup" => match suggestion.suggested {
                Some(class) => Some(class),
                None => continue,
            },
            "thumbsdown" => None,
            _ => continue,
        };
        let marker = ack_marker("award", award.id);
        if ctx.acknowledged(issue, notes, &marker).await? {
            continue;
        }
        let actor = Actor {
            id: award.user.id,
            username: &award.user.username,
        };
        if !ctx.authorised(issue.project_id, &actor).await?.0 {
            continue;
        }
        out.extend(
            ctx.decide(
                issue,
                Some(&suggestion),
                &actor,
                Via::Emoji,
                award.id,
                final_class,
                &marker,
            )
            .await?,
        );
    }
    Ok(out)
}

/// Review actions being carried out in this process.
static IN_FLIGHT: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

struct InFlight(String);

impl InFlight {
    fn take(key: String) -> Option<InFlight> {
        let mut set = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(key.clone()).then_some(InFlight(key))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// What a review-page button did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Decided (and, for non-virtualization with `publish_on_confirm`, published or held back).
    Done(Vec<ConfirmOutcome>),
    /// This form was submitted before: nothing was done again.
    AlreadyDone,
    /// sectriage has posted no suggestion on the issue.
    NoSuggestion,
    /// The member may not decide (access level, allow-list).
    Refused { access_level: Option<u32> },
}

/// A decision from the review page: the same authorisation, labels, decision record,
/// publish rules and internal audit note as a reply. `action_id` comes from the form, so a
/// form submitted twice decides once.
///
/// # Errors
/// GitLab or queue errors; the alarm.
pub async fn decide_from_review(
    ctx: &Context<'_>,
    project_id: u64,
    issue_iid: u64,
    member: (u64, &str),
    final_class: Option<UseCase>,
    action_id: u64,
) -> Result<ReviewOutcome, ConfirmError> {
    let issue = ctx.gitlab.issue(project_id, issue_iid).await?;
    let notes = ctx.gitlab.notes(project_id, issue_iid).await?;
    let Some((_, suggestion)) = latest_suggestion(&notes, ctx.bots) else {
        return Ok(ReviewOutcome::NoSuggestion);
    };
    let actor = Actor {
        id: member.0,
        username: member.1,
    };
    let (ok, level) = ctx.authorised(project_id, &actor).await?;
    if !ok {
        return Ok(ReviewOutcome::Refused {
            access_level: level,
        });
    }
    let marker = ack_marker("review", action_id);
    if ctx.acknowledged(&issue, &notes, &marker).await? {
        return Ok(ReviewOutcome::AlreadyDone);
    }
    // Two submissions of one form racing each other in this process decide once; a failed
    // one leaves nothing behind, so its retry finishes the work (the decision row and the
    // labels are idempotent, and the audit note comes last).
    let key = format!("{project_id}:{issue_iid}:{action_id}");
    let Some(_guard) = InFlight::take(key) else {
        return Ok(ReviewOutcome::AlreadyDone);
    };
    let out = ctx
        .decide(
            &issue,
            Some(&suggestion),
            &actor,
            Via::Review,
            action_id,
            final_class,
            &marker,
        )
        .await?;
    Ok(ReviewOutcome::Done(out))
}

/// A decision a human made without sectriage: configured labels present that sectriage
/// never added. Recorded once (via `labels`), so later revisions do not contradict it.
///
/// # Errors
/// Queue errors.
pub async fn record_label_decision(
    queue: &Queue,
    policy: &ConfirmPolicy,
    issue: &Issue,
) -> Result<Option<UseCase>, QueueError> {
    let Some(class) = policy.class_of_labels(&issue.labels) else {
        return Ok(None);
    };
    // Labels present before sectriage's first suggestion do not count: a Guest may set
    // labels when filing an issue, and that is the reporter's wish, not a maintainer's call.
    if queue
        .latest_suggestion(issue.project_id, issue.iid)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let ours = queue.applied_labels(issue.project_id, issue.iid).await?;
    let (labels, _) = policy.labels_for(class);
    if labels.iter().all(|l| ours.contains(l)) {
        return Ok(None);
    }
    let latest = queue.latest_suggestion(issue.project_id, issue.iid).await?;
    let details = latest.as_ref().and_then(|r| r.details.clone());
    let suggested = details.as_ref().map(|d| d.use_case);
    queue
        .record_decision(&Decision {
            project_id: issue.project_id,
            issue_iid: issue.iid,
            via: Via::Labels,
            source_id: 0,
            revision: latest.as_ref().map(|r| r.revision.clone()),
            suggested,
            confidence: details.as_ref().map(|d| d.confidence.clone()),
            engine_version: details.as_ref().map(|d| d.engine_version.clone()),
            final_class: Some(class),
            outcome: DecisionOutcome::of(suggested, Some(class)),
            user_id: 0,
            username: "a member (labels set by hand)".into(),
            suggested_at_ms: latest.as_ref().map(|r| r.posted_at_ms),
            decided_at_ms: crate::queue::now_ms(),
        })
        .await?;
    Ok(Some(class))
}
