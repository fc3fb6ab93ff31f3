package governance

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/schemagate/schemagate/validate"
)

func benchEvidence(b *testing.B) *Evidence {
	db, _ := openDB(b)
	return newEvidence(b, db, "bench", newClock(t0))
}

// BenchmarkRecord is the hot path for a subject seen before; without findings it does not
// allocate.
func BenchmarkRecord(b *testing.B) {
	for _, bc := range []struct {
		name     string
		findings []validate.Finding
	}{
		{"valid", nil},
		{"invalid-2-findings", findings(validate.KindUnknownField, validate.KindTypeMismatch)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := benchEvidence(b)
			e.Record("orders-value", "p", nil, nil)
			b.ReportAllocs()
			for b.Loop() {
				e.Record("orders-value", "p", bc.findings, nil)
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
		e.Record(subjects[0], "p", nil, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.Record(subjects[0], "p", nil, nil)
			}
		})
	})
	b.Run("100-subjects", func(b *testing.B) {
		e := benchEvidence(b)
		for _, s := range subjects {
			e.Record(s, "p", nil, nil)
		}
		var g atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(g.Add(7))
			for pb.Next() {
				e.Record(subjects[i%len(subjects)], "p", nil, nil)
				i++
			}
		})
	})
}

// BenchmarkRecordWithSample is the path of a payload with a finding on a known key.
func BenchmarkRecordWithSample(b *testing.B) {
	e := benchEvidence(b)
	found := []validate.Finding{{Kind: validate.KindUnknownField, Path: "/extra", Message: "unknown field"}}
	payload := make([]byte, 200)
	e.Record("orders-value", "p", found, payload)
	b.ReportAllocs()
	for b.Loop() {
		e.Record("orders-value", "p", found, payload)
	}
}
