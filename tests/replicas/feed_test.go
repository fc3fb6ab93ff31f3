package replicas_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store/storetest"
	"github.com/schemagate/schemagate/tests/harness"
)

// longTimers sets every timer fallback to an hour: the validator's subject index, the
// validation modes and the in-memory registry are then refreshed only by the change feed, so a
// change that reaches the other replica was pushed (LISTEN/NOTIFY on PostgreSQL, the change
// table poll on SQLite), not polled by a timer.
const longTimers = "storage:\n  resync_interval: 1h\n"

// TestChangesReachTheOtherReplica: a registration, a subject's compatibility change, an access
// mode change and a validation mode change made on replica A are in force on replica B, which
// serves all of them from memory.
func TestChangesReachTheOtherReplica(t *testing.T) {
	url := storetest.URL(t)
	cfg := longTimers + governanceConfig("200ms") +
		fmt.Sprintf("    - {name: root, roles: [admin], token_sha256: %s}\n", sha("root"))
	a := start(t, "replica-a", url, cfg)
	b := start(t, "replica-b", url, cfg)
	schema, _ := json.Marshal(map[string]string{"schema": `{"type":"record","name":"R","fields":[{"name":"id","type":"string"}]}`})
	// B reads the subject first, so what it holds in memory is known to be "not found".
	if code, body := b.Do(t, "GET", "/subjects/orders-value/versions/latest", "alice", ""); code != http.StatusNotFound {
		t.Fatalf("latest on B before any registration: %d %s", code, body)
	}

	steps := []struct {
		name   string
		write  func() (int, string)
		read   string // GET on B
		want   string // the body B must answer (200)
		method string
		body   string
	}{
		{
			name: "registration",
			write: func() (int, string) {
				return a.Do(t, "POST", "/subjects/orders-value/versions", "alice", string(schema))
			},
			read: "/subjects/orders-value/versions",
			want: "[1]",
		},
		{
			name: "subject compatibility",
			write: func() (int, string) {
				return a.Do(t, "PUT", "/config/orders-value", "alice", `{"compatibility":"FULL"}`)
			},
			read: "/config/orders-value",
			want: `{"compatibilityLevel":"FULL"}`,
		},
		{
			name:  "lookup of the registered schema",
			write: func() (int, string) { return http.StatusOK, "" },
			read:  "/subjects/orders-value", method: "POST", body: string(schema),
		},
	}
	for _, s := range steps {
		if code, body := s.write(); code != http.StatusOK {
			t.Fatalf("%s on A: %d %s", s.name, code, body)
		}
		harness.WaitFor(t, s.name+" made on A, read on B", 30*time.Second, func() string {
			method := s.method
			if method == "" {
				method = "GET"
			}
			code, body := b.Do(t, method, s.read, "alice", s.body)
			if code != http.StatusOK || (s.want != "" && body != s.want) {
				return fmt.Sprintf("%s %s on B = %d %s; want 200 %s", method, s.read, code, body, s.want)
			}
			return ""
		})
	}

	// The validation engine of B knows the subject pushed to it: a payload is validated (canary
	// accepts an invalid one and flags it).
	harness.WaitFor(t, "B validates against the subject registered on A", 30*time.Second, func() string {
		code, body := b.Do(t, "POST", "/v1/subjects/orders-value/validate", "alice", `{"json":{"id":5}}`)
		if code != http.StatusOK {
			return fmt.Sprintf("validate on B = %d %s", code, body)
		}
		return ""
	})

	// A validation mode change (an admin's override, audited) on A is enforced by B.
	if code, body := a.Do(t, "PUT", "/v1/subjects/orders-value/validation-mode", "root",
		`{"mode":"VALIDATION_MODE_STRICT","ticket":"CHG-1","justification":"test the feed"}`); code != http.StatusOK {
		t.Fatalf("set strict on A: %d %s", code, body)
	}
	harness.WaitFor(t, "strict set on A enforced by B", 30*time.Second, func() string {
		code, body := b.Do(t, "POST", "/v1/subjects/orders-value/validate", "alice", `{"json":{"id":5}}`)
		if code != http.StatusUnprocessableEntity {
			return fmt.Sprintf("validate on B = %d %s; want 422", code, body)
		}
		return ""
	})
}
