package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/schemagate/schemagate/gateway/confluent"
	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// The hostile-input suite: every case sends what a careless or malicious client might, to a
// gateway listening on real loopback ports over a temporary SQLite store, and checks the precise
// refusal (HTTP status and Confluent error_code or gRPC code, and a message fragment), that
// nothing half-written is left in the registry, and that nothing panicked.

// restDo sends a request to the Confluent REST API (or any path; /v1 bodies as
// application/json) with a raw body and returns the status and body.
func (tg *testGateway) restDo(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+tg.g.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" && strings.HasPrefix(path, "/v1/") {
		req.Header.Set("Content-Type", "application/json")
	} else if body != "" {
		req.Header.Set("Content-Type", confluent.ContentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// confluentError is a Confluent REST error body.
type confluentError struct {
	Status    int
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// wantConfluentError fails unless (code, raw) is the Confluent error want, whose Message is a
// fragment of the message got.
func wantConfluentError(t *testing.T, what string, code int, raw []byte, want confluentError) {
	t.Helper()
	got := confluentError{Status: code}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Errorf("%s: %d %q is not a Confluent error: %v", what, code, raw, err)
		return
	}
	if strings.Contains(got.Message, want.Message) {
		got.Message = want.Message
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: error (-want +got):\n%s\nbody: %s", what, diff, raw)
	}
}

// grpcError is a gRPC status, its message as a fragment.
type grpcError struct {
	Code    codes.Code
	Message string
}

func wantGRPCError(t *testing.T, what string, err error, want grpcError) {
	t.Helper()
	st := status.Convert(err)
	got := grpcError{Code: st.Code(), Message: st.Message()}
	if strings.Contains(got.Message, want.Message) {
		got.Message = want.Message
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: status (-want +got):\n%s", what, diff)
	}
}

// v1Error is a /v1 (grpc-gateway) error: HTTP status, gRPC code and message fragment.
type v1Error struct {
	Status  int
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func wantV1Error(t *testing.T, what string, code int, raw []byte, want v1Error) {
	t.Helper()
	got := v1Error{Status: code}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Errorf("%s: %d %q is not a /v1 error: %v", what, code, raw, err)
		return
	}
	if strings.Contains(got.Message, want.Message) {
		got.Message = want.Message
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: error (-want +got):\n%s\nbody: %.300s", what, diff, raw)
	}
}

// restSubjects lists the live subjects over the Confluent REST API.
func (tg *testGateway) restSubjects(t *testing.T) []string {
	t.Helper()
	code, raw := tg.restDo(t, "GET", "/subjects", "")
	var got []string
	if err := json.Unmarshal(raw, &got); code != http.StatusOK || err != nil {
		t.Fatalf("GET /subjects = %d %s (%v)", code, raw, err)
	}
	return got
}

// wantSubjects fails unless exactly the subjects want are registered.
func (tg *testGateway) wantSubjects(t *testing.T, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, tg.restSubjects(t)); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}

// schemaBody is a Confluent register body for schema text, with extra JSON fields appended.
func schemaBody(schema string, extra ...string) string {
	b, _ := json.Marshal(schema)
	return `{"schema":` + string(b) + strings.Join(extra, "") + `}`
}

// frame puts the Confluent header (magic byte 0, 4-byte big-endian ID) before body.
func frame(id uint32, body ...byte) []byte {
	out := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], id)
	return append(out, body...)
}

// zig is the Avro zig-zag varint of n.
func zig(n int64) []byte { return binary.AppendVarint(nil, n) }

// avroStr is an Avro string: its length, then its bytes.
func avroStr(s string) []byte { return append(zig(int64(len(s))), s...) }

// validateFindings runs one validation over gRPC and returns its findings, or fails.
func validateFindings(t *testing.T, tg *testGateway, req *pb.ValidateRequest) *pb.ValidateResponse {
	t.Helper()
	resp, err := pb.NewValidationServiceClient(tg.conn).Validate(withToken(""), req)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return resp
}

// wantFindings compares a validation response with want; a wanted finding Message is a
// fragment of the message got.
func wantFindings(t *testing.T, what string, got, want *pb.ValidateResponse) {
	t.Helper()
	for i, f := range got.GetFindings() {
		if i < len(want.GetFindings()) && strings.Contains(f.GetMessage(), want.GetFindings()[i].GetMessage()) {
			f.Message = want.GetFindings()[i].GetMessage()
		}
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("%s: response (-want +got):\n%s", what, diff)
	}
}

func flagged(schemaID, version int32, findings ...*pb.Finding) *pb.ValidateResponse {
	return &pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_FLAGGED, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY,
		SchemaId: schemaID, Version: version, Findings: findings, TotalFindings: int32(len(findings))}
}

