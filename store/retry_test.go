package store_test

// Retries of what PostgreSQL refuses only for now, against a real server: they run under
// scripts/with-postgres.sh (make unit-postgres) and are skipped on SQLite, where none of these
// refusals exist.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
)

// retrySignal is a slog.Handler that closes retried on the first retry the store logs.
type retrySignal struct {
	once    *sync.Once
	retried chan struct{}
}

func newRetrySignal() retrySignal {
	return retrySignal{once: &sync.Once{}, retried: make(chan struct{})}
}

func (h retrySignal) Enabled(context.Context, slog.Level) bool { return true }
func (h retrySignal) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h retrySignal) WithGroup(string) slog.Handler            { return h }
func (h retrySignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "store: retrying" {
		h.once.Do(func() { close(h.retried) })
	}
	return nil
}

// limitedRole creates a login role that may hold limit connections and owns the fresh
// database of the test, and returns the database's URL as that role. PostgreSQL refuses the
// role's connection beyond the limit with SQLSTATE 53300, as it refuses any beyond
// max_connections. The role is dropped when the test ends.
func limitedRole(t *testing.T, limit int) string {
	t.Helper()
	ctx := t.Context()
	raw := storetest.URL(t)
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	dbName := u.Path[1:]
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	role := "sgtest_limited_" + hex.EncodeToString(rnd[:])
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN CONNECTION LIMIT ` + strconv.Itoa(limit),
		`ALTER DATABASE ` + dbName + ` OWNER TO ` + role,
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// REASSIGN gives the database and what the role created in it back, so DROP ROLE can go.
		for _, q := range []string{`REASSIGN OWNED BY ` + role + ` TO postgres`, `DROP ROLE ` + role} {
			if _, err := admin.ExecContext(ctx, q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
		_ = admin.Close()
	})
	u.User = url.User(role)
	return u.String()
}

// TestConnectionRefusedForCapacityWaits: a query that needs a connection PostgreSQL refuses for
// capacity (too many connections) waits and succeeds once one frees, instead of failing; and
// when the caller's deadline ends first, it fails with the server's refusal.
func TestConnectionRefusedForCapacityWaits(t *testing.T) {
	if storetest.Backend() != "postgres" {
		t.Skip("PostgreSQL refuses connections for capacity; SQLite has no server")
	}
	ctx := t.Context()
	roleURL := limitedRole(t, 2)
	signal := newRetrySignal()
	db, err := store.Open(ctx, roleURL, store.WithLogger(slog.New(signal)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The store keeps its first connection; another pool (another replica) takes the second.
	other, err := sql.Open("pgx", roleURL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	held, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()

	// Within a deadline: refused, with the server's reason (after the retries the deadline
	// allows). The deadline leaves a loaded machine time to open a connection at all.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = db.SQL().QueryRowContext(short, `SELECT 1`).Scan(new(int))
	cancel()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53300" {
		t.Fatalf("query while the role has no connection left = %v, want SQLSTATE 53300", err)
	}

	// Without one: it waits until the other replica lets its connection go.
	done := make(chan error, 1)
	go func() { done <- db.SQL().QueryRowContext(ctx, `SELECT 1`).Scan(new(int)) }()
	select {
	case <-signal.retried:
	case err := <-done:
		t.Fatalf("query while the role has no connection left = %v, want it to wait and retry", err)
	}
	_ = held.Close()
	_ = other.Close()
	if err := <-done; err != nil {
		t.Errorf("query once a connection freed = %v, want it answered", err)
	}
}

// TestDeadlockIsRetried: two replicas' transactions that lock two rows in opposite orders
// deadlock; PostgreSQL aborts one of them (SQLSTATE 40P01), and InTx runs it again, so both
// commit and neither caller sees the deadlock.
func TestDeadlockIsRetried(t *testing.T) {
	if storetest.Backend() != "postgres" {
		t.Skip("SQLite write transactions are exclusive: they cannot deadlock")
	}
	ctx := t.Context()
	a, b := openTwice(t)
	if _, err := a.SQL().ExecContext(ctx, `INSERT INTO id_counters (name, value) VALUES ('one', 0), ('two', 0)`); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	var locked sync.WaitGroup // each has locked its first row
	locked.Add(2)
	bump := func(db *store.DB, first, second string) error {
		var once sync.Once
		return db.InTx(ctx, func(tx *sql.Tx) error {
			attempts.Add(1)
			upd := db.Dialect().Rebind(`UPDATE id_counters SET value = value + 1 WHERE name = ?`)
			if _, err := tx.ExecContext(ctx, upd, first); err != nil {
				return err
			}
			once.Do(func() { locked.Done(); locked.Wait() }) // only the first attempt meets the other
			_, err := tx.ExecContext(ctx, upd, second)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- bump(a, "one", "two") }()
	go func() { errs <- bump(b, "two", "one") }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("InTx = %v, want the deadlocked transaction run again", err)
		}
	}
	rows, err := a.SQL().QueryContext(ctx, `SELECT name, value FROM id_counters WHERE name IN ('one', 'two')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var v int
		if err := rows.Scan(&name, &v); err != nil {
			t.Fatal(err)
		}
		if v != 2 {
			t.Errorf("%s = %d, want 2 (both transactions committed once)", name, v)
		}
	}
	if n := attempts.Load(); n != 3 {
		t.Errorf("%d attempts, want 3 (one transaction aborted by the deadlock and run again)", n)
	}
}
