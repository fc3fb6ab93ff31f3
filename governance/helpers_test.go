package governance

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
	"github.com/schemagate/schemagate/validate"
)

// openDB opens a migrated store for one test (SQLite, or PostgreSQL under make
// unit-postgres) and returns it with its storage URL, to open it again.
func openDB(t testing.TB) (*store.DB, string) {
	t.Helper()
	url := storetest.URL(t)
	db, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, url
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

// failWrites installs a trigger that makes writes (event "INSERT" or "UPDATE") to table fail
// when condition holds (an SQL expression over NEW, e.g. "NEW.replica = 'r1'"; "" for always),
// on SQLite or PostgreSQL. It returns a function that removes it.
func failWrites(t testing.TB, db *store.DB, name, event, table, condition string) (lift func()) {
	t.Helper()
	var stmts, drop []string
	if db.Dialect().Name() == "postgres" {
		cond := "TRUE"
		if condition != "" {
			cond = condition
		}
		stmts = []string{
			fmt.Sprintf(`CREATE FUNCTION %s_fn() RETURNS trigger AS $$ BEGIN IF %s THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`, name, cond),
			fmt.Sprintf(`CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW EXECUTE FUNCTION %s_fn()`, name, event, table, name),
		}
		drop = []string{fmt.Sprintf(`DROP TRIGGER %s ON %s`, name, table), fmt.Sprintf(`DROP FUNCTION %s_fn()`, name)}
	} else {
		when := ""
		if condition != "" {
			when = "WHEN " + condition
		}
		stmts = []string{fmt.Sprintf(`CREATE TRIGGER %s BEFORE %s ON %s %s BEGIN SELECT RAISE(ABORT, 'injected failure'); END`, name, event, table, when)}
		drop = []string{`DROP TRIGGER ` + name}
	}
	for _, s := range stmts {
		if _, err := db.SQL().ExecContext(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return func() {
		for _, s := range drop {
			if _, err := db.SQL().ExecContext(context.Background(), s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
}

// findings returns one finding (no path, no message) of each kind, as Evidence.Record takes them.
func findings(kinds ...validate.Kind) []validate.Finding {
	out := make([]validate.Finding, len(kinds))
	for i, k := range kinds {
		out[i] = validate.Finding{Kind: k}
	}
	return out
}
