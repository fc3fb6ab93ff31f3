-- The team owning each subject and its escalation entry, which alerts about the subject carry.
-- Keep this portable between SQLite and PostgreSQL.

CREATE TABLE subject_owners (
    subject    VARCHAR(255) PRIMARY KEY,
    team       TEXT         NOT NULL,
    escalation TEXT         NOT NULL,
    changed_at BIGINT       NOT NULL
);
