package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nested", "dir", "schemagate.db")
	db, err := Open(t.Context(), "sqlite://"+path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not created: %v", err)
	}
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) {
		t.Errorf("schema_migrations rows = %d, want %d", rows, len(ms))
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != len(ms) {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
	}
	// The registry tables exist.
	for _, table := range []string{"schemas", "subject_versions", "schema_references", "id_counters"} {
		if _, err := db.SQL().ExecContext(ctx, "SELECT COUNT(*) FROM "+table); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func TestPragmas(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
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

func TestReopenKeepsDataAndIsNoop(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "schemagate.db")
	db, err := Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE id_counters SET value = 41 WHERE name = 'schema_id'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		db, err = Open(ctx, "sqlite://"+path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		var value, migrations int
		if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM id_counters WHERE name = 'schema_id'`).Scan(&value); err != nil {
			t.Fatal(err)
		}
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&migrations); err != nil {
			t.Fatal(err)
		}
		embedded, err := loadMigrations(migrationFS)
		if err != nil {
			t.Fatal(err)
		}
		if value != 41 || migrations != len(embedded) {
			t.Errorf("after reopen: counter = %d, migrations = %d; want 41, %d", value, migrations, len(embedded))
		}
		_ = db.Close()
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

func TestRefuseNewerDatabase(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	_, err := db.SQL().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 'x')`)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err = Open(ctx, "sqlite://"+path)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary supports") {
		t.Fatalf("Open of newer database: err = %v, want refusal", err)
	}
}

func TestAppliesOnlyPendingMigrations(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	extra := append(ms, migration{version: len(ms) + 1, name: "0002_extra.sql",
		sql: "CREATE TABLE extra (id INTEGER PRIMARY KEY);\nINSERT INTO extra (id) VALUES (1);"})
	for range 2 { // second run must be a no-op
		if err := db.applyMigrations(ctx, extra); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM extra`).Scan(&n); err != nil || n != 1 {
		t.Errorf("extra rows = %d, %v; want 1 (multi-statement migration applied once)", n, err)
	}
	// A failing migration leaves nothing behind.
	bad := append(extra, migration{version: len(extra) + 1, name: "0003_bad.sql",
		sql: "CREATE TABLE half (id INTEGER);\nTHIS IS NOT SQL;"})
	if err := db.applyMigrations(ctx, bad); err == nil {
		t.Fatal("bad migration applied without error")
	}
	if _, err := db.SQL().ExecContext(ctx, `SELECT COUNT(*) FROM half`); err == nil {
		t.Error("failed migration left table behind")
	}
	if v, _ := db.SchemaVersion(ctx); v != len(extra) {
		t.Errorf("version after failed migration = %d, want %d", v, len(extra))
	}
}

func TestLoadMigrationsValidatesNames(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  []int
		err   bool
	}{
		{"ordered", fstest.MapFS{"migrations/0002_b.sql": {}, "migrations/0001_a.sql": {}}, []int{1, 2}, false},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}}, nil, true},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}}, nil, true},
		{"bad name", fstest.MapFS{"migrations/first.sql": {}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.files)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenURLErrors(t *testing.T) {
	tests := []struct{ url, want string }{
		{"postgres://user@localhost/db", "PostgreSQL storage is not available"},
		{"postgresql://localhost/db", "PostgreSQL storage is not available"},
		{"mysql://localhost/db", "accepted forms"},
		{"/tmp/x.db", "accepted forms"},
		{"sqlite://", "needs a file path"},
		{"sqlite://:memory:", "needs a file path"},
		{"sqlite://./x.db?mode=ro", "must not carry query parameters"},
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

func TestInTx(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	count := func() int {
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM id_counters`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := func(tx *sql.Tx, name string) {
		if _, err := tx.ExecContext(ctx, db.Dialect().Rebind(`INSERT INTO id_counters (name, value) VALUES (?, 0)`), name); err != nil {
			t.Fatal(err)
		}
	}
	errBoom := errors.New("boom")
	if err := db.InTx(ctx, func(tx *sql.Tx) error { insert(tx, "rolled-back"); return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("InTx err = %v, want fn's error", err)
	}
	if n := count(); n != 1 {
		t.Errorf("after rollback rows = %d, want 1", n)
	}
	func() {
		defer func() {
			if p := recover(); p != "panic!" {
				t.Errorf("recovered %v, want re-panic", p)
			}
		}()
		_ = db.InTx(ctx, func(tx *sql.Tx) error { insert(tx, "panicked"); panic("panic!") })
	}()
	if n := count(); n != 1 {
		t.Errorf("after panic rows = %d, want 1", n)
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error { insert(tx, "committed"); return nil }); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("after commit rows = %d, want 2", n)
	}
	if err := db.Ping(ctx); err != nil {
		t.Error(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.InTx(cctx, func(*sql.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("InTx with cancelled ctx err = %v, want context.Canceled", err)
	}
}
