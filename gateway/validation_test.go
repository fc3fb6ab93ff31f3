package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hamba/avro/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/store"
)

const (
	orderV1 = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int"},` +
		`{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}}]}`
	orderV2 = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int"},` +
		`{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},{"name":"note","type":["null","string"],"default":null}]}`
	eventSchema = `{"type":"object","properties":{"id":{"type":"string"},"n":{"type":"integer","minimum":0}},"required":["id"],"additionalProperties":false}`
)

type order struct {
	ID     string `avro:"id"`
	Qty    int    `avro:"qty"`
	Status string `avro:"status"`
}

// framed encodes o with schema text in the Confluent wire format under id.
func framed(t testing.TB, text string, id int, o any) []byte {
	t.Helper()
	body, err := avro.Marshal(avro.MustParse(text), o)
	if err != nil {
		t.Fatal(err)
	}
	out := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, body...)
}

func jsonPayload(t *testing.T, doc string) *structpb.Value {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	sv, err := structpb.NewValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// setupValidation registers orders-value v1 and v2 (Avro) and events-value (JSON Schema).
func setupValidation(t *testing.T, tg *testGateway) {
	t.Helper()
	client := pb.NewRegistryServiceClient(tg.conn)
	for _, r := range []*pb.RegisterSchemaRequest{
		{Subject: "orders-value", Schema: orderV1},
		{Subject: "orders-value", Schema: orderV2},
		{Subject: "events-value", SchemaType: pb.SchemaType_SCHEMA_TYPE_JSON, Schema: eventSchema},
	} {
		if _, err := client.RegisterSchema(withToken(""), r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestValidateFormatsCanary(t *testing.T) {
	tg := startGateway(t, nil)
	setupValidation(t, tg)
	client := pb.NewValidationServiceClient(tg.conn)
	good := order{ID: "o-1", Qty: 2, Status: "PAID"}
	trunc := framed(t, orderV1, 1, good)
	tests := []struct {
		name string
		req  *pb.ValidateRequest
		want *pb.ValidateResponse
	}{
		{"framed latest version", &pb.ValidateRequest{Subject: "orders-value", Data: framed(t, orderV2, 2, struct {
			order
			Note *string `avro:"note"`
		}{order: good})},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_VALID, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: 2, Version: 2}},
		{"framed older version: valid, stale", &pb.ValidateRequest{Subject: "orders-value", Data: framed(t, orderV1, 1, good)},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_VALID, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: 1, Version: 1,
				Findings: []*pb.Finding{{Kind: pb.DriftKind_DRIFT_KIND_STALE_SCHEMA_VERSION}}}},
		{"framed unknown ID", &pb.ValidateRequest{Subject: "orders-value", Data: framed(t, orderV1, 3, good)},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_FLAGGED, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY,
				Findings: []*pb.Finding{{Kind: pb.DriftKind_DRIFT_KIND_UNKNOWN_SCHEMA_ID}}}},
		{"framed truncated", &pb.ValidateRequest{Subject: "orders-value", Data: trunc[:len(trunc)-1]},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_FLAGGED, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: 1, Version: 1,
				Findings: []*pb.Finding{{Kind: pb.DriftKind_DRIFT_KIND_DECODE_ERROR, Path: "/status"}, {Kind: pb.DriftKind_DRIFT_KIND_STALE_SCHEMA_VERSION}}}},
		{"framed trailing byte", &pb.ValidateRequest{Subject: "orders-value", Data: append(framed(t, orderV1, 1, good), 0)},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_FLAGGED, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: 1, Version: 1,
				Findings: []*pb.Finding{{Kind: pb.DriftKind_DRIFT_KIND_DECODE_ERROR}, {Kind: pb.DriftKind_DRIFT_KIND_STALE_SCHEMA_VERSION}}}},
		{"raw Avro binary for version 1", &pb.ValidateRequest{Subject: "orders-value", Version: 1, Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY, Data: framed(t, orderV1, 1, good)[5:]},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_VALID, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: 1, Version: 1}},
		{"Avro JSON with an unknown field and a bad enum", &pb.ValidateRequest{Subject: "orders-value", Version: 1,
			Json: jsonPayload(t, `{"id":"o-1","qty":2,"status":"LOST","extra":1}`)},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_FLAGGED, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: 1, Version: 1,
				Findings: []*pb.Finding{{Kind: pb.DriftKind_DRIFT_KIND_UNKNOWN_FIELD, Path: "/extra"}, {Kind: pb.DriftKind_DRIFT_KIND_ENUM_VIOLATION, Path: "/status"}}}},
		{"JSON Schema, missing and wrong-typed", &pb.ValidateRequest{Subject: "events-value", Json: jsonPayload(t, `{"n":"x"}`)},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_FLAGGED, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: 3, Version: 1,
				Findings: []*pb.Finding{{Kind: pb.DriftKind_DRIFT_KIND_MISSING_FIELD, Path: "/id"}, {Kind: pb.DriftKind_DRIFT_KIND_TYPE_MISMATCH, Path: "/n"}}}},
		{"JSON Schema valid", &pb.ValidateRequest{Subject: "events-value", Json: jsonPayload(t, `{"id":"e","n":3}`)},
			&pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_VALID, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY, SchemaId: 3, Version: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.Validate(withToken(""), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			// Messages are for people; compare kinds and paths.
			for _, f := range got.GetFindings() {
				if f.GetMessage() == "" {
					t.Errorf("finding %v has no message", f)
				}
				f.Message = ""
			}
			sortFindings(got)
			sortFindings(tt.want)
			tt.want.TotalFindings = int32(len(tt.want.GetFindings())) // none of these is truncated
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func sortFindings(r *pb.ValidateResponse) {
	fs := r.GetFindings()
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			if fs[j].GetKind() < fs[i].GetKind() || (fs[j].GetKind() == fs[i].GetKind() && fs[j].GetPath() < fs[i].GetPath()) {
				fs[i], fs[j] = fs[j], fs[i]
			}
		}
	}
}

