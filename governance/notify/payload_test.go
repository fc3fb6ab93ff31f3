package notify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var drift = Alert{
	Name:        "SchemaDrift",
	Subject:     "orders-value",
	Kind:        "unknown_field",
	Severity:    "critical",
	Team:        "payments",
	Escalation:  "#payments-oncall, then Ana",
	Summary:     "3 payloads with unknown field /extra",
	Description: "Strict subject rejected payloads & flagged <3> findings",
	RunbookURL:  "https://runbook.example/schemagate?s=1&k=2#schema-drift",
}

// drill has no kind, team or runbook: the optional parts must disappear.
var drill = Alert{
	Name:     "SchemaDriftDrill",
	Subject:  "orders-value",
	Severity: "warning",
	Drill:    true,
	Summary:  "staged drill",
}

// raiseAndResolve raises a at t0, waits until every receiver has it,
// resolves it two minutes later (Resolve, or expiry for drills) and waits
// for the resolve.
func raiseAndResolve(t *testing.T, a Alert) *receivers {
	t.Helper()
	r := newReceivers(t)
	clk := newClock()
	opts := r.options(clk)
	opts.GeneratorURL = "http://schemagate.example/ui/"
	opts.ResolveAfter = 2 * time.Minute
	n, _ := newNotifier(t, opts)
	start(t, n)
	n.Raise(a)
	for name, f := range r.all() {
		waitFor(t, name+" trigger", func() bool { return f.count() == 1 })
	}
	clk.Advance(2 * time.Minute)
	if !a.Drill {
		n.Resolve(a.Name, a.Subject, a.Kind)
	}
	for name, f := range r.all() {
		waitFor(t, name+" resolve", func() bool { return f.count() == 2 })
	}
	return r
}

func TestAlertmanagerPayload(t *testing.T) {
	r := raiseAndResolve(t, drift)
	labels := map[string]any{
		"alertname": "SchemaDrift",
		"subject":   "orders-value",
		"kind":      "unknown_field",
		"severity":  "critical",
		"team":      "payments",
	}
	annotations := map[string]any{
		"summary":     "3 payloads with unknown field /extra",
		"description": "Strict subject rejected payloads & flagged <3> findings",
		"runbook_url": "https://runbook.example/schemagate?s=1&k=2#schema-drift",
		"escalation":  "#payments-oncall, then Ana",
	}
	trigger := []any{map[string]any{
		"labels":       labels,
		"annotations":  annotations,
		"startsAt":     "2026-03-01T10:00:00Z",
		"generatorURL": "http://schemagate.example/ui/",
	}}
	resolve := []any{map[string]any{
		"labels":       labels,
		"annotations":  annotations,
		"startsAt":     "2026-03-01T10:00:00Z",
		"endsAt":       "2026-03-01T10:02:00Z",
		"generatorURL": "http://schemagate.example/ui/",
	}}
	if diff := cmp.Diff(trigger, r.am.decoded(t, 0)); diff != "" {
		t.Errorf("trigger (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(resolve, r.am.decoded(t, 1)); diff != "" {
		t.Errorf("resolve (-want +got):\n%s", diff)
	}
	if got := r.am.paths[0]; got != "/api/v2/alerts" {
		t.Errorf("path = %q, want /api/v2/alerts", got)
	}
}

func TestAlertmanagerPayloadDrill(t *testing.T) {
	r := raiseAndResolve(t, drill)
	want := []any{map[string]any{
		"labels": map[string]any{
			"alertname": "SchemaDriftDrill",
			"subject":   "orders-value",
			"severity":  "warning",
			"team":      "unowned",
			"drill":     "true",
		},
		"annotations":  map[string]any{"summary": "staged drill"},
		"startsAt":     "2026-03-01T10:00:00Z",
		"generatorURL": "http://schemagate.example/ui/",
	}}
	if diff := cmp.Diff(want, r.am.decoded(t, 0)); diff != "" {
		t.Errorf("drill trigger (-want +got):\n%s", diff)
	}
}

func TestSlackPayload(t *testing.T) {
	r := raiseAndResolve(t, drift)
	const runbook = "<https://runbook.example/schemagate?s=1&amp;k=2#schema-drift|runbook>"
	trigger := map[string]any{
		"text": ":rotating_light: FIRING [CRITICAL] SchemaDrift\n" +
			"subject: orders-value · kind: unknown_field · team: payments\n" +
			"3 payloads with unknown field /extra\n" +
			"Runbook: " + runbook,
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
				"text": "*:rotating_light: FIRING [CRITICAL] SchemaDrift*\n3 payloads with unknown field /extra"}},
			map[string]any{"type": "section", "fields": []any{
				map[string]any{"type": "mrkdwn", "text": "*Subject*\norders-value"},
				map[string]any{"type": "mrkdwn", "text": "*Team*\npayments"},
				map[string]any{"type": "mrkdwn", "text": "*Kind*\nunknown_field"},
				map[string]any{"type": "mrkdwn", "text": "*Escalation*\n#payments-oncall, then Ana"},
			}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
				"text": "Strict subject rejected payloads &amp; flagged &lt;3&gt; findings"}},
			map[string]any{"type": "context", "elements": []any{
				map[string]any{"type": "mrkdwn", "text": runbook},
			}},
		},
	}
	resolve := map[string]any{
		"text": ":white_check_mark: RESOLVED [CRITICAL] SchemaDrift\n" +
			"subject: orders-value · kind: unknown_field · team: payments\n" +
			"3 payloads with unknown field /extra\n" +
			"Runbook: " + runbook,
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
				"text": "*:white_check_mark: RESOLVED [CRITICAL] SchemaDrift*\n3 payloads with unknown field /extra"}},
			map[string]any{"type": "section", "fields": []any{
				map[string]any{"type": "mrkdwn", "text": "*Subject*\norders-value"},
				map[string]any{"type": "mrkdwn", "text": "*Team*\npayments"},
				map[string]any{"type": "mrkdwn", "text": "*Kind*\nunknown_field"},
			}},
			map[string]any{"type": "context", "elements": []any{
				map[string]any{"type": "mrkdwn", "text": runbook},
			}},
		},
	}
	if diff := cmp.Diff(trigger, r.slack.decoded(t, 0)); diff != "" {
		t.Errorf("trigger (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(resolve, r.slack.decoded(t, 1)); diff != "" {
		t.Errorf("resolve (-want +got):\n%s", diff)
	}
	if got := r.slack.paths[0]; got != testSlackPath {
		t.Errorf("posted to %q, want the webhook path", got)
	}
}

