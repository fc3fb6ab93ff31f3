package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func alertFor(subject, kind string) Alert {
	return Alert{Name: "SchemaDrift", Subject: subject, Kind: kind, Severity: "critical", Team: "payments", Summary: "drift"}
}

func TestRaiseDeduplicates(t *testing.T) {
	r := newReceivers(t)
	n, _ := newNotifier(t, r.options(newClock()))
	start(t, n)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 100 {
				n.Raise(alertFor("orders-value", "unknown_field"))
			}
		})
	}
	wg.Wait()
	// A different kind is a different alert. Queues are FIFO, so had the
	// thousand raises paged more than once, those pages would come first.
	n.Raise(alertFor("orders-value", "type_mismatch"))
	want := []string{"trigger SchemaDrift/orders-value", "trigger SchemaDrift/orders-value"}
	for name, f := range r.all() {
		waitFor(t, name+" deliveries", func() bool { return f.count() >= 2 })
		if diff := cmp.Diff(want, summaries(t, name, f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	kinds := []string{
		r.am.decoded(t, 0).([]any)[0].(map[string]any)["labels"].(map[string]any)["kind"].(string),
		r.am.decoded(t, 1).([]any)[0].(map[string]any)["labels"].(map[string]any)["kind"].(string),
	}
	if diff := cmp.Diff([]string{"unknown_field", "type_mismatch"}, kinds); diff != "" {
		t.Errorf("alertmanager kinds (-want +got):\n%s", diff)
	}
	// A drill of the same alert is yet another alert.
	d := alertFor("orders-value", "unknown_field")
	d.Drill = true
	n.Raise(d)
	waitFor(t, "drill trigger", func() bool { return r.pd.count() == 3 })
}

func TestExpiryResolves(t *testing.T) {
	r := newReceivers(t)
	clk := newClock()
	opts := r.options(clk)
	opts.ResolveAfter = 5 * time.Minute
	opts.sweepEvery = time.Hour // the test sweeps itself, deterministically
	n, _ := newNotifier(t, opts)
	start(t, n)

	n.Raise(alertFor("orders-value", "unknown_field"))
	clk.Advance(4 * time.Minute)
	n.Raise(alertFor("orders-value", "unknown_field")) // refresh: seen at +4m
	clk.Advance(2 * time.Minute)
	n.sweep(clk.Now()) // +6m: only 2m since last seen, stays active
	n.Raise(alertFor("marker", ""))
	for name, f := range r.all() {
		waitFor(t, name+" marker", func() bool { return f.count() == 2 })
	}
	clk.Advance(3 * time.Minute)
	n.sweep(clk.Now()) // +9m: 5m since last seen, resolved; the marker (3m) is not
	for name, f := range r.all() {
		waitFor(t, name+" resolve", func() bool { return f.count() == 3 })
		want := []string{
			"trigger SchemaDrift/orders-value",
			"trigger SchemaDrift/marker",
			"resolve SchemaDrift/orders-value",
		}
		if diff := cmp.Diff(want, summaries(t, name, f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	resolve := r.am.decoded(t, 2).([]any)[0].(map[string]any)
	if got, want := resolve["endsAt"], "2026-03-01T10:09:00Z"; got != want {
		t.Errorf("alertmanager endsAt = %v, want %v", got, want)
	}
	if got := r.pd.decoded(t, 2).(map[string]any)["event_action"]; got != "resolve" {
		t.Errorf("pagerduty event_action = %v, want resolve", got)
	}
	if got := r.slack.decoded(t, 2).(map[string]any)["text"].(string); !strings.Contains(got, "RESOLVED") {
		t.Errorf("slack text = %q, want a RESOLVED message", got)
	}

	// Raised again after resolving: a new trigger.
	n.Raise(alertFor("orders-value", "unknown_field"))
	waitFor(t, "re-trigger", func() bool { return r.pd.count() == 4 })
}

// TestRunResolvesOnItsOwn checks Run's own sweeping, without the test's help.
func TestRunResolvesOnItsOwn(t *testing.T) {
	r := newReceivers(t)
	clk := newClock()
	n, _ := newNotifier(t, r.options(clk))
	start(t, n)
	n.Raise(alertFor("orders-value", "unknown_field"))
	waitFor(t, "trigger", func() bool { return r.pd.count() == 1 })
	clk.Advance(5 * time.Minute) // the default ResolveAfter
	waitFor(t, "resolve", func() bool { return r.pd.count() == 2 })
}

func TestResendToAlertmanager(t *testing.T) {
	r := newReceivers(t)
	clk := newClock()
	opts := r.options(clk)
	opts.ResendInterval = time.Minute
	opts.ResolveAfter = time.Hour
	opts.sweepEvery = time.Hour
	n, _ := newNotifier(t, opts)
	start(t, n)

	n.Raise(alertFor("a", "unknown_field"))
	n.Raise(alertFor("b", "unknown_field"))
	waitFor(t, "triggers", func() bool { return r.am.count() == 2 })
	clk.Advance(59 * time.Second)
	n.sweep(clk.Now()) // not due
	clk.Advance(time.Second)
	n.sweep(clk.Now()) // due: one request re-sending both
	n.Resolve("SchemaDrift", "b", "unknown_field")
	waitFor(t, "resend and resolve", func() bool { return r.am.count() == 4 })
	want := []string{
		"trigger SchemaDrift/a",
		"trigger SchemaDrift/b",
		"trigger SchemaDrift/a, trigger SchemaDrift/b",
		"resolve SchemaDrift/b",
	}
	if diff := cmp.Diff(want, summaries(t, receiverAlertmanager, r.am)); diff != "" {
		t.Errorf("alertmanager (-want +got):\n%s", diff)
	}
	resent := r.am.decoded(t, 2).([]any)[0].(map[string]any)
	if got := resent["startsAt"]; got != "2026-03-01T10:00:00Z" {
		t.Errorf("re-sent startsAt = %v, want the original", got)
	}
	// Slack and PagerDuty are not paged again.
	waitFor(t, "pagerduty resolve", func() bool { return r.pd.count() == 3 })
	waitFor(t, "slack resolve", func() bool { return r.slack.count() == 3 })
	wantSlack := []string{"trigger SchemaDrift/a", "trigger SchemaDrift/b", "resolve SchemaDrift/b"}
	if diff := cmp.Diff(wantSlack, summaries(t, receiverSlack, r.slack)); diff != "" {
		t.Errorf("slack (-want +got):\n%s", diff)
	}
}

func TestRetryDeliversExactlyOnceInOrder(t *testing.T) {
	r := newReceivers(t)
	r.am.failFirst(3, http.StatusInternalServerError)
	r.slack.failFirst(2, http.StatusTooManyRequests)

	// PagerDuty is not listening yet: connection refused until it starts.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	clk := newClock()
	opts := r.options(clk)
	opts.PagerDutyURL = "http://" + addr + "/v2/enqueue"
	n, _ := newNotifier(t, opts)
	start(t, n)

	n.Raise(alertFor("a", "unknown_field"))
	n.Raise(alertFor("b", "unknown_field"))
	n.Raise(alertFor("c", "unknown_field"))
	n.Resolve("SchemaDrift", "b", "unknown_field")
	n.Raise(alertFor("d", "unknown_field"))

	waitFor(t, "pagerduty failures", func() bool { return deliveries(n, receiverPagerDuty, "error") >= 2 })
	pd := httptest.NewUnstartedServer(http.HandlerFunc(r.pd.serve))
	for i := 0; ; i++ {
		if pd.Listener, err = net.Listen("tcp", addr); err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("re-listening on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pd.Start()
	t.Cleanup(pd.Close)

	want := []string{
		"trigger SchemaDrift/a",
		"trigger SchemaDrift/b",
		"trigger SchemaDrift/c",
		"resolve SchemaDrift/b",
		"trigger SchemaDrift/d",
	}
	for name, f := range r.all() {
		waitFor(t, name+" deliveries", func() bool { return f.count() == len(want) })
		if diff := cmp.Diff(want, summaries(t, name, f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
		// The receiver has the last event a moment before the worker counts it.
		waitFor(t, name+" ok count", func() bool { return deliveries(n, name, "ok") == 5 })
		if got := deliveries(n, name, "dropped"); got != 0 {
			t.Errorf("%s dropped = %v, want 0", name, got)
		}
	}
	if got := deliveries(n, receiverAlertmanager, "error"); got != 3 {
		t.Errorf("alertmanager error = %v, want 3", got)
	}
	if got := deliveries(n, receiverSlack, "error"); got != 2 {
		t.Errorf("slack error = %v, want 2", got)
	}
}

func TestPermanentErrorNotRetried(t *testing.T) {
	r := newReceivers(t)
	r.pd.failFirst(1, http.StatusBadRequest)
	n, _ := newNotifier(t, r.options(newClock()))
	start(t, n)
	n.Raise(alertFor("a", "unknown_field"))
	n.Raise(alertFor("b", "unknown_field"))
	waitFor(t, "second event", func() bool { return r.pd.count() == 1 })
	if diff := cmp.Diff([]string{"trigger SchemaDrift/b"}, summaries(t, receiverPagerDuty, r.pd)); diff != "" {
		t.Errorf("pagerduty (-want +got):\n%s", diff)
	}
	r.pd.mu.Lock()
	attempts := r.pd.attempts
	r.pd.mu.Unlock()
	if attempts != 2 {
		t.Errorf("pagerduty saw %d attempts, want 2 (the 400 is not retried)", attempts)
	}
	if got := deliveries(n, receiverPagerDuty, "error"); got != 1 {
		t.Errorf("pagerduty error = %v, want 1", got)
	}
}

func TestQueueDropsOldest(t *testing.T) {
	r := newReceivers(t)
	for _, f := range r.all() {
		f.failFirst(2, http.StatusServiceUnavailable)
	}
	opts := r.options(newClock())
	opts.QueueSize = 3
	n, _ := newNotifier(t, opts)
	// Nothing is delivering yet, so the queues overflow.
	for i := range 5 {
		n.Raise(alertFor(fmt.Sprintf("s%d", i), "unknown_field"))
	}
	for name := range r.all() {
		if got := deliveries(n, name, "dropped"); got != 2 {
			t.Errorf("%s dropped = %v, want 2", name, got)
		}
	}
	start(t, n)
	want := []string{"trigger SchemaDrift/s2", "trigger SchemaDrift/s3", "trigger SchemaDrift/s4"}
	for name, f := range r.all() {
		waitFor(t, name+" deliveries", func() bool { return f.count() == 3 })
		if diff := cmp.Diff(want, summaries(t, name, f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// TestQueueKeepsEventInFlight: the event whose request is in flight is not
// the one dropped; the oldest waiting one is.
func TestQueueKeepsEventInFlight(t *testing.T) {
	inFlight := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	am := newFakeReceiver(t, http.StatusOK)
	am.answer = func(n int, _ []byte) (int, string) {
		if n == 1 {
			once.Do(func() { close(inFlight) })
			<-release
			return http.StatusServiceUnavailable, "down"
		}
		return 0, ""
	}
	clk := newClock()
	n, _ := newNotifier(t, Options{
		Receivers:      Receivers{AlertmanagerURL: am.srv.URL},
		QueueSize:      3,
		Backoff:        time.Millisecond,
		Clock:          clk.Now,
		ResendInterval: time.Hour,
	})
	start(t, n)
	n.Raise(alertFor("s0", ""))
	<-inFlight
	for i := 1; i <= 5; i++ {
		n.Raise(alertFor(fmt.Sprintf("s%d", i), ""))
	}
	close(release)
	want := []string{"trigger SchemaDrift/s0", "trigger SchemaDrift/s3", "trigger SchemaDrift/s4", "trigger SchemaDrift/s5"}
	waitFor(t, "deliveries", func() bool { return am.count() == len(want) })
	if diff := cmp.Diff(want, summaries(t, receiverAlertmanager, am)); diff != "" {
		t.Errorf("alertmanager (-want +got):\n%s", diff)
	}
	if got := deliveries(n, receiverAlertmanager, "dropped"); got != 2 {
		t.Errorf("dropped = %v, want 2", got)
	}
}

func TestShutdownFlushes(t *testing.T) {
	r := newReceivers(t)
	for _, f := range r.all() {
		f.answer = func(int, []byte) (int, string) { time.Sleep(2 * time.Millisecond); return 0, "" }
	}
	n, _ := newNotifier(t, r.options(newClock()))
	stop := start(t, n)
	const events = 25
	for i := range events {
		n.Raise(alertFor(fmt.Sprintf("s%02d", i), "unknown_field"))
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for name, f := range r.all() {
		if got := f.count(); got != events {
			t.Errorf("%s got %d events before Run returned, want %d", name, got, events)
		}
		if got := deliveries(n, name, "dropped"); got != 0 {
			t.Errorf("%s dropped = %v, want 0", name, got)
		}
	}
}

func TestShutdownFlushTimeout(t *testing.T) {
	am := newFakeReceiver(t, http.StatusOK).failFirst(1<<30, http.StatusBadGateway)
	n, _ := newNotifier(t, Options{
		Receivers:      Receivers{AlertmanagerURL: am.srv.URL},
		Backoff:        time.Millisecond,
		FlushTimeout:   50 * time.Millisecond,
		ResendInterval: time.Hour,
	})
	stop := start(t, n)
	n.Raise(alertFor("a", ""))
	n.Raise(alertFor("b", ""))
	began := time.Now()
	err := stop()
	if err == nil || !strings.Contains(err.Error(), "2 alert events undelivered") {
		t.Fatalf("Run = %v, want an error counting 2 undelivered events", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Run took %s to give up, want about the 50ms flush timeout", d)
	}
	if got := deliveries(n, receiverAlertmanager, "dropped"); got != 2 {
		t.Errorf("dropped = %v, want 2", got)
	}
}

func TestMetricsExposition(t *testing.T) {
	r := newReceivers(t)
	r.pd.failFirst(1, http.StatusBadRequest)
	n, reg := newNotifier(t, r.options(newClock()))
	start(t, n)
	n.Raise(alertFor("a", ""))
	for name := range r.all() {
		waitFor(t, name+" attempt", func() bool {
			return deliveries(n, name, "ok")+deliveries(n, name, "error") == 1
		})
	}
	const want = `
# HELP schemagate_alert_deliveries_total Alert deliveries by receiver and result: ok (event delivered), error (failed attempt), dropped (event evicted from a full queue or undelivered at shutdown).
# TYPE schemagate_alert_deliveries_total counter
schemagate_alert_deliveries_total{receiver="alertmanager",result="dropped"} 0
schemagate_alert_deliveries_total{receiver="alertmanager",result="error"} 0
schemagate_alert_deliveries_total{receiver="alertmanager",result="ok"} 1
schemagate_alert_deliveries_total{receiver="pagerduty",result="dropped"} 0
schemagate_alert_deliveries_total{receiver="pagerduty",result="error"} 1
schemagate_alert_deliveries_total{receiver="pagerduty",result="ok"} 0
schemagate_alert_deliveries_total{receiver="slack",result="dropped"} 0
schemagate_alert_deliveries_total{receiver="slack",result="error"} 0
schemagate_alert_deliveries_total{receiver="slack",result="ok"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "schemagate_alert_deliveries_total"); err != nil {
		t.Error(err)
	}
}

func TestMetricsRegisterTwiceFails(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	opts := Options{Receivers: Receivers{AlertmanagerURL: "http://127.0.0.1:9093"}, Registerer: reg}
	if _, err := New(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := New(opts); err == nil {
		t.Error("second New on the same registry succeeded, want a registration error")
	}
}

func TestDisabled(t *testing.T) {
	n, _ := newNotifier(t, Options{})
	if n.Enabled() {
		t.Fatal("Enabled() = true with no receiver configured")
	}
	n.Raise(alertFor("a", "")) // no-op
	n.Resolve("SchemaDrift", "a", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestRunTwice(t *testing.T) {
	r := newReceivers(t)
	n, _ := newNotifier(t, r.options(newClock()))
	start(t, n)
	waitFor(t, "Run to start", n.running.Load)
	if err := n.Run(context.Background()); err == nil {
		t.Fatal("second Run returned nil, want an error")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]Options{
		"alertmanager URL":   {Receivers: Receivers{AlertmanagerURL: "127.0.0.1:9093"}},
		"slack URL":          {Receivers: Receivers{SlackWebhookURL: "ftp://hooks.example/services/x"}},
		"pagerduty URL":      {Receivers: Receivers{PagerDutyRoutingKey: testRoutingKey, PagerDutyURL: "::"}},
		"negative backoff":   {Backoff: -time.Second},
		"negative queue":     {QueueSize: -1},
		"negative resolve":   {ResolveAfter: -time.Minute},
		"negative flush":     {FlushTimeout: -time.Second},
		"negative resending": {ResendInterval: -time.Second},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}

func TestJitterAndBackoff(t *testing.T) {
	var d time.Duration
	var got []time.Duration
	for range 8 {
		d = nextBackoff(d, time.Second, time.Minute)
		got = append(got, d)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for i := range want {
		want[i] *= time.Second
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	for range 1000 {
		if j := jitter(time.Second); j < 500*time.Millisecond || j > time.Second {
			t.Fatalf("jitter(1s) = %s, want within [500ms, 1s]", j)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	err := postJSON(context.Background(), http.DefaultClient, redactor{}, "slack", srv.URL, []byte(`{}`))
	de := asDeliveryError(err)
	if !de.retryable || de.retryAfter != 7*time.Second || de.status != http.StatusTooManyRequests {
		t.Errorf("429 with Retry-After: %+v, want retryable after 7s", de)
	}
}

func BenchmarkRaiseActive(b *testing.B) {
	am := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer am.Close()
	n, err := New(Options{Receivers: Receivers{AlertmanagerURL: am.URL}})
	if err != nil {
		b.Fatal(err)
	}
	a := alertFor("orders-value", "unknown_field")
	n.Raise(a)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Raise(a)
		}
	})
}

// TestPagerDutyMinSeverity: by default only critical alerts page (drift on a strict subject);
// a warning (drift on a canary subject) goes to Alertmanager and Slack only. With
// pagerduty_min_severity warning, PagerDuty gets both. Each receiver delivers in order, so once
// PagerDuty has the critical alert raised second, the warning raised first was sent or never
// will be.
func TestPagerDutyMinSeverity(t *testing.T) {
	canary := Alert{Name: "SchemaDriftCanary", Subject: "canary-value", Kind: "unknown_field", Severity: SeverityWarning, Summary: "drift"}
	strict := Alert{Name: "SchemaDrift", Subject: "strict-value", Kind: "unknown_field", Severity: SeverityCritical, Summary: "drift"}
	both := []string{"trigger SchemaDriftCanary/canary-value", "trigger SchemaDrift/strict-value"}
	tests := []struct {
		name   string
		min    Severity
		wantPD []string
	}{
		{"default critical", "", []string{"trigger SchemaDrift/strict-value"}},
		{"warning", SeverityWarning, both},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceivers(t)
			opts := r.options(newClock())
			opts.PagerDutyMinSeverity = tt.min
			n, _ := newNotifier(t, opts)
			start(t, n)
			n.Raise(canary)
			n.Raise(strict)
			waitFor(t, "pagerduty", func() bool { return r.pd.count() == len(tt.wantPD) })
			if diff := cmp.Diff(tt.wantPD, summaries(t, receiverPagerDuty, r.pd)); diff != "" {
				t.Errorf("pagerduty (-want +got):\n%s", diff)
			}
			for name, f := range map[string]*fakeReceiver{receiverAlertmanager: r.am, receiverSlack: r.slack} {
				waitFor(t, name, func() bool { return f.count() == 2 })
				if diff := cmp.Diff(both, summaries(t, name, f)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
			}
		})
	}
	if _, err := New(Options{Receivers: Receivers{PagerDutyMinSeverity: "loud"}}); !errors.Is(err, ErrUnknownSeverity) {
		t.Errorf("New with pagerduty_min_severity loud: %v; want ErrUnknownSeverity", err)
	}
}
