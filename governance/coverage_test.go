package governance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/validate"
)

// eligibleWithPending runs e until "orders" is eligible (48h of clean evidence on replica-a)
// and opens a promotion request for it.
func eligibleWithPending(t *testing.T, e *govEnv) Promotion {
	t.Helper()
	e.run(t, 48*time.Hour, 5, false)
	p, err := e.gov.Request(t.Context(), alice, "orders", "CHG-1", "ready")
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	return p
}

// shortFlush is the flush interval of the second replica in these tests: approvals wait about
// two of them for it.
const shortFlush = 100 * time.Millisecond

// TestApprovalSeesUnflushedViolation is the reproduction: an eligible subject with a pending
// promotion gets an invalid payload (flagged, held in memory until the next flush), and a lead
// approves at once. The approval flushes first, so it sees the violation and is refused.
func TestApprovalSeesUnflushedViolation(t *testing.T) {
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: 48 * time.Hour, MinValidations: 1000}})
	p := eligibleWithPending(t, e)

	e.evidence.Record("orders", "producer", findings(validate.KindTypeMismatch), nil) // not flushed
	_, _, err := e.gov.Approve(t.Context(), lead, p.ID, "looks clean")
	if !errors.Is(err, ErrNotEligible) || !strings.Contains(err.Error(), "violation") {
		t.Fatalf("approval after an unflushed violation = %v; want ErrNotEligible naming the violation", err)
	}
	if got := e.modes.ModeOf("orders"); got != ModeCanary {
		t.Errorf("mode after the refused approval = %s; want canary", got)
	}
	st, err := e.gov.Status(t.Context(), "orders")
	if err != nil || st.Violations != 0 || st.Eligible {
		// The violation restarted the window: it is not inside the new one, and the subject is
		// not eligible.
		t.Errorf("status after the refusal: %+v, %v; want a restarted window, not eligible", st.Assessment, err)
	}
}

// TestApprovalWaitsForOtherReplicas runs a second replica on the same store. Its evidence
// counts at an approval only once it has flushed past the approval's instant.
func TestApprovalWaitsForOtherReplicas(t *testing.T) {
	tests := []struct {
		name string
		// prepare sets replica b up; it runs after b's first flush (b is running and clean).
		prepare func(t *testing.T, e *govEnv, b *Evidence)
		// flushB flushes b while the approval waits.
		flushB  bool
		wantErr error
		want    []string // in the error
	}{
		{
			name: "violation on b before the instant, flushed while the approval waits",
			prepare: func(t *testing.T, e *govEnv, b *Evidence) {
				b.Record("orders", "producer", findings(validate.KindMissingField), nil)
			},
			flushB: true, wantErr: ErrNotEligible, want: []string{"violation"},
		},
		{
			name:    "b clean, flushed while the approval waits",
			prepare: func(*testing.T, *govEnv, *Evidence) {},
			flushB:  true,
		},
		{
			name: "b silent: refused, naming it",
			prepare: func(t *testing.T, e *govEnv, b *Evidence) {
				b.Record("orders", "producer", findings(validate.KindMissingField), nil)
			},
			wantErr: ErrEvidenceIncomplete, want: []string{`replica "replica-b"`, "governance.replica_timeout"},
		},
		{
			name: "b stopped gracefully: not waited for, its last flush counted",
			prepare: func(t *testing.T, e *govEnv, b *Evidence) {
				b.Record("orders", "producer", nil, nil)
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				if err := b.Run(ctx); err != nil { // the shutdown flush
					t.Fatal(err)
				}
			},
		},
		{
			name: "b silent for longer than the replica timeout: presumed gone",
			prepare: func(t *testing.T, e *govEnv, b *Evidence) {
				e.clock.Advance(DefaultReplicaTimeout + time.Second)
				mustFlush(t, e.evidence) // a is still running: the time since is clean
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: 48 * time.Hour, MinValidations: 1000}})
			b, err := NewEvidence(EvidenceOptions{DB: e.db, Replica: "replica-b", Clock: e.clock.Now, FlushInterval: shortFlush})
			if err != nil {
				t.Fatal(err)
			}
			e.evidence.flushInterval = shortFlush // approvals wait about two of these
			p := eligibleWithPending(t, e)
			mustFlush(t, b)
			tt.prepare(t, e, b)

			e.clock.Advance(time.Second) // the approval's instant is after b's last flush
			done := make(chan struct{})
			if tt.flushB {
				go func() {
					defer close(done)
					time.Sleep(shortFlush / 2)
					mustFlush(t, b)
				}()
			} else {
				close(done)
			}
			_, _, err = e.gov.Approve(t.Context(), lead, p.ID, "checked")
			<-done
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Approve = %v; want %v", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Approve error %q does not name %q", err, w)
				}
			}
			wantMode := ModeCanary
			if tt.wantErr == nil {
				wantMode = ModeStrict
			}
			if got := e.modes.ModeOf("orders"); got != wantMode {
				t.Errorf("mode = %s; want %s", got, wantMode)
			}
		})
	}
}

