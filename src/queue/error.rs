//! Queue errors: each variant says what failed and what the operator can do about it.

use super::JobId;

/// Everything the queue can fail with.
///
/// Database failures keep the `sqlx` error as their [`source`](std::error::Error::source),
/// so a chain printer (`{:#}` in `anyhow`) shows the cause after our hint.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The URL names no backend we support.
    #[error(
        "unsupported queue URL {url:?}: use sqlite://path/to/file.db, sqlite::memory: or postgres://user:pass@host/db"
    )]
    UnsupportedUrl { url: String },

    /// The URL has a supported scheme but could not be parsed.
    #[error("invalid queue URL {url:?}: check its syntax")]
    InvalidUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },

    /// The database could not be opened or reached.
    #[error("cannot open the queue database {target}: {hint}")]
    Open {
        /// The URL with any password replaced by `***`.
        target: String,
        hint: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// A read-only command found no SQLite file where `daemon.queue_url` points.
    #[error(
        "no queue database at {path}: check daemon.queue_url (the daemon creates it on its first start)"
    )]
    Missing { path: String },

    /// The SQLite file the daemon opened is gone from its path.
    #[error(
        "the queue database {path} {what} while the daemon was running: jobs written since are not in the file at that path; stop the daemon, restore the file from a backup (or accept an empty queue), then start it again"
    )]
    Vanished { path: String, what: &'static str },

    /// Applying the schema migrations failed.
    #[error(
        "cannot apply the {backend} queue migrations: if the database was written by a newer sectriage, upgrade; otherwise check that the user may create tables"
    )]
    Migrate {
        backend: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A statement failed while the database was open.
    #[error("queue {op} failed: {hint}")]
    Database {
        /// The queue operation, for example `claim`.
        op: &'static str,
        hint: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// The caller's lease on a job is gone: it expired and another worker reclaimed the job,
    /// or the job was finished by someone else. The caller must drop its result.
    #[error(
        "job {id} is no longer held by this worker (its lease expired or it was finished elsewhere): drop this attempt's result"
    )]
    LeaseLost { id: JobId },

    /// A GitLab id does not fit the database's signed 64-bit integers.
    #[error(
        "{what} {value} is larger than the queue can store (at most {})",
        i64::MAX
    )]
    OutOfRange { what: &'static str, value: u64 },

    /// A row holds something this version does not understand.
    #[error(
        "queue row is not understood ({detail}): the database may have been written by a newer sectriage; upgrade"
    )]
    Corrupt { detail: String },
}

impl QueueError {
    /// True for [`QueueError::LeaseLost`], which workers treat as "someone else owns the job now".
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, QueueError::LeaseLost { .. })
    }

    /// True when the statement failed on a unique constraint (used to retry racy transitions).
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            QueueError::Database {
                source: sqlx::Error::Database(err),
                ..
            } => err.is_unique_violation(),
            _ => false,
        }
    }
}

/// Wraps a statement failure with the operation name and a hint.
pub(crate) fn db_err(op: &'static str) -> impl FnOnce(sqlx::Error) -> QueueError {
    move |source| QueueError::Database {
        op,
        hint: hint(&source),
        source,
    }
}

/// Picks the most useful next step for an operator from the shape of the error.
pub(crate) fn hint(err: &sqlx::Error) -> &'static str {
    match err {
        sqlx::Error::PoolTimedOut => {
            "all database connections stayed busy; lower the worker count or check for a stuck transaction"
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            "cannot reach the database; check that the server is running and the URL's host and port"
        }
        sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
            // SQLite's primary result code is the low byte of the (possibly extended) code.
            match db.code().and_then(|code| code.parse::<i64>().ok()).map(|code| code & 0xff) {
                Some(5) | Some(6) => {
                    "the SQLite file stayed locked past busy_timeout; run one daemon per SQLite file or move to PostgreSQL"
                }
                Some(8) => "the SQLite file is read-only; check the file's and its directory's permissions",
                Some(13) => "the disk is full; free space",
                Some(14) => {
                    "cannot open the SQLite file; check the path and permissions (the directory must exist and be writable)"
                }
                _ => "check that the SQLite file is writable and the disk is not full",
            }
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01") | Some("28000") => {
                "PostgreSQL rejected the login; check the URL's user and password"
            }
            Some("3D000") => "the PostgreSQL database does not exist; create it or fix the URL",
            Some("53300") => "PostgreSQL has too many connections; raise max_connections or run fewer daemons",
            Some("42501") => "the PostgreSQL user lacks a privilege on the queue tables; grant it or use the owner",
            Some("42P01") => {
                "a queue table is missing; the schema was changed outside sectriage, restore it or start a fresh database"
            }
            _ => "check that the database is reachable, writable and not full",
        },
        _ => "check that the database is reachable, writable and not full",
    }
}

/// Converts a GitLab id to the database's integer type.
pub(crate) fn to_db(what: &'static str, value: u64) -> Result<i64, QueueError> {
    i64::try_from(value).map_err(|_| QueueError::OutOfRange { what, value })
}

/// Converts a database integer back to a GitLab id.
pub(crate) fn from_db(what: &'static str, value: i64) -> Result<u64, QueueError> {
    u64::try_from(value).map_err(|_| QueueError::Corrupt {
        detail: format!("negative {what} {value}"),
    })
}
