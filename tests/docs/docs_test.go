package docs_test

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
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/schemagate/schemagate/tests/harness"
)

// TestMain builds the schemagate binary once for the tests of this package.
func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

// hook prepares the server before a block (directive "before HOOK") and returns variables to
// add to the block's environment.
type hook func(t *testing.T, d *docRun) []string

// docRun is one document being run against its server.
type docRun struct {
	srv    *harness.Server
	dir    string
	env    []string          // for every block
	tokens map[string]string // principal → bearer token
	hooks  map[string]hook
}

// run runs every ```sh block of the document at path (relative to the repository root).
func (d *docRun) run(t *testing.T, path string) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseDoc(string(text))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(blocks) == 0 {
		t.Fatalf("%s has no ```sh block", path)
	}
	for _, b := range blocks {
		env := append([]string{"SG_BIN=" + harness.Binary(t), "SG_HTTP=" + d.srv.HTTPAddr, "SG_GRPC=" + d.srv.GRPCAddr}, d.env...)
		skip := false
		for _, dir := range b.directives {
			verb, arg, _ := strings.Cut(dir, " ")
			switch verb {
			case "skip":
				if strings.TrimSpace(arg) == "" {
					t.Errorf("%s:%d: skip without a reason", path, b.line)
				}
				skip = true
			case "as":
				token, ok := d.tokens[arg]
				if !ok {
					t.Fatalf("%s:%d: no principal %q in the test's configuration", path, b.line, arg)
				}
				env = append(env, "SCHEMAGATE_TOKEN="+token)
			case "before":
				h, ok := d.hooks[arg]
				if !ok {
					t.Fatalf("%s:%d: no hook %q", path, b.line, arg)
				}
				env = append(env, h(t, d)...)
			default:
				t.Fatalf("%s:%d: unknown directive %q", path, b.line, dir)
			}
		}
		if !skip {
			runBlock(t, path, b, d.dir, env)
		}
	}
}

// TestREADME runs the README's examples against a server started as the README's Quick start
// does: no configuration, SQLite under ./data.
func TestREADME(t *testing.T) {
	dir := t.TempDir()
	srv := harness.Start(t, harness.Options{Name: "readme", Dir: dir, DataDir: filepath.Join(dir, "data")})
	d := &docRun{srv: srv, dir: dir}
	d.run(t, "README.md")
}

// runbookPrincipals are the principals of the runbook's server; each one's token is
// "token-NAME".
var runbookPrincipals = map[string]string{
	"oncall": "oncall", "author": "author", "lead": "governance-lead", "lead2": "governance-lead", "admin": "admin",
}

// TestRunbook runs the runbook's commands as on-call and governance leads would, against a
// server with principals and a short clean window, with S set to the subject the alerts name.
func TestRunbook(t *testing.T) {
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("governance:\n  clean_window: 2s\n  evidence_bucket: 1s\n  evidence_flush_interval: 200ms\n  min_validations: 5\nauth:\n  principals:\n")
	tokens := map[string]string{}
	for name, role := range runbookPrincipals {
		tokens[name] = "token-" + name
		sum := sha256.Sum256([]byte(tokens[name]))
		fmt.Fprintf(&cfg, "    - {name: %s, roles: [%s], token_sha256: %s}\n", name, role, hex.EncodeToString(sum[:]))
	}
	cfgFile := filepath.Join(t.TempDir(), "schemagate.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := harness.Start(t, harness.Options{Name: "runbook", Dir: dir, DataDir: filepath.Join(dir, "data"), ConfigFile: cfgFile})
	d := &docRun{srv: srv, dir: dir, tokens: tokens,
		env: []string{"S=orders-value", "HOST=127.0.0.1", "SCHEMAGATE_TOKEN=" + tokens["lead"]},
		hooks: map[string]hook{
			"strict":   strictSubject,
			"eligible": eligibleSubject,
			"pending":  pendingPromotion,
		}}
	d.call(t, "admin", "POST", "/subjects/orders-value/versions",
		`{"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}"}`)
	d.run(t, "docs/operations/runbook.md")
}

// strictSubject makes orders-value strict (the break-glass override), for the rollback steps.
func strictSubject(t *testing.T, d *docRun) []string {
	d.call(t, "admin", "PUT", "/v1/subjects/orders-value/validation-mode",
		`{"mode":"VALIDATION_MODE_STRICT","ticket":"CHG-1","justification":"runbook test"}`)
	return nil
}

// eligibleSubject sends valid payloads for orders-value until it is eligible for strict.
func eligibleSubject(t *testing.T, d *docRun) []string {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		d.call(t, "lead", "POST", "/v1/subjects/orders-value/validate", `{"json":{"id":"o-1"}}`)
		if strings.Contains(d.call(t, "lead", "GET", "/v1/subjects/orders-value/governance", ""), `"eligible":true`) {
			return nil
		}
	}
	t.Fatal("orders-value not eligible after 30s of valid traffic")
	return nil
}

