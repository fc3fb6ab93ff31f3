// Package upstream_test runs schemagate in upstream mode (schema_registry.upstream.url) in
// front of real registries: a second `schemagate serve` in embedded mode, and franz-go's
// srfake, an independently written Confluent API, each as its own process. The same scenarios
// run against both: Confluent REST through the front, errors passed through unchanged, writes
// audited with the caller's principal, validation resolving schemas through the upstream,
// versions registered behind schemagate's back noticed within a poll, and an upstream outage
// that validation of cached subjects survives.
package upstream_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store/storetest"
	"github.com/schemagate/schemagate/tests/harness"
)

// TestMain builds the schemagate binary once for the tests of this package.
func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

// upstreamToken is the bearer token schemagate presents to the upstream: its own credential,
// never a caller's.
const upstreamToken = "front-to-upstream-token"

// pollInterval is the front's schema_registry.upstream.poll_interval in these tests.
const pollInterval = 200 * time.Millisecond

func hash(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// upstreamRegistry is a registry the front is put in front of, reachable directly too.
type upstreamRegistry struct {
	url string
	// do calls the upstream directly, with schemagate's credential: what a team's CI or a
	// producer that bypasses schemagate does.
	do func(t *testing.T, method, path, body string) (int, string)
}

// upstreams are the registries every scenario runs against.
var upstreams = []struct {
	name  string
	start func(t *testing.T) upstreamRegistry
}{
	{"schemagate", startSchemagateUpstream},
	{"srfake", startSrfakeUpstream},
}

// startSchemagateUpstream starts `schemagate serve` in embedded mode, whose one principal is
// the front's token.
func startSchemagateUpstream(t *testing.T) upstreamRegistry {
	cfg := writeFile(t, "upstream.yaml", fmt.Sprintf(`auth:
  principals:
    - {name: schemagate-front, roles: [admin], token_sha256: %s}
`, hash(upstreamToken)))
	s := harness.Start(t, harness.Options{Name: "upstream", ConfigFile: cfg})
	return upstreamRegistry{url: s.URL(), do: func(t *testing.T, method, path, body string) (int, string) {
		return s.Do(t, method, path, upstreamToken, body)
	}}
}

// startSrfakeUpstream starts franz-go's srfake as a process of its own, expecting the token.
func startSrfakeUpstream(t *testing.T) upstreamRegistry {
	url := harness.StartSrfake(t, harness.SrfakeOptions{BearerToken: upstreamToken})
	return upstreamRegistry{url: url, do: func(t *testing.T, method, path, body string) (int, string) {
		return do(t, url, method, path, upstreamToken, body)
	}}
}

// do sends one request with a bearer token (when not "") and returns the status and body.
func do(t *testing.T, base, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

// frontPrincipals are the front's callers: a producer, an author, a governance lead, on-call,
// an admin, and a producer granted the users-* subjects only; each one's token is its name +
// "-token".
const frontPrincipals = `auth:
  principals:
    - {name: prod, roles: [producer], token_sha256: %s}
    - {name: alice, roles: [author], token_sha256: %s}
    - {name: lead, roles: [governance-lead], token_sha256: %s}
    - {name: pager, roles: [oncall], token_sha256: %s}
    - {name: root, roles: [admin], token_sha256: %s}
    - {name: users-app, roles: [producer], subjects: ["users-*"], token_sha256: %s}
`

// startFront starts schemagate in upstream mode in front of upstreamURL, with extra config
// appended (governance settings) and env added to its environment.
func startFront(t *testing.T, upstreamURL, extra string, env ...string) *harness.Server {
	t.Helper()
	tokenFile := writeFile(t, "upstream-token", upstreamToken+"\n")
	cfg := fmt.Sprintf(frontPrincipals, hash("prod-token"), hash("alice-token"), hash("lead-token"), hash("pager-token"), hash("root-token"), hash("users-app-token")) +
		fmt.Sprintf(`schema_registry:
  upstream:
    url: %s
    bearer_token_file: %s
    timeout: 2s
    poll_interval: %s
`, upstreamURL, tokenFile, pollInterval) + extra
	return harness.Start(t, harness.Options{Name: "front", ConfigFile: writeFile(t, "front.yaml", cfg), Env: env})
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// schemaBody is the Confluent registration body of an Avro schema.
func schemaBody(t testing.TB, schema string) string {
	return mustJSON(t, map[string]string{"schema": schema})
}

const (
	userV1 = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}`
	// userV2 adds a field with a default: BACKWARD compatible.
	userV2 = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`
	// userBad changes the field's type: incompatible.
	userBad = `{"type":"record","name":"User","fields":[{"name":"name","type":"int"}]}`
)

// auditEntry is an entry of GET /v1/audit.
type auditEntry struct {
	Actor   string            `json:"actor"`
	Role    string            `json:"role"`
	Action  string            `json:"action"`
	Subject string            `json:"subject"`
	Details map[string]string `json:"details"`
}

// audit lists the front's audit entries about subject with action.
func audit(t *testing.T, front *harness.Server, subject, action string) []auditEntry {
	t.Helper()
	code, body := front.Do(t, "GET", "/v1/audit?subject="+subject+"&action="+action, "lead-token", "")
	if code != 200 {
		t.Fatalf("GET /v1/audit: %d %s", code, body)
	}
	var page struct {
		Entries []auditEntry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("GET /v1/audit: %v: %s", err, body)
	}
	return page.Entries
}

// validate sends a JSON payload to the front's /v1 validate as the producer and returns the
// status and body.
func validate(t *testing.T, front *harness.Server, subject, payload string) (int, string) {
	t.Helper()
	return front.Do(t, "POST", "/v1/subjects/"+subject+"/validate", "prod-token", `{"json":`+payload+`}`)
}

// eventually waits for check (see harness.WaitFor) up to 15 s: a few poll intervals, with room
// for a loaded machine.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	harness.WaitFor(t, what, 15*time.Second, check)
}

// TestRegistryThroughUpstream: Confluent clients' calls go through the front to the upstream;
// schemagate authorizes them, the upstream decides, its errors reach the client unchanged, and
// the front's audit log records each write with the caller's principal and the upstream's
// answer.
func TestRegistryThroughUpstream(t *testing.T) {
	for _, u := range upstreams {
		t.Run(u.name, func(t *testing.T) {
			t.Parallel()
			up := u.start(t)
			front := startFront(t, up.url, "")

			code, body := front.Do(t, "POST", "/subjects/users-value/versions", "alice-token", schemaBody(t, userV1))
			if code != 200 {
				t.Fatalf("register through the front: %d %s", code, body)
			}
			var reg struct{ ID int }
			if err := json.Unmarshal([]byte(body), &reg); err != nil || reg.ID == 0 {
				t.Fatalf("register through the front: %s (%v)", body, err)
			}
			// The schema is in the upstream, under the ID the front answered.
			if code, body := up.do(t, "GET", "/subjects/users-value/versions/1", ""); code != 200 || !strings.Contains(body, fmt.Sprintf(`"id":%d`, reg.ID)) {
				t.Fatalf("upstream GET /subjects/users-value/versions/1: %d %s, want id %d", code, body, reg.ID)
			}
			// Reads through the front answer what the upstream holds.
			for _, path := range []string{fmt.Sprintf("/schemas/ids/%d", reg.ID), "/subjects", "/subjects/users-value/versions", "/subjects/users-value/versions/latest"} {
				code, body := front.Do(t, "GET", path, "alice-token", "")
				if code != 200 {
					t.Errorf("GET %s through the front: %d %s", path, code, body)
				}
			}
			// Answers are the upstream's own, unchanged: compare with asking it directly. Only
			// requests without effect on the upstream (reads, failing writes), so that asking
			// twice is asking the same thing.
			for _, c := range []struct {
				method, path, body string
				validates          bool // needs an upstream that parses schemas (srfake stores any text)
			}{
				{"POST", "/compatibility/subjects/users-value/versions/latest", schemaBody(t, userV2), false}, // the upstream decides
				{"POST", "/subjects/users-value/versions", schemaBody(t, `{"type":`), true},                   // invalid schema
				{"GET", "/subjects/nobody-value/versions/1", "", false},                                       // unknown subject
				{"GET", "/schemas/ids/99999", "", false},                                                      // unknown ID
				{"DELETE", "/subjects/nobody-value", "", false},                                               // nothing to delete
			} {
				if c.validates && u.name == "srfake" {
					continue
				}
				wantCode, wantBody := up.do(t, c.method, c.path, c.body)
				gotCode, gotBody := front.Do(t, c.method, c.path, "root-token", c.body)
				if gotCode != wantCode || compactJSON(t, gotBody) != compactJSON(t, wantBody) {
					t.Errorf("%s %s through the front: %d %s; the upstream itself answers %d %s", c.method, c.path, gotCode, gotBody, wantCode, wantBody)
				}
			}
			// schemagate authorizes before forwarding: a producer cannot register, and the
			// upstream never sees the attempt.
			if code, body := front.Do(t, "POST", "/subjects/users-value/versions", "prod-token", schemaBody(t, userV2)); code != 403 {
				t.Errorf("producer registers through the front: %d %s, want 403", code, body)
			}
			if code, body := up.do(t, "GET", "/subjects/users-value/versions", ""); code != 200 || compactJSON(t, body) != "[1]" {
				t.Errorf("upstream versions after the refused registration: %d %s, want [1]", code, body)
			}
			// The front audited the write with the caller and the upstream's answer.
			got := audit(t, front, "users-value", "schema.registered")
			want := []auditEntry{{Actor: "alice", Role: "author", Action: "schema.registered", Subject: "users-value"}}
			if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Details" }, cmp.Ignore())); diff != "" {
				t.Fatalf("audit entries of the registration (-want +got):\n%s", diff)
			}
			if d := got[0].Details; d["version"] != "1" || d["schema_id"] != fmt.Sprint(reg.ID) {
				t.Errorf("audit details of the registration: %v, want version 1 and schema ID %d", d, reg.ID)
			}
			// The CLI (gRPC RegistryService) and /v1 go the same way.
			file := writeFile(t, "user-v2.avsc", userV2)
			out, errOut, exit := harness.Run(t, []string{"SCHEMAGATE_TOKEN=alice-token"}, "schema", "register", "users-value",
				"--type", "AVRO", "--file", file, "--server", front.GRPCAddr)
			if exit != 0 || !strings.Contains(out, "registered users-value version 2") {
				t.Fatalf("schemagate schema register through the front: exit %d %q %q", exit, out, errOut)
			}
			if code, body := up.do(t, "GET", "/subjects/users-value/versions", ""); code != 200 || compactJSON(t, body) != "[1,2]" {
				t.Errorf("upstream versions after the CLI registration: %d %s, want [1,2]", code, body)
			}
			if code, body := front.Do(t, "GET", "/v1/subjects/users-value/versions/2", "prod-token", ""); code != 200 || !strings.Contains(body, `"version":2`) {
				t.Errorf("GET /v1/subjects/users-value/versions/2 through the front: %d %s", code, body)
			}
			if got := audit(t, front, "users-value", "schema.registered"); len(got) != 2 || got[1].Actor != "alice" || got[1].Details["version"] != "2" {
				t.Errorf("audit after the CLI registration: %+v, want a second entry by alice for version 2", got)
			}
			// schemagate's credential for the upstream is never logged.
			if strings.Contains(front.Log(), upstreamToken) {
				t.Error("the front's log holds its upstream token")
			}
		})
	}
}

