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

/// The note we already posted for this revision, if any.
pub fn existing_suggestion<'a>(
    notes: &'a [Note],
    bot_user_id: u64,
    project_id: u64,
    issue_iid: u64,
    revision: &str,
) -> Option<&'a Note> {
    notes.iter().find(|n| {
        n.author.id == bot_user_id
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
