-- Fingerprints of triaged reports, for "possibly the same as issue N" (PostgreSQL).
-- Keep in step with ../sqlite/20261201000200_fingerprints.sql.
-- A fingerprint holds knowledge-base names (files, functions, devices), crash kinds and
-- title words of the report: confidential like the report, kept in the queue.
CREATE TABLE fingerprints (
    project_id    BIGINT  NOT NULL,
    issue_iid     BIGINT  NOT NULL,
    fingerprint   TEXT    NOT NULL, -- JSON
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (project_id, issue_iid)
);
CREATE INDEX fingerprints_updated_at ON fingerprints (updated_at_ms);
