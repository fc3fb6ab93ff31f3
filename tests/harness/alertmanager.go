package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// alertmanagerConfig routes every alert to a receiver that sends nothing, at once: the tests
// read alerts back from Alertmanager's API.
const alertmanagerConfig = `route:
  receiver: "null"
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: "null"
`

// alertmanagerReadyTimeout bounds Alertmanager's start, until /-/ready answers 200.
const alertmanagerReadyTimeout = 15 * time.Second

// StartAlertmanager runs a real Alertmanager on a free loopback port, as StartAlertmanagerOn
// does, and returns its base URL (http://host:port). Should the port be taken before Alertmanager
// binds it, it tries again on a new one, three attempts in all.
func StartAlertmanager(t testing.TB) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		url, p := startAlertmanager(t, FreeAddr(t))
		if p == nil {
			return url
		}
		if !p.portTaken() || attempt == bindAttempts {
			t.Fatalf("alertmanager exited before it was ready: %v (its log is shown below)", p.err)
		}
	}
}

// StartAlertmanagerOn runs a real Alertmanager listening on addr, with a throwaway configuration
// (one receiver that sends nothing, no grouping delay) and storage, clustering off, and returns
// its base URL once GET /-/ready answers 200 (within 15 s). The binary is Debian's
// prometheus-alertmanager (upstream calls it alertmanager), found on PATH; `make deps` installs
// it. Alertmanager is killed when the test ends, and its log is shown if the test failed.
func StartAlertmanagerOn(t testing.TB, addr string) string {
	t.Helper()
	url, p := startAlertmanager(t, addr)
	if p != nil {
		t.Fatalf("alertmanager exited before it was ready: %v (its log is shown below)", p.err)
	}
	return url
}

// startAlertmanager starts Alertmanager on addr and waits for it. It returns the base URL, or the
// process when it exited before it was ready.
func startAlertmanager(t testing.TB, addr string) (string, *process) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(alertmanagerConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(alertmanagerBinary(t), "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	p := startProcess(t, "alertmanager", cmd, &Buffer{})
	base := "http://" + addr
	err := p.waitReady(base+"/-/ready", nil, alertmanagerReadyTimeout)
	switch {
	case err == nil:
		return base, nil
	case p.hasExited():
		return "", p
	}
	t.Fatalf("%v (its log is shown below)", err)
	return "", nil
}

// alertmanagerBinary finds Alertmanager on PATH under its upstream or its Debian name.
func alertmanagerBinary(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"alertmanager", "prometheus-alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the alertmanager binary is not on PATH (looked for alertmanager and prometheus-alertmanager); " +
		"`make deps` installs it (Debian package prometheus-alertmanager)")
	return ""
}
