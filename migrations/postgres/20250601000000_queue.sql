-- Durable job queue for sectriage (PostgreSQL). Times are unix milliseconds.
-- Keep in step with ../sqlite/20250601000000_queue.sql.

CREATE TABLE jobs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id     BIGINT NOT NULL,
    issue_iid      BIGINT NOT NULL,
    state          TEXT   NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts       BIGINT NOT NULL DEFAULT 0,
    lease_token    TEXT,             -- fencing token of the current holder; NULL unless running
    lease_until_ms BIGINT,           -- the job may be reclaimed once this has passed
    worker_id      TEXT,             -- for operators only; fencing uses lease_token
    last_error     TEXT,
    reason         TEXT   NOT NULL,  -- why the job was enqueued (webhook, poll, operator)
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    run_after_ms   BIGINT NOT NULL
);

-- At most one pending job per issue: new events for an issue that is already
-- waiting coalesce into that job (enqueue relies on ON CONFLICT with this index).
CREATE UNIQUE INDEX jobs_one_pending_per_issue ON jobs (project_id, issue_iid) WHERE state = 'pending';
-- claim, list and depth scan by state in id order.
CREATE INDEX jobs_state_id ON jobs (state, id);
-- claim checks whether another job of the same issue is running.
CREATE INDEX jobs_issue ON jobs (project_id, issue_iid);

-- Named intake cursors (for example the last updated_at seen by the poller).
CREATE TABLE cursors (
    name          TEXT   PRIMARY KEY,
    value         TEXT   NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- Webhook deliveries already accepted, keyed by a SHA-256 of the Idempotency-Key.
CREATE TABLE deliveries (
    key_hash   TEXT   PRIMARY KEY,
    seen_at_ms BIGINT NOT NULL
);
CREATE INDEX deliveries_seen_at ON deliveries (seen_at_ms);

-- Local record of posted suggestions; the marker in the GitLab note stays the source of truth.
CREATE TABLE suggestions (
    project_id   BIGINT NOT NULL,
    issue_iid    BIGINT NOT NULL,
    revision     TEXT   NOT NULL,
    note_id      BIGINT NOT NULL,
    job_id       BIGINT REFERENCES jobs (id) ON DELETE SET NULL,
    posted_at_ms BIGINT NOT NULL,
    PRIMARY KEY (project_id, issue_iid, revision)
);
