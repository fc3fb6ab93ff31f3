package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLimiterWindow(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newLimiter(Options{MaxFailures: 3, FailureWindow: time.Minute, Now: clock.Now})
	type step struct {
		advance time.Duration
		fail    string // key that fails, or ""
		check   string // key whose wait is read
		want    time.Duration
	}
	steps := []step{
		{fail: "a", check: "a", want: 0},                                           // 1 failure at t=0
		{advance: 10 * time.Second, fail: "a", check: "a"},                         // 2 at t=10s
		{advance: 10 * time.Second, fail: "a", check: "a", want: 40 * time.Second}, // 3 at t=20s: refused until t=60s
		{check: "b", want: 0},                                                      // another client is not affected
		{advance: 39 * time.Second, check: "a", want: time.Second},
		{advance: time.Second, check: "a", want: 0}, // t=60s: the window is over
		{fail: "a", check: "a", want: 0},            // a new window starts with 1 failure
		{advance: 30 * time.Second, fail: "a", check: "a"},
		{fail: "a", check: "a", want: time.Minute - 30*time.Second}, // 3 within the new window
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if s.fail != "" {
			l.record(s.fail, true)
		}
		if got := l.retryAfter(s.check); got != s.want {
			t.Errorf("step %d: retryAfter(%q) = %s, want %s", i, s.check, got, s.want)
		}
	}
	var none *limiter // MaxFailures 0: no limit at all
	none.record("a", true)
	if got := none.retryAfter("a"); got != 0 || newLimiter(Options{}) != nil {
		t.Errorf("a disabled limiter refuses for %s", got)
	}
}

// TestLimiterReservations: reservations of password checks count against
// the limit while in flight, so concurrent checks cannot overrun it; a
// failed one becomes a failure, a successful one counts nothing, and a
// cheap check is decided against failures and reservations at once.
func TestLimiterReservations(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newLimiter(Options{MaxFailures: 3, FailureWindow: time.Minute, Now: clock.Now})
	type step struct {
		op   string // reserve, settle-failed, settle-ok, record-failed, record-ok
		want time.Duration
	}
	steps := []step{
		{op: "reserve"}, {op: "reserve"}, {op: "reserve"}, // 3 in flight
		{op: "reserve", want: time.Second},       // failures 0 + 3 in flight: refused until they settle
		{op: "record-failed", want: time.Second}, // a cheap failure is refused too, not counted
		{op: "record-ok"},                        // a cheap success passes: the client has no failures
		{op: "settle-ok"},                        // a success frees its reservation
		{op: "record-failed"},                    // 1 failure + 2 in flight
		{op: "settle-failed"},                    // 2 failures + 1 in flight
		{op: "reserve", want: time.Second},
		{op: "settle-failed"},                // 3 failures: over the limit for the window
		{op: "record-ok", want: time.Minute}, // right credentials are refused too
		{op: "reserve", want: time.Minute},
	}
	for i, s := range steps {
		var got time.Duration
		switch s.op {
		case "reserve":
			got = l.reserve("a")
		case "settle-failed", "settle-ok":
			l.settle("a", s.op == "settle-failed")
		case "record-failed", "record-ok":
			got = l.record("a", s.op == "record-failed")
		}
		if got != s.want {
			t.Errorf("step %d %s: wait %s, want %s", i, s.op, got, s.want)
		}
	}
	if got := len(l.inflight); got != 0 {
		t.Errorf("%d clients with reservations left, want 0", got)
	}
}

