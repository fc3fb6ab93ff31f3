package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/tests/harness"
)

// tlsClients builds HTTPS and gRPC-over-TLS clients that trust ca and present the client
// certificate in certFile/keyFile (none when certFile is empty), through ClientTLSConfig, the
// function the CLI uses.
func tlsClients(t *testing.T, sg *testGateway, caFile, certFile, keyFile string) (*http.Client, *grpc.ClientConn) {
	t.Helper()
	tc, err := ClientTLSConfig(caFile, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	conn, err := grpc.NewClient(sg.g.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, conn
}

// secSend makes one request and returns the status and body, or the transport error.
func secSend(client *http.Client, method, url, authz, body string, header http.Header) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// secListSubjectsCode calls ListSubjects with the given outgoing metadata pairs.
func secListSubjectsCode(conn *grpc.ClientConn, md ...string) codes.Code {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	_, err := pb.NewRegistryServiceClient(conn).ListSubjects(ctx, &pb.ListSubjectsRequest{})
	return status.Code(err)
}

// TestTLSListeners serves both listeners over TLS without client certificates: HTTPS and gRPC
// over TLS work with a bearer token, plaintext to either port is refused, and the server offers
// nothing older than TLS 1.2.
func TestTLSListeners(t *testing.T) {
	ca := harness.NewCA(t, "schemagate test CA")
	certFile, keyFile := ca.Issue(t, "127.0.0.1", true)
	sg := startGatewayWith(t, func(c *Config) {
		c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile}
		c.Auth.Principals = []auth.PrincipalConfig{{Name: "reader", Roles: []string{"producer"}, TokenSHA256: secTokenHash("reader-token")}}
	})
	client, conn := tlsClients(t, sg, ca.File, "", "")
	base := "https://" + sg.g.HTTPAddr()

	for _, path := range []string{"/healthz", "/subjects", "/v1/subjects"} {
		code, body, err := secSend(client, "GET", base+path, "Bearer reader-token", "", nil)
		if err != nil || code != http.StatusOK {
			t.Errorf("HTTPS GET %s = %d %s (%v), want 200", path, code, body, err)
		}
	}
	if code := secListSubjectsCode(conn, "authorization", "Bearer reader-token"); code != codes.OK {
		t.Errorf("gRPC over TLS = %s, want OK", code)
	}
	if code := secListSubjectsCode(conn); code != codes.Unauthenticated {
		t.Errorf("gRPC over TLS without credentials = %s, want Unauthenticated", code)
	}

	plainTr := &http.Transport{}
	t.Cleanup(plainTr.CloseIdleConnections)
	code, body, err := secSend(&http.Client{Transport: plainTr, Timeout: 10 * time.Second}, "GET", "http://"+sg.g.HTTPAddr()+"/healthz", "", "", nil)
	if err == nil && code != http.StatusBadRequest {
		t.Errorf("plaintext HTTP to the TLS port = %d %s, want an error or 400", code, body)
	}
	plain, err := grpc.NewClient(sg.g.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if code := secListSubjectsCode(plain, "authorization", "Bearer reader-token"); code != codes.Unavailable {
		t.Errorf("plaintext gRPC to the TLS port = %s, want Unavailable", code)
	}

	old := &tls.Config{RootCAs: ca.Pool, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}
	if c, err := tls.Dial("tcp", sg.g.HTTPAddr(), old); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded; want TLS 1.2 or later only")
	}
}

// TestTLSCipherSuites handshakes over TLS 1.2 with clients restricted to one cipher suite each,
// on both listeners: only the AEAD suites (ECDHE with AES-GCM or ChaCha20-Poly1305) are
// accepted; CBC suites with a SHA-1 or SHA-256 MAC, and RSA key exchange, fail the handshake.
func TestTLSCipherSuites(t *testing.T) {
	ca := harness.NewCA(t, "schemagate test CA")
	certFile, keyFile := ca.Issue(t, "127.0.0.1", true)
	sg := startGatewayWith(t, func(c *Config) { c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile} })
	tests := []struct {
		suite uint16
		ok    bool
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, false},
		{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false},
		{tls.TLS_RSA_WITH_AES_128_CBC_SHA, false},
	}
	for _, addr := range []string{sg.g.HTTPAddr(), sg.g.GRPCAddr()} {
		for _, tt := range tests {
			t.Run(tls.CipherSuiteName(tt.suite), func(t *testing.T) {
				cfg := &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
					CipherSuites: []uint16{tt.suite}, NextProtos: []string{"h2"}}
				c, err := tls.Dial("tcp", addr, cfg)
				if err == nil {
					c.Close()
				}
				if diff := cmp.Diff(tt.ok, err == nil); diff != "" {
					t.Errorf("TLS 1.2 handshake with %s to %s: %v; succeeded (-want +got):\n%s", tls.CipherSuiteName(tt.suite), addr, err, diff)
				}
			})
		}
	}
}

