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

// svcCertMD is the in-process metadata of a verified certificate for "svc.example".
const svcCertMD = `{"cn":["svc.example"]}`

// cnCert is a verified certificate with the common names cns and nothing else.
func cnCert(cns ...string) *ClientCert { return &ClientCert{CommonNames: cns} }

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
			wantErr: "no credential: set token_sha256, password_bcrypt, password_sha256, client_cert_cn, client_cert_uri_san or client_cert_dns_san"},
		{name: "shared common name", principals: []PrincipalConfig{
			{Name: "a", Roles: []string{"producer"}, ClientCertCN: "svc.example"},
			{Name: "b", Roles: []string{"admin"}, ClientCertCN: "svc.example"},
		}, wantErr: `principals "a" and "b" have the same client_cert_cn`},
		{name: "URI SAN only", principals: []PrincipalConfig{{Name: "svc", Roles: []string{"producer"}, ClientCertURISAN: spiffeOrders}}},
		{name: "DNS SAN with issuer", principals: []PrincipalConfig{{Name: "svc", Roles: []string{"producer"}, ClientCertDNSSAN: "orders.example", ClientCertIssuer: "CN=Orders CA"}}},
		{name: "shared URI SAN", principals: []PrincipalConfig{
			{Name: "a", Roles: []string{"producer"}, ClientCertURISAN: spiffeOrders},
			{Name: "b", Roles: []string{"admin"}, ClientCertURISAN: spiffeOrders, ClientCertIssuer: "CN=Other CA"},
		}, wantErr: `principals "a" and "b" have the same client_cert_uri_san`},
		{name: "shared DNS SAN in another case", principals: []PrincipalConfig{
			{Name: "a", Roles: []string{"producer"}, ClientCertDNSSAN: "orders.example"},
			{Name: "b", Roles: []string{"admin"}, ClientCertDNSSAN: "Orders.Example"},
		}, wantErr: `principals "a" and "b" have the same client_cert_dns_san`},
		{name: "same value as CN and URI SAN of two principals", principals: []PrincipalConfig{
			{Name: "a", Roles: []string{"producer"}, ClientCertCN: "x:y"},
			{Name: "b", Roles: []string{"admin"}, ClientCertURISAN: "x:y"},
		}},
		{name: "issuer alone", principals: []PrincipalConfig{{Name: "svc", Roles: []string{"producer"}, TokenSHA256: sha256Hex("t"), ClientCertIssuer: "CN=Orders CA"}},
			wantErr: "client_cert_issuer needs client_cert_cn, client_cert_uri_san or client_cert_dns_san"},
		{name: "relative URI SAN", principals: []PrincipalConfig{{Name: "svc", Roles: []string{"producer"}, ClientCertURISAN: "orders"}},
			wantErr: "client_cert_uri_san must be an absolute URI"},
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

// spiffeOrders is a SPIFFE ID, the URI SAN of a workload certificate.
const spiffeOrders = "spiffe://example.org/ns/prod/sa/orders"

