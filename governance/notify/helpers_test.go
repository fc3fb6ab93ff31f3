package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeReceiver is an httptest stand-in for Alertmanager, Slack or
// PagerDuty: it records the bodies it accepted and can be told how to answer
// each attempt.
type fakeReceiver struct {
	srv      *httptest.Server
	okStatus int

	mu       sync.Mutex
	attempts int
	accepted [][]byte
	paths    []string
	// answer returns the status for the nth attempt (1-based); 0 accepts.
	answer func(n int, body []byte) (status int, respBody string)
}

func newFakeReceiver(t *testing.T, okStatus int) *fakeReceiver {
	t.Helper()
	f := &fakeReceiver{okStatus: okStatus}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// failFirst makes the first n attempts answer status.
func (f *fakeReceiver) failFirst(n, status int) *fakeReceiver {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = func(i int, _ []byte) (int, string) {
		if i <= n {
			return status, "try again later"
		}
		return 0, ""
	}
	return f
}

func (f *fakeReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.attempts++
	n, answer := f.attempts, f.answer
	f.mu.Unlock()
	if answer != nil {
		if status, msg := answer(n, body); status != 0 {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, msg)
			return
		}
	}
	f.mu.Lock()
	f.accepted = append(f.accepted, body)
	f.paths = append(f.paths, r.URL.Path)
	f.mu.Unlock()
	w.WriteHeader(f.okStatus)
	_, _ = io.WriteString(w, "ok")
}

func (f *fakeReceiver) bodies() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.accepted...)
}

func (f *fakeReceiver) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.accepted)
}

// decoded returns accepted body i decoded into plain JSON values, so that a
// comparison catches extra and missing fields alike.
func (f *fakeReceiver) decoded(t *testing.T, i int) any {
	t.Helper()
	b := f.bodies()
	if i >= len(b) {
		t.Fatalf("receiver got %d bodies, want at least %d", len(b), i+1)
	}
	var v any
	if err := json.Unmarshal(b[i], &v); err != nil {
		t.Fatalf("body %d is not JSON: %v\n%s", i, err, b[i])
	}
	return v
}

// receivers is a full set of fakes plus the Options pointing at them.
type receivers struct {
	am, slack, pd *fakeReceiver
}

const (
	testSlackPath  = "/services/T0TESTTEAM/B0TESTHOOK/slackSecretToken0123456789"
	testRoutingKey = "pdRoutingKeySecret0123456789abcd"
)

func newReceivers(t *testing.T) *receivers {
	return &receivers{
		am:    newFakeReceiver(t, http.StatusOK),
		slack: newFakeReceiver(t, http.StatusOK),
		pd:    newFakeReceiver(t, http.StatusAccepted),
	}
}

func (r *receivers) options(clk *fakeClock) Options {
	return Options{
		Receivers: Receivers{
			AlertmanagerURL:     r.am.srv.URL,
			SlackWebhookURL:     r.slack.srv.URL + testSlackPath,
			PagerDutyRoutingKey: testRoutingKey,
			PagerDutyURL:        r.pd.srv.URL + "/v2/enqueue",
			// Every alert, so that tests of delivery see them on every receiver; the
			// default (critical) is TestPagerDutyMinSeverity's.
			PagerDutyMinSeverity: SeverityInfo,
		},
		ResendInterval: time.Hour, // tests of resends set it
		Backoff:        time.Millisecond,
		MaxBackoff:     10 * time.Millisecond,
		Clock:          clk.Now,
		sweepEvery:     2 * time.Millisecond,
	}
}

func (r *receivers) all() map[string]*fakeReceiver {
	return map[string]*fakeReceiver{receiverAlertmanager: r.am, receiverSlack: r.slack, receiverPagerDuty: r.pd}
}

// newNotifier builds a Notifier with its own registry and a logger writing to
// the test's output.
func newNotifier(t *testing.T, opts Options) (*Notifier, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	opts.Registerer = reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n, reg
}

// start runs n until the returned stop is called (or the test ends) and
// returns Run's result from stop.
func start(t *testing.T, n *Notifier) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("Run did not return")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func deliveries(n *Notifier, receiver, result string) float64 {
	return testutil.ToFloat64(n.metrics.deliveries.WithLabelValues(receiver, result))
}

var slackSubject = regexp.MustCompile(`subject: (\S+)`)

// summarize names each accepted event as "trigger NAME/SUBJECT" or
// "resolve NAME/SUBJECT" whatever the receiver, so sequences can be compared.
func summarize(t *testing.T, receiver string, body []byte) string {
	t.Helper()
	switch receiver {
	case receiverAlertmanager:
		var alerts []amAlert
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Fatalf("alertmanager body: %v", err)
		}
		var out bytes.Buffer
		for i, a := range alerts {
			if i > 0 {
				out.WriteString(", ")
			}
			action := "trigger"
			if !a.EndsAt.IsZero() {
				action = "resolve"
			}
			fmt.Fprintf(&out, "%s %s/%s", action, a.Labels["alertname"], a.Labels["subject"])
		}
		return out.String()
	case receiverSlack:
		var m slackMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("slack body: %v", err)
		}
		action := "trigger"
		if bytes.Contains([]byte(m.Text), []byte("RESOLVED")) {
			action = "resolve"
		}
		name := regexp.MustCompile(`\] (\w+)\n`).FindStringSubmatch(m.Text)
		subj := slackSubject.FindStringSubmatch(m.Text)
		if name == nil || subj == nil {
			t.Fatalf("slack text without name or subject: %q", m.Text)
		}
		return action + " " + name[1] + "/" + subj[1]
	default:
		var e pdEvent
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("pagerduty body: %v", err)
		}
		var name, subject string
		if _, err := fmt.Sscanf(regexp.MustCompile(`/`).ReplaceAllString(e.DedupKey, " "), "schemagate %s %s", &name, &subject); err != nil {
			t.Fatalf("dedup key %q: %v", e.DedupKey, err)
		}
		return e.EventAction + " " + name + "/" + subject
	}
}

func summaries(t *testing.T, receiver string, f *fakeReceiver) []string {
	t.Helper()
	var out []string
	for _, b := range f.bodies() {
		out = append(out, summarize(t, receiver, b))
	}
	return out
}