// TestMutualTLS configures a client CA and principals by certificate: a certificate signed by
// the CA authenticates its principal with exactly its role's access over gRPC, the Confluent
// REST API and /v1; a certificate of another CA is refused at the handshake; one with an
// unknown common name is unauthenticated; and no header or metadata can claim a certificate.
func TestMutualTLS(t *testing.T) {
	ca := harness.NewCA(t, "schemagate test CA")
	// A rogue CA with the trusted CA's name: the client presents its certificate (the issuer
	// name matches the server's request), and only the signature check can refuse it.
	other := harness.NewCA(t, "schemagate test CA")
	serverCert, serverKey := ca.Issue(t, "127.0.0.1", true)
	authorCert, authorKey := ca.Issue(t, "author.svc.example", false)
	strangerCert, strangerKey := ca.Issue(t, "stranger.example", false)
	foreignCert, foreignKey := other.Issue(t, "author.svc.example", false)
	// CN=stranger.example, CN=author.svc.example: Go's Subject.CommonName is the last one.
	twoCNCert, twoCNKey := ca.IssueClient(t, harness.ClientCertSpec{CommonNames: []string{"stranger.example", "author.svc.example"}})
	spiffeCert, spiffeKey := ca.IssueClient(t, harness.ClientCertSpec{CommonNames: []string{"pod-7f9c"}, URIs: []string{"spiffe://example.org/ns/prod/sa/orders"}})
	bothCert, bothKey := ca.IssueClient(t, harness.ClientCertSpec{CommonNames: []string{"author.svc.example"}, URIs: []string{"spiffe://example.org/ns/prod/sa/orders"}})
	sg := startGatewayWith(t, func(c *Config) {
		c.TLS = TLSConfig{CertFile: serverCert, KeyFile: serverKey, ClientCAFile: ca.File}
		c.Auth.Principals = []auth.PrincipalConfig{
			{Name: "cert-author", Roles: []string{"author"}, ClientCertCN: "author.svc.example"},
			{Name: "reader", Roles: []string{"producer"}, TokenSHA256: secTokenHash("reader-token")},
			{Name: "orders", Roles: []string{"producer"}, ClientCertURISAN: "spiffe://example.org/ns/prod/sa/orders", ClientCertIssuer: "CN=schemagate test CA"},
		}
		c.Auth.MaxFailures = 0 // the failures here are deliberate; the limit has its own tests
	})
	base := "https://" + sg.g.HTTPAddr()

	t.Run("certificate principal gets exactly its role over HTTP", func(t *testing.T) {
		client, _ := tlsClients(t, sg, ca.File, authorCert, authorKey)
		walkHTTPRoutes(t, httpRoutes(t), client, base, "", func(roles []auth.Role) int {
			if slices.Contains(roles, auth.RoleAuthor) {
				return routeAllowed
			}
			return http.StatusForbidden
		})
	})
	t.Run("certificate principal gets exactly its role over gRPC", func(t *testing.T) {
		_, conn := tlsClients(t, sg, ca.File, authorCert, authorKey)
		forEachMethod(func(md protoreflect.MethodDescriptor, method string) {
			want, ok := allowedRoles[method]
			if !ok {
				t.Errorf("%s has no row in allowedRoles", method)
				return
			}
			got := callCode(t, conn, md, method, "")
			switch permitted := slices.Contains(want, auth.RoleAuthor); {
			case !permitted && got != codes.PermissionDenied:
				t.Errorf("%s with the author certificate = %s; want PermissionDenied", method, got)
			case permitted && (got == codes.PermissionDenied || got == codes.Unauthenticated):
				t.Errorf("%s with the author certificate = %s; want it past authorization", method, got)
			}
		})
	})
	t.Run("the audit names the certificate principal", func(t *testing.T) {
		client, _ := tlsClients(t, sg, ca.File, authorCert, authorKey)
		code, body, err := secSend(client, "POST", base+"/subjects/mtls-value/versions", "", registerBody(orderAvro), nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("register with the certificate = %d %s (%v)", code, body, err)
		}
		code, body, err = secSend(client, "GET", base+"/v1/audit?subject=mtls-value", "", "", nil)
		if err != nil || code != http.StatusOK || !strings.Contains(body, `"cert-author"`) {
			t.Errorf("audit = %d %s (%v), want an entry by cert-author", code, body, err)
		}
	})
	t.Run("a token still works without a certificate", func(t *testing.T) {
		client, conn := tlsClients(t, sg, ca.File, "", "")
		if code, body, err := secSend(client, "GET", base+"/subjects", "Bearer reader-token", "", nil); err != nil || code != http.StatusOK {
			t.Errorf("GET /subjects with a token = %d %s (%v)", code, body, err)
		}
		if code := secListSubjectsCode(conn, "authorization", "Bearer reader-token"); code != codes.OK {
			t.Errorf("gRPC with a token = %s", code)
		}
	})
	t.Run("another CA is refused at the handshake", func(t *testing.T) {
		client, conn := tlsClients(t, sg, ca.File, foreignCert, foreignKey)
		for _, path := range []string{"/subjects", "/v1/subjects", "/healthz"} {
			if code, body, err := secSend(client, "GET", base+path, "", "", nil); err == nil {
				t.Errorf("GET %s with a foreign certificate = %d %s, want a handshake error", path, code, body)
			}
		}
		if code := secListSubjectsCode(conn); code != codes.Unavailable {
			t.Errorf("gRPC with a foreign certificate = %s, want Unavailable (handshake refused)", code)
		}
	})
	t.Run("unknown common name is unauthenticated", func(t *testing.T) {
		client, conn := tlsClients(t, sg, ca.File, strangerCert, strangerKey)
		code, body, err := secSend(client, "GET", base+"/subjects", "", "", nil)
		if err != nil || code != http.StatusUnauthorized || !strings.Contains(body, "40101") {
			t.Errorf("Confluent with an unknown common name = %d %s (%v), want 401 40101", code, body, err)
		}
		if code, body, err := secSend(client, "GET", base+"/v1/subjects", "", "", nil); err != nil || code != http.StatusUnauthorized {
			t.Errorf("/v1 with an unknown common name = %d %s (%v), want 401", code, body, err)
		}
		if code := secListSubjectsCode(conn); code != codes.Unauthenticated {
			t.Errorf("gRPC with an unknown common name = %s, want Unauthenticated", code)
		}
	})
	t.Run("a certificate names exactly one principal", func(t *testing.T) {
		for _, c := range []struct {
			name, cert, key string
			want            int    // status of GET /v1/subjects
			wantMsg         string // fragment of the refusal
		}{
			{name: "two common names", cert: twoCNCert, key: twoCNKey, want: http.StatusUnauthorized, wantMsg: "more than one subject common name"},
			{name: "SPIFFE ID", cert: spiffeCert, key: spiffeKey, want: http.StatusOK},
			{name: "common name of one principal, SPIFFE ID of another", cert: bothCert, key: bothKey, want: http.StatusUnauthorized, wantMsg: "matches more than one principal"},
		} {
			client, conn := tlsClients(t, sg, ca.File, c.cert, c.key)
			for _, path := range []string{"/v1/subjects", "/subjects"} {
				code, body, err := secSend(client, "GET", base+path, "", "", nil)
				if err != nil || code != c.want || !strings.Contains(body, c.wantMsg) {
					t.Errorf("%s: GET %s = %d %s (%v), want %d %q", c.name, path, code, body, err, c.want, c.wantMsg)
				}
			}
			wantCode := codes.OK
			if c.want != http.StatusOK {
				wantCode = codes.Unauthenticated
			}
			if code := secListSubjectsCode(conn); code != wantCode {
				t.Errorf("%s: gRPC = %s, want %s", c.name, code, wantCode)
			}
		}
		if !strings.Contains(sg.log.String(), "more than one subject common name") {
			t.Errorf("the refusal of a certificate with two common names is not logged")
		}
	})
	t.Run("no header claims a certificate", func(t *testing.T) {
		forged := http.Header{}
		for _, k := range []string{"Grpc-Metadata-Schemagate-Client-Cert-Cn-Bin", "Schemagate-Client-Cert-Cn-Bin", "Grpc-Metadata-Schemagate-Client-Cert-Cn", "Schemagate-Client-Cert-Cn"} {
			forged.Set(k, "author.svc.example")
		}
		for _, k := range []string{"Grpc-Metadata-Schemagate-Client-Cert-Bin", "Schemagate-Client-Cert-Bin"} {
			forged.Set(k, `{"cn":["author.svc.example"]}`)
		}
		forged.Set("Grpc-Metadata-Schemagate-Client-Addr", "192.0.2.1:1")
		forged.Set("X-Forwarded-Client-Cert", "Subject=\"CN=author.svc.example\"")
		for _, c := range []struct{ name, cert, key string }{{"no certificate", "", ""}, {"unknown certificate", strangerCert, strangerKey}} {
			client, conn := tlsClients(t, sg, ca.File, c.cert, c.key)
			for _, path := range []string{"/v1/subjects", "/subjects"} {
				code, body, err := secSend(client, "GET", base+path, "", "", forged)
				if err != nil || code != http.StatusUnauthorized {
					t.Errorf("%s, forged headers, GET %s = %d %s (%v), want 401", c.name, path, code, body, err)
				}
			}
			if code := secListSubjectsCode(conn, "schemagate-client-cert-bin", `{"cn":["author.svc.example"]}`, "schemagate-client-addr", "192.0.2.1:1"); code != codes.Unauthenticated {
				t.Errorf("%s, forged gRPC metadata = %s, want Unauthenticated", c.name, code)
			}
		}
	})
}

