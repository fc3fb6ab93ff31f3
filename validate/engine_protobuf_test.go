package validate

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/schemagate/schemagate/registry"
)

// engineShopProto is the Protobuf schema of the engine tests: proto2, so it has a required
// field and a closed enum; Order is message [0], Order.Line [0, 0], Refund [1].
const engineShopProto = `syntax = "proto2";
package shop;

enum Status { NEW = 0; PAID = 1; }

message Order {
  required int64 id = 1;
  optional string note = 2;
  optional Status status = 3;
  repeated Line lines = 4;
  message Line { optional string sku = 1; optional int32 qty = 2; }
}

message Refund { optional int64 order_id = 1; }
`

// pbField appends a field to b: an integer as a varint, a string or []byte as bytes.
func pbField(b []byte, num protowire.Number, v any) []byte {
	switch v := v.(type) {
	case int:
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), uint64(v))
	case string:
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), v)
	case []byte:
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	panic(fmt.Sprintf("pbField: %T", v))
}

// pbFramed frames msg in Confluent's Protobuf wire format: magic byte, schema ID, the
// message-index array (zig-zag varints, the single 0 for [0]), then the message.
func pbFramed(id int, indexes []int, msg []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0}, uint32(id))
	if len(indexes) == 1 && indexes[0] == 0 {
		b = append(b, 0)
	} else {
		b = binary.AppendVarint(b, int64(len(indexes)))
		for _, i := range indexes {
			b = binary.AppendVarint(b, int64(i))
		}
	}
	return append(b, msg...)
}

