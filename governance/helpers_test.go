package governance

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store"
)

// openDB opens a migrated SQLite database in a fresh temporary directory.
func openDB(t testing.TB) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "schemagate.db")
	db, err := store.Open(t.Context(), "sqlite://"+path)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

// fakeClock is a clock that moves only when told; safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// t0 is a bucket-aligned start time for tests.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// newEvidence returns an Evidence on db for replica with a 5m bucket and clock.
func newEvidence(t testing.TB, db *store.DB, replica string, clock *fakeClock) *Evidence {
	t.Helper()
	e, err := NewEvidence(EvidenceOptions{DB: db, Replica: replica, Clock: clock.Now})
	if err != nil {
		t.Fatalf("NewEvidence: %v", err)
	}
	return e
}

// mustFlush flushes or fails the test.
func mustFlush(t testing.TB, e *Evidence) {
	t.Helper()
	if err := e.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}
