//! The durable job queue, on SQLite always and on PostgreSQL when `SECTRIAGE_TEST_POSTGRES_URL`
//! is set (`scripts/ci-postgres` prints one). Each test gets its own SQLite file or its own
//! PostgreSQL schema. Time-dependent tests use leases and backoffs of a few milliseconds and
//! real time: the queue's clock is the wall clock, which paused tokio time does not move.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sectriage::queue::{
    backoff, backoff_ceiling, backoff_with_jitter, now_ms, Enqueued, Job, JobRow, JobState,
    PostIntent, Queue, QueueConfig, QueueError,
};

mod support;

/// Long enough that no test sees it expire by accident.
const LONG_LEASE: Duration = Duration::from_secs(60);
/// Short enough that expiry tests stay fast.
const SHORT_LEASE: Duration = Duration::from_millis(40);

// === harness ===

/// Generates one SQLite and one PostgreSQL test per shared test body.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(backend) = super::Backend::postgres(stringify!($name)) else {
                        return;
                    };
                    super::$name(backend).await;
                }
            )*
        }
    };
}

on_both_backends!(
    enqueue_coalesces_pending_jobs_per_issue,
    claim_takes_the_oldest_runnable_job_first,
    claim_waits_while_the_same_issue_is_running,
    expired_lease_is_reclaimed_as_a_new_attempt_and_fences_the_old_holder,
    expired_lease_on_the_last_attempt_dead_letters,
    retry_later_honours_retry_after,
    retry_later_backs_off_then_dead_letters_keeping_the_error,
    dead_letter_keeps_the_error,
    retry_dead_resets_the_attempts,
    release_gives_the_job_back_without_counting_the_attempt,
    failed_job_is_superseded_by_the_issues_newer_pending_job,
    depth_by_state_counts_every_state,
    oldest_pending_age_tracks_the_oldest_pending_job,
    cursor_round_trips,
    remember_delivery_deduplicates_within_ttl,
    record_suggestion_round_trips,
    concurrent_claims_take_each_job_exactly_once,
    enqueue_once_records_the_key_and_the_job_together,
    alarms_persist_until_cleared,
    a_recent_posting_intent_blocks_and_a_stale_one_is_renewed,
    completed_jobs_keep_their_outcome_and_verdict,
);

/// Where a test's database lives.
enum Backend {
    Sqlite,
    Postgres {
        base_url: String,
        test: &'static str,
    },
}

impl Backend {
    fn postgres(test: &'static str) -> Option<Backend> {
        support::postgres_url().map(|base_url| Backend::Postgres { base_url, test })
    }

    /// A fresh, empty, migrated database.
    async fn db(&self, config: QueueConfig) -> Db {
        match self {
            Backend::Sqlite => {
                // A file, not `sqlite::memory:`, so a second pool can share it (two daemons).
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("queue.db").display());
                let queue = Queue::connect(&url, config).await.unwrap();
                Db {
                    url,
                    queue,
                    cleanup: Cleanup::Dir(dir),
                }
            }
            Backend::Postgres { base_url, test } => {
                // PostgreSQL truncates names to 63 bytes: the random part goes first.
                let readable: String = test.chars().take(40).collect();
                let schema = format!("qt_{:08x}_{readable}", rand::random::<u32>());
                let admin = sqlx::PgPool::connect(base_url).await.unwrap();
                sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                // Every connection of the queue's pool puts only this schema on its path.
                let separator = if base_url.contains('?') { '&' } else { '?' };
                let url = format!("{base_url}{separator}options=-c%20search_path%3D{schema}");
                let queue = Queue::connect(&url, config).await.unwrap();
                Db {
                    url,
                    queue,
                    cleanup: Cleanup::Schema {
                        base_url: base_url.clone(),
                        schema,
                    },
                }
            }
        }
    }
}

struct Db {
    url: String,
    queue: Queue,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema { base_url: String, schema: String },
}

impl Db {
    /// Another queue on the same database, with its own pool: a second daemon.
    async fn open(&self, config: QueueConfig) -> Queue {
        Queue::connect(&self.url, config).await.unwrap()
    }

    /// Drops the test's schema; a failed test leaves it behind for inspection.
    async fn finish(self) {
        self.queue.close().await;
        if let Cleanup::Schema { base_url, schema } = self.cleanup {
            let admin = sqlx::PgPool::connect(&base_url).await.unwrap();
            sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
        }
    }
}