func valid(schemaID, version int32) *pb.ValidateResponse {
	return &pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_VALID, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY,
		SchemaId: schemaID, Version: version}
}

func finding(kind pb.DriftKind, path, msg string) *pb.Finding {
	return &pb.Finding{Kind: kind, Path: path, Message: msg}
}

// mustRegisterREST registers schema text (with extra body fields) under subject over the
// Confluent REST API and returns its ID.
func (tg *testGateway) mustRegisterREST(t *testing.T, subject, schema string, extra ...string) int32 {
	t.Helper()
	code, raw := tg.restDo(t, "POST", "/subjects/"+subject+"/versions", schemaBody(schema, extra...))
	var resp struct{ ID int32 }
	if err := json.Unmarshal(raw, &resp); code != http.StatusOK || err != nil || resp.ID == 0 {
		t.Fatalf("register %s: %d %s (%v)", subject, code, raw, err)
	}
	return resp.ID
}

func TestHostileOversizedBodies(t *testing.T) {
	tg := startGatewayWith(t, func(c *Config) {
		c.SchemaRegistry.MaxPayloadBytes = 1024
		c.SchemaRegistry.MaxBatchSize = 3
	})
	tg.mustRegisterREST(t, "keep", `"string"`)
	overMaxBody := schemaBody(strings.Repeat(" ", confluent.MaxBodyBytes) + `"string"`)
	overMaxSchema := schemaBody(`"string"` + strings.Repeat(" ", 1<<20))

	restCases := []struct {
		name, method, path, body string
		want                     confluentError
	}{
		{"Confluent register body over the body limit", "POST", "/subjects/big/versions", overMaxBody,
			confluentError{Status: 422, ErrorCode: 42209, Message: "Schema too large: the request body exceeds 2162688 bytes"}},
		{"Confluent compatibility body over the body limit", "POST", "/compatibility/subjects/keep/versions/latest", overMaxBody,
			confluentError{Status: 422, ErrorCode: 42209, Message: "Schema too large"}},
		{"Confluent lookup body over the body limit", "POST", "/subjects/keep", overMaxBody,
			confluentError{Status: 422, ErrorCode: 42209, Message: "Schema too large"}},
		{"schema text over 1 MiB inside the body limit", "POST", "/subjects/big/versions", overMaxSchema,
			confluentError{Status: 422, ErrorCode: 42201, Message: "invalid AVRO schema: text is 1048584 bytes, the limit is 1048576"}},
	}
	for _, tc := range restCases {
		code, raw := tg.restDo(t, tc.method, tc.path, tc.body)
		wantConfluentError(t, tc.name, code, raw, tc.want)
	}

	// /v1 bodies are cut at their route's limit (here confluent.MaxBodyBytes) before
	// grpc-gateway decodes them; TestV1BodyLimits covers every route.
	code, raw := tg.restDo(t, "POST", "/v1/subjects/big/versions", `{"schema":"`+strings.Repeat(" ", maxMessageBytes)+`\"string\""}`)
	wantV1Error(t, "/v1 register body over its limit", code, raw, v1Error{Status: 413, Code: int(codes.ResourceExhausted), Message: "request body is larger than the limit of 2162688 bytes"})
	code, raw = tg.restDo(t, "POST", "/v1/subjects/keep/validate", `{"data":"`+base64.StdEncoding.EncodeToString(make([]byte, 1025))+`"}`)
	wantV1Error(t, "/v1 payload over max_payload_bytes", code, raw,
		v1Error{Status: 413, Code: int(codes.ResourceExhausted), Message: "payload too large: payload is 1025 bytes, the limit is 1024"})

	code, raw = tg.restDo(t, "POST", "/v1/subjects/keep/validate", `{"json":"`+strings.Repeat("a", 1023)+`"}`)
	wantV1Error(t, "/v1 JSON payload over max_payload_bytes", code, raw,
		v1Error{Status: 413, Code: int(codes.ResourceExhausted), Message: "JSON payload is more than 1024 bytes as compact JSON, the limit is 1024"})
	code, raw = tg.restDo(t, "POST", "/v1/subjects/keep/validate", `{"json":"`+strings.Repeat("a", 1022)+`"}`)
	if code != http.StatusOK {
		t.Errorf("/v1 JSON payload of exactly max_payload_bytes = %d %s; want 200", code, raw)
	}

	validation := pb.NewValidationServiceClient(tg.conn)
	registry := pb.NewRegistryServiceClient(tg.conn)
	grpcCases := []struct {
		name string
		call func() error
		want grpcError
	}{
		{"gRPC payload over max_payload_bytes", func() error {
			_, err := validation.Validate(withToken(""), &pb.ValidateRequest{Subject: "keep", Data: make([]byte, 1025)})
			return err
		}, grpcError{codes.ResourceExhausted, "payload is 1025 bytes, the limit is 1024"}},
		{"gRPC payload over max_payload_bytes for an unknown subject", func() error {
			_, err := validation.Validate(withToken(""), &pb.ValidateRequest{Subject: "nope", Data: make([]byte, 1025)})
			return err
		}, grpcError{codes.ResourceExhausted, "payload is 1025 bytes, the limit is 1024"}},
		{"gRPC JSON payload over max_payload_bytes", func() error {
			_, err := validation.Validate(withToken(""), &pb.ValidateRequest{Subject: "keep", Json: structpb.NewStringValue(strings.Repeat("a", 1023))})
			return err
		}, grpcError{codes.ResourceExhausted, "payload too large: JSON payload is more than 1024 bytes as compact JSON, the limit is 1024"}},
		{"gRPC JSON payload of many small values over max_payload_bytes", func() error {
			_, err := validation.Validate(withToken(""), &pb.ValidateRequest{Subject: "keep", Json: jsonPayload(t, "["+strings.Repeat("0,", 600)+"0]")})
			return err
		}, grpcError{codes.ResourceExhausted, "JSON payload is more than 1024 bytes"}},
		{"gRPC batch over max_batch_size", func() error {
			_, err := validation.ValidateBatch(withToken(""), &pb.ValidateBatchRequest{Subject: "keep",
				Requests: []*pb.ValidateRequest{{Data: []byte{0}}, {Data: []byte{0}}, {Data: []byte{0}}, {Data: []byte{0}}}})
			return err
		}, grpcError{codes.ResourceExhausted, "batch of 4 requests; the limit is 3"}},
		{"gRPC validation message over the receive limit", func() error {
			_, err := validation.Validate(withToken(""), &pb.ValidateRequest{Subject: "keep", Data: make([]byte, maxMessageBytes+1)})
			return err
		}, grpcError{codes.ResourceExhausted, "grpc: received message larger than max"}},
		{"gRPC registration over the receive limit", func() error {
			_, err := registry.RegisterSchema(withToken(""), &pb.RegisterSchemaRequest{Subject: "big", Schema: strings.Repeat(" ", maxMessageBytes) + `"string"`})
			return err
		}, grpcError{codes.ResourceExhausted, "grpc: received message larger than max"}},
		{"gRPC schema over 1 MiB inside the receive limit", func() error {
			_, err := registry.RegisterSchema(withToken(""), &pb.RegisterSchemaRequest{Subject: "big", Schema: `"string"` + strings.Repeat(" ", 1<<20)})
			return err
		}, grpcError{codes.InvalidArgument, "invalid AVRO schema: text is 1048584 bytes, the limit is 1048576"}},
	}
	for _, tc := range grpcCases {
		wantGRPCError(t, tc.name, tc.call(), tc.want)
	}
	tg.wantSubjects(t, "keep")
}

