package auth

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Defaults of the failure limit (see Options). DefaultMaxFailures is the limit a server
// configures when it has no reason to choose another (the gateway's auth.max_failures); in
// Options, a zero MaxFailures still means no limit.
const (
	DefaultMaxFailures   = 10
	DefaultFailureWindow = time.Minute
	defaultMaxClients    = 10000
)

// limiter counts failed authentications per client. A client's window
// begins with its first failure and lasts window; once it holds max
// failures, the client is refused until the window ends, and the next
// failure after that starts a new window. Successes neither reset nor
// extend anything: a client holding one valid credential cannot buy more
// guesses with it.
//
// At most maxClients entries are kept. Entries are ordered by the start of
// their window, so expired ones are dropped from the front; when the table
// is still full, the oldest entry is evicted. An attacker with many
// addresses therefore cannot grow memory, only shorten how long entries are
// remembered; IPv6 clients are grouped by /64, the block one host usually
// controls.
type limiter struct {
	now        func() time.Time
	max        int
	window     time.Duration
	maxClients int

	mu       sync.Mutex
	clients  map[string]*list.Element // of *failures
	order    *list.List               // *failures, oldest window first
	inflight map[string]int           // reserved password checks not yet settled, by client
}

// failures is one client's current window.
type failures struct {
	key   string
	start time.Time
	count int
}

// newLimiter returns the limiter opts describe, or nil when failures are
// not limited.
func newLimiter(opts Options) *limiter {
	if opts.MaxFailures <= 0 {
		return nil
	}
	l := &limiter{
		now: opts.Now, max: opts.MaxFailures, window: opts.FailureWindow, maxClients: opts.MaxClients,
		clients: make(map[string]*list.Element), order: list.New(), inflight: make(map[string]int),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.window <= 0 {
		l.window = DefaultFailureWindow
	}
	if l.maxClients <= 0 {
		l.maxClients = defaultMaxClients
	}
	return l
}

// retryAfter returns how long the client key must wait before it may try
// again, or zero when it is not refused. A nil limiter refuses nobody.
func (l *limiter) retryAfter(key string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waitLocked(key, 0)
}

// reserve takes one attempt of the client key before a password check
// runs, so that concurrent checks cannot overrun the limit: it refuses (a
// positive wait) when the client's failures in the window plus its
// reservations not yet settled reach the limit. A zero wait is a
// reservation, which settle must end exactly once.
func (l *limiter) reserve(key string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.waitLocked(key, l.inflight[key]); wait > 0 {
		return wait
	}
	l.inflight[key]++
	return 0
}

// settle ends a reservation of the client key: a failed check becomes a
// counted failure; a success, or a check that never ran, counts nothing.
func (l *limiter) settle(key string, failed bool) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight[key]--; l.inflight[key] <= 0 {
		delete(l.inflight, key)
	}
	if failed {
		l.failLocked(key)
	}
}

// record decides, atomically, the outcome of a check that took no
// reservation (one cheap enough to run before asking: a token, a SHA-256
// password, a cached basic credential, a certificate). A success is refused
// (a positive wait) when the client is over the limit; a failure is refused
// when its failures plus reservations reach the limit, and counted
// otherwise. So a client over the limit learns nothing from its
// credentials, however many requests it has in flight.
func (l *limiter) record(key string, failed bool) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	pending := 0
	if failed {
		pending = l.inflight[key]
	}
	if wait := l.waitLocked(key, pending); wait > 0 {
		return wait
	}
	if failed {
		l.failLocked(key)
	}
	return 0
}

// waitLocked returns how long the client key must wait when its failures
// in the current window plus pending reach the limit, or zero. When the
// failures alone do, the wait lasts until the window ends; when checks in
// flight make up the rest, one second (they settle within that, and may
// succeed). It drops the client's entry when its window has ended.
func (l *limiter) waitLocked(key string, pending int) time.Duration {
	count, now := 0, l.now()
	var end time.Time
	if e := l.clients[key]; e != nil {
		end = e.Value.(*failures).start.Add(l.window)
		if now.Before(end) {
			count = e.Value.(*failures).count
		} else {
			l.remove(e)
		}
	}
	switch {
	case count >= l.max:
		return end.Sub(now)
	case count+pending >= l.max:
		return time.Second
	}
	return 0
}

// failLocked counts one failure of the client key, starting a window when
// it has none.
func (l *limiter) failLocked(key string) {
	now := l.now()
	if e := l.clients[key]; e != nil {
		f := e.Value.(*failures)
		if now.Before(f.start.Add(l.window)) {
			f.count++
			return
		}
		f.start, f.count = now, 1
		l.order.MoveToBack(e)
		return
	}
	l.expire(now)
	if len(l.clients) >= l.maxClients {
		l.remove(l.order.Front())
	}
	l.clients[key] = l.order.PushBack(&failures{key: key, start: now, count: 1})
}

// expire drops the entries whose window has ended, oldest first.
func (l *limiter) expire(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		if now.Before(e.Value.(*failures).start.Add(l.window)) {
			return
		}
		l.remove(e)
	}
}

func (l *limiter) remove(e *list.Element) {
	delete(l.clients, e.Value.(*failures).key)
	l.order.Remove(e)
}

// len returns the number of clients remembered.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// clientKey is the limiter key of an IP address: the address for IPv4
// (IPv4-mapped IPv6 included), its /64 network for IPv6.
func clientKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		prefix, err := ip.Prefix(64)
		if err == nil {
			return prefix.String()
		}
	}
	return ip.String()
}