fn config(max_attempts: u32, base_ms: u64, max_ms: u64) -> QueueConfig {
    QueueConfig {
        max_attempts,
        base_backoff: Duration::from_millis(base_ms),
        max_backoff: Duration::from_millis(max_ms),
    }
}

/// Retries come back within a few milliseconds.
fn fast() -> QueueConfig {
    config(3, 1, 10)
}

async fn claim(queue: &Queue, worker: &str, lease: Duration) -> Option<Job> {
    queue.claim(worker, lease).await.unwrap()
}

/// Claims, polling until a job is runnable (after a backoff or a lease expiry).
async fn claim_within(queue: &Queue, worker: &str, lease: Duration, limit: Duration) -> Job {
    let start = Instant::now();
    loop {
        if let Some(job) = claim(queue, worker, lease).await {
            return job;
        }
        assert!(
            start.elapsed() < limit,
            "no job became runnable within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn row(queue: &Queue, id: i64) -> JobRow {
    queue
        .list(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|row| row.id == id)
        .unwrap_or_else(|| panic!("job {id} not listed"))
}

async fn ids(queue: &Queue, state: JobState) -> Vec<i64> {
    let rows = queue.list(Some(state), 1000).await.unwrap();
    let mut ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    ids.sort_unstable();
    ids
}

// === shared bodies ===

async fn enqueue_coalesces_pending_jobs_per_issue(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let Enqueued::Created(a) = q.enqueue(1, 10, "webhook").await.unwrap() else {
        panic!("first enqueue must create")
    };
    assert_eq!(
        q.enqueue(1, 10, "poll").await.unwrap(),
        Enqueued::Coalesced(a)
    );
    let b = q.enqueue(1, 11, "webhook").await.unwrap();
    let c = q.enqueue(2, 10, "webhook").await.unwrap();
    assert!(matches!(b, Enqueued::Created(id) if id != a));
    assert!(matches!(c, Enqueued::Created(id) if id != a && id != b.id()));
    assert_eq!(
        row(q, a).await.reason,
        "webhook",
        "coalescing keeps the first reason"
    );

    // Once the job runs, a new event needs a new job: the runner may have read the old issue.
    let job = claim(q, "w1", LONG_LEASE).await.unwrap();
    assert_eq!(job.id, a);
    let Enqueued::Created(d) = q.enqueue(1, 10, "note added").await.unwrap() else {
        panic!("an issue whose job is running gets a new pending job")
    };
    assert_eq!(
        q.enqueue(1, 10, "again").await.unwrap(),
        Enqueued::Coalesced(d)
    );
    assert_eq!(ids(q, JobState::Pending).await, vec![b.id(), c.id(), d]);
    db.finish().await;
}

async fn claim_takes_the_oldest_runnable_job_first(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let mut created = Vec::new();
    for iid in [30, 10, 20] {
        created.push(q.enqueue(7, iid, "poll").await.unwrap().id());
    }
    let mut claimed = Vec::new();
    while let Some(job) = claim(q, "w1", LONG_LEASE).await {
        assert_eq!(job.attempts, 1);
        assert_eq!(job.project_id, 7);
        assert_eq!(job.reason, "poll");
        claimed.push((job.id, job.issue_iid));
    }
    assert_eq!(
        claimed,
        vec![(created[0], 30), (created[1], 10), (created[2], 20)]
    );
    assert_eq!(ids(q, JobState::Running).await, created);
    db.finish().await;
}

async fn claim_waits_while_the_same_issue_is_running(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    q.enqueue(1, 1, "webhook").await.unwrap();
    let first = claim(q, "w1", LONG_LEASE).await.unwrap();
    let newer = q.enqueue(1, 1, "webhook").await.unwrap().id();
    let other = q.enqueue(1, 2, "webhook").await.unwrap().id();
    assert_eq!(claim(q, "w2", LONG_LEASE).await.unwrap().id, other);
    assert!(
        claim(q, "w2", LONG_LEASE).await.is_none(),
        "issue 1 is busy"
    );
    assert!(q.complete(&first).await.unwrap());
    assert_eq!(claim(q, "w2", LONG_LEASE).await.unwrap().id, newer);
    db.finish().await;
}

async fn expired_lease_is_reclaimed_as_a_new_attempt_and_fences_the_old_holder(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let id = q.enqueue(1, 1, "webhook").await.unwrap().id();
    let old = claim(q, "w1", Duration::from_millis(500)).await.unwrap();
    assert!(
        claim(q, "w2", SHORT_LEASE).await.is_none(),
        "a live lease is not reclaimed"
    );
    assert!(
        q.heartbeat(&old, SHORT_LEASE).await.unwrap(),
        "the holder may extend"
    );

    let new = claim_within(q, "w2", LONG_LEASE, Duration::from_secs(5)).await;
    assert_eq!(new.id, id);
    assert_eq!(new.attempts, 2, "a reclaim counts as an attempt");
    assert_ne!(new.lease_token, old.lease_token);

    // The old holder is fenced out of every transition.
    assert!(!q.heartbeat(&old, LONG_LEASE).await.unwrap());
    assert!(!q.complete(&old).await.unwrap());
    let lost = q.retry_later(&old, "late", None).await.unwrap_err();
    assert!(lost.is_lease_lost(), "{lost}");
    assert!(q
        .dead_letter(&old, "late")
        .await
        .unwrap_err()
        .is_lease_lost());
    assert!(q.release(&old).await.unwrap_err().is_lease_lost());
    let row = row(q, id).await;
    assert_eq!((row.state, row.attempts), (JobState::Running, 2));

    assert!(q.heartbeat(&new, LONG_LEASE).await.unwrap());
    assert!(q.complete(&new).await.unwrap());
    assert!(
        !q.complete(&new).await.unwrap(),
        "complete is not repeatable"
    );
    assert_eq!(ids(q, JobState::Done).await, vec![id]);
    db.finish().await;
}

async fn expired_lease_on_the_last_attempt_dead_letters(backend: Backend) {
    let db = backend.db(config(2, 1, 10)).await;
    let q = &db.queue;
    let id = q.enqueue(1, 1, "webhook").await.unwrap().id();
    assert_eq!(claim(q, "w1", SHORT_LEASE).await.unwrap().attempts, 1);
    let second = claim_within(q, "w2", SHORT_LEASE, Duration::from_secs(5)).await;
    assert_eq!(second.attempts, 2);
    tokio::time::sleep(SHORT_LEASE * 3).await;
    // A job that keeps killing its worker must not loop forever.
    assert!(claim(q, "w3", LONG_LEASE).await.is_none());
    let row = row(q, id).await;
    assert_eq!((row.state, row.attempts), (JobState::Dead, 2));
    assert!(row.last_error.unwrap().contains("lease expired"));
    assert!(!q.heartbeat(&second, LONG_LEASE).await.unwrap());
    db.finish().await;
}

async fn retry_later_honours_retry_after(backend: Backend) {
    // Backoff alone would be at most 1 ms; the server's Retry-After wins.
    let db = backend.db(config(8, 1, 600_000)).await;
    let q = &db.queue;
    let id = q.enqueue(1, 1, "webhook").await.unwrap().id();
    let job = claim(q, "w1", LONG_LEASE).await.unwrap();
    let before = now_ms();
    let state = q
        .retry_later(&job, "gitlab: 429", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(state, JobState::Pending);
    let row = row(q, id).await;
    assert_eq!(row.state, JobState::Pending);
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error.as_deref(), Some("gitlab: 429"));
    assert!(
        row.run_after_ms >= before + 60_000,
        "{} < {}",
        row.run_after_ms,
        before + 60_000
    );
    assert!(row.run_after_ms <= now_ms() + 60_000);
    assert!(
        claim(q, "w1", LONG_LEASE).await.is_none(),
        "still backing off"
    );
    db.finish().await;
}

async fn retry_later_backs_off_then_dead_letters_keeping_the_error(backend: Backend) {
    let db = backend.db(fast()).await;
    let q = &db.queue;
    let id = q.enqueue(4, 2, "webhook").await.unwrap().id();
    let mut states = Vec::new();
    for attempt in 1..=3 {
        let job = claim_within(q, "w1", LONG_LEASE, Duration::from_secs(5)).await;
        assert_eq!((job.id, job.attempts), (id, attempt));
        let before = now_ms();
        let state = q
            .retry_later(&job, &format!("llm timeout {attempt}"), None)
            .await
            .unwrap();
        states.push(state);
        if state == JobState::Pending {
            let row = row(q, id).await;
            assert!(row.run_after_ms >= before);
            assert!(row.run_after_ms <= now_ms() + 10, "capped at max_backoff");
        }
    }
    assert_eq!(
        states,
        [JobState::Pending, JobState::Pending, JobState::Dead]
    );
    let row = row(q, id).await;
    assert_eq!(row.state, JobState::Dead);
    assert_eq!(row.attempts, 3);
    assert_eq!(row.last_error.as_deref(), Some("llm timeout 3"));
    assert_eq!(row.reason, "webhook");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        claim(q, "w1", LONG_LEASE).await.is_none(),
        "dead jobs are not claimed"
    );
    db.finish().await;
}

async fn dead_letter_keeps_the_error(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let id = q.enqueue(1, 1, "webhook").await.unwrap().id();
    let job = claim(q, "w1", LONG_LEASE).await.unwrap();
    q.dead_letter(&job, "issue is not confidential")
        .await
        .unwrap();
    let row = row(q, id).await;
    assert_eq!((row.state, row.attempts), (JobState::Dead, 1));
    assert_eq!(row.last_error.as_deref(), Some("issue is not confidential"));
    assert!(!q.complete(&job).await.unwrap());
    db.finish().await;
}

async fn retry_dead_resets_the_attempts(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let id = q.enqueue(1, 1, "webhook").await.unwrap().id();
    let job = claim(q, "w1", LONG_LEASE).await.unwrap();
    assert!(
        !q.retry_dead(id).await.unwrap(),
        "a running job is not dead"
    );
    q.dead_letter(&job, "fatal").await.unwrap();

    assert!(q.retry_dead(id).await.unwrap());
    let row = row(q, id).await;
    assert_eq!((row.state, row.attempts), (JobState::Pending, 0));
    assert!(!q.retry_dead(id).await.unwrap(), "already pending");
    assert!(!q.retry_dead(id + 1000).await.unwrap(), "no such job");
    let again = claim(q, "w1", LONG_LEASE).await.unwrap();
    assert_eq!((again.id, again.attempts), (id, 1));

    // A dead job whose issue already has a pending job is covered by that job.
    q.dead_letter(&again, "fatal again").await.unwrap();
    let newer = q.enqueue(1, 1, "webhook").await.unwrap().id();
    assert!(q.retry_dead(id).await.unwrap());
    assert_eq!(ids(q, JobState::Pending).await, vec![newer]);
    assert!(ids(q, JobState::Dead).await.is_empty());
    db.finish().await;
}

async fn release_gives_the_job_back_without_counting_the_attempt(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let id = q.enqueue(1, 1, "webhook").await.unwrap().id();
    let job = claim(q, "w1", LONG_LEASE).await.unwrap();
    q.release(&job).await.unwrap();
    let row = row(q, id).await;
    assert_eq!((row.state, row.attempts), (JobState::Pending, 0));
    assert!(!q.heartbeat(&job, LONG_LEASE).await.unwrap());
    let again = claim(q, "w2", LONG_LEASE).await.unwrap();
    assert_eq!((again.id, again.attempts), (id, 1), "runnable at once");
    db.finish().await;
}

async fn failed_job_is_superseded_by_the_issues_newer_pending_job(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let old = q.enqueue(1, 1, "webhook").await.unwrap().id();
    let job = claim(q, "w1", LONG_LEASE).await.unwrap();
    let newer = q.enqueue(1, 1, "note added").await.unwrap().id();
    let before = now_ms();
    let state = q
        .retry_later(&job, "gitlab: 429", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(
        state,
        JobState::Pending,
        "the issue's work is still pending"
    );

    let old_row = row(q, old).await;
    assert_eq!(old_row.state, JobState::Done);
    let note = old_row.last_error.unwrap();
    assert!(
        note.contains(&format!("superseded by pending job {newer}")),
        "{note}"
    );
    assert!(note.contains("gitlab: 429"), "{note}");
    let newer_row = row(q, newer).await;
    assert_eq!(newer_row.state, JobState::Pending);
    assert_eq!(newer_row.attempts, 1, "the failure still counts");
    assert!(
        newer_row.run_after_ms >= before + 60_000,
        "Retry-After still holds"
    );
    assert_eq!(newer_row.last_error.as_deref(), Some("gitlab: 429"));

    // The same for a release on shutdown: the newer job covers it and nothing is counted.
    let other = q.enqueue(2, 2, "webhook").await.unwrap().id();
    let running = claim(q, "w1", LONG_LEASE).await.unwrap();
    assert_eq!(running.id, other);
    let other_newer = q.enqueue(2, 2, "webhook").await.unwrap().id();
    q.release(&running).await.unwrap();
    assert_eq!(row(q, other).await.state, JobState::Done);
    let other_newer_row = row(q, other_newer).await;
    assert_eq!(
        (other_newer_row.state, other_newer_row.attempts),
        (JobState::Pending, 0)
    );
    db.finish().await;
}

async fn depth_by_state_counts_every_state(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let zero: BTreeMap<JobState, u64> = JobState::ALL.into_iter().map(|s| (s, 0)).collect();
    assert_eq!(q.depth_by_state().await.unwrap(), zero);
    for iid in 1..=5 {
        q.enqueue(1, iid, "poll").await.unwrap();
    }
    let done = claim(q, "w1", LONG_LEASE).await.unwrap();
    q.complete(&done).await.unwrap();
    let dead = claim(q, "w1", LONG_LEASE).await.unwrap();
    q.dead_letter(&dead, "fatal").await.unwrap();
    claim(q, "w1", LONG_LEASE).await.unwrap();
    let depth = q.depth_by_state().await.unwrap();
    let expected = BTreeMap::from([
        (JobState::Pending, 2),
        (JobState::Running, 1),
        (JobState::Done, 1),
        (JobState::Dead, 1),
    ]);
    assert_eq!(depth, expected);
    db.finish().await;
}

async fn oldest_pending_age_tracks_the_oldest_pending_job(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    assert_eq!(q.oldest_pending_age().await.unwrap(), None);
    q.enqueue(1, 1, "poll").await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    q.enqueue(1, 2, "poll").await.unwrap();
    let age = q.oldest_pending_age().await.unwrap().unwrap();
    assert!(age >= Duration::from_millis(30), "{age:?}");
    assert!(age < Duration::from_secs(30), "{age:?}");
    let job = claim(q, "w1", LONG_LEASE).await.unwrap();
    q.complete(&job).await.unwrap();
    // Now the second job is the oldest pending one.
    let second_created = q.list(Some(JobState::Pending), 1).await.unwrap()[0].created_at_ms;
    let before = now_ms();
    let age = q.oldest_pending_age().await.unwrap().unwrap();
    let after = now_ms();
    let age_ms = i64::try_from(age.as_millis()).unwrap();
    assert!(before - second_created <= age_ms && age_ms <= after - second_created);
    db.finish().await;
}

async fn cursor_round_trips(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    assert_eq!(q.cursor("issues").await.unwrap(), None);
    q.set_cursor("issues", "2025-06-01T00:00:00Z")
        .await
        .unwrap();
    q.set_cursor("notes", "17").await.unwrap();
    assert_eq!(
        q.cursor("issues").await.unwrap().as_deref(),
        Some("2025-06-01T00:00:00Z")
    );
    q.set_cursor("issues", "2025-06-02T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(
        q.cursor("issues").await.unwrap().as_deref(),
        Some("2025-06-02T00:00:00Z")
    );
    assert_eq!(q.cursor("notes").await.unwrap().as_deref(), Some("17"));
    db.finish().await;
}

async fn remember_delivery_deduplicates_within_ttl(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let day = Duration::from_secs(86_400);
    assert!(q.remember_delivery("key-1", day).await.unwrap());
    assert!(
        !q.remember_delivery("key-1", day).await.unwrap(),
        "a redelivery"
    );
    assert!(q.remember_delivery("key-2", day).await.unwrap());

    let short = Duration::from_millis(200);
    assert!(q.remember_delivery("key-3", short).await.unwrap());
    assert!(!q.remember_delivery("key-3", short).await.unwrap());
    tokio::time::sleep(short * 3).await;
    assert!(
        q.remember_delivery("key-3", short).await.unwrap(),
        "pruned after ttl"
    );
    db.finish().await;
}

async fn record_suggestion_round_trips(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let job = q.enqueue(5, 9, "webhook").await.unwrap().id();
    assert_eq!(q.suggestion(5, 9, "rev-a").await.unwrap(), None);
    q.record_suggestion(5, 9, "rev-a", 1001, job).await.unwrap();
    assert_eq!(q.suggestion(5, 9, "rev-a").await.unwrap(), Some(1001));
    assert_eq!(q.suggestion(5, 9, "rev-b").await.unwrap(), None);
    assert_eq!(q.suggestion(5, 10, "rev-a").await.unwrap(), None);
    q.record_suggestion(5, 9, "rev-a", 1002, job).await.unwrap();
    assert_eq!(q.suggestion(5, 9, "rev-a").await.unwrap(), Some(1002));

    let unknown_job = q.record_suggestion(5, 9, "rev-c", 1003, job + 1000).await;
    assert!(unknown_job.is_err(), "job_id must name a job");
    let too_big = q.enqueue(u64::MAX, 1, "webhook").await.unwrap_err();
    assert!(
        matches!(too_big, QueueError::OutOfRange { .. }),
        "{too_big}"
    );
    db.finish().await;
}

async fn concurrent_claims_take_each_job_exactly_once(backend: Backend) {
    const JOBS: u64 = 200;
    const WORKERS: usize = 8;
    let db = backend.db(QueueConfig::default()).await;
    for iid in 1..=JOBS {
        db.queue.enqueue(1, iid, "poll").await.unwrap();
    }
    // Two pools on one database: two daemons racing for the same rows.
    let daemons = [db.queue.clone(), db.open(QueueConfig::default()).await];
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let queue = daemons[worker % 2].clone();
        tasks.spawn(async move {
            let name = format!("worker-{worker}");
            let mut claimed = Vec::new();
            while let Some(job) = queue.claim(&name, LONG_LEASE).await.unwrap() {
                assert_eq!(job.attempts, 1);
                assert!(queue.complete(&job).await.unwrap());
                claimed.push(job.id);
            }
            claimed
        });
    }
    let mut all = Vec::new();
    let mut busy_workers = 0;
    while let Some(claimed) = tasks.join_next().await {
        let claimed = claimed.unwrap();
        busy_workers += usize::from(!claimed.is_empty());
        all.extend(claimed);
    }
    let claims = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), claims, "a job was claimed twice");
    assert_eq!(claims as u64, JOBS, "every job was claimed");
    assert!(busy_workers > 1, "the workers did run concurrently");
    let depth = db.queue.depth_by_state().await.unwrap();
    assert_eq!(depth[&JobState::Done], JOBS);
    assert_eq!(depth[&JobState::Pending] + depth[&JobState::Running], 0);
    daemons[1].close().await;
    db.finish().await;
}