// pendingPromotion sets ID to the pending promotion of orders-value, as its requester reads it
// from `governance request`'s output.
func pendingPromotion(t *testing.T, d *docRun) []string {
	var st struct{ PendingPromotion struct{ ID string } } // GET …/governance answers the status
	body := d.call(t, "lead", "GET", "/v1/subjects/orders-value/governance", "")
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.PendingPromotion.ID == "" {
		t.Fatalf("no pending promotion of orders-value: %v %s", err, body)
	}
	return []string{"ID=" + st.PendingPromotion.ID}
}

// call makes an HTTP call as principal and returns the body, failing the test unless it is 200.
func (d *docRun) call(t *testing.T, principal, method, path, body string) string {
	t.Helper()
	code, b := d.srv.Do(t, method, path, d.tokens[principal], body)
	if code != http.StatusOK {
		t.Fatalf("%s %s as %s: %d %s", method, path, principal, code, b)
	}
	return b
}

func TestParseDoc(t *testing.T) {
	doc := "Prose.\n\n```sh\n" +
		"curl -s http://x \\\n  -d '{}'\n# {\"ok\":true}\n\n" +
		"# prose before a command\n" +
		"cat > f.json <<'JSON'\n{\"a\": 1}\nJSON\n" +
		"false   # a trailing comment\n# [1]\n" +
		"```\n\n<!-- docs-test: skip needs a cluster; as lead -->\n```sh\nkubectl get pods\n```\n" +
		"```yaml\n```sh\n```\n" +
		"- item:\n  ```sh\n  echo hi\n  # hi\n  ```\n"
	blocks, err := parseDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []block{
		{line: 3, steps: []step{
			{line: 4, command: "curl -s http://x \\\n  -d '{}'", want: []string{`{"ok":true}`}, checked: true},
			{line: 9, command: "cat > f.json <<'JSON'\n{\"a\": 1}\nJSON"},
			{line: 12, command: "false   # a trailing comment", wantExit: 1, checked: true},
		}},
		{line: 17, directives: []string{"skip needs a cluster", "as lead"}, steps: []step{{line: 18, command: "kubectl get pods"}}},
		{line: 24, steps: []step{{line: 25, command: "echo hi", want: []string{"hi"}, checked: true}}},
	}
	if diff := cmp.Diff(want, blocks, cmp.AllowUnexported(block{}, step{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("parseDoc (-want +got):\n%s", diff)
	}
}

func TestMatchOutput(t *testing.T) {
	tests := []struct {
		want, got []string
		match     bool
	}{
		{[]string{"a"}, []string{"a"}, true},
		{[]string{"a"}, []string{"b"}, false},
		{[]string{`{"id":...}`}, []string{`{"id":7, "x":1}`}, true},
		{[]string{"first", "...", "last"}, []string{"first", "x", "y", "last"}, true},
		{[]string{"first", "...", "last"}, []string{"first", "last"}, true},
		{[]string{"first", "...", "last"}, []string{"first", "x"}, false},
		{[]string{"a.b"}, []string{"axb"}, false}, // only "..." is a wildcard
		{nil, []string{"unexpected"}, false},
	}
	for _, tt := range tests {
		if got := matchOutput(tt.want, tt.got); got != tt.match {
			t.Errorf("matchOutput(%q, %q) = %v; want %v", tt.want, tt.got, got, tt.match)
		}
	}
}

// TestREADMEConfigStarts starts the server with the README's configuration example as written
// (the harness only moves it to free ports and a temporary data directory) and signs in as each
// of its principals with the credentials its comments give.
func TestREADMEConfigStarts(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(text), "\n## Configuration\n")
	_, yaml, ok2 := strings.Cut(after, "\n```yaml\n")
	yaml, _, ok3 := strings.Cut(yaml, "\n```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no ```yaml block under ## Configuration")
	}
	cfgFile := filepath.Join(t.TempDir(), "schemagate.yaml")
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := harness.Start(t, harness.Options{Name: "readme-config", ConfigFile: cfgFile})
	tests := []struct {
		name       string
		auth       func(*http.Request)
		path       string
		wantStatus int
	}{
		{"no credentials", func(*http.Request) {}, "/subjects", http.StatusUnauthorized},
		{"ci-producer's token", bearer("ci-producer-token"), "/subjects", http.StatusOK},
		{"schema-author's password", func(r *http.Request) { r.SetBasicAuth("schema-author", "change-me-author") }, "/subjects", http.StatusOK},
		{"platform-admin's token", bearer("platform-admin-token"), "/config", http.StatusOK},
		{"ci-producer outside its subjects", bearer("ci-producer-token"), "/subjects/billing-value/versions", http.StatusForbidden},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", srv.URL()+tt.path, nil)
		tt.auth(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("%s: GET %s = %d %s; want %d", tt.name, tt.path, resp.StatusCode, body, tt.wantStatus)
		}
	}
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}
