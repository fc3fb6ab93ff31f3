// Package examples checks the example configurations in docs/operations/examples: each loads
// and validates, and the real binary serves with it. The PostgreSQL example runs on the store
// that storetest picks: SQLite by default, PostgreSQL under `make unit-postgres`.
package examples

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/store/storetest"
	"github.com/schemagate/schemagate/tests/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

// dir holds the examples.
const dir = "../../docs/operations/examples"

// The credentials the examples' hashes were made from (their comments say so).
const (
	adminToken     = "change-me-admin-token"
	ordersPassword = "change-me-orders-password"
	ciToken        = "change-me-ci-token"
)

func example(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExamplesLoad: every example loads (unknown keys refused) and validates.
func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) != 4 {
		t.Fatalf("examples: %v %v, want 4 files", files, err)
	}
	env := map[string]string{"SCHEMAGATE_STORAGE_URL": "postgres://schemagate@db.internal:5432/schemagate"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, f := range files {
		cfg, err := gateway.LoadConfig(f, lookup)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// call sends GET or POST url with the header auth (none when empty) and returns the status.
func call(t *testing.T, c *http.Client, method, url, auth, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

const schema = `{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}"}`

func TestSingleNode(t *testing.T) {
	s := harness.Start(t, harness.Options{ConfigFile: example(t, "single-node.yaml")})
	if got := call(t, http.DefaultClient, "POST", s.URL()+"/subjects/a-value/versions", "", schema); got != 200 {
		t.Errorf("register without credentials: %d, want 200", got)
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestAuthTLS puts certificates where the example expects them, relative to the working
// directory, and calls with its token, its basic-auth user and its client certificate.
func TestAuthTLS(t *testing.T) {
	work := t.TempDir()
	ca := harness.NewCA(t, "example-ca")
	cert, key := ca.Issue(t, "127.0.0.1", true)
	clientCert, clientKey := ca.Issue(t, "payments-svc", false)
	for src, dst := range map[string]string{cert: "server.pem", key: "server-key.pem", ca.File: "clients-ca.pem"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(work, "tls"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "tls", dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	clientTLS := &tls.Config{RootCAs: ca.Pool}
	s := harness.Start(t, harness.Options{ConfigFile: example(t, "auth-tls.yaml"), Dir: work, TLS: clientTLS})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{pair}}}}
	for _, tt := range []struct {
		name, method, path, auth string
		client                   *http.Client
		want                     int
	}{
		{"no credentials", "GET", "/subjects", "", c, 401},
		{"admin token", "GET", "/subjects", "Bearer " + adminToken, c, 200},
		{"orders-app in its grant", "POST", "/subjects/orders-value/versions", basic("orders-app", ordersPassword), c, 200},
		{"orders-app outside its grant", "POST", "/subjects/billing-value/versions", basic("orders-app", ordersPassword), c, 403},
		{"payments-svc certificate", "GET", "/subjects/orders-value/versions/latest", "", withCert, 403},
		{"payments-svc certificate in its grant", "GET", "/subjects/payments-value/versions/latest", "", withCert, 404},
	} {
		body := ""
		if tt.method == "POST" {
			body = schema
		}
		if got := call(t, tt.client, tt.method, s.URL()+tt.path, tt.auth, body); got != tt.want {
			t.Errorf("%s: %s %s = %d, want %d", tt.name, tt.method, tt.path, got, tt.want)
		}
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func basic(user, password string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

// TestPostgresReplicas starts two replicas of the example on one store: a schema registered
// through one is read through the other.
func TestPostgresReplicas(t *testing.T) {
	url := storetest.URL(t)
	opts := harness.Options{ConfigFile: example(t, "postgres-replicas.yaml"), StorageURL: url}
	a, b := harness.Start(t, withName(opts, "replica-a")), harness.Start(t, withName(opts, "replica-b"))
	if got := call(t, http.DefaultClient, "POST", a.URL()+"/subjects/ci-value/versions", "Bearer "+ciToken, schema); got != 200 {
		t.Fatalf("register on replica a: %d", got)
	}
	// Replica b serves reads from memory, current within the change feed's delay (LISTEN/NOTIFY
	// on PostgreSQL, storage.change_poll_interval on SQLite).
	harness.WaitFor(t, "the registration read on replica b", 30*time.Second, func() string {
		if got := call(t, http.DefaultClient, "GET", b.URL()+"/subjects/ci-value/versions/1", "Bearer "+ciToken, ""); got != 200 {
			return fmt.Sprintf("GET /subjects/ci-value/versions/1: %d, want 200", got)
		}
		return ""
	})
	for _, s := range []*harness.Server{a, b} {
		if err := s.Stop(t); err != nil {
			t.Errorf("stop: %v", err)
		}
	}
}

func withName(o harness.Options, name string) harness.Options {
	o.Name = name
	return o
}

// upstreamToken is the token upstream.yaml's bearer_token_file holds in TestUpstream.
const upstreamToken = "change-me-upstream-token"

// TestUpstream serves upstream.yaml in front of a real registry over HTTPS (another schemagate,
// with a certificate of a test CA and a principal for the token): the URL is the only change
// (the example's host is not reachable here). A schema registered through schemagate is in
// the upstream.
func TestUpstream(t *testing.T) {
	work := t.TempDir()
	ca := harness.NewCA(t, "upstream-ca")
	cert, key := ca.Issue(t, "127.0.0.1", true)
	sum := sha256.Sum256([]byte(upstreamToken))
	upstreamCfg := filepath.Join(t.TempDir(), "upstream.yaml")
	writeFile(t, upstreamCfg, fmt.Sprintf("tls: {cert_file: %s, key_file: %s}\nauth:\n  principals:\n    - {name: schemagate, roles: [admin], token_sha256: %x}\n", cert, key, sum))
	up := harness.Start(t, harness.Options{Name: "upstream", ConfigFile: upstreamCfg, TLS: &tls.Config{RootCAs: ca.Pool}})
	caPEM, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "tls", "upstream-ca.pem"), string(caPEM))
	writeFile(t, filepath.Join(work, "secrets", "upstream-token"), upstreamToken+"\n")
	s := harness.Start(t, harness.Options{ConfigFile: example(t, "upstream.yaml"), Dir: work,
		Env: []string{"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_URL=https://" + up.HTTPAddr}})
	if got := call(t, http.DefaultClient, "POST", s.URL()+"/subjects/a-value/versions", "Bearer "+adminToken, schema); got != 200 {
		t.Fatalf("register through upstream mode: %d, want 200", got)
	}
	upClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	if got := call(t, upClient, "GET", "https://"+up.HTTPAddr+"/subjects/a-value/versions/1", "Bearer "+upstreamToken, ""); got != 200 {
		t.Errorf("the registration is not in the upstream: GET /subjects/a-value/versions/1 = %d", got)
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// writeFile writes content at path, making its directory.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
