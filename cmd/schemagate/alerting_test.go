package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

// startAlertmanager runs Debian's Alertmanager on a free loopback port with a throwaway
// config and storage, and returns its base URL once it is ready.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	var bin string
	for _, name := range []string{"alertmanager", "prometheus-alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("alertmanager is not installed: `make deps` installs Debian's prometheus-alertmanager")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: \"null\"\n  group_wait: 0s\nreceivers:\n  - name: \"null\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := harness.FreeAddr(t)
	var out bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return "http://" + addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready:\n%s", out.String())
		}
	}
}

type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// waitForAlert polls Alertmanager until an active alert has every label in want.
func waitForAlert(t *testing.T, am string, want map[string]string) amAlert {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(am + "/api/v2/alerts?active=true")
		if err != nil {
			t.Fatal(err)
		}
		var alerts []amAlert
		err = json.NewDecoder(resp.Body).Decode(&alerts)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			match := true
			for k, v := range want {
				match = match && a.Labels[k] == v
			}
			if match {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert with labels %v in Alertmanager; it has %v", want, alerts)
		}
	}
}

// TestAlertsReachAlertmanager: the drill (schemagate drift inject) and real drift on a strict
// subject reach a real Alertmanager through the gateway's own notifier, labelled with the
// subject's owning team.
func TestAlertsReachAlertmanager(t *testing.T) {
	am := startAlertmanager(t)
	s := startServer(t, t.TempDir(), "--config", writeConfig(t, fmt.Sprintf("alerting:\n  alertmanager_url: %s\n", am)))
	if code, body := postJSON(t, "http://"+s.httpAddr+"/subjects/pay-value/versions",
		mustJSON(map[string]string{"schema": `{"type":"record","name":"Pay","fields":[{"name":"amount","type":"long"}]}`})); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if out, errOut, exit := cli(t, nil, "subject", "owner", "pay-value", "--team", "payments", "--escalation", "call #payments-oncall", "--server", s.grpcAddr); exit != 0 {
		t.Fatalf("subject owner: %d %q %q", exit, out, errOut)
	}
	out, errOut, exit := cli(t, nil, "drift", "inject", "pay-value", "--kind", "missing_field", "--server", s.grpcAddr)
	if exit != 0 || !strings.Contains(out, "SchemaDriftDrill (warning)") {
		t.Fatalf("drift inject: %d %q %q", exit, out, errOut)
	}
	drill := waitForAlert(t, am, map[string]string{"alertname": "SchemaDriftDrill", "subject": "pay-value", "drill": "true",
		"kind": "missing_field", "severity": "warning", "team": "payments"})
	if !strings.Contains(drill.Annotations["summary"], "DRILL") {
		t.Errorf("drill alert summary %q does not say DRILL", drill.Annotations["summary"])
	}

	// Break glass to strict, then a real finding pages.
	req, _ := http.NewRequest("PUT", "http://"+s.httpAddr+"/v1/subjects/pay-value/validation-mode",
		strings.NewReader(`{"mode":"VALIDATION_MODE_STRICT","ticket":"CHG-5","justification":"alerting test"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("override to strict: %v %v", resp, err)
	}
	resp.Body.Close()
	if code, body := postJSON(t, "http://"+s.httpAddr+"/v1/subjects/pay-value/validate", `{"json":{"amount":"lots"}}`); code != 422 {
		t.Fatalf("invalid payload on a strict subject = %d %s; want 422", code, body)
	}
	waitForAlert(t, am, map[string]string{"alertname": "SchemaDrift", "subject": "pay-value", "kind": "type_mismatch",
		"severity": "critical", "team": "payments"})
	if err := s.stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "schemagate.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
