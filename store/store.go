// Package store is schemagate's SQL layer: it opens the database named by
// `storage.url`, applies the embedded versioned migrations, runs
// transactions, and holds the few differences between SQLite and PostgreSQL
// in one small [Dialect] type. Packages above it keep their own queries.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver for PostgreSQL
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver (pure Go, no cgo)
)

// Option configures [Open]. Options are built with the With... constructors.
type Option interface {
	apply(*config)
}

type config struct {
	busyTimeout time.Duration
	// maxOpenConns and maxIdleConns are nil until an Option sets them; the database's defaults
	// apply then (see [DefaultMaxOpenConns]).
	maxOpenConns    *int
	maxIdleConns    *int
	connMaxLifetime time.Duration
	wrapConnector   func(driver.Connector) driver.Connector
	log             *slog.Logger
}

// DefaultConnMaxLifetime is 0: connections are reused forever (see [WithConnMaxLifetime]).
const DefaultConnMaxLifetime time.Duration = 0

// maxDefaultPostgresConns is the most connections a replica opens on PostgreSQL by default
// (see [DefaultMaxOpenConns]).
const maxDefaultPostgresConns = 16

// DefaultMaxOpenConns is the connection limit of a pool on a database of dialect d when
// [WithMaxOpenConns] does not set one.
//
// On PostgreSQL it is min(4 × GOMAXPROCS, 16): 8 on a 2-core replica, 16 from 4 cores on.
// A replica's connections serve short queries while its CPUs prepare the answers, and its
// writes take one connection at a time (see [DB.InTx]), so more connections than a few per
// CPU add no throughput, only server memory and contention. The cap of 16 keeps five replicas
// at the cap, with a connection each for other uses, inside PostgreSQL's default
// max_connections of 100 (97 for non-superusers). GOMAXPROCS follows the replica's CPU limit
// (its cgroup quota) when it has one.
//
// On SQLite it is 0, no limit: connections are cheap and local, and writers already take
// turns.
func DefaultMaxOpenConns(d Dialect) int {
	if d != Postgres {
		return 0
	}
	return min(4*runtime.GOMAXPROCS(0), maxDefaultPostgresConns)
}

// defaultMaxIdleConns is how many idle connections a pool on a database of dialect d keeps
// when [WithMaxIdleConns] does not say, so a burst does not open and close connections over
// and over: on PostgreSQL as many as it may open (maxOpen); on SQLite 4 × GOMAXPROCS (SQLite
// has no connection limit). Opening a SQLite connection runs its pragmas and reads the
// database schema: with database/sql's default of 2 idle, 16 concurrent registrations spent a
// tenth of their CPU opening connections.
func defaultMaxIdleConns(d Dialect, maxOpen int) int {
	if d != Postgres {
		return 4 * runtime.GOMAXPROCS(0)
	}
	return maxOpen
}

func defaultConfig() config {
	return config{
		busyTimeout:     10 * time.Second,
		connMaxLifetime: DefaultConnMaxLifetime,
		log:             slog.New(slog.DiscardHandler),
	}
}

// WithConnectorWrapper puts wrap around the database driver's connector, so that every
// connection the pool opens comes from wrap's connector. It exists for test fixtures that
// inject faults under the store; production code has no use for it.
func WithConnectorWrapper(wrap func(driver.Connector) driver.Connector) Option {
	return optionFunc(func(c *config) { c.wrapConnector = wrap })
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithBusyTimeout sets how long the store waits for a busy database before it
// fails. Default 10s; the caller's context may end the wait sooner.
//
// On SQLite it is how long a connection waits for a lock held by another
// connection (another process) before failing with "database is locked".
//
// On PostgreSQL it bounds the retries of what the server refuses only for now:
// opening a connection refused for capacity (SQLSTATE 53300
// too_many_connections, 57P03 cannot_connect_now), and in [DB.InTx] a whole
// transaction that failed on one of those, a serialization failure (40001)
// or a deadlock (40P01). Retries back off exponentially from 5 ms to 250 ms,
// with jitter.
func WithBusyTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.busyTimeout = d })
}

// WithMaxOpenConns limits the number of open connections in the pool (in use
// plus idle); callers wait for a free connection beyond it. n <= 0 means no
// limit. Default [DefaultMaxOpenConns]: min(4 × GOMAXPROCS, 16) on PostgreSQL,
// no limit on SQLite. On PostgreSQL, keep the sum over all replicas below the
// server's max_connections.
func WithMaxOpenConns(n int) Option {
	return optionFunc(func(c *config) { c.maxOpenConns = &n })
}

// WithMaxIdleConns sets how many idle connections the pool keeps for reuse.
// Default: the open-connection limit on PostgreSQL, 4 × GOMAXPROCS on
// SQLite. n <= 0 keeps none, so every query
// opens a connection; a value above the [WithMaxOpenConns] limit is lowered
// to it.
func WithMaxIdleConns(n int) Option {
	return optionFunc(func(c *config) { c.maxIdleConns = &n })
}

