package governance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schemagate/schemagate/validate"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storefault"
	"github.com/schemagate/schemagate/store/storetest"
)

func TestNewEvidenceValidates(t *testing.T) {
	db, _ := openDB(t)
	tests := []struct {
		name string
		opts EvidenceOptions
	}{
		{"no db", EvidenceOptions{Replica: "r"}},
		{"no replica", EvidenceOptions{DB: db}},
		{"long replica", EvidenceOptions{DB: db, Replica: string(make([]byte, 256))}},
		{"bad replica", EvidenceOptions{DB: db, Replica: "r\xff"}},
		{"sub-second bucket", EvidenceOptions{DB: db, Replica: "r", Bucket: 1500 * time.Millisecond}},
		{"negative interval", EvidenceOptions{DB: db, Replica: "r", FlushInterval: -time.Second}},
		{"negative samples", EvidenceOptions{DB: db, Replica: "r", MaxSamples: -1}},
	}
	for _, tc := range tests {
		if _, err := NewEvidence(tc.opts); err == nil {
			t.Errorf("%s: NewEvidence succeeded", tc.name)
		}
	}
	e, err := NewEvidence(EvidenceOptions{DB: db, Replica: "host-1"})
	if err != nil {
		t.Fatal(err)
	}
	if e.bucket != DefaultEvidenceBucket || e.flushInterval != DefaultFlushInterval ||
		e.maxSamples != DefaultMaxSamples || e.clock == nil || e.log == nil || e.Replica() != "host-1" {
		t.Errorf("defaults not applied: %+v", e)
	}
}

