package governance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/validate"
)

// govEnv is a governor over a real SQLite store, registry and evidence, on one fake clock.
type govEnv struct {
	db       *store.DB
	clock    *fakeClock
	reg      *registry.Registry
	evidence *Evidence
	modes    *Modes
	audit    *Audit
	gov      *Governor
	docPath  string
}

func newGovEnv(t *testing.T, opts GovernorOptions) *govEnv {
	t.Helper()
	db, _ := openDB(t)
	e := &govEnv{db: db, clock: newClock(t0), docPath: filepath.Join(t.TempDir(), "gov.md")}
	var err error
	if e.reg, err = registry.New(db, registry.Options{Clock: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.evidence = newEvidence(t, db, "replica-a", e.clock)
	if e.modes, err = NewModes(db, ModeCanary); err != nil {
		t.Fatal(err)
	}
	e.modes.SetClock(e.clock.Now)
	if e.audit, err = NewAudit(db, AuditOptions{Clock: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	opts.DB, opts.Modes, opts.Evidence, opts.Audit, opts.Versions = db, e.modes, e.evidence, e.audit, e.reg
	opts.Clock, opts.DocPath = e.clock.Now, e.docPath
	if e.gov, err = NewGovernor(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Register(t.Context(), "orders", registry.SchemaInput{Text: `"string"`}); err != nil {
		t.Fatal(err)
	}
	return e
}

// run moves the clock forward d in 5-minute buckets, recording perBucket validations in each
// (violations marks them invalid) and flushing, as a running gateway does.
func (e *govEnv) run(t *testing.T, d time.Duration, perBucket int, violations bool) {
	t.Helper()
	for end := e.clock.Now().Add(d); e.clock.Now().Before(end); e.clock.Advance(DefaultEvidenceBucket) {
		for range perBucket {
			var found []validate.Finding
			if violations {
				found = findings(validate.KindTypeMismatch)
			}
			e.evidence.Record("orders", "p", found, nil)
		}
		mustFlush(t, e.evidence)
	}
}

var (
	alice = Actor{Name: "alice", Role: "author"}
	lead  = Actor{Name: "lead", Role: "governance-lead"}
	lead2 = Actor{Name: "lead2", Role: "governance-lead"}
	pager = Actor{Name: "pager", Role: "oncall"}
)

func TestPromotionWorkflow(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: 48 * time.Hour, MinValidations: 1000}, TicketURL: "https://tracker.example/browse/{ticket}"})

	e.run(t, 47*time.Hour+55*time.Minute, 5, false)
	if _, err := e.gov.Request(ctx, alice, "orders", "CHG-1", "ready"); !errors.Is(err, ErrNotEligible) || !strings.Contains(err.Error(), "of 48h clean") {
		t.Fatalf("request at 47h55m = %v; want ErrNotEligible naming the clean time", err)
	}
	e.run(t, 5*time.Minute, 5, false)
	if _, err := e.gov.Request(ctx, alice, "orders", "bad ticket", "ready"); !errors.Is(err, ErrBadTicket) {
		t.Errorf("request with a bad ticket = %v; want ErrBadTicket", err)
	}
	p, err := e.gov.Request(ctx, alice, "orders", "CHG-1", "ready")
	if err != nil {
		t.Fatalf("request at 48h: %v", err)
	}
	if _, err := e.gov.Request(ctx, alice, "orders", "CHG-2", "again"); !errors.Is(err, ErrPendingPromotion) {
		t.Errorf("second request = %v; want ErrPendingPromotion", err)
	}
	if _, _, err := e.gov.Approve(ctx, alice, p.ID, "self"); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("approval by the requester = %v; want ErrSelfApproval", err)
	}
	approved, entry, err := e.gov.Approve(ctx, lead, p.ID, "evidence checked")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if approved.State != StateApproved || entry.Action != ActionPromotionApproved || e.modes.ModeOf("orders") != ModeStrict {
		t.Errorf("after approval: %+v, entry %s, mode %s; want approved and strict", approved, entry.Action, e.modes.ModeOf("orders"))
	}
	if _, _, err := e.gov.Approve(ctx, lead2, p.ID, "again"); !errors.Is(err, ErrNotPending) {
		t.Errorf("second approval = %v; want ErrNotPending", err)
	}

	if _, err := e.gov.Rollback(ctx, pager, "orders", "drift in prod", "INC-77"); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	st, err := e.gov.Status(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != ModeCanary || st.Eligible || !st.WindowStart.Equal(e.clock.Now().Truncate(time.Second)) {
		t.Errorf("after rollback: mode %s, eligible %v, window start %s; want canary, not eligible, window restarted now (%s)", st.Mode, st.Eligible, st.WindowStart, e.clock.Now())
	}
	if _, err := e.gov.Rollback(ctx, pager, "orders", "again", "INC-78"); !errors.Is(err, ErrAlreadyInMode) {
		t.Errorf("rollback of a canary subject = %v; want ErrAlreadyInMode", err)
	}
	if _, err := e.gov.Override(ctx, Actor{Name: "root", Role: "admin"}, "orders", ModeStrict, "CHG-9", "incident bridge decision"); err != nil {
		t.Fatalf("override: %v", err)
	}

	r, err := e.audit.Verify(ctx)
	if err != nil || !r.OK {
		t.Fatalf("audit chain after the workflow: %+v, %v", r, err)
	}
	entries, err := e.audit.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var actions []Action
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	want := []Action{ActionSchemaRegistered, ActionPromotionRequested, ActionPromotionApproved, ActionModePromoted, ActionModeRolledBack, ActionModeOverridden}
	// The registry write is audited by the gateway's listener, not by the governor.
	if diff := cmp.Diff(want[1:], actions); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}
	doc, err := os.ReadFile(e.docPath)
	if err != nil {
		t.Fatalf("governance document not written: %v", err)
	}
	for _, w := range []string{"[CHG-1](https://tracker.example/browse/CHG-1)", "INC-77", "OVERRIDE", "lead"} {
		if !strings.Contains(string(doc), w) {
			t.Errorf("document lacks %q", w)
		}
	}
}

func TestApprovalRechecksEvidence(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: 2 * time.Hour, MinValidations: 10}})
	e.run(t, 2*time.Hour, 1, false)
	p, err := e.gov.Request(ctx, alice, "orders", "CHG-1", "ready")
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, 5*time.Minute, 1, true) // a violation after the request
	if _, _, err := e.gov.Approve(ctx, lead, p.ID, "ok"); !errors.Is(err, ErrNotEligible) {
		t.Fatalf("approve after a violation = %v; want ErrNotEligible", err)
	}
	if e.modes.ModeOf("orders") != ModeCanary {
		t.Error("subject promoted although the approval was refused")
	}
}

