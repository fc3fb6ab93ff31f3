package governance

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/validate"

	"github.com/google/go-cmp/cmp"
)

func TestDriftSampleTruncatedAndCopied(t *testing.T) {
	db, _ := openDB(t)
	e := newEvidence(t, db, "r1", newClock(t0))
	payload := bytes.Repeat([]byte{0xAB}, 3000)
	longPath := "/" + strings.Repeat("p", 2*MaxSamplePathBytes)
	e.Record("s", "", []validate.Finding{{Kind: validate.KindTypeMismatch, Path: longPath, Message: strings.Repeat("m", 5000)}}, payload)
	payload[0] = 0 // Record kept a copy
	mustFlush(t, e)
	r, err := e.DriftReport(t.Context(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Entries) != 1 {
		t.Fatalf("entries = %d, want 1", len(r.Entries))
	}
	d := r.Entries[0]
	sample := d.Sample
	if !bytes.Equal(sample, bytes.Repeat([]byte{0xAB}, MaxSampleBytes)) || !d.SampleTruncated {
		t.Errorf("sample = %d bytes (truncated %v), want the first %d bytes of the payload, truncated", len(sample), d.SampleTruncated, MaxSampleBytes)
	}
	if len(d.Path) != MaxSamplePathBytes || len(d.Message) != MaxSampleMessageBytes {
		t.Errorf("path %d bytes, message %d bytes; want %d and %d", len(d.Path), len(d.Message), MaxSamplePathBytes, MaxSampleMessageBytes)
	}
}

func TestDriftSamplesBounded(t *testing.T) {
	db, _ := openDB(t)
	e, err := NewEvidence(EvidenceOptions{DB: db, Replica: "r1", Clock: newClock(t0).Now, MaxSamples: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.Record(fmt.Sprintf("s%d", i%2), "p", []validate.Finding{{Kind: validate.KindMissingField, Path: fmt.Sprintf("/f%d", i)}}, nil)
	}
	// Known keys are still counted when the bound is reached.
	e.Record("s0", "", []validate.Finding{{Kind: validate.KindMissingField, Path: "/f0"}}, nil)
	if got := e.DroppedSamples(); got != 2 {
		t.Errorf("DroppedSamples = %d, want 2", got)
	}
	mustFlush(t, e)
	// A flush frees the places.
	e.Record("s1", "", []validate.Finding{{Kind: validate.KindMissingField, Path: "/f4"}}, nil)
	if got := e.DroppedSamples(); got != 2 {
		t.Errorf("DroppedSamples after flush = %d, want still 2", got)
	}
	r0, _ := e.DriftReport(t.Context(), "s0")
	r1, _ := e.DriftReport(t.Context(), "s1")
	var got []string
	for _, r := range []Report{r0, r1} {
		for _, d := range r.Entries {
			got = append(got, fmt.Sprintf("%s%s=%d", r.Subject, d.Path, d.Count))
		}
	}
	want := []string{"s0/f0=2", "s0/f2=1", "s1/f1=1", "s1/f4=1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// TestDriftMergedAcrossFlushes: counts add up, first seen and the sample are kept from the
// first finding, last seen and the message follow the latest, across flushes, replicas and
// what is not flushed yet.
func TestDriftMergedAcrossFlushes(t *testing.T) {
	db, _ := openDB(t)
	clock := newClock(t0)
	a := newEvidence(t, db, "a", clock)
	b := newEvidence(t, db, "b", clock)
	rec := func(e *Evidence, msg, payload string) {
		e.Record("s", "", []validate.Finding{{Kind: validate.KindEnumViolation, Path: "/color", Message: msg}}, []byte(payload))
	}
	rec(a, "first", "")    // no payload: the next one is the sample
	rec(a, "second", "p1") // t0
	mustFlush(t, a)
	clock.Advance(time.Hour)
	rec(b, "third", "p2")
	mustFlush(t, b)
	clock.Advance(time.Hour)
	rec(a, "fourth", "p3") // not flushed
	a.Record("s", "", []validate.Finding{{Kind: "weird", Path: "", Message: "x"}}, nil)
	a.Record("s", "", []validate.Finding{{Kind: validate.KindUnknownField, Path: "/b"}, {Kind: validate.KindUnknownField, Path: "/a"}}, nil)

	r, err := a.DriftReport(t.Context(), "s")
	if err != nil {
		t.Fatal(err)
	}
	t2 := t0.Add(2 * time.Hour)
	want := Report{Subject: "s", Entries: []DriftEntry{
		{Kind: validate.KindEnumViolation, Path: "/color", Count: 4, FirstSeen: t0, LastSeen: t2, Message: "fourth",
			Sample: []byte("p1")},
		{Kind: validate.KindOther, Path: "", Count: 1, FirstSeen: t2, LastSeen: t2, Message: "x"},
		{Kind: validate.KindUnknownField, Path: "/a", Count: 1, FirstSeen: t2, LastSeen: t2},
		{Kind: validate.KindUnknownField, Path: "/b", Count: 1, FirstSeen: t2, LastSeen: t2},
	}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("DriftReport before flush (-want +got):\n%s", diff)
	}
	// The same once flushed; another replica sees it too.
	mustFlush(t, a)
	r, err = b.DriftReport(t.Context(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("DriftReport after flush (-want +got):\n%s", diff)
	}
	if r, _ := a.DriftReport(t.Context(), "other"); len(r.Entries) != 0 || r.Subject != "other" {
		t.Errorf("DriftReport(other) = %+v, want empty", r)
	}
}

// TestDriftStoredOutOfOrder: a replica that flushes older samples after newer ones were stored
// does not move first seen later or last seen earlier.
func TestDriftStoredOutOfOrder(t *testing.T) {
	db, _ := openDB(t)
	clockA, clockB := newClock(t0), newClock(t0.Add(time.Hour))
	a := newEvidence(t, db, "a", clockA)
	b := newEvidence(t, db, "b", clockB)
	a.Record("s", "", []validate.Finding{{Kind: validate.KindOther, Path: "/x", Message: "old"}}, []byte("A"))
	b.Record("s", "", []validate.Finding{{Kind: validate.KindOther, Path: "/x", Message: "new"}}, []byte("B"))
	mustFlush(t, b)
	mustFlush(t, a)
	r, err := a.DriftReport(t.Context(), "s")
	if err != nil {
		t.Fatal(err)
	}
	want := []DriftEntry{{Kind: validate.KindOther, Path: "/x", Count: 2, FirstSeen: t0, LastSeen: t0.Add(time.Hour),
		Message: "new", Sample: []byte("B")}}
	if diff := cmp.Diff(want, r.Entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}
