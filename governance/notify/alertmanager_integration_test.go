package notify

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// alertmanagerBinary finds Alertmanager: upstream calls it alertmanager,
// Debian's package prometheus-alertmanager.
func alertmanagerBinary(t *testing.T) string {
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

const amConfig = `route:
  receiver: "null"
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: "null"
`

// startAlertmanager runs a throwaway Alertmanager on a free loopback port and
// returns its base URL once /-/ready answers.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	return startAlertmanagerOn(t, freeAddr(t))
}

// freeAddr returns a loopback address nobody listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startAlertmanagerOn runs a throwaway Alertmanager listening on addr and returns its base URL
// once /-/ready answers.
func startAlertmanagerOn(t *testing.T, addr string) string {
	t.Helper()
	bin := alertmanagerBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(amConfig), 0o600); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", out.String())
		}
	})

	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("alertmanager exited early: %v\n%s", err, out.String())
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready at %s after 10s: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gettableAlert is the part of Alertmanager's GET /api/v2/alerts we check.
type gettableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

func getAlerts(t *testing.T, base string) []gettableAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts?filter=" + `alertname%3D"SchemaDrift"`)
	if err != nil {
		t.Fatalf("GET alerts: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET alerts: HTTP %d", resp.StatusCode)
	}
	var alerts []gettableAlert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatalf("decoding alerts: %v", err)
	}
	return alerts
}

func TestAlertmanagerIntegration(t *testing.T) {
	base := startAlertmanager(t)
	n, _ := newNotifier(t, Options{
		Receivers:  Receivers{AlertmanagerURL: base},
		Backoff:    10 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond,
	})
	start(t, n)

	n.Raise(drift)
	var got []gettableAlert
	waitFor(t, "the alert in Alertmanager", func() bool {
		got = getAlerts(t, base)
		return len(got) == 1
	})
	wantLabels := map[string]string{
		"alertname":  "SchemaDrift",
		"subject":    "orders-value",
		"kind":       "unknown_field",
		"severity":   "critical",
		"team":       "payments",
		"escalation": drift.Escalation,
	}
	if diff := cmp.Diff(wantLabels, got[0].Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got[0].Annotations["runbook_url"] != drift.RunbookURL || got[0].Labels["escalation"] != drift.Escalation {
		t.Errorf("annotations = %v", got[0].Annotations)
	}
	if got[0].Status.State != "active" {
		t.Errorf("state = %q, want active", got[0].Status.State)
	}
	if d := time.Until(got[0].EndsAt); d <= 0 {
		t.Errorf("a firing alert already ends at %s", got[0].EndsAt)
	}

	n.Resolve(drift.Name, drift.Subject, drift.Kind)
	waitFor(t, "the alert to be resolved", func() bool {
		for _, a := range getAlerts(t, base) {
			if a.EndsAt.After(time.Now()) {
				return false
			}
		}
		return true
	})
	// Alertmanager has the resolve a moment before the worker counts it.
	waitFor(t, "two ok deliveries", func() bool { return deliveries(n, receiverAlertmanager, "ok") == 2 })
	if errs := deliveries(n, receiverAlertmanager, "error"); errs != 0 {
		t.Errorf("error deliveries = %v, want 0", errs)
	}
}

// TestAlertmanagerOutage: an alert raised while Alertmanager is down is retried until
// Alertmanager starts, then delivered once; nothing is dropped.
func TestAlertmanagerOutage(t *testing.T) {
	addr := freeAddr(t)
	n, _ := newNotifier(t, Options{
		Receivers:  Receivers{AlertmanagerURL: "http://" + addr},
		Backoff:    10 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond,
	})
	start(t, n)

	n.Raise(drift)
	waitFor(t, "failed deliveries while Alertmanager is down", func() bool { return deliveries(n, receiverAlertmanager, "error") >= 3 })
	base := startAlertmanagerOn(t, addr)
	var got []gettableAlert
	waitFor(t, "the alert in Alertmanager once it is up", func() bool {
		got = getAlerts(t, base)
		return len(got) == 1
	})
	if got[0].Labels["subject"] != drift.Subject || got[0].Status.State != "active" {
		t.Errorf("alert after the outage = %+v; want the active drift alert of %s", got[0], drift.Subject)
	}
	waitFor(t, "one ok delivery", func() bool { return deliveries(n, receiverAlertmanager, "ok") == 1 })
	if dropped := deliveries(n, receiverAlertmanager, "dropped"); dropped != 0 {
		t.Errorf("dropped deliveries = %v, want 0", dropped)
	}
}