// === SQLite only ===

#[tokio::test]
async fn file_backed_sqlite_queue_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("state").join("q.db").display()
    );
    std::fs::create_dir(dir.path().join("state")).unwrap();
    let queue = Queue::connect(&url, QueueConfig::default()).await.unwrap();
    assert_eq!(queue.backend(), "sqlite");
    let mut pending = Vec::new();
    for iid in 1..=3 {
        pending.push(queue.enqueue(3, iid, "webhook").await.unwrap().id());
    }
    let running = claim(&queue, "w1", LONG_LEASE).await.unwrap();
    pending.remove(0);
    queue.set_cursor("issues", "42").await.unwrap();
    queue.close().await;
    drop(queue);

    let reopened = Queue::connect(&url, QueueConfig::default()).await.unwrap();
    assert_eq!(ids(&reopened, JobState::Pending).await, pending);
    assert_eq!(ids(&reopened, JobState::Running).await, vec![running.id]);
    assert_eq!(
        reopened.cursor("issues").await.unwrap().as_deref(),
        Some("42")
    );
    assert!(
        reopened.complete(&running).await.unwrap(),
        "the lease survives too"
    );
    let next = claim(&reopened, "w2", LONG_LEASE).await.unwrap();
    assert_eq!(next.id, pending[0]);
    reopened.close().await;
}

