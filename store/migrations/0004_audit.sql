-- Audit log: append-only, hash-chained entries of governance and registry
-- actions (governance/audit.go), and the head of the chain.
-- time_us is BIGINT unix microseconds (UTC). evidence is the JSON of the
-- promotion's evidence snapshot (NULL for other actions), details a JSON
-- object of strings. prev_hash and hash are lowercase hex (64 characters;
-- prev_hash is '' for entry 1). Free text is TEXT so that no length limit can
-- make an audited action fail.
-- Keep this portable between SQLite and PostgreSQL.

CREATE TABLE audit_entries (
    seq          BIGINT      PRIMARY KEY,
    time_us      BIGINT      NOT NULL,
    actor        TEXT        NOT NULL,
    role         TEXT        NOT NULL,
    action       TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    ticket       TEXT        NOT NULL,
    incident     TEXT        NOT NULL,
    reason       TEXT        NOT NULL,
    promotion_id TEXT        NOT NULL,
    from_mode    TEXT        NOT NULL,
    to_mode      TEXT        NOT NULL,
    evidence     TEXT,
    details      TEXT        NOT NULL,
    prev_hash    VARCHAR(64) NOT NULL,
    hash         VARCHAR(64) NOT NULL
);

CREATE INDEX audit_entries_subject ON audit_entries (subject, seq);
CREATE INDEX audit_entries_action ON audit_entries (action, seq);

-- The head of the chain, one row (id 1): the seq and hash of the latest
-- entry, updated in the transaction that appends it. A chain alone cannot
-- show that its last entries were deleted; the head can. mac is a hash (an
-- HMAC when a key is configured) of seq and hash, so that with a key the
-- head cannot be rewritten to match a shortened log. Appenders lock this row
-- (SELECT ... FOR UPDATE on PostgreSQL), which also serializes them.
CREATE TABLE audit_head (
    id   INTEGER     PRIMARY KEY,
    seq  BIGINT      NOT NULL,
    hash VARCHAR(64) NOT NULL,
    mac  VARCHAR(64) NOT NULL
);

INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, 0, '', '');
