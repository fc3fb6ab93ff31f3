package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
)

// readsOf is what a client reads about subject: every memory-served read, with errors as
// their messages.
type readsOf struct {
	Latest, V1   string
	Versions     string
	All, Deleted string
	Config, Mode string
	Lookup       string
}

func readAll(ctx context.Context, r *Registry, subject string, in SchemaInput) readsOf {
	show := func(v any, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%+v", v)
	}
	var out readsOf
	out.Latest = show(r.SubjectVersion(ctx, subject, -1, false))
	out.V1 = show(r.SubjectVersion(ctx, subject, 1, true))
	out.Versions = show(r.ListVersions(ctx, subject, true, false))
	out.All = show(r.Subjects(ctx, "", false))
	out.Deleted = show(r.ListSubjects(ctx, SubjectFilter{DeletedOnly: true}))
	out.Config = show(r.Config(ctx, subject, true))
	out.Mode = show(r.AccessMode(ctx, subject, true))
	out.Lookup = show(r.LookupSchema(ctx, subject, in, false))
	return out
}

// TestMemoryReadsMatchTheDatabase: after each write through a registry that serves reads from
// memory, its answers are those of a registry reading the database, at once (no wait: a
// replica never reads older data than it wrote).
func TestMemoryReadsMatchTheDatabase(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	mem := memRegistry(t, db, nil)
	direct, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const subject = "orders-value"
	v1 := avroIn(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`)
	v2 := avroIn(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":0}]}`)
	steps := []struct {
		name  string
		write func() error
	}{
		{"nothing yet", func() error { return nil }},
		{"register v1", func() error { _, err := mem.Register(ctx, subject, v1); return err }},
		{"register v2", func() error { _, err := mem.Register(ctx, subject, v2); return err }},
		{"soft-delete the latest", func() error { _, err := mem.DeleteVersion(ctx, subject, -1, false); return err }},
		{"set the subject's config", func() error {
			_, err := mem.SetConfig(ctx, subject, Config{Compatibility: CompatFull})
			return err
		}},
		{"set the global config", func() error { _, err := mem.SetConfig(ctx, "", Config{Compatibility: CompatNone}); return err }},
		{"set the subject's mode", func() error { _, err := mem.SetAccessMode(ctx, subject, ModeReadOnly, false); return err }},
		{"delete the subject's mode", func() error { _, err := mem.DeleteAccessMode(ctx, subject); return err }},
		{"delete the subject's config", func() error { _, err := mem.DeleteConfig(ctx, subject); return err }},
		{"soft-delete the subject", func() error { _, err := mem.DeleteSubject(ctx, subject, false); return err }},
		{"delete the subject permanently", func() error { _, err := mem.DeleteSubject(ctx, subject, true); return err }},
		{"register v2 afresh", func() error { _, err := mem.Register(ctx, subject, v2); return err }},
	}
	for _, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		want := readAll(ctx, direct, subject, v1)
		if diff := cmp.Diff(want, readAll(ctx, mem, subject, v1)); diff != "" {
			t.Errorf("after %s: memory reads differ from the database's (-database +memory):\n%s", s.name, diff)
		}
		wantV2 := readAll(ctx, direct, subject, v2).Lookup
		if got := readAll(ctx, mem, subject, v2).Lookup; got != wantV2 {
			t.Errorf("after %s: lookup of v2 = %s; the database says %s", s.name, got, wantV2)
		}
	}
}

