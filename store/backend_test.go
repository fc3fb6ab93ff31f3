package store_test

// Tests that run on the backend storetest selects: SQLite by default, PostgreSQL under
// scripts/with-postgres.sh (make unit-postgres).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
)

func TestBackendDialect(t *testing.T) {
	db := storetest.Open(t)
	if got, want := db.Dialect().Name(), storetest.Backend(); got != want {
		t.Errorf("Dialect = %s, want %s", got, want)
	}
}

// The recorded migration versions and names are a contract with existing databases: a
// released migration is never renumbered or renamed, and every dialect records the same rows.
var releasedMigrations = []string{
	"0001_registry.sql",
	"0002_config_mode_metadata.sql",
	"0003_evidence.sql",
	"0004_audit.sql",
	"0005_promotions.sql",
	"0006_owners.sql",
}

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	names, err := store.MigrationNames(db.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(releasedMigrations, names[:min(len(names), len(releasedMigrations))]); diff != "" {
		t.Errorf("released migrations changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(names, recordedMigrations(t, db)); diff != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", diff)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != len(names) {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, len(names))
	}
	for _, table := range []string{
		"schemas", "subject_versions", "schema_references", "id_counters", "subject_configs",
		"subject_modes", "subject_validation_modes", "evidence_buckets", "evidence_heartbeats",
		"drift_samples", "audit_entries", "audit_head", "promotions", "subject_owners", "evidence_replicas", "evidence_principals",
	} {
		if _, err := db.SQL().ExecContext(ctx, "SELECT COUNT(*) FROM "+table); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func recordedMigrations(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestMigratedSchema checks the parts of the schema the packages above rely on, on every
// backend: the partial unique index of pending promotions and the seeded rows.
func TestMigratedSchema(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	exec := func(query string, args ...any) error {
		_, err := db.SQL().ExecContext(ctx, db.Dialect().Rebind(query), args...)
		return err
	}
	insert := `INSERT INTO promotions (id, subject, state, ticket, requester, approver, reason, comment, evidence, created_at, decided_at)
		VALUES (?, 's', ?, '', '', '', '', '', '', 0, 0)`
	if err := exec(insert, "p1", "pending"); err != nil {
		t.Fatal(err)
	}
	if err := exec(insert, "p2", "pending"); err == nil {
		t.Error("second pending promotion of a subject accepted")
	}
	if err := exec(insert, "p3", "approved"); err != nil {
		t.Errorf("decided promotion next to a pending one: %v", err)
	}
	var seq int64
	var hash string
	if err := db.SQL().QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil || seq != 0 || hash != "" {
		t.Errorf("audit_head = %d, %q, %v; want 0, \"\"", seq, hash, err)
	}
	var next int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM id_counters WHERE name = 'schema_id'`).Scan(&next); err != nil || next != 0 {
		t.Errorf("schema_id counter = %d, %v; want 0", next, err)
	}
}

func TestReopenKeepsDataAndIsNoop(t *testing.T) {
	ctx := t.Context()
	url := storetest.URL(t)
	db, err := store.Open(ctx, url)
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
	first := appliedAt(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		db, err = store.Open(ctx, url)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		var value int
		if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM id_counters WHERE name = 'schema_id'`).Scan(&value); err != nil {
			t.Fatal(err)
		}
		if value != 41 {
			t.Errorf("after reopen: counter = %d, want 41", value)
		}
		if diff := cmp.Diff(first, appliedAt(t, db)); diff != "" {
			t.Errorf("reopen changed schema_migrations (-before +after):\n%s", diff)
		}
		_ = db.Close()
	}
}

// appliedAt returns schema_migrations as "version name applied_at" lines.
func appliedAt(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int
		var n, at string
		if err := rows.Scan(&v, &n, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %s", v, n, at))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRefuseNewerDatabase(t *testing.T) {
	ctx := t.Context()
	url := storetest.URL(t)
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 'x')`)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db, err = store.Open(ctx, url)
	if err == nil {
		_ = db.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "newer than this binary supports") {
		t.Fatalf("Open of newer database: err = %v, want refusal", err)
	}
}

func TestAppliesOnlyPendingMigrations(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	names, err := store.MigrationNames(db.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	extra := "CREATE TABLE extra (id INTEGER PRIMARY KEY);\nINSERT INTO extra (id) VALUES (1);"
	for range 2 { // second run must be a no-op
		if err := store.ApplyMigrationsWithExtra(ctx, db, extra); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM extra`).Scan(&n); err != nil || n != 1 {
		t.Errorf("extra rows = %d, %v; want 1 (multi-statement migration applied once)", n, err)
	}
	// A failing migration leaves nothing behind, and the ones before it stay applied.
	err = store.ApplyMigrationsWithExtra(ctx, db, extra,
		"CREATE TABLE half (id INTEGER);\nTHIS IS NOT SQL;")
	if err == nil {
		t.Fatal("bad migration applied without error")
	}
	if _, err := db.SQL().ExecContext(ctx, `SELECT COUNT(*) FROM half`); err == nil {
		t.Error("failed migration left table behind")
	}
	if v, _ := db.SchemaVersion(ctx); v != len(names)+1 {
		t.Errorf("version after failed migration = %d, want %d", v, len(names)+1)
	}
}