// TestEngineProtobuf validates Protobuf payloads in every format: Confluent-framed binary
// (message indexes picking the type), raw binary for a version with a message name, and
// Protobuf JSON as text, as json_text or as a decoded value. Findings keep the walkers' kinds
// and paths; requests the engine cannot serve (a message the schema does not declare, a format
// of another schema type) are ErrBadRequest.
func TestEngineProtobuf(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	register := func(subject string, in registry.SchemaInput) int {
		t.Helper()
		sv, err := reg.Register(ctx, subject, in)
		if err != nil {
			t.Fatal(err)
		}
		return sv.Schema.ID
	}
	shop := register("shop", registry.SchemaInput{Type: registry.SchemaTypeProtobuf, Text: engineShopProto})
	evt := register("evt", registry.SchemaInput{Type: registry.SchemaTypeProtobuf, Text: `syntax = "proto3"; package evt; message Event { string name = 1; int64 seq = 2; }`})
	avroID := register("avro", registry.SchemaInput{Type: registry.SchemaTypeAvro, Text: `"string"`})
	e, err := NewEngine(Options{Source: reg})
	if err != nil {
		t.Fatal(err)
	}

	line := pbField(pbField(nil, 1, "sku-1"), 2, 2)
	order := pbField(pbField(pbField(pbField(nil, 1, 7), 2, "hi"), 3, 1), 4, line)
	type outcome struct {
		SchemaID, Version int
		Findings          []Finding // a want Message is a part of the message
		Err               string    // a part of the error, which wraps ErrBadRequest
	}
	atShop := func(f ...Finding) outcome { return outcome{SchemaID: shop, Version: 1, Findings: f} }
	refused := func(err string) outcome { return outcome{Err: err} }
	tests := []struct {
		name string
		req  Request
		want outcome
	}{
		{"framed Order, the single-0 shortcut", Request{Subject: "shop", Data: pbFramed(shop, []int{0}, order)}, atShop()},
		{"framed Refund, index 1", Request{Subject: "shop", Format: FormatConfluent, Data: pbFramed(shop, []int{1}, pbField(nil, 1, 7))}, atShop()},
		{"framed Order.Line, nested", Request{Subject: "shop", Data: pbFramed(shop, []int{0, 0}, line)}, atShop()},
		{"framed with an index no message has", Request{Subject: "shop", Data: pbFramed(shop, []int{5}, order)},
			atShop(Finding{Kind: KindDecodeError, Message: "message indexes [5] name no message of schema"})},
		{"framed with a truncated index array", Request{Subject: "shop", Data: binary.BigEndian.AppendUint32([]byte{0}, uint32(shop))},
			atShop(Finding{Kind: KindDecodeError, Message: "truncated message-index count varint at byte offset 5"})},
		{"framed, truncated message", Request{Subject: "shop", Data: pbFramed(shop, []int{0}, order[:len(order)-1])},
			atShop(Finding{Kind: KindDecodeError, Path: "/lines/0", Message: "message length 9 at byte offset 15 is larger than the 8 bytes left"})},
		{"framed, unknown field", Request{Subject: "shop", Data: pbFramed(shop, []int{0}, pbField(order, 9, 1))},
			atShop(Finding{Kind: KindUnknownField, Message: "9"})},
		{"framed, wrong wire type", Request{Subject: "shop", Data: pbFramed(shop, []int{0}, pbField(pbField(nil, 1, "7"), 3, 1))},
			atShop(Finding{Kind: KindTypeMismatch, Path: "/id"})},
		{"framed, missing required field", Request{Subject: "shop", Data: pbFramed(shop, []int{0}, pbField(nil, 2, "hi"))},
			atShop(Finding{Kind: KindMissingField, Path: "/id"})},
		{"framed, closed enum value not defined", Request{Subject: "shop", Data: pbFramed(shop, []int{0}, pbField(pbField(nil, 1, 7), 3, 9))},
			atShop(Finding{Kind: KindEnumViolation, Path: "/status"})},
		{"framed with the ID of another subject's schema", Request{Subject: "shop", Data: pbFramed(evt, []int{0}, nil)},
			outcome{Findings: []Finding{{Kind: KindUnknownSchemaID, Message: fmt.Sprintf("schema ID %d is not registered under subject \"shop\"", evt)}}}},

		{"raw, the first message by default", Request{Subject: "shop", Format: FormatProtobuf, Data: order}, atShop()},
		{"raw, named message", Request{Subject: "shop", Version: 1, Format: FormatProtobuf, MessageName: "shop.Refund", Data: pbField(nil, 1, 7)}, atShop()},
		{"raw, nested message by its full name with a leading dot", Request{Subject: "shop", SchemaID: shop, Format: FormatProtobuf,
			MessageName: ".shop.Order.Line", Data: line}, atShop()},
		{"raw, an Order is not a Refund", Request{Subject: "shop", Format: FormatProtobuf, MessageName: "shop.Refund", Data: order},
			atShop(Finding{Kind: KindUnknownField, Message: "2"}, Finding{Kind: KindUnknownField, Message: "3"}, Finding{Kind: KindUnknownField, Message: "4"})},
		{"raw, a message the schema does not declare", Request{Subject: "shop", Format: FormatProtobuf, MessageName: "shop.Nope", Data: order},
			refused(`no message "shop.Nope" in the schema`)},

		{"JSON text in data", Request{Subject: "shop", Format: FormatProtobufJSON, Data: []byte(`{"id":"7","note":"hi","status":"PAID","lines":[{"sku":"a","qty":2}]}`)}, atShop()},
		{"JSON text: wrong types, unknown field, undefined enum", Request{Subject: "shop", Format: FormatProtobufJSON,
			Data: []byte(`{"id":true,"status":"LOST","lines":[{"qty":"two"}],"bogus":1}`)},
			atShop(Finding{Kind: KindTypeMismatch, Path: "/id"}, Finding{Kind: KindEnumViolation, Path: "/status"},
				Finding{Kind: KindTypeMismatch, Path: "/lines/0/qty"}, Finding{Kind: KindUnknownField, Path: "/bogus"})},
		{"json_text keeps a field named twice", Request{Subject: "shop", Format: FormatProtobufJSON, MessageName: "shop.Refund",
			JSONText: []byte(`{"orderId":1,"order_id":2}`)}, atShop(Finding{Kind: KindConstraintViolation, Path: "/order_id"})},
		{"decoded value, numbers exact", Request{Subject: "shop", Format: FormatProtobufJSON, HasJSON: true,
			JSON: map[string]any{"id": json.Number("9223372036854775807"), "note": "<&>"}}, atShop()},
		{"decoded value, one past int64", Request{Subject: "shop", Format: FormatProtobufJSON, HasJSON: true,
			JSON: map[string]any{"id": json.Number("9223372036854775808")}}, atShop(Finding{Kind: KindConstraintViolation, Path: "/id"})},
		{"unspecified JSON on a Protobuf schema is Protobuf JSON", Request{Subject: "evt", JSONText: []byte(`{"name":"n","seq":"12"}`)},
			outcome{SchemaID: evt, Version: 1}},
		{"unspecified JSON, wrong type", Request{Subject: "evt", JSONText: []byte(`{"name":5}`)},
			outcome{SchemaID: evt, Version: 1, Findings: []Finding{{Kind: KindTypeMismatch, Path: "/name"}}}},
		{"malformed JSON text in data", Request{Subject: "shop", Format: FormatProtobufJSON, Data: []byte(`{"id":`)},
			refused("data: malformed JSON: unexpected end of input at byte offset 6")},
		{"malformed json_text", Request{Subject: "shop", Format: FormatProtobufJSON, JSONText: []byte(`{"id"`)}, refused("json_text: not valid JSON")},

		{"AVRO_BINARY on a Protobuf schema", Request{Subject: "shop", Format: FormatAvroBinary, Data: order},
			refused(fmt.Sprintf("schema %d is a PROTOBUF schema; use PROTOBUF or CONFLUENT for binary payloads", shop))},
		{"JSON on a Protobuf schema", Request{Subject: "shop", Format: FormatJSON, Data: []byte(`{}`)},
			refused(fmt.Sprintf("schema %d is a PROTOBUF schema; use PROTOBUF_JSON for JSON payloads", shop))},
		{"PROTOBUF on an Avro schema", Request{Subject: "avro", Format: FormatProtobuf, Data: []byte{2, 'a'}},
			refused(fmt.Sprintf("schema %d is an Avro schema; use CONFLUENT for binary payloads, or AVRO_BINARY", avroID))},
		{"PROTOBUF_JSON on an Avro schema", Request{Subject: "avro", Format: FormatProtobufJSON, Data: []byte(`"a"`)},
			refused(fmt.Sprintf("schema %d is an Avro schema; use AVRO_JSON for JSON payloads", avroID))},
		{"a message name on an Avro schema", Request{Subject: "avro", Format: FormatAvroBinary, MessageName: "shop.Order", Data: []byte{2, 'a'}},
			refused("message_name is for PROTOBUF schemas")},
		{"a message name with a Confluent frame", Request{Subject: "shop", MessageName: "shop.Order", Data: pbFramed(shop, []int{0}, order)},
			refused("a CONFLUENT frame names its message by its message indexes")},
		{"PROTOBUF in json", Request{Subject: "shop", Format: FormatProtobuf, JSONText: []byte(`{}`)},
			refused("CONFLUENT, AVRO_BINARY and PROTOBUF payloads go in data")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Validate(ctx, tc.req)
			got := outcome{SchemaID: res.SchemaID, Version: res.Version, Findings: res.Findings}
			if err != nil {
				if !errors.Is(err, ErrBadRequest) {
					t.Errorf("Validate error %v does not wrap ErrBadRequest", err)
				}
				got.Err = err.Error()
				if tc.want.Err != "" && strings.Contains(got.Err, tc.want.Err) {
					got.Err = tc.want.Err
				}
			}
			for i := range got.Findings {
				if i < len(tc.want.Findings) && strings.Contains(got.Findings[i].Message, tc.want.Findings[i].Message) {
					got.Findings[i].Message = tc.want.Findings[i].Message
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

// shopEngine is an engine over a registry where subject "s" holds engineShopProto, whose
// schema ID it returns.
func shopEngine(tb testing.TB) (*Engine, int) {
	tb.Helper()
	reg := newTestRegistry(tb)
	sv, err := reg.Register(tb.Context(), "s", registry.SchemaInput{Type: registry.SchemaTypeProtobuf, Text: engineShopProto})
	if err != nil {
		tb.Fatal(err)
	}
	e, err := NewEngine(Options{Source: reg})
	if err != nil {
		tb.Fatal(err)
	}
	return e, sv.Schema.ID
}

// TestEngineFramedProtobufDoesNotAllocate: a valid Confluent-framed Protobuf payload costs the
// engine no allocation once its schema is compiled, whichever message its indexes name, as a
// framed Avro payload costs none.
func TestEngineFramedProtobufDoesNotAllocate(t *testing.T) {
	ctx := t.Context()
	e, id := shopEngine(t)
	line := pbField(pbField(nil, 1, "sku-1"), 2, 2)
	for name, data := range map[string][]byte{
		"Order [0]":        pbFramed(id, []int{0}, pbField(pbField(pbField(nil, 1, 7), 2, "hi"), 4, line)),
		"Order.Line [0 0]": pbFramed(id, []int{0, 0}, line),
		"Refund [1]":       pbFramed(id, []int{1}, pbField(nil, 1, 7)),
	} {
		req := Request{Subject: "s", Data: data}
		if res, err := e.Validate(ctx, req); err != nil || res.Invalid() { // compiles the schema
			t.Fatalf("%s: Validate = %+v, %v", name, res, err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if res, err := e.Validate(ctx, req); err != nil || res.Invalid() {
				t.Fatalf("%s: Validate = %+v, %v", name, res, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per valid payload, want 0", name, allocs)
		}
	}
}

// BenchmarkEngineValidateProtobuf is BenchmarkEngineValidate for a Protobuf message framed with
// its ID and message indexes.
func BenchmarkEngineValidateProtobuf(b *testing.B) {
	ctx := b.Context()
	e, id := shopEngine(b)
	line := pbField(pbField(nil, 1, "sku-1"), 2, 2)
	req := Request{Subject: "s", Data: pbFramed(id, []int{0}, pbField(pbField(pbField(nil, 1, 7), 2, "hi"), 4, line))}
	if res, err := e.Validate(ctx, req); err != nil || res.Invalid() {
		b.Fatalf("Validate = %+v, %v", res, err)
	}
	for b.Loop() {
		if _, err := e.Validate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
