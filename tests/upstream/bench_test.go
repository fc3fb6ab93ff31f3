package upstream_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/schemagate/schemagate/tests/harness"
)

// BenchmarkUpstreamMode compares, in one run on one machine, what upstream mode costs against
// the embedded registry, each served by a real `schemagate serve` over loopback HTTP:
//
//   - get-by-id: GET /schemas/ids/{id} of a cached schema, embedded vs through upstream mode;
//   - validate: POST /v1/subjects/{s}/validate of a small JSON payload, embedded vs upstream;
//   - first-fetch: the first GET /schemas/ids/{id} of a schema the front has never seen (one
//     new schema per operation, registered in the upstream directly), against the upstream's
//     own answer to the same request (direct).
//
// Read the figures as ratios between sub-benchmarks of one run:
//
//	go test -run '^$' -bench UpstreamMode -benchtime 2000x ./tests/upstream/
func BenchmarkUpstreamMode(b *testing.B) {
	up := harness.Start(b, harness.Options{Name: "upstream", Env: []string{"SCHEMAGATE_LOG_LEVEL=warn"}})
	front := harness.Start(b, harness.Options{Name: "front", Env: []string{"SCHEMAGATE_LOG_LEVEL=warn",
		"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_URL=" + up.URL(),
		// No poll during the run: first-fetch must be the first time the front sees a schema.
		"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_POLL_INTERVAL=1h"}})
	// The upstream doubles as the embedded baseline: the same binary, store and schema.
	servers := map[string]*harness.Server{"embedded": up, "upstream": front}
	code, body := front.Do(b, "POST", "/subjects/bench-value/versions", "", schemaBody(b, userV1))
	var reg struct{ ID int }
	if code != 200 || json.Unmarshal([]byte(body), &reg) != nil {
		b.Fatalf("register: %d %s", code, body)
	}
	for _, mode := range []string{"embedded", "upstream"} {
		s := servers[mode]
		b.Run("get-by-id/"+mode, func(b *testing.B) {
			path := fmt.Sprintf("/schemas/ids/%d", reg.ID)
			for b.Loop() {
				if code, body := s.Do(b, "GET", path, "", ""); code != 200 {
					b.Fatalf("GET %s: %d %s", path, code, body)
				}
			}
		})
		b.Run("validate/"+mode, func(b *testing.B) {
			for b.Loop() {
				if code, body := s.Do(b, "POST", "/v1/subjects/bench-value/validate", "", `{"json":{"name":"ada"}}`); code != 200 || !strings.Contains(body, "OUTCOME_VALID") {
					b.Fatalf("validate: %d %s", code, body)
				}
			}
		})
	}
	// First fetch: each operation asks for a schema nobody has asked the front for (names carry
	// the run, so that -count and b.N's rounds never repeat a schema).
	run := 0
	for _, mode := range []string{"direct", "upstream"} {
		s := map[string]*harness.Server{"direct": up, "upstream": front}[mode]
		b.Run("first-fetch/"+mode, func(b *testing.B) {
			run++
			ids := make([]int, b.N)
			for i := range ids {
				schema := fmt.Sprintf(`{"type":"record","name":"F%s%d_%d","fields":[{"name":"a","type":"long"}]}`, mode, run, i)
				code, body := up.Do(b, "POST", fmt.Sprintf("/subjects/first-%s-%d-%d/versions", mode, run, i), "", schemaBody(b, schema))
				var r struct{ ID int }
				if code != 200 || json.Unmarshal([]byte(body), &r) != nil {
					b.Fatalf("register in the upstream: %d %s", code, body)
				}
				ids[i] = r.ID
			}
			b.ResetTimer()
			for i := range b.N {
				if code, body := s.Do(b, "GET", fmt.Sprintf("/schemas/ids/%d", ids[i]), "", ""); code != 200 {
					b.Fatalf("GET /schemas/ids/%d: %d %s", ids[i], code, body)
				}
			}
		})
	}
}