// compactJSON re-encodes a JSON document compactly, so that bodies compare by content.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestVersionRegisteredBehindSchemagate: a version registered in the upstream directly is used
// by validation within a poll interval, and the front's audit log says it was observed there,
// not made through schemagate.
func TestVersionRegisteredBehindSchemagate(t *testing.T) {
	for _, u := range upstreams {
		t.Run(u.name, func(t *testing.T) {
			t.Parallel()
			up := u.start(t)
			if code, body := up.do(t, "POST", "/subjects/users-value/versions", schemaBody(t, userV1)); code != 200 {
				t.Fatalf("register in the upstream: %d %s", code, body)
			}
			front := startFront(t, up.url, "")
			// A subject that existed before the front started is its baseline: valid payloads
			// validate, and no "observed" entry is written for it.
			if code, body := validate(t, front, "users-value", `{"name":"ada"}`); code != 200 || !strings.Contains(body, "OUTCOME_VALID") {
				t.Fatalf("validate v1 payload: %d %s", code, body)
			}
			if code, body := up.do(t, "POST", "/subjects/users-value/versions", schemaBody(t, userV2)); code != 200 {
				t.Fatalf("register v2 in the upstream directly: %d %s", code, body)
			}
			// Within a poll interval the latest version is v2: a payload with a string age is
			// drift against v2 only.
			eventually(t, "the front validates against the version registered behind its back", func() string {
				code, body := validate(t, front, "users-value", `{"name":"ada","age":"old"}`)
				if code != 200 || !strings.Contains(body, `"version":2`) || !strings.Contains(body, "OUTCOME_FLAGGED") {
					return fmt.Sprintf("validate: %d %s", code, body)
				}
				return ""
			})
			eventually(t, "the front audits the observed version", func() string {
				got := audit(t, front, "users-value", "schema.registered")
				if len(got) != 1 || got[0].Actor != "upstream-registry" || got[0].Details["observed"] != "true" || got[0].Details["version"] != "2" {
					return fmt.Sprintf("audit entries: %+v, want one observed entry for version 2 by upstream-registry", got)
				}
				return ""
			})
		})
	}
}

