-- Governance: when the latest violation counted in an evidence bucket was
-- recorded (unix microseconds, by the recording replica's clock), so that a
-- status can name the real time of the finding that restarted a clean
-- window rather than the start of the bucket its flush landed in. Writers
-- keep the maximum on upsert. 0 means unknown: buckets stored before this
-- migration, or without violations. Keep this portable between SQLite and
-- PostgreSQL.
ALTER TABLE evidence_buckets ADD COLUMN last_violation_us BIGINT NOT NULL DEFAULT 0;
