//! Suggestion details, maintainers' decisions and the labels sectriage applied.

use super::{Pool, Queue};

use crate::queue::error::{db_err, from_db, to_db};
use crate::queue::{
    now_ms, Decision, DecisionOutcome, QueueError, SuggestionDetails, SuggestionRow, Via,
};

const SUGGESTION_COLUMNS: &str =
    "revision, note_id, posted_at_ms, use_case, confidence, engine_version, questions, summary";

const LATEST_SUGGESTION: &str = "SELECT revision, note_id, posted_at_ms, use_case, confidence,
    engine_version, questions, summary FROM suggestions WHERE project_id = $1 AND issue_iid = $2
    ORDER BY posted_at_ms DESC LIMIT 1";

const RECORD_DECISION: &str = "INSERT INTO decisions
    (project_id, issue_iid, via, source_id, revision, suggested, confidence, engine_version,
     final_class, outcome, user_id, username, suggested_at_ms, decided_at_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
    ON CONFLICT (project_id, issue_iid, via, source_id) DO NOTHING";

const DECISION_COLUMNS: &str = "project_id, issue_iid, via, source_id, revision, suggested,
    confidence, engine_version, final_class, outcome, user_id, username, suggested_at_ms,
    decided_at_ms";

const UNDECIDED: &str = "SELECT DISTINCT s.project_id, s.issue_iid FROM suggestions s
    WHERE s.posted_at_ms >= $1 AND NOT EXISTS (
        SELECT 1 FROM decisions d
        WHERE d.project_id = s.project_id AND d.issue_iid = s.issue_iid)
    ORDER BY s.project_id, s.issue_iid";

const RECORD_FINGERPRINT: &str =
    "INSERT INTO fingerprints (project_id, issue_iid, fingerprint, updated_at_ms)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (project_id, issue_iid) DO UPDATE
    SET fingerprint = excluded.fingerprint, updated_at_ms = excluded.updated_at_ms";

const FINGERPRINTS: &str = "SELECT project_id, issue_iid, fingerprint FROM fingerprints
    WHERE updated_at_ms >= $1 ORDER BY project_id, issue_iid";

const TRACKED: &str = "SELECT DISTINCT project_id, issue_iid FROM suggestions
    WHERE posted_at_ms >= $1 ORDER BY project_id, issue_iid";

const RECORD_LABEL: &str =
    "INSERT INTO applied_labels (project_id, issue_iid, label, applied_at_ms)
    VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, issue_iid, label) DO NOTHING";

/// Rows recorded up to now (`$4`: [`Queue::per_label`] binds the time for every statement).
const FORGET_LABEL: &str = "DELETE FROM applied_labels
    WHERE project_id = $1 AND issue_iid = $2 AND label = $3 AND applied_at_ms <= $4";

const APPLIED_LABELS: &str =
    "SELECT label FROM applied_labels WHERE project_id = $1 AND issue_iid = $2 ORDER BY label";

type DecisionTuple = (
    i64,
    i64,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
    Option<i64>,
    i64,
);

fn corrupt(detail: String) -> QueueError {
    QueueError::Corrupt { detail }
}

fn decision_from(t: DecisionTuple) -> Result<Decision, QueueError> {
    let class = |s: Option<String>| -> Result<Option<crate::kb::UseCase>, QueueError> {
        s.map(|s| s.parse().map_err(|_| corrupt(format!("use case {s:?}"))))
            .transpose()
    };
    Ok(Decision {
        project_id: from_db("project id", t.0)?,
        issue_iid: from_db("issue iid", t.1)?,
        via: t.2.parse::<Via>().map_err(corrupt)?,
        source_id: from_db("decision source", t.3)?,
        revision: t.4,
        suggested: class(t.5)?,
        confidence: t.6,
        engine_version: t.7,
        final_class: class(t.8)?,
        outcome: t.9.parse::<DecisionOutcome>().map_err(corrupt)?,
        user_id: from_db("user id", t.10)?,
        username: t.11,
        suggested_at_ms: t.12,
        decided_at_ms: t.13,
    })
}

