package browser

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemagate/schemagate/tests/harness"
)

// principal is one configured principal of the test server. Each signs in with its token,
// the author with its name and password.
type principal struct {
	name, role, token, password string
}

// The server's principals: the people of the governance jobs.
var (
	author   = principal{name: "author", role: "author", password: "author-password"}
	lead     = principal{name: "lead", role: "governance-lead", token: "lead-token"}
	lead2    = principal{name: "lead2", role: "governance-lead", token: "lead2-token"}
	producer = principal{name: "producer", role: "producer", token: "producer-token"}
	oncall   = principal{name: "oncall", role: "oncall", token: "oncall-token"}
	admin    = principal{name: "admin", role: "admin", token: "admin-token"}
)

var principals = []principal{author, lead, lead2, producer, oncall, admin}

// The governance policy the server runs with: a clean window of seconds instead of days, in
// buckets of one second, so that a subject turns eligible within seconds of its validations.
const (
	cleanWindow    = "3s"
	minValidations = 5
)

// orderSchema is the Avro schema of every subject the tests register, orderSchemaV2 its
// compatible successor, and cleanPayload a payload that conforms to the first.
const (
	orderSchema   = `{"type":"record","name":"Order","fields":[{"name":"id","type":"int"},{"name":"note","type":"string","default":""}]}`
	orderSchemaV2 = `{"type":"record","name":"Order","fields":[{"name":"id","type":"int"},{"name":"note","type":"string","default":""},{"name":"channel","type":"string","default":"web"}]}`
	cleanPayload  = `{"json":{"id":7,"note":"clean"}}`
)

// env is the server every test of the package shares.
type env struct {
	srv  *harness.Server
	base string
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// config is the server's configuration; oidc, when set, is its auth.oidc block.
func config(oidc string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `governance:
  clean_window: %s
  evidence_bucket: 1s
  evidence_flush_interval: 200ms
  min_validations: %d
  min_principals: 1
  ticket_pattern: ^[A-Z][A-Z0-9]+-[0-9]+$
  doc_path: ""
auth:
  principals:
`, cleanWindow, minValidations)
	for _, p := range principals {
		cred := "token_sha256: " + sha(p.token)
		if p.password != "" {
			cred = "password_sha256: " + sha(p.password)
		}
		fmt.Fprintf(&b, "    - {name: %s, roles: [%s], %s}\n", p.name, p.role, cred)
	}
	b.WriteString(oidc)
	return b.String()
}

// startEnv starts `schemagate serve` with the principals above, the short clean window and OIDC
// sign-in through a test OpenID Provider. The provider must know the console's callback, which
// names the server's port: the server runs once to get its ports, and again on the same ports
// with auth.oidc.
func startEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "schemagate.yaml")
	write(t, cfgFile, config(""))
	first := harness.Start(t, harness.Options{Name: "schemagate-console", ConfigFile: cfgFile})
	if err := first.Stop(t); err != nil {
		t.Fatalf("stopping the first run: %v", err)
	}
	issuer := startOP(t, first.URL())
	secret := filepath.Join(dir, "oidc-client-secret")
	write(t, secret, oidcSecret+"\n")
	write(t, cfgFile, config(fmt.Sprintf(`  oidc:
    issuer: %s
    client_id: %s
    client_secret_file: %s
    redirect_url: %s/ui/oidc/callback
    role_claim: groups
    mappings:
      - {claim_value: %s, roles: [governance-lead]}
`, issuer, oidcClient, secret, first.URL(), oidcPerson.group)))
	srv := first.Restart(t)
	return &env{srv: srv, base: srv.URL()}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// register registers schema under subject as the author would, over the Confluent API.
func (e *env) register(t *testing.T, subject, schema string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"schema": schema})
	header := map[string][]string{"Authorization": {"Basic " + basic(author.name, author.password)}}
	code, resp := harness.Do(t, "POST", e.base+"/subjects/"+subject+"/versions", header, string(body))
	if code != 200 {
		t.Fatalf("register %s: %d %s", subject, code, resp)
	}
}

// validate sends n clean validations of subject as the producer, over /v1.
func (e *env) validate(t *testing.T, subject string, n int) {
	t.Helper()
	for range n {
		code, resp := e.srv.Do(t, "POST", "/v1/subjects/"+subject+"/validate", producer.token, cleanPayload)
		if code != 200 || !strings.Contains(resp, `"outcome":"OUTCOME_VALID"`) {
			t.Fatalf("validate %s: %d %s; want a clean validation", subject, code, resp)
		}
	}
}