// TestUpstreamOutage puts a fault-injecting proxy between the front and the upstream: down
// (connections closed unanswered), slow (beyond the front's 2s timeout), 5xx, and connections
// dropped mid-answer. With each, validation of subjects already seen goes on (canary flags and
// accepts, strict rejects), a subject never seen cannot be validated and says why, writes fail
// without being applied (50001 "upstream registry unreachable", or the upstream's own 5xx answer
// unchanged), /readyz says what is degraded and the up metric drops; when the fault clears, all
// of it recovers without a restart and nothing acknowledged is lost.
func TestUpstreamOutage(t *testing.T) {
	for _, fault := range []harness.Fault{harness.FaultDown, harness.FaultSlow, harness.Fault5xx, harness.FaultDrop} {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			outage(t, fault)
		})
	}
}

func outage(t *testing.T, fault harness.Fault) {
	up := startSchemagateUpstream(t)
	proxy := harness.StartFaultProxy(t, up.url)
	front := startFront(t, proxy.URL(), "")
	for _, subject := range []string{"canary-value", "strict-value"} {
		if code, body := front.Do(t, "POST", "/subjects/"+subject+"/versions", "alice-token", schemaBody(t, userV1)); code != 200 {
			t.Fatalf("register %s: %d %s", subject, code, body)
		}
		if code, body := validate(t, front, subject, `{"name":"ada"}`); code != 200 || !strings.Contains(body, "OUTCOME_VALID") {
			t.Fatalf("validate %s: %d %s", subject, code, body)
		}
	}
	if code, body := front.Do(t, "PUT", "/v1/subjects/strict-value/validation-mode", "root-token",
		`{"mode":"VALIDATION_MODE_STRICT","ticket":"CHG-1","justification":"outage test"}`); code != 200 {
		t.Fatalf("set strict-value strict: %d %s", code, body)
	}

	proxy.SetFault(fault)
	// A subject registered in the upstream directly while the front cannot reach it: never seen.
	if code, body := up.do(t, "POST", "/subjects/unseen-value/versions", schemaBody(t,
		`{"type":"record","name":"Unseen","fields":[{"name":"x","type":"long"}]}`)); code != 200 {
		t.Fatalf("register unseen-value in the upstream: %d %s", code, body)
	}
	eventually(t, "/readyz reports the upstream degraded", func() string {
		code, body := front.Do(t, "GET", "/readyz", "", "")
		if code != 200 || compactJSON(t, body) == "" || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, `"reason":"upstream registry unreachable"`) {
			return fmt.Sprintf("/readyz: %d %s, want 200 degraded naming the upstream", code, body)
		}
		return ""
	})
	for _, c := range []struct{ subject, payload, outcome string }{
		{"canary-value", `{"name":"ada"}`, "OUTCOME_VALID"},
		{"canary-value", `{"name":42}`, "OUTCOME_FLAGGED"},
		{"strict-value", `{"name":"ada"}`, "OUTCOME_VALID"},
	} {
		if code, body := validate(t, front, c.subject, c.payload); code != 200 || !strings.Contains(body, c.outcome) {
			t.Errorf("upstream %s: validate %s %s: %d %s, want %s", fault, c.subject, c.payload, code, body, c.outcome)
		}
	}
	if code, body := validate(t, front, "strict-value", `{"name":42}`); code != 422 || !strings.Contains(body, "OUTCOME_REJECTED") {
		t.Errorf("upstream %s: strict drift: %d %s, want 422 rejected", fault, code, body)
	}
	if code, body := front.Do(t, "POST", "/v1/subjects/unseen-value/validate", "prod-token", `{"json":{"x":1}}`); code != 503 || !strings.Contains(body, "unseen-value") {
		t.Errorf("upstream %s: validate a subject never seen: %d %s, want 503 naming it", fault, code, body)
	}
	wantCode, wantBody := 500, `"error_code":50001,"message":"upstream registry unreachable`
	if fault == harness.Fault5xx {
		wantCode, wantBody = 503, `{"error_code":50301,"message":"overloaded"}` // the upstream's answer, unchanged
	}
	if code, body := front.Do(t, "POST", "/subjects/canary-value/versions", "alice-token", schemaBody(t, userV2)); code != wantCode || !strings.Contains(body, wantBody) {
		t.Errorf("upstream %s: register: %d %s, want %d %s", fault, code, body, wantCode, wantBody)
	}
	if _, metrics := front.Do(t, "GET", "/metrics", "", ""); !strings.Contains(metrics, "\nschemagate_upstream_up 0\n") {
		t.Errorf("upstream %s: /metrics lacks schemagate_upstream_up 0", fault)
	}

	proxy.SetFault(harness.FaultNone)
	eventually(t, "recovery without a restart", func() string {
		if code, body := front.Do(t, "GET", "/readyz", "", ""); code != 200 || !strings.Contains(body, `"status":"ready"`) {
			return fmt.Sprintf("/readyz: %d %s", code, body)
		}
		if code, body := front.Do(t, "POST", "/v1/subjects/unseen-value/validate", "prod-token", `{"json":{"x":1}}`); code != 200 || !strings.Contains(body, "OUTCOME_VALID") {
			return fmt.Sprintf("validate unseen-value: %d %s", code, body)
		}
		return ""
	})
	if code, body := front.Do(t, "POST", "/subjects/canary-value/versions", "alice-token", schemaBody(t, userV2)); code != 200 {
		t.Errorf("register after recovery: %d %s", code, body)
	}
	// Nothing acknowledged is lost, nothing refused was applied: the registrations acknowledged
	// before and after the fault are in the upstream and in the front's audit log, and only them.
	if code, body := up.do(t, "GET", "/subjects/canary-value/versions", ""); code != 200 || compactJSON(t, body) != "[1,2]" {
		t.Errorf("upstream versions of canary-value: %d %s, want [1,2]", code, body)
	}
	if got := audit(t, front, "canary-value", "schema.registered"); len(got) != 2 || got[0].Actor != "alice" || got[1].Actor != "alice" {
		t.Errorf("audit of canary-value: %+v, want two registrations by alice", got)
	}
}