func TestSlackPayloadDrill(t *testing.T) {
	r := raiseAndResolve(t, drill)
	want := map[string]any{
		"text": "[DRILL] :rotating_light: FIRING [WARNING] SchemaDriftDrill\n" +
			"subject: orders-value · team: unowned\n" +
			"staged drill",
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
				"text": "*[DRILL] :rotating_light: FIRING [WARNING] SchemaDriftDrill*\nstaged drill"}},
			map[string]any{"type": "section", "fields": []any{
				map[string]any{"type": "mrkdwn", "text": "*Subject*\norders-value"},
				map[string]any{"type": "mrkdwn", "text": "*Team*\nunowned"},
			}},
		},
	}
	if diff := cmp.Diff(want, r.slack.decoded(t, 0)); diff != "" {
		t.Errorf("drill trigger (-want +got):\n%s", diff)
	}
	if text := r.slack.decoded(t, 1).(map[string]any)["text"].(string); !strings.HasPrefix(text, "[DRILL] :white_check_mark: RESOLVED") {
		t.Errorf("drill resolve text = %q, want a DRILL RESOLVED message", text)
	}
}

func TestPagerDutyPayload(t *testing.T) {
	r := raiseAndResolve(t, drift)
	trigger := map[string]any{
		"routing_key":  testRoutingKey,
		"event_action": "trigger",
		"dedup_key":    "schemagate/SchemaDrift/orders-value/unknown_field",
		"client":       "schemagate",
		"client_url":   "http://schemagate.example/ui/",
		"payload": map[string]any{
			"summary":   "SchemaDrift orders-value (unknown_field): 3 payloads with unknown field /extra",
			"source":    "schemagate",
			"severity":  "critical",
			"timestamp": "2026-03-01T10:00:00Z",
			"component": "orders-value",
			"group":     "payments",
			"class":     "unknown_field",
			"custom_details": map[string]any{
				"alertname":   "SchemaDrift",
				"subject":     "orders-value",
				"kind":        "unknown_field",
				"team":        "payments",
				"escalation":  "#payments-oncall, then Ana",
				"description": "Strict subject rejected payloads & flagged <3> findings",
				"runbook_url": "https://runbook.example/schemagate?s=1&k=2#schema-drift",
				"drill":       false,
			},
		},
		"links": []any{map[string]any{"href": "https://runbook.example/schemagate?s=1&k=2#schema-drift", "text": "Runbook"}},
	}
	resolve := map[string]any{
		"routing_key":  testRoutingKey,
		"event_action": "resolve",
		"dedup_key":    "schemagate/SchemaDrift/orders-value/unknown_field",
	}
	if diff := cmp.Diff(trigger, r.pd.decoded(t, 0)); diff != "" {
		t.Errorf("trigger (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(resolve, r.pd.decoded(t, 1)); diff != "" {
		t.Errorf("resolve (-want +got):\n%s", diff)
	}
}

func TestPagerDutyPayloadDrill(t *testing.T) {
	r := raiseAndResolve(t, drill)
	want := map[string]any{
		"routing_key":  testRoutingKey,
		"event_action": "trigger",
		"dedup_key":    "schemagate/SchemaDriftDrill/orders-value//drill",
		"client":       "schemagate",
		"client_url":   "http://schemagate.example/ui/",
		"payload": map[string]any{
			"summary":   "[DRILL] SchemaDriftDrill orders-value: staged drill",
			"source":    "schemagate",
			"severity":  "warning",
			"timestamp": "2026-03-01T10:00:00Z",
			"component": "orders-value",
			"group":     "unowned",
			"class":     "SchemaDriftDrill",
			"custom_details": map[string]any{
				"alertname": "SchemaDriftDrill",
				"subject":   "orders-value",
				"team":      "unowned",
				"drill":     true,
			},
		},
	}
	if diff := cmp.Diff(want, r.pd.decoded(t, 0)); diff != "" {
		t.Errorf("drill trigger (-want +got):\n%s", diff)
	}
	if got := r.pd.decoded(t, 1).(map[string]any)["dedup_key"]; got != want["dedup_key"] {
		t.Errorf("resolve dedup_key = %v, want the trigger's %v", got, want["dedup_key"])
	}
}

func TestPagerDutySeverity(t *testing.T) {
	for in, want := range map[Severity]string{
		"critical": "critical",
		"warning":  "warning",
		"info":     "info",
		"page":     "error",
	} {
		if got := pdSeverity(in); got != want {
			t.Errorf("pdSeverity(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDedupKey(t *testing.T) {
	a := Alert{Name: "SchemaDrift", Subject: "a/b", Kind: "c"}
	b := Alert{Name: "SchemaDrift", Subject: "a", Kind: "b/c"}
	if dedupKey(a) == dedupKey(b) {
		t.Errorf("dedup keys collide: %q", dedupKey(a))
	}
	if got, want := dedupKey(a), "schemagate/SchemaDrift/a%2Fb/c"; got != want {
		t.Errorf("dedupKey = %q, want %q", got, want)
	}
	long := Alert{Name: "SchemaDrift", Subject: strings.Repeat("x", 300)}
	k := dedupKey(long)
	if len(k) > pdMaxDedupKey || k != dedupKey(long) {
		t.Errorf("long dedup key %q: want a stable key of at most %d characters", k, pdMaxDedupKey)
	}
	long.Drill = true
	if dedupKey(long) == k {
		t.Errorf("a drill shares the dedup key of the real alert")
	}
}

func TestTruncate(t *testing.T) {
	s := strings.Repeat("é", 600) // 1200 bytes
	got := truncate(s, pdMaxSummary)
	if len(got) > pdMaxSummary || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("truncate: %d bytes, suffix %q", len(got), got[len(got)-6:])
	}
	if truncate("short", 10) != "short" {
		t.Error("truncate changed a short string")
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{" Critical": SeverityCritical, "warning": SeverityWarning, "INFO": SeverityInfo} {
		if got, err := ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	var s Severity
	if err := s.UnmarshalText([]byte("page")); !errors.Is(err, ErrUnknownSeverity) || err.Error() != `unknown alert severity "page": want critical, warning or info` {
		t.Errorf("UnmarshalText(page) = %v; want ErrUnknownSeverity naming the severities", err)
	}
}
