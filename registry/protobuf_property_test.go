package registry

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// protoScalars are the field types drawn, a few from each of Confluent's wire groups, so that
// two drawn schemas are sometimes compatible and sometimes not.
var protoScalars = []string{"int32", "int64", "bool", "sint32", "fixed32", "string", "bytes", "double", "E"}

// drawProto draws a proto3 (or proto2) schema: one to three top-level messages M0.., each with
// fields numbered from 1 of scalar, enum, message, repeated and map types, sometimes a oneof
// and a nested message, and an enum E. Names and numbers come from small sets, so that two
// drawn schemas share much.
func drawProto(t *rapid.T, label string) string {
	var b strings.Builder
	proto2 := rapid.Bool().Draw(t, label+" proto2")
	if proto2 {
		b.WriteString("syntax = \"proto2\";\npackage p;\nenum E { E0 = 0; E1 = 1; }\n")
	} else {
		b.WriteString("syntax = \"proto3\";\npackage p;\nenum E { E0 = 0; E1 = 1; }\n")
	}
	messages := rapid.IntRange(1, 3).Draw(t, label+" messages")
	for m := range messages {
		fmt.Fprintf(&b, "message M%d {\n", m)
		if rapid.Bool().Draw(t, label+" nested") {
			b.WriteString("  message N { optional string n = 1; }\n  optional N nested = 15;\n")
		}
		fields := rapid.IntRange(0, 4).Draw(t, label+" fields")
		for f := 1; f <= fields; f++ {
			typ := rapid.SampledFrom(append(protoScalars, fmt.Sprintf("M%d", rapid.IntRange(0, messages-1).Draw(t, label+" ref")))).Draw(t, label+" type")
			switch shape := rapid.IntRange(0, 3).Draw(t, label+" shape"); {
			case shape == 1:
				fmt.Fprintf(&b, "  repeated %s f%d = %d;\n", typ, f, f)
			case shape == 2 && typ != "E" && typ[0] != 'M' && typ != "double" && typ != "bytes":
				fmt.Fprintf(&b, "  map<%s, %s> f%d = %d;\n", typ, rapid.SampledFrom(protoScalars).Draw(t, label+" value"), f, f)
			case proto2:
				fmt.Fprintf(&b, "  optional %s f%d = %d;\n", typ, f, f)
			default:
				fmt.Fprintf(&b, "  %s f%d = %d;\n", typ, f, f)
			}
		}
		if rapid.Bool().Draw(t, label+" oneof") {
			b.WriteString("  oneof choice {\n    string c1 = 10;\n    int64 c2 = 11;\n  }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func mustParseProto(t *rapid.T, text string) *parsedSchema {
	p, err := parse(context.Background(), SchemaTypeProtobuf, text, nil, testLimits, false)
	if err != nil {
		t.Fatalf("generated schema does not parse: %v\n%s", err, text)
	}
	return p
}

// Every drawn Protobuf schema registers and is compatible with itself at every level, checked
// through the registry as clients check it.
func TestPropertyProtobufSelfCompatible(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	subjects := 0
	rapid.Check(t, func(t *rapid.T) {
		subjects++
		subject := fmt.Sprintf("p%d", subjects)
		in := protoIn(drawProto(t, "schema"))
		if _, err := r.Register(ctx, subject, in); err != nil {
			t.Fatalf("Register: %v\n%s", err, in.Text)
		}
		for _, level := range append(allLevels, CompatNone) {
			if _, err := r.SetConfig(ctx, subject, Config{Compatibility: level}); err != nil {
				t.Fatal(err)
			}
			msgs, err := r.CheckCompatibility(ctx, subject, 0, in)
			if err != nil || len(msgs) != 0 {
				t.Fatalf("schema incompatible with itself under %s: %v, %v\n%s", level, msgs, err, in.Text)
			}
		}
	})
}

// FULL is exactly BACKWARD and FORWARD together, for any pair of Protobuf schemas.
func TestPropertyProtobufFullIsBackwardAndForward(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		old, candidate := mustParseProto(t, drawProto(t, "old")), mustParseProto(t, drawProto(t, "new"))
		full := len(defaultCompatMessages(t, CompatFull, candidate, old, 1)) == 0
		backward := len(defaultCompatMessages(t, CompatBackward, candidate, old, 1)) == 0
		forward := len(defaultCompatMessages(t, CompatForward, candidate, old, 1)) == 0
		if full != (backward && forward) {
			t.Fatalf("FULL %v, BACKWARD %v, FORWARD %v\nold:\n%s\nnew:\n%s", full, backward, forward, old.canonical, candidate.canonical)
		}
	})
}

// The stored form is a fixed point: the canonical (and the normalized) text of a drawn schema
// parses to the same text again.
func TestPropertyProtobufStoredFormIsFixedPoint(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := drawProto(t, "schema")
		for _, normalize := range []bool{false, true} {
			p, err := parse(context.Background(), SchemaTypeProtobuf, text, nil, testLimits, normalize)
			if err != nil {
				t.Fatalf("generated schema does not parse: %v\n%s", err, text)
			}
			again, err := parse(context.Background(), SchemaTypeProtobuf, p.canonical, nil, testLimits, normalize)
			if err != nil || again.canonical != p.canonical {
				t.Fatalf("normalize %v: stored text is not a fixed point (%v):\n%s\nthen:\n%s", normalize, err, p.canonical, again.canonical)
			}
		}
	})
}
