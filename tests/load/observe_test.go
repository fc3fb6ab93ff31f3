package load_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// logRecorder is the gateway's slog handler: it counts warnings and errors and keeps the first
// few, so a run that logged an error fails and says what it was. It keeps nothing else, so it
// does not grow with the run.
type logRecorder struct {
	state *logState
	attrs []slog.Attr
}

type logState struct {
	mu       sync.Mutex
	warnings int
	errors   int
	first    []string
}

const maxRecordedLogs = 10

func newLogRecorder() *logRecorder { return &logRecorder{state: &logState{}} }

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s", a); return true })
	s := h.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Level >= slog.LevelError {
		s.errors++
	} else {
		s.warnings++
	}
	if len(s.first) < maxRecordedLogs {
		s.first = append(s.first, b.String())
	}
	return nil
}

func (h *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logRecorder{state: h.state, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

func (h *logRecorder) counts() (warnings, errors int, first []string) {
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	return h.state.warnings, h.state.errors, slices.Clone(h.state.first)
}

// fakeAlertmanager is a loopback Alertmanager API v2 that records which alerts it was sent, by
// alert name and subject.
type fakeAlertmanager struct {
	srv *httptest.Server

	mu     sync.Mutex
	alerts map[string]bool // "alertname subject"
	posts  int
}

func newFakeAlertmanager() *fakeAlertmanager {
	am := &fakeAlertmanager{alerts: map[string]bool{}}
	am.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
			http.NotFound(w, r)
			return
		}
		var alerts []struct{ Labels map[string]string }
		if err := json.NewDecoder(r.Body).Decode(&alerts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		am.mu.Lock()
		defer am.mu.Unlock()
		am.posts++
		for _, a := range alerts {
			am.alerts[a.Labels["alertname"]+" "+a.Labels["subject"]] = true
		}
	}))
	return am
}

// received reports whether alertname was sent for subject.
func (am *fakeAlertmanager) received(alertname, subject string) bool {
	am.mu.Lock()
	defer am.mu.Unlock()
	return am.alerts[alertname+" "+subject]
}

func (am *fakeAlertmanager) postCount() int {
	am.mu.Lock()
	defer am.mu.Unlock()
	return am.posts
}
