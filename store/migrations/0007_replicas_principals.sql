-- Governance: which replicas are recording (so that an approval can wait for
-- every live replica's evidence to cover its instant), and which principals
-- sent the validations counted in evidence_buckets (so that one caller alone
-- cannot make a subject eligible). Keep this portable between SQLite and
-- PostgreSQL.

-- One row per gateway replica that ever flushed evidence. last_seen_us is
-- the clock reading (unix microseconds) taken before the replica's latest
-- successful flush swapped its counts out: every validation it answered
-- before that instant is stored. stopped_us is when the replica shut down
-- gracefully after its last flush (0 while it runs): a stopped replica holds
-- no evidence in memory and is not waited for.
CREATE TABLE evidence_replicas (
    replica      VARCHAR(255) PRIMARY KEY,
    last_seen_us BIGINT       NOT NULL,
    stopped_us   BIGINT       NOT NULL DEFAULT 0
);

-- Validations per subject, bucket and principal, summed over replicas.
CREATE TABLE evidence_principals (
    subject      VARCHAR(255) NOT NULL,
    bucket_start BIGINT       NOT NULL,
    principal    VARCHAR(255) NOT NULL,
    validations  BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, bucket_start, principal)
);