// governanceConfig shortens the clean window so the workflow runs in seconds.
const governanceConfig = `governance:
  clean_window: 3s
  evidence_bucket: 1s
  evidence_flush_interval: 200ms
  min_validations: 5
`

// cleanUntilEligible sends valid canary traffic to subject until the front reports it eligible.
func cleanUntilEligible(t *testing.T, front *harness.Server, subject, payload string) {
	t.Helper()
	eventually(t, subject+" turns eligible on clean canary traffic", func() string {
		if code, body := validate(t, front, subject, payload); code != 200 || !strings.Contains(body, "OUTCOME_VALID") {
			t.Fatalf("canary validate: %d %s", code, body)
		}
		_, body := front.Do(t, "GET", "/v1/subjects/"+subject+"/governance", "prod-token", "")
		if !strings.Contains(body, `"eligible":true`) {
			return "not eligible: " + body
		}
		return ""
	})
}

// TestGovernanceInUpstreamMode runs the governance workflow with the registry upstream:
// canary traffic → eligible; a version registered in the upstream directly restarts the clean
// window as one made through schemagate would; eligible again → request → approval by a lead →
// strict rejects drift → rollback → canary flags it again. Governance state lives in the
// front's own store: the upstream holds schemas only.
func TestGovernanceInUpstreamMode(t *testing.T) {
	for _, u := range upstreams {
		t.Run(u.name, func(t *testing.T) {
			t.Parallel()
			up := u.start(t)
			front := startFront(t, up.url, governanceConfig)
			if code, body := front.Do(t, "POST", "/subjects/users-value/versions", "alice-token", schemaBody(t, userV1)); code != 200 {
				t.Fatalf("register: %d %s", code, body)
			}
			cleanUntilEligible(t, front, "users-value", `{"name":"ada"}`)

			if code, body := up.do(t, "POST", "/subjects/users-value/versions", schemaBody(t, userV2)); code != 200 {
				t.Fatalf("register v2 in the upstream directly: %d %s", code, body)
			}
			eventually(t, "the version registered behind schemagate's back restarts the clean window", func() string {
				_, body := front.Do(t, "GET", "/v1/subjects/users-value/governance", "prod-token", "")
				if strings.Contains(body, `"eligible":true`) {
					return "still eligible: " + body
				}
				return ""
			})
			cleanUntilEligible(t, front, "users-value", `{"name":"ada","age":3}`)

			code, body := front.Do(t, "POST", "/v1/subjects/users-value/promotions", "alice-token", `{"ticket":"CHG-42","reason":"clean for the window"}`)
			var req struct{ ID string }
			if code != 200 || json.Unmarshal([]byte(body), &req) != nil || req.ID == "" {
				t.Fatalf("request promotion: %d %s", code, body)
			}
			if code, body := front.Do(t, "POST", "/v1/promotions/"+req.ID+":approve", "lead-token", `{"comment":"evidence checked"}`); code != 200 {
				t.Fatalf("approve: %d %s", code, body)
			}
			if code, body := validate(t, front, "users-value", `{"name":5}`); code != 422 || !strings.Contains(body, "OUTCOME_REJECTED") {
				t.Errorf("drift in strict mode: %d %s, want 422 rejected", code, body)
			}
			if code, body := front.Do(t, "POST", "/v1/subjects/users-value:rollback", "pager-token", `{"reason":"drift in prod","incident":"INC-77"}`); code != 200 {
				t.Fatalf("rollback: %d %s", code, body)
			}
			if code, body := validate(t, front, "users-value", `{"name":5}`); code != 200 || !strings.Contains(body, "OUTCOME_FLAGGED") {
				t.Errorf("drift after the rollback: %d %s, want 200 flagged", code, body)
			}
			var actions []string
			for _, e := range audit(t, front, "users-value", "") {
				actions = append(actions, e.Action+" by "+e.Actor)
			}
			want := []string{"schema.registered by alice", "schema.registered by upstream-registry",
				"promotion.requested by alice", "promotion.approved by lead", "mode.promoted by lead", "mode.rolled_back by pager"}
			if diff := cmp.Diff(want, actions); diff != "" {
				t.Errorf("audit of users-value (-want +got):\n%s", diff)
			}
			if code, body := front.Do(t, "GET", "/v1/audit:verify", "lead-token", ""); code != 200 || !strings.Contains(body, `"ok":true`) {
				t.Errorf("audit verify: %d %s", code, body)
			}
		})
	}
}

