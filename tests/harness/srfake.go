package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// srfakePackage is the import path of the srfake command.
const srfakePackage = "github.com/schemagate/schemagate/tests/srfake"

// srfakeReadyTimeout bounds srfake's start, until it has written its URL.
const srfakeReadyTimeout = 15 * time.Second

// srfakeBuild is the srfake binary built on first use, shared by every test of the process.
var srfakeBuild struct {
	once sync.Once
	path string
	err  error
}

// SrfakeOptions says how to run srfake. The zero value is a registry that asks for no
// credentials.
type SrfakeOptions struct {
	// BearerToken, when set, is the token every request must carry (Authorization: Bearer …).
	BearerToken string
	// Username and Password, when Username is set, are the HTTP basic auth credentials every
	// request must carry. Set BearerToken or Username, not both.
	Username, Password string
}

// StartSrfake runs tests/srfake, franz-go's in-memory Confluent Schema Registry
// (pkg/sr/srfake) served over HTTP as a process of its own, on a free loopback port, and
// returns its base URL (http://127.0.0.1:port) once it listens. With credentials in opts, a
// request without them is answered 401 and one with others 403. The binary is built on first
// use (without the race detector) beside the schemagate binary, so TestMain must call
// RunWithBinary. When the test ends srfake gets SIGTERM, and a srfake that does not exit 0 within
// 30 s fails the test (its log is shown).
func StartSrfake(t testing.TB, opts SrfakeOptions) string {
	t.Helper()
	if opts.BearerToken != "" && opts.Username != "" {
		t.Fatal("harness: SrfakeOptions: set BearerToken or Username, not both")
	}
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	args := []string{"--url-file", urlFile}
	switch {
	case opts.BearerToken != "":
		args = append(args, "--bearer-token-file", writeSecret(t, dir, "token", opts.BearerToken))
	case opts.Username != "":
		args = append(args, "--username", opts.Username, "--password-file", writeSecret(t, dir, "password", opts.Password))
	}
	p := startProcess(t, "srfake", exec.Command(srfakeBinary(t), args...), &Buffer{})
	// Registered after startProcess's cleanup, so it runs first: the graceful stop is checked
	// before the process would be killed.
	t.Cleanup(func() { stopGracefully(t, p) })
	var url string
	err := p.waitUntil("(no URL in "+urlFile+")", srfakeReadyTimeout, func() bool {
		b, err := os.ReadFile(urlFile)
		url = strings.TrimSpace(string(b))
		return err == nil
	})
	if err != nil {
		t.Fatalf("%v (its log is shown below)", err)
	}
	return url
}

// srfakeBinary builds the srfake command once per test process, into the directory that
// RunWithBinary removes when the tests end, and returns its path.
func srfakeBinary(t testing.TB) string {
	t.Helper()
	dir := filepath.Dir(binaryPath(t))
	srfakeBuild.once.Do(func() {
		path := filepath.Join(dir, "srfake")
		out, err := exec.Command("go", "build", "-o", path, srfakePackage).CombinedOutput()
		if err != nil {
			srfakeBuild.err = fmt.Errorf("go build %s: %v\n%s", srfakePackage, err, out)
			return
		}
		srfakeBuild.path = path
	})
	if srfakeBuild.err != nil {
		t.Fatalf("harness: %v", srfakeBuild.err)
	}
	return srfakeBuild.path
}

// writeSecret writes secret, followed by a newline as editors write it, into the file name in
// dir and returns its path.
func writeSecret(t testing.TB, dir, name, secret string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// stopGracefully sends p SIGTERM and fails the test unless it exits with status 0 within
// stopTimeout.
func stopGracefully(t testing.TB, p *process) {
	t.Helper()
	if p.hasExited() {
		t.Errorf("%s exited before the test ended: %v", p.name, p.err)
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("stop %s: %v", p.name, err)
		return
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("%s did not shut down cleanly on SIGTERM: %v", p.name, p.err)
		}
	case <-time.After(stopTimeout):
		t.Errorf("%s did not exit within %s of SIGTERM", p.name, stopTimeout)
	}
}
