package registry

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
)

// benchSchema is version v of a 20-field record: 19 shared fields plus one named after v,
// all optional with a default, so every version is fully compatible with every other and the
// checks run to the end instead of stopping at the first problem.
func benchSchema(v int) string {
	fields := make([]string, 0, 20)
	for i := range 19 {
		fields = append(fields, fmt.Sprintf(`{"name":"f%d","type":["null","string"],"default":null}`, i))
	}
	fields = append(fields, fmt.Sprintf(`{"name":"v%d","type":["null","long"],"default":null}`, v))
	return `{"type":"record","name":"Bench","namespace":"bench","fields":[` + strings.Join(fields, ",") + `]}`
}

// fillSubject registers versions 1..n of subject under NONE, sets FULL_TRANSITIVE and runs one
// check, so every version is parsed and cached before the timer starts (the warm state a
// running gateway is in).
func fillSubject(b *testing.B, r *Registry, subject string, n int) {
	b.Helper()
	ctx := context.Background()
	if _, err := r.SetConfig(ctx, subject, Config{Compatibility: CompatNone}); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := r.Register(ctx, subject, avroIn(benchSchema(i))); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.SetConfig(ctx, subject, Config{Compatibility: CompatFullTransitive}); err != nil {
		b.Fatal(err)
	}
	if _, err := r.CheckCompatibility(ctx, subject, 0, avroIn(benchSchema(0))); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkParseBaseline parses and canonicalizes one candidate schema: the in-process
// baseline the figures below are divided by.
func BenchmarkParseBaseline(b *testing.B) {
	text := benchSchema(0)
	for b.Loop() {
		if _, err := parse(context.Background(), SchemaTypeAvro, text, nil, testLimits, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckFullTransitive checks a new version against a subject holding 1, 10, 100 and
// 1,000 versions under FULL_TRANSITIVE (both directions against every version). Earlier
// versions come parsed from the cache, so the cost per version is the check itself.
func BenchmarkCheckFullTransitive(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("versions=%d", n), func(b *testing.B) {
			r, _ := newTestRegistry(b)
			fillSubject(b, r, "s", n)
			candidate := avroIn(benchSchema(0))
			ctx := context.Background()
			for b.Loop() {
				msgs, err := r.CheckCompatibility(ctx, "s", 0, candidate)
				if err != nil || len(msgs) > 0 {
					b.Fatalf("check: %v %q", err, msgs)
				}
			}
		})
	}
}

// BenchmarkRegisterFullTransitive registers a new version in a subject that holds 1, 10, 100
// and 1,000 versions under FULL_TRANSITIVE: parse, check against every version, commit. The
// new version is deleted again outside the timer, so the subject keeps its size.
func BenchmarkRegisterFullTransitive(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("versions=%d", n), func(b *testing.B) {
			r, _ := newTestRegistry(b)
			fillSubject(b, r, "s", n)
			ctx := context.Background()
			v := n
			for b.Loop() {
				v++
				sv, err := r.Register(ctx, "s", avroIn(benchSchema(v)))
				if err != nil || sv.Version != n+1 {
					b.Fatalf("register: version %d, %v; want version %d", sv.Version, err, n+1)
				}
				b.StopTimer()
				for _, permanent := range []bool{false, true} {
					if _, err := r.DeleteVersion(ctx, "s", sv.Version, permanent); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkSchemaByID reads one schema by ID, the call serializers make on every new ID.
func BenchmarkSchemaByID(b *testing.B) {
	r, _ := newTestRegistry(b)
	sv, err := r.Register(context.Background(), "s", avroIn(benchSchema(0)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.SchemaByID(ctx, sv.Schema.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegisterConcurrent registers new schemas from 16 goroutines, each into a subject of
// its own (BACKWARD; every schema compatible with the one before), on two registries side by
// side: one with group commit and one committing each registration in a transaction of its own
// (as before group commit). The registrations alternate between the two in rounds of 160, so
// that both see the same load on the machine, and the benchmark reports registrations per
// second of each, their ratio (grouped/alone) and how many registrations a grouped
// transaction committed on average.
func BenchmarkRegisterConcurrent(b *testing.B) {
	const clients, round = 16, 160
	grouped, alone := benchRegistry(b, clients), benchRegistry(b, clients)
	alone.group = nil
	var leads atomic.Int64 // transactions of grouped
	grouped.group.beforeBatch = func() { leads.Add(1) }
	var elapsed [2]time.Duration // alone, grouped
	var done [2]int
	b.ResetTimer()
	for i := 0; done[0] < b.N || done[1] < b.N; i++ {
		which := i % 2
		n := min(round, b.N-done[which])
		start := time.Now()
		registerConcurrently(b, []*Registry{alone, grouped}[which], clients, done[which], n)
		elapsed[which] += time.Since(start)
		done[which] += n
	}
	alonePerSec := float64(b.N) / elapsed[0].Seconds()
	groupedPerSec := float64(b.N) / elapsed[1].Seconds()
	b.ReportMetric(alonePerSec, "alone-registrations/s")
	b.ReportMetric(groupedPerSec, "grouped-registrations/s")
	b.ReportMetric(groupedPerSec/alonePerSec, "grouped/alone")
	b.ReportMetric(float64(b.N)/float64(leads.Load()), "grouped-registrations/commit")
}

// benchRegistry opens a registry on a store of the test backend whose pool keeps a connection
// for each of clients idle between calls: database/sql keeps two by default, and opening a
// PostgreSQL connection for every query beyond them would be measured instead of registering.
func benchRegistry(b *testing.B, clients int) *Registry {
	db, err := store.Open(b.Context(), storetest.URL(b), store.WithMaxIdleConns(2*clients))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	r, err := New(db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// registerConcurrently registers benchSchema(from+1) … benchSchema(from+n) into r from clients
// goroutines, each into subject client-<its number>.
func registerConcurrently(b *testing.B, r *Registry, clients, from, n int) {
	// Cancellable, as a request's context is: database drivers watch such a context during
	// every statement.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(from+n); i = next.Add(1) {
				if _, err := r.Register(ctx, fmt.Sprintf("client-%d", c), avroIn(benchSchema(int(i)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
