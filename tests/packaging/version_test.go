// Package packaging tests how schemagate is shipped: what a built binary says about itself
// (`schemagate version`, `--version`, the start-up log line and the schemagate_build_info
// metric, from the build information the Go toolchain stamps), the static release build of
// scripts/build-static.sh, and the container image and systemd unit run as they describe.
package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

func TestMain(m *testing.M) {
	code := harness.RunWithBinary(m)
	if staticDir != "" {
		os.RemoveAll(staticDir)
	}
	os.Exit(code)
}

// versionLine is what `schemagate version` prints.
var versionLine = regexp.MustCompile(`^schemagate (\S+) \(commit (\S+), (\S+)\)\n$`)

// TestVersion: `schemagate version` and `--version` print the same line, naming the commit the
// binary was built from (the test's own checkout) and the Go release that built it, and a
// running server reports the same values in its start-up log and in schemagate_build_info.
func TestVersion(t *testing.T) {
	out, stderr, code := harness.Run(t, nil, "version")
	if code != 0 {
		t.Fatalf("schemagate version: exit %d, stderr %s", code, stderr)
	}
	m := versionLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("schemagate version printed %q, want %s", out, versionLine)
	}
	version, commit, goVersion := m[1], m[2], m[3]
	if flagOut, _, code := harness.Run(t, nil, "--version"); code != 0 || flagOut != out {
		t.Errorf("schemagate --version: exit %d, %q; want exit 0, %q", code, flagOut, out)
	}
	if goVersion != runtime.Version() {
		t.Errorf("Go version %q, want %q (the toolchain that built the binary and this test)", goVersion, runtime.Version())
	}
	if want := checkoutCommit(t); strings.TrimSuffix(commit, "-dirty") != want {
		t.Errorf("commit %q, want %q (with -dirty when the checkout has changes)", commit, want)
	}

	srv := harness.Start(t, harness.Options{})
	status, body := srv.Do(t, "GET", "/metrics", "", "")
	if status != 200 {
		t.Fatalf("GET /metrics: %d", status)
	}
	want := `schemagate_build_info{commit="` + commit + `",goversion="` + goVersion + `",version="` + version + `"} 1`
	var got []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "schemagate_build_info") {
			got = append(got, line)
		}
	}
	if diff := cmp.Diff([]string{want}, got); diff != "" {
		t.Errorf("schemagate_build_info on /metrics (-want +got):\n%s", diff)
	}
	for _, field := range []string{"version=" + version, "commit=" + commit, "go=" + goVersion} {
		if !strings.Contains(srv.Log(), field) {
			t.Errorf("the start-up log has no %s:\n%s", field, srv.Log())
		}
	}
}

// checkoutCommit is the commit the go command stamps into a binary built in this checkout: HEAD
// in a clone, "unknown" in a linked git worktree, whose .git is a file the go command does not
// recognise as a repository (it looks for a .git directory).
func checkoutCommit(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat(filepath.Join(repoRoot, ".git")); err == nil && !fi.IsDir() {
		return "unknown"
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	return strings.TrimSpace(string(head))
}
