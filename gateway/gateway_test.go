package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/store/storetest"
)

const orderAvro = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`

// testGateway is a gateway started in-process on free loopback ports with a temporary data dir.
type testGateway struct {
	g       *Gateway
	log     *bytes.Buffer
	conn    *grpc.ClientConn // plaintext; unused by TLS tests, which dial their own
	metrics *prometheus.Registry
	done    chan error
}

// startGateway starts an open gateway, or one with principals, on a fresh data dir.
func startGateway(t *testing.T, principals []auth.PrincipalConfig) *testGateway {
	t.Helper()
	return startGatewayWith(t, func(c *Config) { c.Auth.Principals = principals })
}

// startGatewayWith starts a gateway after edit has changed its configuration.
func startGatewayWith(t testing.TB, edit func(*Config)) *testGateway {
	t.Helper()
	return startGatewayOpts(t, edit, Options{})
}

// startGatewayOpts starts a gateway on free loopback ports with a fresh data dir, after edit (if
// any) has changed its configuration, with opts' StoreOptions. It is shut down when the test
// ends, and the test fails if the shutdown was not clean or the gateway logged a panic.
func startGatewayOpts(t testing.TB, edit func(*Config), opts Options) *testGateway {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Server.HTTPAddr = "127.0.0.1:0"
	cfg.Server.GRPCAddr = "127.0.0.1:0"
	cfg.Server.DataDir = t.TempDir()
	cfg.Governance.DocPath = filepath.Join(t.TempDir(), "schema_registry_governance.md")
	if storetest.Backend() == "postgres" { // make unit-postgres: a fresh database per gateway
		cfg.Storage.URL = storetest.URL(t)
	}
	if edit != nil {
		edit(&cfg)
	}
	var logBuf bytes.Buffer
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts.Config, opts.Metrics = cfg, metrics
	opts.Logger = slog.New(slog.NewJSONHandler(&lockedWriter{w: &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	g, err := New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	tg := &testGateway{g: g, log: &logBuf, metrics: metrics, done: make(chan error, 1)}
	go func() { tg.done <- g.Run(ctx) }()
	tg.conn, err = grpc.NewClient(g.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tg.conn.Close()
		cancel()
		if err := <-tg.done; err != nil {
			t.Errorf("Run returned %v after cancel; want a clean shutdown", err)
		}
		// net/http recovers a panicking handler and logs it through ErrorLog; the gRPC
		// interceptors log "panic in handler". Neither may have happened.
		if strings.Contains(logBuf.String(), "panic") {
			t.Errorf("the gateway logged a panic:\n%s", logBuf.String())
		}
	})
	return tg
}

// lockedWriter serialises log writes from the gateway's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// httpDo sends a request to the gateway's HTTP port and returns status and body.
func (tg *testGateway) httpDo(t *testing.T, method, path, authz, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+tg.g.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// subjects lists subjects over HTTP/JSON.
func (tg *testGateway) subjects(t *testing.T) []string {
	t.Helper()
	code, body := tg.httpDo(t, "GET", "/v1/subjects", "", "")
	var resp struct{ Subjects []string }
	if err := json.Unmarshal([]byte(body), &resp); code != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/subjects = %d %s (%v)", code, body, err)
	}
	return resp.Subjects
}

func withToken(token string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = cancel // released when the deadline passes; tests are short
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func registerBody(schema string) string {
	b, _ := json.Marshal(map[string]string{"schema": schema})
	return string(b)
}

func TestRegisterOverHTTPAndGRPCShareIDs(t *testing.T) {
	tg := startGateway(t, nil)
	code, body := tg.httpDo(t, "POST", "/v1/subjects/orders-value/versions", "", registerBody(orderAvro))
	if code != http.StatusOK {
		t.Fatalf("HTTP register: %d %s", code, body)
	}
	var httpResp struct {
		ID      int    `json:"id"`
		Subject string `json:"subject"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal([]byte(body), &httpResp); err != nil {
		t.Fatal(err)
	}
	client := pb.NewRegistryServiceClient(tg.conn)
	// The same schema, with other whitespace, in another subject over gRPC: same global ID.
	got, err := client.RegisterSchema(withToken(""), &pb.RegisterSchemaRequest{
		Subject: "orders-copy", Schema: "{ \"type\": \"record\", \"name\": \"Order\",\n \"fields\": [{\"name\": \"id\", \"type\": \"string\"}] }",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.RegisterSchemaResponse{Id: int32(httpResp.ID), Subject: "orders-copy", Version: 1}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("gRPC register (-want +got):\n%s", diff)
	}
	sv, err := client.GetSubjectVersion(withToken(""), &pb.GetSubjectVersionRequest{Subject: "orders-value", Version: "latest"})
	if err != nil {
		t.Fatal(err)
	}
	if sv.GetVersion().GetSchema().GetId() != int32(httpResp.ID) || sv.GetVersion().GetVersion() != 1 {
		t.Errorf("latest orders-value = %v; want ID %d version 1", sv, httpResp.ID)
	}
	if diff := cmp.Diff([]string{"orders-copy", "orders-value"}, tg.subjects(t)); diff != "" {
		t.Errorf("GET /v1/subjects (-want +got):\n%s", diff)
	}
}