// TestConcurrentOpen starts two replicas against the same fresh database at once: both must
// open it, and each migration must be applied once. On PostgreSQL, without the migration lock,
// the two race on CREATE TABLE and one fails.
func TestConcurrentOpen(t *testing.T) {
	const replicas = 2
	for round := range 3 {
		url := storetest.URL(t)
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			dbs   [replicas]*store.DB
			errs  [replicas]error
		)
		for i := range replicas {
			wg.Go(func() {
				<-start
				dbs[i], errs[i] = store.Open(t.Context(), url)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: replica %d: Open: %v", round, i, err)
			}
			defer dbs[i].Close()
		}
		names, err := store.MigrationNames(dbs[0].Dialect())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(names, recordedMigrations(t, dbs[1])); diff != "" {
			t.Errorf("round %d: schema_migrations (-want +got):\n%s", round, diff)
		}
		// The seed row of 0001 would be doubled (or fail its primary key) had it run twice.
		var seeds int
		if err := dbs[0].SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM id_counters`).Scan(&seeds); err != nil || seeds != 1 {
			t.Errorf("round %d: id_counters rows = %d, %v; want 1", round, seeds, err)
		}
	}
}

func TestInTx(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
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
	// A failed statement rolls the whole transaction back (on PostgreSQL it also aborts it).
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		insert(tx, "before-duplicate")
		_, err := tx.ExecContext(ctx, `INSERT INTO id_counters (name, value) VALUES ('committed', 0)`)
		return err
	})
	if err == nil {
		t.Error("duplicate primary key accepted")
	}
	if n := count(); n != 2 {
		t.Errorf("after failed statement rows = %d, want 2", n)
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

// openTwice opens two stores on one fresh database, as two replicas would.
func openTwice(t *testing.T, opts ...store.Option) (a, b *store.DB) {
	t.Helper()
	url := storetest.URL(t)
	for _, db := range []**store.DB{&a, &b} {
		var err error
		if *db, err = store.Open(t.Context(), url, opts...); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = (*db).Close() })
	}
	return a, b
}

// TestLockWritesSerialises runs a read-modify-write of one counter from many goroutines of two
// stores on one database (two replicas). With the lock no increment is lost. The pause between
// the read and the write makes a lost update near certain on PostgreSQL if the lock did not
// hold (READ COMMITTED lets every transaction read the same value).
func TestLockWritesSerialises(t *testing.T) {
	ctx := t.Context()
	dbs := make([]*store.DB, 2)
	dbs[0], dbs[1] = openTwice(t)
	if _, err := dbs[0].SQL().ExecContext(ctx, `INSERT INTO id_counters (name, value) VALUES ('test_counter', 0)`); err != nil {
		t.Fatal(err)
	}
	const workers = 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		db := dbs[i%2]
		wg.Go(func() {
			errs <- db.InTx(ctx, func(tx *sql.Tx) error {
				if err := db.Dialect().LockWrites(ctx, tx, "test_counter"); err != nil {
					return err
				}
				var v int64
				if err := tx.QueryRowContext(ctx, `SELECT value FROM id_counters WHERE name = 'test_counter'`).Scan(&v); err != nil {
					return err
				}
				time.Sleep(5 * time.Millisecond)
				_, err := tx.ExecContext(ctx, db.Dialect().Rebind(`UPDATE id_counters SET value = ? WHERE name = 'test_counter'`), v+1)
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var got int64
	if err := dbs[0].SQL().QueryRowContext(ctx, `SELECT value FROM id_counters WHERE name = 'test_counter'`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != workers {
		t.Errorf("counter = %d after %d locked increments; updates were lost", got, workers)
	}
}

// TestLockWritesNames checks, between two stores on one database (two replicas), that locks of
// different names do not block each other, and that the lock ends with the transaction.
func TestLockWritesNames(t *testing.T) {
	ctx := t.Context()
	if storetest.Backend() != "postgres" {
		t.Skip("SQLite write transactions are exclusive; LockWrites is a no-op there")
	}
	a, b := openTwice(t)
	holding := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.InTx(ctx, func(tx *sql.Tx) error {
			if err := a.Dialect().LockWrites(ctx, tx, "a"); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	// Another name is free.
	if err := b.InTx(ctx, func(tx *sql.Tx) error { return b.Dialect().LockWrites(ctx, tx, "b") }); err != nil {
		t.Fatalf("lock b while a is held: %v", err)
	}
	// The same name waits: give up after a short deadline.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := b.InTx(short, func(tx *sql.Tx) error { return b.Dialect().LockWrites(short, tx, "a") })
	cancel()
	if err == nil {
		t.Fatal("lock a taken while another transaction holds it")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Released at commit.
	if err := b.InTx(ctx, func(tx *sql.Tx) error { return b.Dialect().LockWrites(ctx, tx, "a") }); err != nil {
		t.Fatalf("lock a after the holder committed: %v", err)
	}
}

// TestWritersWaitTheirTurn: a write transaction waits for the one in progress in the same
// process, and a writer whose context ends while it waits leaves with the context's error and
// writes nothing.
func TestWritersWaitTheirTurn(t *testing.T) {
	db := storetest.Open(t)
	ctx := t.Context()
	insert := func(ctx context.Context, subject string) error {
		return db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, db.Dialect().Rebind(`INSERT INTO subject_modes (subject, mode) VALUES (?, 'READONLY')`), subject)
			return err
		})
	}
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.InTx(ctx, func(tx *sql.Tx) error {
			close(inside)
			<-release
			_, err := tx.ExecContext(ctx, `INSERT INTO subject_modes (subject, mode) VALUES ('first', 'READONLY')`)
			return err
		})
	}()
	<-inside
	waiting, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := insert(waiting, "impatient"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("writer whose context ended while waiting = %v, want context.DeadlineExceeded", err)
	}
	second := make(chan error, 1)
	go func() { second <- insert(ctx, "second") }()
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Errorf("the writer that waited its turn: %v", err)
	}
	var got []string
	rows, err := db.SQL().QueryContext(ctx, `SELECT subject FROM subject_modes ORDER BY subject`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if diff := cmp.Diff([]string{"first", "second"}, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// TestWaitingWritersHoldNoConnection: however many writers of one process wait, only the one
// whose turn it is holds a connection, so a burst of writes cannot exhaust the pool (or
// PostgreSQL's max_connections) and reads still find connections.
func TestWaitingWritersHoldNoConnection(t *testing.T) {
	db := storetest.Open(t)
	ctx := t.Context()
	const writers = 20
	var wg sync.WaitGroup
	inUse := make(chan int, writers)
	for range writers {
		wg.Go(func() {
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				if err := db.Dialect().LockWrites(ctx, tx, "test_burst"); err != nil {
					return err
				}
				time.Sleep(2 * time.Millisecond) // let the other writers pile up
				inUse <- db.SQL().Stats().InUse
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(inUse)
	most := 0
	for n := range inUse {
		most = max(most, n)
	}
	if most != 1 {
		t.Errorf("connections in use while %d writers wait = %d at most, want 1", writers, most)
	}
}

// TestPoolDefaults: a store opened without pool options is limited to DefaultMaxOpenConns for
// its database, and keeps what a burst opened for the next one (on SQLite, 4 × GOMAXPROCS).
func TestPoolDefaults(t *testing.T) {
	db := storetest.Open(t)
	ctx := t.Context()
	limit := store.DefaultMaxOpenConns(db.Dialect())
	if got := db.SQL().Stats().MaxOpenConnections; got != limit {
		t.Errorf("MaxOpenConnections = %d, want DefaultMaxOpenConns = %d", got, limit)
	}
	kept := limit // PostgreSQL: all it may open
	if db.Dialect() != store.Postgres {
		kept = 4 * runtime.GOMAXPROCS(0) // SQLite: no limit on open connections
	}
	var conns []*sql.Conn
	for range kept {
		c, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	if got := db.SQL().Stats().Idle; got != kept {
		t.Errorf("idle connections after a burst of %d = %d, want all kept", kept, got)
	}
}
