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

	mu      sync.Mutex
	clients map[string]*list.Element // of *failures
	order   *list.List               // *failures, oldest window first
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
		clients: make(map[string]*list.Element), order: list.New(),
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
	e := l.clients[key]
	if e == nil {
		return 0
	}
	f := e.Value.(*failures)
	now := l.now()
	end := f.start.Add(l.window)
	if !now.Before(end) {
		l.remove(e)
		return 0
	}
	if f.count < l.max {
		return 0
	}
	return end.Sub(now)
}

// fail records one failed authentication of the client key.
func (l *limiter) fail(key string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
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
