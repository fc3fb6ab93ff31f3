package gateway

import (
	"unicode/utf8"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// The answers of ValidateBatch and ValidateStream are encoded here, not by the reflection-driven
// protobuf marshaller, which cost about half as much per payload as the handler's own work
// beyond the engine (a batch of 100 small Avro payloads). The output is byte for byte what proto.Marshal writes (fields in number
// order, defaults left out, a set empty message kept as an empty field); a string that is not
// valid UTF-8, which proto.Marshal refuses, leaves the message to it.

// encodeAnswer returns the wire bytes of a ValidateBatchResponse or ValidateStreamResponse;
// ok is false for any other message and for one with a string that is not valid UTF-8. Each
// message is sized once, to write its length, and the output grows as it is appended to.
func encodeAnswer(v any) (out mem.BufferSlice, ok bool) {
	a := &answer{}
	switch m := v.(type) {
	case *pb.ValidateBatchResponse:
		b := make([]byte, 0, 16*len(m.GetResults())) // a valid payload's result is 12 bytes
		for _, r := range m.GetResults() {
			if b, ok = appendResult(b, r); !ok {
				return nil, false
			}
		}
		a.buf = b
	case *pb.ValidateStreamResponse:
		if a.buf, ok = appendStreamResponse(a.small[:0], m); !ok {
			return nil, false
		}
	default:
		return nil, false
	}
	a.slice[0] = &a.buf
	return a.slice[:], true
}

// answer is an encoded answer as grpc-go takes it, in one allocation: the BufferSlice, its one
// Buffer (a *SliceBuffer pointing into the answer, so storing it boxes nothing) and, for a
// stream's answer (a valid payload's is 12 bytes), the bytes. A stream answers every message,
// so this is one allocation per payload where a []byte, its SliceBuffer boxed as a Buffer and
// the BufferSlice's array were three.
type answer struct {
	slice [1]mem.Buffer
	buf   mem.SliceBuffer
	small [64]byte
}

// messageFieldSize is the size of a length-delimited field of n bytes.
func messageFieldSize(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// int32FieldSize is the size of an int32 or enum field, 0 for its default.
func int32FieldSize(num protowire.Number, v int32) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(uint64(v))
}

// stringFieldSize is the size of a string field, 0 for the empty string; ok is false when s
// is not valid UTF-8.
func stringFieldSize(num protowire.Number, s string) (n int, ok bool) {
	if s == "" {
		return 0, true
	}
	return messageFieldSize(num, len(s)), utf8.ValidString(s)
}

func appendInt32Field(b []byte, num protowire.Number, v int32) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), uint64(v))
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

// appendMessageField appends field num holding r, a ValidateResponse: nothing when r is nil.
func appendMessageField(b []byte, num protowire.Number, r *pb.ValidateResponse) ([]byte, bool) {
	if r == nil {
		return b, true
	}
	n, ok := sizeResponse(r)
	return appendResponse(protowire.AppendVarint(protowire.AppendTag(b, num, protowire.BytesType), uint64(n)), r), ok
}

func appendStreamResponse(b []byte, m *pb.ValidateStreamResponse) ([]byte, bool) {
	if !utf8.ValidString(m.GetRequestId()) || !utf8.ValidString(m.GetError()) {
		return nil, false
	}
	b = appendStringField(b, fieldStreamRespRequestID, m.GetRequestId())
	b, ok := appendMessageField(b, fieldStreamRespResponse, m.GetResponse())
	return appendStringField(b, fieldStreamRespError, m.GetError()), ok
}

// appendResult appends r as a field of a ValidateBatchResponse.
func appendResult(b []byte, r *pb.ValidateBatchResult) ([]byte, bool) {
	size, ok := stringFieldSize(fieldResultError, r.GetError())
	var rn int
	if r.GetResponse() != nil {
		var rok bool
		rn, rok = sizeResponse(r.GetResponse())
		size += messageFieldSize(fieldResultResponse, rn)
		ok = ok && rok
	}
	b = protowire.AppendVarint(protowire.AppendTag(b, fieldBatchResults, protowire.BytesType), uint64(size))
	if r.GetResponse() != nil {
		b = appendResponse(protowire.AppendVarint(protowire.AppendTag(b, fieldResultResponse, protowire.BytesType), uint64(rn)), r.GetResponse())
	}
	return appendStringField(b, fieldResultError, r.GetError()), ok
}

func sizeResponse(r *pb.ValidateResponse) (int, bool) {
	size := int32FieldSize(fieldRespOutcome, int32(r.GetOutcome())) + int32FieldSize(fieldRespMode, int32(r.GetMode())) +
		int32FieldSize(fieldRespSchemaID, r.GetSchemaId()) + int32FieldSize(fieldRespVersion, r.GetVersion()) +
		int32FieldSize(fieldRespTotal, r.GetTotalFindings())
	if r.GetFindingsTruncated() {
		size += protowire.SizeTag(fieldRespTruncated) + 1
	}
	for _, f := range r.GetFindings() {
		n, ok := sizeFinding(f)
		if !ok {
			return 0, false
		}
		size += messageFieldSize(fieldRespFindings, n)
	}
	return size, true
}

func appendResponse(b []byte, r *pb.ValidateResponse) []byte {
	b = appendInt32Field(b, fieldRespOutcome, int32(r.GetOutcome()))
	b = appendInt32Field(b, fieldRespMode, int32(r.GetMode()))
	b = appendInt32Field(b, fieldRespSchemaID, r.GetSchemaId())
	b = appendInt32Field(b, fieldRespVersion, r.GetVersion())
	for _, f := range r.GetFindings() {
		n, _ := sizeFinding(f)
		b = protowire.AppendVarint(protowire.AppendTag(b, fieldRespFindings, protowire.BytesType), uint64(n))
		b = appendInt32Field(b, fieldFindingKind, int32(f.GetKind()))
		b = appendStringField(b, fieldFindingPath, f.GetPath())
		b = appendStringField(b, fieldFindingMessage, f.GetMessage())
	}
	b = appendInt32Field(b, fieldRespTotal, r.GetTotalFindings())
	if r.GetFindingsTruncated() {
		b = protowire.AppendVarint(protowire.AppendTag(b, fieldRespTruncated, protowire.VarintType), 1)
	}
	return b
}

func sizeFinding(f *pb.Finding) (int, bool) {
	path, ok1 := stringFieldSize(fieldFindingPath, f.GetPath())
	msg, ok2 := stringFieldSize(fieldFindingMessage, f.GetMessage())
	return int32FieldSize(fieldFindingKind, int32(f.GetKind())) + path + msg, ok1 && ok2
}