func TestRecordFlushTotalsPerBucketAndKind(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0.Add(90 * time.Second))
	e := newEvidence(t, db, "r1", clock)

	e.Record("orders", "", nil, nil)
	e.Record("orders", "", findings(validate.KindStaleSchemaVersion), nil)
	e.Record("orders", "", findings(validate.KindUnknownField, validate.KindUnknownField, validate.KindTypeMismatch), nil)
	e.Record("orders", "", findings("something_new"), nil) // unknown kinds count as other
	e.Record("users", "", findings(validate.KindDecodeError), nil)
	mustFlush(t, e)
	// A second flush in the same bucket adds to the stored row.
	e.Record("orders", "", findings(validate.KindEnumViolation), nil)
	clock.Advance(2 * time.Minute)
	mustFlush(t, e)

	got, err := e.Buckets(ctx, "orders", t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{{Start: t0, Validations: 5, Violations: 3, Findings: map[validate.Kind]int64{
		validate.KindStaleSchemaVersion: 1, validate.KindUnknownField: 2, validate.KindTypeMismatch: 1, validate.KindOther: 1, validate.KindEnumViolation: 1,
	}, LastViolation: t0.Add(90 * time.Second)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Buckets(orders) (-want +got):\n%s", diff)
	}
	got, err = e.Buckets(ctx, "users", t0)
	if err != nil {
		t.Fatal(err)
	}
	want = []Bucket{{Start: t0, Validations: 1, Violations: 1, Findings: map[validate.Kind]int64{validate.KindDecodeError: 1},
		LastViolation: t0.Add(90 * time.Second)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Buckets(users) (-want +got):\n%s", diff)
	}
	if got, _ := e.Buckets(ctx, "nobody", t0); len(got) != 0 {
		t.Errorf("Buckets(nobody) = %v, want none", got)
	}
	// One row per subject, bucket and replica.
	var rows int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM evidence_buckets`).Scan(&rows); err != nil || rows != 2 {
		t.Errorf("evidence_buckets rows = %d, %v; want 2", rows, err)
	}
}

func TestBucketBoundaries(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0.Add(5*time.Minute - time.Second)) // 10:04:59
	e := newEvidence(t, db, "r1", clock)
	e.Record("s", "", nil, nil)
	mustFlush(t, e) // lands in 10:00
	clock.Advance(time.Second)
	e.Record("s", "", findings(validate.KindMissingField), nil)
	e.Record("s", "", nil, nil)
	mustFlush(t, e) // 10:05:00 starts the next bucket

	clock.Set(t0.Add(time.Hour + 5*time.Minute - 1)) // 11:04:59.999999999
	e.Record("s", "", nil, nil)
	mustFlush(t, e)

	got, err := e.Buckets(ctx, "s", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{
		{Start: t0, Validations: 1},
		{Start: t0.Add(5 * time.Minute), Validations: 2, Violations: 1, Findings: map[validate.Kind]int64{validate.KindMissingField: 1},
			LastViolation: t0.Add(5 * time.Minute)},
		{Start: t0.Add(time.Hour), Validations: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Buckets (-want +got):\n%s", diff)
	}
	// since selects buckets starting at or after it.
	got, _ = e.Buckets(ctx, "s", t0.Add(time.Minute))
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("Buckets since 10:01 (-want +got):\n%s", diff)
	}
	beats, _ := e.Heartbeats(ctx, time.Time{})
	if diff := cmp.Diff([]time.Time{t0, t0.Add(5 * time.Minute), t0.Add(time.Hour)}, beats); diff != "" {
		t.Errorf("Heartbeats (-want +got):\n%s", diff)
	}
}

func TestHourBucket(t *testing.T) {
	db, _ := openDB(t)
	clock := newClock(t0.Add(59 * time.Minute))
	e, err := NewEvidence(EvidenceOptions{DB: db, Replica: "r", Bucket: time.Hour, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.Record("s", "", nil, nil)
	mustFlush(t, e)
	got, _ := e.Buckets(t.Context(), "s", time.Time{})
	if diff := cmp.Diff([]Bucket{{Start: t0, Validations: 1}}, got); diff != "" {
		t.Errorf("Buckets (-want +got):\n%s", diff)
	}
}

func TestTwoReplicasAggregate(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	a := newEvidence(t, db, "host-a:1", clock)
	b := newEvidence(t, db, "host-b:1", clock)
	for _, p := range []string{"alice", "bob", "alice"} {
		a.Record("s", p, nil, nil)
	}
	b.Record("s", "alice", findings(validate.KindTypeMismatch), nil)
	mustFlush(t, a)
	mustFlush(t, b)
	clock.Advance(5 * time.Minute)
	b.Record("s", "carol", nil, nil)
	mustFlush(t, b) // only b runs in the second bucket

	got, err := a.Buckets(ctx, "s", t0)
	if err != nil {
		t.Fatal(err)
	}
	// Principals are summed over replicas, like the counts.
	want := []Bucket{
		{Start: t0, Validations: 4, Violations: 1, Findings: map[validate.Kind]int64{validate.KindTypeMismatch: 1},
			Principals: map[string]int64{"alice": 3, "bob": 1}, LastViolation: t0},
		{Start: t0.Add(5 * time.Minute), Validations: 1, Principals: map[string]int64{"carol": 1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Buckets (-want +got):\n%s", diff)
	}
	beats, err := a.Heartbeats(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Time{t0, t0.Add(5 * time.Minute)}, beats); diff != "" {
		t.Errorf("Heartbeats (-want +got):\n%s", diff)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, db.Dialect().Rebind(`SELECT COUNT(*) FROM evidence_heartbeats WHERE bucket_start = ?`), t0.Unix()).Scan(&n); err != nil || n != 2 {
		t.Errorf("heartbeat rows in first bucket = %d, %v; want one per replica", n, err)
	}
}

// TestHeartbeatWhenIdle: a replica that validated nothing still says it was recording, and a
// bucket in which no replica flushed has no heartbeat.
func TestHeartbeatWhenIdle(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0.Add(time.Minute))
	e := newEvidence(t, db, "r1", clock)
	mustFlush(t, e)
	clock.Advance(30 * time.Second)
	mustFlush(t, e)
	clock.Advance(20 * time.Minute) // down from 10:05 to 10:20
	mustFlush(t, e)

	beats, err := e.Heartbeats(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Time{t0, t0.Add(20 * time.Minute)}, beats); diff != "" {
		t.Errorf("Heartbeats (-want +got):\n%s", diff)
	}
	var lastSeen int64
	if err := db.SQL().QueryRowContext(ctx, db.Dialect().Rebind(`SELECT last_seen FROM evidence_heartbeats WHERE bucket_start = ? AND replica = 'r1'`), t0.Unix()).Scan(&lastSeen); err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(90 * time.Second).Unix(); lastSeen != want {
		t.Errorf("last_seen = %d, want %d (the later flush)", lastSeen, want)
	}
	var rows int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM evidence_buckets`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("evidence_buckets rows = %d, %v; want none when idle", rows, err)
	}
}

// failHeartbeats makes every heartbeat write of replica fail, which is the last statement of a
// flush: the evidence rows before it are rolled back with it. It returns a function that lifts
// the failure.
func failHeartbeats(t *testing.T, db *store.DB, replica string) (lift func()) {
	t.Helper()
	name := fmt.Sprintf("fail_hb_%d", time.Now().UnixNano())
	return failWrites(t, db, name, "INSERT", "evidence_heartbeats", fmt.Sprintf("NEW.replica = '%s'", replica))
}

func TestFlushFailureKeepsCounts(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	e := newEvidence(t, db, "r1", clock)

	e.Record("s", "alice", []validate.Finding{{Kind: validate.KindUnknownField, Path: "/x", Message: "m1"}}, nil)
	// 1. Cancelled context: fails before the transaction begins.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.Flush(cancelled); err == nil {
		t.Fatal("Flush with a cancelled context succeeded")
	}
	e.Record("s", "bob", nil, nil)
	// 2. Failure in the middle of the transaction, after the evidence rows were written.
	lift := failHeartbeats(t, db, "r1")
	clock.Advance(5 * time.Minute)
	if err := e.Flush(ctx); err == nil {
		t.Fatal("Flush with failing heartbeat succeeded")
	}
	e.Record("s", "alice", []validate.Finding{{Kind: validate.KindUnknownField, Path: "/x", Message: "m2"}}, nil)
	var rows int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM evidence_buckets`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("evidence rows after failed flushes = %d, %v; want 0 (rolled back)", rows, err)
	}
	lift()
	clock.Advance(5 * time.Minute)
	mustFlush(t, e)
	mustFlush(t, e) // nothing left to add

	got, err := e.Buckets(ctx, "s", t0)
	if err != nil {
		t.Fatal(err)
	}
	// Everything lands in the bucket of the flush that stored it; the last violation keeps the
	// time it was recorded at, before that bucket.
	want := []Bucket{{Start: t0.Add(10 * time.Minute), Validations: 3, Violations: 2,
		Findings: map[validate.Kind]int64{validate.KindUnknownField: 2}, Principals: map[string]int64{"alice": 2, "bob": 1},
		LastViolation: t0.Add(5 * time.Minute)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Buckets (-want +got):\n%s", diff)
	}
	// The heartbeats of the failed flushes were kept: the replica was recording all along.
	beats, _ := e.Heartbeats(ctx, t0)
	if diff := cmp.Diff([]time.Time{t0, t0.Add(5 * time.Minute), t0.Add(10 * time.Minute)}, beats); diff != "" {
		t.Errorf("Heartbeats (-want +got):\n%s", diff)
	}
	r, err := e.DriftReport(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Entries) != 1 || r.Entries[0].Count != 2 || r.Entries[0].Message != "m2" {
		t.Errorf("DriftReport = %+v, want one entry counted twice with the latest message", r)
	}
	if n := e.sampleCount.Load(); n != 0 {
		t.Errorf("sample places in use after flush = %d, want 0", n)
	}
}

func TestFlushOnClosedDBKeepsCounts(t *testing.T) {
	db, path := openDB(t)
	clock := newClock(t0)
	e := newEvidence(t, db, "r1", clock)
	e.Record("s", "", findings(validate.KindDecodeError), nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(t.Context()); err == nil {
		t.Fatal("Flush on a closed database succeeded")
	}
	v, _ := e.subjects.Load("s")
	st := v.(*subjectState)
	validations := st.principals[""].n.Load()
	if validations != 1 || st.violations.Load() != 1 || st.findings[validate.KindDecodeError.Index()].Load() != 1 {
		t.Errorf("counts after failed flush: validations %d violations %d, want 1, 1 kept in memory",
			validations, st.violations.Load())
	}
	if len(e.beats) != 1 {
		t.Errorf("pending heartbeats = %v, want the failed flush's", e.beats)
	}
	db2, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var rows int
	if err := db2.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM evidence_heartbeats`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("heartbeat rows = %d, %v; want 0", rows, err)
	}
}

