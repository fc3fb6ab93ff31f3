package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

// TestGovernanceEndToEnd runs the whole workflow on the real server with a short window
// (clean_window 3s, 1s buckets): canary traffic → eligible → request → approval by another
// lead → an invalid payload is rejected → rollback → accepted again; the audit chain verifies
// online and offline, and the document shows every step.
func TestGovernanceEndToEnd(t *testing.T) {
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	dir := t.TempDir()
	docPath := filepath.Join(dir, "schema_registry_governance.md")
	cfg := fmt.Sprintf(`governance:
  clean_window: 3s
  evidence_bucket: 1s
  evidence_flush_interval: 200ms
  min_validations: 5
  ticket_url: https://tracker.example/browse/{ticket}
  doc_path: %s
auth:
  principals:
    - {name: prod, roles: [producer], token_sha256: %s}
    - {name: alice, roles: [author], token_sha256: %s}
    - {name: lead, roles: [governance-lead], token_sha256: %s}
    - {name: pager, roles: [oncall], token_sha256: %s}
`, docPath, hash("prod-token"), hash("alice-token"), hash("lead-token"), hash("pager-token"))
	cfgFile := filepath.Join(dir, "schemagate.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	s := harness.Start(t, harness.Options{DataDir: dataDir, ConfigFile: cfgFile})
	gov := func(token string, args ...string) (string, string, int) {
		t.Helper()
		return harness.Run(t, []string{"SCHEMAGATE_TOKEN=" + token}, append(args, "--server", s.GRPCAddr)...)
	}

	if code, body := s.Do(t, "POST", "/subjects/users-value/versions", "alice-token",
		mustJSON(map[string]string{"schema": `{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}`})); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	// Canary traffic until the subject is eligible (3s clean, 5 validations).
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, body := s.Do(t, "POST", "/v1/subjects/users-value/validate", "prod-token", `{"json":{"name":"ada"}}`); code != 200 || !strings.Contains(body, "OUTCOME_VALID") {
			t.Fatalf("canary validate: %d %s", code, body)
		}
		_, body := s.Do(t, "GET", "/v1/subjects/users-value/governance", "prod-token", "")
		if strings.Contains(body, `"eligible":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not eligible after 30s: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	out, errOut, exit := gov("prod-token", "governance", "request", "users-value", "--ticket", "CHG-42", "--reason", "clean")
	if exit == 0 || !strings.Contains(errOut, "PermissionDenied") {
		t.Errorf("a producer requested a promotion: exit %d, %q %q", exit, out, errOut)
	}
	out, errOut, exit = gov("alice-token", "governance", "request", "users-value", "--ticket", "CHG-42", "--reason", "clean")
	if exit != 0 {
		t.Fatalf("request: exit %d %q %q", exit, out, errOut)
	}
	id := strings.Fields(out)[1]
	for _, who := range []string{"prod-token", "alice-token", "pager-token", ""} {
		if _, errOut, exit := gov(who, "governance", "approve", id); exit == 0 {
			t.Errorf("approval with token %q succeeded; want refused (%s)", who, errOut)
		}
	}
	if out, errOut, exit = gov("lead-token", "governance", "approve", id, "--comment", "evidence checked"); exit != 0 || !strings.Contains(out, "users-value is strict") {
		t.Fatalf("approve: exit %d %q %q", exit, out, errOut)
	}
	if code, body := s.Do(t, "POST", "/v1/subjects/users-value/validate", "prod-token", `{"json":{"name":5}}`); code != http.StatusUnprocessableEntity || !strings.Contains(body, "OUTCOME_REJECTED") {
		t.Errorf("invalid payload in strict mode = %d %s; want 422 rejected", code, body)
	}
	for _, who := range []string{"prod-token", "alice-token"} {
		if _, _, exit := gov(who, "governance", "rollback", "users-value", "--reason", "x", "--incident", "INC-1"); exit == 0 {
			t.Errorf("rollback with %s succeeded; want refused", who)
		}
	}
	if out, errOut, exit = gov("pager-token", "governance", "rollback", "users-value", "--reason", "drift in prod", "--incident", "INC-77"); exit != 0 {
		t.Fatalf("rollback: exit %d %q %q", exit, out, errOut)
	}
	if code, body := s.Do(t, "POST", "/v1/subjects/users-value/validate", "prod-token", `{"json":{"name":5}}`); code != 200 || !strings.Contains(body, "OUTCOME_FLAGGED") {
		t.Errorf("invalid payload after the rollback = %d %s; want 200 flagged", code, body)
	}

	out, _, exit = gov("prod-token", "audit", "verify")
	if exit != 0 || !strings.Contains(out, "audit chain intact") {
		t.Errorf("online verify: exit %d %q", exit, out)
	}
	out, _, _ = gov("prod-token", "audit", "list", "--subject", "users-value")
	for _, action := range []string{"schema.registered", "promotion.requested", "promotion.approved", "mode.promoted", "mode.rolled_back"} {
		if !strings.Contains(out, action) {
			t.Errorf("audit list lacks %s:\n%s", action, out)
		}
	}
	docOnline, _, exit := gov("prod-token", "governance", "doc")
	if exit != 0 {
		t.Fatalf("governance doc: exit %d", exit)
	}
	written, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("document not written at doc_path: %v", err)
	}
	for _, doc := range []string{docOnline, string(written)} {
		for _, w := range []string{"[CHG-42](https://tracker.example/browse/CHG-42)", "INC-77", "alice", "lead", "pager"} {
			if !strings.Contains(doc, w) {
				t.Errorf("document lacks %q", w)
			}
		}
	}
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}
	out, _, exit = harness.Run(t, nil, "audit", "verify", "--data-dir", dataDir)
	if exit != 0 || !strings.Contains(out, "audit chain intact") {
		t.Errorf("offline verify: exit %d %q", exit, out)
	}
}

// TestRequestAndRollbackNeedReasonAndIncident: `governance request` needs --reason and
// `governance rollback` needs --incident, in the CLI and, for a blank value, on the server
// (InvalidArgument); each is an error, exit 3.
func TestRequestAndRollbackNeedReasonAndIncident(t *testing.T) {
	s := serverInMode(t, "strict")
	for _, tt := range []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"request without --reason", []string{"governance", "request", "users-value", "--ticket", "CHG-1"}, `required flag(s) "reason" not set`},
		{"rollback without --incident", []string{"governance", "rollback", "users-value", "--reason", "drift"}, `required flag(s) "incident" not set`},
		{"request with a blank reason", []string{"governance", "request", "users-value", "--ticket", "CHG-1", "--reason", " "}, "a promotion request needs a reason (InvalidArgument)"},
		{"rollback with a blank incident", []string{"governance", "rollback", "users-value", "--reason", "drift", "--incident", " "}, "a rollback needs an incident (InvalidArgument)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, exit := harness.Run(t, nil, append(tt.args, "--server", s.GRPCAddr)...)
			if exit != exitError || out != "" || !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 3 and %q", exit, out, errOut, tt.wantStderr)
			}
		})
	}
	out, errOut, exit := harness.Run(t, nil, "governance", "status", "users-value", "--server", s.GRPCAddr)
	if exit != 0 || !strings.Contains(out, "users-value  strict") {
		t.Errorf("status after the refused rollbacks: exit %d, stdout %q, stderr %q; want users-value still strict", exit, out, errOut)
	}
}
