package storefault_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storefault"
	"github.com/schemagate/schemagate/store/storetest"
)

func open(t *testing.T) (*store.DB, *storefault.Injector) {
	t.Helper()
	inj := storefault.New()
	db, err := store.Open(t.Context(), storetest.URL(t), inj.Option())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, inj
}

func insertMode(ctx context.Context, db *store.DB, subject string) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.Dialect().Rebind(`INSERT INTO subject_modes (subject, mode) VALUES (?, ?)`), subject, "READONLY")
		return err
	})
}

func countModes(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM subject_modes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDownAndUp: while down, pings and statements fail with ErrDown; after Up the same pool
// works again.
func TestDownAndUp(t *testing.T) {
	db, inj := open(t)
	ctx := t.Context()
	inj.Down()
	if err := db.Ping(ctx); !errors.Is(err, storefault.ErrDown) {
		t.Errorf("Ping while down = %v, want ErrDown", err)
	}
	if err := insertMode(ctx, db, "a"); !errors.Is(err, storefault.ErrDown) {
		t.Errorf("write while down = %v, want ErrDown", err)
	}
	inj.Up()
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after Up: %v", err)
	}
	if err := insertMode(ctx, db, "a"); err != nil {
		t.Errorf("write after Up: %v", err)
	}
	if n := countModes(t, db); n != 1 {
		t.Errorf("rows after the outage = %d, want 1 (the write after Up only)", n)
	}
}

// TestRules: a rule acts only on matching operations, and stops when removed.
func TestRules(t *testing.T) {
	db, inj := open(t)
	ctx := t.Context()

	remove := inj.Fail(storefault.Exec, "INSERT INTO subject_modes", nil)
	if err := insertMode(ctx, db, "a"); !errors.Is(err, storefault.ErrInjected) {
		t.Errorf("matching write = %v, want ErrInjected", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("a ping does not match the rule, yet: %v", err)
	}
	remove()
	if err := insertMode(ctx, db, "a"); err != nil {
		t.Errorf("write after the rule was removed: %v", err)
	}

	// A failed commit rolls the transaction back.
	remove = inj.Fail(storefault.Commit, "", nil)
	if err := insertMode(ctx, db, "b"); !errors.Is(err, storefault.ErrInjected) {
		t.Errorf("write with a failing commit = %v, want ErrInjected", err)
	}
	remove()
	if n := countModes(t, db); n != 1 {
		t.Errorf("rows = %d, want 1: the transaction whose commit failed must leave nothing", n)
	}

	// A stalled statement fails when its context ends: a timeout.
	remove = inj.Stall(storefault.Query, "subject_modes")
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var n int
	err := db.SQL().QueryRowContext(tctx, `SELECT COUNT(*) FROM subject_modes`).Scan(&n)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled query = %v, want context.DeadlineExceeded", err)
	}
	remove()

	// A delayed statement still runs.
	remove = inj.Delay(storefault.Exec, "INSERT", time.Millisecond)
	if err := insertMode(ctx, db, "c"); err != nil {
		t.Errorf("delayed write: %v", err)
	}
	remove()
	if got := inj.Hits(storefault.Exec); got != 2 {
		t.Errorf("exec hits = %d, want 2 (the failed insert and the delayed one)", got)
	}
}
