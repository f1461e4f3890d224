//! Posting a suggestion to GitLab, exactly once per issue revision.
//!
//! Before posting, the issue's notes are searched for our marker with this
//! revision: a crash between "posted" and "recorded" finds the note there and
//! never yields a second one. The note goes out as internal, and the GitLab
//! client deletes it at once if GitLab dropped the flag.

use sha2::{Digest, Sha256};

use super::{check_note, NoteMarker};
use crate::gitlab::{Client, GitLabError, Note};

/// A short digest of what was triaged: the title and the description.
pub fn revision_digest(title: &str, description: &str) -> String {
    let mut h = Sha256::new();
    h.update(title.as_bytes());
    h.update([0]);
    h.update(description.as_bytes());
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The GitLab users sectriage posts as: the token's user now and every user an earlier token
/// of the same queue belonged to. A note by any of them is sectriage's own (never a
/// maintainer's reply); a note by anyone else never is, whatever markers it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotUsers {
    current: u64,
    earlier: Vec<u64>,
}

impl BotUsers {
    /// `current`, plus the users recorded before it (`current` may be among them).
    pub fn new(current: u64, recorded: impl IntoIterator<Item = u64>) -> BotUsers {
        let mut earlier: Vec<u64> = recorded.into_iter().filter(|&id| id != current).collect();
        earlier.sort_unstable();
        earlier.dedup();
        BotUsers { current, earlier }
    }

    /// The token's user now.
    pub fn current(&self) -> u64 {
        self.current
    }

    /// True for a note, emoji or action by sectriage itself.
    pub fn is_ours(&self, user_id: u64) -> bool {
        user_id == self.current || self.earlier.contains(&user_id)
    }
}

/// The note we already posted for this revision, if any.
pub fn existing_suggestion<'a>(
    notes: &'a [Note],
    bots: &BotUsers,
    project_id: u64,
    issue_iid: u64,
    revision: &str,
) -> Option<&'a Note> {
    notes.iter().find(|n| {
        bots.is_ours(n.author.id)
            && NoteMarker::parse(&n.body).is_some_and(|m| {
                m.project_id == project_id && m.issue_iid == issue_iid && m.revision == revision
            })
    })
}

/// Posts a rendered note as internal after a last safety check.
///
/// # Errors
/// [`GitLabError::BadRequest`] if the note fails [`check_note`] (nothing is
/// posted), or the client's error (including a dropped internal flag).
pub async fn post_internal(
    gitlab: &Client,
    project_id: u64,
    issue_iid: u64,
    body: &str,
) -> Result<Note, GitLabError> {
    check_note(body).map_err(|e| GitLabError::BadRequest {
        message: format!("refusing to post an unsafe note: {e}"),
    })?;
    gitlab
        .create_internal_note(project_id, issue_iid, body)
        .await
}
