package store

// SQLite-specific tests and tests that need no database server. The tests that run on every
// backend are in backend_test.go.

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

func openTemp(t *testing.T, opts ...Option) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nested", "dir", "schemagate.db")
	db, err := Open(t.Context(), "sqlite://"+path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func TestSQLiteFileCreated(t *testing.T) {
	_, path := openTemp(t)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not created: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"synchronous", "2"}, // FULL
		{"temp_store", "2"},  // MEMORY
	} {
		var got string
		if err := db.SQL().QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
}

func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	db, err := Open(t.Context(), "sqlite://./data/schemagate.db")
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if _, err := os.Stat(filepath.Join(dir, "data", "schemagate.db")); err != nil {
		t.Errorf("relative database not created: %v", err)
	}
}

func TestPoolOptions(t *testing.T) {
	db, _ := openTemp(t)
	if got := db.SQL().Stats().MaxOpenConnections; got != 0 {
		t.Errorf("default MaxOpenConnections on SQLite = %d, want 0 (no limit)", got)
	}
	db, _ = openTemp(t, WithMaxOpenConns(7), WithMaxIdleConns(3), WithConnMaxLifetime(time.Minute))
	if got := db.SQL().Stats().MaxOpenConnections; got != 7 {
		t.Errorf("MaxOpenConnections = %d, want 7", got)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := defaultConfig()
	for _, o := range []Option{WithMaxOpenConns(7), WithMaxIdleConns(3), WithConnMaxLifetime(time.Minute)} {
		o.apply(&got)
	}
	if got.busyTimeout != 10*time.Second || got.maxOpenConns == nil || *got.maxOpenConns != 7 ||
		got.maxIdleConns == nil || *got.maxIdleConns != 3 || got.connMaxLifetime != time.Minute {
		t.Errorf("config = %+v, want busy timeout 10s, 7 open, 3 idle, lifetime 1m", got)
	}
}

// TestDefaultMaxOpenConns: PostgreSQL pools default to 4 connections per CPU the Go runtime
// uses, at most 16; SQLite pools to no limit.
func TestDefaultMaxOpenConns(t *testing.T) {
	for _, tc := range []struct {
		procs      int
		sqlite, pg int
	}{
		{1, 0, 4},
		{2, 0, 8},
		{4, 0, 16},
		{64, 0, 16},
	} {
		prev := runtime.GOMAXPROCS(tc.procs)
		sqlite, pg := DefaultMaxOpenConns(SQLite), DefaultMaxOpenConns(Postgres)
		runtime.GOMAXPROCS(prev)
		if sqlite != tc.sqlite || pg != tc.pg {
			t.Errorf("GOMAXPROCS=%d: DefaultMaxOpenConns = %d on SQLite, %d on PostgreSQL; want %d, %d", tc.procs, sqlite, pg, tc.sqlite, tc.pg)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		dialect Dialect
		want    []string // name=file
		err     string
	}{
		{name: "ordered", dialect: SQLite,
			files: fstest.MapFS{"migrations/0002_b.sql": {}, "migrations/0001_a.sql": {}},
			want:  []string{"0001_a.sql=0001_a.sql", "0002_b.sql=0002_b.sql"}},
		{name: "gap", dialect: SQLite,
			files: fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
			err:   "expected version 2"},
		{name: "duplicate", dialect: SQLite,
			files: fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}},
			err:   "expected version 2"},
		{name: "bad name", dialect: SQLite,
			files: fstest.MapFS{"migrations/first.sql": {}},
			err:   "name must look like"},
		{name: "postgres override on postgres", dialect: Postgres,
			files: fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0001_a.postgres.sql": {}, "migrations/0002_b.sql": {}},
			want:  []string{"0001_a.sql=0001_a.postgres.sql", "0002_b.sql=0002_b.sql"}},
		{name: "postgres override ignored on sqlite", dialect: SQLite,
			files: fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0001_a.postgres.sql": {}},
			want:  []string{"0001_a.sql=0001_a.sql"}},
		{name: "sqlite override", dialect: SQLite,
			files: fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0001_a.sqlite.sql": {}},
			want:  []string{"0001_a.sql=0001_a.sqlite.sql"}},
		{name: "override without base", dialect: SQLite,
			files: fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0002_b.postgres.sql": {}},
			err:   `has no base migration "0002_b.sql"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.files, tc.dialect)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, m := range ms {
				if m.version != i+1 {
					t.Errorf("%s: version %d, want %d", m.name, m.version, i+1)
				}
				got = append(got, m.name+"="+m.file)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("migrations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOverrideTextIsUsed(t *testing.T) {
	files := fstest.MapFS{
		"migrations/0001_a.sql":          {Data: []byte("portable")},
		"migrations/0001_a.postgres.sql": {Data: []byte("postgres only")},
	}
	for d, want := range map[Dialect]string{SQLite: "portable", Postgres: "postgres only"} {
		ms, err := loadMigrations(files, d)
		if err != nil || len(ms) != 1 || ms[0].sql != want {
			t.Errorf("%s: migrations = %+v, %v; want text %q", d, ms, err, want)
		}
	}
}

// TestEmbeddedMigrationsLoad loads the embedded migrations for every dialect: the same versions
// and names everywhere.
func TestEmbeddedMigrationsLoad(t *testing.T) {
	var first []string
	for _, d := range dialects {
		ms, err := loadMigrations(migrationFS, d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		var names []string
		for _, m := range ms {
			names = append(names, m.name)
		}
		if first == nil {
			first = names
		} else if diff := cmp.Diff(first, names); diff != "" {
			t.Errorf("%s records other migrations than %s (-%s +%s):\n%s", d, dialects[0], dialects[0], d, diff)
		}
	}
}

func TestOpenURLErrors(t *testing.T) {
	tests := []struct{ url, want string }{
		{"mysql://localhost/db", "accepted forms"},
		{"/tmp/x.db", "accepted forms"},
		{"sqlite://", "needs a file path"},
		{"sqlite://:memory:", "needs a file path"},
		{"sqlite://./x.db?mode=ro", "must not carry query parameters"},
		{"postgres://u:pw@host:notaport/db", "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			_, err := Open(t.Context(), tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) err = %v, want containing %q", tc.url, err, tc.want)
			}
		})
	}
}

// TestPostgresErrorsHidePassword opens PostgreSQL URLs that cannot work (nothing listens on
// port 1) and checks that no message shows the password. It needs no server.
func TestPostgresErrorsHidePassword(t *testing.T) {
	const secret = "s3cretPassw0rd"
	for _, u := range []string{
		"postgres://schemagate:" + secret + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgresql://schemagate@127.0.0.1:1/db?sslmode=disable&connect_timeout=2&password=" + secret,
		"postgres://schemagate:" + secret + "@127.0.0.1:1/db?sslmode=bogus",
		"postgres://schemagate:" + secret + "@127.0.0.1:notaport/db",
		"postgres://schemagate:" + secret + "%zz@127.0.0.1:1/db",
	} {
		_, err := Open(t.Context(), u)
		if err == nil {
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "postgres") {
			t.Errorf("Open error does not say what failed: %v", err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable":             "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=pw&sslmode=disable":         "postgres://u@h/db?password=xxxxx&sslmode=disable",
		"postgres://h/db?sslpassword=pw":                        "postgres://h/db?sslpassword=xxxxx",
		"postgresql://u@h/db":                                   "postgresql://u@h/db",
		"postgres://u:pw@h/db?application_name=sg&password=pw2": "postgres://u:xxxxx@h/db?application_name=sg&password=xxxxx",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := redactURL(u); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
		if got := Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Redacted("postgres://u:pw@h:port/db"); strings.Contains(got, "pw") {
		t.Errorf("Redacted of an unparseable URL = %q; want nothing of it shown", got)
	}
}

// TestRetryableErrors: what the store retries, by PostgreSQL error code, also when wrapped
// (TestConnectionRefusedForCapacityWaits sees pgx's real *pgconn.ConnectError).
func TestRetryableErrors(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Code: code} }
	for _, tc := range []struct {
		name              string
		err               error
		connect, inTxRuns bool
	}{
		{"too many connections", pg("53300"), true, true},
		{"too many connections, wrapped twice", fmt.Errorf("begin transaction: %w", fmt.Errorf("connect: %w", pg("53300"))), true, true},
		{"server starting or stopping", fmt.Errorf("open: %w", pg("57P03")), true, true},
		{"serialization failure", pg("40001"), false, true},
		{"deadlock", fmt.Errorf("commit transaction: %w", pg("40P01")), false, true},
		{"unique violation", pg("23505"), false, false},
		{"not a server error", errors.New("boom"), false, false},
		{"no error", nil, false, false},
	} {
		_, connect := capacityRefused(tc.err)
		_, inTx := txRetryable(tc.err)
		if connect != tc.connect || inTx != tc.inTxRuns {
			t.Errorf("%s: retried on connect %v, in InTx %v; want %v, %v", tc.name, connect, inTx, tc.connect, tc.inTxRuns)
		}
	}
}
