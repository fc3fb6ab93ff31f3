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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// server is one `schemagate serve` process.
type server struct {
	base    string // http://host:port
	replica string // the name its evidence is stored under: host name and process ID
	cmd     *exec.Cmd
	client  *http.Client
	log     *tailBuffer
	exited  chan struct{} // closed when the process has been waited for
	err     error         // Wait's result, set before exited is closed

	// inFlight counts requests sent and not yet answered.
	inFlight atomic.Int64
}

// startServer runs the binary on the setup's store and configuration and waits until it
// answers /readyz. The process is killed at the end of the test if it is still running, and its
// log is printed when the test failed. Ports are picked free just before the start; should
// another process take one meanwhile, the start is tried again on new ports.
func startServer(t *testing.T, name string, set *setup) *server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s, portTaken := tryStartServer(t, name, set)
		if !portTaken {
			return s
		}
		if attempt == 3 {
			t.Fatalf("%s: the picked ports were taken three times in a row:\n%s", name, s.log.String())
		}
	}
}

func tryStartServer(t *testing.T, name string, set *setup) (_ *server, portTaken bool) {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host" // as the gateway names itself
	}
	httpAddr, grpcAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	s := &server{
		base:   "http://" + httpAddr,
		log:    &tailBuffer{max: 64 << 10},
		exited: make(chan struct{}),
		client: &http.Client{
			Timeout:   30 * time.Second, // a safety net: answers take milliseconds
			Transport: &http.Transport{MaxIdleConnsPerHost: 32},
		},
	}
	s.cmd = exec.Command(binary, "serve", "--config", set.cfgFile, "--http-addr", httpAddr, "--grpc-addr", grpcAddr)
	s.cmd.Env = append(os.Environ(), "SCHEMAGATE_STORAGE_URL="+set.storageURL)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.replica = host + "-" + strconv.Itoa(s.cmd.Process.Pid)
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("%s (%s) log, last %d KiB:\n%s", name, s.replica, s.log.max>>10, s.log.String())
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := s.client.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, false
			}
		}
		select {
		case <-s.exited:
			if strings.Contains(s.log.String(), "address already in use") {
				return s, true
			}
			t.Fatalf("%s exited before it was ready: %v\n%s", name, s.err, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 60s:\n%s", name, s.log.String())
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", s.replica, err)
	}
	<-s.exited
	s.client.CloseIdleConnections()
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop %s: %v", s.replica, err)
	}
	<-s.exited
	s.client.CloseIdleConnections()
	if s.err != nil {
		t.Errorf("%s did not exit cleanly on SIGTERM: %v", s.replica, s.err)
	}
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
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
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

// tailBuffer keeps the last max bytes written to it; it is safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if over := len(w.b) - w.max; over > 0 {
		w.b = append(w.b[:0], w.b[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
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
