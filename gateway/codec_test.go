package gateway

import (
	"math"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"pgregory.net/rapid"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/validate"
)

// engineInput is what the handler hands the engine for each request of a validation message:
// the engine request, or the error engineRequest gives.
type engineInput struct {
	Subject, RequestID string // a batch's subject, a stream message's request ID
	Requests           []validate.Request
	Errors             []string
}

// engineInputs is what the handler would make of m, its JSON payloads taken from payloads.
func engineInputs(m proto.Message, payloads *decodedPayloads) engineInput {
	var out engineInput
	var reqs []*pb.ValidateRequest
	switch m := m.(type) {
	case *pb.ValidateRequest:
		reqs = []*pb.ValidateRequest{m}
	case *pb.ValidateBatchRequest:
		out.Subject, reqs = m.GetSubject(), m.GetRequests()
	case *pb.ValidateStreamRequest:
		out.RequestID, reqs = m.GetRequestId(), []*pb.ValidateRequest{m.GetRequest()} // nil: no request, as the handler gets it
	}
	for _, req := range reqs {
		vreq, err := engineRequest(req, payloads)
		out.Requests = append(out.Requests, vreq)
		if err != nil {
			out.Errors = append(out.Errors, err.Error())
		}
	}
	return out
}

// decodeBoth decodes wire into a fresh message like m with the codec's fast decoder (a stream
// message with a zero request set, as ValidateStream receives it) and with proto.Unmarshal, and returns what the handler makes of each. fast is false when the fast
// decoder left the message to the standard one.
func decodeBoth(t interface{ Errorf(string, ...any) }, wire []byte, m proto.Message) (fastIn, stdIn engineInput, fast, std bool) {
	payloads := newDecodedPayloads()
	fm, sm := m.ProtoReflect().Type().New().Interface(), m.ProtoReflect().Type().New().Interface()
	if s, ok := fm.(*pb.ValidateStreamRequest); ok {
		s.Request = &pb.ValidateRequest{} // as ValidateStream hands a message over to decode into
	}
	fast = decodeValidation(wire, fm, payloads) == nil
	std = proto.Unmarshal(wire, sm) == nil
	if fast {
		fastIn = engineInputs(fm, payloads)
		if n := payloads.len(); n != 0 {
			t.Errorf("%d decoded payloads were not taken", n)
		}
	}
	if std {
		stdIn = engineInputs(sm, nil)
	}
	return fastIn, stdIn, fast, std
}

// drawValue is a random JSON value as a protobuf Value: every kind, numbers of every sort
// (integral, fractional, huge, NaN and infinities), strings and keys of any runes.
func drawValue(t *rapid.T, depth int) *structpb.Value {
	kinds := 4
	if depth < 4 {
		kinds = 6
	}
	switch rapid.IntRange(0, kinds-1).Draw(t, "kind") {
	case 0:
		return structpb.NewNullValue()
	case 1:
		return structpb.NewNumberValue(rapid.OneOf(rapid.Float64(), rapid.Just(math.NaN()), rapid.Just(math.Inf(-1)),
			rapid.Map(rapid.Int64(), func(i int64) float64 { return float64(i) })).Draw(t, "number"))
	case 2:
		return structpb.NewStringValue(rapid.String().Draw(t, "string"))
	case 3:
		return structpb.NewBoolValue(rapid.Bool().Draw(t, "bool"))
	case 4:
		fields := map[string]*structpb.Value{}
		for range rapid.IntRange(0, 5).Draw(t, "members") {
			fields[rapid.String().Draw(t, "key")] = drawValue(t, depth+1)
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: fields})
	default:
		list := &structpb.ListValue{}
		for range rapid.IntRange(0, 5).Draw(t, "elements") {
			list.Values = append(list.Values, drawValue(t, depth+1))
		}
		return structpb.NewListValue(list)
	}
}