func TestNewVersionRestartsTheWindow(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: 2 * time.Hour, MinValidations: 10}})
	e.run(t, 2*time.Hour, 1, false)
	if st, _ := e.gov.Status(ctx, "orders"); !st.Eligible {
		t.Fatalf("not eligible after 2h: %v", st.Reasons)
	}
	if _, err := e.reg.Register(ctx, "orders", registry.SchemaInput{Text: `["null","string"]`}); err != nil {
		t.Fatal(err)
	}
	st, err := e.gov.Status(ctx, "orders")
	if err != nil || st.Eligible || !st.WindowStart.Equal(e.clock.Now().Truncate(time.Microsecond)) {
		t.Errorf("after a new version: eligible %v, window start %s, err %v; want the window restarted at %s", st.Eligible, st.WindowStart, err, e.clock.Now())
	}
}

func TestWithoutApprovalEligibleSubjectsArePromoted(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: time.Hour, MinValidations: 10}, NoApproval: true, AutoTicket: "GOV-1"})
	e.run(t, time.Hour, 1, false)
	got, _, err := e.gov.Tick(ctx, []string{"orders"})
	if err != nil || len(got) != 1 || got[0].State != StateApproved || got[0].Requester != SystemActor {
		t.Fatalf("tick = %+v, %v; want one promotion approved by the system", got, err)
	}
	if e.modes.ModeOf("orders") != ModeStrict {
		t.Error("eligible subject not promoted without approval")
	}
}

func TestFailedAuditLeavesNothing(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: time.Hour, MinValidations: 10}})
	e.run(t, time.Hour, 1, false)
	p, err := e.gov.Request(ctx, alice, "orders", "CHG-1", "ready")
	if err != nil {
		t.Fatal(err)
	}
	// From now on every audit insert fails.
	failWrites(t, e.db, "no_audit", "INSERT", "audit_entries", "")
	if _, _, err := e.gov.Approve(ctx, lead, p.ID, "ok"); err == nil {
		t.Fatal("approval succeeded without its audit entry")
	}
	if m, _, _ := e.modes.ModeSince(ctx, "orders"); m != ModeCanary || e.modes.ModeOf("orders") != ModeCanary {
		t.Errorf("mode after a failed approval = %s; want canary", m)
	}
	if still, err := e.gov.promotion(ctx, p.ID); err != nil || still.State != StatePending {
		t.Errorf("promotion after a failed approval = %+v, %v; want still pending", still, err)
	}
}