#[tokio::test]
async fn in_memory_sqlite_queue_works() {
    let queue = Queue::connect("sqlite::memory:", QueueConfig::default())
        .await
        .unwrap();
    let id = queue.enqueue(1, 1, "test").await.unwrap().id();
    let job = claim(&queue, "w1", LONG_LEASE).await.unwrap();
    assert_eq!(job.id, id);
    assert!(queue.complete(&job).await.unwrap());
}

#[tokio::test]
async fn connect_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = format!(
        "sqlite://{}",
        dir.path().join("nope").join("q.db").display()
    );
    let err = Queue::connect(&missing_dir, QueueConfig::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("check the path and permissions"),
        "{err}"
    );

    let err = Queue::connect("mysql://u:p@h/db", QueueConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::UnsupportedUrl { .. }));
    assert!(err.to_string().contains("use sqlite://"), "{err}");
    assert!(
        !err.to_string().contains(":p@"),
        "the password is redacted: {err}"
    );

    let err = Queue::connect(
        "postgres://u:s3cret@127.0.0.1:notaport/db",
        QueueConfig::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, QueueError::InvalidUrl { .. }), "{err}");
    assert!(err.to_string().contains("u:***@127.0.0.1"), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[tokio::test]
async fn postgres_login_errors_say_what_to_do_without_the_password() {
    let Some(Backend::Postgres { base_url, .. }) = Backend::postgres("login") else {
        return;
    };
    // Same server, wrong password: PostgreSQL refuses at once (no connect retries).
    let (scheme_user, rest) = base_url
        .split_once(':')
        .and_then(|(scheme, rest)| {
            let (user, after) = rest.trim_start_matches("//").split_once(':')?;
            Some((
                format!("{scheme}://{user}"),
                after.split_once('@')?.1.to_owned(),
            ))
        })
        .unwrap();
    let url = format!("{scheme_user}:wrong-s3cret@{rest}");
    let err = Queue::connect(&url, QueueConfig::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, QueueError::Open { .. }), "{message}");
    assert!(
        message.contains("check the URL's user and password"),
        "{message}"
    );
    assert!(!message.contains("wrong-s3cret"), "{message}");
}

