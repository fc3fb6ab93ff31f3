package replicas_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/schemagate/schemagate/store/storetest"
)

// BenchmarkRegisterReplicas registers new schemas over HTTP from 8 concurrent clients against
// one and against two gateway processes sharing one store (SQLite by default, PostgreSQL under
// scripts/with-postgres.sh). Each operation is one registration of a new version; compare the
// two sub-benchmarks of one run:
//
//	go test -run '^$' -bench RegisterReplicas ./tests/replicas/
//	scripts/with-postgres.sh go test -run '^$' -bench RegisterReplicas ./tests/replicas/
func BenchmarkRegisterReplicas(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/replicas=%d", storetest.Backend(), n), func(b *testing.B) {
			url := storetest.URL(b)
			var reps []*replica
			for i := range n {
				reps = append(reps, start(b, fmt.Sprintf("replica-%d", i), url, "log:\n  level: warn\n"))
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			clients := 8
			per := (b.N + clients - 1) / clients
			b.ResetTimer()
			for c := range clients {
				wg.Go(func() {
					for range per {
						i := next.Add(1)
						r := reps[int(i)%len(reps)]
						schema := fmt.Sprintf(`{"type":"record","name":"R","fields":[{"name":"f%d","type":["null","int"],"default":null}]}`, i)
						body, _ := json.Marshal(map[string]string{"schema": schema})
						if code, resp := r.Do(b, "POST", fmt.Sprintf("/subjects/bench-%d/versions", c), "", string(body)); code != 200 {
							b.Errorf("register: %d %s", code, resp)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
