package notify

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

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
	base := harness.StartAlertmanager(t)
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
		"alertname": "SchemaDrift",
		"subject":   "orders-value",
		"kind":      "unknown_field",
		"severity":  "critical",
		"team":      "payments",
	}
	if diff := cmp.Diff(wantLabels, got[0].Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got[0].Annotations["runbook_url"] != drift.RunbookURL || got[0].Annotations["escalation"] != drift.Escalation {
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
	addr := harness.FreeAddr(t)
	n, _ := newNotifier(t, Options{
		Receivers:  Receivers{AlertmanagerURL: "http://" + addr},
		Backoff:    10 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond,
	})
	start(t, n)

	n.Raise(drift)
	waitFor(t, "failed deliveries while Alertmanager is down", func() bool { return deliveries(n, receiverAlertmanager, "error") >= 3 })
	base := harness.StartAlertmanagerOn(t, addr)
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
