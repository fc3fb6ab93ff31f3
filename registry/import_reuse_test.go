package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store/storetest"
)

// The schemas of the ID reuse tests: old is registered first and deleted, new takes its ID.
const (
	reuseOld = `{"name":"Old","type":"record","fields":[{"name":"a","type":"int"}]}`
	reuseNew = `{"name":"New","type":"record","fields":[{"name":"b","type":"string"}]}`
)

// seenByID is what a replica serves for a schema ID: the schema and its parsed form's name.
type seenByID struct {
	Text, Parsed string
	References   []Reference
}

// servedByID reads schema id the two ways clients reach it by ID.
func servedByID(ctx context.Context, r *Registry, id int) (seenByID, error) {
	s, err := r.SchemaByID(ctx, id)
	if err != nil {
		return seenByID{}, err
	}
	res, err := r.Resolved(ctx, id)
	if err != nil {
		return seenByID{}, err
	}
	seen := seenByID{Text: s.Text, Parsed: res.Avro.String(), References: s.References}
	if len(seen.References) == 0 {
		seen.References = nil
	}
	return seen, nil
}

// deleteForGood soft-deletes and then permanently deletes subject.
func deleteForGood(t *testing.T, r *Registry, subject string) {
	t.Helper()
	for _, permanent := range []bool{false, true} {
		if _, err := r.DeleteSubject(t.Context(), subject, permanent); err != nil {
			t.Fatalf("DeleteSubject(%q, permanent %v): %v", subject, permanent, err)
		}
	}
}

// reuseID deletes subject "old" for good on r and imports reuseNew under its schema's id into
// subject "imported".
func reuseID(t *testing.T, r *Registry, id int) {
	t.Helper()
	deleteForGood(t, r, "old")
	if _, err := r.SetAccessMode(t.Context(), "imported", ModeImport, false); err != nil {
		t.Fatal(err)
	}
	in := avroIn(reuseNew)
	in.ID = id
	mustRegister(t, r, "imported", in)
}

// checkServesNew checks that r serves reuseNew as schema id, by ID and parsed.
func checkServesNew(t *testing.T, r *Registry, id int) {
	t.Helper()
	got, err := servedByID(t.Context(), r, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seenByID{Text: reuseNew, Parsed: reuseNew}, got); diff != "" {
		t.Errorf("schema %d by ID (-want +got):\n%s", id, diff)
	}
}

