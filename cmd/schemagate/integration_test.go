package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/tests/harness"
)

// TestMain builds the schemagate binary once for the tests of this package.
func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

// jsonLog makes a server log JSON lines, for the tests that read its log.
var jsonLog = []string{"--log-format", "json"}

// grpcClient dials the gRPC API at addr in plaintext; the connection closes when the test ends.
func grpcClient(t *testing.T, addr string) pb.RegistryServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewRegistryServiceClient(conn)
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const (
	userAvro   = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`
	orderProto = "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  string id = 1;\n  int64 cents = 2;\n}\n"
	eventJSONS = `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`
)

// TestServeRegisterRestart is the end-to-end path: the real binary on free loopback ports with a
// temporary data dir; registrations over HTTP, gRPC and the CLI; a graceful SIGTERM that lets an
// in-flight request finish; a restart that reads the same IDs back.
func TestServeRegisterRestart(t *testing.T) {
	s := harness.Start(t, harness.Options{Args: jsonLog})

	code, body := postJSON(t, s.URL()+"/v1/subjects/users-value/versions", mustJSON(map[string]string{"schema": userAvro}))
	if code != http.StatusOK {
		t.Fatalf("HTTP register: %d %s", code, body)
	}
	var reg struct{ ID, Version int }
	mustUnmarshal(t, body, &reg)

	client := grpcClient(t, s.GRPCAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	jsonResp, err := client.RegisterSchema(ctx, &pb.RegisterSchemaRequest{Subject: "events-value", SchemaType: pb.SchemaType_SCHEMA_TYPE_JSON, Schema: eventJSONS})
	if err != nil {
		t.Fatalf("gRPC register JSON schema: %v", err)
	}
	if jsonResp.GetId() == int32(reg.ID) {
		t.Fatalf("different schemas share ID %d", reg.ID)
	}

	// The CLI registers the Avro schema under another subject: same global ID, version 1.
	schemaFile := filepath.Join(t.TempDir(), "user.avsc")
	if err := os.WriteFile(schemaFile, []byte(userAvro), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, exit := harness.Run(t, nil, "schema", "register", "users-copy", "--type", "AVRO", "--file", schemaFile, "--server", s.GRPCAddr)
	if want := fmt.Sprintf("registered users-copy version 1, schema ID %d\n", reg.ID); exit != 0 || out != want {
		t.Errorf("CLI register = %q (exit %d, stderr %q); want %q", out, exit, errOut, want)
	}
	// And a Protobuf schema: a new ID, read back with its type.
	protoFile := filepath.Join(t.TempDir(), "order.proto")
	if err := os.WriteFile(protoFile, []byte(orderProto), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, exit = harness.Run(t, nil, "schema", "register", "orders-value", "--type", "protobuf", "--file", protoFile, "--server", s.GRPCAddr)
	if want := fmt.Sprintf("registered orders-value version 1, schema ID %d\n", jsonResp.GetId()+1); exit != 0 || out != want {
		t.Errorf("CLI register PROTOBUF = %q (exit %d, stderr %q); want %q", out, exit, errOut, want)
	}
	out, _, exit = harness.Run(t, nil, "schema", "get", "orders-value", "--server", s.GRPCAddr)
	if want := "type: PROTOBUF\n"; exit != 0 || !strings.Contains(out, want) {
		t.Errorf("CLI get of the Protobuf subject = %q (exit %d); want a line %q", out, exit, want)
	}
	out, _, exit = harness.Run(t, nil, "schema", "get", "--id", fmt.Sprint(reg.ID), "-o", "json", "--server", s.GRPCAddr)
	var got struct {
		Schema struct {
			ID         int    `json:"id"`
			SchemaType string `json:"schemaType"`
		} `json:"schema"`
	}
	mustUnmarshal(t, out, &got)
	if exit != 0 || got.Schema.ID != reg.ID || got.Schema.SchemaType != "SCHEMA_TYPE_AVRO" {
		t.Errorf("CLI get --id = %+v (exit %d)", got, exit)
	}
	out, _, exit = harness.Run(t, nil, "subjects", "list", "--server", s.GRPCAddr)
	if wantLines := []string{"SUBJECT", "events-value", "orders-value", "users-copy", "users-value"}; exit != 0 || !linesStartWith(out, wantLines) {
		t.Errorf("CLI subjects list = %q (exit %d); want lines starting %v", out, exit, wantLines)
	}
	// A failing call exits non-zero with the server's message.
	_, errOut, exit = harness.Run(t, nil, "schema", "get", "nope", "--server", s.GRPCAddr)
	if exit == 0 || !strings.Contains(errOut, "nope") || !strings.Contains(errOut, "NotFound") {
		t.Errorf("CLI get of an unknown subject: exit %d, stderr %q; want non-zero and the server's message", exit, errOut)
	}

	// SIGTERM while a request body is still arriving: the request completes, the process exits 0.
	inflight := startTrickledRegister(t, s.HTTPAddr, "late-value", userAvro)
	time.Sleep(200 * time.Millisecond) // let the server start reading the body
	stopErr := make(chan error, 1)
	go func() { stopErr <- s.Stop(t) }()
	time.Sleep(200 * time.Millisecond) // the shutdown is under way and waits for the request
	lateCode, lateBody := inflight.finish(t)
	if lateCode != http.StatusOK {
		t.Errorf("in-flight register during shutdown = %d %s; want 200", lateCode, lateBody)
	}
	if err := <-stopErr; err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, s.Log())
	}
	if !strings.Contains(s.Log(), `"msg":"shutting down"`) {
		t.Errorf("log lacks the shutdown line:\n%s", s.Log())
	}

	// Restart on the same data dir: the same IDs come back over HTTP and gRPC.
	s2 := s.Restart(t)
	code, body = getBody(t, s2.URL()+"/v1/subjects/users-value/versions/1")
	var sv struct {
		Version struct {
			Schema struct{ ID int } `json:"schema"`
		} `json:"version"`
	}
	mustUnmarshal(t, body, &sv)
	if code != http.StatusOK || sv.Version.Schema.ID != reg.ID {
		t.Errorf("after restart users-value v1 = %d %s; want ID %d", code, body, reg.ID)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	js, err := grpcClient(t, s2.GRPCAddr).GetSchema(ctx2, &pb.GetSchemaRequest{Id: jsonResp.GetId()})
	if err != nil || js.GetSchema().GetSchemaType() != pb.SchemaType_SCHEMA_TYPE_JSON {
		t.Errorf("after restart GetSchema(%d) = %v, %v", jsonResp.GetId(), js, err)
	}
	late, err := grpcClient(t, s2.GRPCAddr).GetSubjectVersion(ctx2, &pb.GetSubjectVersionRequest{Subject: "late-value", Version: "1"})
	if err != nil || late.GetVersion().GetSchema().GetId() != int32(reg.ID) {
		t.Errorf("the in-flight registration was not kept: %v, %v", late, err)
	}
	if err := s2.Stop(t); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

// trickled is an HTTP request whose body is sent in two parts.
type trickled struct {
	conn net.Conn
	rest string
}

func startTrickledRegister(t *testing.T, addr, subject, schema string) *trickled {
	t.Helper()
	body := mustJSON(map[string]string{"schema": schema})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /v1/subjects/%s/versions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", subject, addr, len(body), body[:half])
	return &trickled{conn: conn, rest: body[half:]}
}

func (tr *trickled) finish(t *testing.T) (int, string) {
	t.Helper()
	defer tr.conn.Close()
	if _, err := io.WriteString(tr.conn, tr.rest); err != nil {
		t.Fatal(err)
	}
	_ = tr.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(tr.conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeRefusesNonLoopbackWithoutAuth(t *testing.T) {
	_, stderr, code := harness.Run(t, nil, "serve", "--data-dir", t.TempDir(), "--http-addr", "0.0.0.0:0", "--grpc-addr", harness.FreeAddr(t))
	if code != exitError {
		t.Errorf("exit code = %d; want 3", code)
	}
	if !strings.Contains(stderr, "refusing to listen on 0.0.0.0:0 without authentication: configure auth.principals") {
		t.Errorf("stderr = %q; want the refusal naming the fix", stderr)
	}
}

// TestServeWithAuth runs the binary with principals from a config file and checks both
// transports refuse missing and insufficient credentials, and that no secret reaches the log.
func TestServeWithAuth(t *testing.T) {
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	cfg := fmt.Sprintf("auth:\n  principals:\n    - {name: reader, roles: [producer], token_sha256: %s}\n    - {name: writer, roles: [author], token_sha256: %s}\n",
		hash("reader-secret-token"), hash("writer-secret-token"))
	cfgFile := filepath.Join(t.TempDir(), "schemagate.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	schemaFile := filepath.Join(t.TempDir(), "user.avsc")
	if err := os.WriteFile(schemaFile, []byte(userAvro), 0o600); err != nil {
		t.Fatal(err)
	}
	s := harness.Start(t, harness.Options{ConfigFile: cfgFile, Args: jsonLog})
	url := s.URL() + "/v1/subjects/a/versions"
	body := mustJSON(map[string]string{"schema": userAvro})
	for _, tt := range []struct {
		token string
		want  int
	}{{"", 401}, {"wrong", 401}, {"reader-secret-token", 403}, {"writer-secret-token", 200}} {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("HTTP register with token %q = %d; want %d", tt.token, resp.StatusCode, tt.want)
		}
	}
	for _, tt := range []struct {
		token    string
		wantExit int
		wantErr  string
	}{{"", exitError, "Unauthenticated"}, {"reader-secret-token", exitError, "PermissionDenied"}, {"writer-secret-token", 0, ""}} {
		env := []string{"SCHEMAGATE_TOKEN=" + tt.token}
		_, errOut, exit := harness.Run(t, env, "schema", "register", "b", "--file", schemaFile, "--server", s.GRPCAddr)
		if exit != tt.wantExit || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("CLI register with token %q: exit %d stderr %q; want exit %d containing %q", tt.token, exit, errOut, tt.wantExit, tt.wantErr)
		}
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
	for _, secret := range []string{"reader-secret-token", "writer-secret-token"} {
		if strings.Contains(s.Log(), secret) {
			t.Errorf("server log contains the secret %q", secret)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("unmarshal %q: %v", s, err)
	}
}

func linesStartWith(out string, prefixes []string) bool {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(prefixes) {
		return false
	}
	for i, p := range prefixes {
		if !strings.HasPrefix(lines[i], p) {
			return false
		}
	}
	return true
}
