package gateway

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// clientsFrom returns an HTTP client and a gRPC connection to sg whose connections come from
// the loopback address ip (Linux routes all of 127.0.0.0/8 to the loopback interface), so one
// test can be several clients.
func clientsFrom(t *testing.T, sg *testGateway, ip string) (*http.Client, *grpc.ClientConn) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	conn, err := grpc.NewClient(sg.g.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, conn
}

// TestFailedAuthenticationLimit runs the failure limit through the real listeners: failures of
// one client over /v1 (which reaches gRPC in-process), gRPC and the Confluent API add up, as
// the client is its IP address on every transport; past auth.max_failures that client is
// refused everywhere, valid credentials or not, in each surface's error shape with a
// Retry-After, while another client and the public endpoints are not affected.
func TestFailedAuthenticationLimit(t *testing.T) {
	sg := startGatewayWith(t, func(c *Config) {
		c.Auth.MaxFailures = 3
		c.Auth.Principals = []auth.PrincipalConfig{{Name: "reader", Roles: []string{"producer"}, TokenSHA256: secTokenHash("reader-token")}}
	})
	base := "http://" + sg.g.HTTPAddr()
	const good, bad = "Bearer reader-token", "Bearer guess"
	attackerHTTP, attackerGRPC := clientsFrom(t, sg, "127.0.0.2")
	neighbourHTTP, neighbourGRPC := clientsFrom(t, sg, "127.0.0.1")

	// No credentials are not failures.
	for range 5 {
		if code, _, err := secSend(attackerHTTP, "GET", base+"/v1/subjects", "", "", nil); err != nil || code != http.StatusUnauthorized {
			t.Fatalf("no credentials: %d (%v), want 401", code, err)
		}
	}
	if code, body, err := secSend(attackerHTTP, "GET", base+"/v1/subjects", bad, "", nil); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("failure 1 over /v1: %d %s (%v), want 401", code, body, err)
	}
	if code := secListSubjectsCode(attackerGRPC, "authorization", bad); code != codes.Unauthenticated {
		t.Fatalf("failure 2 over gRPC: %s, want Unauthenticated", code)
	}
	forwarded := http.Header{"X-Forwarded-For": {"198.51.100.1"}} // never trusted
	if code, body, err := secSend(attackerHTTP, "GET", base+"/subjects", "Basic bWFsbG9yeTpndWVzcw==", "", forwarded); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("failure 3 over the Confluent API: %d %s (%v), want 401", code, body, err)
	}

	const msgPrefix = "too many failed authentication attempts from this client; retry in "
	checkRetryAfter := func(what, value string) {
		t.Helper()
		if n, err := strconv.Atoi(value); err != nil || n < 1 || n > 60 {
			t.Errorf("%s: Retry-After %q, want whole seconds within the 1m window", what, value)
		}
	}
	for _, path := range []string{"/v1/subjects", "/subjects"} {
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", good)
		resp, err := attackerHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("GET %s past the limit = %d %s, want 429", path, resp.StatusCode, body.String())
			continue
		}
		checkRetryAfter(path, resp.Header.Get("Retry-After"))
		msg, _ := secJSONField(t, body.String(), "message").(string)
		if !strings.HasPrefix(msg, msgPrefix) {
			t.Errorf("GET %s: message %q, want it to start %q", path, msg, msgPrefix)
		}
		if path == "/subjects" {
			if got := secJSONField(t, body.String(), "error_code"); got != float64(42901) {
				t.Errorf("Confluent error_code = %v, want 42901", got)
			}
		} else if got := secJSONField(t, body.String(), "code"); got != float64(codes.ResourceExhausted) {
			t.Errorf("/v1 code = %v, want %d (ResourceExhausted)", got, codes.ResourceExhausted)
		}
	}
	// The gRPC refusal comes from the tap handle, before any message is read: the wait is a
	// RetryInfo detail (a tap cannot send the retry-after trailer).
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", good), 10*time.Second)
	defer cancel()
	_, err := pb.NewRegistryServiceClient(attackerGRPC).ListSubjects(ctx, &pb.ListSubjectsRequest{})
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || !strings.HasPrefix(st.Message(), msgPrefix) {
		t.Errorf("gRPC past the limit = %s %q, want ResourceExhausted %q…", st.Code(), st.Message(), msgPrefix)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri
		}
	}
	if retry == nil {
		t.Errorf("gRPC refusal details = %v, want a RetryInfo", st.Details())
	} else {
		checkRetryAfter("gRPC RetryInfo", strconv.Itoa(int(retry.GetRetryDelay().AsDuration().Seconds())))
	}
	if code, _, err := secSend(attackerHTTP, "GET", base+"/healthz", "", "", nil); err != nil || code != http.StatusOK {
		t.Errorf("/healthz from the refused client = %d (%v), want 200: public endpoints are not limited", code, err)
	}

	for _, path := range []string{"/v1/subjects", "/subjects"} {
		if code, body, err := secSend(neighbourHTTP, "GET", base+path, good, "", nil); err != nil || code != http.StatusOK {
			t.Errorf("GET %s from another client = %d %s (%v), want 200", path, code, body, err)
		}
	}
	if code := secListSubjectsCode(neighbourGRPC, "authorization", good); code != codes.OK {
		t.Errorf("gRPC from another client = %s, want OK", code)
	}

	const want = `
# HELP schemagate_auth_failures_total Requests refused before authorization, by transport (grpc, http) and reason: no_credentials, bad_credentials (wrong, unknown or malformed credentials, unknown certificate), rate_limited (too many failed authentications from the client).
# TYPE schemagate_auth_failures_total counter
schemagate_auth_failures_total{reason="bad_credentials",transport="grpc"} 1
schemagate_auth_failures_total{reason="bad_credentials",transport="http"} 2
schemagate_auth_failures_total{reason="no_credentials",transport="grpc"} 0
schemagate_auth_failures_total{reason="no_credentials",transport="http"} 5
schemagate_auth_failures_total{reason="rate_limited",transport="grpc"} 1
schemagate_auth_failures_total{reason="rate_limited",transport="http"} 2
`
	if err := testutil.GatherAndCompare(sg.metrics, strings.NewReader(want), "schemagate_auth_failures_total"); err != nil {
		t.Error(err)
	}
}