impl Queue {
    /// The issue's most recently posted suggestion.
    ///
    /// # Errors
    /// [`QueueError::Database`]; [`QueueError::Corrupt`].
    pub async fn latest_suggestion(
        &self,
        project_id: u64,
        issue_iid: u64,
    ) -> Result<Option<SuggestionRow>, QueueError> {
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        let row: Option<SuggestionDbRow> = with_pool!(self, pool => {
            sqlx::query_as(LATEST_SUGGESTION).bind(project).bind(iid).fetch_optional(pool).await
        })
        .map_err(db_err("latest_suggestion"))?;
        row.map(suggestion_row).transpose()
    }

    /// Every suggestion recorded for an issue, oldest first: its revision history.
    ///
    /// # Errors
    /// [`QueueError::Database`]; [`QueueError::Corrupt`].
    pub async fn suggestions_of(
        &self,
        project_id: u64,
        issue_iid: u64,
    ) -> Result<Vec<SuggestionRow>, QueueError> {
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        let sql = format!(
            "SELECT {SUGGESTION_COLUMNS} FROM suggestions WHERE project_id = $1 AND issue_iid = $2 ORDER BY posted_at_ms, revision"
        );
        let rows: Vec<SuggestionDbRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project).bind(iid).fetch_all(pool).await
        })
        .map_err(db_err("suggestions_of"))?;
        rows.into_iter().map(suggestion_row).collect()
    }

    /// Records a decision; false when this note, award or action was recorded already.
    ///
    /// # Errors
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn record_decision(&self, d: &Decision) -> Result<bool, QueueError> {
        let project = to_db("project id", d.project_id)?;
        let iid = to_db("issue iid", d.issue_iid)?;
        let source = to_db("decision source", d.source_id)?;
        let user = to_db("user id", d.user_id)?;
        let inserted = with_pool!(self, pool => {
            sqlx::query(RECORD_DECISION)
                .bind(project)
                .bind(iid)
                .bind(d.via.as_str())
                .bind(source)
                .bind(d.revision.as_deref())
                .bind(d.suggested.map(|u| u.as_str()))
                .bind(d.confidence.as_deref())
                .bind(d.engine_version.as_deref())
                .bind(d.final_class.map(|u| u.as_str()))
                .bind(d.outcome.as_str())
                .bind(user)
                .bind(&d.username)
                .bind(d.suggested_at_ms)
                .bind(d.decided_at_ms)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(db_err("record_decision"))?;
        Ok(inserted == 1)
    }

    /// Decisions on one issue (`Some`) or on every issue, oldest first.
    ///
    /// # Errors
    /// [`QueueError::Database`]; [`QueueError::Corrupt`].
    pub async fn decisions(&self, issue: Option<(u64, u64)>) -> Result<Vec<Decision>, QueueError> {
        let rows: Vec<DecisionTuple> = match issue {
            Some((p, iid)) => {
                let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE project_id = $1 AND issue_iid = $2 ORDER BY decided_at_ms, source_id");
                let (p, iid) = (to_db("project id", p)?, to_db("issue iid", iid)?);
                with_pool!(self, pool => sqlx::query_as(&sql).bind(p).bind(iid).fetch_all(pool).await)
            }
            None => {
                let sql = format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions ORDER BY decided_at_ms, source_id"
                );
                with_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)
            }
        }
        .map_err(db_err("decisions"))?;
        rows.into_iter().map(decision_from).collect()
    }

    /// Issues with a suggestion posted since `since_ms` and no decision yet: the poller looks
    /// at them again now and then, because an award emoji does not bump an issue's
    /// `updated_at` and so is invisible to `updated_after` polling.
    ///
    /// # Errors
    /// [`QueueError::Database`].
    pub async fn undecided_suggestions(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(u64, u64)>, QueueError> {
        let rows: Vec<(i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(UNDECIDED).bind(since_ms).fetch_all(pool).await
        })
        .map_err(db_err("undecided_suggestions"))?;
        rows.into_iter()
            .map(|(p, i)| Ok((from_db("project id", p)?, from_db("issue iid", i)?)))
            .collect()
    }

    /// Stores an issue's report fingerprint (JSON), replacing the earlier one.
    ///
    /// # Errors
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn record_fingerprint(
        &self,
        project_id: u64,
        issue_iid: u64,
        fingerprint_json: &str,
    ) -> Result<(), QueueError> {
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        with_pool!(self, pool => {
            sqlx::query(RECORD_FINGERPRINT)
                .bind(project)
                .bind(iid)
                .bind(fingerprint_json)
                .bind(now_ms())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(db_err("record_fingerprint"))?;
        Ok(())
    }

    /// Fingerprints stored since `since_ms`: (project, issue, JSON).
    ///
    /// # Errors
    /// [`QueueError::Database`].
    pub async fn fingerprints(&self, since_ms: i64) -> Result<Vec<(u64, u64, String)>, QueueError> {
        let rows: Vec<(i64, i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(FINGERPRINTS).bind(since_ms).fetch_all(pool).await
        })
        .map_err(db_err("fingerprints"))?;
        rows.into_iter()
            .map(|(p, i, f)| Ok((from_db("project id", p)?, from_db("issue iid", i)?, f)))
            .collect()
    }

    /// Issues with a suggestion posted since `since_ms` (reminders look at these).
    ///
    /// # Errors
    /// [`QueueError::Database`].
    pub async fn tracked_issues(&self, since_ms: i64) -> Result<Vec<(u64, u64)>, QueueError> {
        let rows: Vec<(i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(TRACKED).bind(since_ms).fetch_all(pool).await
        })
        .map_err(db_err("tracked_issues"))?;
        rows.into_iter()
            .map(|(p, i)| Ok((from_db("project id", p)?, from_db("issue iid", i)?)))
            .collect()
    }

    /// Remembers labels sectriage added to an issue.
    ///
    /// # Errors
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn record_applied_labels(
        &self,
        project_id: u64,
        issue_iid: u64,
        labels: &[&str],
    ) -> Result<(), QueueError> {
        self.per_label(
            RECORD_LABEL,
            "record_applied_labels",
            project_id,
            issue_iid,
            labels,
        )
        .await
    }

    /// Forgets labels sectriage itself removed again.
    ///
    /// # Errors
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn forget_applied_labels(
        &self,
        project_id: u64,
        issue_iid: u64,
        labels: &[&str],
    ) -> Result<(), QueueError> {
        self.per_label(
            FORGET_LABEL,
            "forget_applied_labels",
            project_id,
            issue_iid,
            labels,
        )
        .await
    }

    /// Runs `sql` (`$1` project, `$2` issue, `$3` label, `$4` now) once per label.
    async fn per_label(
        &self,
        sql: &str,
        op: &'static str,
        project_id: u64,
        issue_iid: u64,
        labels: &[&str],
    ) -> Result<(), QueueError> {
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        let now = now_ms();
        for label in labels {
            with_pool!(self, pool => {
                sqlx::query(sql)
                    .bind(project)
                    .bind(iid)
                    .bind(*label)
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected())
            })
            .map_err(db_err(op))?;
        }
        Ok(())
    }

    /// Labels sectriage added to the issue and did not remove since.
    ///
    /// # Errors
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn applied_labels(
        &self,
        project_id: u64,
        issue_iid: u64,
    ) -> Result<Vec<String>, QueueError> {
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        let rows: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(APPLIED_LABELS).bind(project).bind(iid).fetch_all(pool).await
        })
        .map_err(db_err("applied_labels"))?;
        Ok(rows.into_iter().map(|(l,)| l).collect())
    }
}

type SuggestionDbRow = (
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn suggestion_row(row: SuggestionDbRow) -> Result<SuggestionRow, QueueError> {
    let (revision, note_id, posted_at_ms, use_case, confidence, engine, questions, summary) = row;
    let details = match (use_case, confidence, engine) {
        (Some(u), Some(confidence), Some(engine_version)) => Some(SuggestionDetails {
            use_case: u.parse().map_err(|_| corrupt(format!("use case {u:?}")))?,
            confidence,
            engine_version,
            questions: questions
                .and_then(|q| serde_json::from_str(&q).ok())
                .unwrap_or_default(),
            // A summary that no longer parses (an older layout) only hides review facts.
            summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
        }),
        _ => None,
    };
    Ok(SuggestionRow {
        revision,
        note_id: from_db("note id", note_id)?,
        posted_at_ms,
        details,
    })
}
