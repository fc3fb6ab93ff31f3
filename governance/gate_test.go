package governance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/schemagate/schemagate/governance/notify"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/validate"
)

// alertSink is an Alertmanager stand-in (a receiver outside the product): it keeps the labels
// of every alert posted to it.
type alertSink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []map[string]string
}

func newAlertSink(t *testing.T) *alertSink {
	s := &alertSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var posted []struct {
			Labels map[string]string `json:"labels"`
		}
		if err := json.NewDecoder(r.Body).Decode(&posted); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, a := range posted {
			s.alerts = append(s.alerts, a.Labels)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// wait returns the distinct alerts (name, severity, kind, drill) received, once there are n.
func (s *alertSink) wait(t *testing.T, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		seen := map[string]bool{}
		var got []string
		for _, l := range s.alerts {
			k := l["alertname"] + " " + l["severity"] + " " + l["subject"] + " " + l["kind"] + " drill=" + l["drill"]
			if !seen[k] {
				seen[k] = true
				got = append(got, k)
			}
		}
		s.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
	}
}

// testGate is a gate over a real store, registry and validation engine, with orders-value
// registered, a fake clock and a private metrics registry.
type testGate struct {
	*Gate
	db       *store.DB
	registry *registry.Registry
	clock    *fakeClock
	sink     *alertSink
	gatherer *prometheus.Registry // the gate's metrics
}

func newTestGate(t *testing.T) *testGate {
	t.Helper()
	return newTestGateWith(t, func(*Config) {})
}

// newTestGateWith is newTestGate with edit applied to the default configuration.
func newTestGateWith(t *testing.T, edit func(*Config)) *testGate {
	t.Helper()
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	reg, err := registry.New(db, registry.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Register(ctx, "orders-value", registry.SchemaInput{Type: registry.SchemaTypeAvro,
		Text: `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`}); err != nil {
		t.Fatal(err)
	}
	engine, err := validate.NewEngine(validate.Options{Source: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	tg := &testGate{db: db, registry: reg, clock: clock, sink: newAlertSink(t), gatherer: prometheus.NewPedanticRegistry()}
	cfg := DefaultConfig()
	cfg.DocPath = ""
	edit(&cfg)
	tg.Gate, err = New(ctx, Options{DB: db, Registry: reg, Subjects: engine, Registerer: tg.gatherer, Config: cfg,
		Clock: tg.clock.Now, Replica: "r1", Receivers: notify.Receivers{AlertmanagerURL: tg.sink.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// run runs the gate (alert delivery, flushes) until the test ends.
func (tg *testGate) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tg.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestNewRequiresItsDependencies(t *testing.T) {
	db, _ := openDB(t)
	if _, err := New(t.Context(), Options{DB: db}); err == nil {
		t.Error("New without Registry, Subjects and Registerer succeeded")
	}
	tg := newTestGate(t)
	cfg := DefaultConfig()
	cfg.TicketPattern = "("
	if _, err := New(t.Context(), Options{DB: db, Registry: tg.registry, Subjects: tg.subjects,
		Registerer: prometheus.NewRegistry(), Config: cfg}); err == nil {
		t.Error("New with an invalid ticket pattern succeeded")
	}
}

// TestDecide walks modes × results × registered or not: the outcome, the metrics and the
// evidence recorded.
func TestDecide(t *testing.T) {
	invalid := []validate.Finding{{Kind: validate.KindTypeMismatch, Path: "/id", Message: "want a string"}}
	stale := []validate.Finding{{Kind: validate.KindStaleSchemaVersion, Message: "framed with version 1"}}
	tests := []struct {
		name     string
		mode     ValidationMode
		subject  string
		findings []validate.Finding
		want     Outcome
		recorded bool // counted as evidence
	}{
		{"canary valid", ModeCanary, "orders-value", nil, OutcomeValid, true},
		{"canary invalid", ModeCanary, "orders-value", invalid, OutcomeFlagged, true},
		{"canary stale only", ModeCanary, "orders-value", stale, OutcomeValid, true},
		{"strict valid", ModeStrict, "orders-value", nil, OutcomeValid, true},
		{"strict invalid", ModeStrict, "orders-value", invalid, OutcomeRejected, true},
		{"strict stale only", ModeStrict, "orders-value", stale, OutcomeValid, true},
		{"unregistered invalid", ModeCanary, "nobody-value", invalid, OutcomeFlagged, false},
		{"unregistered strict", ModeStrict, "nobody-value", invalid, OutcomeRejected, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTestGate(t)
			if err := tg.Modes().SetMode(t.Context(), tt.subject, tt.mode); err != nil {
				t.Fatal(err)
			}
			d := tg.Decide("p", validate.Request{Subject: tt.subject, Data: []byte("payload")}, validate.Result{SchemaID: 1, Version: 1, Findings: tt.findings})
			if diff := cmp.Diff(Decision{Outcome: tt.want, Mode: tt.mode}, d); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
			label := tt.subject
			if !tt.recorded {
				label = "_unregistered"
			}
			if got := testutil.ToFloat64(tg.metrics.validations.WithLabelValues(label, tt.mode.String(), tt.want.String())); got != 1 {
				t.Errorf("schemagate_validations_total{subject=%q,mode=%q,outcome=%q} = %v; want 1", label, tt.mode, tt.want, got)
			}
			for _, f := range tt.findings {
				if got := testutil.ToFloat64(tg.metrics.findings.WithLabelValues(label, f.Kind.String())); got != 1 {
					t.Errorf("schemagate_drift_findings_total{subject=%q,kind=%q} = %v; want 1", label, f.Kind, got)
				}
			}
			mustFlush(t, tg.evidence)
			buckets, err := tg.evidence.Buckets(t.Context(), tt.subject, t0)
			if err != nil {
				t.Fatal(err)
			}
			var validations, violations int64
			for _, b := range buckets {
				validations, violations = validations+b.Validations, violations+b.Violations
			}
			want := [2]int64{}
			if tt.recorded {
				want[0] = 1
				if validate.Invalid(tt.findings) {
					want[1] = 1
				}
			}
			if got := [2]int64{validations, violations}; got != want {
				t.Errorf("evidence (validations, violations) = %v; want %v", got, want)
			}
		})
	}
}

// TestDecideKeepsADriftSample: a finding keeps the payload as its sample, JSON in its compact
// encoding.
func TestDecideKeepsADriftSample(t *testing.T) {
	tg := newTestGate(t)
	req := validate.Request{Subject: "orders-value", HasJSON: true, JSON: map[string]any{"id": json.Number("42")}}
	tg.Decide("p", req, validate.Result{Findings: []validate.Finding{{Kind: validate.KindTypeMismatch, Path: "/id", Message: "want a string"}}})
	r, err := tg.DriftReport(t.Context(), "orders-value")
	if err != nil {
		t.Fatal(err)
	}
	want := []DriftEntry{{Kind: validate.KindTypeMismatch, Path: "/id", Count: 1, FirstSeen: t0, LastSeen: t0,
		Message: "want a string", Sample: []byte(`{"id":42}`)}}
	if diff := cmp.Diff(want, r.Entries); diff != "" {
		t.Errorf("drift report (-want +got):\n%s", diff)
	}
}

// TestDecideRaisesDriftAlerts is the alert policy: drift on a canary subject is a warning
// (SchemaDriftCanary), on a strict one it pages (SchemaDrift, critical); a stale schema version
// and unregistered names raise nothing.
func TestDecideRaisesDriftAlerts(t *testing.T) {
	tg := newTestGate(t)
	tg.run(t)
	ctx := t.Context()
	if err := tg.Modes().SetMode(ctx, "strict-value", ModeStrict); err != nil {
		t.Fatal(err)
	}
	finding := func(k validate.Kind) validate.Result { return validate.Result{Findings: []validate.Finding{{Kind: k}}} }
	tg.Decide("p", validate.Request{Subject: "orders-value"}, finding(validate.KindMissingField))
	tg.Decide("p", validate.Request{Subject: "orders-value"}, finding(validate.KindStaleSchemaVersion))
	tg.Decide("p", validate.Request{Subject: "nobody-value"}, finding(validate.KindTypeMismatch))
	if err := tg.Modes().SetMode(ctx, "orders-value", ModeStrict); err != nil {
		t.Fatal(err)
	}
	tg.Decide("p", validate.Request{Subject: "orders-value"}, finding(validate.KindEnumViolation))
	want := []string{
		"SchemaDriftCanary warning orders-value missing_field drill=",
		"SchemaDrift critical orders-value enum_violation drill=",
	}
	if diff := cmp.Diff(want, tg.sink.wait(t, len(want))); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

// TestDrill: a drill needs a registered subject, defaults to type_mismatch, is audited, counted
// and raises a drill alert with the severity a real finding would have; it is no evidence.
func TestDrill(t *testing.T) {
	tg := newTestGate(t)
	tg.run(t)
	ctx := t.Context()
	lead := Actor{Name: "lead", Role: "governance-lead"}
	if _, err := tg.Drill(ctx, lead, "nobody-value", ""); !errors.Is(err, ErrSubjectNotFound) {
		t.Errorf("drill on an unregistered subject: %v; want ErrSubjectNotFound", err)
	}
	if _, err := tg.Drill(ctx, lead, "", ""); !errors.Is(err, ErrBadRequest) {
		t.Errorf("drill without a subject: %v; want ErrBadRequest", err)
	}
	d, err := tg.Drill(ctx, lead, "orders-value", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Alert != AlertSchemaDriftDrill || d.Severity != notify.SeverityWarning || d.Entry.Action != ActionDrillInjected ||
		d.Entry.Details["kind"] != "type_mismatch" || d.Entry.Actor != "lead" {
		t.Errorf("canary drill = %+v", d)
	}
	if err := tg.Modes().SetMode(ctx, "orders-value", ModeStrict); err != nil {
		t.Fatal(err)
	}
	if d, err := tg.Drill(ctx, lead, "orders-value", validate.KindMissingField); err != nil || d.Severity != notify.SeverityCritical {
		t.Errorf("strict drill = %+v, %v; want severity critical", d, err)
	}
	want := []string{
		"SchemaDriftDrill warning orders-value type_mismatch drill=true",
		"SchemaDriftDrill critical orders-value missing_field drill=true",
	}
	if diff := cmp.Diff(want, tg.sink.wait(t, len(want))); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(tg.metrics.drills.WithLabelValues("orders-value", "type_mismatch")); got != 1 {
		t.Errorf("schemagate_drift_drills_total = %v; want 1", got)
	}
	mustFlush(t, tg.evidence)
	if b, err := tg.evidence.Buckets(ctx, "orders-value", t0); err != nil || len(b) != 0 {
		t.Errorf("evidence after drills = %v, %v; want none", b, err)
	}
}

// TestAuditEntriesPages: a full page names the next one; the last page does not.
func TestAuditEntriesPages(t *testing.T) {
	tg := newTestGate(t)
	ctx := t.Context()
	for i := range 3 {
		if _, err := tg.SetOwner(ctx, Actor{Name: "author"}, Owner{Subject: "orders-value", Team: "team-" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	var seqs [][]int64
	var after int64
	for {
		p, err := tg.AuditEntries(ctx, AuditFilter{Action: ActionOwnerSet, AfterSeq: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		var page []int64
		for _, e := range p.Entries {
			page = append(page, e.Seq)
		}
		seqs = append(seqs, page)
		if p.Next == 0 {
			break
		}
		after = p.Next
	}
	if diff := cmp.Diff([][]int64{{1, 2}, {3}}, seqs); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

// TestStatusNamesTheViolationTime: the status names when the violation that restarted the
// window was recorded, to the millisecond, not the start of the bucket its flush landed in;
// evidence stored before that time was kept (migration 0008) names its bucket instead.
func TestStatusNamesTheViolationTime(t *testing.T) {
	tests := []struct {
		name   string
		untime bool // clear the stored time, as in rows stored before migration 0008
		want   string
	}{
		{"recorded time", false, "violation at 2026-03-01T10:04:11.123Z restarted the window"},
		{"stored without a time", true, "violation in the 5m bucket starting 2026-03-01T10:05:00Z restarted the window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTestGate(t)
			ctx := t.Context()
			tg.clock.Set(t0.Add(4*time.Minute + 11*time.Second + 123*time.Millisecond))
			tg.Decide("p", validate.Request{Subject: "orders-value"}, validate.Result{Findings: []validate.Finding{{Kind: validate.KindTypeMismatch}}})
			tg.clock.Set(t0.Add(6 * time.Minute)) // the flush lands in the 10:05 bucket
			mustFlush(t, tg.evidence)
			if tt.untime {
				if _, err := tg.db.SQL().ExecContext(ctx, `UPDATE evidence_buckets SET last_violation_us = 0`); err != nil {
					t.Fatal(err)
				}
			}
			tg.clock.Set(t0.Add(20 * time.Minute))
			st, err := tg.Status(ctx, "orders-value")
			if err != nil {
				t.Fatal(err)
			}
			if st.WindowStart != t0.Add(10*time.Minute) {
				t.Errorf("window start = %v; want the end of the bucket holding the violation", st.WindowStart)
			}
			var got string
			for _, r := range st.Reasons {
				if strings.HasPrefix(r, "violation ") {
					got = r
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violation reason (-want +got):\n%s\nall reasons: %q", diff, st.Reasons)
			}
		})
	}
}

// TestActionsNeedALiveVersion: governance actions on a subject without a live version (never
// registered, or every version deleted) are ErrSubjectNotFound and leave no audit entry and no
// metric series; rejecting a deleted subject's pending request, and rolling back a deleted
// subject that kept its own strict mode, are allowed.
func TestActionsNeedALiveVersion(t *testing.T) {
	tg := newTestGateWith(t, func(c *Config) { c.CleanWindow, c.MinValidations = 10*time.Minute, 1 })
	ctx := t.Context()
	alice, lead := Actor{Name: "alice", Role: "author"}, Actor{Name: "lead", Role: "governance-lead"}
	// gone-value: eligible, requested, set strict, then deleted.
	if _, err := tg.registry.Register(ctx, "gone-value", registry.SchemaInput{Type: registry.SchemaTypeAvro, Text: `"string"`}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		tg.evidence.Record("gone-value", "p", nil, nil)
		mustFlush(t, tg.evidence)
		tg.clock.Advance(5 * time.Minute)
	}
	p, err := tg.Request(ctx, alice, "gone-value", "CHG-1", "ready")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tg.Override(ctx, lead, "gone-value", ModeStrict, "CHG-2", "incident drill"); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.registry.DeleteSubject(ctx, "gone-value", false); err != nil {
		t.Fatal(err)
	}

	notFound := func(err error) error {
		if !errors.Is(err, ErrSubjectNotFound) {
			return fmt.Errorf("got %v; want ErrSubjectNotFound", err)
		}
		return nil
	}
	ok := func(err error) error { return err }
	tests := []struct {
		name  string
		call  func() error
		check func(error) error
	}{
		{"status of an unknown subject", func() error { _, err := tg.Status(ctx, "nobody-value"); return err }, notFound},
		{"request", func() error { _, err := tg.Request(ctx, alice, "nobody-value", "CHG-3", "r"); return err }, notFound},
		{"override", func() error {
			_, _, err := tg.Override(ctx, lead, "nobody-value", ModeStrict, "CHG-3", "j")
			return err
		}, notFound},
		{"owner", func() error {
			_, err := tg.SetOwner(ctx, lead, Owner{Subject: "nobody-value", Team: "t"})
			return err
		}, notFound},
		{"drill", func() error { _, err := tg.Drill(ctx, lead, "nobody-value", ""); return err }, notFound},
		{"rollback without a mode of its own", func() error {
			_, _, err := tg.Rollback(ctx, lead, "nobody-value", "r", "INC-1")
			return err
		}, notFound},
		{"status of a deleted subject", func() error { _, err := tg.Status(ctx, "gone-value"); return err }, notFound},
		{"approve after the subject was deleted", func() error { _, _, err := tg.Approve(ctx, lead, p.ID, "ok"); return err }, notFound},
		{"reject after the subject was deleted", func() error { _, _, err := tg.Reject(ctx, lead, p.ID, "deleted"); return err }, ok},
		{"rollback of a deleted subject that kept strict", func() error {
			_, _, err := tg.Rollback(ctx, lead, "gone-value", "r", "INC-2")
			return err
		}, ok},
	}
	for _, tt := range tests {
		if err := tt.check(tt.call()); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if m := tg.Modes().ModeOf("gone-value"); m != ModeCanary {
		t.Errorf("gone-value after its rollback is %s; want canary", m)
	}
	entries, err := tg.AuditEntries(ctx, AuditFilter{Subject: "nobody-value"})
	if err != nil || len(entries.Entries) != 0 {
		t.Errorf("audit entries of nobody-value = %+v, %v; want none", entries.Entries, err)
	}
	families, err := tg.gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "subject" && l.GetValue() == "nobody-value" {
					t.Errorf("series %s%v names the unknown subject", f.GetName(), m.GetLabel())
				}
			}
		}
	}
}
