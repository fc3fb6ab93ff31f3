package gateway

import (
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// paymentProto is the Protobuf schema of the gateway's Protobuf validation tests: Payment is
// message [0], Refund [1].
const paymentProto = `syntax = "proto3";
package pay;

message Payment { string id = 1; int64 cents = 2; Currency currency = 3; }
enum Currency { CURRENCY_UNSPECIFIED = 0; EUR = 1; }
message Refund { string payment_id = 1; }
`

// paymentBytes is a Payment in the Protobuf binary format.
func paymentBytes(id string, cents uint64) []byte {
	b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), id)
	return protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), cents)
}

// protobufFramed frames msg as Confluent's Protobuf serializers do, for the message at index
// (top-level; 0 is written as the single byte 0).
func protobufFramed(id, index int, msg []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0}, uint32(id))
	if index == 0 {
		b = append(b, 0)
	} else {
		b = binary.AppendVarint(binary.AppendVarint(b, 1), int64(index))
	}
	return append(b, msg...)
}

// setupProtobuf registers payments-value, a Protobuf schema, and returns its ID.
func setupProtobuf(t *testing.T, tg *testGateway) int {
	t.Helper()
	sv, err := pb.NewRegistryServiceClient(tg.conn).RegisterSchema(withToken(""), &pb.RegisterSchemaRequest{
		Subject: "payments-value", SchemaType: pb.SchemaType_SCHEMA_TYPE_PROTOBUF, Schema: paymentProto})
	if err != nil {
		t.Fatal(err)
	}
	return int(sv.GetId())
}

