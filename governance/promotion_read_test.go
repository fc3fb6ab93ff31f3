package governance

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestGatePromotionReadsAnyState reads a promotion back by ID while pending and after its
// decision, and refuses an unknown ID with ErrPromotionNotFound.
func TestGatePromotionReadsAnyState(t *testing.T) {
	tg := newTestGate(t)
	ctx := t.Context()
	if _, err := tg.Promotion(ctx, "p-unknown"); !errors.Is(err, ErrPromotionNotFound) {
		t.Fatalf("Promotion(unknown) = %v; want ErrPromotionNotFound", err)
	}
	// 49 hours of clean traffic in 5-minute buckets after the registration (which the registry
	// dated by the wall clock), flushed as a running gate does.
	tg.clock.Set(time.Now().Truncate(DefaultEvidenceBucket).Add(DefaultEvidenceBucket))
	for end := tg.clock.Now().Add(49 * time.Hour); tg.clock.Now().Before(end); tg.clock.Advance(DefaultEvidenceBucket) {
		tg.evidence.Record("orders-value", "producer", nil, nil)
		tg.evidence.Record("orders-value", "producer", nil, nil)
		if err := tg.evidence.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	requested, err := tg.Request(ctx, Actor{Name: "alice", Role: "author"}, "orders-value", "CHG-1", "clean")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tg.Promotion(ctx, requested.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(requested, got); diff != "" {
		t.Errorf("pending promotion read back (-requested +read):\n%s", diff)
	}
	rejected, _, err := tg.Reject(ctx, Actor{Name: "lead", Role: "governance-lead"}, requested.ID, "not now")
	if err != nil {
		t.Fatal(err)
	}
	if got, err = tg.Promotion(ctx, requested.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rejected, got); diff != "" {
		t.Errorf("rejected promotion read back (-rejected +read):\n%s", diff)
	}
}