// nestedJSON is n arrays nested in each other, innermost empty.
func nestedJSON(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// nestedValue is nestedJSON(n) as a protobuf Value, built without recursion.
func nestedValue(n int) *structpb.Value {
	v := structpb.NewListValue(&structpb.ListValue{})
	for i := 1; i < n; i++ {
		v = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{v}})
	}
	return v
}

const (
	// linkedList and tree are recursive Avro records: a record referring to itself through a
	// union and through an array.
	linkedList = `{"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}`
	tree       = `{"type":"record","name":"Tree","fields":[{"name":"label","type":"string"},{"name":"children","type":{"type":"array","items":"Tree"}}]}`
)

// listPayload is an Avro linked list of n nodes (values 1..n).
func listPayload(n int) []byte {
	var out []byte
	for i := 1; i <= n; i++ {
		out = append(out, zig(int64(i))...)
		if i < n {
			out = append(out, zig(1)...) // union branch "Node"
		}
	}
	return append(out, zig(0)...) // the last node's next is null
}

// treePayload is an Avro tree n levels deep, each node with one child but the last.
func treePayload(n int) []byte {
	var out []byte
	for i := 1; i < n; i++ {
		out = append(out, avroStr("t")...)
		out = append(out, zig(1)...) // a block of one child
	}
	out = append(out, avroStr("leaf")...)
	out = append(out, zig(0)...) // the leaf has no children
	for i := 1; i < n; i++ {
		out = append(out, zig(0)...) // end of each parent's children
	}
	return out
}