// === backoff, pure ===

#[test]
fn backoff_ceiling_doubles_per_attempt_up_to_the_cap() {
    let config = QueueConfig::default();
    let secs = |attempts| backoff_ceiling(attempts, &config).as_secs();
    assert_eq!(
        [secs(0), secs(1), secs(2), secs(3), secs(4)],
        [2, 2, 4, 8, 16]
    );
    assert_eq!(secs(9), 512);
    assert_eq!(secs(10), 900, "2 s * 2^9 = 1024 s is capped at 15 min");
    assert_eq!(secs(40), 900, "no overflow past 32 doublings");
    assert_eq!(secs(u32::MAX), 900);
}

#[test]
fn backoff_jitter_spans_zero_to_the_ceiling() {
    let config = QueueConfig::default();
    let ceiling = backoff_ceiling(4, &config);
    assert_eq!(backoff_with_jitter(4, None, &config, 0.0), Duration::ZERO);
    assert_eq!(backoff_with_jitter(4, None, &config, 1.0), ceiling);
    assert_eq!(backoff_with_jitter(4, None, &config, 0.5), ceiling / 2);
    assert_eq!(
        backoff_with_jitter(4, None, &config, -3.0),
        Duration::ZERO,
        "clamped"
    );
    assert_eq!(
        backoff_with_jitter(4, None, &config, 7.0),
        ceiling,
        "clamped"
    );
    assert_eq!(
        backoff_with_jitter(4, None, &config, f64::NAN),
        Duration::ZERO
    );
    let draws: Vec<Duration> = (0..1000).map(|_| backoff(4, None, &config)).collect();
    assert!(draws.iter().all(|draw| *draw <= ceiling));
    assert!(
        draws.iter().any(|draw| *draw < ceiling / 2),
        "draws spread out"
    );
    assert!(
        draws.iter().any(|draw| *draw > ceiling / 2),
        "draws spread out"
    );
}