// drawRequest is a random ValidateRequest: any subject, version, schema ID, format (unknown
// ones too) and message name, and a payload in data (possibly empty), json or json_text, or none.
func drawRequest(t *rapid.T) *pb.ValidateRequest {
	req := &pb.ValidateRequest{
		Subject:     rapid.SampledFrom([]string{"", "orders-value", "payments-value"}).Draw(t, "subject"),
		Version:     rapid.Int32().Draw(t, "version"),
		SchemaId:    rapid.Int32().Draw(t, "schema id"),
		Format:      pb.PayloadFormat(rapid.Int32Range(0, 8).Draw(t, "format")),
		MessageName: rapid.SampledFrom([]string{"", "shop.Order", ".shop.Order.Line"}).Draw(t, "message name"),
	}
	switch rapid.IntRange(0, 3).Draw(t, "payload") {
	case 0:
		req.Data = rapid.SliceOf(rapid.Byte()).Draw(t, "data")
	case 1:
		req.Json = drawValue(t, 0)
	case 2:
		req.JsonText = rapid.String().Draw(t, "json text")
	}
	return req
}

// TestCodecDecodesAsProtobuf: for random validation messages, as any protobuf encoder writes
// them, the codec's fast decoder takes the message and the engine gets exactly what it gets
// from the message decoded by protobuf (structpb, then jsonValue): same fields, same JSON,
// numbers written the same, data set or not alike.
func TestCodecDecodesAsProtobuf(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m proto.Message
		switch rapid.IntRange(0, 2).Draw(t, "message") {
		case 0:
			m = drawRequest(t)
		case 1:
			batch := &pb.ValidateBatchRequest{Subject: rapid.SampledFrom([]string{"", "orders-value"}).Draw(t, "batch subject")}
			for range rapid.IntRange(0, 4).Draw(t, "items") {
				batch.Requests = append(batch.Requests, drawRequest(t))
			}
			m = batch
		default:
			msg := &pb.ValidateStreamRequest{RequestId: rapid.String().Draw(t, "request id")}
			if rapid.Bool().Draw(t, "with request") {
				msg.Request = drawRequest(t)
			}
			m = msg
		}
		wire, err := proto.MarshalOptions{Deterministic: rapid.Bool().Draw(t, "deterministic")}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		fastIn, stdIn, fast, std := decodeBoth(t, wire, m)
		if !fast || !std {
			t.Fatalf("fast decoder took it: %v, protobuf: %v; want both", fast, std)
		}
		if diff := cmp.Diff(stdIn, fastIn); diff != "" {
			t.Errorf("engine input (-protobuf +codec):\n%s", diff)
		}
	})
}

