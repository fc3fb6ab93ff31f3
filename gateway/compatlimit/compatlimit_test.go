package compatlimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/gateway/auth"
)

// TestBucket drives one principal's bucket with a fake clock: the burst, a refusal with the
// wait, a refill, and another principal's own bucket.
func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(2, 2, func() time.Time { return now }) // 2 per second, burst 2
	alice := auth.NewContext(context.Background(), auth.Principal{Name: "alice"})
	steps := []struct {
		advance time.Duration
		ctx     context.Context
		want    string // "" allowed, else Retry-After
	}{
		{0, alice, ""},
		{0, alice, ""},
		{0, alice, "1"},
		{500 * time.Millisecond, alice, ""},
		{0, alice, "1"},
		{0, context.Background(), ""}, // the anonymous principal has its own bucket
	}
	var got, want []string
	for _, s := range steps {
		now = now.Add(s.advance)
		err := l.Allow(s.ctx)
		retry, limited := RetryAfter(err)
		if limited != errors.Is(err, ErrLimited) || (err == nil) == limited {
			t.Fatalf("Allow = %v: RetryAfter and errors.Is disagree", err)
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
