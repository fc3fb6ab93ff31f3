package auth

import (
	"runtime"
	"sync"
	"time"
)

// DefaultMaxClientPasswordChecks is how many password checks one client
// may have running at once when Options.MaxClientPasswordChecks is zero.
const DefaultMaxClientPasswordChecks = 2

// DefaultMaxPasswordChecks is how many password (bcrypt) checks may run at
// once in all when Options.MaxPasswordChecks is zero: one per CPU, since a
// check is a few tens of milliseconds of one core's work.
func DefaultMaxPasswordChecks() int { return runtime.NumCPU() }

// passwordGate bounds the password (bcrypt) checks that run at once: in
// all, and per client. It never queues: a check over either bound is
// refused at once, so an attack costs its senders refusals rather than
// costing everybody else a wait, and requests that need no bcrypt (bearer
// tokens, SHA-256 passwords, cached basic credentials, certificates) never
// touch it.
type passwordGate struct {
	max       int // checks running at once, in all
	perClient int // checks running at once, per client key

	mu       sync.Mutex
	running  int
	byClient map[string]int // running checks by client key; absent when none
}

// newPasswordGate returns the gate opts describe.
func newPasswordGate(opts Options) *passwordGate {
	g := &passwordGate{max: opts.MaxPasswordChecks, perClient: opts.MaxClientPasswordChecks, byClient: make(map[string]int)}
	if g.max <= 0 {
		g.max = DefaultMaxPasswordChecks()
	}
	if g.perClient <= 0 {
		g.perClient = DefaultMaxClientPasswordChecks
	}
	return g
}

// acquire lets one check of the client key run, or refuses it: with
// ErrTooManyFailures (a *retryError) when the client already runs its
// share, with ErrBusy when the gateway runs its maximum. A client key ""
// (a caller that names no client) is bounded in all only. An acquired slot
// must be released.
func (g *passwordGate) acquire(key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case key != "" && g.byClient[key] >= g.perClient:
		return &retryError{wait: time.Second, msg: "too many password checks from this client at once", sentinel: ErrTooManyFailures}
	case g.running >= g.max:
		return &retryError{wait: time.Second, msg: "too many password checks in progress", sentinel: ErrBusy}
	}
	g.running++
	if key != "" {
		g.byClient[key]++
	}
	return nil
}

// release ends a check that acquire let run.
func (g *passwordGate) release(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	if key == "" {
		return
	}
	if g.byClient[key]--; g.byClient[key] <= 0 {
		delete(g.byClient, key)
	}
}
