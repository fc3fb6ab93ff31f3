// Package harness is how the end-to-end tests run the real schemagate binary (tests/crash,
// tests/replicas, tests/clients, cmd/schemagate): it builds the binary once per test process,
// starts `schemagate serve` on free loopback ports (Start), runs client subcommands (Run), starts
// a real Alertmanager (StartAlertmanager) and franz-go's fake Confluent registry as a process of
// its own (StartSrfake, an upstream registry for upstream mode), and holds what those tests
// share: one HTTP helper (Do), a locked buffer for logs, a throwaway certificate authority and
// the sign-in form of a test OpenID Provider (MountOIDCLogin). Only tests import it, and it imports no package of
// schemagate's, so that any package's tests may use it.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// commandPackage is the import path of the schemagate command.
const commandPackage = "github.com/schemagate/schemagate/cmd/schemagate"

// runTimeout bounds one Run: a client command answers in well under a second, so this is a
// safety net against one that hangs.
const runTimeout = 30 * time.Second

// binary is the path of the schemagate binary that RunWithBinary built.
var binary string

// RunWithBinary builds the schemagate command, stamped with the checkout's commit, into a temporary directory (without the race
// detector: only the test process pays for it), runs the tests and removes the build. It is the
// TestMain body of a package that uses Start or Run: os.Exit(harness.RunWithBinary(m)).
func RunWithBinary(m *testing.M) int {
	dir, err := os.MkdirTemp("", "schemagate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "schemagate")
	// -buildvcs=true: the binary names the commit it was built from (`schemagate version`), as a
	// release build does, whatever GOFLAGS the machine sets.
	build := exec.Command("go", "build", "-buildvcs=true", "-o", binary, commandPackage)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "harness: build schemagate:", err)
		return 1
	}
	return m.Run()
}

// Binary returns the path of the schemagate binary RunWithBinary built, for tests that run it
// from a shell (the documentation's examples); everything else uses Start and Run.
func Binary(t testing.TB) string {
	t.Helper()
	return binaryPath(t)
}

// binaryPath returns the built binary, failing the test when TestMain did not build it.
func binaryPath(t testing.TB) string {
	t.Helper()
	if binary == "" {
		t.Fatal("harness: the schemagate binary is not built: TestMain must call os.Exit(harness.RunWithBinary(m))")
	}
	return binary
}

// Run runs the schemagate binary with args (a client subcommand such as `schema register`, or
// an offline one such as `audit verify --data-dir`) in a temporary working directory, with env
// added to the test process's environment, and returns its stdout, its stderr and its exit
// code. A command still running after 30 s is killed and fails the test.
func Run(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return RunBinary(t, binaryPath(t), env, args...)
}

// RunBinary is Run with another schemagate binary than the one RunWithBinary built (a build made
// as a release or an image makes it).
func RunBinary(t testing.TB, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("schemagate %s still running after %s; killed\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), runTimeout, &out, &errOut)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("schemagate %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// FreeAddr returns a loopback address whose port was free a moment ago. Another process may
// take it before the caller binds it; Start retries on new ports when that happens.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
