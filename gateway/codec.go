package gateway

import (
	"runtime"
	"sync"
	"weak"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// validationCodec is the gRPC server's codec (grpc.ForceServerCodecV2). Every message goes
// through the standard protobuf codec but the three validation requests (ValidateRequest,
// ValidateBatchRequest, ValidateStreamRequest), which it decodes from the wire bytes itself
// (decodeValidation): a JSON payload sent as a google.protobuf.Value goes straight into the
// engine's form, numbers as json.Number exactly as jsonValue writes them, without building
// structpb objects, and the handler takes it from payloads (the request's json field holds the
// table's marker). A message the fast decoder does not take (malformed, or encoded in a way it leaves to
// the standard decoder: a field repeated, an unknown field, nesting deeper than
// maxFastValueDepth) is decoded by the standard codec, so what is accepted, what is refused and
// with which error (grpc-go answers Internal for every undecodable message) does not change.
// It encodes the answers of ValidateBatch and ValidateStream itself too, byte for byte as
// protobuf does (encodeAnswer).
type validationCodec struct {
	std      encoding.CodecV2
	payloads *decodedPayloads
}

// newValidationCodec returns the server's codec, handing decoded JSON payloads to payloads.
func newValidationCodec(payloads *decodedPayloads) *validationCodec {
	return &validationCodec{std: encoding.GetCodecV2(grpcproto.Name), payloads: payloads}
}

// Name is the standard codec's: the codec serves the same content-subtype.
func (c *validationCodec) Name() string { return grpcproto.Name }

// Marshal encodes the answers of ValidateBatch and ValidateStream itself (encodeAnswer) and
// leaves every other message to the standard codec.
func (c *validationCodec) Marshal(v any) (mem.BufferSlice, error) {
	if out, ok := encodeAnswer(v); ok {
		return out, nil
	}
	return c.std.Marshal(v)
}

// Unmarshal decodes the validation requests itself and leaves every other message, and any
// validation request it does not take, to the standard codec.
func (c *validationCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *pb.ValidateRequest, *pb.ValidateBatchRequest, *pb.ValidateStreamRequest:
		// A copy of the message that the decoded request owns: its data fields alias it.
		buf := data.Materialize()
		if decodeValidation(buf, m.(proto.Message), c.payloads) == nil {
			return nil
		}
		// Payloads put for items of a request that failed half way are never taken: their
		// requests are garbage, and so, with them, are the entries (decodedPayloads.put).
		proto.Reset(m.(proto.Message))
		return proto.Unmarshal(buf, m.(proto.Message))
	}
	return c.std.Unmarshal(data, v)
}

// decodedPayloads holds the JSON payloads validationCodec decoded, each under its request,
// until the handler takes it. The request's json field is set to the table's marker, so a
// request without one costs take nothing. An entry whose request is never handled (a call
// refused by an interceptor after decoding, a stream cut) goes when its request is garbage
// collected: the key is a weak pointer, and a cleanup on the request removes it.
type decodedPayloads struct {
	// marker is the json field of a request whose payload is here: an empty Value no client
	// request shares (a request keeps its own Value otherwise).
	marker *structpb.Value
	mu     sync.Mutex
	m      map[weak.Pointer[pb.ValidateRequest]]any
}

func newDecodedPayloads() *decodedPayloads {
	return &decodedPayloads{marker: &structpb.Value{}, m: map[weak.Pointer[pb.ValidateRequest]]any{}}
}

// put keeps v, the decoded JSON payload of req, for take, and marks req.
func (d *decodedPayloads) put(req *pb.ValidateRequest, v any) {
	req.Json = d.marker
	k := weak.Make(req)
	d.mu.Lock()
	d.m[k] = v
	d.mu.Unlock()
	runtime.AddCleanup(req, d.drop, k)
}

// take returns and forgets req's decoded JSON payload. marked is false when the codec decoded
// none (a request without json, one the standard codec decoded, a nil table); ok is false
// when req is marked but its payload is gone, which only a request copied after decoding can
// be.
func (d *decodedPayloads) take(req *pb.ValidateRequest) (v any, marked, ok bool) {
	if j := req.GetJson(); d == nil || j == nil || j != d.marker {
		return nil, false, false
	}
	k := weak.Make(req)
	d.mu.Lock()
	v, ok = d.m[k]
	if ok {
		delete(d.m, k)
	}
	d.mu.Unlock()
	return v, true, ok
}

func (d *decodedPayloads) drop(k weak.Pointer[pb.ValidateRequest]) {
	d.mu.Lock()
	delete(d.m, k)
	d.mu.Unlock()
}

// len is how many payloads wait to be taken.
func (d *decodedPayloads) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

// Field numbers of the messages the codec decodes and encodes itself
// (proto/schemagate/v1/validation.proto and google/protobuf/struct.proto); TestCodecKnowsEveryField
// holds them to the API's.
const (
	fieldRequestSubject  protowire.Number = 1
	fieldRequestVersion  protowire.Number = 2
	fieldRequestSchemaID protowire.Number = 3
	fieldRequestFormat   protowire.Number = 4
	fieldRequestData     protowire.Number = 5
	fieldRequestJSON     protowire.Number = 6
	fieldRequestJSONText protowire.Number = 7
	fieldRequestMessage  protowire.Number = 8

	fieldBatchRequests protowire.Number = 1
	fieldBatchSubject  protowire.Number = 2

	fieldStreamRequestID protowire.Number = 1
	fieldStreamRequest   protowire.Number = 2

	fieldValueNull   protowire.Number = 1
	fieldValueNumber protowire.Number = 2
	fieldValueString protowire.Number = 3
	fieldValueBool   protowire.Number = 4
	fieldValueStruct protowire.Number = 5
	fieldValueList   protowire.Number = 6

	fieldStructFields protowire.Number = 1 // map<string, Value>: entries of key 1, value 2
	fieldEntryKey     protowire.Number = 1
	fieldEntryValue   protowire.Number = 2
	fieldListValues   protowire.Number = 1

	fieldBatchResults protowire.Number = 1

	fieldResultResponse protowire.Number = 1
	fieldResultError    protowire.Number = 2

	fieldStreamRespRequestID protowire.Number = 1
	fieldStreamRespResponse  protowire.Number = 2
	fieldStreamRespError     protowire.Number = 3

	fieldRespOutcome   protowire.Number = 1
	fieldRespMode      protowire.Number = 2
	fieldRespSchemaID  protowire.Number = 3
	fieldRespVersion   protowire.Number = 4
	fieldRespFindings  protowire.Number = 5
	fieldRespTotal     protowire.Number = 6
	fieldRespTruncated protowire.Number = 7

	fieldFindingKind    protowire.Number = 1
	fieldFindingPath    protowire.Number = 2
	fieldFindingMessage protowire.Number = 3
)
