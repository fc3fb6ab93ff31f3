package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// TestV1ReachesSubjectsWithSlash registers "team/orders-value" through the Confluent REST API
// (as team%2Forders-value) and a plain subject the same way, then walks every /v1 route that
// names a subject for both, in the same order: the subject with a slash must get the answers the
// plain one gets, never grpc-gateway's routing 404.
func TestV1ReachesSubjectsWithSlash(t *testing.T) {
	tg := startGatewayWith(t, nil)
	const slashed, plain = "team/orders-value", "team-orders-value"
	for _, s := range []string{slashed, plain} {
		tg.mustRegisterREST(t, subjectSegment(s), orderAvro)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	walk := func(subject string) map[string]int {
		got := map[string]int{}
		// Deletes go last, the version before the subject, so every other route finds the
		// subject registered.
		routes := httpRoutes(t)
		rank := func(r httpRoute) int {
			switch {
			case r.verb != http.MethodDelete:
				return 0
			case strings.Contains(r.pattern, "{version}"):
				return 1
			}
			return 2
		}
		slices.SortStableFunc(routes, func(a, b httpRoute) int { return rank(a) - rank(b) })
		for _, r := range routes {
			if r.rpc == "" || !strings.Contains(r.pattern, "{subject}") {
				continue
			}
			body := ""
			switch {
			case strings.HasSuffix(r.pattern, "/validate"):
				body = `{"json":{"id":"o-1"}}`
			case strings.HasSuffix(r.pattern, ":batch"):
				body = `{"requests":[{"json":{"id":"o-1"}}]}`
			case r.verb == http.MethodPost || r.verb == http.MethodPut:
				body = "{}"
			}
			path := fillGrantPattern(r.pattern, grantTarget{subject: subjectSegment(subject), schemaID: 1, promotion: "1"})
			code, text, err := secSend(client, r.verb, "http://"+tg.g.HTTPAddr()+path, "", body, nil)
			if err != nil {
				t.Fatalf("%s %s: %v", r.verb, path, err)
			}
			if code == http.StatusNotFound && strings.Contains(text, `"Not Found"`) {
				t.Errorf("%s %s = %d %s: the route does not match", r.verb, path, code, text)
			}
			got[r.key] = code
		}
		return got
	}
	want := walk(plain)
	if diff := cmp.Diff(want, walk(slashed)); diff != "" {
		t.Errorf("statuses for %q (-as for %q +got):\n%s", slashed, plain, diff)
	}
}

// TestWrongMethodIs405WithAllow sends OPTIONS and other unserved methods to /v1 and to the
// Confluent REST API: both answer 405 with an Allow header listing the path's methods, and an
// unknown path stays 404.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	tg := startGatewayWith(t, nil)
	type answer struct {
		Status int
		Allow  string
		Body   string // a fragment of the body, compacted (protojson adds spaces at random)
	}
	notAllowedV1 := func(allow string) answer {
		return answer{http.StatusMethodNotAllowed, allow, `"code":12,"message":"Method Not Allowed"`}
	}
	tests := []struct {
		method, path string
		want         answer
	}{
		{"OPTIONS", "/v1/subjects/s/versions", notAllowedV1("GET, POST")},
		{"OPTIONS", "/v1/subjects/s/validate", notAllowedV1("POST")},
		{"OPTIONS", "/v1/subjects/s/validate:batch", notAllowedV1("POST")},
		{"PATCH", "/v1/subjects/s/validate", notAllowedV1("POST")},
		{"GET", "/v1/subjects/s/validation-mode", notAllowedV1("PUT")},
		{"OPTIONS", "/v1/subjects/team%2Forders-value/versions/1", notAllowedV1("DELETE, GET")},
		{"OPTIONS", "/v1/promotions/p-1:approve", notAllowedV1("POST")},
		{"OPTIONS", "/v1/subjects", notAllowedV1("GET")},
		{"OPTIONS", "/v1/no-such-route", answer{http.StatusNotFound, "", `"message":"Not Found"`}},
		{"OPTIONS", "/subjects/s/versions", answer{http.StatusMethodNotAllowed, "GET, POST", `"error_code":405`}},
		{"PATCH", "/config", answer{http.StatusMethodNotAllowed, "DELETE, GET, PUT", `"error_code":405`}},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, "http://"+tg.g.HTTPAddr()+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := answer{resp.StatusCode, resp.Header.Get("Allow"), tt.want.Body}
		var body bytes.Buffer
		if err := json.Compact(&body, raw); err != nil || !strings.Contains(body.String(), tt.want.Body) {
			got.Body = string(raw)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.method, tt.path, diff)
		}
	}
}