// TestApprovalRespectsTheCallersDeadline: a caller whose deadline ends before the replicas
// report gets its context's error, not a decision.
func TestApprovalRespectsTheCallersDeadline(t *testing.T) {
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: 48 * time.Hour, MinValidations: 1000}})
	b := newEvidence(t, e.db, "replica-b", e.clock) // flushes every 5s: the wait bound is 10s
	p := eligibleWithPending(t, e)
	mustFlush(t, b)
	e.clock.Advance(time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, _, err := e.gov.Approve(ctx, lead, p.ID, "checked")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "replica-b") {
		t.Fatalf("Approve with a short deadline = %v; want DeadlineExceeded naming replica-b", err)
	}
}

// TestPromotionWithoutApprovalWaitsToo: with require_approval off, the request itself promotes,
// so it is decided on every replica's evidence as an approval is.
func TestPromotionWithoutApprovalWaitsToo(t *testing.T) {
	e := newGovEnv(t, GovernorOptions{NoApproval: true, Policy: Policy{CleanWindow: 48 * time.Hour, MinValidations: 1000}})
	e.evidence.flushInterval = shortFlush
	e.run(t, 48*time.Hour, 5, false)
	b, err := NewEvidence(EvidenceOptions{DB: e.db, Replica: "replica-b", Clock: e.clock.Now, FlushInterval: shortFlush})
	if err != nil {
		t.Fatal(err)
	}
	mustFlush(t, b)
	b.Record("orders", "producer", findings(validate.KindEnumViolation), nil)
	e.clock.Advance(time.Second)
	if _, err := e.gov.Request(t.Context(), alice, "orders", "CHG-1", "ready"); !errors.Is(err, ErrEvidenceIncomplete) {
		t.Fatalf("request while replica-b holds evidence = %v; want ErrEvidenceIncomplete", err)
	}
	mustFlush(t, b)
	if _, err := e.gov.Request(t.Context(), alice, "orders", "CHG-1", "ready"); !errors.Is(err, ErrNotEligible) {
		t.Fatalf("request after replica-b stored its violation = %v; want ErrNotEligible", err)
	}
}

func TestReplicasRecordsFlushesAndShutdown(t *testing.T) {
	db, _ := openDB(t)
	clock := newClock(t0.Add(1500 * time.Millisecond))
	a := newEvidence(t, db, "a", clock)
	b := newEvidence(t, db, "b", clock)
	mustFlush(t, a)
	mustFlush(t, b)
	clock.Advance(time.Second)
	mustFlush(t, a)
	// A failed flush does not move the replica's mark: its evidence is not stored.
	lift := failHeartbeats(t, db, "b")
	if err := b.Flush(t.Context()); err == nil {
		t.Fatal("flush with failing heartbeats succeeded")
	}
	lift()
	clock.Advance(time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := a.Replicas(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []ReplicaState{
		{Name: "a", LastSeen: t0.Add(2500 * time.Millisecond)},
		{Name: "b", LastSeen: t0.Add(3500 * time.Millisecond), Stopped: t0.Add(3500 * time.Millisecond)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Replicas (-want +got):\n%s", diff)
	}
	// Running again under the same name clears the stop.
	mustFlush(t, b)
	got, _ = a.Replicas(t.Context())
	if !got[1].Stopped.IsZero() {
		t.Errorf("b after a new flush: %+v; want running", got[1])
	}
}
