// Package harness holds what the end-to-end tests that run the real schemagate binary share
// (tests/crash, tests/replicas, tests/clients, cmd/schemagate): the binary, built once per test
// process, and free loopback addresses. Only tests import it.
package harness

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// commandPackage is the import path of the schemagate command.
const commandPackage = "github.com/schemagate/schemagate/cmd/schemagate"

// RunWithBinary builds the schemagate command into a temporary directory (without the race
// detector: only the test process pays for it), stores its path in *binary, runs the tests and
// removes the build. It is a TestMain body: os.Exit(harness.RunWithBinary(m, &binary)).
func RunWithBinary(m *testing.M, binary *string) int {
	dir, err := os.MkdirTemp("", "schemagate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	*binary = filepath.Join(dir, "schemagate")
	build := exec.Command("go", "build", "-o", *binary, commandPackage)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "harness: build schemagate:", err)
		return 1
	}
	return m.Run()
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