func TestHostileNesting(t *testing.T) {
	tg := startGatewayWith(t, nil)
	registry := pb.NewRegistryServiceClient(tg.conn)

	// Schemas nested 10,000 deep are refused before any parser sees them.
	deepJSONSchema := strings.Repeat(`{"items":`, 10000) + `{}` + strings.Repeat("}", 10000)
	deepAvro := strings.Repeat(`{"type":"array","items":`, 10000) + `"int"` + strings.Repeat("}", 10000)
	for _, tc := range []struct {
		name, schema, extra string
		typ                 pb.SchemaType
		want                string
	}{
		{"JSON Schema nested 10k deep", deepJSONSchema, `,"schemaType":"JSON"`, pb.SchemaType_SCHEMA_TYPE_JSON, "invalid JSON schema: JSON nesting is deeper than the limit of 128"},
		{"Avro nested 10k deep", deepAvro, "", pb.SchemaType_SCHEMA_TYPE_AVRO, "invalid AVRO schema: JSON nesting is deeper than the limit of 128"},
		{"JSON arrays nested 10k deep as an Avro schema", nestedJSON(10000), "", pb.SchemaType_SCHEMA_TYPE_AVRO, "invalid AVRO schema: JSON nesting is deeper than the limit of 128"},
	} {
		code, raw := tg.restDo(t, "POST", "/subjects/deep/versions", schemaBody(tc.schema, tc.extra))
		wantConfluentError(t, "REST: "+tc.name, code, raw, confluentError{Status: 422, ErrorCode: 42201, Message: tc.want})
		_, err := registry.RegisterSchema(withToken(""), &pb.RegisterSchemaRequest{Subject: "deep", Schema: tc.schema, SchemaType: tc.typ})
		wantGRPCError(t, "gRPC: "+tc.name, err, grpcError{codes.InvalidArgument, tc.want})
	}
	tg.wantSubjects(t)

	// Recursive Avro schemas register, and recursive payloads validate up to max_json_depth
	// (64): each list node is a record and a union branch (two levels), each tree level a
	// record and an array (two levels).
	listID := tg.mustRegisterREST(t, "list", linkedList)
	treeID := tg.mustRegisterREST(t, "tree", tree)
	anyID := tg.mustRegisterREST(t, "any", `{}`, `,"schemaType":"JSON"`)
	tg.wantSubjects(t, "any", "list", "tree")
	decode := pb.DriftKind_DRIFT_KIND_DECODE_ERROR
	for _, tc := range []struct {
		name string
		req  *pb.ValidateRequest
		want *pb.ValidateResponse
	}{
		{"linked list of 32 nodes", &pb.ValidateRequest{Subject: "list", Data: frame(uint32(listID), listPayload(32)...)}, valid(listID, 1)},
		{"linked list of 33 nodes", &pb.ValidateRequest{Subject: "list", Data: frame(uint32(listID), listPayload(33)...)},
			flagged(listID, 1, finding(decode, strings.Repeat("/next", 32), "value nested deeper than the limit of 64 at byte offset 69"))},
		{"linked list of 10,000 nodes", &pb.ValidateRequest{Subject: "list", Data: frame(uint32(listID), listPayload(10000)...)},
			flagged(listID, 1, finding(decode, strings.Repeat("/next", 32), "value nested deeper than the limit of 64"))},
		{"tree 32 levels deep", &pb.ValidateRequest{Subject: "tree", Data: frame(uint32(treeID), treePayload(32)...)}, valid(treeID, 1)},
		{"tree 10,000 levels deep", &pb.ValidateRequest{Subject: "tree", Data: frame(uint32(treeID), treePayload(10000)...)},
			flagged(treeID, 1, finding(decode, strings.Repeat("/children/0", 32), "value nested deeper than the limit of 64"))},
		{"linked list as Avro JSON beyond the limit", &pb.ValidateRequest{Subject: "list", Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_JSON,
			Json: jsonPayload(t, strings.Repeat(`{"value":1,"next":{"Node":`, 40)+`{"value":1,"next":null}`+strings.Repeat("}}", 40))},
			flagged(listID, 1, finding(decode, strings.Repeat("/next/Node", 32), "value nested deeper than the limit of 64"))},
		{"JSON payload 64 deep", &pb.ValidateRequest{Subject: "any", Json: nestedValue(64)}, valid(anyID, 1)},
		{"JSON payload 65 deep", &pb.ValidateRequest{Subject: "any", Json: nestedValue(65)},
			flagged(anyID, 1, finding(pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION, "", "value is nested deeper than the limit of 64 levels"))},
		{"JSON payload 2,000 deep", &pb.ValidateRequest{Subject: "any", Json: nestedValue(2000)},
			flagged(anyID, 1, finding(pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION, "", "value is nested deeper than the limit of 64 levels"))},
		{"framed JSON payload of 1 MiB of brackets", &pb.ValidateRequest{Subject: "any", Data: frame(uint32(anyID), bytes.Repeat([]byte("["), 1<<20-5)...)},
			flagged(anyID, 1, finding(decode, "", "payload nested too deeply: nesting deeper than the limit of 64 at byte offset 69"))},
	} {
		wantFindings(t, tc.name, validateFindings(t, tg, tc.req), tc.want)
	}

	// A strict subject rejects the payload nested too deeply, with the finding in the details.
	if err := tg.g.gate.Modes().SetMode(context.Background(), "list", governance.ModeStrict); err != nil {
		t.Fatal(err)
	}
	if err := tg.g.gate.Modes().Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := pb.NewValidationServiceClient(tg.conn).Validate(withToken(""), &pb.ValidateRequest{Subject: "list", Data: frame(uint32(listID), listPayload(1000)...)})
	wantGRPCError(t, "strict: linked list of 1,000 nodes", err, grpcError{codes.InvalidArgument, fmt.Sprintf(`payload rejected: 1 findings against schema %d of subject "list" (strict mode)`, listID)})
	if details := status.Convert(err).Details(); len(details) != 1 {
		t.Errorf("strict rejection details = %v; want the ValidateResponse", details)
	} else {
		rejected := flagged(listID, 1, finding(decode, strings.Repeat("/next", 32), "value nested deeper than the limit of 64 at byte offset 69"))
		rejected.Outcome, rejected.Mode = pb.Outcome_OUTCOME_REJECTED, pb.ValidationMode_VALIDATION_MODE_STRICT
		wantFindings(t, "strict rejection details", details[0].(*pb.ValidateResponse), rejected)
	}

	// Over HTTP/JSON, a payload nested beyond encoding/json's own limit (10,000) cannot be
	// moved into json_text; the body, nested beyond max_json_depth and its envelope, is refused
	// before it is decoded (boundedBodies).
	code, raw := tg.restDo(t, "POST", "/v1/subjects/any/validate", `{"json":`+nestedJSON(10001)+`}`)
	wantV1Error(t, "/v1 JSON payload 10,001 deep", code, raw, v1Error{Status: 400, Code: int(codes.InvalidArgument), Message: "request body is nested deeper than the limit of 68"})
	// A payload nested 6,000 deep is within encoding/json's limit but beyond the gRPC decoder's
	// as a protobuf Value; /v1 sends it as text (json_text, see rewriteJSONPayloads), so it is
	// validated like any payload nested beyond the limit: one finding.
	code, raw = tg.restDo(t, "POST", "/v1/subjects/any/validate", `{"json":`+nestedJSON(6000)+`}`)
	if code != http.StatusOK || !strings.Contains(string(raw), "nested deeper than the limit") {
		t.Errorf("/v1 JSON payload 6,000 deep = %d %.300s; want 200 with a finding about the nesting", code, raw)
	}
	// Over gRPC, a Value nested 5,001 deep is two protobuf messages per level, beyond the
	// protobuf decoder's limit of 10,000: grpc-go refuses it before any handler runs, and answers
	// Internal (see the report of this suite); the gateway keeps serving.
	_, err = pb.NewValidationServiceClient(tg.conn).Validate(withToken(""), &pb.ValidateRequest{Subject: "any", Json: nestedValue(5001)})
	wantGRPCError(t, "gRPC JSON payload 5,001 deep", err, grpcError{codes.Internal, "exceeded maximum recursion depth"})
	wantFindings(t, "after the deep payloads", validateFindings(t, tg, &pb.ValidateRequest{Subject: "any", Json: nestedValue(3)}), valid(anyID, 1))
	tg.wantSubjects(t, "any", "list", "tree")
}

