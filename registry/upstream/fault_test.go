package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/schemagate/schemagate/tests/harness"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// TestFaults puts a fault-injecting proxy between the client and srfake: a read is retried
// (MaxAttempts attempts in all) and a write is sent once; every fault wraps ErrUnavailable and
// sets schemagate_upstream_up to 0, and a call after the fault clears succeeds and sets it to 1.
func TestFaults(t *testing.T) {
	fake := srfake.NewRegistry()
	target := httptest.NewServer(fake.Handler())
	t.Cleanup(target.Close)
	proxy := harness.StartFaultProxy(t, target.URL)
	c := newClient(t, Options{URL: proxy.URL(), Timeout: time.Second})
	seeded, err := c.Register(t.Context(), "faults-value", Schema{Schema: `"string"`})
	if err != nil {
		t.Fatal(err)
	}
	read := func(ctx context.Context) error { _, err := c.SchemaByID(ctx, seeded.ID); return err }
	write := func(ctx context.Context) error {
		_, err := c.Register(ctx, "faults-value", Schema{Schema: `"string"`})
		return err
	}

	tests := []struct {
		name    string
		fault   harness.Fault
		call    func(context.Context) error
		timeout time.Duration // the caller's deadline, 0 for none
		// want
		requests  int32
		deadline  bool // the error also wraps context.DeadlineExceeded
		apiStatus int  // the error is also an *APIError with this status
	}{
		{name: "5xx read", fault: harness.Fault5xx, call: read, requests: MaxAttempts, apiStatus: 503},
		{name: "5xx write", fault: harness.Fault5xx, call: write, requests: 1, apiStatus: 503},
		{name: "drop read", fault: harness.FaultDrop, call: read, requests: MaxAttempts},
		{name: "drop write", fault: harness.FaultDrop, call: write, requests: 1},
		{name: "slow read, beyond the timeout", fault: harness.FaultSlow, call: read, requests: 1, deadline: true},
		{name: "slow write, beyond the timeout", fault: harness.FaultSlow, call: write, requests: 1, deadline: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy.SetFault(tt.fault)
			proxy.ResetRequests()
			err := tt.call(t.Context())
			var apiErr *APIError
			type outcome struct {
				Requests              int32
				Unavailable, Deadline bool
				APIStatus             int
				Up, UpAfterRecovery   float64
				RecoveryError         string
			}
			got := outcome{
				Requests:    int32(proxy.Requests()),
				Unavailable: errors.Is(err, ErrUnavailable),
				Deadline:    errors.Is(err, context.DeadlineExceeded),
				Up:          testutil.ToFloat64(c.metrics.up),
			}
			if errors.As(err, &apiErr) {
				got.APIStatus = apiErr.Status
			}
			proxy.SetFault(harness.FaultNone)
			if err := read(t.Context()); err != nil {
				got.RecoveryError = err.Error()
			}
			got.UpAfterRecovery = testutil.ToFloat64(c.metrics.up)
			want := outcome{Requests: tt.requests, Unavailable: true, Deadline: tt.deadline, APIStatus: tt.apiStatus, Up: 0, UpAfterRecovery: 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error %v (-want +got):\n%s", err, diff)
			}
		})
	}

	t.Run("down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		down := newClient(t, Options{URL: "http://" + addr})
		if _, err := down.Subjects(t.Context()); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Subjects of a registry that is down: %v, want ErrUnavailable", err)
		}
		if up := testutil.ToFloat64(down.metrics.up); up != 0 {
			t.Errorf("schemagate_upstream_up = %v, want 0", up)
		}
	})

	t.Run("caller's deadline", func(t *testing.T) {
		// The caller's deadline, shorter than the timeout, ends the call and its retries.
		proxy.SetFault(harness.FaultSlow)
		defer proxy.SetFault(harness.FaultNone)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := read(ctx); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("read past the caller's deadline: %v, want ErrUnavailable and DeadlineExceeded", err)
		}
	})
}

