package registry

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
)

// dbChanges reads subject's change counter from the database (0: no row).
func dbChanges(t *testing.T, db *store.DB, subject string) int64 {
	t.Helper()
	var n int64
	err := db.SQL().QueryRowContext(t.Context(), db.Dialect().Rebind(
		`SELECT changes FROM subject_changes WHERE subject = ?`), subject).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return n
}

// counters is a subject's change counter as the database, r's memory and a fresh load of the
// database hold it.
type counters struct {
	DB, Memory, Loaded int64
}

func countersOf(t *testing.T, r *Registry, subject string) counters {
	t.Helper()
	loaded := &index{}
	if err := r.loadAll(t.Context(), loaded); err != nil {
		t.Fatal(err)
	}
	r.idx.mu.RLock()
	defer r.idx.mu.RUnlock()
	return counters{dbChanges(t, r.db, subject), r.idx.changes[subject], loaded.changes[subject]}
}

// TestEveryWriteCountsAChange: every write to a subject's versions, through every path that
// writes them, raises the subject's change counter in the database by the number of version
// rows it wrote, and a write that changed no row raises nothing; memory (which puts a
// registration's own version in memory with the counter it counted) and a fresh load hold the
// database's value after each.
func TestEveryWriteCountsAChange(t *testing.T) {
	ctx := t.Context()
	const s = "s"
	importAt := func(id, version int) func(r *Registry) error {
		return func(r *Registry) error {
			if _, err := r.SetAccessMode(ctx, s, ModeImport, true); err != nil {
				return err
			}
			in := avroIn(benchSchema(id))
			in.ID, in.Version = id, version
			_, err := r.Register(ctx, s, in)
			return err
		}
	}
	tests := []struct {
		name  string
		write func(r *Registry) error
		want  int64 // counter after the setup (versions 1 and 2 of s, counter 2) and write
	}{
		{"register a version", func(r *Registry) error { _, err := r.Register(ctx, s, avroIn(userV3)); return err }, 3},
		{"register a schema the subject has", func(r *Registry) error { _, err := r.Register(ctx, s, avroIn(userV1)); return err }, 2},
		{"register an incompatible schema", func(r *Registry) error {
			_, err := r.Register(ctx, s, avroIn(`{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"string"}]}`))
			if !errors.Is(err, ErrIncompatible) {
				return errors.Join(errors.New("not refused as incompatible"), err)
			}
			return nil
		}, 2},
		{"soft-delete a version", func(r *Registry) error { _, err := r.DeleteVersion(ctx, s, 2, false); return err }, 3},
		{"soft-delete the subject", func(r *Registry) error { _, err := r.DeleteSubject(ctx, s, false); return err }, 4},
		{"permanently delete a version", func(r *Registry) error {
			if _, err := r.DeleteVersion(ctx, s, 2, false); err != nil {
				return err
			}
			_, err := r.DeleteVersion(ctx, s, 2, true)
			return err
		}, 4},
		{"permanently delete the subject", func(r *Registry) error {
			if _, err := r.DeleteSubject(ctx, s, false); err != nil {
				return err
			}
			_, err := r.DeleteSubject(ctx, s, true)
			return err
		}, 6},
		{"register again after a permanent delete", func(r *Registry) error {
			if _, err := r.DeleteSubject(ctx, s, false); err != nil {
				return err
			}
			if _, err := r.DeleteSubject(ctx, s, true); err != nil {
				return err
			}
			_, err := r.Register(ctx, s, avroIn(userV1))
			return err
		}, 7},
		{"import a version", importAt(500, 7), 3},
		{"import a version between others", func(r *Registry) error {
			if err := importAt(500, 9)(r); err != nil {
				return err
			}
			return importAt(501, 4)(r)
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			mustRegister(t, r, s, avroIn(userV1))
			mustRegister(t, r, s, avroIn(userV2))
			if n := r.idx.subjectLoads.Load(); n != 0 {
				t.Fatalf("%d subjects reloaded after this replica's registrations, want 0: each put its version in memory with the counter it counted", n)
			}
			if err := tt.write(r); err != nil {
				t.Fatal(err)
			}
			want := counters{tt.want, tt.want, tt.want}
			if diff := cmp.Diff(want, countersOf(t, r, s)); diff != "" {
				t.Errorf("change counter of %s (-want +got):\n%s", s, diff)
			}
		})
	}
}