// WithLogger sets the logger of the store's retries (see [WithBusyTimeout]),
// each logged at debug level. Default: none.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.log = l
		}
	})
}

// WithConnMaxLifetime closes connections once they are older than d (when
// they are next returned to the pool), for example to follow a PostgreSQL
// failover or a load balancer that drops long-lived connections. Default 0:
// connections are reused forever. d <= 0 means forever.
func WithConnMaxLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) { c.connMaxLifetime = d })
}

// DB is an open, migrated database. It is safe for concurrent use.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	// writeTurn lets one write transaction of this process run at a time: writers wait their
	// turn here, in order and cancellably, before they take a connection. On SQLite they
	// would otherwise wait in SQLite's busy handler, whose growing sleeps (up to 100 ms) left
	// some writers waiting hundreds of milliseconds under contention; other processes on the
	// same file still meet the busy timeout. On PostgreSQL each waiting writer would otherwise
	// hold a connection while it waits for the cross-replica lock ([Dialect.LockWrites]), and
	// a burst would exhaust the pool and the server's max_connections.
	writeTurn chan struct{}
	// retry retries what PostgreSQL refuses only for now (see [WithBusyTimeout]).
	retry retrier
}

// Open opens the database named by rawURL, creating it (for SQLite, with its
// parent directory) if needed, and applies pending migrations.
//
// Accepted URLs:
//
//	sqlite://./data/schemagate.db    relative to the working directory
//	sqlite:///abs/path/schemagate.db absolute path
//	postgres://user:password@host:5432/dbname?sslmode=verify-full
//	postgresql://...                 the same
//
// SQLite databases run in WAL journal mode with synchronous=FULL (a commit
// is durable when it returns), foreign keys on, a busy timeout (see
// [WithBusyTimeout]), temporary files (savepoints' journal) in memory, and write
// transactions that take the write lock when
// they begin (BEGIN IMMEDIATE), so concurrent writers queue instead of
// failing.
//
// PostgreSQL URLs are passed to the pgx driver as they are, so every libpq
// URL parameter pgx knows (sslmode, connect_timeout, application_name, ...)
// works; the database must exist. Migrations run under an advisory lock, so
// replicas that start together apply each migration once. Error messages
// show the URL without its password.
//
// Open refuses a database whose migrations are newer than this binary knows.
func Open(ctx context.Context, rawURL string, opts ...Option) (*DB, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		if strings.ContainsAny(rawURL, "@?") { // may hold a password: not shown
			return nil, fmt.Errorf("store: storage URL has no scheme: %s", acceptedForms)
		}
		return nil, fmt.Errorf("store: storage URL %q has no scheme: %s", rawURL, acceptedForms)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		return openSQLite(ctx, rest, cfg)
	case "postgres", "postgresql":
		return openPostgres(ctx, rawURL, cfg)
	default:
		return nil, fmt.Errorf("store: unsupported storage URL scheme %q: %s", scheme, acceptedForms)
	}
}

const acceptedForms = "accepted forms are sqlite://./relative/path.db, sqlite:///absolute/path.db and postgres://user:password@host:port/dbname?sslmode=..."

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
	// FULL: a commit is on disk before it is acknowledged, so an acknowledged schema ID
	// survives a power loss too, not only a process crash (NORMAL in WAL mode may lose the
	// last commits to an OS crash, and a lost ID could be handed out again for other content).
	q.Add("_pragma", "synchronous(FULL)")
	// Temporary files in memory: above all the statement journal of savepoints, which a batch
	// of registrations (one savepoint each, see registry's group commit) would otherwise spill
	// to a file page by page. It only serves rollbacks inside a transaction: durability is the
	// WAL's.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	wrap := cfg.wrapConnector
	cfg.wrapConnector = func(c driver.Connector) driver.Connector {
		c = stmtCacheConnector{inner: c}
		if wrap != nil {
			c = wrap(c)
		}
		return c
	}
	sqldb, err := cfg.open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite database %s: %w", path, err)
	}
	cfg.applyPool(sqldb, SQLite)
	db := &DB{sql: sqldb, dialect: SQLite, writeTurn: make(chan struct{}, 1)}
	if err := pingSQLite(ctx, db, cfg.busyTimeout); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("store: open sqlite database %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		_ = sqldb.Close()
		return nil, err
	}
	return db, nil
}

// pingSQLite pings db, retrying for up to busyTimeout while the database is
// busy. A connection that opens while another process is creating the same
// database can fail its journal_mode(WAL) pragma with SQLITE_BUSY at once,
// without waiting for the busy timeout, so replicas (or a replica and the
// offline tools) starting together would otherwise fail.
func pingSQLite(ctx context.Context, db *DB, busyTimeout time.Duration) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := db.Ping(ctx)
		if err == nil || !isSQLiteBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isSQLiteBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isSQLiteBusy(err error) bool {
	const sqliteBusy = 5
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == sqliteBusy
}