// TestCodecLeavesToProtobuf: encodings the fast decoder does not take go to the standard
// decoder, through the codec, with protobuf's result: repeated fields that protobuf merges,
// unknown fields, and malformed bytes (refused, as before).
func TestCodecLeavesToProtobuf(t *testing.T) {
	value := func(v *structpb.Value) []byte {
		b, err := proto.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	subject := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "s")
	jsonField := func(v *structpb.Value) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, 6, protowire.BytesType), value(v))
	}
	list := func(vs ...any) *structpb.Value {
		l, err := structpb.NewList(vs)
		if err != nil {
			t.Fatal(err)
		}
		return structpb.NewListValue(l)
	}
	cat := func(parts ...[]byte) (out []byte) {
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name    string
		wire    []byte
		wantErr bool
		want    any // the JSON payload protobuf decodes
	}{
		{"json twice: the two lists are merged", cat(subject, jsonField(list(1)), jsonField(list(2))), false, []any{jsonNumber(1), jsonNumber(2)}},
		{"a Value's kind twice: the last wins", cat(subject, protowire.AppendBytes(protowire.AppendTag(nil, 6, protowire.BytesType),
			cat(value(structpb.NewBoolValue(true)), value(structpb.NewStringValue("x"))))), false, "x"},
		{"an unknown field is kept aside", cat(subject, protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1), jsonField(structpb.NewBoolValue(true))), false, true},
		{"a truncated message", cat(subject, jsonField(list(1, "two")))[:12], true, nil},
		{"invalid UTF-8 in a string", cat(subject, protowire.AppendBytes(protowire.AppendTag(nil, 6, protowire.BytesType),
			protowire.AppendString(protowire.AppendTag(nil, 3, protowire.BytesType), "a\xffb"))), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payloads := newDecodedPayloads()
			codec := newValidationCodec(payloads)
			var req pb.ValidateRequest
			err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(tt.wire)}, &req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal error = %v; want an error: %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			vreq, err := engineRequest(&req, payloads)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, vreq.JSON); diff != "" {
				t.Errorf("JSON payload (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCodecPayloadsOfUnhandledRequests: a JSON payload decoded for a request no handler takes
// (a call refused after decoding) does not stay in the table once the request is garbage.
func TestCodecPayloadsOfUnhandledRequests(t *testing.T) {
	payloads := newDecodedPayloads()
	codec := newValidationCodec(payloads)
	wire, err := proto.Marshal(&pb.ValidateRequest{Subject: "s", Json: structpb.NewBoolValue(true)})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &pb.ValidateRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// Cleanups run on their own goroutine after a collection; wait for them, without a clock.
	for i := 0; payloads.len() > 0; i++ {
		if i == 1000 {
			t.Fatalf("%d payloads of unreachable requests are still held", payloads.len())
		}
		runtime.GC()
		runtime.Gosched()
	}
}

// FuzzDecodeValidation: the fast decoder never panics, and whatever it takes protobuf takes
// too, giving the engine the same input.
func FuzzDecodeValidation(f *testing.F) {
	nested, err := structpb.NewValue(map[string]any{"a": []any{1.5, "x", nil, true, map[string]any{}}, "n": 2147483648.0})
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []proto.Message{
		&pb.ValidateRequest{Subject: "s", Json: nested, Version: 3},
		&pb.ValidateRequest{Subject: "s", Data: []byte{}, Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY},
		&pb.ValidateBatchRequest{Subject: "s", Requests: []*pb.ValidateRequest{{Data: []byte{0, 0, 0, 0, 1, 2}}, {Subject: "t", JsonText: `{"a":1}`}}},
		&pb.ValidateStreamRequest{RequestId: "r1", Request: &pb.ValidateRequest{Subject: "s", Json: nested}},
	} {
		wire, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wire, uint8(0))
		f.Add(wire, uint8(1))
		f.Add(wire, uint8(2))
	}
	messages := []proto.Message{&pb.ValidateRequest{}, &pb.ValidateBatchRequest{}, &pb.ValidateStreamRequest{}}
	f.Fuzz(func(t *testing.T, wire []byte, kind uint8) {
		fastIn, stdIn, fast, std := decodeBoth(t, wire, messages[int(kind)%len(messages)])
		if !fast {
			return
		}
		if !std {
			t.Fatalf("the fast decoder took a message protobuf refuses: %x", wire)
		}
		if diff := cmp.Diff(stdIn, fastIn); diff != "" {
			t.Errorf("engine input (-protobuf +codec):\n%s", diff)
		}
	})
}

// drawString is a string for an answer: empty, text, or, when invalid, possibly not valid
// UTF-8.
func drawString(t *rapid.T, label string, invalid bool) string {
	gens := []*rapid.Generator[string]{rapid.Just(""), rapid.String()}
	if invalid {
		gens = append(gens, rapid.Just("a\xffb"))
	}
	return rapid.OneOf(gens...).Draw(t, label)
}

// drawResponse is a random ValidateResponse: every field, negative and unknown enum values,
// findings with empty strings.
func drawResponse(t *rapid.T, invalid bool) *pb.ValidateResponse {
	r := &pb.ValidateResponse{
		Outcome: pb.Outcome(rapid.Int32Range(-1, 5).Draw(t, "outcome")), Mode: pb.ValidationMode(rapid.Int32Range(0, 3).Draw(t, "mode")),
		SchemaId: rapid.Int32().Draw(t, "schema id"), Version: rapid.Int32().Draw(t, "version"),
		TotalFindings: rapid.Int32().Draw(t, "total"), FindingsTruncated: rapid.Bool().Draw(t, "truncated"),
	}
	for range rapid.IntRange(0, 3).Draw(t, "findings") {
		r.Findings = append(r.Findings, &pb.Finding{Kind: pb.DriftKind(rapid.Int32Range(0, 20).Draw(t, "kind")),
			Path: drawString(t, "path", invalid), Message: drawString(t, "message", invalid)})
	}
	return r
}

// TestCodecEncodesAsProtobuf: the codec writes the answers of ValidateBatch and
// ValidateStream byte for byte as proto.Marshal does, and refuses what it refuses (a string
// that is not valid UTF-8) with its error.
func TestCodecEncodesAsProtobuf(t *testing.T) {
	codec := newValidationCodec(newDecodedPayloads())
	rapid.Check(t, func(t *rapid.T) {
		var m proto.Message
		invalid := rapid.IntRange(0, 9).Draw(t, "invalid UTF-8") == 0 // one message in 10 may hold some
		if rapid.Bool().Draw(t, "batch") {
			batch := &pb.ValidateBatchResponse{}
			for range rapid.IntRange(0, 300).Draw(t, "results") { // past grpc's buffer pooling threshold
				r := &pb.ValidateBatchResult{}
				if rapid.Bool().Draw(t, "ran") {
					r.Response = drawResponse(t, invalid)
				} else {
					r.Error = drawString(t, "error", invalid)
				}
				batch.Results = append(batch.Results, r)
			}
			m = batch
		} else {
			msg := &pb.ValidateStreamResponse{RequestId: drawString(t, "request id", invalid), Error: drawString(t, "error", invalid)}
			if rapid.Bool().Draw(t, "ran") {
				msg.Response = drawResponse(t, invalid)
			}
			m = msg
		}
		want, wantErr := proto.Marshal(m)
		got, err := codec.Marshal(m)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Marshal error = %v; proto.Marshal's = %v", err, wantErr)
		}
		if err != nil {
			return
		}
		defer got.Free()
		if diff := cmp.Diff(want, got.Materialize(), cmpopts.EquateEmpty()); diff != "" { // an empty message is no bytes, nil or not
			t.Errorf("wire bytes (-proto.Marshal +codec):\n%s", diff)
		}
	})
}