// TestConcurrentRecordExactTotals records from many goroutines while flushes (some failing)
// run, and checks that the stored totals are exact.
func TestConcurrentRecordExactTotals(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	e := newEvidence(t, db, "r1", clock)
	const (
		goroutines = 8
		perG       = 2000
	)
	subjects := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				s := subjects[(g+i)%len(subjects)]
				var found []validate.Finding
				if i%3 == 0 { // a violation with two findings, each sampled
					found = []validate.Finding{{Kind: validate.KindUnknownField, Path: fmt.Sprintf("/f%d", i%7)}, {Kind: validate.KindOther}}
				}
				var payload []byte
				if i%100 == 0 {
					payload = []byte("x")
				}
				e.Record(s, "", found, payload)
			}
		})
	}
	done := make(chan struct{})
	flusher := make(chan int)
	go func() {
		n := 0
		for i := 0; ; i++ {
			select {
			case <-done:
				flusher <- n
				return
			default:
			}
			fctx := ctx
			if i%4 == 3 {
				c, cancel := context.WithCancel(ctx)
				cancel()
				fctx = c
			}
			if e.Flush(fctx) == nil {
				n++
			}
			clock.Advance(time.Minute)
		}
	}()
	wg.Wait()
	close(done)
	t.Logf("%d successful flushes during the run", <-flusher)
	mustFlush(t, e)

	var validations, violations, unknown, other int64
	for _, s := range subjects {
		bs, err := e.Buckets(ctx, s, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			validations += b.Validations
			violations += b.Violations
			unknown += b.Findings[validate.KindUnknownField]
			other += b.Findings[validate.KindOther]
			if b.Violations > b.Validations {
				t.Errorf("bucket %v of %s: %d violations > %d validations", b.Start, s, b.Violations, b.Validations)
			}
		}
	}
	wantViolations := int64(goroutines * ((perG + 2) / 3))
	if validations != goroutines*perG || violations != wantViolations || unknown != wantViolations || other != wantViolations {
		t.Errorf("totals: validations %d violations %d unknown_field %d other %d; want %d, %d, %d, %d",
			validations, violations, unknown, other, goroutines*perG, wantViolations, wantViolations, wantViolations)
	}
	var sampled int64
	for _, s := range subjects {
		r, err := e.DriftReport(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range r.Entries {
			sampled += d.Count
		}
	}
	if want := 2 * wantViolations; sampled != want {
		t.Errorf("sampled findings = %d, want %d", sampled, want)
	}
	if n := e.sampleCount.Load(); n != 0 {
		t.Errorf("sample places in use after the last flush = %d, want 0", n)
	}
}

