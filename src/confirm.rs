//! Confirm: the only stage that changes an issue, and only on a human's word.
//!
//! A maintainer replies to a suggestion with a note whose first line is
//! `sectriage confirm virtualization` (or `non-virtualization`). If the
//! author's effective access level is at least the configured minimum
//! (Maintainer by default), the configured labels are applied and an
//! internal acknowledgement is posted; otherwise the command is refused, also
//! with an acknowledgement, so it is never reconsidered. Nothing here ever
//! changes the `confidential` flag.

use std::sync::LazyLock;

use regex::Regex;

use crate::gitlab::{Client, GitLabError, Issue, Note};
use crate::kb::UseCase;

/// Labels applied on confirmation, and who may confirm.
#[derive(Debug, Clone)]
pub struct ConfirmPolicy {
    pub min_access_level: u32,
    pub virtualization_labels: Vec<String>,
    pub non_virtualization_labels: Vec<String>,
}

impl Default for ConfirmPolicy {
    fn default() -> Self {
        ConfirmPolicy {
            min_access_level: 40,
            virtualization_labels: vec!["security::triage".into()],
            non_virtualization_labels: vec!["security::not-in-scope".into()],
        }
    }
}

static COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*sectriage\s+confirm\s+(virtualization|non-virtualization|needs-judgement)\s*$",
    )
    .unwrap()
});

/// The marker of an acknowledgement, so each command is handled once.
fn ack_marker(note_id: u64) -> String {
    format!("<!-- sectriage:ack note={note_id} -->")
}

/// A confirmation command found in a note.
pub fn parse_command(body: &str) -> Option<UseCase> {
    let first = body.lines().find(|l| !l.trim().is_empty())?;
    COMMAND.captures(first)?[1].parse().ok()
}

/// What happened to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Applied {
        note_id: u64,
        use_case: UseCase,
    },
    Refused {
        note_id: u64,
        access_level: Option<u32>,
    },
}

/// Handles new confirmation commands on one issue.
///
/// # Errors
/// GitLab errors; a command is only acknowledged after its labels were applied.
pub async fn handle(
    gitlab: &Client,
    policy: &ConfirmPolicy,
    bot_user_id: u64,
    issue: &Issue,
    notes: &[Note],
) -> Result<Vec<ConfirmOutcome>, GitLabError> {
    let has_suggestion = notes
        .iter()
        .any(|n| n.author.id == bot_user_id && n.body.contains("<!-- sectriage:suggestion "));
    if !has_suggestion {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for note in notes
        .iter()
        .filter(|n| !n.system && n.author.id != bot_user_id)
    {
        let Some(use_case) = parse_command(&note.body) else {
            continue;
        };
        let marker = ack_marker(note.id);
        if notes
            .iter()
            .any(|n| n.author.id == bot_user_id && n.body.contains(&marker))
        {
            continue;
        }
        let level = gitlab
            .member_access_level(issue.project_id, note.author.id)
            .await?;
        let authorised = level.is_some_and(|l| l >= policy.min_access_level);
        let body = if authorised {
            let (add, remove) = match use_case {
                UseCase::Virtualization => (
                    &policy.virtualization_labels,
                    &policy.non_virtualization_labels,
                ),
                UseCase::NonVirtualization => (
                    &policy.non_virtualization_labels,
                    &policy.virtualization_labels,
                ),
                UseCase::NeedsJudgement => (&Vec::new(), &Vec::new()),
            };
            let add: Vec<&str> = add.iter().map(String::as_str).collect();
            let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
            if !add.is_empty() || !remove.is_empty() {
                gitlab
                    .edit_labels(issue.project_id, issue.iid, &add, &remove)
                    .await?;
            }
            out.push(ConfirmOutcome::Applied {
                note_id: note.id,
                use_case,
            });
            format!(
                "{marker}\nConfirmed by a project maintainer: {use_case} use case. Labels updated ({}). The issue stays confidential; changing that is a maintainer's decision.",
                if add.is_empty() { "none".to_string() } else { add.join(", ") }
            )
        } else {
            out.push(ConfirmOutcome::Refused {
                note_id: note.id,
                access_level: level,
            });
            format!("{marker}\nConfirmation ignored: it needs a project member with at least access level {} (Maintainer).", policy.min_access_level)
        };
        crate::publish::check_note(&body).map_err(|e| GitLabError::BadRequest {
            message: e.to_string(),
        })?;
        gitlab
            .create_internal_note(issue.project_id, issue.iid, &body)
            .await?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_must_stand_alone_on_the_first_line() {
        assert_eq!(
            parse_command("sectriage confirm virtualization"),
            Some(UseCase::Virtualization)
        );
        assert_eq!(
            parse_command("\n  SecTriage Confirm non-virtualization \nthanks"),
            Some(UseCase::NonVirtualization)
        );
        assert_eq!(
            parse_command("I would not sectriage confirm virtualization"),
            None
        );
        assert_eq!(
            parse_command("sectriage confirm virtualization please"),
            None
        );
    }
}
