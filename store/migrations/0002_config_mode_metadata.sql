-- Compatibility configuration and modes, globally (subject '') and per
-- subject, and the metadata and rule sets Confluent clients attach to
-- schemas. Keep this portable between SQLite and PostgreSQL.

CREATE TABLE subject_configs (
    subject             VARCHAR(255) PRIMARY KEY,
    compatibility       VARCHAR(32),
    normalize           INTEGER,
    compatibility_group TEXT
);

CREATE TABLE subject_modes (
    subject VARCHAR(255) PRIMARY KEY,
    mode    VARCHAR(32)  NOT NULL
);

ALTER TABLE schemas ADD COLUMN metadata TEXT;
ALTER TABLE schemas ADD COLUMN rule_set TEXT;