// TestClientCertMatching authenticates certificates against principals that match by common
// name, URI SAN, DNS SAN and issuer: each certificate must name exactly one principal.
func TestClientCertMatching(t *testing.T) {
	t.Parallel()
	a, err := New([]PrincipalConfig{
		{Name: "svc", Roles: []string{"producer"}, ClientCertCN: "svc.example"},
		{Name: "admin", Roles: []string{"admin"}, ClientCertCN: "admin.example"},
		{Name: "orders", Roles: []string{"producer"}, ClientCertURISAN: spiffeOrders},
		{Name: "web", Roles: []string{"producer"}, ClientCertDNSSAN: "web.example"},
		{Name: "billing", Roles: []string{"author"}, ClientCertDNSSAN: "billing.example", ClientCertIssuer: "CN=Billing CA,O=Example"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cert ClientCert
		want string // principal name; "" when refused
		err  error  // the refusal
	}{
		{name: "one common name", cert: ClientCert{CommonNames: []string{"svc.example"}}, want: "svc"},
		{name: "two common names, the last an admin's", cert: ClientCert{CommonNames: []string{"svc.example", "admin.example"}}, err: errManyCommonNames},
		{name: "two equal common names", cert: ClientCert{CommonNames: []string{"svc.example", "svc.example"}}, err: errManyCommonNames},
		{name: "SPIFFE ID", cert: ClientCert{URIs: []string{spiffeOrders}}, want: "orders"},
		{name: "SPIFFE ID with an unknown common name", cert: ClientCert{CommonNames: []string{"pod-1234"}, URIs: []string{spiffeOrders}}, want: "orders"},
		{name: "SPIFFE ID of another path", cert: ClientCert{URIs: []string{spiffeOrders + "-x"}}, err: errUnknownCert},
		{name: "DNS SAN in another case", cert: ClientCert{DNSNames: []string{"WEB.example"}}, want: "web"},
		{name: "DNS SAN from the required issuer", cert: ClientCert{DNSNames: []string{"billing.example"}, Issuer: "CN=Billing CA,O=Example"}, want: "billing"},
		{name: "DNS SAN from another issuer", cert: ClientCert{DNSNames: []string{"billing.example"}, Issuer: "CN=Other CA,O=Example"}, err: errUnknownCert},
		{name: "names two principals", cert: ClientCert{CommonNames: []string{"svc.example"}, URIs: []string{spiffeOrders}}, err: errAmbiguousCert},
		{name: "two DNS SANs of two principals", cert: ClientCert{DNSNames: []string{"web.example", "billing.example"}, Issuer: "CN=Billing CA,O=Example"}, err: errAmbiguousCert},
		{name: "a principal named twice is one", cert: ClientCert{DNSNames: []string{"web.example", "Web.Example"}}, want: "web"},
		{name: "no names", cert: ClientCert{}, err: errUnknownCert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := a.AuthenticateCredentials(context.Background(), Credentials{ClientCert: &tt.cert})
			if err != tt.err || p.Name != tt.want {
				t.Errorf("= %q, %v; want %q, %v", p.Name, err, tt.want, tt.err)
			}
			if err != nil && !errors.Is(err, ErrBadCredentials) {
				t.Errorf("%v does not wrap ErrBadCredentials", err)
			}
		})
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
		{name: "certificate", creds: Credentials{ClientCert: cnCert("svc.example")}, want: svc},
		{name: "unknown common name", creds: Credentials{ClientCert: cnCert("stranger.example")}, wantErr: ErrBadCredentials},
		{name: "common name is case-sensitive", creds: Credentials{ClientCert: cnCert("SVC.example")}, wantErr: ErrBadCredentials},
		{name: "the header decides over a certificate", creds: Credentials{ClientCert: cnCert("svc.example"), Authorization: "Bearer " + rootToken}, want: root},
		{name: "a wrong header is not saved by a certificate", creds: Credentials{ClientCert: cnCert("svc.example"), Authorization: "Bearer guess"}, wantErr: ErrBadCredentials},
		{name: "header without a certificate", creds: Credentials{Authorization: "Bearer " + rootToken}, want: root},
		{name: "nothing", creds: Credentials{}, wantErr: ErrNoCredentials},
		{name: "principal name is not a certificate", creds: Credentials{ClientCert: cnCert("svc")}, wantErr: ErrBadCredentials},
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
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: "svc.example", Names: []pkix.AttributeTypeAndValue{{Type: oidCommonName, Value: "svc.example"}}},
		Issuer: pkix.Name{CommonName: "Test CA"}}
	tests := []struct {
		name  string
		state *tls.ConnectionState
		want  metadata.MD
	}{
		{name: "plaintext", want: metadata.MD{mdClientAddr: {"192.0.2.7:4000"}, mdClientCert: {""}, mdClientPrincipal: {""}}},
		{name: "TLS without a certificate", state: &tls.ConnectionState{}, want: metadata.MD{mdClientAddr: {"192.0.2.7:4000"}, mdClientCert: {""}, mdClientPrincipal: {""}}},
		{name: "certificate presented but not verified", state: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}},
			want: metadata.MD{mdClientAddr: {"192.0.2.7:4000"}, mdClientCert: {""}, mdClientPrincipal: {""}}},
		{name: "verified certificate", state: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}},
			want: metadata.MD{mdClientAddr: {"192.0.2.7:4000"}, mdClientCert: {`{"cn":["svc.example"],"issuer":"CN=Test CA"}`}, mdClientPrincipal: {""}}},
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
		{name: "in-process certificate", conn: in, md: []string{mdClientAddr, "192.0.2.7:1", mdClientCert, svcCertMD}, wantName: "svc"},
		{name: "in-process token", conn: in, md: []string{mdClientAddr, "192.0.2.7:1", mdClientCert, "", "authorization", "Bearer " + rootToken}, wantName: "root"},
		{name: "external caller cannot claim a certificate", conn: out, md: []string{mdClientAddr, "192.0.2.7:1", mdClientCert, svcCertMD}, wantErr: ErrNoCredentials},
		{name: "external token still works", conn: out, md: []string{mdClientCert, svcCertMD, "authorization", "Bearer " + rootToken}, wantName: "root"},
		{name: "in-process without an address", conn: in, md: []string{mdClientCert, svcCertMD}, wantErr: errInternal},
		{name: "in-process with two names", conn: in, md: []string{mdClientAddr, "192.0.2.7:1", mdClientCert, `{"cn":["x"]}`, mdClientCert, svcCertMD}, wantErr: errInternal},
		{name: "in-process with a bad address", conn: in, md: []string{mdClientAddr, "somewhere", mdClientCert, svcCertMD}, wantErr: errInternal},
		// The failure limit keys on the HTTP client's address, not on the shared connection.
		{name: "client A fails", conn: in, md: []string{mdClientAddr, "192.0.2.8:1", "authorization", "Bearer guess"}, wantErr: ErrBadCredentials},
		{name: "client A is refused", conn: in, md: []string{mdClientAddr, "192.0.2.8:2", mdClientCert, svcCertMD}, wantErr: ErrTooManyFailures},
		{name: "client B is not", conn: in, md: []string{mdClientAddr, "192.0.2.9:1", mdClientCert, svcCertMD}, wantName: "svc"},
		// A console session's principal runs the call in-process, and only there.
		{name: "in-process session principal", conn: in, md: []string{mdClientAddr, "192.0.2.10:1", mdClientPrincipal, `{"Name":"lead","Roles":["governance-lead"]}`}, wantName: "lead"},
		{name: "session principal without the permission", conn: in, md: []string{mdClientAddr, "192.0.2.10:1", mdClientPrincipal, `{"Name":"nobody","Roles":[]}`}, wantErr: ErrPermissionDenied},
		{name: "external caller cannot claim a session principal", conn: out, md: []string{mdClientAddr, "192.0.2.10:1", mdClientPrincipal, `{"Name":"lead","Roles":["admin"]}`}, wantErr: ErrNoCredentials},
		{name: "in-process with an unreadable session principal", conn: in, md: []string{mdClientAddr, "192.0.2.10:1", mdClientPrincipal, `{"Name":`}, wantErr: errInternal},
		{name: "in-process with two session principals", conn: in, md: []string{mdClientAddr, "192.0.2.10:1", mdClientPrincipal, `{"Name":"a"}`, mdClientPrincipal, `{"Name":"b"}`}, wantErr: errInternal},
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
