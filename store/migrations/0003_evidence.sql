-- Governance: per-subject validation modes, clean-window evidence (counters
-- in time buckets per gateway replica, and a heartbeat per replica and
-- bucket), and drift samples. Timestamps are BIGINT unix seconds (UTC).
-- Writers add to existing rows with INSERT ... ON CONFLICT (...) DO UPDATE,
-- so every upsert target below is a primary key.
-- Keep this portable between SQLite and PostgreSQL.

-- A subject's validation mode when it differs from the global default
-- (schema_registry.validation_mode). changed_at is when mode last changed.
CREATE TABLE subject_validation_modes (
    subject    VARCHAR(255) PRIMARY KEY,
    mode       VARCHAR(16)  NOT NULL,
    changed_at BIGINT       NOT NULL
);

-- Validation counts per subject, bucket and replica; one column per drift
-- kind. Readers sum over replicas.
CREATE TABLE evidence_buckets (
    subject                  VARCHAR(255) NOT NULL,
    bucket_start             BIGINT       NOT NULL,
    replica                  VARCHAR(255) NOT NULL,
    validations              BIGINT       NOT NULL DEFAULT 0,
    violations               BIGINT       NOT NULL DEFAULT 0,
    unknown_field            BIGINT       NOT NULL DEFAULT 0,
    missing_field            BIGINT       NOT NULL DEFAULT 0,
    type_mismatch            BIGINT       NOT NULL DEFAULT 0,
    enum_violation           BIGINT       NOT NULL DEFAULT 0,
    constraint_violation     BIGINT       NOT NULL DEFAULT 0,
    decode_error             BIGINT       NOT NULL DEFAULT 0,
    unknown_schema_id        BIGINT       NOT NULL DEFAULT 0,
    stale_schema_version     BIGINT       NOT NULL DEFAULT 0,
    other                    BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, bucket_start, replica)
);

-- A row per replica and bucket in which the replica was running and
-- recording, written even when nothing was validated: downtime is not
-- clean time. last_seen is the replica's latest flush in the bucket.
CREATE TABLE evidence_heartbeats (
    bucket_start BIGINT       NOT NULL,
    replica      VARCHAR(255) NOT NULL,
    last_seen    BIGINT       NOT NULL,
    PRIMARY KEY (bucket_start, replica)
);

-- Drift findings per subject, kind and JSON pointer path: how often, when
-- first and last, the latest message, and one sample payload (the first
-- one recorded, at most 1 KiB, base64).
CREATE TABLE drift_samples (
    subject          VARCHAR(255) NOT NULL,
    kind             VARCHAR(32)  NOT NULL,
    path             VARCHAR(512) NOT NULL,
    occurrences      BIGINT       NOT NULL,
    first_seen       BIGINT       NOT NULL,
    last_seen        BIGINT       NOT NULL,
    last_message     TEXT         NOT NULL,
    sample           TEXT         NOT NULL,
    sample_truncated INTEGER      NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, kind, path)
);
