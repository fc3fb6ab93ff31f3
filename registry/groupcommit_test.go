package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
)

// openLimited opens a store of the test backend with at most conns connections.
func openLimited(t *testing.T, conns int) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), storetest.URL(t), store.WithMaxOpenConns(conns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// hookFails ends the subjects whose registrations the journal refuses to record; hookRefuses
// those it refuses with a registry error (a refusal, as a rule of the registry would make it,
// after the registration wrote its schema and version).
const (
	hookFails   = "hook-fails"
	hookRefuses = "hook-refuses"
)

// journalEntry is one registration an OnWrite hook recorded.
type journalEntry struct {
	Subject           string
	Version, SchemaID int
}

// journal is an OnWrite hook that records every registration in a table of the store, inside
// the registration's transaction, as the audit log does; it refuses (fails) the registrations
// of subjects ending in hookFails. It numbers the transactions it sees, so a test can tell which
// registrations committed together.
type journal struct {
	db  *store.DB
	mu  sync.Mutex
	txs map[*sql.Tx]int
}

func newJournal(t *testing.T, r *Registry, db *store.DB) *journal {
	t.Helper()
	if _, err := db.SQL().ExecContext(t.Context(), `CREATE TABLE test_journal (
		tx_no INTEGER NOT NULL, subject TEXT NOT NULL, version INTEGER NOT NULL, schema_id INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	j := &journal{db: db, txs: map[*sql.Tx]int{}}
	r.OnWrite(j.record)
	return j
}

func (j *journal) record(ctx context.Context, tx *sql.Tx, c Change) error {
	if c.Action != ActionSchemaRegistered {
		return nil
	}
	if strings.HasSuffix(c.Subject, hookFails) {
		return errors.New("the audit log refuses the entry")
	}
	if strings.HasSuffix(c.Subject, hookRefuses) {
		return errorf(ErrOperationNotPermitted, "the journal refuses %q", c.Subject)
	}
	j.mu.Lock()
	n, ok := j.txs[tx]
	if !ok {
		n = len(j.txs) + 1
		j.txs[tx] = n
	}
	j.mu.Unlock()
	_, err := tx.ExecContext(ctx, j.db.Dialect().Rebind(`INSERT INTO test_journal (tx_no, subject, version, schema_id) VALUES (?, ?, ?, ?)`),
		n, c.Subject, c.Details["version"], c.Details["schema_id"])
	return err
}

// entries returns the committed entries of subjects starting with prefix, sorted, and how many
// of them the largest transaction committed.
func (j *journal) entries(t checker, prefix string) (entries []journalEntry, largestTx int) {
	t.Helper()
	rows, err := j.db.SQL().QueryContext(context.Background(), j.db.Dialect().Rebind(
		`SELECT tx_no, subject, version, schema_id FROM test_journal WHERE subject LIKE ? ORDER BY subject, version`), prefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	perTx := map[int]int{}
	for rows.Next() {
		var txNo int
		var e journalEntry
		if err := rows.Scan(&txNo, &e.Subject, &e.Version, &e.SchemaID); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
		perTx[txNo]++
		largestTx = max(largestTx, perTx[txNo])
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return entries, largestTx
}

// checkLargestTx checks that the transaction that committed the most registrations committed
// want.
func (j *journal) checkLargestTx(t *testing.T, want int) {
	t.Helper()
	if _, largest := j.entries(t, ""); largest != want {
		t.Errorf("the largest transaction committed %d registrations, want %d", largest, want)
	}
}

// gatherBatch makes r's next leader wait, before it takes its batch, until n registrations are
// queued (its own included), and run during (when set) before it goes on: the n registrations
// then commit in one batch, and during changes what they find in it.
func gatherBatch(t *testing.T, r *Registry, n int, during func()) {
	var once sync.Once
	r.group.beforeBatch = func() {
		once.Do(func() {
			waitQueued(t, r, n)
			if during != nil {
				during()
			}
		})
	}
}

// waitQueued waits until n registrations wait in r's queue (or the test ends).
func waitQueued(t *testing.T, r *Registry, n int) {
	for r.group.queued() != n {
		select {
		case <-t.Context().Done():
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// checker is what checks need of *testing.T and *rapid.T.
type checker interface {
	Helper()
	Errorf(format string, args ...any)
	Fatal(args ...any)
}

// call is one Register call of a test and its outcome.
type call struct {
	subject string
	in      SchemaInput
	want    error // the sentinel the call fails with; nil: it succeeds
	got     SubjectVersion
	err     error
}

// registerAll makes the calls concurrently and sets their outcomes.
func registerAll(ctx context.Context, r *Registry, calls []*call) {
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() { c.got, c.err = r.Register(ctx, c.subject, c.in) })
	}
	wg.Wait()
}

// checkOutcomes checks every call's error, and that the successful ones agree with each other
// and with what the registry and journal (entries of subjects starting with prefix) hold: one
// version per distinct schema of a subject, numbered 1, 2, 3…; one schema ID per content
// (ids, shared between calls of checkOutcomes, maps schema text to ID) and another for each
// other content; one journal entry per version; no version for a subject without a success.
func checkOutcomes(t checker, r *Registry, j *journal, prefix string, calls []*call, ids map[string]int) {
	t.Helper()
	ctx := context.Background()
	bySchema := map[[2]string]SubjectVersion{} // subject, text → answer
	texts := map[int]string{}
	subjects := map[string]bool{}
	var wantEntries []journalEntry
	for _, c := range calls {
		subjects[c.subject] = true
		if c.want != nil {
			if !errors.Is(c.err, c.want) {
				t.Errorf("Register(%q) = %v, want an error wrapping %q", c.subject, c.err, c.want)
			}
			continue
		}
		if c.err != nil {
			t.Errorf("Register(%q): %v", c.subject, c.err)
			continue
		}
		key := [2]string{c.subject, c.in.Text}
		if first, ok := bySchema[key]; ok {
			if diff := cmp.Diff(first, c.got); diff != "" {
				t.Errorf("two registrations of one schema in %q got different answers (-first +other):\n%s", c.subject, diff)
			}
			continue
		}
		bySchema[key] = c.got
		if id, ok := ids[c.in.Text]; ok && id != c.got.Schema.ID {
			t.Errorf("one schema got IDs %d and %d", id, c.got.Schema.ID)
		}
		if text, ok := texts[c.got.Schema.ID]; ok && text != c.in.Text {
			t.Errorf("ID %d holds two different schemas", c.got.Schema.ID)
		}
		ids[c.in.Text], texts[c.got.Schema.ID] = c.got.Schema.ID, c.in.Text
		wantEntries = append(wantEntries, journalEntry{c.subject, c.got.Version, c.got.Schema.ID})
	}
	for subject := range subjects {
		var want []int
		for _, e := range wantEntries {
			if e.Subject == subject {
				want = append(want, len(want)+1)
			}
		}
		got, err := r.Versions(ctx, subject, true)
		if len(want) == 0 {
			if !errors.Is(err, ErrSubjectNotFound) {
				t.Errorf("subject %q without a successful registration: Versions = %v, %v; want ErrSubjectNotFound", subject, got, err)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("Versions(%q) = %v, %v; want %v", subject, got, err, want)
		}
	}
	slices.SortFunc(wantEntries, func(a, b journalEntry) int {
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
	entries, _ := j.entries(t, prefix)
	if diff := cmp.Diff(wantEntries, entries); diff != "" {
		t.Errorf("journal: one entry per version created (-want +got):\n%s", diff)
	}
}

// incompatible…: a subject's first version, a candidate compatible with it (BACKWARD), and a
// second version, compatible with the first, that the candidate cannot read.
const (
	incompatibleV1        = `{"type":"record","name":"I","fields":[{"name":"a","type":"string"}]}`
	incompatibleCandidate = `{"type":"record","name":"I","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}`
	incompatibleV2        = `{"type":"record","name":"I","fields":[{"name":"a","type":"string"},{"name":"b","type":"string","default":""}]}`
)

// TestGroupCommitAnswersEachRegistration queues more registrations than the store has
// connections and commits them in one batch, while another registry on the same store makes
// some of them fail inside the transaction: a subject turned READONLY, a referenced version
// deleted, a new version the candidate is incompatible with; an audit hook refuses others.
// Every call gets its own right answer, the failures leave nothing behind, and the
// registrations that could succeed together committed in one transaction.
func TestGroupCommitAnswersEachRegistration(t *testing.T) {
	ctx := t.Context()
	db := openLimited(t, 4)
	r, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(db, Options{}) // another writer on the same store, not journaled
	if err != nil {
		t.Fatal(err)
	}
	j := newJournal(t, r, db)
	for subject, text := range map[string]string{"ref-target": addressAvro, "incompatible": incompatibleV1} {
		if _, err := other.Register(ctx, subject, avroIn(text)); err != nil {
			t.Fatal(err)
		}
	}
	ref := Reference{Name: "com.example.Address", Subject: "ref-target", Version: 1}

	var calls []*call
	add := func(n int, subject string, in SchemaInput, want error) {
		for range n {
			calls = append(calls, &call{subject: subject, in: in, want: want})
		}
	}
	for i := range 10 { // ten subjects, four calls each; the subjects share four schemas
		add(4, fmt.Sprintf("good-%d", i), avroIn(benchSchema(i%4)), nil)
	}
	for i := range 6 { // six new versions of one subject, racing
		add(1, "many", avroIn(benchSchema(10+i)), nil)
	}
	add(3, "read-only", avroIn(benchSchema(20)), ErrOperationNotPermitted)
	add(3, "refers", avroIn(customerAvro, ref), ErrReferenceNotFound)
	add(3, "incompatible", avroIn(incompatibleCandidate), ErrIncompatible)
	add(3, "audited-"+hookFails, avroIn(benchSchema(21)), ErrStore)

	gatherBatch(t, r, len(calls), func() {
		if _, err := other.SetAccessMode(ctx, "read-only", ModeReadOnly, false); err != nil {
			t.Error(err)
		}
		if _, err := other.DeleteVersion(ctx, "ref-target", 1, false); err != nil {
			t.Error(err)
		}
		if _, err := other.Register(ctx, "incompatible", avroIn(incompatibleV2)); err != nil {
			t.Error(err)
		}
	})
	registerAll(ctx, r, calls)

	var rest []*call
	for _, c := range calls {
		if c.subject != "incompatible" {
			rest = append(rest, c)
		} else if !errors.Is(c.err, ErrIncompatible) {
			t.Errorf("Register(incompatible) = %v, want ErrIncompatible", c.err)
		}
	}
	checkOutcomes(t, r, j, "", rest, map[string]int{})
	if vs, err := r.Versions(ctx, "incompatible", true); err != nil || !cmp.Equal(vs, []int{1, 2}) {
		t.Errorf("Versions(incompatible) = %v, %v; want [1 2], the refused candidate not added", vs, err)
	}
	// Ten good subjects and the first of "many" commit in the first batch; the other versions
	// of "many" found it changed and checked again.
	j.checkLargestTx(t, 11)
}

// TestGroupCommitHookFailureFailsOnlyItsRegistration commits three registrations in one batch,
// the middle one refused by the audit hook after it wrote its schema and version rows, with a
// storage failure or with a registry error (a refusal as a rule of the registry makes it). A
// batch runs without savepoints until such a refusal, then again with them: the refused one
// fails with its error and leaves no version, no schema and no ID behind; the other two commit
// together, with consecutive IDs.
func TestGroupCommitHookFailureFailsOnlyItsRegistration(t *testing.T) {
	for _, tc := range []struct {
		suffix string
		want   error
	}{{hookFails, ErrStore}, {hookRefuses, ErrOperationNotPermitted}} {
		t.Run(tc.suffix, func(t *testing.T) {
			ctx := t.Context()
			r, _ := newTestRegistry(t)
			j := newJournal(t, r, r.db)
			calls := []*call{
				{subject: "first", in: avroIn(benchSchema(1))},
				{subject: "second-" + tc.suffix, in: avroIn(benchSchema(2)), want: tc.want},
				{subject: "third", in: avroIn(benchSchema(3))},
			}
			gatherBatch(t, r, len(calls), nil)
			registerAll(ctx, r, calls)
			checkOutcomes(t, r, j, "", calls, map[string]int{})
			if first, third := calls[0].got.Schema.ID, calls[2].got.Schema.ID; max(first, third)-min(first, third) != 1 {
				t.Errorf("IDs %d and %d: the refused registration kept an ID", first, third)
			}
			var schemas int
			if err := r.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM schemas`).Scan(&schemas); err != nil || schemas != 2 {
				t.Errorf("schemas stored = %d, %v; want 2", schemas, err)
			}
			j.checkLargestTx(t, 2)
		})
	}
}

// TestGroupCommitCallerLeavesTheQueue: a registration whose context ends while it waits for the
// write turn returns the context's error at once and is never written; the others are.
func TestGroupCommitCallerLeavesTheQueue(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	release := make(chan struct{})
	var once sync.Once
	r.group.beforeBatch = func() { once.Do(func() { <-release }) } // the first leader waits
	first := make(chan error, 1)
	go func() {
		_, err := r.Register(ctx, "first", avroIn(benchSchema(1)))
		first <- err
	}()
	waitQueued(t, r, 1)
	leaving, cancel := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() {
		_, err := r.Register(leaving, "leaves", avroIn(benchSchema(2)))
		left <- err
	}()
	waitQueued(t, r, 2)
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that left: err = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("the leader: %v", err)
	}
	if _, err := r.Versions(ctx, "leaves", true); !errors.Is(err, ErrSubjectNotFound) {
		t.Errorf("Versions(leaves): %v, want ErrSubjectNotFound", err)
	}
	if vs, err := r.Versions(ctx, "first", true); err != nil || !cmp.Equal(vs, []int{1}) {
		t.Errorf("Versions(first) = %v, %v; want [1]", vs, err)
	}
}
