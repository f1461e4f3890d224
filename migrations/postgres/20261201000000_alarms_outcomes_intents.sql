-- Safety alarms, job outcomes and posting intents (PostgreSQL).
-- Keep in step with ../sqlite/20261201000000_alarms_outcomes_intents.sql.

-- What a finished job did (posted, dry-run, already-posted, skipped-public, ...) and the
-- use case it suggested, for operators (`sectriage queue list`).
ALTER TABLE jobs ADD COLUMN outcome TEXT;
ALTER TABLE jobs ADD COLUMN verdict TEXT;

-- Safety alarms that stop posting until an operator clears them (`sectriage alarm clear`).
-- They live here, not in memory, so a restart or a second daemon sees them too.
CREATE TABLE alarms (
    name         TEXT    PRIMARY KEY,
    detail       TEXT    NOT NULL,
    raised_at_ms BIGINT  NOT NULL,
    raised_by    TEXT    NOT NULL
);

-- A suggestion about to be posted: written before the POST, so a retry after an unclear
-- answer (a 502 for a stored note) or a lagging notes list waits instead of posting twice.
CREATE TABLE post_intents (
    project_id    BIGINT  NOT NULL,
    issue_iid     BIGINT  NOT NULL,
    revision      TEXT    NOT NULL,
    job_id        BIGINT ,
    started_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (project_id, issue_iid, revision)
);