// TestV1SendsNoGRPCMetadataHeaders checks that /v1 answers, successful or not, carry no gRPC
// metadata as headers (Grpc-Metadata-*, Grpc-Trailer-*, Trailer), even to a client that asks
// for trailers, and keep the headers that mean something to HTTP clients.
func TestV1SendsNoGRPCMetadataHeaders(t *testing.T) {
	tg := startGatewayWith(t, nil)
	tg.mustRegisterREST(t, "orders-value", orderAvro)
	tests := []struct {
		method, path, body string
		wantStatus         int
	}{
		{"GET", "/v1/subjects/orders-value/versions", "", http.StatusOK},
		{"POST", "/v1/subjects/orders-value/validate", `{"json":{"id":"o-1"}}`, http.StatusOK},
		{"GET", "/v1/subjects/missing-value/versions", "", http.StatusNotFound},
		{"POST", "/v1/subjects/orders-value/versions", `{"schema":"{"}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		code, header := func() (int, http.Header) {
			req, err := http.NewRequest(tt.method, "http://"+tg.g.HTTPAddr()+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("TE", "trailers")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			_, _ = io.ReadAll(resp.Body)
			for k, v := range resp.Trailer {
				resp.Header[k] = v
			}
			return resp.StatusCode, resp.Header
		}()
		var leaked []string
		for k := range header {
			if l := strings.ToLower(k); strings.HasPrefix(l, "grpc-") || l == "trailer" {
				leaked = append(leaked, k)
			}
		}
		if code != tt.wantStatus || len(leaked) > 0 || header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s = %d, Content-Type %q, gRPC headers %v; want %d, application/json, none",
				tt.method, tt.path, code, header.Get("Content-Type"), leaked, tt.wantStatus)
		}
	}
}

// TestV1TemplatesAreSimple keeps v1Route.matches honest: every /v1 route of the OpenAPI document
// is one of v1Routes, and every variable of a template is a single segment ("{name}", no "=" or
// "*" pattern), the only kind matches handles.
func TestV1TemplatesAreSimple(t *testing.T) {
	var want, got []string
	for _, r := range httpRoutes(t) {
		if r.rpc != "" {
			want = append(want, r.verb+" "+routeWildcard.ReplaceAllString(r.pattern, "{}"))
		}
	}
	for _, r := range v1Routes() {
		path := "/" + strings.Join(r.segments, "/")
		if r.verb != "" {
			path += ":" + r.verb
		}
		for _, seg := range r.segments {
			if strings.HasPrefix(seg, "{") && strings.ContainsAny(seg, "=*") {
				t.Errorf("%s %s: variable %s is not a single segment", r.method, path, seg)
			}
		}
		got = append(got, r.method+" "+routeWildcard.ReplaceAllString(path, "{}"))
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v1Routes (-OpenAPI document +annotations):\n%s", diff)
	}
}

// TestNoPayloadIsRefusedNotCounted sends validations that carry neither json nor data over
// gRPC, /v1, a batch and a stream: each is refused as InvalidArgument "no payload" and none is
// counted. A data field that is set but empty is a payload: zero bytes are the Avro binary
// encoding of a record without fields, and validate as such.
func TestNoPayloadIsRefusedNotCounted(t *testing.T) {
	tg := startGatewayWith(t, nil)
	tg.mustRegisterREST(t, "empty-value", `{"type":"record","name":"Empty","fields":[]}`)
	val := pb.NewValidationServiceClient(tg.conn)
	counted := func() float64 {
		var n float64
		for _, outcome := range []string{"valid", "flagged", "rejected"} {
			n += tg.counter(t, "schemagate_validations_total", map[string]string{"subject": "empty-value", "outcome": outcome})
		}
		return n
	}
	const noPayload = "no payload: set json or data"

	_, err := val.Validate(withToken(""), &pb.ValidateRequest{Subject: "empty-value"})
	wantGRPCError(t, "gRPC Validate {}", err, grpcError{codes.InvalidArgument, noPayload})
	_, err = val.Validate(withToken(""), &pb.ValidateRequest{Subject: "empty-value", Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY})
	wantGRPCError(t, "gRPC Validate AVRO_BINARY without data", err, grpcError{codes.InvalidArgument, noPayload})
	code, raw := tg.restDo(t, "POST", "/v1/subjects/empty-value/validate", "{}")
	wantV1Error(t, "POST /v1/.../validate {}", code, raw, v1Error{http.StatusBadRequest, int(codes.InvalidArgument), noPayload})

	batch, err := val.ValidateBatch(withToken(""), &pb.ValidateBatchRequest{Subject: "empty-value", Requests: []*pb.ValidateRequest{{}}})
	if err != nil || len(batch.GetResults()) != 1 || !strings.Contains(batch.GetResults()[0].GetError(), noPayload) {
		t.Errorf("ValidateBatch [{}] = %v, %v; want one item error %q", batch, err, noPayload)
	}
	code, raw = tg.restDo(t, "POST", "/v1/subjects/empty-value/validate:batch", `{"requests":[{}]}`)
	if code != http.StatusOK || !strings.Contains(string(raw), noPayload) {
		t.Errorf("POST /v1/.../validate:batch [{}] = %d %s; want 200 with the item error %q", code, raw, noPayload)
	}
	stream, err := val.ValidateStream(withToken(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pb.ValidateStreamRequest{RequestId: "1", Request: &pb.ValidateRequest{Subject: "empty-value"}}); err != nil {
		t.Fatal(err)
	}
	item, err := stream.Recv()
	if err != nil || !strings.Contains(item.GetError(), noPayload) || item.GetResponse() != nil {
		t.Errorf("stream item {} = %v, %v; want the error %q", item, err, noPayload)
	}
	_ = stream.CloseSend()
	if n := counted(); n != 0 {
		t.Errorf("%v validations without a payload were counted; want none", n)
	}

	// Zero bytes, sent as such, are a payload.
	got := validateFindings(t, tg, &pb.ValidateRequest{Subject: "empty-value", Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY, Data: []byte{}})
	wantFindings(t, "gRPC AVRO_BINARY zero bytes", got, valid(1, 1))
	code, raw = tg.restDo(t, "POST", "/v1/subjects/empty-value/validate", `{"data":"","format":"PAYLOAD_FORMAT_AVRO_BINARY"}`)
	if code != http.StatusOK || !strings.Contains(string(raw), "OUTCOME_VALID") {
		t.Errorf(`POST /v1/.../validate {"data":""} AVRO_BINARY = %d %s; want valid`, code, raw)
	}
	if n := counted(); n != 2 {
		t.Errorf("%v validations counted; want the 2 zero-byte payloads", n)
	}
}

// TestFindingsCapIsReported validates payloads with more findings than the cap of 20, as JSON
// Schema and as Avro JSON, over gRPC and /v1: the response holds the first 20, the total and
// the truncation mark; a payload under the cap is not marked.
func TestFindingsCapIsReported(t *testing.T) {
	tg := startGatewayWith(t, nil)
	tg.mustRegisterREST(t, "counts-value", `{"type":"object","additionalProperties":{"type":"integer"}}`, `,"schemaType":"JSON"`)
	var fields, strs []string
	for i := range 25 {
		fields = append(fields, fmt.Sprintf(`{"name":"f%02d","type":"int"}`, i))
		strs = append(strs, fmt.Sprintf(`"f%02d":"x"`, i))
	}
	tg.mustRegisterREST(t, "wide-value", `{"type":"record","name":"Wide","fields":[`+strings.Join(fields, ",")+`]}`)
	many := "{" + strings.Join(strs, ",") + "}"
	type summary struct {
		Findings  int
		Total     int32
		Truncated bool
	}
	tests := []struct {
		subject, json string
		want          summary
	}{
		{"counts-value", many, summary{20, 25, true}},
		{"wide-value", many, summary{20, 25, true}},
		{"counts-value", `{"a":"x","b":"y"}`, summary{2, 2, false}},
		{"wide-value", `{}`, summary{20, 25, true}}, // 25 missing fields
	}
	for _, tt := range tests {
		resp := validateFindings(t, tg, &pb.ValidateRequest{Subject: tt.subject, Json: jsonPayload(t, tt.json)})
		got := summary{len(resp.GetFindings()), resp.GetTotalFindings(), resp.GetFindingsTruncated()}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("gRPC %s %.40s (-want +got):\n%s", tt.subject, tt.json, diff)
		}
		code, raw := tg.restDo(t, "POST", "/v1/subjects/"+tt.subject+"/validate", `{"json":`+tt.json+`}`)
		var body struct {
			Findings          []json.RawMessage
			TotalFindings     int32
			FindingsTruncated bool
		}
		if err := json.Unmarshal(raw, &body); code != http.StatusOK || err != nil {
			t.Fatalf("POST /v1/subjects/%s/validate = %d %s (%v)", tt.subject, code, raw, err)
		}
		got = summary{len(body.Findings), body.TotalFindings, body.FindingsTruncated}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("/v1 %s %.40s (-want +got):\n%s", tt.subject, tt.json, diff)
		}
	}
}

// TestJSONNumbersStayExact validates JSON payloads whose numbers a double cannot hold over /v1
// (the body's json member, alone and in a batch) and over gRPC (json_text): 2^53+1 is a valid
// long, is out of range for an int (a constraint_violation, as the engine classifies it) and
// over a JSON Schema maximum of 2^53, and messages quote numbers as written.
func TestJSONNumbersStayExact(t *testing.T) {
	tg := startGatewayWith(t, nil)
	avroID := tg.mustRegisterREST(t, "nums-value", `{"type":"record","name":"Nums","fields":[{"name":"l","type":"long"},{"name":"i","type":"int"}]}`)
	jsonID := tg.mustRegisterREST(t, "jnums-value", `{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740992}}}`, `,"schemaType":"JSON"`)
	tests := []struct {
		name, subject, json string
		want                *pb.ValidateResponse
	}{
		{"2^53+1 as a long", "nums-value", `{"l":9007199254740993,"i":1}`, valid(avroID, 1)},
		{"2^31 as an int", "nums-value", `{"l":1,"i":2147483648}`,
			flagged(avroID, 1, finding(pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION, "/i", "2147483648 is out of range for int"))},
		{"2^53+1 as an int", "nums-value", `{"l":1,"i":9007199254740993}`,
			flagged(avroID, 1, finding(pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION, "/i", "9007199254740993 is out of range for int"))},
		{"2^53+1 over a maximum of 2^53", "jnums-value", `{"n":9007199254740993}`,
			flagged(jsonID, 1, finding(pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION, "/n", "9007199254740993"))},
		{"2^53 at a maximum of 2^53", "jnums-value", `{"n":9007199254740992}`, valid(jsonID, 1)},
	}
	for _, tt := range tests {
		got := validateFindings(t, tg, &pb.ValidateRequest{Subject: tt.subject, JsonText: tt.json})
		wantFindings(t, "gRPC json_text "+tt.name, got, tt.want)

		code, raw := tg.restDo(t, "POST", "/v1/subjects/"+tt.subject+"/validate", `{"json": `+tt.json+`}`)
		got = &pb.ValidateResponse{}
		if err := protojson.Unmarshal(raw, got); code != http.StatusOK || err != nil {
			t.Fatalf("/v1 %s = %d %s (%v)", tt.name, code, raw, err)
		}
		wantFindings(t, "/v1 "+tt.name, got, tt.want)

		code, raw = tg.restDo(t, "POST", "/v1/subjects/"+tt.subject+"/validate:batch", `{"requests":[{"json": `+tt.json+`}]}`)
		batch := &pb.ValidateBatchResponse{}
		if err := protojson.Unmarshal(raw, batch); code != http.StatusOK || err != nil || len(batch.GetResults()) != 1 {
			t.Fatalf("/v1 batch %s = %d %s (%v)", tt.name, code, raw, err)
		}
		wantFindings(t, "/v1 batch "+tt.name, batch.GetResults()[0].GetResponse(), tt.want)
	}

	// A protobuf Value holds doubles: an integral one is still quoted without an exponent.
	got := validateFindings(t, tg, &pb.ValidateRequest{Subject: "nums-value", Json: jsonPayload(t, `{"l":1,"i":2147483648}`)})
	wantFindings(t, "gRPC json 2^31 as an int", got, flagged(avroID, 1, finding(pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION, "/i", "2147483648 is out of range for int")))

	// json_text must be one JSON value, and not come with json.
	for _, tc := range []struct {
		name string
		req  *pb.ValidateRequest
		want string
	}{
		{"not JSON", &pb.ValidateRequest{Subject: "nums-value", JsonText: `{"l":`}, "json_text: not valid JSON"},
		{"two values", &pb.ValidateRequest{Subject: "nums-value", JsonText: `1 2`}, "json_text: not valid JSON: more than one value"},
		{"json and json_text", &pb.ValidateRequest{Subject: "nums-value", JsonText: `{}`, Json: jsonPayload(t, `{}`)}, "set json or json_text, not both"},
	} {
		_, err := pb.NewValidationServiceClient(tg.conn).Validate(withToken(""), tc.req)
		wantGRPCError(t, tc.name, err, grpcError{codes.InvalidArgument, tc.want})
	}
}

// TestJSONTextInData validates JSON and AVRO_JSON payloads sent as raw text in data, over gRPC
// and /v1 (base64 in the body): numbers stay exactly as written, 1e400 is a number (and out of
// range for an Avro double, a finding), and text that is not one UTF-8 JSON value is refused
// with InvalidArgument / 400 and never reaches the validator.
func TestJSONTextInData(t *testing.T) {
	tg := startGatewayWith(t, nil)
	maxID := tg.mustRegisterREST(t, "max-value", `{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740992}}}`, `,"schemaType":"JSON"`)
	numID := tg.mustRegisterREST(t, "num-value", `{"type":"number"}`, `,"schemaType":"JSON"`)
	avroID := tg.mustRegisterREST(t, "avro-value", `{"type":"record","name":"R","fields":[{"name":"l","type":"long"},{"name":"d","type":"double"}]}`)
	jsonFormat, avroJSON := pb.PayloadFormat_PAYLOAD_FORMAT_JSON, pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_JSON
	tests := []struct {
		name, subject string
		format        pb.PayloadFormat
		data          string
		want          *pb.ValidateResponse // nil: refused with InvalidArgument, wantErr in its message
		wantErr       string
	}{
		{name: "2^53 at a maximum of 2^53", subject: "max-value", format: jsonFormat, data: `{"n":9007199254740992}`, want: valid(maxID, 1)},
		{name: "2^53+1 over a maximum of 2^53", subject: "max-value", format: jsonFormat, data: `{"n":9007199254740993}`,
			want: flagged(maxID, 1, finding(pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION, "/n", "must be <= 9007199254740992 but found 9007199254740993"))},
		{name: "1e400 against a number schema", subject: "num-value", format: jsonFormat, data: `1e400`, want: valid(numID, 1)},
		{name: "Avro JSON: 2^53+1 as a long", subject: "avro-value", format: avroJSON, data: `{"l":9007199254740993,"d":0.5}`, want: valid(avroID, 1)},
		{name: "Avro JSON: 1e400 as a double", subject: "avro-value", format: avroJSON, data: `{"l":1,"d":1e400}`,
			want: flagged(avroID, 1, finding(pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION, "/d", "1e400 is out of range for double"))},
		{name: "invalid UTF-8", subject: "num-value", format: jsonFormat, data: "\"a\xffb\"", wantErr: "data: malformed JSON: invalid UTF-8 at byte offset 2"},
		{name: "two JSON values", subject: "num-value", format: jsonFormat, data: `1 2`, wantErr: "data: malformed JSON: data after the JSON value at byte offset 2"},
		{name: "Avro JSON, two values", subject: "avro-value", format: avroJSON, data: `{} {}`, wantErr: "data: malformed JSON: data after the JSON value at byte offset 3"},
	}
	for _, tt := range tests {
		req := &pb.ValidateRequest{Subject: tt.subject, Format: tt.format, Data: []byte(tt.data)}
		resp, err := pb.NewValidationServiceClient(tg.conn).Validate(withToken(""), req)
		body, _ := protojson.Marshal(&pb.ValidateRequest{Format: tt.format, Data: []byte(tt.data)})
		code, raw := tg.restDo(t, "POST", "/v1/subjects/"+tt.subject+"/validate", string(body))
		if tt.want == nil {
			wantGRPCError(t, "gRPC "+tt.name, err, grpcError{codes.InvalidArgument, tt.wantErr})
			wantV1Error(t, "/v1 "+tt.name, code, raw, v1Error{http.StatusBadRequest, int(codes.InvalidArgument), tt.wantErr})
			continue
		}
		if err != nil {
			t.Fatalf("gRPC %s: %v", tt.name, err)
		}
		wantFindings(t, "gRPC "+tt.name, resp, tt.want)
		got := &pb.ValidateResponse{}
		if err := protojson.Unmarshal(raw, got); code != http.StatusOK || err != nil {
			t.Fatalf("/v1 %s = %d %s (%v)", tt.name, code, raw, err)
		}
		wantFindings(t, "/v1 "+tt.name, got, tt.want)
	}
}
