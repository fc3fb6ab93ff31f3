-- Upstream mode: the subject versions of the upstream registry that
-- schemagate has recorded, so that a version registered behind its back is
-- noticed (and audited) once, by one replica. seen_us is when the version
-- was first seen (unix microseconds; 0 for the baseline recorded when
-- schemagate was first pointed at the upstream). origin is 'schemagate' (a
-- registration forwarded by schemagate), 'observed' (found by a poll) or
-- 'baseline'. The row (subject '', version 0) marks the baseline as taken.
-- Keep this portable between SQLite and PostgreSQL.
CREATE TABLE upstream_versions (
    subject   VARCHAR(255) NOT NULL,
    version   INTEGER      NOT NULL,
    schema_id BIGINT       NOT NULL,
    seen_us   BIGINT       NOT NULL,
    origin    VARCHAR(16)  NOT NULL,
    PRIMARY KEY (subject, version)
);
