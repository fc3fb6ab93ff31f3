// Package grants_test reproduces, against the real schemagate binary, the attack subject
// grants close: a producer of one team validating bad payloads against another team's strict
// subject (which, with auto_rollback on, would restart its clean window and demote it to
// canary), and reading another team's drift samples.
package grants_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

// TestMain builds the schemagate binary once for the tests of this package.
func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

func sha(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// gateway is one `schemagate serve` with two teams' producers and an admin.
type gateway struct{ *harness.Server }

// must sends a request that must answer want.
func (g gateway) must(t *testing.T, want int, method, path, token, body string) string {
	t.Helper()
	code, text := g.Do(t, method, path, token, body)
	if code != want {
		t.Fatalf("%s %s = %d %s; want %d", method, path, code, text, want)
	}
	return text
}

// status reads a subject's governance status as the admin.
func (g gateway) status(t *testing.T, subject string) (mode string, violations int64) {
	t.Helper()
	var st struct { // the response body is the SubjectStatus itself
		Mode       string
		Violations int64 `json:",string"`
	}
	if err := json.Unmarshal([]byte(g.must(t, 200, "GET", "/v1/subjects/"+subject+"/governance", "admin", "")), &st); err != nil {
		t.Fatal(err)
	}
	return st.Mode, st.Violations
}

// metricLines returns the /metrics lines of name about subject.
func (g gateway) metricLines(t *testing.T, name, subject string) []string {
	t.Helper()
	var out []string
	for line := range strings.SplitSeq(g.must(t, 200, "GET", "/metrics", "admin", ""), "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, `subject="`+subject+`"`) {
			out = append(out, line)
		}
	}
	return out
}

// driftSamples reads subject's drift report as token and returns its samples, joined.
func (g gateway) driftSamples(t *testing.T, subject, token string) string {
	t.Helper()
	var rep struct{ Entries []struct{ Sample []byte } } // bytes: base64 in JSON
	if err := json.Unmarshal([]byte(g.must(t, 200, "GET", "/v1/subjects/"+subject+"/drift", token, "")), &rep); err != nil {
		t.Fatal(err)
	}
	var samples []string
	for _, e := range rep.Entries {
		samples = append(samples, string(e.Sample))
	}
	return strings.Join(samples, "\n")
}

const order = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`

func TestProducerCannotTouchAnotherTeamsSubject(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "schemagate.yaml")
	cfg := fmt.Sprintf(`governance:
  evidence_bucket: 1s
  evidence_flush_interval: 100ms
  auto_rollback_ratio: 0.4
  auto_rollback_period: 1m
  auto_rollback_min_validations: 1
  doc_path: ""
metrics:
  require_auth: true
auth:
  principals:
    - {name: producer-a, roles: [producer], token_sha256: %s, subjects: ["team-a-*"]}
    - {name: producer-b, roles: [producer], token_sha256: %s, subjects: ["team-b-*"]}
    - {name: admin, roles: [admin], token_sha256: %s}