// TestFramedPayloadOfUnpolledVersion: a Confluent-framed payload names the schema ID of a
// version registered in the upstream directly, before any poll saw it (the front polls once an
// hour here). The front asks the upstream which subjects hold the ID
// (/schemas/ids/{id}/versions), finds the subject, and validates against that version; an ID
// of another subject stays unknown_schema_id.
func TestFramedPayloadOfUnpolledVersion(t *testing.T) {
	for _, u := range upstreams {
		t.Run(u.name, func(t *testing.T) {
			t.Parallel()
			up := u.start(t)
			front := startFront(t, up.url, "", "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_POLL_INTERVAL=1h")
			if code, body := front.Do(t, "POST", "/subjects/users-value/versions", "alice-token", schemaBody(t, userV1)); code != 200 {
				t.Fatalf("register v1: %d %s", code, body)
			}
			if code, body := validate(t, front, "users-value", `{"name":"ada"}`); code != 200 || !strings.Contains(body, "OUTCOME_VALID") {
				t.Fatalf("validate v1: %d %s", code, body)
			}
			var v2, other struct{ ID int }
			code, body := up.do(t, "POST", "/subjects/users-value/versions", schemaBody(t, userV2))
			if code != 200 || json.Unmarshal([]byte(body), &v2) != nil {
				t.Fatalf("register v2 in the upstream: %d %s", code, body)
			}
			code, body = up.do(t, "POST", "/subjects/other-value/versions", schemaBody(t, `{"type":"record","name":"Other","fields":[{"name":"n","type":"long"}]}`))
			if code != 200 || json.Unmarshal([]byte(body), &other) != nil {
				t.Fatalf("register other-value in the upstream: %d %s", code, body)
			}
			// {"name":"ada","age":3} in Avro binary: string length 3 (zig-zag 6), "ada", int 3
			// (zig-zag 6).
			avro := []byte{6, 'a', 'd', 'a', 6}
			framed := func(id int) string {
				frame := append([]byte{0, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}, avro...)
				return mustJSON(t, map[string]any{"format": "PAYLOAD_FORMAT_CONFLUENT", "data": frame})
			}
			code, body = front.Do(t, "POST", "/v1/subjects/users-value/validate", "prod-token", framed(v2.ID))
			if code != 200 || !strings.Contains(body, "OUTCOME_VALID") || !strings.Contains(body, `"version":2`) {
				t.Errorf("framed with v2's ID before any poll: %d %s, want valid against version 2", code, body)
			}
			code, body = front.Do(t, "POST", "/v1/subjects/users-value/validate", "prod-token", framed(other.ID))
			if code != 200 || !strings.Contains(body, "UNKNOWN_SCHEMA_ID") {
				t.Errorf("framed with another subject's ID: %d %s, want unknown_schema_id", code, body)
			}
		})
	}
}

