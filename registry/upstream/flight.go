package upstream

import (
	"context"
	"sync"
)

// flight shares one call among concurrent callers asking for the same key, so that a burst of
// cache misses for one schema or subject is one upstream call.
type flight[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*flightCall[V]
}

type flightCall[V any] struct {
	callers int // callers that asked for this call, the first included
	done    chan struct{}
	v       V
	err     error
}

// do returns fn's result, calling fn unless a call for key is under way, in which case it
// waits for that call's result. fn runs without the caller's cancellation (the client's
// per-call deadline bounds it), so that a caller that leaves does not fail the others; each
// caller stops waiting when its own context ends.
func (f *flight[K, V]) do(ctx context.Context, key K, fn func(ctx context.Context) (V, error)) (V, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[K]*flightCall[V]{}
	}
	c, ok := f.calls[key]
	if !ok {
		c = &flightCall[V]{done: make(chan struct{})}
		f.calls[key] = c
		go func() {
			c.v, c.err = fn(context.WithoutCancel(ctx))
			f.mu.Lock()
			delete(f.calls, key)
			f.mu.Unlock()
			close(c.done)
		}()
	}
	c.callers++
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		var zero V
		return zero, &unavailableError{op: "waiting for a shared call", cause: ctx.Err()}
	}
}

// callers returns how many callers share the call for key under way (0 for none).
func (f *flight[K, V]) callers(key K) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.calls[key]; ok {
		return c.callers
	}
	return 0
}
