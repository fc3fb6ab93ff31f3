package harness

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// Fault is what a FaultProxy does to the requests it gets.
type Fault int32

// The faults of a FaultProxy.
const (
	// FaultNone passes requests on to the target.
	FaultNone Fault = iota
	// FaultDown closes the connection without an answer, as a registry that went away does.
	FaultDown
	// FaultSlow answers nothing until the client gives up.
	FaultSlow
	// Fault5xx answers 503 with a Confluent error body.
	Fault5xx
	// FaultDrop sends the headers and part of the body, then closes the connection.
	FaultDrop
)

// String names the fault, for subtest names.
func (f Fault) String() string {
	return [...]string{"none", "down", "slow", "5xx", "drop"}[f]
}

// FaultProxy is an HTTP proxy in front of a registry that injects its fault into every request
// while the fault is set, and counts the requests it got. It is safe for concurrent use.
type FaultProxy struct {
	fault    atomic.Int32
	requests atomic.Int32
	srv      *httptest.Server
}

// StartFaultProxy starts a FaultProxy in front of the registry at target (a base URL), passing
// requests on until SetFault says otherwise. It is closed when the test ends.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(u)
	p := &FaultProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		switch Fault(p.fault.Load()) {
		case FaultDown:
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		case FaultSlow:
			// The server notices the client leaving only once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		case Fault5xx:
			w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error_code":50301,"message":"overloaded"}`))
		case FaultDrop:
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"schema":"`))
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		default:
			forward.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's base URL.
func (p *FaultProxy) URL() string { return p.srv.URL }

// SetFault sets what the proxy does to the requests from now on.
func (p *FaultProxy) SetFault(f Fault) { p.fault.Store(int32(f)) }

// Requests counts the requests the proxy got since it started or since ResetRequests.
func (p *FaultProxy) Requests() int { return int(p.requests.Load()) }

// ResetRequests sets the request count to zero.
func (p *FaultProxy) ResetRequests() { p.requests.Store(0) }