func TestClientTLSConfig(t *testing.T) {
	ca := harness.NewCA(t, "schemagate test CA")
	cert, key := ca.Issue(t, "cli.example", false)
	notPEM := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ca, cert, key string
		wantErr             string // "" means valid
		wantCerts           int
	}{
		{name: "system roots", wantCerts: 0},
		{name: "CA only", ca: ca.File},
		{name: "mutual TLS", ca: ca.File, cert: cert, key: key, wantCerts: 1},
		{name: "certificate without key", ca: ca.File, cert: cert, wantErr: "give both a TLS client certificate and its key"},
		{name: "missing CA file", ca: filepath.Join(t.TempDir(), "nope.pem"), wantErr: "TLS CA file: open"},
		{name: "CA file without PEM", ca: notPEM, wantErr: "holds no PEM certificate"},
		{name: "key does not match", cert: cert, key: ca.File, wantErr: "TLS client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := ClientTLSConfig(tt.ca, tt.cert, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ClientTLSConfig = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := struct{ MinVersion, Certs int }{int(tc.MinVersion), len(tc.Certificates)}
			if diff := cmp.Diff(struct{ MinVersion, Certs int }{tls.VersionTLS12, tt.wantCerts}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestServerTLSErrors(t *testing.T) {
	ca := harness.NewCA(t, "schemagate test CA")
	cert, key := ca.Issue(t, "127.0.0.1", true)
	tests := []struct {
		name    string
		cfg     TLSConfig
		wantErr string
	}{
		{"missing certificate", TLSConfig{CertFile: filepath.Join(t.TempDir(), "nope.pem"), KeyFile: key}, "tls.cert_file/tls.key_file: open"},
		{"key of another certificate", TLSConfig{CertFile: cert, KeyFile: ca.File}, "tls.cert_file/tls.key_file"},
		{"client CA without PEM", TLSConfig{CertFile: cert, KeyFile: key, ClientCAFile: key}, "tls.client_ca_file"},
	}
	for _, tt := range tests {
		if _, err := serverTLS(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: serverTLS = %v, want an error containing %q", tt.name, err, tt.wantErr)
		}
	}
	tc, err := serverTLS(TLSConfig{CertFile: cert, KeyFile: key, ClientCAFile: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{tc.MinVersion == tls.VersionTLS12, tc.ClientAuth.String(), tc.NextProtos, grpcTLS(tc).NextProtos}
	want := []any{true, tls.VerifyClientCertIfGiven.String(), []string{"h2", "http/1.1"}, []string{"h2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server TLS policy (-want +got):\n%s", diff)
	}
	if off, err := serverTLS(TLSConfig{}); off != nil || err != nil {
		t.Errorf("serverTLS without a certificate = %v, %v; want nil, nil", off, err)
	}
}

// secJSONField reads one top-level string or number field of a JSON object, for assertions on
// error bodies.
func secJSONField(t *testing.T, body, field string) any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(bytes.NewReader([]byte(body))).Decode(&m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return m[field]
}