func TestErrorsMapToCodes(t *testing.T) {
	tg := startGateway(t, nil)
	tests := []struct {
		name, method, path, body string
		wantHTTP                 int
		wantMsg                  string
	}{
		{"invalid avro", "POST", "/v1/subjects/s/versions", registerBody(`{"type":"record","name":"R","fields":[{"name":"a","type":"integr"}]}`), 400, "integr"},
		{"not json", "POST", "/v1/subjects/s/versions", registerBody(`{not json`), 400, "invalid"},
		{"unknown subject", "GET", "/v1/subjects/nope/versions/1", "", 404, "nope"},
		{"bad version", "GET", "/v1/subjects/s/versions/zero", "", 400, "invalid version"},
		{"unknown schema ID", "GET", "/v1/schemas/4242", "", 404, "4242"},
		{"validate an unknown subject", "POST", "/v1/subjects/s/validate", `{"json":{}}`, 404, "has no live version"},
		{"promotion of an unknown subject", "POST", "/v1/subjects/s/promotions", `{"ticket":"CHG-1","reason":"r"}`, 404, "has no live version"},
		{"status of an unknown subject", "GET", "/v1/subjects/s/governance", "", 404, "has no live version"},
		{"promotion with a bad ticket", "POST", "/v1/subjects/s/promotions", `{"ticket":"nope","reason":"r"}`, 400, "invalid ticket"},
		{"promotion without a reason", "POST", "/v1/subjects/s/promotions", `{"ticket":"CHG-1"}`, 400, "needs a reason"},
		{"rollback without an incident", "POST", "/v1/subjects/s:rollback", `{"reason":"drift"}`, 400, "needs an incident"},
		{"compatibility of an unknown subject", "POST", "/v1/compatibility/subjects/nope/versions/latest", registerBody(orderAvro), 404, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := tg.httpDo(t, tt.method, tt.path, "", tt.body)
			if code != tt.wantHTTP || !strings.Contains(body, tt.wantMsg) {
				t.Errorf("%s %s = %d %s; want %d containing %q", tt.method, tt.path, code, body, tt.wantHTTP, tt.wantMsg)
			}
		})
	}
	// Nothing was stored by the refused registrations.
	if got := tg.subjects(t); len(got) != 0 {
		t.Errorf("subjects after refused registrations = %v; want none", got)
	}
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	tg := startGateway(t, nil)
	if code, body := tg.httpDo(t, "GET", "/healthz", "", ""); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, body := tg.httpDo(t, "GET", "/readyz", "", ""); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, body := tg.httpDo(t, "POST", "/v1/subjects/m/versions", "", registerBody(orderAvro)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	code, body := tg.httpDo(t, "GET", "/metrics", "", "")
	for _, want := range []string{"go_goroutines", "process_cpu_seconds_total", `schemagate_schemas_registered_total{type="AVRO"} 1`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics = %d, missing %q", code, want)
		}
	}
	code, body = tg.httpDo(t, "GET", "/v1/openapi.json", "", "")
	var doc struct {
		Swagger string                    `json:"swagger"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
		t.Fatalf("/v1/openapi.json = %d, %v", code, err)
	}
	if doc.Swagger != "2.0" || doc.Paths["/v1/subjects/{subject}/versions"]["post"] == nil {
		t.Errorf("OpenAPI document lacks POST /v1/subjects/{subject}/versions: %v", doc.Paths)
	}
	hc, err := healthpb.NewHealthClient(tg.conn).Check(withToken(""), &healthpb.HealthCheckRequest{})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health = %v, %v; want SERVING", hc, err)
	}
}

func TestEveryRPCHasAPermission(t *testing.T) {
	perms := methodPermissions()
	rpcs := map[string]bool{}
	for _, fd := range servedFiles() {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				rpcs["/"+string(sd.FullName())+"/"+string(sd.Methods().Get(j).Name())] = true
			}
		}
	}
	if len(rpcs) < 25 {
		t.Fatalf("found %d RPCs; want the 25 of the API", len(rpcs))
	}
	for m := range rpcs {
		if _, ok := perms[m]; !ok && !auth.PublicMethod(m) {
			t.Errorf("RPC %s has no permission in methodPermissions", m)
		}
	}
	for m := range perms {
		if !rpcs[m] {
			t.Errorf("methodPermissions names %s, which is not an RPC", m)
		}
	}
}

// principals for the auth tests: one per role that matters here.
func testPrincipals(t *testing.T) []auth.PrincipalConfig {
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	pw, err := bcrypt.GenerateFromPassword([]byte("author-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return []auth.PrincipalConfig{
		{Name: "producer", Roles: []string{"producer"}, TokenSHA256: hash("producer-token")},
		{Name: "author", Roles: []string{"author"}, TokenSHA256: hash("author-token"), PasswordBcrypt: string(pw)},
		{Name: "root", Roles: []string{"admin"}, TokenSHA256: hash("admin-token")},
	}
}

func TestAuthOverHTTP(t *testing.T) {
	tg := startGateway(t, testPrincipals(t))
	basic := "Basic " + "YXV0aG9yOmF1dGhvci1wdw==" // author:author-pw
	tests := []struct {
		name, method, path, authz, body string
		want                            int
	}{
		{"no credentials", "GET", "/v1/subjects", "", "", 401},
		{"wrong token", "GET", "/v1/subjects", "Bearer nope", "", 401},
		{"producer reads", "GET", "/v1/subjects", "Bearer producer-token", "", 200},
		{"producer may not register", "POST", "/v1/subjects/a/versions", "Bearer producer-token", registerBody(orderAvro), 403},
		{"author registers with basic auth", "POST", "/v1/subjects/a/versions", basic, registerBody(orderAvro), 200},
		{"author soft-deletes", "DELETE", "/v1/subjects/a", "Bearer author-token", "", 200},
		{"author may not hard-delete", "DELETE", "/v1/subjects/a?permanent=true", "Bearer author-token", "", 403},
		{"admin hard-deletes", "DELETE", "/v1/subjects/a?permanent=true", "Bearer admin-token", "", 200},
		{"health is public", "GET", "/healthz", "", "", 200},
		{"readyz is public", "GET", "/readyz", "", "", 200},
		{"metrics are public", "GET", "/metrics", "", "", 200},
	}
	for _, tt := range tests {
		code, body := tg.httpDo(t, tt.method, tt.path, tt.authz, tt.body)
		if code != tt.want {
			t.Errorf("%s: %s %s = %d %s; want %d", tt.name, tt.method, tt.path, code, body, tt.want)
		}
	}
	for _, secret := range []string{"producer-token", "author-token", "admin-token", "author-pw", "YXV0aG9yOmF1dGhvci1wdw=="} {
		if strings.Contains(tg.log.String(), secret) {
			t.Errorf("log contains the secret %q", secret)
		}
	}
}

func TestAuthOverGRPC(t *testing.T) {
	tg := startGateway(t, testPrincipals(t))
	client := pb.NewRegistryServiceClient(tg.conn)
	req := &pb.RegisterSchemaRequest{Subject: "g", Schema: orderAvro}
	tests := []struct {
		name, token string
		want        codes.Code
	}{
		{"no credentials", "", codes.Unauthenticated},
		{"wrong token", "nope", codes.Unauthenticated},
		{"producer may not register", "producer-token", codes.PermissionDenied},
		{"author registers", "author-token", codes.OK},
	}
	for _, tt := range tests {
		_, err := client.RegisterSchema(withToken(tt.token), req)
		if got := status.Code(err); got != tt.want {
			t.Errorf("%s: RegisterSchema = %v; want %s", tt.name, err, tt.want)
		}
	}
	// Health stays public with auth on.
	if _, err := healthpb.NewHealthClient(tg.conn).Check(withToken(""), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health without credentials: %v", err)
	}
}

func TestOpenGatewayRefusesNonLoopback(t *testing.T) {
	tests := []struct {
		httpAddr, grpcAddr string
		wantErr            string
	}{
		{"0.0.0.0:0", "127.0.0.1:0", "refusing to listen on 0.0.0.0:0 without authentication: configure auth.principals"},
		{"127.0.0.1:0", ":0", "refusing to listen on :0 without authentication"},
		{"127.0.0.1:0", "example.internal:0", "refusing to listen on example.internal:0"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Server.HTTPAddr, cfg.Server.GRPCAddr, cfg.Server.DataDir = tt.httpAddr, tt.grpcAddr, t.TempDir()
		_, err := New(context.Background(), Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("New(http %s, grpc %s) = %v; want error containing %q", tt.httpAddr, tt.grpcAddr, err, tt.wantErr)
		}
	}
	// With principals, a non-loopback address is allowed.
	cfg := DefaultConfig()
	cfg.Server.HTTPAddr, cfg.Server.GRPCAddr, cfg.Server.DataDir = "0.0.0.0:0", "127.0.0.1:0", t.TempDir()
	cfg.Auth.Principals = testPrincipals(t)
	g, err := New(context.Background(), Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New with auth on 0.0.0.0: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Run(ctx); err != nil {
		t.Errorf("Run: %v", err)
	}
}