// upstreamCalls sums the front's schemagate_upstream_requests_total.
func upstreamCalls(t *testing.T, front *harness.Server) int {
	t.Helper()
	_, metrics := front.Do(t, "GET", "/metrics", "", "")
	total := 0
	for _, line := range strings.Split(metrics, "\n") {
		if rest, ok := strings.CutPrefix(line, "schemagate_upstream_requests_total{"); ok {
			var n int
			if _, err := fmt.Sscan(rest[strings.LastIndex(rest, " ")+1:], &n); err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			total += n
		}
	}
	return total
}

// TestCachedReadsMakeNoUpstreamCall: once a schema has been fetched, reading it by ID (also by
// a principal with subject grants, whose check needs the schema's subjects) and validating
// against it make no call to the upstream; a principal not granted any subject of the schema is
// still refused.
func TestCachedReadsMakeNoUpstreamCall(t *testing.T) {
	t.Parallel()
	up := startSchemagateUpstream(t)
	front := startFront(t, up.url, "", "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_POLL_INTERVAL=1h")
	code, body := front.Do(t, "POST", "/subjects/users-value/versions", "alice-token", schemaBody(t, userV1))
	var reg struct{ ID int }
	if code != 200 || json.Unmarshal([]byte(body), &reg) != nil {
		t.Fatalf("register: %d %s", code, body)
	}
	path := fmt.Sprintf("/schemas/ids/%d", reg.ID)
	reads := func() {
		for _, token := range []string{"users-app-token", "prod-token"} {
			if code, body := front.Do(t, "GET", path, token, ""); code != 200 {
				t.Fatalf("GET %s with %s: %d %s", path, token, code, body)
			}
		}
		if code, body := front.Do(t, "GET", "/subjects/users-value/versions/1", "users-app-token", ""); code != 200 {
			t.Fatalf("GET /subjects/users-value/versions/1: %d %s", code, body)
		}
		if code, body := front.Do(t, "POST", "/v1/subjects/users-value/validate", "users-app-token", `{"json":{"name":"ada"}}`); code != 200 || !strings.Contains(body, "OUTCOME_VALID") {
			t.Fatalf("validate: %d %s", code, body)
		}
	}
	reads() // fetches and caches
	before := upstreamCalls(t, front)
	reads()
	reads()
	if after := upstreamCalls(t, front); after != before {
		t.Errorf("cached reads made %d upstream calls; want none", after-before)
	}
	if code, body := front.Do(t, "POST", "/subjects/orders-value/versions", "alice-token", schemaBody(t, `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`)); code != 200 {
		t.Fatalf("register orders-value: %d %s", code, body)
	}
	var orders struct{ ID int }
	_, body = front.Do(t, "GET", "/subjects/orders-value/versions/1", "alice-token", "")
	if err := json.Unmarshal([]byte(body), &orders); err != nil || orders.ID == 0 {
		t.Fatalf("orders-value version 1: %s", body)
	}
	if code, body := front.Do(t, "GET", fmt.Sprintf("/schemas/ids/%d", orders.ID), "users-app-token", ""); code != 403 {
		t.Errorf("users-app reads orders-value's schema: %d %s, want 403", code, body)
	}
}