#[test]
fn backoff_is_at_least_retry_after_but_at_most_the_cap() {
    let config = QueueConfig::default();
    let thirty = Some(Duration::from_secs(30));
    assert_eq!(
        backoff_with_jitter(1, thirty, &config, 0.0),
        Duration::from_secs(30)
    );
    assert_eq!(
        backoff_with_jitter(1, thirty, &config, 1.0),
        Duration::from_secs(30)
    );
    // Jitter above the floor still wins.
    assert_eq!(
        backoff_with_jitter(8, thirty, &config, 1.0),
        Duration::from_secs(256)
    );
    let hour = Some(Duration::from_secs(3600));
    assert_eq!(
        backoff_with_jitter(1, hour, &config, 0.0),
        config.max_backoff
    );
    for _ in 0..100 {
        let draw = backoff(3, thirty, &config);
        assert!(draw >= Duration::from_secs(30) && draw <= config.max_backoff);
    }
}

#[test]
fn job_state_names_round_trip() {
    for state in JobState::ALL {
        assert_eq!(state.as_str().parse::<JobState>().unwrap(), state);
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            format!("\"{}\"", state.as_str())
        );
    }
    assert!("stuck"
        .parse::<JobState>()
        .unwrap_err()
        .contains("use pending"));
}

async fn enqueue_once_records_the_key_and_the_job_together(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let ttl = Duration::from_secs(3600);
    let first = q
        .enqueue_once("seen:1:2:t1", ttl, 1, 2, "poll")
        .await
        .unwrap();
    assert!(matches!(first, Some(Enqueued::Created(_))), "{first:?}");
    assert_eq!(
        q.enqueue_once("seen:1:2:t1", ttl, 1, 2, "poll")
            .await
            .unwrap(),
        None
    );
    // Another key of the same issue coalesces into the pending job.
    let again = q
        .enqueue_once("seen:1:2:t2", ttl, 1, 2, "poll")
        .await
        .unwrap();
    assert_eq!(again, Some(Enqueued::Coalesced(first.unwrap().id())));
    let dead = q
        .dead_letter_once("seen:1:3:t1", ttl, 1, 3, "poll", "cannot decode")
        .await
        .unwrap()
        .unwrap();
    let row = row(q, dead).await;
    assert_eq!(
        (row.state, row.last_error.as_deref()),
        (JobState::Dead, Some("cannot decode"))
    );
    assert_eq!(
        q.dead_letter_once("seen:1:3:t1", ttl, 1, 3, "poll", "x")
            .await
            .unwrap(),
        None,
        "the same key is dead-lettered once"
    );
    db.finish().await;
}

