//! The notes of the confirm stage: acknowledgements, publishing audits, questions for the
//! reporter. Our own sentences only; usernames come from GitLab and are written without `@`
//! (no mention) and neutralised; every note passes [`check_note`](super::check_note) before
//! it is posted.

use std::fmt::Write as _;

use super::neutralize;
use crate::confirm::Command;
use crate::kb::UseCase;
use crate::queue::DecisionOutcome;

/// A GitLab username as plain text (without `@`, so no mention) when it is only letters,
/// digits, `_` and `-`; anything else (a dot could read as a host name) is neutralised.
fn who(username: &str) -> String {
    let plain = !username.is_empty()
        && username.len() <= 60
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if plain {
        username.to_string()
    } else {
        neutralize(username, 60)
    }
}

fn class_phrase(class: UseCase) -> &'static str {
    match class {
        UseCase::Virtualization => "virtualization use case",
        UseCase::NonVirtualization => "non-virtualization use case",
        UseCase::NeedsJudgement => "needs a maintainer's judgement",
    }
}

fn via_phrase(via: crate::queue::Via) -> &'static str {
    match via {
        crate::queue::Via::Review => " on sectriage's review page",
        _ => "",
    }
}

/// The acknowledgement of a decision (reply, emoji or review-page button).
pub fn decision_ack(
    marker: &str,
    username: &str,
    via: crate::queue::Via,
    class: Option<UseCase>,
    outcome: DecisionOutcome,
    labels_added: &[String],
    publishing: bool,
) -> String {
    let mut n = format!("{marker}\n");
    match class {
        Some(class) => {
            let _ = write!(
                n,
                "Decision by {}{}: {} ({} the suggestion).",
                who(username),
                via_phrase(via),
                class_phrase(class),
                match outcome {
                    DecisionOutcome::Accepted => "accepting",
                    _ => "overriding",
                }
            );
            if labels_added.is_empty() {
                n.push_str(" No labels changed.");
            } else {
                let _ = write!(
                    n,
                    " Labels added: {}.",
                    neutralize(&labels_added.join(", "), 200)
                );
            }
            match class {
                UseCase::Virtualization => n.push_str(" Next: lightweight security triage (security-process.md, \"Triage process\"); the issue stays confidential."),
                UseCase::NonVirtualization if publishing => n.push_str(" The scrub check runs now; the issue is made public only if it is clean (security-process.md, \"Handling of disclosures\")."),
                UseCase::NonVirtualization => n.push_str(" Under security-process.md this should switch to the public bug process: scrub private data, then remove the confidential marker (sectriage does not publish: publish_on_confirm is off)."),
                UseCase::NeedsJudgement => n.push_str(" A maintainer must settle the use case; sectriage changes nothing."),
            }
        }
        None => {
            let _ = write!(
                n,
                "Suggestion rejected by {}{}: no labels changed; a maintainer must decide the use case (reply with one of the confirm commands).",
                who(username),
                via_phrase(via)
            );
        }
    }
    n.push('\n');
    n
}

/// A command from someone below the configured role.
pub fn refused(marker: &str, min_level: u32) -> String {
    format!("{marker}\nCommand ignored: deciding needs a project member with at least access level {min_level} (Reporter is 20){}.\n",
        if min_level == 20 { "" } else { ", as configured" })
}

/// A command that is close but not exact: what was understood, how to write it.
pub fn near_miss(marker: &str, understood: Option<Command>) -> String {
    match understood {
        Some(cmd) => format!(
            "{marker}\nThis looks like `{cmd}` but is not written exactly so; nothing was done. Reply with exactly that line (no leading slash), or react with an emoji on the suggestion.\n"
        ),
        None => format!(
            "{marker}\nsectriage did not understand this command; nothing was done. The replies are: `sectriage confirm virtualization`, `sectriage confirm non-virtualization`, `sectriage confirm needs-judgement`, `sectriage reject`, `sectriage publish`, `sectriage ask`, each alone on the first line.\n"
        ),
    }
}