// TestRetryBudget sends reads to an upstream that answers 503 to everything: retries stay
// within the budget (RetryBudgetBurst, then RetryBudgetRatio of the calls).
func TestRetryBudget(t *testing.T) {
	proxy := harness.StartFaultProxy(t, "http://127.0.0.1:1") // never forwarded to
	proxy.SetFault(harness.Fault5xx)
	c := newClient(t, Options{URL: proxy.URL()})
	const calls = 100
	for range calls {
		if _, err := c.Subjects(t.Context()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Subjects: %v, want ErrUnavailable", err)
		}
	}
	retries := proxy.Requests() - calls
	if limit := RetryBudgetBurst + int(calls*RetryBudgetRatio); retries > limit || retries < RetryBudgetBurst {
		t.Errorf("%d retries for %d calls, want between %d and %d", retries, calls, RetryBudgetBurst, limit)
	}
}

// TestPoolBound holds every request of an upstream that hangs: more concurrent calls than
// MaxConns never open more than MaxConns connections, and all of them end at their deadline.
func TestPoolBound(t *testing.T) {
	const maxConns, calls = 4, 20
	// All calls share one deadline. Once it has passed, the transport may still dial for the
	// waiters it had queued (dials outlive their request, to fill the idle pool); those come
	// after the hung connections are closed, so only connections accepted before the deadline
	// count against the bound.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	var accepted, arrived atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ctx.Err() == nil {
			arrived.Add(1)
		}
		<-r.Context().Done()
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew && ctx.Err() == nil {
			accepted.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(t, Options{URL: srv.URL, MaxConns: maxConns})

	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() { _, errs[i] = c.Versions(ctx, "pool-value") })
	}
	wg.Wait()

	if n := accepted.Load(); n > maxConns || n < 1 {
		t.Errorf("%d connections accepted before the deadline for %d concurrent calls, want 1 to MaxConns %d", n, calls, maxConns)
	}
	for i, err := range errs {
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call %d: %v, want ErrUnavailable and DeadlineExceeded", i, err)
		}
	}
	if got := arrived.Load(); got > maxConns {
		t.Errorf("%d requests reached the upstream before the deadline, want at most MaxConns %d", got, maxConns)
	}
}

// TestNewRefusesOptions checks the options New refuses, and that its errors never contain a
// secret.
func TestNewRefusesOptions(t *testing.T) {
	password := secretFile(t, "password", "s3cret-password")
	token := secretFile(t, "token", "s3cret-token")
	twoLines := secretFile(t, "two-lines", "s3cret\nmore")
	tests := []struct {
		name string
		opts Options
		want string // a part of the error
	}{
		{"no URL", Options{}, "scheme"},
		{"ftp", Options{URL: "ftp://registry"}, `scheme "ftp"`},
		{"credentials in the URL", Options{URL: "http://u:s3cret@registry"}, "must not carry credentials"},
		{"basic and bearer", Options{URL: "http://registry", Username: "u", PasswordFile: password, BearerTokenFile: token}, "exclusive"},
		{"username without password", Options{URL: "http://registry", Username: "u"}, "both a username and a password file"},
		{"unreadable password", Options{URL: "http://registry", Username: "u", PasswordFile: "/nonexistent/password"}, "read the password file"},
		{"two-line token", Options{URL: "http://registry", BearerTokenFile: twoLines}, "more than one line"},
		{"TLS over http", Options{URL: "http://registry", TLS: TLSOptions{CAFile: password}}, "need an https URL"},
		{"cert without key", Options{URL: "https://registry", TLS: TLSOptions{CertFile: password}}, "both a cert file and a key file"},
		{"CA file without PEM", Options{URL: "https://registry", TLS: TLSOptions{CAFile: password}}, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("New: %v contains a secret", err)
			}
		})
	}
}
