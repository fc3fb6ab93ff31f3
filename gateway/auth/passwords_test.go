package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// bcryptProbe replaces an Authenticator's bcrypt comparison with one that
// counts calls and the most running at once and holds every call until
// open is closed.
type bcryptProbe struct {
	calls, running, most atomic.Int64
	open                 chan struct{}
}

func probeBcrypt(a *Authenticator) *bcryptProbe {
	pr := &bcryptProbe{open: make(chan struct{})}
	real := a.bcryptF
	a.bcryptF = func(hash, pw []byte) error {
		pr.calls.Add(1)
		n := pr.running.Add(1)
		defer pr.running.Add(-1)
		for m := pr.most.Load(); n > m && !pr.most.CompareAndSwap(m, n); m = pr.most.Load() {
		}
		<-pr.open
		return real(hash, pw)
	}
	return pr
}

// waitRunning polls until n bcrypt calls run at once; it fails the test
// when that does not happen within a generous deadline.
func (pr *bcryptProbe) waitRunning(t *testing.T, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); pr.running.Load() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d bcrypt calls running, want %d", pr.running.Load(), n)
		}
	}
}

// authRequest sends one request with the Authorization value header from
// remote through the HTTP middleware.
func authRequest(a *Authenticator, remote, header string) (*httptest.ResponseRecorder, error) {
	req := httptest.NewRequest(http.MethodGet, "/subjects", nil)
	req.RemoteAddr = remote
	req.Header.Set("Authorization", header)
	return serveMiddleware(a, PermSchemasRead, req)
}

// outcome names the sentinel of a middleware refusal, "ok" for none.
func outcome(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{{nil, "ok"}, {ErrBadCredentials, "bad_credentials"}, {ErrTooManyFailures, "too_many_failures"}, {ErrBusy, "busy"}} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return fmt.Sprintf("unexpected %v", err)
}

// TestConcurrentGuessesCannotOverrunLimit sends 300 wrong credentials at
// once from one client: each password check reserves its attempt before
// bcrypt runs, so at most auth.max_failures of them are checked, the rest
// are refused, and none succeeds. Once limited, the client is refused even
// with the right credentials (the limit's contract), and others are not.
func TestConcurrentGuessesCannotOverrunLimit(t *testing.T) {
	t.Parallel()
	const maxFailures, attempts, attacker = 10, 300, "192.0.2.66"
	tests := []struct {
		name       string
		guess      func(i int) string
		right      string
		wantBcrypt int64
	}{
		{"wrong password", func(i int) string { return basicHeader("alice", fmt.Sprint("guess-", i)) }, basicHeader("alice", alicePassword), maxFailures},
		{"unknown user", func(i int) string { return basicHeader(fmt.Sprint("user-", i), "guess") }, basicHeader("alice", alicePassword), maxFailures},
		{"wrong token", func(i int) string { return fmt.Sprint("Bearer guess-", i) }, "Bearer " + aliceToken, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := newTestAuthenticator(t, Options{MaxFailures: maxFailures, FailureWindow: time.Minute, Now: newFakeClock().Now, MaxPasswordChecks: 4})
			probe := probeBcrypt(a)
			close(probe.open)
			var (
				mu     sync.Mutex
				counts = map[string]int{}
				wg     sync.WaitGroup
			)
			for i := range attempts {
				wg.Go(func() {
					_, err := authRequest(a, fmt.Sprintf("%s:%d", attacker, 1024+i), tt.guess(i))
					mu.Lock()
					defer mu.Unlock()
					counts[outcome(err)]++
				})
			}
			wg.Wait()
			if counts["ok"] != 0 || counts["bad_credentials"] > maxFailures || counts["bad_credentials"]+counts["too_many_failures"] != attempts {
				t.Errorf("outcomes of %d concurrent guesses: %v; want at most %d bad_credentials, the rest too_many_failures", attempts, counts, maxFailures)
			}
			// The checks that found the client's share of password checks taken were refused
			// without counting; guess on until the limit refuses.
			for i := 0; i <= maxFailures; i++ {
				if _, err := authRequest(a, attacker+":1", tt.guess(attempts+i)); errors.Is(err, ErrTooManyFailures) {
					break
				}
			}
			_, err := authRequest(a, attacker+":1", tt.right)
			if !errors.Is(err, ErrTooManyFailures) {
				t.Errorf("right credentials from the limited client: %v, want ErrTooManyFailures", err)
			}
			type result struct {
				Bcrypt         int64
				BadCredentials float64
			}
			got := result{probe.calls.Load(), testutil.ToFloat64(a.metrics.failures.WithLabelValues(TransportHTTP, reasonBadCredentials))}
			if diff := cmp.Diff(result{tt.wantBcrypt, maxFailures}, got); diff != "" {
				t.Errorf("bcrypt calls and counted failures (-want +got):\n%s", diff)
			}
			if rec, err := authRequest(a, "192.0.2.67:1", tt.right); err != nil || rec.Body.String() != "alice" {
				t.Errorf("another client: %v, %q; want alice", err, rec.Body)
			}
		})
	}
}