func TestHostileConfluentFrames(t *testing.T) {
	tg := startGatewayWith(t, nil)
	ordersID := tg.mustRegisterREST(t, "orders", orderAvro)
	otherID := tg.mustRegisterREST(t, "other", `"long"`)
	good := avroStr("o-1")
	decode, unknown := pb.DriftKind_DRIFT_KIND_DECODE_ERROR, pb.DriftKind_DRIFT_KIND_UNKNOWN_SCHEMA_ID
	tests := []struct {
		name string
		data []byte
		want *pb.ValidateResponse
	}{
		{"well framed", frame(uint32(ordersID), good...), valid(ordersID, 1)},
		{"wrong magic byte", append([]byte{1, 0, 0, 0, byte(ordersID)}, good...),
			flagged(0, 0, finding(decode, "", "not a Confluent-framed payload: magic byte is 0x01, want 0x00"))},
		{"fewer than 5 bytes", []byte{0, 0, 0, 1},
			flagged(0, 0, finding(decode, "", "not a Confluent-framed payload: 4 bytes, need at least 5 (magic byte 0 and a 4-byte schema ID)"))},
		{"a single byte", []byte{0},
			flagged(0, 0, finding(decode, "", "not a Confluent-framed payload: 1 bytes, need at least 5"))},
		{"schema ID 0", frame(0, good...),
			flagged(0, 0, finding(decode, "", "not a Confluent-framed payload: schema ID 0 is not a valid ID"))},
		{"schema ID of another subject", frame(uint32(otherID), zig(7)...),
			flagged(0, 0, finding(unknown, "", `schema ID 2 is not registered under subject "orders"`))},
		{"schema ID registered nowhere", frame(4242, good...),
			flagged(0, 0, finding(unknown, "", `schema ID 4242 is not registered under subject "orders"`))},
		{"schema ID beyond int32", frame(1<<31, good...),
			flagged(0, 0, finding(decode, "", "not a Confluent-framed payload: schema ID 2147483648 does not fit a signed 32-bit integer"))},
		{"schema ID 0xFFFFFFFF", frame(0xFFFFFFFF, good...),
			flagged(0, 0, finding(decode, "", "schema ID 4294967295 does not fit a signed 32-bit integer"))},
		{"trailing garbage", frame(uint32(ordersID), append(good, 0xde, 0xad, 0xbe)...),
			flagged(ordersID, 1, finding(decode, "", "3 trailing bytes after the value, starting at byte offset 9"))},
		{"string length MaxInt64", frame(uint32(ordersID), zig(math.MaxInt64)...),
			flagged(ordersID, 1, finding(decode, "/id", "string length 9223372036854775807 at byte offset 5 is larger than the 0 bytes left"))},
		{"negative string length", frame(uint32(ordersID), zig(-1)...),
			flagged(ordersID, 1, finding(decode, "/id", "string length -1 at byte offset 5 is negative"))},
		{"string length varint beyond 64 bits", frame(uint32(ordersID), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
			flagged(ordersID, 1, finding(decode, "/id", "string length varint at byte offset 5 overflows 64 bits"))},
		{"header only: truncated body", frame(uint32(ordersID)),
			flagged(ordersID, 1, finding(decode, "/id", "truncated string length varint at byte offset 5"))},
	}
	for _, tc := range tests {
		wantFindings(t, "gRPC: "+tc.name, validateFindings(t, tg, &pb.ValidateRequest{Subject: "orders", Data: tc.data}), tc.want)
		code, raw := tg.restDo(t, "POST", "/v1/subjects/orders/validate",
			`{"data":"`+base64.StdEncoding.EncodeToString(tc.data)+`","format":"PAYLOAD_FORMAT_CONFLUENT"}`)
		got := &pb.ValidateResponse{}
		if code != http.StatusOK {
			t.Errorf("HTTP: %s: %d %s", tc.name, code, raw)
			continue
		}
		if err := protojson.Unmarshal(raw, got); err != nil {
			t.Fatalf("HTTP: %s: %v", tc.name, err)
		}
		wantFindings(t, "HTTP: "+tc.name, got, tc.want)
	}
	tg.wantSubjects(t, "orders", "other")
}

func TestHostileUTF8NULAndEnums(t *testing.T) {
	tg := startGatewayWith(t, nil)
	const status = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},` +
		`{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}}]}`
	const eventJSON = `{"type":"object","properties":{"id":{"type":"string"},"state":{"enum":["open","closed"]}}}`

	restCases := []struct {
		name, path, body string
		want             confluentError
	}{
		{"invalid UTF-8 in the schema text", "/subjects/u/versions", "{\"schema\":\"\\\"str\xffing\\\"\"}",
			confluentError{Status: 400, ErrorCode: 400, Message: "Invalid UTF-8 in the JSON body at byte offset 16"}},
		{"invalid UTF-8 in a reference subject", "/subjects/u/versions", "{\"schema\":\"\\\"string\\\"\",\"references\":[{\"name\":\"a\",\"subject\":\"\xc3\",\"version\":1}]}",
			confluentError{Status: 400, ErrorCode: 400, Message: "Invalid UTF-8 in the JSON body at byte offset"}},
		{"NUL inside a JSON string of the schema", "/subjects/u/versions", schemaBody("\"str\x00ing\""),
			confluentError{Status: 422, ErrorCode: 42201, Message: `invalid AVRO schema: not valid JSON at byte offset 5: invalid character '\x00' in string literal`}},
		{"NUL in an Avro enum symbol", "/subjects/u/versions", schemaBody(`{"type":"enum","name":"E","symbols":["A\u0000"]}`),
			confluentError{Status: 422, ErrorCode: 42201, Message: `invalid AVRO schema: enum "E": invalid symbol "A\u0000"`}},
		{"NUL in an Avro record name", "/subjects/u/versions", schemaBody(`{"type":"record","name":"R\u0000","fields":[]}`),
			confluentError{Status: 422, ErrorCode: 42201, Message: `invalid AVRO schema`}},
		{"NUL in the subject", "/subjects/a%00b/versions", schemaBody(`"string"`),
			confluentError{Status: 422, ErrorCode: 42208, Message: `invalid subject "a\x00b": control character U+0000 at byte 1`}},
		{"invalid UTF-8 in the subject", "/subjects/a%FFb/versions", schemaBody(`"string"`),
			confluentError{Status: 422, ErrorCode: 42208, Message: `invalid subject "a\xffb": name is not valid UTF-8`}},
		{"overlong UTF-8 encoding of / in the subject", "/subjects/a%C0%AFb/versions", schemaBody(`"string"`),
			confluentError{Status: 422, ErrorCode: 42208, Message: `name is not valid UTF-8`}},
	}
	for _, tc := range restCases {
		code, raw := tg.restDo(t, "POST", tc.path, tc.body)
		wantConfluentError(t, tc.name, code, raw, tc.want)
	}
	code, raw := tg.restDo(t, "POST", "/v1/subjects/u/versions", "{\"schema\":\"\\\"str\xffing\\\"\"}")
	wantV1Error(t, "/v1: invalid UTF-8 in the schema text", code, raw, v1Error{Status: 400, Code: int(codes.InvalidArgument), Message: "invalid UTF-8 in string"})
	// gRPC: grpc-go refuses a message whose strings are not UTF-8 before any handler runs, and
	// answers Internal (its code for every undecodable message; see the report of this suite).
	err := invokeRaw(t, tg, pb.RegistryService_RegisterSchema_FullMethodName, &pb.RegisterSchemaRequest{Subject: "u", Schema: `"str!ing"`}, 0xff)
	wantGRPCError(t, "gRPC: invalid UTF-8 in the schema text", err, grpcError{codes.Internal, "grpc: failed to unmarshal the received message: string field contains invalid UTF-8"})
	err = invokeRaw(t, tg, pb.RegistryService_RegisterSchema_FullMethodName, &pb.RegisterSchemaRequest{Subject: "u!", Schema: `"string"`}, 0xc3)
	wantGRPCError(t, "gRPC: invalid UTF-8 in the subject", err, grpcError{codes.Internal, "string field contains invalid UTF-8"})
	_, err = pb.NewRegistryServiceClient(tg.conn).RegisterSchema(withToken(""), &pb.RegisterSchemaRequest{Subject: "u\x00", Schema: `"string"`})
	wantGRPCError(t, "gRPC: NUL in the subject", err, grpcError{codes.InvalidArgument, `invalid subject "u\x00": control character U+0000 at byte 1`})
	tg.wantSubjects(t)

	avroID := tg.mustRegisterREST(t, "orders", status)
	jsonID := tg.mustRegisterREST(t, "events", eventJSON, `,"schemaType":"JSON"`)
	decode, enum := pb.DriftKind_DRIFT_KIND_DECODE_ERROR, pb.DriftKind_DRIFT_KIND_ENUM_VIOLATION
	for _, tc := range []struct {
		name string
		req  *pb.ValidateRequest
		want *pb.ValidateResponse
	}{
		{"Avro string with invalid UTF-8", &pb.ValidateRequest{Subject: "orders", Data: frame(uint32(avroID), append(append(zig(2), 0xc3, 0x28), zig(0)...)...)},
			flagged(avroID, 1, finding(decode, "/id", "string at byte offset 5 is not valid UTF-8"))},
		{"Avro string with a NUL is valid", &pb.ValidateRequest{Subject: "orders", Data: frame(uint32(avroID), append(avroStr("a\x00b"), zig(1)...)...)},
			valid(avroID, 1)},
		{"Avro enum index beyond the symbols", &pb.ValidateRequest{Subject: "orders", Data: frame(uint32(avroID), append(avroStr("o"), zig(2)...)...)},
			flagged(avroID, 1, finding(decode, "/status", "enum index 2 at byte offset 7 is out of range: Status has 2 symbols"))},
		{"Avro enum index of 2^31-1", &pb.ValidateRequest{Subject: "orders", Data: frame(uint32(avroID), append(avroStr("o"), zig(1<<31-1)...)...)},
			flagged(avroID, 1, finding(decode, "/status", "enum index 2147483647 at byte offset 7 is out of range"))},
		{"Avro JSON unknown enum symbol", &pb.ValidateRequest{Subject: "orders", Json: jsonPayload(t, `{"id":"o","status":"SHIPPED"}`)},
			flagged(avroID, 1, finding(enum, "/status", `"SHIPPED" is not a symbol of enum Status ("NEW", "PAID")`))},
		{"Avro JSON enum symbol with a NUL", &pb.ValidateRequest{Subject: "orders", Json: jsonPayload(t, `{"id":"o","status":"NEW\u0000"}`)},
			flagged(avroID, 1, finding(enum, "/status", `is not a symbol of enum Status`))},
		{"JSON Schema unknown enum value", &pb.ValidateRequest{Subject: "events", Json: jsonPayload(t, `{"id":"e","state":"lost"}`)},
			flagged(jsonID, 1, finding(enum, "/state", `"lost"`))},
		{"framed JSON with invalid UTF-8", &pb.ValidateRequest{Subject: "events", Data: frame(uint32(jsonID), []byte("{\"id\":\"\xff\"}")...)},
			flagged(jsonID, 1, finding(decode, "", "malformed JSON: invalid UTF-8 at byte offset 12"))},
		{"JSON string with a NUL is valid", &pb.ValidateRequest{Subject: "events", Json: jsonPayload(t, `{"id":"a\u0000b"}`)}, valid(jsonID, 1)},
	} {
		wantFindings(t, tc.name, validateFindings(t, tg, tc.req), tc.want)
	}
	code, raw = tg.restDo(t, "POST", "/v1/subjects/events/validate", "{\"json\":{\"id\":\"\xff\"}}")
	wantV1Error(t, "/v1: JSON payload with invalid UTF-8", code, raw, v1Error{Status: 400, Code: int(codes.InvalidArgument), Message: "invalid UTF-8 in string"})
	tg.wantSubjects(t, "events", "orders")
}

// rawCodec sends pre-encoded protobuf bytes, so a test can send what a Go client refuses to
// encode (strings that are not UTF-8) the way a client in another language can; the response
// is discarded.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal([]byte, any) error   { return nil }
func (rawCodec) Name() string                  { return "proto" }

// invokeRaw calls method with msg encoded, then with the first "!" in the encoding replaced
// by the byte bad.
func invokeRaw(t *testing.T, tg *testGateway, method string, msg proto.Message, bad byte) error {
	t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("!"), []byte{bad}, 1)
	var out []byte
	return tg.conn.Invoke(withToken(""), method, b, &out, grpc.ForceCodec(rawCodec{}))
}

// TestHostileGovernanceText sends each free-text field of the governance API 1 MiB long (under
// the 8 MiB message limit, far over its own bound): every call is InvalidArgument naming the
// field and its limit, the message stays short (it does not quote the value or tell its size),
// and nothing is audited. (Approvals and rejections look their promotion up first; their bounds
// are in governance.TestTextBounds.)
func TestHostileGovernanceText(t *testing.T) {
	tg := startGateway(t, nil)
	setupValidation(t, tg)
	gov := pb.NewGovernanceServiceClient(tg.conn)
	huge := strings.Repeat("x", 1<<20)
	const subject = "orders-value"
	tests := []struct {
		name, want string
		call       func(context.Context) error
	}{
		{"request reason", "reason is longer than the limit of 1024 bytes", func(ctx context.Context) error {
			_, err := gov.RequestPromotion(ctx, &pb.RequestPromotionRequest{Subject: subject, Ticket: "OPS-1", Reason: huge})
			return err
		}},
		{"request ticket", "ticket is longer than the limit of 128 bytes", func(ctx context.Context) error {
			_, err := gov.RequestPromotion(ctx, &pb.RequestPromotionRequest{Subject: subject, Ticket: huge, Reason: "r"})
			return err
		}},
		{"rollback incident", "incident is longer than the limit of 128 bytes", func(ctx context.Context) error {
			_, err := gov.Rollback(ctx, &pb.RollbackRequest{Subject: subject, Reason: "r", Incident: huge})
			return err
		}},
		{"override justification", "justification is longer than the limit of 1024 bytes", func(ctx context.Context) error {
			_, err := gov.SetValidationMode(ctx, &pb.SetValidationModeRequest{Subject: subject,
				Mode: pb.ValidationMode_VALIDATION_MODE_STRICT, Ticket: "OPS-1", Justification: huge})
			return err
		}},
		{"owner team", "team is longer than the limit of 256 bytes", func(ctx context.Context) error {
			_, err := gov.SetSubjectOwner(ctx, &pb.SetSubjectOwnerRequest{Subject: subject, Team: huge})
			return err
		}},
		{"owner escalation", "escalation is longer than the limit of 256 bytes", func(ctx context.Context) error {
			_, err := gov.SetSubjectOwner(ctx, &pb.SetSubjectOwnerRequest{Subject: subject, Team: "t", Escalation: huge})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(tt.call(withToken("")))
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tt.want) || len(st.Message()) > 200 {
				t.Errorf("got %s %.300q; want InvalidArgument saying %q in under 200 bytes", st.Code(), st.Message(), tt.want)
			}
		})
	}
	page, err := gov.ListAuditEntries(withToken(""), &pb.ListAuditEntriesRequest{Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.GetEntries() {
		if !strings.HasPrefix(e.GetAction(), "schema.") {
			t.Errorf("a refused governance call was audited: %s", e.GetAction())
		}
	}
}
