package crash_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

// The principals of the test configuration; each one's bearer token is its name.
const (
	author = "alice" // author: registers schemas, sets compatibility, requests promotions, sets owners
	lead   = "lead"  // governance-lead: approves, rejects, rolls back
	admin  = "admin" // admin: break-glass overrides, registry modes, permanent deletes
)

// auditKey is the audit HMAC key of the test's gateways.
const auditKey = "crash-test-audit-hmac-key-0123456789"

// setup is where a test's gateways keep their state: the store, and the files every round
// shares.
type setup struct {
	storageURL string
	cfgFile    string
	docPath    string // the governance document
	keyFile    string // the audit HMAC key (governance.audit_hmac_key_file)
	key        []byte
}

// newSetup writes the gateway configuration shared by every round into a temporary directory:
// tiny evidence buckets and a one-second clean window with one validation, so that promotions
// can be requested, approved and rolled back within a few seconds; an audit HMAC key, as the
// deployment guide recommends; the governance document beside them.
func newSetup(t *testing.T, storageURL string) *setup {
	t.Helper()
	dir := t.TempDir()
	s := &setup{
		storageURL: storageURL,
		cfgFile:    filepath.Join(dir, "schemagate.yaml"),
		docPath:    filepath.Join(dir, "governance.md"),
		keyFile:    filepath.Join(dir, "audit.key"),
		key:        []byte(auditKey),
	}
	cfg := fmt.Sprintf(`log:
  level: warn
server:
  shutdown_timeout: 10s
governance:
  clean_window: 1s
  evidence_bucket: 1s
  evidence_flush_interval: 200ms
  replica_timeout: 400ms
  min_validations: 1
  doc_path: %s
  audit_hmac_key_file: %s
auth:
  principals:
    - {name: %s, roles: [author], token_sha256: %s}
    - {name: %s, roles: [governance-lead], token_sha256: %s}
    - {name: %s, roles: [admin], token_sha256: %s}
`, s.docPath, s.keyFile, author, sha(author), lead, sha(lead), admin, sha(admin))
	if err := os.WriteFile(s.cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.keyFile, []byte(auditKey+"\n"), 0o600); err != nil { // the line break is not part of the key
		t.Fatal(err)
	}
	return s
}

func sha(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// server is one `schemagate serve` process, with the HTTP client the test's requests share.
type server struct {
	*harness.Server
	replica string // the name its evidence is stored under: host name and process ID
	client  *http.Client

	// inFlight counts requests sent and not yet answered.
	inFlight atomic.Int64
}

// startServer runs the binary on the setup's store and configuration and waits until it
// answers /readyz (harness.Start: the process is killed at the end of the test if it is still
// running, the last 64 KiB of its log are shown when the test failed, and a start whose picked
// port was taken meanwhile is tried again on new ports).
func startServer(t *testing.T, name string, set *setup) *server {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host" // as the gateway names itself
	}
	hs := harness.Start(t, harness.Options{Name: name, ConfigFile: set.cfgFile, StorageURL: set.storageURL, LogLimit: 64 << 10})
	s := &server{
		Server:  hs,
		replica: host + "-" + strconv.Itoa(hs.PID()),
		client: &http.Client{
			Timeout:   30 * time.Second, // a safety net: answers take milliseconds
			Transport: &http.Transport{MaxIdleConnsPerHost: 32},
		},
	}
	t.Cleanup(s.client.CloseIdleConnections)
	return s
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.Kill(t)
	s.client.CloseIdleConnections()
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.Stop(t); err != nil {
		t.Errorf("%s did not exit cleanly on SIGTERM: %v", s.replica, err)
	}
	s.client.CloseIdleConnections()
}

// reply is an HTTP answer: the status code and the body.
type reply struct {
	code int
	body []byte
}

func (r reply) ok() bool { return r.code >= 200 && r.code < 300 }

func (r reply) String() string { return fmt.Sprintf("%d %s", r.code, bytes.TrimSpace(r.body)) }

// decode unmarshals the body into v, failing the test (from any goroutine) when it does not
// decode.
func (r reply) decode(t *testing.T, what string, v any) bool {
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Errorf("%s: answer %s does not decode: %v", what, r, err)
		return false
	}
	return true
}

// do sends one request with the principal's bearer token. The error is a transport error: the
// request may or may not have reached the server, and no answer came back.
func (s *server) do(ctx context.Context, method, path, principal string, body any) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL()+path, rd)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+principal)
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	resp, err := s.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{code: resp.StatusCode, body: b}, nil
}

// get is do for the checks, which run while the server is healthy: a transport error is an
// error of the test, and the reply then has code 0. It may be called from any goroutine.
func (s *server) get(t *testing.T, path string) reply {
	r, err := s.do(t.Context(), http.MethodGet, path, author, nil)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
	}
	return r
}

// jsonInt reads an integer that protojson writes as a string (int64 fields) or as a number.
type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil {
		return err
	}
	*n = jsonInt(v)
	return nil
}
