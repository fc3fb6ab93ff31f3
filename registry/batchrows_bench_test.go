package registry

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRegisterIntoLongSubjects registers from 16 clients, each into a subject of its own
// that already holds 125 versions (2,000 in all), on a registry serving reads from memory (as the gateway does), with
// group commit: the case where a batch's transaction reading every version row of its subjects
// grows with the subjects. It reports registrations per second, and the CPU time the process
// spent per registration (user and system, the database's work included: SQLite runs in the
// process), which a machine shared with other work disturbs less than the rate.
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
	start, cpu := time.Now(), cpuTime(b)
	registerConcurrently(b, r, clients, next, b.N)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "registrations/s")
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/registration")
}

// cpuTime is the CPU time the process has used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
