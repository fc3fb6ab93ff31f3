package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkConcurrentWriteTx runs write transactions from several goroutines at once, as
// concurrent registrations and governance actions do, and reports the median and the worst
// latency of one transaction besides the throughput. The baseline is one writer alone.
func BenchmarkConcurrentWriteTx(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db, err := Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			var (
				mu        sync.Mutex
				latencies []time.Duration
				n         int
			)
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := 0; ; i++ {
						mu.Lock()
						if n >= b.N {
							mu.Unlock()
							return
						}
						n++
						mu.Unlock()
						start := time.Now()
						err := db.InTx(ctx, func(tx *sql.Tx) error {
							_, err := tx.ExecContext(ctx, `INSERT INTO subject_modes (subject, mode) VALUES (?, ?)`, fmt.Sprintf("w%d-%d", w, i), "READONLY")
							return err
						})
						d := time.Since(start)
						if err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						latencies = append(latencies, d)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(latencies)
			if len(latencies) > 0 {
				b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
				b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds()), "max-µs")
			}
		})
	}
}
