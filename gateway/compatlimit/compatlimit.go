// Package compatlimit meters the compatibility work of each principal: a bucket of work units
// per principal name, refilled at a steady rate up to a burst. Compatibility checks (POST
// /compatibility/..., the CheckCompatibility RPC and the check inside a registration) are the
// registry's most expensive requests, each bounded by the work budget
// (schema_registry.compatibility_budget); the bucket bounds how much of that work one
// principal can have done per second. A check may start while its principal's bucket is not
// in debt (the registry asks through registry.Options.BeforeCheck) and is charged the units it
// spent when it ends (registry.Options.AfterCheck). So the cheap checks of a bulk registration
// (a few units each) are never limited in practice, while a principal whose checks exhaust the
// budget gets about one per (budget / rate) seconds.
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

// ErrLimited: the principal's compatibility checks spent more work than its rate allows. The
// API answers HTTP 429 (Confluent code 42901) or gRPC ResourceExhausted, with Retry-After.
var ErrLimited = errors.New("too much compatibility work")

// maxPrincipals bounds the buckets kept; the least recently used is dropped beyond it (a
// dropped principal starts again with a full bucket).
const maxPrincipals = 10000

// limitedError is ErrLimited with the seconds to wait.
type limitedError struct {
	principal string
	wait      time.Duration
}

func (e *limitedError) Error() string {
	return fmt.Sprintf("too much compatibility work by principal %q; retry in %ss (schema_registry.compatibility_units_per_second)", e.principal, e.retryAfter())
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

// Limiter holds one bucket of work units per principal. It is safe for concurrent use. A nil
// *Limiter allows everything.
type Limiter struct {
	rate  float64 // units per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	order   *list.List               // most recently used first
}

type bucket struct {
	name  string
	units float64 // negative: in debt
	at    time.Time
}

// New returns a limiter refilling unitsPerSecond work units per principal up to burst, or nil
// (no limit) when unitsPerSecond <= 0. now is the clock (nil: time.Now).
func New(unitsPerSecond float64, burst int64, now func() time.Time) *Limiter {
	if unitsPerSecond <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: unitsPerSecond, burst: float64(max(burst, 1)), now: now,
		buckets: map[string]*list.Element{}, order: list.New()}
}

// Allow lets a check of the principal in ctx (the anonymous one when none) start while its
// bucket is not in debt, or returns an error wrapping ErrLimited saying how long to wait. It
// takes nothing: Charge does, when the check has spent its units.
func (l *Limiter) Allow(ctx context.Context) error {
	if l == nil {
		return nil
	}
	name := principalName(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(name)
	if b.units <= 0 {
		wait := time.Duration((1 - b.units) / l.rate * float64(time.Second))
		return &limitedError{principal: name, wait: max(wait, time.Second)}
	}
	return nil
}

// Charge takes units from the bucket of the principal in ctx, the work a check spent; the
// bucket may go into debt, which refuses the principal's next checks until it is refilled.
func (l *Limiter) Charge(ctx context.Context, units int64) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucket(principalName(ctx)).units -= float64(units)
}

// principalName is the name of the principal in ctx, or the anonymous one.
func principalName(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return p.Name
	}
	return auth.AnonymousName
}

// bucket returns name's bucket refilled to now, creating it full. Called with mu held.
func (l *Limiter) bucket(name string) *bucket {
	now := l.now()
	e, ok := l.buckets[name]
	if !ok {
		e = l.order.PushFront(&bucket{name: name, units: l.burst, at: now})
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
		b.units = min(l.burst, b.units+elapsed*l.rate)
	}
	b.at = now
	return b
}