`, sha("producer-a"), sha("producer-b"), sha("admin"))
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// In both modes: the embedded registry, and upstream mode in front of another schemagate,
	// where the same grants are checked before anything is forwarded.
	for _, mode := range []string{"embedded", "upstream"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			opts := harness.Options{ConfigFile: cfgFile}
			if mode == "upstream" {
				up := harness.Start(t, harness.Options{Name: "upstream"})
				opts.Env = []string{"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_URL=" + up.URL()}
			}
			producerIsolation(t, gateway{harness.Start(t, opts)})
		})
	}
}

// producerIsolation is TestProducerCannotTouchAnotherTeamsSubject against g.
func producerIsolation(t *testing.T, g gateway) {
	register, _ := json.Marshal(map[string]string{"schemaType": "SCHEMA_TYPE_AVRO", "schema": order})
	for _, subject := range []string{"team-a-value", "team-b-value", "team-b-key"} {
		g.must(t, 200, "POST", "/v1/subjects/"+subject+"/versions", "admin", string(register))
	}
	g.must(t, 200, "PUT", "/v1/subjects/team-b-value/validation-mode", "admin",
		`{"mode":"VALIDATION_MODE_STRICT","ticket":"CHG-1","justification":"team b is clean"}`)
	g.must(t, 200, "POST", "/v1/subjects/team-b-value/validate", "producer-b", `{"json":{"id":"o-1"}}`)
	// Team b's drift on its canary subject: a sample of the payload is kept.
	g.must(t, 200, "POST", "/v1/subjects/team-b-key/validate", "producer-b", `{"json":{"id":42,"card":"4111-secret"}}`)

	bad := `{"json":{"id":42}}`
	wantDenied := `principal \"producer-a\" is not granted subject \"team-b-value\"`
	if code, body := g.Do(t, "POST", "/v1/subjects/team-b-value/validate", "producer-a", bad); code != http.StatusForbidden || !strings.Contains(body, wantDenied) {
		t.Errorf("producer-a validating against team-b-value over HTTP = %d %s; want 403 containing %s", code, body, wantDenied)
	}
	if code, body := g.Do(t, "POST", "/v1/subjects/team-b-value/validate:batch", "producer-a",
		`{"requests":[{"subject":"team-a-value","json":{"id":"x"}},{"json":{"id":42}}]}`); code != http.StatusForbidden || !strings.Contains(body, wantDenied) {
		t.Errorf("producer-a's batch with an item of team-b-value = %d %s; want 403 containing %s", code, body, wantDenied)
	}
	payload := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(payload, []byte(`{"id": 42}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, exit := harness.Run(t, []string{"SCHEMAGATE_TOKEN=producer-a"}, "validate", "team-b-value", "--file", payload, "--server", g.GRPCAddr)
	if exit != 3 || stdout != "" || !strings.Contains(stderr, `principal "producer-a" is not granted subject "team-b-value"`) || !strings.Contains(stderr, "PermissionDenied") {
		t.Errorf("schemagate validate as producer-a = exit %d, stdout %q, stderr %q; want exit 3 (an error, not a verdict) and the denial naming team-b-value", exit, stdout, stderr)
	}
	// Nor may producer-a read team b's drift samples; team b may.
	if code, body := g.Do(t, "GET", "/v1/subjects/team-b-key/drift", "producer-a", ""); code != http.StatusForbidden || !strings.Contains(body, `subject \"team-b-key\"`) {
		t.Errorf("producer-a reading team-b-key's drift = %d %s; want 403 naming team-b-key", code, body)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(g.driftSamples(t, "team-b-key", "producer-b"), "4111-secret"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("team b's drift sample never appeared in its own drift report")
		}
	}

	// Team b's evidence saw one valid payload and nothing of producer-a's, and it stays strict.
	if got := g.metricLines(t, "schemagate_validations_total", "team-b-value"); len(got) != 1 || !strings.Contains(got[0], `outcome="valid"`) || !strings.HasSuffix(got[0], " 1") {
		t.Errorf("team-b-value validations = %q; want the one valid payload of producer-b only", got)
	}
	if got := g.metricLines(t, "schemagate_drift_findings_total", "team-b-value"); len(got) != 0 {
		t.Errorf("team-b-value drift findings = %q; want none", got)
	}
	if mode, violations := g.status(t, "team-b-value"); mode != "VALIDATION_MODE_STRICT" || violations != 0 {
		t.Errorf("team-b-value: mode %s, %d violations; want strict, 0", mode, violations)
	}

	// The control: the same payload from team b's own producer is rejected and counted, and the
	// automatic rollback demotes the subject, as it would have for producer-a without grants.
	g.must(t, http.StatusUnprocessableEntity, "POST", "/v1/subjects/team-b-value/validate", "producer-b", bad)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if mode, _ := g.status(t, "team-b-value"); mode == "VALIDATION_MODE_CANARY" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("team b's own rejected payload did not roll team-b-value back within 30s: the control of this test is broken")
		}
	}
}
