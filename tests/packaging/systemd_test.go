package packaging

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/tests/harness"
)

// unitFile is the systemd unit the deployment guide installs.
const unitFile = "docs/operations/schemagate.service"

// parseUnit reads a systemd unit file into "Section.Key" → its values in order (a key may be
// given several times): comments and blank lines are dropped, a line ending in a backslash
// continues on the next.
func parseUnit(text string) (map[string][]string, error) {
	keys := map[string][]string{}
	section, line := "", ""
	for n, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if line == "" && (l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";")) {
			continue
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			line += cont + " "
			continue
		}
		line += l
		l, line = line, ""
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			section = strings.Trim(l, "[]")
			continue
		}
		key, value, ok := strings.Cut(l, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("line %d: %q is not KEY=VALUE in a section", n+1, l)
		}
		keys[section+"."+strings.TrimSpace(key)] = append(keys[section+"."+strings.TrimSpace(key)], strings.TrimSpace(value))
	}
	return keys, nil
}

// TestSystemdUnit reads the systemd unit and runs what it describes: a dedicated user, state in
// /var/lib/schemagate (StateDirectory) as the data directory and working directory, restart on
// failure, SIGHUP on reload, a stop timeout above server.shutdown_timeout's default and the
// hardening the deployment guide promises. The binary then starts with the unit's command line
// and environment (its paths mapped into temporary directories, the configuration the guide
// installs, the harness's ports), stores its database in the state directory, reloads on the
// unit's SIGHUP and still answers, and exits 0 on SIGTERM (so Restart=on-failure leaves a stop
// alone).
func TestSystemdUnit(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(repoRoot, unitFile))
	if err != nil {
		t.Fatal(err)
	}
	unit, err := parseUnit(string(text))
	if err != nil {
		t.Fatalf("%s: %v", unitFile, err)
	}
	first := func(key string) string {
		if v := unit[key]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	promised := []string{
		"Service.User", "Service.StateDirectory", "Service.WorkingDirectory", "Service.Environment",
		"Service.Restart", "Service.ExecReload", "Service.NoNewPrivileges", "Service.ProtectSystem",
		"Service.ProtectHome", "Service.PrivateTmp", "Install.WantedBy",
	}
	got := map[string]string{}
	for _, k := range promised {
		got[k] = first(k)
	}
	want := map[string]string{
		"Service.User":             "schemagate",
		"Service.StateDirectory":   "schemagate",
		"Service.WorkingDirectory": "/var/lib/schemagate",
		"Service.Environment":      "SCHEMAGATE_SERVER_DATA_DIR=/var/lib/schemagate",
		"Service.Restart":          "on-failure",
		"Service.ExecReload":       "/bin/kill -HUP $MAINPID",
		"Service.NoNewPrivileges":  "yes",
		"Service.ProtectSystem":    "strict",
		"Service.ProtectHome":      "yes",
		"Service.PrivateTmp":       "yes",
		"Install.WantedBy":         "multi-user.target",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", unitFile, diff)
	}
	stop, err := time.ParseDuration(first("Service.TimeoutStopSec"))
	if shutdown := gateway.DefaultConfig().Server.ShutdownTimeout; err != nil || stop <= shutdown {
		t.Errorf("TimeoutStopSec=%s (%v): want a duration above server.shutdown_timeout's default %s, so the drain is not killed",
			first("Service.TimeoutStopSec"), err, shutdown)
	}

	argv := strings.Fields(first("Service.ExecStart"))
	if len(argv) < 2 || argv[1] != "serve" {
		t.Fatalf("ExecStart=%s: want BINARY serve …", first("Service.ExecStart"))
	}
	bin := builtStatic(t)
	paths := map[string]string{
		argv[0]:                           bin,
		"/var/lib/schemagate":             t.TempDir(),
		"/etc/schemagate/schemagate.yaml": checkoutFile(t, "docs/operations/schemagate.yaml"),
	}
	stateDir := paths["/var/lib/schemagate"]
	srv := harness.Start(t, harness.Options{
		Name:    "systemd",
		Binary:  bin,
		DataDir: stateDir,
		Dir:     mapPaths(paths, first("Service.WorkingDirectory"))[0],
		Env:     mapPaths(paths, unit["Service.Environment"]...),
		Args:    mapPaths(paths, argv[2:]...),
	})
	if _, err := os.Stat(filepath.Join(stateDir, "schemagate.db")); err != nil {
		t.Errorf("the database is not in the unit's state directory: %v", err)
	}

	// systemctl reload: the unit's ExecReload sends SIGHUP to the main process.
	if err := syscall.Kill(srv.PID(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, "the reload on SIGHUP", 30*time.Second, func() string {
		if !strings.Contains(srv.Log(), "SIGHUP: reloading the configuration") {
			return "no reload in the log"
		}
		return ""
	})
	if strings.Contains(srv.Log(), "config reload failed") {
		t.Errorf("the reload failed:\n%s", srv.Log())
	}
	if status, body := srv.Do(t, "GET", "/readyz", "", ""); status != 200 {
		t.Errorf("/readyz after the reload: %d %s", status, body)
	}
	if err := srv.Stop(t); err != nil {
		t.Errorf("SIGTERM (systemctl stop): %v; want exit 0, or Restart=on-failure restarts a stopped service", err)
	}
}

// TestSystemdVerify runs systemd-analyze verify on the unit, with ExecStart naming the binary
// scripts/build-static.sh built (verify checks that it exists): any warning (an unknown key, a
// value systemd cannot parse, which it would ignore at run time) fails the test.
func TestSystemdVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze is not installed (Debian package systemd; make deps installs it): %v", err)
	}
	text, err := os.ReadFile(filepath.Join(repoRoot, unitFile))
	if err != nil {
		t.Fatal(err)
	}
	bin := builtStatic(t)
	unit := strings.ReplaceAll(string(text), "ExecStart=/usr/local/bin/schemagate ", "ExecStart="+bin+" ")
	if unit == string(text) {
		t.Fatalf("%s: no ExecStart=/usr/local/bin/schemagate to point at the test's build", unitFile)
	}
	path := filepath.Join(t.TempDir(), "schemagate.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(analyze, "verify", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() != 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitFile, err, &out)
	}
}
