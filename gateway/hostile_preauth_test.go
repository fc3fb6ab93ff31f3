package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// countingBody is a request body of n bytes, a JSON array of zeros ("[0,0,…"), that counts
// the bytes the server reads from it.
type countingBody struct {
	n, read int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), b.n-b.read)
	for i := range k {
		switch {
		case b.read+i == 0:
			p[i] = '['
		case (b.read+i)%2 == 1:
			p[i] = '0'
		default:
			p[i] = ','
		}
	}
	b.read += k
	return int(k), nil
}

// TestV1AuthenticatesBeforeReadingTheBody sends /v1 a 7 MiB body (a JSON array of 3.5 million
// zeros, which grpc-gateway would turn into a ~40 MB message) through the gateway's HTTP
// handler and counts the bytes the handler read: without credentials none (401), with them
// the handler reads it.
func TestV1AuthenticatesBeforeReadingTheBody(t *testing.T) {
	tg := startGateway(t, testPrincipals(t))
	const size = 7 << 20
	tests := []struct {
		name, authz string
		wantCode    int
		wantRead    bool
	}{
		{"no credentials", "", http.StatusUnauthorized, false},
		{"wrong token", "Bearer nope", http.StatusUnauthorized, false},
		{"producer", "Bearer producer-token", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingBody{n: size}
			req := httptest.NewRequest("POST", "/v1/subjects/orders-value/validate", body)
			req.Header.Set("Content-Type", "application/json")
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			rec := httptest.NewRecorder()
			tg.g.httpSrv.Handler.ServeHTTP(rec, req)
			if tt.wantCode != 0 && rec.Code != tt.wantCode {
				t.Errorf("code = %d %s; want %d", rec.Code, rec.Body, tt.wantCode)
			}
			if got := body.read > 0; got != tt.wantRead {
				t.Errorf("the handler read %d of %d body bytes; want read = %v", body.read, size, tt.wantRead)
			}
		})
	}
}