// TestValidateProtobufOverGRPC validates Protobuf payloads in each format over gRPC, through
// Validate, ValidateBatch and ValidateStream (the server's codec decodes message_name), and
// reads the findings back from the drift report.
func TestValidateProtobufOverGRPC(t *testing.T) {
	tg := startGateway(t, nil)
	id := setupProtobuf(t, tg)
	client := pb.NewValidationServiceClient(tg.conn)
	canary := func(outcome pb.Outcome, findings ...*pb.Finding) *pb.ValidateResponse {
		return &pb.ValidateResponse{Outcome: outcome, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: int32(id), Version: 1,
			Findings: findings, TotalFindings: int32(len(findings))}
	}
	valid, flagged := pb.Outcome_OUTCOME_VALID, pb.Outcome_OUTCOME_FLAGGED
	refund := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "p-1")
	tests := []struct {
		name string
		req  *pb.ValidateRequest
		want *pb.ValidateResponse // nil: refused with InvalidArgument
	}{
		{"framed Payment", &pb.ValidateRequest{Data: protobufFramed(id, 0, paymentBytes("p-1", 250))}, canary(valid)},
		{"framed Refund", &pb.ValidateRequest{Format: pb.PayloadFormat_PAYLOAD_FORMAT_CONFLUENT, Data: protobufFramed(id, 1, refund)}, canary(valid)},
		{"framed, truncated", &pb.ValidateRequest{Data: protobufFramed(id, 0, paymentBytes("p-1", 250))[:8]},
			canary(flagged, &pb.Finding{Kind: pb.DriftKind_DRIFT_KIND_DECODE_ERROR, Path: "/id"})},
		{"framed, no message at index 7", &pb.ValidateRequest{Data: protobufFramed(id, 7, refund)},
			canary(flagged, &pb.Finding{Kind: pb.DriftKind_DRIFT_KIND_DECODE_ERROR})},
		{"raw, named", &pb.ValidateRequest{Format: pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF, MessageName: "pay.Refund", Data: refund}, canary(valid)},
		{"raw, a Payment read as a Refund", &pb.ValidateRequest{Format: pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF, MessageName: "pay.Refund",
			Data: paymentBytes("p-1", 250)}, canary(flagged, &pb.Finding{Kind: pb.DriftKind_DRIFT_KIND_UNKNOWN_FIELD})},
		{"Protobuf JSON text", &pb.ValidateRequest{Format: pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF_JSON, JsonText: `{"id":"p","cents":"12","currency":"EUR"}`},
			canary(valid)},
		{"Protobuf JSON value, unspecified format", &pb.ValidateRequest{Json: jsonPayload(t, `{"id":"p","cents":12.5}`)},
			canary(flagged, &pb.Finding{Kind: pb.DriftKind_DRIFT_KIND_TYPE_MISMATCH, Path: "/cents"})},
		{"unknown message name", &pb.ValidateRequest{Format: pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF, MessageName: "pay.Nope", Data: refund}, nil},
		{"Avro binary on a Protobuf schema", &pb.ValidateRequest{Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY, Data: refund}, nil},
	}
	var batch []*pb.ValidateRequest
	for _, tt := range tests {
		tt.req.Subject = "payments-value"
		batch = append(batch, tt.req)
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.Validate(withToken(""), tt.req)
			if tt.want == nil {
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("Validate = %v, %v; want InvalidArgument", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range got.GetFindings() {
				f.Message = "" // for people; kinds and paths are compared
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}

	// The same requests in a batch and on a stream get the same outcomes, in order.
	var want []string
	for _, tt := range tests {
		want = append(want, tt.want.GetOutcome().String())
	}
	resp, err := client.ValidateBatch(withToken(""), &pb.ValidateBatchRequest{Requests: batch})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range resp.GetResults() {
		got = append(got, r.GetResponse().GetOutcome().String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateBatch outcomes (-want +got):\n%s", diff)
	}
	stream, err := client.ValidateStream(withToken(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range batch {
		if err := stream.Send(&pb.ValidateStreamRequest{Request: req}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	got = nil
	for range batch {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.GetResponse().GetOutcome().String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateStream outcomes (-want +got):\n%s", diff)
	}

	// Findings of Protobuf payloads reach the drift report like any other.
	report, err := client.GetDriftReport(withToken(""), &pb.GetDriftReportRequest{Subject: "payments-value"})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, e := range report.GetEntries() {
		counts[e.GetKind().String()+" "+e.GetPath()] = e.GetCount()
	}
	wantCounts := map[string]int64{"DRIFT_KIND_DECODE_ERROR /id": 3, "DRIFT_KIND_DECODE_ERROR ": 3,
		"DRIFT_KIND_UNKNOWN_FIELD ": 3, "DRIFT_KIND_TYPE_MISMATCH /cents": 3}
	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("drift report (-want +got):\n%s", diff)
	}
}

// TestValidateProtobufOverHTTP: /v1 takes the Protobuf formats and messageName, binary in data
// (base64) and Protobuf JSON in the json member, and refuses a message the schema lacks.
func TestValidateProtobufOverHTTP(t *testing.T) {
	tg := startGateway(t, nil)
	id := setupProtobuf(t, tg)
	b64 := base64.StdEncoding.EncodeToString
	for _, tt := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"CONFLUENT", `{"data":"` + b64(protobufFramed(id, 0, paymentBytes("p", 1))) + `"}`, http.StatusOK, `"outcome":"OUTCOME_VALID"`},
		{"PROTOBUF with messageName", `{"data":"` + b64(paymentBytes("p", 1)) + `","format":"PAYLOAD_FORMAT_PROTOBUF","messageName":"pay.Refund"}`,
			http.StatusOK, "DRIFT_KIND_UNKNOWN_FIELD"},
		{"PROTOBUF_JSON", `{"json":{"id":"p","cents":"9007199254740993"},"format":"PAYLOAD_FORMAT_PROTOBUF_JSON","messageName":"pay.Payment"}`,
			http.StatusOK, `"outcome":"OUTCOME_VALID"`},
		{"PROTOBUF_JSON, a field named twice", `{"json":{"id":"p","id":"q"},"format":"PAYLOAD_FORMAT_PROTOBUF_JSON"}`,
			http.StatusOK, "DRIFT_KIND_CONSTRAINT_VIOLATION"},
		{"unknown message", `{"json":{},"format":"PAYLOAD_FORMAT_PROTOBUF_JSON","messageName":"pay.Nope"}`,
			http.StatusBadRequest, `no message \"pay.Nope\" in the schema`},
	} {
		code, body := tg.httpDo(t, "POST", "/v1/subjects/payments-value/validate", "", tt.body)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s; want %d containing %s", tt.name, code, body, tt.code, tt.want)
		}
	}
}
