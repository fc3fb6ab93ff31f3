package compatlimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/gateway/auth"
)

// TestBucket drives one principal's bucket of work units with a fake clock: checks start while
// it is not in debt, their units are charged after, a debt refuses with the wait until the
// refill, and another principal has its own bucket.
func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(2, 4, func() time.Time { return now }) // 2 units per second, burst 4
	alice := auth.NewContext(context.Background(), auth.Principal{Name: "alice"})
	steps := []struct {
		advance time.Duration
		ctx     context.Context
		charge  int64  // units the check spends when allowed
		want    string // "" allowed, else Retry-After
	}{
		{0, alice, 3, ""},                       // 4 → 1
		{0, alice, 3, ""},                       // 1 → -2: allowed, since not in debt before
		{0, alice, 0, "2"},                      // -2: (1 - -2) / 2 = 1.5 s → 2
		{500 * time.Millisecond, alice, 0, "1"}, // -1: (1 - -1) / 2 = 1 s
		{time.Second, alice, 1, ""},             // 1 → 0
		{0, alice, 0, "1"},                      // 0 is no credit: (1 - 0) / 2 = 0.5 s → at least 1
		{0, context.Background(), 1, ""},        // the anonymous principal has its own bucket
	}
	var got, want []string
	for _, s := range steps {
		now = now.Add(s.advance)
		err := l.Allow(s.ctx)
		retry, limited := RetryAfter(err)
		if limited != errors.Is(err, ErrLimited) || (err == nil) == limited {
			t.Fatalf("Allow = %v: RetryAfter and errors.Is disagree", err)
		}
		if err == nil {
			l.Charge(s.ctx, s.charge)
		}
		got, want = append(got, retry), append(want, s.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Retry-After per step (-want +got):\n%s", diff)
	}
	if New(0, 10, nil) != nil || New(0, 10, nil).Allow(alice) != nil {
		t.Error("a zero rate is no limit")
	}
}