// TestGRPCTapRefusesBeforeDecoding calls Validate without credentials with an 8 MB-class
// message (a JSON payload of a million nulls, ~23 MB of heap once decoded) and checks the
// refusal is Unauthenticated and that the process allocated far less than a decode would
// (the client's own marshalling included).
func TestGRPCTapRefusesBeforeDecoding(t *testing.T) {
	tg := startGateway(t, testPrincipals(t))
	values := make([]*structpb.Value, 1_000_000)
	for i := range values {
		values[i] = structpb.NewNullValue()
	}
	req := &pb.ValidateRequest{Subject: "orders-value", Json: structpb.NewListValue(&structpb.ListValue{Values: values})}
	client := pb.NewValidationServiceClient(tg.conn)
	// Warm the connection up, so its setup is not measured.
	if _, err := client.Validate(withToken(""), &pb.ValidateRequest{Subject: "x"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("small call without credentials: %v; want Unauthenticated", err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := client.Validate(withToken(""), req)
	runtime.ReadMemStats(&after)
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("large call without credentials: %v; want Unauthenticated", err)
	}
	t.Logf("allocated %d bytes during the refused call", after.TotalAlloc-before.TotalAlloc)
	// The client marshals ~2 MB; the server decoding it would allocate ~23 MB more.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("the call allocated %d bytes; want under 16 MiB (the server must refuse before decoding)", grew)
	}
}

// TestHealthWatchNeedsCredentials opens many health Watch streams without credentials: each is
// refused Unauthenticated (none is held open), and the process's goroutines stay bounded.
func TestHealthWatchNeedsCredentials(t *testing.T) {
	tg := startGateway(t, testPrincipals(t))
	hc := healthpb.NewHealthClient(tg.conn)
	base := runtime.NumGoroutine()
	for i := range 200 {
		w, err := hc.Watch(withToken(""), &healthpb.HealthCheckRequest{})
		if err == nil {
			_, err = w.Recv()
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("Watch %d without credentials: %v; want Unauthenticated", i, err)
		}
	}
	if n := runtime.NumGoroutine(); n > base+20 {
		t.Errorf("goroutines grew from %d to %d after 200 refused Watch streams", base, n)
	}
	if _, err := hc.Check(withToken(""), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("Check without credentials: %v; want it public", err)
	}
	w, err := hc.Watch(withToken("producer-token"), &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = w.Recv()
	}
	if err != nil {
		t.Errorf("Watch with credentials: %v", err)
	}
}

// TestGRPCStreamAndHeaderLimits checks server.grpc_max_concurrent_streams (the client queues
// calls beyond the limit: no more than the limit are ever open on the server, counted by the
// goroutines the open streams hold) and server.grpc_max_header_list_bytes (larger metadata is
// refused).
func TestGRPCStreamAndHeaderLimits(t *testing.T) {
	tg := startGatewayWith(t, func(c *Config) {
		c.Auth.Principals = testPrincipals(t)
		c.Server.GRPCMaxConcurrentStreams = 3
		c.Server.GRPCMaxHeaderListBytes = 8 << 10
	})
	t.Run("header list", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(withToken("producer-token"), "x-padding", strings.Repeat("a", 16<<10))
		_, err := pb.NewRegistryServiceClient(tg.conn).ListSubjects(ctx, &pb.ListSubjectsRequest{})
		if err == nil {
			t.Fatal("a call with 16 KiB of metadata succeeded; want it refused")
		}
		if _, err := pb.NewRegistryServiceClient(tg.conn).ListSubjects(withToken("producer-token"), &pb.ListSubjectsRequest{}); err != nil {
			t.Errorf("a normal call after it: %v", err)
		}
	})
	t.Run("concurrent streams", func(t *testing.T) {
		ctx, cancel := context.WithCancel(withToken("producer-token"))
		defer cancel()
		client := pb.NewValidationServiceClient(tg.conn)
		// Open 3 streams; the server acknowledges each (it answers with headers once the
		// handler runs: a first message round trip proves it).
		open := 0
		for range 3 {
			s, err := client.ValidateStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(&pb.ValidateStreamRequest{Request: &pb.ValidateRequest{Subject: "nope"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				t.Fatal(err)
			}
			open++
		}
		// A fourth stream must wait for quota: its first message does not reach a handler
		// before one of the others ends. Its context ends it, not a timer of the server.
		waitCtx, stop := context.WithCancel(ctx)
		var answered atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			s, err := client.ValidateStream(waitCtx)
			if err != nil {
				return
			}
			if s.Send(&pb.ValidateStreamRequest{Request: &pb.ValidateRequest{Subject: "nope"}}) != nil {
				return
			}
			if _, err := s.Recv(); err == nil {
				answered.Store(true)
			}
		}()
		// Meanwhile a unary call on another connection is answered: the limit is per connection.
		other, err := grpc.NewClient(tg.g.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := pb.NewRegistryServiceClient(other).ListSubjects(withToken("producer-token"), &pb.ListSubjectsRequest{}); err != nil {
			t.Errorf("a call on another connection: %v", err)
		}
		stop()
		<-done
		if answered.Load() {
			t.Errorf("a 4th stream was answered while %d were open; want it to wait for quota (limit 3)", open)
		}
	})
}

// TestPerIPConnectionLimit accepts connections through limitPerIP with a limit of 2: the third
// from the same IP is closed at once, and a slot frees when a connection closes.
func TestPerIPConnectionLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitPerIP(raw, 2)
	defer l.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2 := dial(), dial()
	defer c1.Close()
	defer c2.Close()
	s1, s2 := <-accepted, <-accepted
	c3 := dial()
	defer c3.Close()
	// The third is closed by the listener: reading it ends (EOF or reset), with a deadline so a
	// broken limit fails instead of hanging.
	_ = c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := c3.Read(b[:]); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Errorf("third connection from one IP: read %v; want it closed by the server", err)
	}
	if got := l.refused.Load(); got != 1 {
		t.Errorf("refused = %d; want 1", got)
	}
	// Closing an accepted connection frees its slot.
	_ = s1.Close()
	c4 := dial()
	defer c4.Close()
	s4 := <-accepted
	defer s4.Close()
	defer s2.Close()
	if got := l.refused.Load(); got != 1 {
		t.Errorf("refused = %d after a slot freed; want still 1", got)
	}
	if _, err := c4.Write([]byte("x")); err != nil {
		t.Errorf("write on the fourth connection: %v", err)
	}
	if _, err := io.ReadFull(s4, b[:]); err != nil || !bytes.Equal(b[:], []byte("x")) {
		t.Errorf("the fourth connection was not served: %q %v", b, err)
	}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
