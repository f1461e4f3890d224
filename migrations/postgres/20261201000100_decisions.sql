-- Maintainers' decisions on suggestions, and what each suggestion said (PostgreSQL).
-- Keep in step with ../sqlite/20261201000100_decisions.sql.

-- What the posted suggestion said, so decisions can be scored against it.
ALTER TABLE suggestions ADD COLUMN use_case TEXT;
ALTER TABLE suggestions ADD COLUMN confidence TEXT;
ALTER TABLE suggestions ADD COLUMN engine_version TEXT;
ALTER TABLE suggestions ADD COLUMN questions TEXT; -- JSON array of question codes

-- One row per maintainer decision (a reply, an emoji, a review-page button).
CREATE TABLE decisions (
    project_id      BIGINT  NOT NULL,
    issue_iid       BIGINT  NOT NULL,
    via             TEXT    NOT NULL CHECK (via IN ('reply', 'emoji', 'review', 'labels')),
    source_id       BIGINT  NOT NULL, -- the note or award id (or a label-change marker)
    revision        TEXT,             -- the suggestion decided on, if one was posted
    suggested       TEXT,             -- its use case
    confidence      TEXT,
    engine_version  TEXT,
    final_class     TEXT,             -- NULL when the suggestion was rejected
    outcome         TEXT    NOT NULL CHECK (outcome IN ('accepted', 'overridden', 'rejected')),
    user_id         BIGINT  NOT NULL,
    username        TEXT    NOT NULL,
    suggested_at_ms BIGINT ,
    decided_at_ms   BIGINT  NOT NULL,
    PRIMARY KEY (project_id, issue_iid, via, source_id)
);
CREATE INDEX decisions_decided_at ON decisions (decided_at_ms);

-- Labels sectriage added on a confirmation: a label a human removed afterwards is never
-- added again.
CREATE TABLE applied_labels (
    project_id    BIGINT  NOT NULL,
    issue_iid     BIGINT  NOT NULL,
    label         TEXT    NOT NULL,
    applied_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (project_id, issue_iid, label)
);