/// The scrub check found private data: nothing was published.
pub fn publish_held_back(marker: &str, username: &str, findings: &[String]) -> String {
    let mut n = format!(
        "{marker}\nNot published: the scrub check found {} item(s) that may be private (requested by {}). The issue stays confidential.\n\n",
        findings.len(),
        who(username)
    );
    for f in findings.iter().take(50) {
        let _ = writeln!(n, "- {}", neutralize(f, 200));
    }
    if findings.len() > 50 {
        let _ = writeln!(n, "- ... and {} more", findings.len() - 50);
    }
    n.push_str("\nScrub them (edit the description or notes), then reply `sectriage publish` to run the check again.\n");
    n
}

/// The audit note after publishing.
pub fn published(marker: &str, username: &str) -> String {
    format!(
        "{marker}\nPublished: the confidential marker was removed after the non-virtualization decision by {} and a clean scrub check of the title, description and every non-internal note. GitLab confirmed the issue is no longer confidential. Internal notes stay internal.\n",
        who(username)
    )
}

/// `sectriage publish` when publishing is not allowed.
pub fn publish_refused(marker: &str, decided: Option<UseCase>, enabled: bool) -> String {
    let why = match (decided, enabled) {
        (_, false) => "publishing by sectriage is off (publish_on_confirm = false): scrub private data and remove the confidential marker by hand".to_string(),
        (Some(class), true) => format!("the issue was decided as {}; sectriage publishes only non-virtualization issues", class_phrase(class)),
        (None, true) => "no non-virtualization decision is recorded; confirm that first".to_string(),
    };
    format!("{marker}\nNot published: {why}.\n")
}

/// `sectriage ask` without questions.
pub fn nothing_to_ask(marker: &str) -> String {
    format!("{marker}\nThe suggestion lists no questions for the reporter; nothing was posted.\n")
}

/// The internal acknowledgement of `sectriage ask`.
pub fn asked(marker: &str, username: &str, n: usize) -> String {
    format!(
        "{marker}\nAt {}'s request, {n} question(s) were posted for the reporter as an ordinary comment (on a confidential issue only the reporter and project members see it).\n",
        who(username)
    )
}

/// The one kind of non-internal note sectriage posts: questions for the reporter.
pub fn questions_for_reporter(questions: &[&str]) -> String {
    let mut n = String::from("Questions from the QEMU maintainers to help triage this report:\n\n");
    for q in questions {
        let _ = writeln!(n, "- {q}");
    }
    n.push_str("\nPlease answer in a comment on this issue.\n");
    n
}

/// A new revision of an issue a maintainer already decided: the decision stands.
pub fn decision_stands(marker: &str, class: Option<UseCase>, username: &str) -> String {
    let what = match class {
        Some(c) => class_phrase(c).to_string(),
        None => "rejection of the suggestion".to_string(),
    };
    format!(
        "{marker}\nNew revision of the report; the decision ({what}) by {} stands. sectriage posts no new suggestion; reply with a confirm command to change the decision.\n",
        who(username)
    )
}

/// Why a reminder is due (the minimal-embargo clocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// Decided non-virtualization, still confidential.
    StillConfidential,
    /// No activity for a while.
    Inactive,
    /// A fix (commit or merge request) was mentioned.
    FixPosted,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::StillConfidential => "still-confidential",
            ReminderKind::Inactive => "inactive",
            ReminderKind::FixPosted => "fix-posted",
        }
    }
}

/// An internal reminder that the confidential marker should stay only as long as needed.
pub fn reminder(marker: &str, kind: ReminderKind, age_text: &str) -> String {
    let body = match kind {
        ReminderKind::StillConfidential => format!(
            "Reminder: this issue was decided as non-virtualization {age_text} ago and is still confidential. security-process.md says such disclosures should be switched to the public bug process at once: scrub private data, then remove the confidential marker (or reply `sectriage publish`)."
        ),
        ReminderKind::Inactive => format!(
            "Reminder: no activity on this confidential issue for {age_text}. security-process.md keeps the confidential marker strictly to the minimum: decide the use case, or state why it must stay confidential."
        ),
        ReminderKind::FixPosted => "Reminder: a fix (a commit or merge request) is mentioned on this confidential issue. Once it is public, the issue should be made public too (security-process.md: the confidential marker stays only as long as strictly needed).".to_string(),
    };
    format!("{marker}\n{body}\n")
}