func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newLimiter(Options{MaxFailures: 1, FailureWindow: time.Minute, MaxClients: 3, Now: clock.Now})
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		l.record(k, true)
		clock.Advance(time.Second)
	}
	remembered := func() []string {
		var keys []string
		for e := l.order.Front(); e != nil; e = e.Next() {
			keys = append(keys, e.Value.(*failures).key)
		}
		return keys
	}
	if diff := cmp.Diff([]string{"k2", "k3", "k4"}, remembered()); diff != "" {
		t.Errorf("full table evicts the oldest (-want +got):\n%s", diff)
	}
	// k2 (t=1s) and k3 (t=2s) have expired at t=62s; k4 (t=3s) has not. A new client's failure
	// drops the expired entries instead of evicting a live one.
	clock.Advance(58 * time.Second)
	l.record("k5", true)
	if diff := cmp.Diff([]string{"k4", "k5"}, remembered()); diff != "" {
		t.Errorf("expired entries are dropped first (-want +got):\n%s", diff)
	}
	if l.retryAfter("k4") == 0 || l.retryAfter("k5") == 0 {
		t.Error("k4 and k5 are over the limit and should be refused")
	}

	// The default bound: 10000 clients, however many addresses fail.
	d := newLimiter(Options{MaxFailures: 5})
	for i := range defaultMaxClients + 50 {
		d.record(fmt.Sprintf("client-%d", i), true)
	}
	if got := d.len(); got != defaultMaxClients {
		t.Errorf("default table holds %d clients, want %d", got, defaultMaxClients)
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"}, // IPv4-mapped: the same client as over IPv4
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::99", "2001:db8:1:2::/64"}, // one /64 is one client
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		if got := clientKey(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("clientKey(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if got, want := addrKey("tcp", "[2001:db8:1:2::5]:443"), "2001:db8:1:2::/64"; got != want {
		t.Errorf("addrKey of an IPv6 host:port = %q, want %q", got, want)
	}
	if got, want := addrKey("unix", "/run/sg.sock"), "unix:/run/sg.sock"; got != want {
		t.Errorf("addrKey of a non-IP address = %q, want %q", got, want)
	}
}

// TestHTTPMiddlewareRateLimit checks what the middleware hands to fail and
// the Retry-After header; the 429 and body that the Confluent API makes of
// them are checked in gateway/confluent (TestAuthRateLimit).
func TestHTTPMiddlewareRateLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	a, _ := newTestAuthenticator(t, Options{MaxFailures: 3, FailureWindow: time.Minute, Now: clock.Now, Registerer: reg})
	const attacker, neighbour = "192.0.2.1:4000", "192.0.2.2:4000"
	good, bad := "Bearer "+aliceToken, "Bearer guess"
	steps := []struct {
		name      string
		advance   time.Duration
		remote    string
		auth      string
		wantErr   error // sentinel handed to fail; nil: allowed
		wantRetry string
	}{
		{name: "no credentials 1", remote: attacker, wantErr: ErrNoCredentials},
		{name: "no credentials 2", remote: attacker, wantErr: ErrNoCredentials},
		{name: "no credentials 3", remote: attacker, wantErr: ErrNoCredentials},
		{name: "no credentials do not count", remote: attacker, auth: good},
		{name: "bad 1", remote: attacker, auth: bad, wantErr: ErrBadCredentials},
		{name: "bad 2 from another port", remote: "192.0.2.1:4001", auth: bad, wantErr: ErrBadCredentials},
		{name: "bad 3", remote: attacker, auth: basicHeader("mallory", "guess"), wantErr: ErrBadCredentials},
		{name: "valid credentials refused too", remote: attacker, auth: good, wantErr: ErrTooManyFailures, wantRetry: "60"},
		{name: "no credentials refused too", remote: attacker, wantErr: ErrTooManyFailures, wantRetry: "60"},
		{name: "X-Forwarded-For is not trusted", remote: attacker, auth: good, wantErr: ErrTooManyFailures, wantRetry: "60"},
		{name: "neighbour unaffected", remote: neighbour, auth: good},
		{name: "half way", advance: 30 * time.Second, remote: attacker, auth: good, wantErr: ErrTooManyFailures, wantRetry: "30"},
		{name: "rounded up", advance: 29*time.Second + time.Millisecond, remote: attacker, auth: good, wantErr: ErrTooManyFailures, wantRetry: "1"},
		{name: "window over", advance: time.Second, remote: attacker, auth: good},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		req := httptest.NewRequest(http.MethodGet, "/subjects", nil)
		req.RemoteAddr = s.remote
		if s.auth != "" {
			req.Header.Set("Authorization", s.auth)
		}
		req.Header.Set("X-Forwarded-For", "198.51.100.1")
		rec, err := serveMiddleware(a, PermSchemasRead, req)
		if !errors.Is(err, s.wantErr) || rec.Header().Get("Retry-After") != s.wantRetry { // errors.Is(err, nil): err == nil
			t.Fatalf("%s: %v, Retry-After %q; want %v, %q", s.name, err, rec.Header().Get("Retry-After"), s.wantErr, s.wantRetry)
		}
		if s.wantErr == nil && rec.Body.String() != "alice" {
			t.Errorf("%s: next saw %q, want alice", s.name, rec.Body)
		}
		if !errors.Is(err, ErrTooManyFailures) {
			continue
		}
		if want := "too many failed authentication attempts from this client; retry in " + s.wantRetry + "s"; err.Error() != want {
			t.Errorf("%s: message %q, want %q", s.name, err, want)
		}
		if retry, _ := RetryAfter(err); retry != s.wantRetry {
			t.Errorf("%s: RetryAfter = %q, want %q", s.name, retry, s.wantRetry)
		}
	}
	const wantMetrics = `
# HELP schemagate_auth_failures_total Requests refused before authorization, by transport (grpc, http) and reason: no_credentials, bad_credentials (wrong, unknown or malformed credentials, unknown certificate), rate_limited (too many failed authentications from the client).
# TYPE schemagate_auth_failures_total counter
schemagate_auth_failures_total{reason="bad_credentials",transport="grpc"} 0
schemagate_auth_failures_total{reason="bad_credentials",transport="http"} 3
schemagate_auth_failures_total{reason="no_credentials",transport="grpc"} 0
schemagate_auth_failures_total{reason="no_credentials",transport="http"} 3
schemagate_auth_failures_total{reason="rate_limited",transport="grpc"} 0
schemagate_auth_failures_total{reason="rate_limited",transport="http"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantMetrics), "schemagate_auth_failures_total"); err != nil {
		t.Error(err)
	}
}

func TestInterceptorRateLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a, _ := newTestAuthenticator(t, Options{MaxFailures: 2, FailureWindow: time.Minute, Now: clock.Now})
	conn, rec := startGRPC(t, a)
	call := func(authorization string) (metadata.MD, error) {
		var trailer metadata.MD
		err := rec.call(t, withAuth(t.Context(), authorization), func(ctx context.Context) error {
			return conn.Invoke(ctx, methodRead, new(emptypb.Empty), new(wrapperspb.StringValue), grpc.Trailer(&trailer))
		})
		return trailer, err
	}
	for range 2 {
		if _, err := call("Bearer guess"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("wrong token: %v, want ErrBadCredentials", err)
		}
	}
	clock.Advance(15 * time.Second)
	trailer, err := call("Bearer " + aliceToken)
	if !errors.Is(err, ErrTooManyFailures) || err.Error() != "too many failed authentication attempts from this client; retry in 45s" {
		t.Errorf("over the limit: %v, want ErrTooManyFailures naming the wait", err)
	}
	if retry, ok := RetryAfter(err); !ok || retry != "45" {
		t.Errorf("RetryAfter = %q, %v; want 45", retry, ok)
	}
	if diff := cmp.Diff([]string{"45"}, trailer.Get(RetryAfterMetadataKey)); diff != "" {
		t.Errorf("retry-after trailer (-want +got):\n%s", diff)
	}
	if _, err := rec.watch(t, withAuth(t.Context(), "Bearer "+aliceToken), conn); !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("stream over the limit: %v, want ErrTooManyFailures", err)
	}
	clock.Advance(45 * time.Second)
	if _, err := call("Bearer " + aliceToken); err != nil {
		t.Errorf("after the window: %v, want success", err)
	}
}