// TestMemoryReadsWithoutTheDatabase: once loaded, latest, versions, subjects, lookups and
// config reads are answered with the database gone.
func TestMemoryReadsWithoutTheDatabase(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	r, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := avroIn(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`)
	mustRegister(t, r, "orders-value", in)
	if err := r.ServeFromMemory(ctx, nil); err != nil {
		t.Fatal(err)
	}
	want := readAll(ctx, r, "orders-value", in)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, readAll(ctx, r, "orders-value", in)); diff != "" {
		t.Errorf("reads after the database closed differ (-before +after):\n%s", diff)
	}
}

// TestFeedKeepsReplicasCurrent: two registries on one database, each serving from memory with
// its own feed (two replicas): writes on one reach the other's memory through the feed.
func TestFeedKeepsReplicasCurrent(t *testing.T) {
	ctx := t.Context()
	url := storetest.URL(t)
	a, b := feedReplica(t, url), feedReplica(t, url)
	in := avroIn(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`)
	writes := []struct {
		name  string
		write func() error
		check func() error
	}{
		{"registration", func() error { _, err := a.Register(ctx, "orders-value", in); return err }, func() error {
			sv, err := b.SubjectVersion(ctx, "orders-value", -1, false)
			if err == nil && sv.Version != 1 {
				err = fmt.Errorf("latest is version %d", sv.Version)
			}
			return err
		}},
		{"config", func() error {
			_, err := a.SetConfig(ctx, "orders-value", Config{Compatibility: CompatFull})
			return err
		}, func() error {
			c, err := b.Config(ctx, "orders-value", false)
			if err == nil && c.Compatibility != CompatFull {
				err = fmt.Errorf("compatibility %s", c.Compatibility)
			}
			return err
		}},
		{"JSON Schema format", func() error {
			_, err := a.SetConfig(ctx, "orders-value", Config{JSONSchemaFormat: JSONFormatAnnotate})
			return err
		}, func() error {
			f, err := b.EffectiveJSONSchemaFormat(ctx, "orders-value")
			if err == nil && f != JSONFormatAnnotate {
				err = fmt.Errorf("JSON Schema format %q", f)
			}
			return err
		}},
		{"data-contract config", func() error {
			_, err := a.SetConfig(ctx, "orders", Config{Alias: "orders-value", DefaultMetadata: `{"properties":{"owner":"a"}}`})
			return err
		}, func() error {
			alias, err := b.SubjectAlias(ctx, "orders")
			if err == nil && alias != "orders-value" {
				err = fmt.Errorf("alias %q", alias)
			}
			if c, cerr := b.Config(ctx, "orders", false); err == nil && (cerr != nil || c.DefaultMetadata != `{"properties":{"owner":"a"}}`) {
				err = fmt.Errorf("config %+v, %v", c, cerr)
			}
			return err
		}},
		{"global mode", func() error { _, err := a.SetAccessMode(ctx, "", ModeReadOnly, false); return err }, func() error {
			m, err := b.AccessMode(ctx, "orders-value", true)
			if err == nil && m != ModeReadOnly {
				err = fmt.Errorf("mode %s", m)
			}
			return err
		}},
		{"soft delete", func() error {
			if _, err := a.SetAccessMode(ctx, "", ModeReadWrite, false); err != nil {
				return err
			}
			_, err := a.DeleteSubject(ctx, "orders-value", false)
			return err
		}, func() error {
			if _, err := b.SubjectVersion(ctx, "orders-value", -1, false); !errors.Is(err, ErrSubjectNotFound) {
				return fmt.Errorf("latest after the delete: %v", err)
			}
			return nil
		}},
	}
	for _, w := range writes {
		if err := w.write(); err != nil {
			t.Fatalf("%s on A: %v", w.name, err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			err := w.check()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s on A not seen on B: %v", w.name, err)
			}
		}
	}
}

// feedReplica opens url as one replica would: its own connection pool, a Registry serving
// reads from memory and a running feed (whose periodic resync is put off, so only notices
// bring other replicas' writes).
func feedReplica(tb testing.TB, url string) *Registry {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	feed, err := store.NewFeed(ctx, db, url, store.FeedOptions{ResyncInterval: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	r := memRegistry(tb, db, feed)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); feed.Run(runCtx) }()
	tb.Cleanup(func() { stop(); <-done })
	return r
}

// memRegistry returns a Registry on db serving reads from memory, with feed (or nil).
func memRegistry(tb testing.TB, db *store.DB, feed *store.Feed) *Registry {
	tb.Helper()
	r, err := New(db, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.ServeFromMemory(tb.Context(), feed); err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestOwnRegistrationsInMemoryAsLoaded: registrations put their versions in memory without
// reading the database again; what memory holds then is what a load of the database reads —
// after concurrent registrations committed together, schemas shared between subjects, a
// schema registered twice, and imported versions out of order.
func TestOwnRegistrationsInMemoryAsLoaded(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	r := memRegistry(t, db, nil)
	const clients, each = 8, 6
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			subject := fmt.Sprintf("s-%d", c%3)
			for i := range each {
				// Clients of one subject register the same schemas: some are found, not created.
				if _, err := r.Register(ctx, subject, avroIn(benchSchema(i+10*(c%2)))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := r.SetAccessMode(ctx, "imported", ModeImport, false); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ id, version int }{{900, 5}, {901, 9}, {902, 2}} {
		in := avroIn(benchSchema(v.id))
		in.ID, in.Version = v.id, v.version
		if _, err := r.Register(ctx, "imported", in); err != nil {
			t.Fatal(err)
		}
	}

	loaded := &index{}
	if err := r.loadAll(ctx, loaded); err != nil {
		t.Fatal(err)
	}
	type held struct {
		Subjects map[string][]versionRow
		Schemas  map[int]Schema
		ByFP     map[string]int
	}
	hold := func(idx *index) held {
		idx.mu.RLock()
		defer idx.mu.RUnlock()
		return held{idx.subjects, idx.schemas, idx.byFP}
	}
	if diff := cmp.Diff(hold(loaded), hold(r.idx), cmp.AllowUnexported(versionRow{})); diff != "" {
		t.Errorf("memory after the registrations (-loaded +held):\n%s", diff)
	}
}

// TestIncompatibleOnlyFromTheDatabase: a registration is refused as incompatible only on what
// the database holds. Here memory is behind (another process deleted the version the new
// schema is incompatible with, and no feed told this one): the registration succeeds.
func TestIncompatibleOnlyFromTheDatabase(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	mem := memRegistry(t, db, nil)
	other, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const subject = "orders-value"
	mustRegister(t, mem, subject, avroIn(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`))
	if _, err := other.DeleteVersion(ctx, subject, 1, false); err != nil {
		t.Fatal(err)
	}
	// Incompatible with version 1 under BACKWARD: a field without a default.
	got, err := mem.Register(ctx, subject, avroIn(`{"type":"record","name":"R","fields":[{"name":"b","type":"string"}]}`))
	if err != nil {
		t.Fatalf("Register after the other process deleted version 1: %v", err)
	}
	if diff := cmp.Diff(2, got.Version); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}
}