// TestImportReusesDeletedSchemaID: in IMPORT mode an explicit ID whose schema lost every
// version to permanent deletes is given to the new content, as Confluent does: the schema by ID,
// its parsed form, lookups and the version are the new content's, and the old content registered
// again gets a fresh ID. While a version (even a soft-deleted one) holds the ID, or outside
// IMPORT mode, the registration is refused and changes nothing.
func TestImportReusesDeletedSchemaID(t *testing.T) {
	tests := []struct {
		name      string
		permanent bool       // the old subject (schema ID 2; "dep" has 1) is permanently deleted, else soft-deleted only
		mode      AccessMode // of the importing subject
		wantErr   string     // "" : the ID is reused
	}{
		{name: "permanently deleted, IMPORT: reused", permanent: true, mode: ModeImport},
		{name: "permanently deleted, READWRITE: refused", permanent: true, mode: ModeReadWrite,
			wantErr: "Subject imported is not in import mode"},
		{name: "soft-deleted only, IMPORT: refused", mode: ModeImport,
			wantErr: "Overwrite new schema with id 2 is not permitted: the id holds another schema"},
	}
	registries := []struct {
		name string
		open func(testing.TB) (*Registry, error)
	}{
		{"from memory", func(tb testing.TB) (*Registry, error) { r, _ := newTestRegistry(tb); return r, nil }},
		{"from the database", func(tb testing.TB) (*Registry, error) { r, _ := newDBRegistry(tb); return r, nil }},
	}
	for _, reg := range registries {
		for _, tc := range tests {
			t.Run(reg.name+"/"+tc.name, func(t *testing.T) {
				ctx := t.Context()
				r, err := reg.open(t)
				if err != nil {
					t.Fatal(err)
				}
				dep := mustRegister(t, r, "dep", avroIn(`{"name":"Dep","type":"fixed","size":4}`))
				ref := Reference{Name: "Dep", Subject: "dep", Version: dep.Version}
				oldIn := avroIn(`{"name":"Old","type":"record","fields":[{"name":"a","type":"Dep"}]}`, ref)
				old := mustRegister(t, r, "old", oldIn)
				// Warm every cache by ID with the old content.
				if _, err := servedByID(ctx, r, old.Schema.ID); err != nil {
					t.Fatal(err)
				}
				if tc.permanent {
					deleteForGood(t, r, "old")
				} else if _, err := r.DeleteSubject(ctx, "old", false); err != nil {
					t.Fatal(err)
				}
				if _, err := r.SetAccessMode(ctx, "imported", tc.mode, false); err != nil {
					t.Fatal(err)
				}
				in := avroIn(reuseNew)
				in.ID, in.Version = old.Schema.ID, 4
				sv, err := r.Register(ctx, "imported", in)
				if tc.wantErr != "" {
					if !errors.Is(err, ErrOperationNotPermitted) || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("Register = %+v, %v; want ErrOperationNotPermitted saying %q", sv, err, tc.wantErr)
					}
					if _, err := r.SubjectVersion(ctx, "imported", -1, true); !errors.Is(err, ErrSubjectNotFound) {
						t.Errorf("after the refusal, the subject: %v; want ErrSubjectNotFound", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				if diff := cmp.Diff(SubjectVersion{Subject: "imported", Version: 4, Schema: Schema{ID: old.Schema.ID, Type: SchemaTypeAvro, Text: reuseNew}}, sv); diff != "" {
					t.Errorf("registration (-want +got):\n%s", diff)
				}
				checkServesNew(t, r, old.Schema.ID)
				latest, err := r.SubjectVersion(ctx, "imported", -1, false)
				if err != nil || latest.Schema.Text != reuseNew || latest.Schema.References != nil {
					t.Errorf("latest version = %+v, %v; want the new schema, without references", latest, err)
				}
				if found, err := r.LookupSchema(ctx, "imported", avroIn(reuseNew), false); err != nil || found.Version != 4 {
					t.Errorf("lookup of the new schema = %+v, %v; want version 4", found, err)
				}
				// The old content has no ID any more: back in READWRITE it gets a fresh one.
				if _, err := r.SetAccessMode(ctx, "imported", ModeReadWrite, false); err != nil {
					t.Fatal(err)
				}
				again := mustRegister(t, r, "old", oldIn)
				if again.Schema.ID == old.Schema.ID {
					t.Errorf("the old schema registered again got ID %d, the reused one", again.Schema.ID)
				}
				if got, err := servedByID(ctx, r, again.Schema.ID); err != nil || got.Text != oldIn.Text {
					t.Errorf("schema %d = %+v, %v; want the old schema", again.Schema.ID, got, err)
				}
			})
		}
	}
}

// TestImportReuseInOneBatch: registrations committed together, the first reusing a deleted
// schema's ID, the next registering the new content in another subject and the last the old
// content: the second shares the reused ID, the last gets a fresh one, and memory holds what a
// load of the database reads.
func TestImportReuseInOneBatch(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	r := memRegistry(t, db, nil)
	old := mustRegister(t, r, "old", avroIn(reuseOld))
	deleteForGood(t, r, "old")
	for _, s := range []string{"a", "b"} {
		if _, err := r.SetAccessMode(ctx, s, ModeImport, false); err != nil {
			t.Fatal(err)
		}
	}
	reuse := avroIn(reuseNew)
	reuse.ID = old.Schema.ID
	same := reuse
	type result struct {
		ID, Version int
		Err         string
	}
	inputs := []struct {
		subject string
		in      SchemaInput
	}{{"a", reuse}, {"b", same}, {"c", avroIn(reuseOld)}}
	results := make([]result, len(inputs))
	gatherBatch(t, r, len(inputs), nil)
	var wg sync.WaitGroup
	for i, w := range inputs {
		wg.Go(func() {
			sv, err := r.Register(ctx, w.subject, w.in)
			results[i] = result{ID: sv.Schema.ID, Version: sv.Version, Err: fmt.Sprint(err)}
		})
		if i < len(inputs)-1 { // queued in this order; the last lets the batch go
			waitQueued(t, r, i+1)
		}
	}
	wg.Wait()
	fresh := old.Schema.ID + 1
	want := []result{{old.Schema.ID, 1, "<nil>"}, {old.Schema.ID, 1, "<nil>"}, {fresh, 1, "<nil>"}}
	if diff := cmp.Diff(want, results); diff != "" {
		t.Errorf("registrations (-want +got):\n%s", diff)
	}
	loaded := &index{}
	if err := r.loadAll(ctx, loaded); err != nil {
		t.Fatal(err)
	}
	hold := func(idx *index) (map[int]Schema, map[string]int) {
		idx.mu.RLock()
		defer idx.mu.RUnlock()
		return idx.schemas, idx.byFP
	}
	ls, lfp := hold(loaded)
	ms, mfp := hold(r.idx)
	if diff := cmp.Diff(ls, ms); diff != "" {
		t.Errorf("schemas in memory (-loaded +held):\n%s", diff)
	}
	if diff := cmp.Diff(lfp, mfp); diff != "" {
		t.Errorf("fingerprints in memory (-loaded +held):\n%s", diff)
	}
}

// TestFeedForgetsReusedSchemaID: two replicas on one database. B has served schema 1 (by ID and
// parsed) before A deleted it for good and imported other content under its ID; through the
// feed B forgets the old content and serves the new, by ID, parsed and under the subject.
func TestFeedForgetsReusedSchemaID(t *testing.T) {
	ctx := t.Context()
	url := storetest.URL(t)
	a, b := feedReplica(t, url), feedReplica(t, url)
	toldA, toldB := listenReplaced(a), listenReplaced(b)
	old := mustRegister(t, a, "old", avroIn(reuseOld))
	waitFor(t, "B serves the old schema", func() error {
		got, err := servedByID(ctx, b, old.Schema.ID)
		if err == nil && got.Text != reuseOld {
			err = fmt.Errorf("schema %+v", got)
		}
		return err
	})
	reuseID(t, a, old.Schema.ID)
	waitFor(t, "B serves the new schema under the subject", func() error {
		_, err := b.SubjectVersion(ctx, "imported", 1, false)
		return err
	})
	checkServesNew(t, b, old.Schema.ID)
	sv, err := b.SubjectVersion(ctx, "imported", 1, false)
	if err != nil || sv.Schema.Text != reuseNew {
		t.Errorf("B's imported version 1 = %+v, %v; want the new schema", sv, err)
	}
	if found, err := b.LookupSchema(ctx, "imported", avroIn(reuseOld), true); !errors.Is(err, ErrSchemaNotFound) {
		t.Errorf("B's lookup of the old schema = %+v, %v; want ErrSchemaNotFound", found, err)
	}
	for name, told := range map[string]func() []int{"A": toldA, "B": toldB} {
		if diff := cmp.Diff([]int{old.Schema.ID}, told()); diff != "" {
			t.Errorf("IDs %s's OnSchemaReplaced listener was told (-want +got):\n%s", name, diff)
		}
	}
}

// TestResyncForgetsReusedSchemaID: an offline writer (no feed) reuses a schema ID that a
// replica has served; the replica's next full load (what a Resync notice does) forgets the old
// content and tells its OnSchemaReplaced listeners.
func TestResyncForgetsReusedSchemaID(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	replica := memRegistry(t, db, nil)
	told := listenReplaced(replica)
	offline, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := mustRegister(t, replica, "old", avroIn(reuseOld))
	if _, err := servedByID(ctx, replica, old.Schema.ID); err != nil {
		t.Fatal(err)
	}
	reuseID(t, offline, old.Schema.ID)
	if err := replica.loadAll(ctx, replica.idx); err != nil {
		t.Fatal(err)
	}
	checkServesNew(t, replica, old.Schema.ID)
	if diff := cmp.Diff([]int{old.Schema.ID}, told()); diff != "" {
		t.Errorf("IDs the OnSchemaReplaced listener was told (-want +got):\n%s", diff)
	}
}

// listenReplaced registers an OnSchemaReplaced listener on r and returns what it was told so far.
func listenReplaced(r *Registry) func() []int {
	var mu sync.Mutex
	var ids []int
	r.OnSchemaReplaced(func(id int) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, id)
	})
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(ids)
	}
}

// waitFor polls check until it succeeds, failing the test after 30 seconds (a deadline for a
// lost notice, not a timing assertion: the feed delivers in milliseconds).
func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
	}
}
