// Package store is schemagate's SQL layer: it opens the database named by
// `storage.url`, applies the embedded versioned migrations, runs
// transactions, and holds the few differences between SQLite and PostgreSQL
// in one small [Dialect] type. Packages above it keep their own queries.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go, no cgo)
)

// Option configures [Open]. Options are built with the With... constructors.
type Option interface {
	apply(*config)
}

type config struct {
	busyTimeout  time.Duration
	maxOpenConns int
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithBusyTimeout sets how long a SQLite connection waits for a lock held by
// another connection before failing with "database is locked". Default 10s.
func WithBusyTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.busyTimeout = d })
}

// WithMaxOpenConns limits the number of open connections in the pool.
// Default 0 (no limit other than database/sql's).
func WithMaxOpenConns(n int) Option {
	return optionFunc(func(c *config) { c.maxOpenConns = n })
}

// DB is an open, migrated database. It is safe for concurrent use.
type DB struct {
	sql     *sql.DB
	dialect Dialect
}

// Open opens the database named by rawURL, creating it (and, for SQLite, its
// parent directory) if needed, and applies pending migrations.
//
// Accepted URLs:
//
//	sqlite://./data/schemagate.db   relative to the working directory
//	sqlite:///abs/path/schemagate.db absolute path
//
// SQLite databases run in WAL journal mode with foreign keys on, a busy
// timeout (see [WithBusyTimeout]) and write transactions that take the write
// lock when they begin (BEGIN IMMEDIATE), so concurrent writers queue instead
// of failing. postgres:// URLs are recognised but refused: PostgreSQL storage
// is not available in this build yet.
//
// Open refuses a database whose migrations are newer than this binary knows.
func Open(ctx context.Context, rawURL string, opts ...Option) (*DB, error) {
	cfg := config{busyTimeout: 10 * time.Second}
	for _, o := range opts {
		o.apply(&cfg)
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("store: storage URL %q: %s", rawURL, acceptedForms)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		return openSQLite(ctx, rest, cfg)
	case "postgres", "postgresql":
		return nil, errors.New("store: PostgreSQL storage is not available in this build yet; use a sqlite:// storage URL")
	default:
		return nil, fmt.Errorf("store: unsupported storage URL scheme %q: %s", scheme, acceptedForms)
	}
}

const acceptedForms = "accepted forms are sqlite://./relative/path.db, sqlite:///absolute/path.db (and, in a later build, postgres://...)"

func openSQLite(ctx context.Context, path string, cfg config) (*DB, error) {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		return nil, fmt.Errorf("store: sqlite storage URL must not carry query parameters or fragments: %q", path)
	}
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("store: sqlite storage URL needs a file path: %s", acceptedForms)
	}
	path = filepath.Clean(path)
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	sqldb, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite database %s: %w", path, err)
	}
	if cfg.maxOpenConns > 0 {
		sqldb.SetMaxOpenConns(cfg.maxOpenConns)
	}
	db := &DB{sql: sqldb, dialect: SQLite}
	if err := db.Ping(ctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("store: open sqlite database %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		_ = sqldb.Close()
		return nil, err
	}
	return db, nil
}

// SQL returns the underlying connection pool. Queries run on it must be
// written with `?` placeholders and passed through [Dialect.Rebind].
func (db *DB) SQL() *sql.DB { return db.sql }

// Dialect returns the SQL dialect of the database.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.sql.PingContext(ctx)
}

// Close closes the connection pool. It waits for running queries to finish.
func (db *DB) Close() error {
	return db.sql.Close()
}

// InTx runs fn in a read-write transaction. The transaction commits when fn
// returns nil and rolls back when fn returns an error (returned as is) or
// panics (the panic is re-raised after the rollback). On SQLite the
// transaction holds the write lock from its start, so transactions run one
// at a time and fn sees no concurrent writes.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		_ = tx.Rollback()
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		committed = true // the driver already rolled back; nothing to undo
		return fmt.Errorf("commit transaction: %w", err)
	}
	committed = true
	return nil
}
