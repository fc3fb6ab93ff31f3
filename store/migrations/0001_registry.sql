-- Registry tables: content-addressed schemas, their references, the
-- subject versions that point at them, and the counter that hands out
-- global schema IDs (never reused, even after a hard delete).
-- Keep this portable between SQLite and PostgreSQL.

CREATE TABLE id_counters (
    name  VARCHAR(64) PRIMARY KEY,
    value BIGINT      NOT NULL
);

INSERT INTO id_counters (name, value) VALUES ('schema_id', 0);

CREATE TABLE schemas (
    id          BIGINT      PRIMARY KEY,
    fingerprint VARCHAR(64) NOT NULL UNIQUE,
    schema_type VARCHAR(16) NOT NULL,
    canonical   TEXT        NOT NULL
);

CREATE TABLE schema_references (
    schema_id BIGINT       NOT NULL REFERENCES schemas (id),
    position  INTEGER      NOT NULL,
    name      TEXT         NOT NULL,
    subject   VARCHAR(255) NOT NULL,
    version   INTEGER      NOT NULL,
    PRIMARY KEY (schema_id, position)
);

CREATE INDEX schema_references_target ON schema_references (subject, version);

CREATE TABLE subject_versions (
    subject   VARCHAR(255) NOT NULL,
    version   INTEGER      NOT NULL,
    schema_id BIGINT       NOT NULL REFERENCES schemas (id),
    deleted   INTEGER      NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, version)
);

CREATE INDEX subject_versions_schema ON subject_versions (schema_id);
