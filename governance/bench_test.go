package governance

import (
	"strconv"
	"sync/atomic"
	"testing"
)

func benchEvidence(b *testing.B) *Evidence {
	db, _ := openDB(b)
	return newEvidence(b, db, "bench", newClock(t0))
}

// BenchmarkRecord is the hot path for a subject seen before: no samples, no allocation.
func BenchmarkRecord(b *testing.B) {
	for _, bc := range []struct {
		name  string
		valid bool
		kinds []string
	}{
		{"valid", true, nil},
		{"invalid-2-findings", false, []string{KindUnknownField, KindTypeMismatch}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := benchEvidence(b)
			e.Record("orders-value", true, nil, nil)
			b.ReportAllocs()
			for b.Loop() {
				e.Record("orders-value", bc.valid, bc.kinds, nil)
			}
		})
	}
}

// BenchmarkRecordParallel records from GOMAXPROCS goroutines, on one subject (they share its
// counters) and spread over 100 subjects.
func BenchmarkRecordParallel(b *testing.B) {
	subjects := make([]string, 100)
	for i := range subjects {
		subjects[i] = "subject-" + strconv.Itoa(i) + "-value"
	}
	b.Run("one-subject", func(b *testing.B) {
		e := benchEvidence(b)
		e.Record(subjects[0], true, nil, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.Record(subjects[0], true, nil, nil)
			}
		})
	})
	b.Run("100-subjects", func(b *testing.B) {
		e := benchEvidence(b)
		for _, s := range subjects {
			e.Record(s, true, nil, nil)
		}
		var g atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(g.Add(7))
			for pb.Next() {
				e.Record(subjects[i%len(subjects)], true, nil, nil)
				i++
			}
		})
	})
}

// BenchmarkRecordWithSample is the path of a payload with a finding on a known key.
func BenchmarkRecordWithSample(b *testing.B) {
	e := benchEvidence(b)
	samples := []Sample{{Kind: KindUnknownField, Path: "/extra", Message: "unknown field", Payload: make([]byte, 200)}}
	kinds := []string{KindUnknownField}
	e.Record("orders-value", false, kinds, samples)
	b.ReportAllocs()
	for b.Loop() {
		e.Record("orders-value", false, kinds, samples)
	}
}
