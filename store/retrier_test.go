package store

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// TestRetrierErrors: what a retried operation reports when it stops: the operation's own error
// when it is not retryable, and the refusal that made it retry, not the caller's deadline, when
// the deadline cuts a retry short.
func TestRetrierErrors(t *testing.T) {
	refusal, broken := errors.New("refused for now"), errors.New("broken for good")
	retryable := func(err error) (string, bool) { return "53300", errors.Is(err, refusal) }
	tests := []struct {
		name string
		// second is the second attempt, given the call's context.
		second func(ctx context.Context) error
		want   error
	}{
		{"succeeds on retry", func(context.Context) error { return nil }, nil},
		{"fails for good on retry", func(context.Context) error { return broken }, broken},
		{"the deadline cuts the retry short", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, refusal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			attempts := 0
			err := retrier{budget: time.Minute, log: slog.New(slog.DiscardHandler)}.do(ctx, "test", retryable, func() error {
				attempts++
				if attempts == 1 {
					return refusal
				}
				return tc.second(ctx)
			})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) || attempts != 2 {
				t.Errorf("err = %v after %d attempts; want %v after 2", err, attempts, tc.want)
			}
		})
	}
}
