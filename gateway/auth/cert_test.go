package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// certPrincipals adds to testPrincipals a principal that authenticates only
// by client certificate.
func certPrincipals(t testing.TB) []PrincipalConfig {
	return append(testPrincipals(t), PrincipalConfig{Name: "svc", Roles: []string{"producer"}, ClientCertCN: "svc.example"})
}

func TestClientCertPrincipalValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		principals []PrincipalConfig
		wantErr    string // "" means valid
	}{
		{name: "certificate only", principals: []PrincipalConfig{{Name: "svc", Roles: []string{"producer"}, ClientCertCN: "svc.example"}}},
		{name: "certificate and token", principals: []PrincipalConfig{{Name: "svc", Roles: []string{"producer"}, ClientCertCN: "svc.example", TokenSHA256: sha256Hex("t")}}},
		{name: "blank common name is no credential", principals: []PrincipalConfig{{Name: "svc", Roles: []string{"producer"}, ClientCertCN: "  "}},
			wantErr: "no credential: set token_sha256, password_bcrypt, password_sha256 or client_cert_cn"},
		{name: "shared common name", principals: []PrincipalConfig{
			{Name: "a", Roles: []string{"producer"}, ClientCertCN: "svc.example"},
			{Name: "b", Roles: []string{"admin"}, ClientCertCN: "svc.example"},
		}, wantErr: `principals "a" and "b" have the same client_cert_cn`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.principals, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New = %v, want ErrInvalidConfig containing %q", err, tt.wantErr)
			}
		})
	}
	if got := (PrincipalConfig{Name: "svc", Roles: []string{"producer"}, ClientCertCN: "svc.example"}).String(); !strings.Contains(got, "client_cert") {
		t.Errorf("String() = %q, want the credential kind client_cert", got)
	}
}

