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

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/tests/harness"
)

// waitFor waits for check (see harness.WaitFor) up to 30 s.
func waitFor(t *testing.T, what string, check func() string) {
	t.Helper()
	harness.WaitFor(t, what, 30*time.Second, check)
}

// TestAuditChainSelfCheck tampers with the audit log of a running server underneath it, in its
// SQLite file, and checks what the next verification (every 200ms here) makes of it: the chain
// gauge drops to 0, an approval and a request are refused naming the first bad entry, a rollback
// still works and is audited, the governance document carries the banner, and audit verify
// names the entry and the head, as text and as JSON.
func TestAuditChainSelfCheck(t *testing.T) {
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	dir := t.TempDir()
	docPath := filepath.Join(dir, "schema_registry_governance.md")
	keyFile := filepath.Join(dir, "audit.key")
	if err := os.WriteFile(keyFile, []byte("e2e-audit-hmac-key-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`governance:
  clean_window: 2s
  evidence_bucket: 1s
  evidence_flush_interval: 200ms
  min_validations: 3
  doc_path: %s
  audit_hmac_key_file: %s
  audit_verify_interval: 200ms
auth:
  principals:
    - {name: prod, roles: [producer], token_sha256: %s}
    - {name: alice, roles: [author], token_sha256: %s}
    - {name: lead, roles: [governance-lead], token_sha256: %s}
    - {name: pager, roles: [oncall], token_sha256: %s}
    - {name: root, roles: [admin], token_sha256: %s}
`, docPath, keyFile, hash("prod-token"), hash("alice-token"), hash("lead-token"), hash("pager-token"), hash("root-token"))
	cfgFile := filepath.Join(dir, "schemagate.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	s := harness.Start(t, harness.Options{DataDir: dataDir, ConfigFile: cfgFile})
	cli := func(token string, args ...string) (string, string, int) {
		t.Helper()
		return harness.Run(t, []string{"SCHEMAGATE_TOKEN=" + token}, append(args, "--server", s.GRPCAddr)...)
	}

	for _, subject := range []string{"users-value", "orders-value"} {
		if code, body := s.Do(t, "POST", "/subjects/"+subject+"/versions", "alice-token",
			mustJSON(map[string]string{"schema": `{"type":"record","name":"R","fields":[{"name":"name","type":"string"}]}`})); code != 200 {
			t.Fatalf("register %s: %d %s", subject, code, body)
		}
	}
	if code, body := s.Do(t, "PUT", "/v1/subjects/orders-value/validation-mode", "root-token",
		`{"mode":"VALIDATION_MODE_STRICT","ticket":"CHG-9","justification":"launch"}`); code != 200 {
		t.Fatalf("override orders-value to strict: %d %s", code, body)
	}
	waitFor(t, "users-value eligible", func() string {
		if code, body := s.Do(t, "POST", "/v1/subjects/users-value/validate", "prod-token", `{"json":{"name":"ada"}}`); code != 200 {
			t.Fatalf("validate: %d %s", code, body)
		}
		if _, body := s.Do(t, "GET", "/v1/subjects/users-value/governance", "prod-token", ""); !strings.Contains(body, `"eligible":true`) {
			return body
		}
		return ""
	})
	out, errOut, exit := cli("alice-token", "governance", "request", "users-value", "--ticket", "CHG-42", "--reason", "clean")
	if exit != 0 {
		t.Fatalf("request: exit %d %q %q", exit, out, errOut)
	}
	id := strings.Fields(out)[1]

	// Underneath the server: forge the reason of the request's audit entry.
	db, err := store.Open(t.Context(), "sqlite://"+filepath.Join(dataDir, "schemagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var bad int64
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT seq FROM audit_entries WHERE action = 'promotion.requested'`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(t.Context(), `UPDATE audit_entries SET reason = 'approved by the board' WHERE seq = ?`, bad); err != nil {
		t.Fatal(err)
	}
	named := fmt.Sprintf("audit chain broken at entry %d: entry %d: hash does not match its contents under the configured HMAC key", bad, bad)

	waitFor(t, "schemagate_audit_chain_intact 0", func() string {
		_, body := getBody(t, s.URL()+"/metrics")
		if !strings.Contains(body, "\nschemagate_audit_chain_intact 0\n") || !strings.Contains(body, `schemagate_audit_verifications_total{result="broken"}`) {
			return "metrics do not show the break yet"
		}
		return ""
	})
	if out, errOut, exit := cli("lead-token", "governance", "approve", id); exit == 0 || !strings.Contains(errOut, named) || !strings.Contains(errOut, "(FailedPrecondition)") {
		t.Errorf("approval while broken: exit %d %q %q; want FailedPrecondition naming entry %d", exit, out, errOut, bad)
	}
	if code, body := s.Do(t, "POST", "/v1/subjects/users-value/promotions", "alice-token", `{"ticket":"CHG-43","reason":"again"}`); code != http.StatusBadRequest || !strings.Contains(body, named) {
		t.Errorf("request over HTTP while broken = %d %s; want 400 naming entry %d", code, body, bad)
	}
	if out, errOut, exit := cli("pager-token", "governance", "rollback", "orders-value", "--reason", "drift in prod", "--incident", "INC-77"); exit != 0 {
		t.Fatalf("rollback while broken: exit %d %q %q", exit, out, errOut)
	}
	if code, body := s.Do(t, "POST", "/v1/subjects/orders-value/validate", "prod-token", `{"json":{"name":5}}`); code != 200 || !strings.Contains(body, "OUTCOME_FLAGGED") {
		t.Errorf("invalid payload after the rollback = %d %s; want 200 flagged", code, body)
	}
	out, _, _ = cli("prod-token", "audit", "list", "--subject", "orders-value", "--action", "mode.rolled_back")
	if !strings.Contains(out, "mode.rolled_back") || !strings.Contains(out, "INC-77") {
		t.Errorf("the rollback is not audited:\n%s", out)
	}

	banner := fmt.Sprintf("> **Warning: the audit chain is broken at entry #%d**", bad)
	doc, _, exit := cli("prod-token", "governance", "doc")
	if exit != 0 || !strings.Contains(doc, banner) {
		t.Errorf("governance doc (exit %d) lacks the banner %q:\n%s", exit, banner, doc)
	}
	if written, err := os.ReadFile(docPath); err != nil || !strings.Contains(string(written), banner) {
		t.Errorf("the document at doc_path lacks the banner (%v)", err)
	}

	out, _, exit = cli("prod-token", "audit", "verify")
	if exit != 1 || !strings.Contains(out, fmt.Sprintf("audit chain BROKEN at entry %d:", bad)) || !strings.Contains(out, "head: entry #") {
		t.Errorf("audit verify: exit %d\n%s", exit, out)
	}
	out, _, exit = cli("prod-token", "audit", "verify", "-o", "json")
	var resp struct {
		OK          bool   `json:"ok"`
		FirstBroken string `json:"firstBrokenSequence"` // int64 is a string in protobuf JSON
		HeadSeq     string `json:"headSequence"`
		HeadHash    string `json:"headHash"`
	}
	mustUnmarshal(t, out, &resp)
	if exit != 1 || resp.OK || resp.FirstBroken != fmt.Sprint(bad) || resp.HeadSeq == "0" || len(resp.HeadHash) != 64 {
		t.Errorf("audit verify -o json: exit %d, %+v\n%s", exit, resp, out)
	}
	if !strings.Contains(doc, "entry #"+resp.HeadSeq+" with hash `"+resp.HeadHash+"`") {
		t.Errorf("the document does not publish the head audit verify reports (#%s %s):\n%s", resp.HeadSeq, resp.HeadHash, doc)
	}
}

// TestServeRefusesBadAuditKeys: the server does not start with an empty or short key file, or
// with a key (or none) other than the one its audit log was written with; the message names
// the config key and never the key.
func TestServeRefusesBadAuditKeys(t *testing.T) {
	dir := t.TempDir()
	const keyA, keyB = "serve-audit-hmac-key-A-0123456789abcdef", "serve-audit-hmac-key-B-0123456789abcdef"
	write := func(name, contents string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	config := func(keyFile string) string {
		if keyFile == "" {
			return write("nokey.yaml", "governance:\n  doc_path: \"\"\n")
		}
		return write(filepath.Base(keyFile)+".yaml", fmt.Sprintf("governance:\n  doc_path: \"\"\n  audit_hmac_key_file: %s\n", keyFile))
	}
	dataDir := filepath.Join(dir, "data")
	s := harness.Start(t, harness.Options{DataDir: dataDir, ConfigFile: config(write("a.key", keyA+"\n"))})
	if code, body := postJSON(t, s.URL()+"/subjects/users-value/versions", mustJSON(map[string]string{"schema": `"string"`})); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, keyFile, want string
	}{
		{"empty key file", write("empty.key", "\n"), "governance.audit_hmac_key_file: " + filepath.Join(dir, "empty.key") + " is empty"},
		{"short key", write("short.key", "0123456789abcdef0123456789abcde\n"), "holds a 31-byte key; want at least 32 bytes"},
		{"another key", write("b.key", keyB), "the audit log was written with a different HMAC key than governance.audit_hmac_key_file holds"},
		{"no key", "", "governance.audit_hmac_key_file is not set, but the audit log was written with an HMAC key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := harness.Run(t, nil, "serve", "--data-dir", dataDir, "--config", config(tc.keyFile),
				"--http-addr", harness.FreeAddr(t), "--grpc-addr", harness.FreeAddr(t))
			if code != exitError || !strings.Contains(stderr, tc.want) {
				t.Errorf("serve: exit %d, stderr %q; want 3 and %q", code, stderr, tc.want)
			}
			for _, key := range []string{keyA, keyB, "0123456789abcdef0123456789abcde"} {
				if strings.Contains(stderr, key) {
					t.Errorf("stderr prints a key: %q", stderr)
				}
			}
		})
	}
}