// TestRestartKeepsTheClock: a gateway restarted half-way (new Evidence, Modes, Audit and
// Governor on the same store) continues the window instead of resetting it.
func TestRestartKeepsTheClock(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: 2 * time.Hour, MinValidations: 10}})
	e.run(t, time.Hour, 1, false)

	// The restart: everything in memory is new, the store and the clock go on.
	var err error
	e.evidence = newEvidence(t, e.db, "replica-b", e.clock)
	if e.modes, err = NewModes(e.db, ModeCanary); err != nil {
		t.Fatal(err)
	}
	if e.audit, err = NewAudit(e.db, AuditOptions{Clock: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if e.gov, err = NewGovernor(GovernorOptions{DB: e.db, Modes: e.modes, Evidence: e.evidence, Audit: e.audit, Versions: e.reg,
		Policy: Policy{CleanWindow: 2 * time.Hour, MinValidations: 10}, Clock: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	st, err := e.gov.Status(ctx, "orders")
	if err != nil || st.Clean != time.Hour {
		t.Fatalf("right after the restart: clean %s, %v; want the hour before it", st.Clean, err)
	}
	e.run(t, time.Hour, 1, false)
	if st, _ := e.gov.Status(ctx, "orders"); !st.Eligible || st.Clean != 2*time.Hour {
		t.Errorf("an hour after the restart: clean %s, eligible %v (%v); want 2h and eligible", st.Clean, st.Eligible, st.Reasons)
	}
}

func TestAutoRollback(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{AutoRollback: AutoRollback{Ratio: 0.1, Period: 10 * time.Minute, MinValidations: 20}})
	if _, err := e.gov.Override(ctx, Actor{Name: "root", Role: "admin"}, "orders", ModeStrict, "CHG-1", "test"); err != nil {
		t.Fatal(err)
	}
	e.run(t, 10*time.Minute, 10, false)
	if _, rb, err := e.gov.Tick(ctx, []string{"orders"}); err != nil || len(rb) != 0 {
		t.Fatalf("tick with no rejections = %v, %v; want no rollback", rb, err)
	}
	e.run(t, 5*time.Minute, 10, true) // 10 of 30 validations in the period rejected
	_, rb, err := e.gov.Tick(ctx, []string{"orders"})
	if err != nil || len(rb) != 1 || rb[0].Actor != SystemActor || !strings.Contains(rb[0].Reason, "automatic rollback") {
		t.Fatalf("tick over the threshold = %+v, %v; want one automatic rollback", rb, err)
	}
	if e.modes.ModeOf("orders") != ModeCanary {
		t.Error("subject still strict after the automatic rollback")
	}
}

// TestRequestAndRollbackNeedReasonAndIncident: a promotion request without a reason and a
// rollback without a reason or an incident are refused as bad requests, before anything is
// audited (blank counts as missing).
func TestRequestAndRollbackNeedReasonAndIncident(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: time.Hour, MinValidations: 1}})
	e.run(t, time.Hour, 5, false)
	if _, err := e.gov.Override(ctx, Actor{Name: "root", Role: "admin"}, "orders", ModeStrict, "CHG-9", "set up"); err != nil {
		t.Fatal(err)
	}
	before, err := e.audit.List(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		call func() error
		want string
	}{
		{"request without a reason", func() error { _, err := e.gov.Request(ctx, alice, "orders", "CHG-1", ""); return err }, "a promotion request needs a reason"},
		{"request with a blank reason", func() error { _, err := e.gov.Request(ctx, alice, "orders", "CHG-1", " \t\n"); return err }, "a promotion request needs a reason"},
		{"rollback without an incident", func() error { _, err := e.gov.Rollback(ctx, pager, "orders", "drift", ""); return err }, "a rollback needs an incident"},
		{"rollback with a blank incident", func() error { _, err := e.gov.Rollback(ctx, pager, "orders", "drift", "  "); return err }, "a rollback needs an incident"},
		{"rollback without a reason", func() error { _, err := e.gov.Rollback(ctx, pager, "orders", "", "INC-1"); return err }, "a rollback needs a reason"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want ErrBadRequest saying %q", err, tt.want)
			}
		})
	}
	after, err := e.audit.List(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("refused calls changed the audit log (-before +after):\n%s", diff)
	}
	if e.modes.ModeOf("orders") != ModeStrict {
		t.Errorf("mode %s after refused rollbacks; want strict", e.modes.ModeOf("orders"))
	}
}
