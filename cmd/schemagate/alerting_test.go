package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

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
	am := harness.StartAlertmanager(t)
	s := harness.Start(t, harness.Options{ConfigFile: writeConfig(t, fmt.Sprintf("alerting:\n  alertmanager_url: %s\n", am))})
	if code, body := postJSON(t, s.URL()+"/subjects/pay-value/versions",
		mustJSON(map[string]string{"schema": `{"type":"record","name":"Pay","fields":[{"name":"amount","type":"long"}]}`})); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if out, errOut, exit := harness.Run(t, nil, "subject", "owner", "pay-value", "--team", "payments", "--escalation", "call #payments-oncall", "--server", s.GRPCAddr); exit != 0 {
		t.Fatalf("subject owner: %d %q %q", exit, out, errOut)
	}
	out, errOut, exit := harness.Run(t, nil, "drift", "inject", "pay-value", "--kind", "missing_field", "--server", s.GRPCAddr)
	if exit != 0 || !strings.Contains(out, "SchemaDriftDrill (warning)") {
		t.Fatalf("drift inject: %d %q %q", exit, out, errOut)
	}
	drill := waitForAlert(t, am, map[string]string{"alertname": "SchemaDriftDrill", "subject": "pay-value", "drill": "true",
		"kind": "missing_field", "severity": "warning", "team": "payments"})
	if !strings.Contains(drill.Annotations["summary"], "DRILL") {
		t.Errorf("drill alert summary %q does not say DRILL", drill.Annotations["summary"])
	}

	// Break glass to strict, then a real finding pages.
	req, _ := http.NewRequest("PUT", s.URL()+"/v1/subjects/pay-value/validation-mode",
		strings.NewReader(`{"mode":"VALIDATION_MODE_STRICT","ticket":"CHG-5","justification":"alerting test"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("override to strict: %v %v", resp, err)
	}
	resp.Body.Close()
	if code, body := postJSON(t, s.URL()+"/v1/subjects/pay-value/validate", `{"json":{"amount":"lots"}}`); code != 422 {
		t.Fatalf("invalid payload on a strict subject = %d %s; want 422", code, body)
	}
	waitForAlert(t, am, map[string]string{"alertname": "SchemaDrift", "subject": "pay-value", "kind": "type_mismatch",
		"severity": "critical", "team": "payments"})
	if err := s.Stop(t); err != nil {
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