func openPostgres(ctx context.Context, rawURL string, cfg config) (*DB, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included; keep
		// only its reason.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("store: postgres storage URL (not shown, it may hold a password) is malformed: %v", err)
	}
	shown := redactURL(u)
	secrets := urlSecrets(u)
	retry := retrier{budget: cfg.busyTimeout, log: cfg.log}
	wrap := cfg.wrapConnector
	cfg.wrapConnector = func(c driver.Connector) driver.Connector {
		if wrap != nil {
			c = wrap(c)
		}
		return retryConnector{Connector: c, retry: retry}
	}
	sqldb, err := cfg.open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres database %s: %w", shown, redactErr(err, secrets))
	}
	cfg.applyPool(sqldb, Postgres)
	db := &DB{sql: sqldb, dialect: Postgres, writeTurn: make(chan struct{}, 1), retry: retry}
	if err := db.Ping(ctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("store: open postgres database %s: %w", shown, redactErr(err, secrets))
	}
	if err := db.migrate(ctx); err != nil {
		_ = sqldb.Close()
		return nil, redactErr(err, secrets)
	}
	return db, nil
}

// open opens the pool of driverName for dsn, through the connector wrapper if there is one.
func (c config) open(driverName, dsn string) (*sql.DB, error) {
	if c.wrapConnector == nil {
		return sql.Open(driverName, dsn)
	}
	probe, err := sql.Open(driverName, dsn) // opens no connection: only finds the driver
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	_ = probe.Close()
	var conn driver.Connector = dsnConnector{drv: drv, dsn: dsn}
	if dc, ok := drv.(driver.DriverContext); ok {
		if conn, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	}
	return sql.OpenDB(c.wrapConnector(conn)), nil
}

// dsnConnector is the connector of a driver that has no OpenConnector.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// applyPool sets db's pool limits: the Options' where they set them, d's defaults elsewhere.
func (c config) applyPool(db *sql.DB, d Dialect) {
	maxOpen := DefaultMaxOpenConns(d)
	if c.maxOpenConns != nil {
		maxOpen = *c.maxOpenConns
	}
	maxIdle := defaultMaxIdleConns(d, maxOpen)
	if c.maxIdleConns != nil {
		maxIdle = *c.maxIdleConns
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxIdle)
	db.SetConnMaxLifetime(c.connMaxLifetime)
}

// Redacted returns the storage URL raw fit for logs and messages, as [redactURL] does; one that
// does not parse is not shown at all.
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable storage URL)"
	}
	return redactURL(u)
}

// redactURL returns u for messages: [url.URL.Redacted], and also without
// the password and sslpassword query parameters libpq URLs accept.
func redactURL(u *url.URL) string {
	r := *u
	if q := r.Query(); q.Has("password") || q.Has("sslpassword") {
		for _, k := range []string{"password", "sslpassword"} {
			if q.Has(k) {
				q.Set(k, "xxxxx")
			}
		}
		r.RawQuery = q.Encode()
	}
	return r.Redacted()
}

// urlSecrets returns the passwords u carries.
func urlSecrets(u *url.URL) []string {
	var s []string
	if p, ok := u.User.Password(); ok && p != "" {
		s = append(s, p)
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if p := q.Get(k); p != "" {
			s = append(s, p)
		}
	}
	return s
}

// redactErr hides secrets in err's message, should a driver ever quote its
// connection string; errors.Is and errors.As still see err.
func redactErr(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

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
// panics (the panic is re-raised after the rollback).
//
// The writers of one process take turns: a call waits, in order and
// cancellably (a cancelled ctx leaves the queue), until no other InTx of this
// DB runs, and only then takes a connection, so a process holds one
// connection for writes however many callers wait. Reads on [DB.SQL] do not
// queue. fn must not call InTx itself: it would wait for its own turn; and
// while it waits for its turn, a caller must not hold a connection of the
// pool (open rows or a transaction of [DB.SQL]).
//
// On SQLite the transaction also holds the database's write lock from its
// start, so fn sees no concurrent writes, from other processes either. On
// PostgreSQL transactions of different processes run concurrently at READ
// COMMITTED: fn that reads a value and writes it back takes
// [Dialect.LockWrites] (or SELECT ... FOR UPDATE) first. A transaction that
// fails because its connection was refused for capacity, on a serialization
// failure or on a deadlock is run again, fn included, after a backoff, within
// ctx and the busy timeout (see [WithBusyTimeout]); fn must therefore leave
// nothing behind but its results (assign, do not append, to variables outside
// it), and its caller acts on them once InTx has returned.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case db.writeTurn <- struct{}{}:
		defer func() { <-db.writeTurn }()
	case <-ctx.Done():
		return fmt.Errorf("begin transaction: %w", ctx.Err())
	}
	if db.dialect != Postgres {
		return db.runTx(ctx, fn)
	}
	return db.retry.do(ctx, "transaction", txRetryable, func() error { return db.runTx(ctx, fn) })
}

// runTx runs fn in one transaction, as [DB.InTx] describes.
func (db *DB) runTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
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
