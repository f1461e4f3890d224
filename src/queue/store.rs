//! [`Queue`]: the SQL behind the job queue, for SQLite and PostgreSQL.
//!
//! Both backends run the same SQL text (SQLite accepts `$N` placeholders) except where they
//! lock differently:
//! - SQLite has one writer at a time. Multi-statement transitions run in `BEGIN IMMEDIATE`
//!   so they take the write lock up front; a deferred transaction that reads and then writes
//!   can fail with `SQLITE_BUSY` instead of waiting for `busy_timeout`.
//! - PostgreSQL runs many writers. Claim picks a row with `FOR UPDATE SKIP LOCKED` so
//!   concurrent claimers never wait on or double-claim a row; other transitions lock the rows
//!   they read with `FOR UPDATE`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::error::{db_err, from_db, hint, to_db};
use super::{
    backoff, duration_ms, now_ms, Alarm, Enqueued, Job, JobId, JobRow, JobState, PostIntent,
    QueueConfig, QueueError,
};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a SQLite connection waits for another writer before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQLite serializes writers, so more connections only help readers.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// How long the first PostgreSQL connection may take before startup reports the server down.
const POSTGRES_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Enough for a handful of workers plus intake and the admin endpoints.
const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// The shortest time an intake key is kept (the poller's seen keys last 14 days).
const INTAKE_KEY_HORIZON: Duration = Duration::from_secs(14 * 24 * 3600);
/// Rounds a transition retries when a concurrent enqueue wins the pending-slot race.
const UNIQUE_RACE_ROUNDS: u32 = 3;

/// A durable job queue on SQLite or PostgreSQL. Cloning is cheap: clones share one pool.
#[derive(Clone)]
pub struct Queue {
    pool: Pool,
    config: QueueConfig,
    /// The SQLite file this queue opened, so a file deleted under the daemon is noticed.
    file: Option<std::sync::Arc<SqliteFile>>,
}

/// Identity of an opened SQLite file: its path and, on Unix, device and inode.
#[derive(Debug)]
struct SqliteFile {
    path: std::path::PathBuf,
    identity: Option<(u64, u64)>,
}