func TestAuthenticateCredentials(t *testing.T) {
	t.Parallel()
	a, err := New(certPrincipals(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := Principal{Name: "svc", Roles: []Role{RoleProducer}}
	root := Principal{Name: "root", Roles: []Role{RoleAdmin}}
	tests := []struct {
		name    string
		creds   Credentials
		want    Principal
		wantErr error
	}{
		{name: "certificate", creds: Credentials{ClientCertCN: "svc.example"}, want: svc},
		{name: "unknown common name", creds: Credentials{ClientCertCN: "stranger.example"}, wantErr: ErrBadCredentials},
		{name: "common name is case-sensitive", creds: Credentials{ClientCertCN: "SVC.example"}, wantErr: ErrBadCredentials},
		{name: "the header decides over a certificate", creds: Credentials{ClientCertCN: "svc.example", Authorization: "Bearer " + rootToken}, want: root},
		{name: "a wrong header is not saved by a certificate", creds: Credentials{ClientCertCN: "svc.example", Authorization: "Bearer guess"}, wantErr: ErrBadCredentials},
		{name: "header without a certificate", creds: Credentials{Authorization: "Bearer " + rootToken}, want: root},
		{name: "nothing", creds: Credentials{}, wantErr: ErrNoCredentials},
		{name: "principal name is not a certificate", creds: Credentials{ClientCertCN: "svc"}, wantErr: ErrBadCredentials},
		{name: "certificate principal has no password", creds: Credentials{Authorization: basicHeader("svc", "svc.example")}, wantErr: ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := a.AuthenticateCredentials(context.Background(), tt.creds)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFailedBasicChecksDoTheSameWork asserts the code path that keeps user
// names from being probed by timing: every failed basic check, whether the
// user is unknown, has no password, or has a wrong bcrypt or SHA-256
// password, runs exactly one bcrypt comparison and gets the same error.
// (Timing itself is not asserted.)
func TestFailedBasicChecksDoTheSameWork(t *testing.T) {
	t.Parallel()
	a, err := New(certPrincipals(t), Options{BasicCacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	calls := countBcrypt(a)
	tests := []struct{ name, user string }{
		{"unknown user", "mallory"},
		{"wrong bcrypt password", "alice"},
		{"wrong sha256 password", "bob"},
		{"user with a token only", "root"},
		{"user with a certificate only", "svc"},
		{"empty user", ""},
	}
	for _, tt := range tests {
		before := calls.Load()
		_, err := a.Authenticate(context.Background(), basicHeader(tt.user, "guess"))
		if err == nil || err.Error() != ErrBadCredentials.Error() {
			t.Errorf("%s: error %v, want exactly %q", tt.name, err, ErrBadCredentials)
		}
		if got := calls.Load() - before; got != 1 {
			t.Errorf("%s: %d bcrypt comparisons, want 1", tt.name, got)
		}
	}
	// A right SHA-256 password is not slowed down by the dummy comparison.
	before := calls.Load()
	if _, err := a.Authenticate(context.Background(), basicHeader("bob", bobPassword)); err != nil || calls.Load() != before {
		t.Errorf("right SHA-256 password: %v after %d bcrypt comparisons, want success after 0", err, calls.Load()-before)
	}
}

func TestGatewayMetadata(t *testing.T) {
	t.Parallel()
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: "svc.example"}}
	tests := []struct {
		name  string
		state *tls.ConnectionState
		want  metadata.MD
	}{
		{name: "plaintext", want: metadata.MD{mdClientAddr: {"192.0.2.7:4000"}, mdClientCertCN: {""}}},
		{name: "TLS without a certificate", state: &tls.ConnectionState{}, want: metadata.MD{mdClientAddr: {"192.0.2.7:4000"}, mdClientCertCN: {""}}},
		{name: "certificate presented but not verified", state: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}},
			want: metadata.MD{mdClientAddr: {"192.0.2.7:4000"}, mdClientCertCN: {""}}},
		{name: "verified certificate", state: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}},
			want: metadata.MD{mdClientAddr: {"192.0.2.7:4000"}, mdClientCertCN: {"svc.example"}}},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/v1/subjects", nil)
		r.RemoteAddr = "192.0.2.7:4000"
		r.TLS = tt.state
		r.Header.Set("Grpc-Metadata-Schemagate-Client-Addr", "198.51.100.1:1")
		if diff := cmp.Diff(tt.want, GatewayMetadata(context.Background(), r)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	for key, want := range map[string]bool{
		"schemagate-client-addr": true, "Schemagate-Client-Cert-Cn-Bin": true, "schemagate-client-anything": true,
		"authorization": false, "x-forwarded-for": false, "schemagate-other": false,
	} {
		if got := ReservedMetadataKey(key); got != want {
			t.Errorf("ReservedMetadataKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestInProcessMetadataTrustedOnlyInProcess serves the test service on two
// listeners of one server: one wrapped by InProcessListener, one not. The
// client facts in reserved metadata authenticate and key the failure limit
// only on the first.
func TestInProcessMetadataTrustedOnlyInProcess(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a, err := New(certPrincipals(t), Options{MaxFailures: 1, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rec := &errorRecorder{}
	srv := grpc.NewServer(append(rec.serverOptions(a), grpc.Creds(ServerCredentials(nil)))...)
	srv.RegisterService(&testServiceDesc, struct{}{})
	inproc, external := bufconn.Listen(1<<20), bufconn.Listen(1<<20)
	go func() { _ = srv.Serve(InProcessListener(inproc)) }()
	go func() { _ = srv.Serve(external) }()
	t.Cleanup(srv.Stop)
	dial := func(l *bufconn.Listener) *grpc.ClientConn {
		conn, err := grpc.NewClient("passthrough:///bufconn",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	in, out := dial(inproc), dial(external)

	// errInternal stands for an internal failure: an error wrapping none of
	// the refusals.
	errInternal := errors.New("internal failure")
	tests := []struct {
		name     string
		conn     *grpc.ClientConn
		md       []string
		wantErr  error // nil: allowed
		wantName string
	}{
		{name: "in-process certificate", conn: in, md: []string{mdClientAddr, "192.0.2.7:1", mdClientCertCN, "svc.example"}, wantName: "svc"},
		{name: "in-process token", conn: in, md: []string{mdClientAddr, "192.0.2.7:1", mdClientCertCN, "", "authorization", "Bearer " + rootToken}, wantName: "root"},
		{name: "external caller cannot claim a certificate", conn: out, md: []string{mdClientAddr, "192.0.2.7:1", mdClientCertCN, "svc.example"}, wantErr: ErrNoCredentials},
		{name: "external token still works", conn: out, md: []string{mdClientCertCN, "svc.example", "authorization", "Bearer " + rootToken}, wantName: "root"},
		{name: "in-process without an address", conn: in, md: []string{mdClientCertCN, "svc.example"}, wantErr: errInternal},
		{name: "in-process with two names", conn: in, md: []string{mdClientAddr, "192.0.2.7:1", mdClientCertCN, "x", mdClientCertCN, "svc.example"}, wantErr: errInternal},
		{name: "in-process with a bad address", conn: in, md: []string{mdClientAddr, "somewhere", mdClientCertCN, "svc.example"}, wantErr: errInternal},
		// The failure limit keys on the HTTP client's address, not on the shared connection.
		{name: "client A fails", conn: in, md: []string{mdClientAddr, "192.0.2.8:1", "authorization", "Bearer guess"}, wantErr: ErrBadCredentials},
		{name: "client A is refused", conn: in, md: []string{mdClientAddr, "192.0.2.8:2", mdClientCertCN, "svc.example"}, wantErr: ErrTooManyFailures},
		{name: "client B is not", conn: in, md: []string{mdClientAddr, "192.0.2.9:1", mdClientCertCN, "svc.example"}, wantName: "svc"},
	}
	for _, tt := range tests {
		ctx := metadata.NewOutgoingContext(t.Context(), metadata.Pairs(tt.md...))
		out := new(wrapperspb.StringValue)
		err := rec.call(t, ctx, func(ctx context.Context) error {
			return tt.conn.Invoke(ctx, methodRead, new(emptypb.Empty), out)
		})
		ok := errors.Is(err, tt.wantErr)
		if tt.wantErr == errInternal {
			ok = err != nil && !isRefusal(err)
		}
		if !ok || out.GetValue() != tt.wantName {
			t.Errorf("%s: %q (%v), want %v %q", tt.name, out.GetValue(), err, tt.wantErr, tt.wantName)
		}
	}
}

// isRefusal reports whether err wraps one of the refusals, as opposed to an
// internal failure.
func isRefusal(err error) bool {
	for _, sentinel := range []error{ErrNoCredentials, ErrBadCredentials, ErrPermissionDenied, ErrTooManyFailures, ErrBusy} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	return false
}