// TestAnotherReplicasWriteIsReadFromTheDatabase: a replica whose memory is behind (another
// replica registered a version, and no feed told this one) decides its next batch on what the
// database holds: the right next version and the right compatibility decision. It reads the
// subject's rows from the database for that batch, and takes them from memory again once it
// holds the database's counter.
func TestAnotherReplicasWriteIsReadFromTheDatabase(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	a, b := memRegistry(t, db, nil), memRegistry(t, db, nil)
	const s = "orders-value"
	record := func(fields string) SchemaInput {
		return avroIn(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}` + fields + `]}`)
	}
	mustRegister(t, a, s, record(""))
	mustRegister(t, b, s, record(`,{"name":"b","type":"string","default":""}`))

	// Both in one batch of a. Against version 1 alone (a's memory), x would be compatible and
	// y would get version 2; against version 2 (the database), x is incompatible (b changes
	// type) and y gets version 3.
	x := record(`,{"name":"b","type":"int","default":0}`)
	y := record(`,{"name":"b","type":"string","default":""},{"name":"c","type":"long","default":0}`)
	gatherBatch(t, a, 2, nil)
	var xErr, yErr error
	var ySV SubjectVersion
	var wg sync.WaitGroup
	wg.Go(func() { _, xErr = a.Register(ctx, s, x) })
	wg.Go(func() { ySV, yErr = a.Register(ctx, s, y) })
	wg.Wait()
	if !errors.Is(xErr, ErrIncompatible) {
		t.Errorf("x: got %v, want ErrIncompatible (version 2 has b as a string)", xErr)
	}
	if yErr != nil {
		t.Fatalf("y: %v", yErr)
	}
	if diff := cmp.Diff(3, ySV.Version); diff != "" {
		t.Errorf("y's version (-want +got):\n%s", diff)
	}
	if got := a.idx.batchReads.Load(); got == 0 {
		t.Errorf("a read the rows of %s from the database for 0 batches, want at least 1", s)
	}

	// a has reloaded s after its registration: the next batch takes s from memory.
	before := a.idx.batchReads.Load()
	mustRegister(t, a, s, record(`,{"name":"b","type":"string","default":""},{"name":"d","type":"long","default":0}`))
	if got := a.idx.batchReads.Load() - before; got != 0 {
		t.Errorf("the batch after a caught up read %d subjects' rows from the database, want 0", got)
	}
}

// TestRefusedRegistrationLeavesMemoryCurrent: a registration refused after it wrote its
// version (an OnWrite hook refuses it) is rolled back to its savepoint in the batch, and the
// rollback takes back the change it counted too; the kept registration after it in the same
// subject puts its version in memory with the database's counter (no reload), so the next
// batch takes the subject's rows from memory.
func TestRefusedRegistrationLeavesMemoryCurrent(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	const s, other = "s", "t"
	mustRegister(t, r, s, avroIn(benchSchema(0)))
	// In every attempt at the first batch (a transaction), the first registration in s is
	// refused.
	var mu sync.Mutex
	refusing, refusedIn := true, map[*sql.Tx]bool{}
	r.OnWrite(func(ctx context.Context, tx *sql.Tx, c Change) error {
		mu.Lock()
		defer mu.Unlock()
		if refusing && c.Action == ActionSchemaRegistered && c.Subject == s && !refusedIn[tx] {
			refusedIn[tx] = true
			return errors.New("the audit log refuses the entry")
		}
		return nil
	})
	gatherBatch(t, r, 3, nil)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, subject := range []string{s, s, other} {
		wg.Go(func() { _, errs[i] = r.Register(ctx, subject, avroIn(benchSchema(i+1))) })
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d registrations failed, want 1 (the one the hook refused): %v", failed, errs)
	}
	if diff := cmp.Diff(counters{2, 2, 2}, countersOf(t, r, s)); diff != "" {
		t.Errorf("change counter of %s after the batch (-want +got):\n%s", s, diff)
	}
	if n := r.idx.subjectLoads.Load(); n != 0 {
		t.Errorf("%d subjects reloaded after the batch, want 0: each kept registration put its version in memory", n)
	}

	mu.Lock()
	refusing = false
	mu.Unlock()
	before := r.idx.batchReads.Load()
	gatherBatch(t, r, 2, nil)
	for i, subject := range []string{s, other} { // one each: two in s would race to check
		wg.Go(func() { mustRegister(t, r, subject, avroIn(benchSchema(10+i))) })
	}
	wg.Wait()
	if got := r.idx.batchReads.Load() - before; got != 0 {
		t.Errorf("the next batch read %d subjects' rows from the database, want 0", got)
	}
	if diff := cmp.Diff(counters{3, 3, 3}, countersOf(t, r, s)); diff != "" {
		t.Errorf("change counter of %s after the next batch (-want +got):\n%s", s, diff)
	}
}
