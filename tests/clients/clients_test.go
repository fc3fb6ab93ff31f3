// Package clients_test runs real Schema Registry clients against the schemagate binary: the
// Node.js @kafkajs/confluent-schema-registry suite in node/ and the confluent-kafka-go suite in
// go/ (a module of its own, so its dependencies stay out of the main go.mod). Each suite gets a
// fresh server on free loopback ports with an empty data directory and runs with
// SCHEMA_REGISTRY_URL pointing at it; a failing suite fails here with its output and the
// server's log.
package clients_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

// binary is the schemagate binary that TestMain builds once.
var binary string

func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m, &binary)) }

func TestNodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the Node.js client suite")
	}
	t.Parallel()
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@kafkajs", "confluent-schema-registry")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := command(ctx, dir, nil, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		if err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	s := startServer(t)
	runSuite(t, s, dir, 5*time.Minute, nil, "node", "--test")
}

func TestGoClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the confluent-kafka-go client suite")
	}
	t.Parallel()
	dir, err := filepath.Abs("go")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	// The serdes import confluent-kafka-go's kafka package, which links the librdkafka the module
	// ships and so needs cgo. GOWORK=off keeps a go.work of the caller's away from the module.
	env := []string{"CGO_ENABLED=1", "GOWORK=off"}
	runSuite(t, s, dir, 8*time.Minute, env, "go", "test", "-count=1", "-v", "./...")
}

// runSuite runs one client suite against s and fails the test with its output and the server
// log when it exits non-zero.
func runSuite(t *testing.T, s *server, dir string, timeout time.Duration, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	env = append(env, "SCHEMA_REGISTRY_URL=http://"+s.httpAddr)
	start := time.Now()
	out, err := command(ctx, dir, env, name, args...)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timed out after %s)", err, timeout)
		}
		t.Fatalf("%s %s in %s against %s: %v\n===== suite output =====\n%s\n===== server log =====\n%s",
			name, strings.Join(args, " "), dir, s.httpAddr, err, out, s.log)
	}
	t.Logf("%s %s passed in %s; last lines:\n%s", name, strings.Join(args, " "),
		time.Since(start).Round(time.Second), lastLines(out, 12))
}

// command runs name in dir with the environment plus env and returns stdout and stderr together.
func command(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// Put the suite in a process group of its own, so a timeout ends `go test`'s children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// server is one running `schemagate serve`.
type server struct {
	httpAddr string
	log      *lockedBuffer
}

// startServer starts schemagate on free loopback ports with an empty data directory, waits for
// GET /readyz to answer 200 and stops the server when the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{httpAddr: harness.FreeAddr(t), log: &lockedBuffer{}}
	cmd := exec.Command(binary, "serve",
		"--data-dir", t.TempDir(),
		"--http-addr", s.httpAddr,
		"--grpc-addr", harness.FreeAddr(t))
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start schemagate: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + s.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("schemagate exited before it was ready: %v\n%s", err, s.log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("schemagate not ready on %s after 60s:\n%s", s.httpAddr, s.log)
		}
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