async fn alarms_persist_until_cleared(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    assert!(db.queue.alarms().await.unwrap().is_empty());
    db.queue
        .raise_alarm("internal-flag-dropped", "note 5 public", "pid-1")
        .await
        .unwrap();
    db.queue
        .raise_alarm("internal-flag-dropped", "note 6 public", "pid-2")
        .await
        .unwrap();
    // Another daemon (or a restarted one) on the same database sees it.
    let other = db.open(QueueConfig::default()).await;
    let alarms = other.alarms().await.unwrap();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(
        (alarms[0].detail.as_str(), alarms[0].raised_by.as_str()),
        ("note 6 public", "pid-2")
    );
    assert_eq!(other.clear_alarms().await.unwrap(), 1);
    assert!(db.queue.alarms().await.unwrap().is_empty());
    other.close().await;
    db.finish().await;
}

async fn a_recent_posting_intent_blocks_and_a_stale_one_is_renewed(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    let job = q.enqueue(5, 9, "poll").await.unwrap().id();
    let settle = Duration::from_millis(300);
    assert_eq!(
        q.begin_post(5, 9, "rev", job, settle).await.unwrap(),
        PostIntent::Fresh
    );
    assert!(matches!(
        q.begin_post(5, 9, "rev", job, settle).await.unwrap(),
        PostIntent::Recent { .. }
    ));
    tokio::time::sleep(settle).await;
    assert!(matches!(
        q.begin_post(5, 9, "rev", job, settle).await.unwrap(),
        PostIntent::Stale { .. }
    ));
    assert!(
        matches!(
            q.begin_post(5, 9, "rev", job, settle).await.unwrap(),
            PostIntent::Recent { .. }
        ),
        "renewed"
    );
    // Recording the note ends the intent; abandoning one too.
    q.record_suggestion(5, 9, "rev", 77, job).await.unwrap();
    assert_eq!(
        q.begin_post(5, 9, "rev", job, settle).await.unwrap(),
        PostIntent::Fresh
    );
    q.abandon_post(5, 9, "rev").await.unwrap();
    assert_eq!(
        q.begin_post(5, 9, "rev", job, settle).await.unwrap(),
        PostIntent::Fresh
    );
    db.finish().await;
}

