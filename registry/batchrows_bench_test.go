package registry

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRegisterIntoLongSubjects registers from 16 clients, each into a subject of its own
// that already holds 125 versions (2,000 in all), on a registry serving reads from memory (as the gateway does), with
// group commit: the case where a batch's transaction reading every version row of its subjects
// grows with the subjects. It reports registrations per second.
func BenchmarkRegisterIntoLongSubjects(b *testing.B) {
	const clients, versions = 16, 125
	r := benchRegistry(b, clients)
	if err := r.ServeFromMemory(b.Context(), nil); err != nil {
		b.Fatal(err)
	}
	next := 0
	for s := range clients {
		for range versions {
			next++
			mustRegister(b, r, fmt.Sprintf("client-%d", s), avroIn(benchSchema(next)))
		}
	}
	b.ResetTimer()
	start := time.Now()
	registerConcurrently(b, r, clients, next, b.N)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "registrations/s")
}
