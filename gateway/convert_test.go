package gateway

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/validate"
)

// TestDriftKindsMapOneToOne: every drift kind has its own protobuf value and comes back from
// it, every protobuf value but UNSPECIFIED is a kind, and an unknown kind is OTHER.
func TestDriftKindsMapOneToOne(t *testing.T) {
	seen := map[pb.DriftKind]bool{}
	for _, k := range validate.Kinds() {
		d := DriftKindToProto(k)
		if d == pb.DriftKind_DRIFT_KIND_UNSPECIFIED || seen[d] {
			t.Errorf("%s maps to %s, unspecified or taken", k, d)
		}
		seen[d] = true
		if back := DriftKindFromProto(d); back != k {
			t.Errorf("%s → %s → %q", k, d, back)
		}
	}
	for v := range pb.DriftKind_name {
		if d := pb.DriftKind(v); d != pb.DriftKind_DRIFT_KIND_UNSPECIFIED && !seen[d] {
			t.Errorf("protobuf value %s has no drift kind", d)
		}
	}
	if got := DriftKindFromProto(pb.DriftKind_DRIFT_KIND_UNSPECIFIED); got != "" {
		t.Errorf("UNSPECIFIED → %q; want no kind", got)
	}
	if got := DriftKindToProto("not_a_kind"); got != pb.DriftKind_DRIFT_KIND_OTHER {
		t.Errorf("an unknown kind → %s; want OTHER", got)
	}
}

// TestSchemaTypesMapOneToOne: every protobuf schema type but UNSPECIFIED is a registry type and
// comes back to itself; UNSPECIFIED is AVRO, as Confluent defaults; an unknown number is refused.
func TestSchemaTypesMapOneToOne(t *testing.T) {
	got := map[pb.SchemaType]registry.SchemaType{}
	for v := range pb.SchemaType_name {
		typ, err := SchemaTypeFromProto(pb.SchemaType(v))
		if err != nil {
			t.Errorf("%s: %v", pb.SchemaType(v), err)
			continue
		}
		got[pb.SchemaType(v)] = typ
		if back := schemaTypeToProto(typ); pb.SchemaType(v) != pb.SchemaType_SCHEMA_TYPE_UNSPECIFIED && back != pb.SchemaType(v) {
			t.Errorf("%s → %s → %s", pb.SchemaType(v), typ, back)
		}
	}
	want := map[pb.SchemaType]registry.SchemaType{
		pb.SchemaType_SCHEMA_TYPE_UNSPECIFIED: registry.SchemaTypeAvro,
		pb.SchemaType_SCHEMA_TYPE_AVRO:        registry.SchemaTypeAvro,
		pb.SchemaType_SCHEMA_TYPE_JSON:        registry.SchemaTypeJSON,
		pb.SchemaType_SCHEMA_TYPE_PROTOBUF:    registry.SchemaTypeProtobuf,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SchemaTypeFromProto (-want +got):\n%s", diff)
	}
	if _, err := SchemaTypeFromProto(99); !errors.Is(err, registry.ErrInvalidSchema) {
		t.Errorf("SchemaTypeFromProto(99) err = %v; want ErrInvalidSchema", err)
	}
}

// TestPayloadFormatsMapOneToOne: every protobuf payload format maps to its own engine format,
// and a number the API does not define is refused as a bad request.
func TestPayloadFormatsMapOneToOne(t *testing.T) {
	got := map[pb.PayloadFormat]validate.Format{}
	for v := range pb.PayloadFormat_name {
		f, err := payloadFormatFromProto(pb.PayloadFormat(v))
		if err != nil {
			t.Errorf("%s: %v", pb.PayloadFormat(v), err)
		}
		got[pb.PayloadFormat(v)] = f
	}
	want := map[pb.PayloadFormat]validate.Format{
		pb.PayloadFormat_PAYLOAD_FORMAT_UNSPECIFIED:   validate.FormatUnspecified,
		pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY:   validate.FormatAvroBinary,
		pb.PayloadFormat_PAYLOAD_FORMAT_CONFLUENT:     validate.FormatConfluent,
		pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_JSON:     validate.FormatAvroJSON,
		pb.PayloadFormat_PAYLOAD_FORMAT_JSON:          validate.FormatJSON,
		pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF:      validate.FormatProtobuf,
		pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF_JSON: validate.FormatProtobufJSON,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payloadFormatFromProto (-want +got):\n%s", diff)
	}
	if _, err := payloadFormatFromProto(99); !errors.Is(err, validate.ErrBadRequest) {
		t.Errorf("payloadFormatFromProto(99) err = %v; want ErrBadRequest", err)
	}
}