async fn completed_jobs_keep_their_outcome_and_verdict(backend: Backend) {
    let db = backend.db(QueueConfig::default()).await;
    let q = &db.queue;
    q.enqueue(1, 1, "poll").await.unwrap();
    q.enqueue(1, 2, "poll").await.unwrap();
    let a = claim(q, "w", LONG_LEASE).await.unwrap();
    assert!(q
        .complete_with(&a, "dry-run", Some("virtualization"))
        .await
        .unwrap());
    let rows = q.list(None, 10).await.unwrap();
    assert_eq!(rows[0].issue_iid, 2, "newest first");
    let done = rows.iter().find(|r| r.id == a.id).unwrap();
    assert_eq!(
        (done.outcome.as_deref(), done.verdict.as_deref()),
        (Some("dry-run"), Some("virtualization"))
    );
    db.finish().await;
}

#[tokio::test]
async fn read_only_commands_never_create_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let url = format!("sqlite://{}", path.display());
    let err = Queue::connect_existing(&url, QueueConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::Missing { .. }), "{err}");
    assert!(!path.exists());
    Queue::connect(&url, QueueConfig::default()).await.unwrap();
    assert!(path.exists());
    Queue::connect_existing(&url, QueueConfig::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deleted_sqlite_file_is_reported_not_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let q = Queue::connect(
        &format!("sqlite://{}", path.display()),
        QueueConfig::default(),
    )
    .await
    .unwrap();
    q.probe_write().await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = q.probe_write().await.unwrap_err();
    assert!(matches!(err, QueueError::Vanished { .. }), "{err}");
    assert!(err.to_string().contains("deleted"), "{err}");
    assert!(!path.exists(), "not silently replaced by an empty queue");
}
