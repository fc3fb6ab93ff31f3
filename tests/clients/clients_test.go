// Package clients_test runs real Schema Registry clients against the schemagate binary: the
// Node.js suites in node/ (@kafkajs/confluent-schema-registry and Confluent's
// @confluentinc/schemaregistry) and the confluent-kafka-go suite in go/ (a module of its own, so
// its dependencies stay out of the main go.mod). Each suite gets a
// fresh server on free loopback ports with an empty data directory and runs with
// SCHEMA_REGISTRY_URL pointing at it, once in embedded mode and once in upstream mode (see
// modes); a failing suite fails here with its output and the server's log.
package clients_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

// TestMain builds the schemagate binary once for the tests of this package.
func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

func TestNodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the Node.js client suite")
	}
	t.Parallel()
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	if !installed(dir, "@kafkajs/confluent-schema-registry", "@confluentinc/schemaregistry") {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := command(ctx, dir, nil, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		if err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			runSuite(t, m.start(t), dir, 5*time.Minute, nil, "node", "--test")
		})
	}
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
	// The serdes import confluent-kafka-go's kafka package, which links the librdkafka the module
	// ships and so needs cgo. GOWORK=off keeps a go.work of the caller's away from the module.
	env := []string{"CGO_ENABLED=1", "GOWORK=off"}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			runSuite(t, m.start(t), dir, 8*time.Minute, env, "go", "test", "-count=1", "-v", "./...")
		})
	}
}

// modes are the ways the suites find schemagate: its embedded registry, and upstream mode in
// front of another schemagate (schema_registry.upstream.url), where every registry call is
// authorized by the front and answered by the upstream. The suites run unchanged in both.
var modes = []struct {
	name  string
	start func(t *testing.T) *harness.Server
}{
	{"embedded", func(t *testing.T) *harness.Server { return harness.Start(t, harness.Options{}) }},
	{"upstream", func(t *testing.T) *harness.Server {
		up := harness.Start(t, harness.Options{Name: "upstream"})
		return harness.Start(t, harness.Options{Name: "front", Env: []string{
			"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_URL=" + up.URL(), "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_POLL_INTERVAL=200ms"}})
	}},
}

// runSuite runs one client suite against s and fails the test with its output and the server
// log when it exits non-zero.
func runSuite(t *testing.T, s *harness.Server, dir string, timeout time.Duration, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	env = append(env, "SCHEMA_REGISTRY_URL="+s.URL())
	start := time.Now()
	out, err := command(ctx, dir, env, name, args...)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timed out after %s)", err, timeout)
		}
		t.Fatalf("%s %s in %s against %s: %v\n===== suite output =====\n%s\n===== server log =====\n%s",
			name, strings.Join(args, " "), dir, s.URL(), err, out, s.Log())
	}
	t.Logf("%s %s passed in %s; last lines:\n%s", name, strings.Join(args, " "),
		time.Since(start).Round(time.Second), lastLines(out, 12))
}

// installed reports whether every one of the npm packages is in dir's node_modules.
func installed(dir string, packages ...string) bool {
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(p))); err != nil {
			return false
		}
	}
	return true
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
