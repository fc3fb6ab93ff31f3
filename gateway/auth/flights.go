package auth

import (
	"context"
	"sync"
)

// passwordFlights lets concurrent checks of one basic credential share a single bcrypt
// comparison. A client that opens several connections at once with the same user and password
// (a many-threaded Confluent producer starting up) then costs one check, and its other requests
// wait for that check's answer instead of being refused for exceeding the client's share of
// password checks. Different credentials never share: guesses still cost one check each.
type passwordFlights struct {
	mu       sync.Mutex
	inflight map[[32]byte]*passwordFlight // by cacheKey(user, password)
}

// passwordFlight is one running check and, once done is closed, its answer.
type passwordFlight struct {
	done chan struct{}
	p    Principal
	err  error
}

// join returns the running check of key and false, or a new one and true: the caller then runs
// the check and must call finish.
func (f *passwordFlights) join(key [32]byte) (*passwordFlight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.inflight[key]; ok {
		return fl, false
	}
	if f.inflight == nil {
		f.inflight = make(map[[32]byte]*passwordFlight)
	}
	fl := &passwordFlight{done: make(chan struct{})}
	f.inflight[key] = fl
	return fl, true
}

// finish records the answer of the check of key and wakes the requests waiting for it.
func (f *passwordFlights) finish(key [32]byte, fl *passwordFlight, p Principal, err error) {
	f.mu.Lock()
	delete(f.inflight, key)
	f.mu.Unlock()
	fl.p, fl.err = p, err
	close(fl.done)
}

// wait returns the answer of fl, or ctx's error if ctx ends first.
func (fl *passwordFlight) wait(ctx context.Context) (Principal, error) {
	select {
	case <-fl.done:
		return fl.p, fl.err
	case <-ctx.Done():
		return Principal{}, ctx.Err()
	}
}