// TestReplicasRecordOnce: two replicas in upstream mode on one store (SQLite, or PostgreSQL
// under `make unit-postgres`) both notice a version registered in the upstream directly; the
// audit log records it once, as observed. A registration through one replica is audited once,
// with its principal, though the other replica's poll sees it too.
func TestReplicasRecordOnce(t *testing.T) {
	t.Parallel()
	up := startSchemagateUpstream(t)
	store := storetest.URL(t)
	tokenFile := writeFile(t, "upstream-token", upstreamToken+"\n")
	var replicas []*harness.Server
	for _, name := range []string{"replica-a", "replica-b"} {
		cfg := fmt.Sprintf(frontPrincipals, hash("prod-token"), hash("alice-token"), hash("lead-token"), hash("pager-token"), hash("root-token"), hash("users-app-token")) +
			fmt.Sprintf("schema_registry:\n  upstream: {url: %s, bearer_token_file: %s, poll_interval: %s}\n", up.url, tokenFile, pollInterval)
		replicas = append(replicas, harness.Start(t, harness.Options{Name: name, StorageURL: store, ConfigFile: writeFile(t, name+".yaml", cfg)}))
	}
	if code, body := replicas[0].Do(t, "POST", "/subjects/users-value/versions", "alice-token", schemaBody(t, userV1)); code != 200 {
		t.Fatalf("register through replica a: %d %s", code, body)
	}
	if code, body := up.do(t, "POST", "/subjects/users-value/versions", schemaBody(t, userV2)); code != 200 {
		t.Fatalf("register v2 in the upstream directly: %d %s", code, body)
	}
	want := []string{"alice 1", "upstream-registry 2"}
	eventually(t, "one entry per version", func() string {
		var got []string
		for _, e := range audit(t, replicas[1], "users-value", "schema.registered") {
			got = append(got, e.Actor+" "+e.Details["version"])
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return "audit entries (-want +got):\n" + diff
		}
		return ""
	})
	// Several more polls of both replicas (each at least two calls: subjects, versions) change
	// nothing.
	for _, r := range replicas {
		before := upstreamCalls(t, r)
		eventually(t, "more polls", func() string {
			if n := upstreamCalls(t, r) - before; n < 6 {
				return fmt.Sprintf("%d upstream calls since, want 6", n)
			}
			return ""
		})
	}
	var got []string
	for _, e := range audit(t, replicas[0], "users-value", "schema.registered") {
		got = append(got, e.Actor+" "+e.Details["version"])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit entries after more polls (-want +got):\n%s", diff)
	}
}