func TestValidateStrictRejects(t *testing.T) {
	tg := startGateway(t, nil)
	setupValidation(t, tg)
	if err := tg.g.gate.Modes().SetMode(context.Background(), "events-value", governance.ModeStrict); err != nil {
		t.Fatal(err)
	}
	if err := tg.g.gate.Modes().Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := pb.NewValidationServiceClient(tg.conn)
	_, err := client.Validate(withToken(""), &pb.ValidateRequest{Subject: "events-value", Json: jsonPayload(t, `{"id":5}`)})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Fatalf("strict invalid = %v; want InvalidArgument with the result in the details", err)
	}
	resp := st.Details()[0].(*pb.ValidateResponse)
	if resp.GetOutcome() != pb.Outcome_OUTCOME_REJECTED || resp.GetMode() != pb.ValidationMode_VALIDATION_MODE_STRICT ||
		len(resp.GetFindings()) != 1 || resp.GetFindings()[0].GetPath() != "/id" {
		t.Errorf("rejection details = %v", resp)
	}
	// Over HTTP: 422 with the result as the body.
	code, body := tg.httpDo(t, "POST", "/v1/subjects/events-value/validate", "", `{"json":{"id":5}}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "OUTCOME_REJECTED") || !strings.Contains(body, "DRIFT_KIND_TYPE_MISMATCH") {
		t.Errorf("HTTP strict invalid = %d %s; want 422 with the findings", code, body)
	}
	// A valid payload passes in strict mode.
	code, body = tg.httpDo(t, "POST", "/v1/subjects/events-value/validate", "", `{"json":{"id":"e"}}`)
	if code != http.StatusOK || !strings.Contains(body, "OUTCOME_VALID") {
		t.Errorf("HTTP strict valid = %d %s", code, body)
	}
	// Canary subjects still accept and flag over HTTP.
	code, body = tg.httpDo(t, "POST", "/v1/subjects/orders-value/validate", "", `{"json":{"id":"o"}}`)
	if code != http.StatusOK || !strings.Contains(body, "OUTCOME_FLAGGED") || !strings.Contains(body, "DRIFT_KIND_MISSING_FIELD") {
		t.Errorf("HTTP canary invalid = %d %s; want 200 FLAGGED", code, body)
	}
}

func TestValidateBatchAndStream(t *testing.T) {
	tg := startGateway(t, nil)
	setupValidation(t, tg)
	client := pb.NewValidationServiceClient(tg.conn)
	batch, err := client.ValidateBatch(withToken(""), &pb.ValidateBatchRequest{Subject: "events-value", Requests: []*pb.ValidateRequest{
		{Json: jsonPayload(t, `{"id":"a"}`)},
		{Subject: "nope", Json: jsonPayload(t, `{"id":"a"}`)},
		{Json: jsonPayload(t, `{}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := batch.GetResults()
	if len(r) != 3 || r[0].GetResponse().GetOutcome() != pb.Outcome_OUTCOME_VALID || !strings.Contains(r[1].GetError(), "nope") ||
		r[2].GetResponse().GetOutcome() != pb.Outcome_OUTCOME_FLAGGED {
		t.Errorf("batch results = %v", r)
	}
	code, body := tg.httpDo(t, "POST", "/v1/subjects/events-value/validate:batch", "", `{"requests":[{"json":{"id":"a"}},{"json":{"id":1}}]}`)
	if code != http.StatusOK || strings.Count(body, "OUTCOME_") != 2 {
		t.Errorf("HTTP batch = %d %s", code, body)
	}

	stream, err := client.ValidateStream(withToken(""))
	if err != nil {
		t.Fatal(err)
	}
	for i, doc := range []string{`{"id":"a"}`, `{"id":2}`} {
		if err := stream.Send(&pb.ValidateStreamRequest{RequestId: string(rune('a' + i)), Request: &pb.ValidateRequest{Subject: "events-value", Json: jsonPayload(t, doc)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Send(&pb.ValidateStreamRequest{RequestId: "c", Request: &pb.ValidateRequest{Subject: "nope", Json: jsonPayload(t, `{}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		m, err := stream.Recv()
		if err != nil {
			break
		}
		got = append(got, m.GetRequestId()+":"+m.GetResponse().GetOutcome().String()+":"+map[bool]string{true: "error", false: ""}[m.GetError() != ""])
	}
	want := []string{"a:OUTCOME_VALID:", "b:OUTCOME_FLAGGED:", "c:OUTCOME_UNSPECIFIED:error"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stream (-want +got):\n%s", diff)
	}
}

func TestValidateLimitsAndErrors(t *testing.T) {
	tg := startGateway(t, nil)
	setupValidation(t, tg)
	big := bytes.Repeat([]byte{1}, 1<<20+1)
	client := pb.NewValidationServiceClient(tg.conn)
	if _, err := client.Validate(withToken(""), &pb.ValidateRequest{Subject: "orders-value", Data: big}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversized payload = %v; want ResourceExhausted", err)
	}
	if _, err := client.Validate(withToken(""), &pb.ValidateRequest{Subject: "nope", Json: jsonPayload(t, `{}`)}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown subject = %v; want NotFound", err)
	}
	if _, err := client.Validate(withToken(""), &pb.ValidateRequest{Subject: "orders-value", Version: 9, Json: jsonPayload(t, `{}`)}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown version = %v; want NotFound", err)
	}
	if _, err := client.Validate(withToken(""), &pb.ValidateRequest{Subject: "events-value", Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY, Data: []byte{2}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Avro binary against a JSON Schema = %v; want InvalidArgument", err)
	}
	code, _ := tg.httpDo(t, "POST", "/v1/subjects/orders-value/validate", "", `{"data":"`+strings.Repeat("A", 1<<21)+`"}`)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("HTTP oversized payload = %d; want 413", code)
	}
}

func TestValidationMetricsAndDriftReport(t *testing.T) {
	tg := startGateway(t, nil)
	setupValidation(t, tg)
	for _, doc := range []string{`{"id":"a"}`, `{"n":1}`, `{"n":2}`} {
		if code, body := tg.httpDo(t, "POST", "/v1/subjects/events-value/validate", "", `{"json":`+doc+`}`); code != 200 {
			t.Fatalf("validate: %d %s", code, body)
		}
	}
	_, metrics := tg.httpDo(t, "GET", "/metrics", "", "")
	for _, want := range []string{
		`schemagate_validations_total{mode="canary",outcome="valid",subject="events-value"} 1`,
		`schemagate_validations_total{mode="canary",outcome="flagged",subject="events-value"} 2`,
		`schemagate_drift_findings_total{kind="missing_field",subject="events-value"} 2`,
		`schemagate_validation_duration_seconds_count 1`, // the first of every 8 validations is timed
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	code, body := tg.httpDo(t, "GET", "/v1/subjects/events-value/drift", "", "")
	if code != 200 || !strings.Contains(body, `"path":"/id"`) || !strings.Contains(body, `"count":"2"`) || !strings.Contains(body, "DRIFT_KIND_MISSING_FIELD") {
		t.Errorf("drift report = %d %s", code, body)
	}
}

func TestValidateBinaryFormatsOverHTTP(t *testing.T) {
	tg := startGateway(t, nil)
	setupValidation(t, tg)
	frame := framed(t, orderV1, 1, order{ID: "o", Qty: 1, Status: "NEW"})
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	for _, tt := range []struct {
		name, body, want string
	}{
		{"CONFLUENT", `{"data":"` + b64(frame) + `","format":"PAYLOAD_FORMAT_CONFLUENT"}`, "DRIFT_KIND_STALE_SCHEMA_VERSION"},
		{"data defaults to CONFLUENT", `{"data":"` + b64(frame) + `"}`, `"outcome":"OUTCOME_VALID"`},
		{"AVRO_BINARY by version", `{"data":"` + b64(frame[5:]) + `","format":"PAYLOAD_FORMAT_AVRO_BINARY","version":1}`, `"outcome":"OUTCOME_VALID"`},
		{"AVRO_BINARY by schema ID, trailing byte", `{"data":"` + b64(append(frame[5:], 7)) + `","format":"PAYLOAD_FORMAT_AVRO_BINARY","schemaId":1}`, "DRIFT_KIND_DECODE_ERROR"},
		{"AVRO_JSON", `{"json":{"id":"o","qty":1,"status":"NEW","note":null},"format":"PAYLOAD_FORMAT_AVRO_JSON"}`, `"outcome":"OUTCOME_VALID"`},
	} {
		code, body := tg.httpDo(t, "POST", "/v1/subjects/orders-value/validate", "", tt.body)
		if code != http.StatusOK || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s; want 200 containing %s", tt.name, code, body, tt.want)
		}
	}
}

// TestEvidenceFlushedOnShutdown validates, stops the gateway, and reads the stored buckets
// from the database: the last flush happened before the store closed.
func TestEvidenceFlushedOnShutdown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Server.HTTPAddr, cfg.Server.GRPCAddr, cfg.Server.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	g, err := New(context.Background(), Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	tg := &testGateway{g: g}
	if code, body := tg.httpDo(t, "POST", "/v1/subjects/e/versions", "", registerBody(`"string"`)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	for _, payload := range []string{`"ok"`, `"fine"`, `5`} {
		if code, body := tg.httpDo(t, "POST", "/v1/subjects/e/validate", "", `{"json":`+payload+`}`); code != 200 {
			t.Fatalf("validate: %d %s", code, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), cfg.StorageURL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ev, err := governance.NewEvidence(governance.EvidenceOptions{DB: db, Replica: "reader"})
	if err != nil {
		t.Fatal(err)
	}
	buckets, err := ev.Buckets(context.Background(), "e", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var validations, violations int64
	for _, b := range buckets {
		validations += b.Validations
		violations += b.Violations
	}
	if validations != 3 || violations != 1 {
		t.Errorf("stored evidence = %d validations, %d violations; want 3 and 1", validations, violations)
	}
}
