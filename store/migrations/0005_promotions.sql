-- Promotion requests of the governance workflow, and the registration time of each subject
-- version (a new version restarts the subject's clean window). Keep this portable between
-- SQLite and PostgreSQL.

CREATE TABLE promotions (
    id         VARCHAR(64)  PRIMARY KEY,
    subject    VARCHAR(255) NOT NULL,
    state      VARCHAR(16)  NOT NULL,
    ticket     TEXT         NOT NULL,
    requester  TEXT         NOT NULL,
    approver   TEXT         NOT NULL,
    reason     TEXT         NOT NULL,
    comment    TEXT         NOT NULL,
    evidence   TEXT         NOT NULL,
    created_at BIGINT       NOT NULL,
    decided_at BIGINT       NOT NULL
);

-- At most one pending request per subject, even with concurrent requests on several replicas.
CREATE UNIQUE INDEX promotions_one_pending ON promotions (subject) WHERE state = 'pending';

-- Unix microseconds; NULL for versions registered before this migration.
ALTER TABLE subject_versions ADD COLUMN created_at BIGINT;