// TestAliasGrantsInUpstreamMode: a subject alias set in the upstream registry is resolved by the
// front before the grant check, as in embedded mode: a principal granted only the alias's name
// cannot read the subject behind it, and one granted every subject reads it through the alias.
func TestAliasGrantsInUpstreamMode(t *testing.T) {
	t.Parallel()
	up := startSchemagateUpstream(t)
	front := startFront(t, up.url, "")
	if code, body := front.Do(t, "POST", "/subjects/orders-value/versions", "alice-token", schemaBody(t, `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`)); code != 200 {
		t.Fatalf("register orders-value: %d %s", code, body)
	}
	if code, body := up.do(t, "PUT", "/config/users-orders", `{"alias":"orders-value"}`); code != 200 {
		t.Fatalf("set the alias in the upstream: %d %s", code, body)
	}
	for _, c := range []struct {
		token    string
		wantCode int
		wantIn   string
	}{
		{"users-app-token", 403, ""},
		{"prod-token", 200, `"subject":"orders-value"`},
	} {
		code, body := front.Do(t, "GET", "/subjects/users-orders/versions/latest", c.token, "")
		if code != c.wantCode || !strings.Contains(body, c.wantIn) {
			t.Errorf("GET /subjects/users-orders/versions/latest with %s: %d %s, want %d with %s", c.token, code, body, c.wantCode, c.wantIn)
		}
	}
}