impl SqliteFile {
    fn identity(path: &std::path::Path) -> std::io::Result<Option<(u64, u64)>> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(Some((meta.dev(), meta.ino())))
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Ok(None)
        }
    }

    fn check(&self) -> Result<(), QueueError> {
        let vanished = |what: &'static str| QueueError::Vanished {
            path: self.path.display().to_string(),
            what,
        };
        match SqliteFile::identity(&self.path) {
            Err(_) => Err(vanished("was deleted")),
            Ok(now) if now != self.identity => Err(vanished("was replaced by another file")),
            Ok(_) => Ok(()),
        }
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("backend", &self.backend())
            .field("config", &self.config)
            .finish()
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool; the body is compiled once per backend.
macro_rules! with_pool {
    ($queue:expr, $pool:ident => $body:expr) => {
        match &$queue.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$tx` bound to a write transaction (see the module doc for why SQLite
/// uses `BEGIN IMMEDIATE`). The body commits; dropping the transaction rolls it back.
macro_rules! with_write_tx {
    ($queue:expr, $op:expr, $tx:ident => $body:expr) => {
        match &$queue.pool {
            Pool::Sqlite(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db_err($op))?;
                $body
            }
            Pool::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await.map_err(db_err($op))?;
                $body
            }
        }
    };
}

/// The claimable-job condition shared by both backends' claim: `$1` is now, `$2` max attempts.
macro_rules! runnable_where {
    () => {
        "((j.state = 'pending' AND j.run_after_ms <= $1)
           OR (j.state = 'running' AND j.lease_until_ms <= $1 AND j.attempts < $2))
          AND NOT EXISTS (
            SELECT 1 FROM jobs o
            WHERE o.project_id = j.project_id AND o.issue_iid = j.issue_iid AND o.id <> j.id
              AND o.state = 'running' AND o.lease_until_ms > $1)"
    };
}

type JobTuple = (i64, i64, i64, i64, String, String);

const ROW_COLUMNS: &str = "id, project_id, issue_iid, state, attempts, last_error, reason, \
                           created_at_ms, updated_at_ms, run_after_ms, outcome, verdict";
type RowTuple = (
    i64,
    i64,
    i64,
    String,
    i64,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

const ENQUEUE: &str = "INSERT INTO jobs
    (project_id, issue_iid, state, attempts, reason, created_at_ms, updated_at_ms, run_after_ms)
    VALUES ($1, $2, 'pending', 0, $3, $4, $4, $4)
    ON CONFLICT (project_id, issue_iid) WHERE state = 'pending' DO NOTHING
    RETURNING id";

const PENDING_OF_ISSUE: &str =
    "SELECT id FROM jobs WHERE project_id = $1 AND issue_iid = $2 AND state = 'pending'";

/// Dead-letters jobs whose holder vanished on their last allowed attempt: `$1` now, `$2` max.
const SWEEP_EXHAUSTED: &str = "UPDATE jobs
    SET state = 'dead', lease_token = NULL, lease_until_ms = NULL, updated_at_ms = $1,
        last_error = 'lease expired on the last allowed attempt: the worker stopped heartbeating (crashed, hung or was killed)'
    WHERE state = 'running' AND lease_until_ms <= $1 AND attempts >= $2";

const SQLITE_CLAIM: &str = concat!(
    "UPDATE jobs
    SET state = 'running', attempts = attempts + 1, lease_token = $3, lease_until_ms = $4,
        worker_id = $5, updated_at_ms = $1
    WHERE id = (SELECT j.id FROM jobs j WHERE ",
    runnable_where!(),
    " ORDER BY j.id LIMIT 1)
    RETURNING id, project_id, issue_iid, attempts, lease_token, reason"
);

const POSTGRES_PICK: &str = concat!(
    "SELECT j.id FROM jobs j WHERE ",
    runnable_where!(),
    " ORDER BY j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED"
);

const POSTGRES_TAKE: &str = "UPDATE jobs
    SET state = 'running', attempts = attempts + 1, lease_token = $2, lease_until_ms = $3,
        worker_id = $4, updated_at_ms = $5
    WHERE id = $1
    RETURNING id, project_id, issue_iid, attempts, lease_token, reason";

const HEARTBEAT: &str = "UPDATE jobs SET lease_until_ms = $1, updated_at_ms = $2
    WHERE id = $3 AND state = 'running' AND lease_token = $4";

const COMPLETE: &str = "UPDATE jobs
    SET state = 'done', lease_token = NULL, lease_until_ms = NULL, updated_at_ms = $1,
        outcome = $4, verdict = $5
    WHERE id = $2 AND state = 'running' AND lease_token = $3";

/// A job that arrives already dead (intake could not read the issue): `$4` is the reason.
const ENQUEUE_DEAD: &str = "INSERT INTO jobs
    (project_id, issue_iid, state, attempts, reason, last_error, created_at_ms, updated_at_ms, run_after_ms)
    VALUES ($1, $2, 'dead', 0, $3, $4, $5, $5, $5)
    RETURNING id";

const RAISE_ALARM: &str =
    "INSERT INTO alarms (name, detail, raised_at_ms, raised_by) VALUES ($1, $2, $3, $4)
    ON CONFLICT (name) DO UPDATE SET detail = excluded.detail, raised_at_ms = excluded.raised_at_ms,
        raised_by = excluded.raised_by";

const ALARMS: &str =
    "SELECT name, detail, raised_at_ms, raised_by FROM alarms ORDER BY raised_at_ms, name";

/// Every alarm but a public note still waiting to be deleted: that one goes when it is gone.
const CLEAR_ALARMS: &str = "DELETE FROM alarms
    WHERE name NOT LIKE 'undeleted-public-note:%' OR detail LIKE 'deleted%'";

const BEGIN_POST: &str =
    "INSERT INTO post_intents (project_id, issue_iid, revision, job_id, started_at_ms)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (project_id, issue_iid, revision) DO NOTHING";

const POST_INTENT: &str = "SELECT started_at_ms FROM post_intents
    WHERE project_id = $1 AND issue_iid = $2 AND revision = $3";

/// PostgreSQL: the same, locking the row so two attempts cannot both renew a stale intent.
const POST_INTENT_FOR_UPDATE: &str = "SELECT started_at_ms FROM post_intents
    WHERE project_id = $1 AND issue_iid = $2 AND revision = $3 FOR UPDATE";

const RENEW_POST: &str = "UPDATE post_intents SET started_at_ms = $4, job_id = $5
    WHERE project_id = $1 AND issue_iid = $2 AND revision = $3";

const END_POST: &str =
    "DELETE FROM post_intents WHERE project_id = $1 AND issue_iid = $2 AND revision = $3";

const DEAD_LETTER: &str = "UPDATE jobs
    SET state = 'dead', last_error = $1, lease_token = NULL, lease_until_ms = NULL,
        updated_at_ms = $2
    WHERE id = $3 AND state = 'running' AND lease_token = $4";

const BACK_TO_PENDING: &str = "UPDATE jobs
    SET state = 'pending', attempts = $1, run_after_ms = $2, last_error = COALESCE($3, last_error),
        lease_token = NULL, lease_until_ms = NULL, updated_at_ms = $4
    WHERE id = $5";

const MERGE_INTO_SIBLING: &str = "UPDATE jobs
    SET attempts = $1, run_after_ms = $2, last_error = COALESCE($3, last_error), updated_at_ms = $4
    WHERE id = $5";

const SUPERSEDE: &str = "UPDATE jobs
    SET state = 'done', last_error = $1, lease_token = NULL, lease_until_ms = NULL,
        updated_at_ms = $2
    WHERE id = $3";

const DEPTH: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state";

const OLDEST_PENDING: &str = "SELECT MIN(created_at_ms) FROM jobs WHERE state = 'pending'";

const CURSOR: &str = "SELECT value FROM cursors WHERE name = $1";

const SET_CURSOR: &str = "INSERT INTO cursors (name, value, updated_at_ms) VALUES ($1, $2, $3)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms";

const PRUNE_DELIVERIES: &str = "DELETE FROM deliveries WHERE seen_at_ms < $1";

const IS_REMEMBERED: &str = "SELECT 1 FROM deliveries WHERE key_hash = $1";

const FORGET: &str = "DELETE FROM deliveries WHERE key_hash = $1";

const REMEMBER_BOT_USER: &str = "INSERT INTO bot_users (user_id, username, first_seen_ms)
    VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING";

const BOT_USERS: &str = "SELECT user_id FROM bot_users ORDER BY first_seen_ms, user_id";

const REMEMBER_DELIVERY: &str = "INSERT INTO deliveries (key_hash, seen_at_ms) VALUES ($1, $2)
    ON CONFLICT (key_hash) DO NOTHING";

const RECORD_SUGGESTION: &str = "INSERT INTO suggestions
    (project_id, issue_iid, revision, note_id, job_id, posted_at_ms,
     use_case, confidence, engine_version, questions, summary)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (project_id, issue_iid, revision) DO UPDATE
    SET posted_at_ms = CASE WHEN suggestions.note_id = excluded.note_id
                            THEN suggestions.posted_at_ms ELSE excluded.posted_at_ms END,
        note_id = excluded.note_id, job_id = excluded.job_id,
        use_case = COALESCE(excluded.use_case, suggestions.use_case),
        confidence = COALESCE(excluded.confidence, suggestions.confidence),
        engine_version = COALESCE(excluded.engine_version, suggestions.engine_version),
        questions = COALESCE(excluded.questions, suggestions.questions),
        summary = COALESCE(excluded.summary, suggestions.summary)";

const SUGGESTION: &str =
    "SELECT note_id FROM suggestions WHERE project_id = $1 AND issue_iid = $2 AND revision = $3";

/// Who may move a job back to pending.
#[derive(Clone, Copy)]
enum Holder<'a> {
    /// The worker holding this lease token.
    Lease(&'a str),
    /// An operator, for a dead job.
    Operator,
}

/// What a move back to pending does to the attempt count.
#[derive(Clone, Copy)]
enum AttemptsChange {
    /// The failed attempt counts (`retry_later`).
    Keep,
    /// The attempt never really ran (`release` on shutdown).
    GiveBack,
    /// A fresh start (`retry_dead`).
    Reset,
}

/// What a move back to pending did.
enum Requeued {
    /// The job itself is pending again.
    Pending,
    /// The issue already had a newer pending job; this job was closed as done and its
    /// attempt count and wait were merged into that job.
    Superseded(JobId),
    /// No job matched: the lease was lost, or the job was not dead.
    NotHeld,
}

// === impl Queue ===

impl Queue {
    /// Opens the queue at `url` and applies the migrations for its backend.
    ///
    /// - `sqlite://path/to/file.db`: created if missing (its directory must exist); WAL
    ///   journal, a busy timeout and foreign keys on.
    /// - `sqlite::memory:`: a private in-memory database on one connection, for tests.
    /// - `postgres://user:pass@host:port/db` (or `postgresql://`).
    ///
    /// # Errors
    ///
    /// [`QueueError::UnsupportedUrl`] or [`QueueError::InvalidUrl`] for a bad URL,
    /// [`QueueError::Open`] when the database cannot be opened or reached and
    /// [`QueueError::Migrate`] when the schema cannot be brought up to date.
    pub async fn connect(url: &str, config: QueueConfig) -> Result<Queue, QueueError> {
        Queue::open(url, config, true).await
    }

    /// Like [`connect`](Queue::connect) but never creates a SQLite file: for commands that
    /// only inspect or repair the queue (`queue list`, `alarm clear`), where a missing file
    /// means a wrong `daemon.queue_url`, not a new queue.
    ///
    /// # Errors
    ///
    /// [`QueueError::Missing`] when the SQLite file does not exist; as [`connect`](Queue::connect).
    pub async fn connect_existing(url: &str, config: QueueConfig) -> Result<Queue, QueueError> {
        Queue::open(url, config, false).await
    }

    async fn open(url: &str, config: QueueConfig, create: bool) -> Result<Queue, QueueError> {
        let (pool, file) = if url.starts_with("sqlite:") {
            let (pool, file) = open_sqlite(url, create).await?;
            (Pool::Sqlite(pool), file.map(std::sync::Arc::new))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Pool::Postgres(open_postgres(url).await?), None)
        } else {
            return Err(QueueError::UnsupportedUrl { url: redact(url) });
        };
        let queue = Queue { pool, config, file };
        let migrated = match &queue.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATOR.run(pool).await,
        };
        migrated.map_err(|source| QueueError::Migrate {
            backend: queue.backend(),
            source,
        })?;
        tracing::info!(backend = queue.backend(), target = %redact(url), "queue opened");
        Ok(queue)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// The retry policy this queue was opened with.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Closes every connection after in-flight statements finish; for a clean shutdown (and
    /// so a SQLite file can be reopened at once). Later calls on any clone fail.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    /// Adds a pending job for the issue, runnable now, or coalesces into the issue's pending job.
    ///
    /// Coalescing keeps the waiting job's reason and `run_after`, so an issue backing off after
    /// a rate limit keeps backing off. An issue whose job is running gets a new pending job: the
    /// running job may have read the issue before this event.
    ///
    /// # Errors
    ///
    /// [`QueueError::OutOfRange`] for ids above `i64::MAX`; [`QueueError::Database`].
    pub async fn enqueue(
        &self,
        project_id: u64,
        issue_iid: u64,
        reason: &str,
    ) -> Result<Enqueued, QueueError> {
        let done = self
            .intake_once(None, project_id, issue_iid, reason, None)
            .await?;
        // Without a key there is no "seen before": intake always yields a job.
        done.ok_or(QueueError::Database {
            op: "enqueue",
            hint: "the issue's pending job kept changing under heavy contention; retry",
            source: sqlx::Error::RowNotFound,
        })
    }

    /// Claims the oldest runnable job for `worker_id` under a lease of `lease`.
    ///
    /// Runnable means pending with `run_after` reached, or running with an expired lease (a
    /// worker that vanished); the latter counts as a new attempt and fences the old holder
    /// out with a new lease token. A job is skipped while another job of the same issue holds
    /// a live lease. Expired jobs already on their last attempt are dead-lettered instead.
    ///
    /// SQLite: one conditional `UPDATE … RETURNING` in an immediate transaction. PostgreSQL:
    /// `SELECT … FOR UPDATE SKIP LOCKED` then `UPDATE` in one transaction, so concurrent
    /// daemons never claim the same job.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn claim(&self, worker_id: &str, lease: Duration) -> Result<Option<Job>, QueueError> {
        let now = now_ms();
        let lease_until = now.saturating_add(duration_ms(lease));
        let token = new_lease_token();
        let max_attempts = i64::from(self.config.max_attempts);
        let (swept, claimed): (u64, Option<JobTuple>) = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db_err("claim"))?;
                let swept = sqlx::query(SWEEP_EXHAUSTED)
                    .bind(now)
                    .bind(max_attempts)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("claim"))?
                    .rows_affected();
                let claimed = sqlx::query_as(SQLITE_CLAIM)
                    .bind(now)
                    .bind(max_attempts)
                    .bind(&token)
                    .bind(lease_until)
                    .bind(worker_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err("claim"))?;
                tx.commit().await.map_err(db_err("claim"))?;
                (swept, claimed)
            }
            Pool::Postgres(pool) => {
                // The sweep runs on its own: inside the claim transaction it would hold row
                // locks that other daemons' sweeps could wait on in a different order.
                let swept = sqlx::query(SWEEP_EXHAUSTED)
                    .bind(now)
                    .bind(max_attempts)
                    .execute(pool)
                    .await
                    .map_err(db_err("claim"))?
                    .rows_affected();
                let mut tx = pool.begin().await.map_err(db_err("claim"))?;
                let picked: Option<(i64,)> = sqlx::query_as(POSTGRES_PICK)
                    .bind(now)
                    .bind(max_attempts)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err("claim"))?;
                let claimed = match picked {
                    Some((id,)) => Some(
                        sqlx::query_as(POSTGRES_TAKE)
                            .bind(id)
                            .bind(&token)
                            .bind(lease_until)
                            .bind(worker_id)
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db_err("claim"))?,
                    ),
                    None => None,
                };
                tx.commit().await.map_err(db_err("claim"))?;
                (swept, claimed)
            }
        };
        if swept > 0 {
            tracing::warn!(
                jobs = swept,
                "dead-lettered jobs whose lease expired on their last attempt"
            );
        }
        let Some(tuple) = claimed else {
            return Ok(None);
        };
        let job = job_from_tuple(tuple)?;
        tracing::debug!(
            job = job.id,
            worker_id,
            attempt = job.attempts,
            "job claimed"
        );
        Ok(Some(job))
    }

    /// Extends the lease of a job this worker holds to now + `lease`.
    ///
    /// Returns false when the job is no longer ours (reclaimed after an expired lease, or
    /// finished elsewhere): stop working on it and drop the result.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<bool, QueueError> {
        let now = now_ms();
        let lease_until = now.saturating_add(duration_ms(lease));
        let done = with_pool!(self, pool => {
            sqlx::query(HEARTBEAT)
                .bind(lease_until)
                .bind(now)
                .bind(job.id)
                .bind(&job.lease_token)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(db_err("heartbeat"))?;
        Ok(done == 1)
    }

    /// Marks a job this worker holds as done. Returns false when the job is no longer ours.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn complete(&self, job: &Job) -> Result<bool, QueueError> {
        self.complete_with(job, "done", None).await
    }

    /// [`complete`](Queue::complete), recording what the job did (`outcome`, e.g. `posted`
    /// or `dry-run`) and the use case it suggested, for operators.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn complete_with(
        &self,
        job: &Job,
        outcome: &str,
        verdict: Option<&str>,
    ) -> Result<bool, QueueError> {
        let done = with_pool!(self, pool => {
            sqlx::query(COMPLETE)
                .bind(now_ms())
                .bind(job.id)
                .bind(&job.lease_token)
                .bind(outcome)
                .bind(verdict)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(db_err("complete"))?;
        let ours = done == 1;
        tracing::debug!(job = job.id, ours, "job completed");
        Ok(ours)
    }

    /// A retryable failure: the job waits [`backoff`] (at least `retry_after`, when the server
    /// gave one) and becomes runnable again, or is dead-lettered with `error` once it has used
    /// `max_attempts`. Returns the state the job's work is in now.
    ///
    /// If the issue got a newer pending job meanwhile, this job is closed as done ("superseded")
    /// and the newer job inherits its attempt count and wait; the result is then
    /// [`JobState::Pending`], since the issue's work is still pending.
    ///
    /// # Errors
    ///
    /// [`QueueError::LeaseLost`] when the job is no longer ours; [`QueueError::Database`].
    pub async fn retry_later(
        &self,
        job: &Job,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<JobState, QueueError> {
        if job.attempts >= self.config.max_attempts {
            self.dead_letter(job, error).await?;
            return Ok(JobState::Dead);
        }
        let wait = backoff(job.attempts, retry_after, &self.config);
        let run_after = now_ms().saturating_add(duration_ms(wait));
        let requeued = self
            .requeue(
                "retry_later",
                job.id,
                Holder::Lease(&job.lease_token),
                run_after,
                AttemptsChange::Keep,
                Some(error),
            )
            .await?;
        match requeued {
            Requeued::NotHeld => Err(QueueError::LeaseLost { id: job.id }),
            Requeued::Pending => {
                tracing::debug!(
                    job = job.id,
                    attempt = job.attempts,
                    wait_ms = duration_ms(wait),
                    "job will be retried"
                );
                Ok(JobState::Pending)
            }
            Requeued::Superseded(by) => {
                tracing::debug!(
                    job = job.id,
                    superseded_by = by,
                    "retry merged into the issue's pending job"
                );
                Ok(JobState::Pending)
            }
        }
    }

    /// A fatal failure: the job goes straight to dead with `error` kept for operators.
    ///
    /// # Errors
    ///
    /// [`QueueError::LeaseLost`] when the job is no longer ours; [`QueueError::Database`].
    pub async fn dead_letter(&self, job: &Job, error: &str) -> Result<(), QueueError> {
        let done = with_pool!(self, pool => {
            sqlx::query(DEAD_LETTER)
                .bind(error)
                .bind(now_ms())
                .bind(job.id)
                .bind(&job.lease_token)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(db_err("dead_letter"))?;
        if done != 1 {
            return Err(QueueError::LeaseLost { id: job.id });
        }
        tracing::warn!(
            job = job.id,
            project_id = job.project_id,
            issue_iid = job.issue_iid,
            attempt = job.attempts,
            "job dead-lettered"
        );
        Ok(())
    }

    /// Gives a held job back on shutdown: pending, runnable now, and this attempt not counted.
    ///
    /// # Errors
    ///
    /// [`QueueError::LeaseLost`] when the job is no longer ours (nothing to give back);
    /// [`QueueError::Database`].
    pub async fn release(&self, job: &Job) -> Result<(), QueueError> {
        let requeued = self
            .requeue(
                "release",
                job.id,
                Holder::Lease(&job.lease_token),
                now_ms(),
                AttemptsChange::GiveBack,
                None,
            )
            .await?;
        match requeued {
            Requeued::NotHeld => Err(QueueError::LeaseLost { id: job.id }),
            Requeued::Pending => Ok(()),
            Requeued::Superseded(by) => {
                tracing::debug!(
                    job = job.id,
                    superseded_by = by,
                    "released into the issue's pending job"
                );
                Ok(())
            }
        }
    }

    /// Up to `limit` jobs, newest first, optionally only those in `state`.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`]; [`QueueError::Corrupt`] for a row this version cannot read.
    pub async fn list(
        &self,
        state: Option<JobState>,
        limit: u32,
    ) -> Result<Vec<JobRow>, QueueError> {
        let limit = i64::from(limit);
        let tuples: Vec<RowTuple> = match state {
            Some(state) => {
                let sql = format!(
                    "SELECT {ROW_COLUMNS} FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2"
                );
                with_pool!(self, pool => {
                    sqlx::query_as(&sql).bind(state.as_str()).bind(limit).fetch_all(pool).await
                })
            }
            None => {
                let sql = format!("SELECT {ROW_COLUMNS} FROM jobs ORDER BY id DESC LIMIT $1");
                with_pool!(self, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)
            }
        }
        .map_err(db_err("list"))?;
        tuples.into_iter().map(row_from_tuple).collect()
    }

    /// Moves a dead job back to pending, runnable now, with its attempts reset. Returns false
    /// when no dead job has this id.
    ///
    /// If the issue already has a pending job, that job covers the retry: the dead job is
    /// closed as done ("superseded") and true is returned.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn retry_dead(&self, id: JobId) -> Result<bool, QueueError> {
        let requeued = self
            .requeue(
                "retry_dead",
                id,
                Holder::Operator,
                now_ms(),
                AttemptsChange::Reset,
                None,
            )
            .await?;
        match requeued {
            Requeued::NotHeld => Ok(false),
            Requeued::Pending => {
                tracing::info!(job = id, "dead job retried");
                Ok(true)
            }
            Requeued::Superseded(by) => {
                tracing::info!(
                    job = id,
                    superseded_by = by,
                    "dead job covered by the issue's pending job"
                );
                Ok(true)
            }
        }
    }

    /// How many jobs are in each state; every state is present, possibly with 0.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`]; [`QueueError::Corrupt`] for an unknown state.
    pub async fn depth_by_state(&self) -> Result<BTreeMap<JobState, u64>, QueueError> {
        let counts: Vec<(String, i64)> =
            with_pool!(self, pool => sqlx::query_as(DEPTH).fetch_all(pool).await)
                .map_err(db_err("depth_by_state"))?;
        let mut depth: BTreeMap<JobState, u64> =
            JobState::ALL.into_iter().map(|state| (state, 0)).collect();
        for (state, count) in counts {
            depth.insert(parse_state(&state)?, from_db("job count", count)?);
        }
        Ok(depth)
    }

    /// How long the oldest pending job has existed (since its first event, including any time
    /// spent backing off); `None` when nothing is pending.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn oldest_pending_age(&self) -> Result<Option<Duration>, QueueError> {
        let (oldest,): (Option<i64>,) =
            with_pool!(self, pool => sqlx::query_as(OLDEST_PENDING).fetch_one(pool).await)
                .map_err(db_err("oldest_pending_age"))?;
        Ok(oldest.map(|created| {
            // A clock step backwards must not produce a negative age.
            let age = now_ms().saturating_sub(created).max(0);
            Duration::from_millis(age.unsigned_abs())
        }))
    }

    /// The intake cursor called `name`, if one was saved.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn cursor(&self, name: &str) -> Result<Option<String>, QueueError> {
        let value: Option<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(CURSOR).bind(name).fetch_optional(pool).await
        })
        .map_err(db_err("cursor"))?;
        Ok(value.map(|(value,)| value))
    }

    /// Saves the intake cursor called `name`, replacing any earlier value.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn set_cursor(&self, name: &str, value: &str) -> Result<(), QueueError> {
        with_pool!(self, pool => {
            sqlx::query(SET_CURSOR)
                .bind(name)
                .bind(value)
                .bind(now_ms())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(db_err("set_cursor"))?;
        Ok(())
    }

    /// Webhook de-duplication: true the first time `key` (an Idempotency-Key) is seen within
    /// `ttl`, false for a redelivery. Keys older than `ttl` are pruned first, so a key seen
    /// again after `ttl` counts as new. Only a SHA-256 of the key is stored.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn remember_delivery(&self, key: &str, ttl: Duration) -> Result<bool, QueueError> {
        let now = now_ms();
        let cutoff = now.saturating_sub(duration_ms(ttl));
        let key_hash = hex_sha256(key);
        let inserted = with_pool!(self, pool => {
            let pruned = sqlx::query(PRUNE_DELIVERIES).bind(cutoff).execute(pool).await;
            match pruned {
                Ok(_) => sqlx::query(REMEMBER_DELIVERY)
                    .bind(&key_hash)
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected()),
                Err(err) => Err(err),
            }
        })
        .map_err(db_err("remember_delivery"))?;
        Ok(inserted == 1)
    }

    /// True when `key` was remembered (by [`remember_delivery`](Queue::remember_delivery) or
    /// intake) and not pruned yet. Keys are pruned after 14 days at the earliest.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn is_remembered(&self, key: &str) -> Result<bool, QueueError> {
        let key_hash = hex_sha256(key);
        let row: Option<(i32,)> = with_pool!(self, pool => {
            sqlx::query_as(IS_REMEMBERED).bind(&key_hash).fetch_optional(pool).await
        })
        .map_err(db_err("is_remembered"))?;
        Ok(row.is_some())
    }

    /// Forgets `key` (remembered by [`remember_delivery`](Queue::remember_delivery)).
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn forget(&self, key: &str) -> Result<(), QueueError> {
        let key_hash = hex_sha256(key);
        with_pool!(self, pool => {
            sqlx::query(FORGET).bind(&key_hash).execute(pool).await.map(|_| ())
        })
        .map_err(db_err("forget"))
    }

    /// Records that a daemon on this queue runs as GitLab user `user_id`, and returns every
    /// user recorded so far (this one included), oldest first: notes any of them posted are
    /// sectriage's own even after the token was replaced by one of a new bot user.
    ///
    /// # Errors
    ///
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn bot_users(&self, user_id: u64, username: &str) -> Result<Vec<u64>, QueueError> {
        let id = to_db("user id", user_id)?;
        let rows: Vec<(i64,)> = with_pool!(self, pool => {
            match sqlx::query(REMEMBER_BOT_USER)
                .bind(id)
                .bind(username)
                .bind(now_ms())
                .execute(pool)
                .await
            {
                Ok(_) => sqlx::query_as(BOT_USERS).fetch_all(pool).await,
                Err(e) => Err(e),
            }
        })
        .map_err(db_err("bot_users"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(id,)| u64::try_from(id).ok())
            .collect())
    }

    /// Records that note `note_id` carries the suggestion for this issue revision, posted by
    /// job `job_id` (which must exist). Recording the same revision again replaces the note id.
    ///
    /// # Errors
    ///
    /// [`QueueError::OutOfRange`] for ids above `i64::MAX`; [`QueueError::Database`], also
    /// when `job_id` names no job.
    pub async fn record_suggestion(
        &self,
        project_id: u64,
        issue_iid: u64,
        revision: &str,
        note_id: u64,
        job_id: JobId,
    ) -> Result<(), QueueError> {
        self.record_suggestion_with(project_id, issue_iid, revision, note_id, job_id, None)
            .await
    }

    /// [`record_suggestion`](Queue::record_suggestion) with what the suggestion said (kept
    /// from an earlier record when `None`), in the same statement.
    ///
    /// # Errors
    ///
    /// As [`record_suggestion`](Queue::record_suggestion).
    pub async fn record_suggestion_with(
        &self,
        project_id: u64,
        issue_iid: u64,
        revision: &str,
        note_id: u64,
        job_id: JobId,
        details: Option<&crate::queue::SuggestionDetails>,
    ) -> Result<(), QueueError> {
        const OP: &str = "record_suggestion";
        let questions =
            details.map(|d| serde_json::to_string(&d.questions).unwrap_or_else(|_| "[]".into()));
        let summary = details
            .and_then(|d| d.summary.as_ref())
            .and_then(|s| serde_json::to_string(s).ok());
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        let note = to_db("note id", note_id)?;
        // The note and the end of the posting intent are one fact: record them together.
        with_write_tx!(self, OP, tx => {
            sqlx::query(RECORD_SUGGESTION)
                .bind(project)
                .bind(iid)
                .bind(revision)
                .bind(note)
                .bind(job_id)
                .bind(now_ms())
                .bind(details.map(|d| d.use_case.as_str()))
                .bind(details.map(|d| d.confidence.as_str()))
                .bind(details.map(|d| d.engine_version.as_str()))
                .bind(questions.as_deref())
                .bind(summary.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            sqlx::query(END_POST)
                .bind(project)
                .bind(iid)
                .bind(revision)
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            tx.commit().await.map_err(db_err(OP))?;
            Ok(())
        })
    }

    /// The note id recorded for this issue revision, if any.
    ///
    /// # Errors
    ///
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn suggestion(
        &self,
        project_id: u64,
        issue_iid: u64,
        revision: &str,
    ) -> Result<Option<u64>, QueueError> {
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        let note: Option<(i64,)> = with_pool!(self, pool => {
            sqlx::query_as(SUGGESTION)
                .bind(project)
                .bind(iid)
                .bind(revision)
                .fetch_optional(pool)
                .await
        })
        .map_err(db_err("suggestion"))?;
        note.map(|(note,)| from_db("note id", note)).transpose()
    }

    /// Intake in one transaction: remembers `key` (an `(issue, updated_at)` the poller saw, or
    /// a webhook delivery id) for `ttl` and enqueues a job for the issue, or does neither when
    /// `key` was already remembered (then `None`). A crash or a failed insert can no longer
    /// leave a key remembered without its job, which would lose the issue for good.
    ///
    /// # Errors
    ///
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`] (nothing was recorded).
    pub async fn enqueue_once(
        &self,
        key: &str,
        ttl: Duration,
        project_id: u64,
        issue_iid: u64,
        reason: &str,
    ) -> Result<Option<Enqueued>, QueueError> {
        self.intake_once(Some((key, ttl)), project_id, issue_iid, reason, None)
            .await
    }

    /// Like [`enqueue_once`](Queue::enqueue_once), but the job is created dead with `error`
    /// as its reason: intake could not read the issue (a malformed item in GitLab's list).
    /// Operators see it in `queue list --state dead` and can `queue retry` it.
    ///
    /// # Errors
    ///
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`] (nothing was recorded).
    pub async fn dead_letter_once(
        &self,
        key: &str,
        ttl: Duration,
        project_id: u64,
        issue_iid: u64,
        reason: &str,
        error: &str,
    ) -> Result<Option<JobId>, QueueError> {
        Ok(self
            .intake_once(Some((key, ttl)), project_id, issue_iid, reason, Some(error))
            .await?
            .map(Enqueued::id))
    }

    /// Remembers `key` (unless `None`) and creates the issue's job (dead with `dead` as its
    /// reason, or pending / coalesced) in one write transaction; `None` when `key` was known.
    async fn intake_once(
        &self,
        key: Option<(&str, Duration)>,
        project_id: u64,
        issue_iid: u64,
        reason: &str,
        dead: Option<&str>,
    ) -> Result<Option<Enqueued>, QueueError> {
        const OP: &str = "enqueue";
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        let now = now_ms();
        with_write_tx!(self, OP, tx => {
            if let Some((key, ttl)) = key {
                // Keys live at least as long as the longest intake TTL, so a caller with a
                // short TTL (the decision sweep) cannot prune the poller's and webhook's keys.
                let cutoff = now.saturating_sub(duration_ms(ttl.max(INTAKE_KEY_HORIZON)));
                sqlx::query(PRUNE_DELIVERIES)
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err(OP))?;
                let fresh = sqlx::query(REMEMBER_DELIVERY)
                    .bind(hex_sha256(key))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err(OP))?
                    .rows_affected()
                    == 1;
                if !fresh {
                    // Dropping the transaction rolls the pruning back too; that is harmless.
                    return Ok(None);
                }
            }
            let mut done = None;
            if let Some(error) = dead {
                let (id,): (i64,) = sqlx::query_as(ENQUEUE_DEAD)
                    .bind(project)
                    .bind(iid)
                    .bind(reason)
                    .bind(error)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err(OP))?;
                done = Some(Enqueued::Created(id));
            } else {
                // PostgreSQL: a pending job claimed between our insert and our look-up frees
                // the slot, so the next round inserts. SQLite holds the write lock throughout.
                for _ in 0..UNIQUE_RACE_ROUNDS {
                    let created: Option<(i64,)> = sqlx::query_as(ENQUEUE)
                        .bind(project)
                        .bind(iid)
                        .bind(reason)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err(OP))?;
                    if let Some((id,)) = created {
                        done = Some(Enqueued::Created(id));
                        break;
                    }
                    let pending: Option<(i64,)> = sqlx::query_as(PENDING_OF_ISSUE)
                        .bind(project)
                        .bind(iid)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err(OP))?;
                    if let Some((id,)) = pending {
                        done = Some(Enqueued::Coalesced(id));
                        break;
                    }
                }
            }
            let Some(done) = done else {
                return Err(QueueError::Database {
                    op: OP,
                    hint: "the issue's pending job kept changing under heavy contention; retry",
                    source: sqlx::Error::RowNotFound,
                });
            };
            tx.commit().await.map_err(db_err(OP))?;
            tracing::debug!(job = done.id(), project_id, issue_iid, reason, "intake recorded");
            Ok(Some(done))
        })
    }

    /// Raises (or refreshes) the safety alarm `name`: posting stops in every worker of every
    /// daemon on this queue until an operator clears it.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn raise_alarm(&self, name: &str, detail: &str, by: &str) -> Result<(), QueueError> {
        with_pool!(self, pool => {
            sqlx::query(RAISE_ALARM)
                .bind(name)
                .bind(detail)
                .bind(now_ms())
                .bind(by)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(db_err("raise_alarm"))?;
        Ok(())
    }

    /// The raised alarms, oldest first; posting is allowed only when this is empty.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn alarms(&self) -> Result<Vec<Alarm>, QueueError> {
        let rows: Vec<(String, String, i64, String)> =
            with_pool!(self, pool => sqlx::query_as(ALARMS).fetch_all(pool).await)
                .map_err(db_err("alarms"))?;
        Ok(rows
            .into_iter()
            .map(|(name, detail, raised_at_ms, raised_by)| Alarm {
                name,
                detail,
                raised_at_ms,
                raised_by,
            })
            .collect())
    }

    /// Clears every alarm (an operator's `sectriage alarm clear`); returns how many there were.
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`].
    pub async fn clear_alarms(&self) -> Result<u64, QueueError> {
        with_pool!(self, pool => {
            sqlx::query(CLEAR_ALARMS)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(db_err("clear_alarms"))
    }

    /// Records the intent to post this revision's suggestion, before the POST.
    ///
    /// An intent left by an earlier attempt that recorded no note means GitLab may hold that
    /// note although it is not listed yet (an unclear 5xx, a lagging replica). Within `settle`
    /// of that attempt this returns [`PostIntent::Recent`] and the caller must look again
    /// later; after it, the intent is renewed for this attempt ([`PostIntent::Stale`]).
    ///
    /// # Errors
    ///
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn begin_post(
        &self,
        project_id: u64,
        issue_iid: u64,
        revision: &str,
        job_id: JobId,
        settle: Duration,
    ) -> Result<PostIntent, QueueError> {
        const OP: &str = "begin_post";
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        let now = now_ms();
        with_write_tx!(self, OP, tx => {
            let inserted = sqlx::query(BEGIN_POST)
                .bind(project)
                .bind(iid)
                .bind(revision)
                .bind(job_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?
                .rows_affected()
                == 1;
            let intent = if inserted {
                PostIntent::Fresh
            } else {
                let select = match self.pool {
                    Pool::Sqlite(_) => POST_INTENT,
                    Pool::Postgres(_) => POST_INTENT_FOR_UPDATE,
                };
                let (started,): (i64,) = sqlx::query_as(select)
                    .bind(project)
                    .bind(iid)
                    .bind(revision)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err(OP))?;
                let age = Duration::from_millis(now.saturating_sub(started).max(0).unsigned_abs());
                if age < settle {
                    PostIntent::Recent { age }
                } else {
                    sqlx::query(RENEW_POST)
                        .bind(project)
                        .bind(iid)
                        .bind(revision)
                        .bind(now)
                        .bind(job_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err(OP))?;
                    PostIntent::Stale { age }
                }
            };
            tx.commit().await.map_err(db_err(OP))?;
            Ok(intent)
        })
    }

    /// The POST of this revision's suggestion surely failed (GitLab refused it): forget the
    /// intent so the next attempt posts at once.
    ///
    /// # Errors
    ///
    /// [`QueueError::OutOfRange`]; [`QueueError::Database`].
    pub async fn abandon_post(
        &self,
        project_id: u64,
        issue_iid: u64,
        revision: &str,
    ) -> Result<(), QueueError> {
        let project = to_db("project id", project_id)?;
        let iid = to_db("issue iid", issue_iid)?;
        with_pool!(self, pool => {
            sqlx::query(END_POST)
                .bind(project)
                .bind(iid)
                .bind(revision)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(db_err("abandon_post"))?;
        Ok(())
    }

    /// Checks that the queue can be written right now (readiness): a write transaction that
    /// touches one row, plus, for a SQLite file, that the file the daemon opened is still the
    /// one at its path (a file deleted or replaced under a running daemon is reported).
    ///
    /// # Errors
    ///
    /// [`QueueError::Database`] when the write fails (locked, read-only, disk full);
    /// [`QueueError::Vanished`] when the SQLite file was deleted or replaced.
    pub async fn probe_write(&self) -> Result<(), QueueError> {
        if let Some(file) = &self.file {
            file.check()?;
        }
        const OP: &str = "probe_write";
        with_write_tx!(self, OP, tx => {
            sqlx::query(SET_CURSOR)
                .bind("health:write-probe")
                .bind("ok")
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            tx.commit().await.map_err(db_err(OP))?;
            Ok(())
        })
    }

    /// Moves job `id` back to pending if `holder` may, retrying when a concurrent enqueue
    /// takes the issue's pending slot between our check and our update.
    async fn requeue(
        &self,
        op: &'static str,
        id: JobId,
        holder: Holder<'_>,
        run_after_ms: i64,
        change: AttemptsChange,
        error: Option<&str>,
    ) -> Result<Requeued, QueueError> {
        let mut round = 1;
        loop {
            match self
                .requeue_once(op, id, holder, run_after_ms, change, error)
                .await
            {
                Err(err) if err.is_unique_violation() && round < UNIQUE_RACE_ROUNDS => round += 1,
                res => return res,
            }
        }
    }

    async fn requeue_once(
        &self,
        op: &'static str,
        id: JobId,
        holder: Holder<'_>,
        run_after_ms: i64,
        change: AttemptsChange,
        error: Option<&str>,
    ) -> Result<Requeued, QueueError> {
        // SQLite holds the write lock for the whole transaction; PostgreSQL locks the rows.
        let lock = match self.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => " FOR UPDATE",
        };
        let held_sql = match holder {
            Holder::Lease(_) => format!(
                "SELECT project_id, issue_iid, attempts FROM jobs \
                 WHERE id = $1 AND state = 'running' AND lease_token = $2{lock}"
            ),
            Holder::Operator => format!(
                "SELECT project_id, issue_iid, attempts FROM jobs WHERE id = $1 AND state = 'dead'{lock}"
            ),
        };
        let sibling_sql = format!(
            "SELECT id, attempts, run_after_ms FROM jobs \
             WHERE project_id = $1 AND issue_iid = $2 AND state = 'pending'{lock}"
        );
        let now = now_ms();
        with_write_tx!(self, op, tx => {
            let mut held = sqlx::query_as::<_, (i64, i64, i64)>(&held_sql).bind(id);
            if let Holder::Lease(token) = holder {
                held = held.bind(token);
            }
            let Some((project, iid, attempts)) =
                held.fetch_optional(&mut *tx).await.map_err(db_err(op))?
            else {
                return Ok(Requeued::NotHeld);
            };
            let attempts = match change {
                AttemptsChange::Keep => attempts,
                AttemptsChange::GiveBack => (attempts - 1).max(0),
                AttemptsChange::Reset => 0,
            };
            let sibling: Option<(i64, i64, i64)> = sqlx::query_as(&sibling_sql)
                .bind(project)
                .bind(iid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err(op))?;
            let requeued = match sibling {
                None => {
                    sqlx::query(BACK_TO_PENDING)
                        .bind(attempts)
                        .bind(run_after_ms)
                        .bind(error)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err(op))?;
                    Requeued::Pending
                }
                Some((sibling_id, sibling_attempts, sibling_run_after)) => {
                    // The newer job triages the issue's latest revision, which covers this
                    // job's work; it inherits the failure count and wait so retries stay bounded
                    // and a rate limit is still honoured.
                    sqlx::query(MERGE_INTO_SIBLING)
                        .bind(sibling_attempts.max(attempts))
                        .bind(sibling_run_after.max(run_after_ms))
                        .bind(error)
                        .bind(now)
                        .bind(sibling_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err(op))?;
                    let note = match error {
                        Some(error) => format!("superseded by pending job {sibling_id} after: {error}"),
                        None => format!("superseded by pending job {sibling_id}"),
                    };
                    sqlx::query(SUPERSEDE)
                        .bind(note)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err(op))?;
                    Requeued::Superseded(sibling_id)
                }
            };
            tx.commit().await.map_err(db_err(op))?;
            Ok(requeued)
        })
    }
}

// === helpers ===

async fn open_sqlite(
    url: &str,
    create: bool,
) -> Result<(SqlitePool, Option<SqliteFile>), QueueError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| QueueError::InvalidUrl {
            url: redact(url),
            source,
        })?
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the
        // last commits, and intake re-polls from its cursor.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let open_err = |source: sqlx::Error| QueueError::Open {
        target: redact(url),
        hint: match &source {
            sqlx::Error::Database(_) | sqlx::Error::Io(_) => {
                "check the path and permissions (the directory must exist and be writable)"
            }
            other => hint(other),
        },
        source,
    };
    if in_memory {
        // Each connection to an in-memory database would otherwise see its own empty
        // database (or share one with table-level locks that ignore busy_timeout), and the
        // database disappears with its last connection: keep exactly one, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.create_if_missing(true))
            .await
            .map_err(open_err)?;
        return Ok((pool, None));
    }
    let path = options.get_filename().to_path_buf();
    if !path.exists() {
        if !create {
            return Err(QueueError::Missing {
                path: path.display().to_string(),
            });
        }
        // Create the file once, here; the pool below never creates one, so a file deleted
        // under a running daemon makes new connections fail instead of starting an empty queue.
        use sqlx::Connection as _;
        let conn = sqlx::SqliteConnection::connect_with(&options.clone().create_if_missing(true))
            .await
            .map_err(open_err)?;
        conn.close().await.map_err(open_err)?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(SQLITE_MAX_CONNECTIONS)
        .connect_with(options.create_if_missing(false))
        .await
        .map_err(open_err)?;
    let identity = SqliteFile::identity(&path).map_err(|e| open_err(sqlx::Error::Io(e)))?;
    Ok((pool, Some(SqliteFile { path, identity })))
}

async fn open_postgres(url: &str) -> Result<PgPool, QueueError> {
    let options = PgConnectOptions::from_str(url).map_err(|source| QueueError::InvalidUrl {
        url: redact(url),
        source,
    })?;
    let open_err = |source: sqlx::Error| {
        QueueError::Open {
        target: redact(url),
        hint: match &source {
            sqlx::Error::Database(_) => hint(&source),
            _ => "check that PostgreSQL is running and the URL's host, port, user, password and database",
        },
        source,
    }
    };
    // One direct connection first: a pool that cannot connect only says "pool timed out"
    // after its acquire timeout, while this keeps the real cause (refused, bad password, ...).
    {
        use sqlx::Connection as _;
        let conn = tokio::time::timeout(
            POSTGRES_CONNECT_TIMEOUT,
            sqlx::PgConnection::connect_with(&options),
        )
        .await
        .map_err(|_| {
            open_err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer from the server within {} s",
                    POSTGRES_CONNECT_TIMEOUT.as_secs()
                ),
            )))
        })?
        .map_err(open_err)?;
        let _ = conn.close().await;
    }
    PgPoolOptions::new()
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(open_err)
}

fn job_from_tuple(tuple: JobTuple) -> Result<Job, QueueError> {
    let (id, project_id, issue_iid, attempts, lease_token, reason) = tuple;
    Ok(Job {
        id,
        project_id: from_db("project id", project_id)?,
        issue_iid: from_db("issue iid", issue_iid)?,
        attempts: attempts_from_db(attempts)?,
        lease_token,
        reason,
    })
}

fn row_from_tuple(tuple: RowTuple) -> Result<JobRow, QueueError> {
    let (
        id,
        project_id,
        issue_iid,
        state,
        attempts,
        last_error,
        reason,
        created_at_ms,
        updated_at_ms,
        run_after_ms,
        outcome,
        verdict,
    ) = tuple;
    Ok(JobRow {
        id,
        project_id: from_db("project id", project_id)?,
        issue_iid: from_db("issue iid", issue_iid)?,
        state: parse_state(&state)?,
        attempts: attempts_from_db(attempts)?,
        last_error,
        reason,
        created_at_ms,
        updated_at_ms,
        run_after_ms,
        outcome,
        verdict,
    })
}

fn attempts_from_db(attempts: i64) -> Result<u32, QueueError> {
    u32::try_from(attempts).map_err(|_| QueueError::Corrupt {
        detail: format!("attempt count {attempts}"),
    })
}

fn parse_state(state: &str) -> Result<JobState, QueueError> {
    JobState::from_str(state).map_err(|_| QueueError::Corrupt {
        detail: format!("job state {state:?}"),
    })
}

/// 128 random bits: unguessable, so only the claimer can act on the job.
fn new_lease_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The URL with the password (between `user:` and `@`) replaced by `***`, for errors and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |end| authority_start + end);
    let authority = &url[authority_start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..authority_start],
        &authority[..colon],
        &url[authority_start + at..]
    )
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@127.0.0.1:5432/db?x=1"),
            "postgres://u:***@127.0.0.1:5432/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://state/queue.db"), "sqlite://state/queue.db");
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }
}

mod decisions;