// TestCodecKnowsEveryField: the fields of the messages the codec encodes and decodes itself
// are the ones it knows. A field added to the API fails here until the codec learns it (the
// encoder would leave it out; the decoder leaves a message with it to protobuf).
func TestCodecKnowsEveryField(t *testing.T) {
	known := map[proto.Message][]protowire.Number{
		&pb.ValidateRequest{}:        {fieldRequestSubject, fieldRequestVersion, fieldRequestSchemaID, fieldRequestFormat, fieldRequestData, fieldRequestJSON, fieldRequestJSONText, fieldRequestMessage},
		&pb.ValidateBatchRequest{}:   {fieldBatchRequests, fieldBatchSubject},
		&pb.ValidateStreamRequest{}:  {fieldStreamRequestID, fieldStreamRequest},
		&structpb.Value{}:            {fieldValueNull, fieldValueNumber, fieldValueString, fieldValueBool, fieldValueStruct, fieldValueList},
		&structpb.Struct{}:           {fieldStructFields},
		&structpb.ListValue{}:        {fieldListValues},
		&pb.ValidateBatchResponse{}:  {fieldBatchResults},
		&pb.ValidateBatchResult{}:    {fieldResultResponse, fieldResultError},
		&pb.ValidateStreamResponse{}: {fieldStreamRespRequestID, fieldStreamRespResponse, fieldStreamRespError},
		&pb.ValidateResponse{}:       {fieldRespOutcome, fieldRespMode, fieldRespSchemaID, fieldRespVersion, fieldRespFindings, fieldRespTotal, fieldRespTruncated},
		&pb.Finding{}:                {fieldFindingKind, fieldFindingPath, fieldFindingMessage},
	}
	for m, want := range known {
		fields := m.ProtoReflect().Descriptor().Fields()
		var got []protowire.Number
		for i := range fields.Len() {
			got = append(got, fields.Get(i).Number())
		}
		if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b protowire.Number) bool { return a < b })); diff != "" {
			t.Errorf("%s fields (-codec +API):\n%s", m.ProtoReflect().Descriptor().FullName(), diff)
		}
	}
}
