-- The change feed between replicas (store/notify.go): one row per committed
-- change that other replicas must see (a registry write, a validation mode
-- change), written in the transaction of the change. topic names what
-- changed ("registry", "governance.mode"), key which subject ('' for global
-- settings), origin the process that wrote it (so it can skip its own rows).
-- seq orders the rows by commit on SQLite, whose writers run one at a time;
-- PostgreSQL replicas learn of changes by LISTEN/NOTIFY and read this table
-- only while their listening connection is down. Old rows are pruned.
CREATE TABLE change_feed (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    topic  TEXT    NOT NULL,
    key    TEXT    NOT NULL,
    origin TEXT    NOT NULL
);