func TestRunFlushesOnShutdown(t *testing.T) {
	db, _ := openDB(t)
	clock := newClock(t0)
	e, err := NewEvidence(EvidenceOptions{DB: db, Replica: "r1", Clock: clock.Now, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- e.Run(ctx) }()
	e.Record("s", "", findings(validate.KindEnumViolation), nil)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	got, err := e.Buckets(t.Context(), "s", t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{{Start: t0, Validations: 1, Violations: 1, Findings: map[validate.Kind]int64{validate.KindEnumViolation: 1},
		LastViolation: t0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Buckets after shutdown (-want +got):\n%s", diff)
	}
}

func TestRunReportsFailedLastFlush(t *testing.T) {
	db, _ := openDB(t)
	e := newEvidence(t, db, "r1", newClock(t0))
	_ = db.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.Run(ctx); err == nil {
		t.Error("Run with a closed database returned nil")
	}
}

// TestSanitizedStrings: strings PostgreSQL would refuse (invalid UTF-8, NUL) or that exceed a
// column are made storable rather than failing every flush.
func TestSanitizedStrings(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	e := newEvidence(t, db, "r1", newClock(t0))
	e.Record("bad\xffsubject", "", []validate.Finding{{Kind: validate.KindOther, Path: "/a\x00b", Message: "m\xfe"}}, nil)
	mustFlush(t, e)
	var subject, path, msg string
	err := db.SQL().QueryRowContext(ctx, `SELECT subject, path, last_message FROM drift_samples`).Scan(&subject, &path, &msg)
	if err != nil {
		t.Fatal(err)
	}
	if subject != "bad\uFFFDsubject" || path != "/a\uFFFDb" || msg != "m\uFFFD" {
		t.Errorf("stored %q %q %q", subject, path, msg)
	}
	if got := truncateBytes("aé", 2); got != "a" {
		t.Errorf("truncateBytes split a rune: %q", got)
	}
}

func TestFlushErrorWraps(t *testing.T) {
	db, _ := openDB(t)
	e := newEvidence(t, db, "r1", newClock(t0))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush err = %v, want it to wrap context.Canceled", err)
	}
}

// TestOutageHoldsEvidenceWithinBounds: while the store is unreachable, counts are held in memory
// and stored by the first flush after it returns; held heartbeats beyond MaxHeldBuckets and
// drift samples beyond MaxSamples are dropped and counted, never silently.
func TestOutageHoldsEvidenceWithinBounds(t *testing.T) {
	ctx := t.Context()
	inj := storefault.New()
	db, err := store.Open(ctx, storetest.URL(t), inj.Option())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	clock := newClock(t0)
	e, err := NewEvidence(EvidenceOptions{DB: db, Replica: "r1", Bucket: time.Minute, Clock: clock.Now, MaxHeldBuckets: 3, MaxSamples: 2})
	if err != nil {
		t.Fatal(err)
	}

	inj.Down()
	for i := range 5 { // five one-minute buckets of outage, one flush in each
		kind := validate.KindStaleSchemaVersion // valid
		if i%2 == 1 {
			kind = validate.KindTypeMismatch // a violation
		}
		e.Record("orders", "", []validate.Finding{{Kind: kind, Path: fmt.Sprintf("/f%d", i)}}, []byte("x"))
		if err := e.Flush(ctx); !errors.Is(err, storefault.ErrDown) {
			t.Fatalf("flush %d during the outage = %v, want the store's error", i, err)
		}
		clock.Advance(time.Minute)
	}
	if got, want := [2]int64{e.LostHeartbeats(), e.DroppedSamples()}, [2]int64{2, 3}; got != want {
		t.Errorf("lost heartbeats, dropped samples = %v, want %v", got, want)
	}
	inj.Up()
	mustFlush(t, e)

	buckets, err := e.Buckets(ctx, "orders", t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{{Start: t0.Add(5 * time.Minute), Validations: 5, Violations: 2,
		Findings:      map[validate.Kind]int64{validate.KindStaleSchemaVersion: 3, validate.KindTypeMismatch: 2},
		LastViolation: t0.Add(3 * time.Minute)}}
	if diff := cmp.Diff(want, buckets); diff != "" {
		t.Errorf("evidence after the outage (-want +got): every count held, stored in the first good flush's bucket\n%s", diff)
	}
	beats, err := e.Heartbeats(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	// At most three buckets are held, the good flush's own included: the three oldest outage
	// buckets were dropped (they count as downtime) and counted.
	wantBeats := []time.Time{t0.Add(3 * time.Minute), t0.Add(4 * time.Minute), t0.Add(5 * time.Minute)}
	if diff := cmp.Diff(wantBeats, beats); diff != "" {
		t.Errorf("heartbeats after the outage (-want +got):\n%s", diff)
	}
	if got := e.LostHeartbeats(); got != 3 {
		t.Errorf("lost heartbeats after the outage = %d, want 3", got)
	}
}

// TestLastViolationTime: only payloads with findings read the clock; a bucket keeps the latest
// violation time over its flushes and replicas, and names none when one of its rows holds
// violations stored without a time (before migration 0008).
func TestLastViolationTime(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0.Add(3 * time.Minute))
	var reads atomic.Int64
	counting := func() time.Time { reads.Add(1); return clock.Now() }
	a, err := NewEvidence(EvidenceOptions{DB: db, Replica: "a", Clock: counting})
	if err != nil {
		t.Fatal(err)
	}
	b := newEvidence(t, db, "b", clock)
	a.Record("s", "p", nil, nil)
	a.Record("s", "p", findings(validate.KindStaleSchemaVersion), nil) // valid, but has a finding
	if got := reads.Load(); got != 1 {
		t.Errorf("clock reads by Record = %d; want 1 (only the payload with a finding)", got)
	}
	a.Record("s", "p", findings(validate.KindTypeMismatch), nil) // 10:03
	mustFlush(t, a)
	clock.Set(t0.Add(time.Minute))
	b.Record("s", "p", findings(validate.KindTypeMismatch), nil) // 10:01, flushed later
	mustFlush(t, b)
	clock.Set(t0.Add(2 * time.Minute))
	a.Record("s", "p", nil, nil) // no violation: keeps the stored time
	mustFlush(t, a)

	got, err := a.Buckets(ctx, "s", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].LastViolation.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("Buckets = %+v; want one bucket whose last violation is 10:03", got)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE evidence_buckets SET last_violation_us = 0 WHERE replica = 'b'`); err != nil {
		t.Fatal(err)
	}
	if got, err = a.Buckets(ctx, "s", t0); err != nil || len(got) != 1 || !got[0].LastViolation.IsZero() {
		t.Errorf("Buckets with an untimed row = %+v, %v; want no last violation time", got, err)
	}
}

// TestStaleEvidence: evidence is stale when no replica recorded in the two buckets before the
// current one (nor in it): the subject's counts have stopped growing.
func TestStaleEvidence(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) // the current bucket's start
	h := time.Hour
	tests := []struct {
		name     string
		recorded []time.Time
		want     bool
	}{
		{"never recorded", nil, true},
		{"recording in the current bucket", []time.Time{now.Add(-5 * h), now}, false},
		{"last recorded two buckets back", []time.Time{now.Add(-2 * h)}, false},
		{"last recorded three buckets back", []time.Time{now.Add(-5 * h), now.Add(-3 * h)}, true},
	}
	for _, tc := range tests {
		if got := staleEvidence(tc.recorded, now, h); got != tc.want {
			t.Errorf("%s: stale = %v, want %v", tc.name, got, tc.want)
		}
	}
}
