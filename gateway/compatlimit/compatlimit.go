// Package compatlimit rate-limits compatibility checks per principal: a token bucket per
// principal name, refilled at a steady rate up to a burst. Compatibility checks (POST
// /compatibility/..., the CheckCompatibility RPC and the check inside a registration; the
// registry asks through registry.Options.BeforeCheck) are
// the registry's most expensive requests, bounded each by the work budget
// (schema_registry.compatibility_budget); the bucket bounds how many one principal can start.
package compatlimit

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/schemagate/schemagate/gateway/auth"
)

// ErrLimited: the principal started more compatibility checks than its rate allows. The API
// answers HTTP 429 (Confluent code 42901) or gRPC ResourceExhausted, with Retry-After.
var ErrLimited = errors.New("too many compatibility checks")

// maxPrincipals bounds the buckets kept; the least recently used is dropped beyond it (a
// dropped principal starts again with a full bucket).
const maxPrincipals = 10000

// limitedError is ErrLimited with the seconds to wait.
type limitedError struct {
	principal string
	wait      time.Duration
}

func (e *limitedError) Error() string {
	return fmt.Sprintf("too many compatibility checks by principal %q; retry in %ss (schema_registry.compatibility_checks_per_second)", e.principal, e.retryAfter())
}

func (e *limitedError) Unwrap() error { return ErrLimited }

func (e *limitedError) retryAfter() string {
	return strconv.Itoa(int(math.Ceil(e.wait.Seconds())))
}

// RetryAfter returns the Retry-After value (whole seconds, at least 1) of an ErrLimited error.
func RetryAfter(err error) (seconds string, ok bool) {
	var l *limitedError
	if !errors.As(err, &l) {
		return "", false
	}
	return l.retryAfter(), true
}

// Limiter holds one token bucket per principal. It is safe for concurrent use. A nil
// *Limiter allows everything.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	order   *list.List               // most recently used first
}

type bucket struct {
	name   string
	tokens float64
	at     time.Time
}

// New returns a limiter allowing perSecond checks per principal with bursts of burst, or nil
// (no limit) when perSecond <= 0. now is the clock (nil: time.Now).
func New(perSecond float64, burst int, now func() time.Time) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: perSecond, burst: float64(max(burst, 1)), now: now,
		buckets: map[string]*list.Element{}, order: list.New()}
}

// Allow takes one token from the bucket of the principal in ctx (the anonymous one when none)
// or returns an error wrapping ErrLimited saying how long to wait.
func (l *Limiter) Allow(ctx context.Context) error {
	if l == nil {
		return nil
	}
	name := auth.AnonymousName
	if p, ok := auth.FromContext(ctx); ok {
		name = p.Name
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.buckets[name]
	if !ok {
		e = l.order.PushFront(&bucket{name: name, tokens: l.burst, at: now})
		l.buckets[name] = e
		for l.order.Len() > maxPrincipals {
			last := l.order.Back()
			l.order.Remove(last)
			delete(l.buckets, last.Value.(*bucket).name)
		}
	}
	l.order.MoveToFront(e)
	b := e.Value.(*bucket)
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
	}
	b.at = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
		return &limitedError{principal: name, wait: max(wait, time.Second)}
	}
	b.tokens--
	return nil
}
