package registry

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store/storetest"
)

// BenchmarkLatestVsByID compares GET versions/latest (served from memory, and from the
// database as before ServeFromMemory) with GET schemas/ids/{id} (cached by ID) on 500
// subjects of one version each; report latest ÷ by-ID of one run:
//
//	go test -run '^$' -bench LatestVsByID ./registry/
//	scripts/with-postgres.sh go test -run '^$' -bench LatestVsByID ./registry/
func BenchmarkLatestVsByID(b *testing.B) {
	ctx := context.Background()
	mem, _ := newTestRegistry(b)
	direct, err := New(mem.db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 500
	ids, subjects := make([]int, n), make([]string, n)
	for i := range n {
		subjects[i] = fmt.Sprintf("bench-%d", i)
		ids[i] = mustRegister(b, mem, subjects[i], avroIn(benchSchema(i))).Schema.ID
	}
	for _, id := range ids { // the warm state of a serving replica
		if _, err := mem.SchemaByID(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	b.Run(storetest.Backend()+"/by-id", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := mem.SchemaByID(ctx, ids[i%n]); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name string
		r    *Registry
	}{{"latest-memory", mem}, {"latest-database", direct}} {
		b.Run(storetest.Backend()+"/"+c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := c.r.SubjectVersion(ctx, subjects[i%n], -1, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPropagation measures how long a registration committed by one replica takes to be
// served by another from memory (two registries on one database, each with its own feed:
// LISTEN/NOTIFY on PostgreSQL, the change table poll on SQLite); it reports p50 and p99.
//
//	scripts/with-postgres.sh go test -run '^$' -bench Propagation ./registry/
func BenchmarkPropagation(b *testing.B) {
	ctx := context.Background()
	url := storetest.URL(b)
	a, other := feedReplica(b, url), feedReplica(b, url)
	if _, err := a.SetConfig(ctx, "", Config{Compatibility: CompatNone}); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		sv := mustRegister(b, a, "propagation", avroIn(benchSchema(i)))
		start := time.Now()
		for {
			got, err := other.SubjectVersion(ctx, "propagation", -1, false)
			if err == nil && got.Version >= sv.Version {
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatalf("version %d not propagated after a minute", sv.Version)
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