// TestPasswordChecksBounded sends 1,000 unknown users at once from as many
// clients (IPv4 addresses and IPv6 /64s) while bcrypt is held: never more
// than auth.max_concurrent_password_checks run, the others are refused
// with ErrBusy and Retry-After instead of waiting, and callers that need no
// bcrypt (a bearer token, a cached basic credential, a SHA-256 password)
// are answered while the checks are still held.
func TestPasswordChecksBounded(t *testing.T) {
	t.Parallel()
	const maxChecks, attempts = 2, 1000
	a, _ := newTestAuthenticator(t, Options{MaxFailures: 10, FailureWindow: time.Minute, Now: newFakeClock().Now, MaxPasswordChecks: maxChecks})
	if _, err := authRequest(a, "203.0.113.1:1", basicHeader("alice", alicePassword)); err != nil {
		t.Fatalf("warming the cache: %v", err)
	}
	probe := probeBcrypt(a)
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
	)
	for i := range attempts {
		remote := fmt.Sprintf("10.%d.%d.1:4000", i/256, i%256)
		if i%2 == 1 {
			remote = fmt.Sprintf("[2001:db8:%x::1]:4000", i)
		}
		wg.Go(func() {
			_, err := authRequest(a, remote, basicHeader(fmt.Sprint("nobody-", i), "guess"))
			mu.Lock()
			defer mu.Unlock()
			counts[outcome(err)]++
		})
	}
	probe.waitRunning(t, maxChecks)
	served := []struct{ name, header, want string }{
		{"bearer token", "Bearer " + aliceToken, "alice"},
		{"cached basic credential", basicHeader("alice", alicePassword), "alice"},
		{"SHA-256 password", basicHeader("bob", bobPassword), "bob"},
	}
	for _, s := range served {
		rec, err := authRequest(a, "203.0.113.2:1", s.header)
		if err != nil || rec.Code != http.StatusOK || rec.Body.String() != s.want {
			t.Errorf("%s during the attack: %v, %d %q; want 200 %s", s.name, err, rec.Code, rec.Body, s.want)
		}
	}
	rec, err := authRequest(a, "203.0.113.3:1", basicHeader("carol", "first-login"))
	if !errors.Is(err, ErrBusy) || rec.Header().Get("Retry-After") != "1" || err.Error() != "too many password checks in progress; retry in 1s" {
		t.Errorf("a password check over the bound: %v, Retry-After %q; want ErrBusy, 1", err, rec.Header().Get("Retry-After"))
	}
	close(probe.open)
	wg.Wait()
	if got := probe.most.Load(); got != maxChecks {
		t.Errorf("at most %d bcrypt calls ran at once, want %d", got, maxChecks)
	}
	want := map[string]int{"bad_credentials": int(probe.calls.Load()), "busy": attempts - int(probe.calls.Load())}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("outcomes: unknown users either checked or refused busy (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(a.metrics.passwordChecks.WithLabelValues(passwordBusy)); got != float64(want["busy"]+1) {
		t.Errorf("password checks refused busy: metric %v, want %d", got, want["busy"]+1)
	}
}

// TestClientPasswordChecksShare: one client runs at most its share of
// password checks of different credentials at once; one more is refused with ErrTooManyFailures and
// is not counted as a failure, and other clients still get theirs.
func TestClientPasswordChecksShare(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{MaxFailures: 3, FailureWindow: time.Minute, Now: newFakeClock().Now, MaxPasswordChecks: 8})
	probe := probeBcrypt(a)
	const client = "192.0.2.80:1"
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range DefaultMaxClientPasswordChecks {
		wg.Go(func() { _, errs[i] = authRequest(a, client, basicHeader("alice", fmt.Sprint("guess-", i))) })
	}
	probe.waitRunning(t, DefaultMaxClientPasswordChecks)
	rec, err := authRequest(a, client, basicHeader("alice", "guess-over-share"))
	if !errors.Is(err, ErrTooManyFailures) || rec.Header().Get("Retry-After") != "1" || err.Error() != "too many password checks from this client at once; retry in 1s" {
		t.Errorf("one check over the client's share: %v, Retry-After %q; want ErrTooManyFailures, 1", err, rec.Header().Get("Retry-After"))
	}
	wg.Go(func() { _, errs[2] = authRequest(a, "192.0.2.81:1", basicHeader("alice", "guess-other-client")) })
	probe.waitRunning(t, DefaultMaxClientPasswordChecks+1)
	close(probe.open)
	wg.Wait()
	// The client has 2 failures counted, not 3: one more guess is checked, the next refused.
	_, errs[3] = authRequest(a, client, basicHeader("alice", "guess-3"))
	for _, e := range errs {
		if !errors.Is(e, ErrBadCredentials) {
			t.Errorf("checked guess: %v, want ErrBadCredentials", e)
		}
	}
	if _, err := authRequest(a, client, basicHeader("alice", "guess-4")); !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("guess over the limit: %v, want ErrTooManyFailures", err)
	}
}

// TestSameCredentialSharesOneCheck: a client that sends one user's right password on many
// connections at once (a producer's threads starting up) costs one bcrypt comparison, and every
// request gets the principal: none is refused for the client's share of password checks or for
// the failure limit. The same wrong password sent many times at once is one failed attempt.
func TestSameCredentialSharesOneCheck(t *testing.T) {
	const requests, maxFailures = 50, 10
	tests := []struct {
		name       string
		password   string
		want       string
		wantFailed float64
	}{
		{"right password", alicePassword, "ok", 0},
		{"wrong password", "not-alices", "bad_credentials", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newTestAuthenticator(t, Options{MaxFailures: maxFailures, FailureWindow: time.Minute, Now: newFakeClock().Now})
			probe := probeBcrypt(a)
			var (
				mu     sync.Mutex
				counts = map[string]int{}
				wg     sync.WaitGroup
			)
			for i := range requests {
				wg.Go(func() {
					_, err := authRequest(a, fmt.Sprintf("192.0.2.10:%d", 1024+i), basicHeader("alice", tt.password))
					mu.Lock()
					defer mu.Unlock()
					counts[outcome(err)]++
				})
			}
			probe.waitRunning(t, 1)
			for deadline := time.Now().Add(10 * time.Second); a.flightWaiters(t) < requests-1; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d requests wait for the running check", a.flightWaiters(t), requests-1)
				}
			}
			close(probe.open)
			wg.Wait()
			if diff := cmp.Diff(map[string]int{tt.want: requests}, counts); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if got := probe.calls.Load(); got != 1 {
				t.Errorf("bcrypt calls = %d; want 1", got)
			}
			if got := a.limit.failures("192.0.2.10"); float64(got) != tt.wantFailed {
				t.Errorf("failures counted against the client = %d; want %v", got, tt.wantFailed)
			}
		})
	}
}

// failures returns the failures counted against the client key in its current window.
func (l *limiter) failures(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.clients[key]; ok {
		return e.Value.(*failures).count
	}
	return 0
}

// flightWaiters returns how many requests wait for a running password check to answer them:
// the goroutines blocked in passwordFlight.wait, counted from their stacks.
func (a *Authenticator) flightWaiters(t *testing.T) int {
	t.Helper()
	buf := make([]byte, 1<<22)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*passwordFlight).wait")
}
