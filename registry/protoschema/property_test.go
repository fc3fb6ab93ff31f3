package protoschema

import (
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// genSchema draws a random proto3 or proto2 schema: messages with nested messages and
// enums, oneofs, maps, repeated fields, options (deprecated, packed, json_name), reserved
// ranges and names, and fields of well-known types.
func genSchema(t *rapid.T) string {
	proto2 := rapid.Bool().Draw(t, "proto2")
	var b strings.Builder
	if proto2 {
		b.WriteString("syntax = \"proto2\";\n")
	} else {
		b.WriteString("syntax = \"proto3\";\n")
	}
	b.WriteString("package gen.v1;\nimport \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/wrappers.proto\";\n")
	if rapid.Bool().Draw(t, "fileOption") {
		b.WriteString("option java_multiple_files = true;\n")
	}
	n := rapid.IntRange(1, 3).Draw(t, "messages")
	for i := range n {
		genMessage(t, &b, fmt.Sprintf("M%d", i), proto2, 0)
	}
	if rapid.Bool().Draw(t, "topEnum") {
		genEnum(t, &b, "TopEnum")
	}
	return b.String()
}

var scalars = []string{"int32", "int64", "uint32", "sint64", "fixed32", "sfixed64", "bool", "string", "bytes", "double", "float",
	"google.protobuf.Timestamp", "google.protobuf.StringValue"}

func genMessage(t *rapid.T, b *strings.Builder, name string, proto2 bool, depth int) {
	singular := ""
	if proto2 {
		singular = "optional "
	}
	fmt.Fprintf(b, "message %s {\n", name)
	if rapid.Bool().Draw(t, "deprecatedMsg") {
		b.WriteString("option deprecated = true;\n")
	}
	number := 1
	fields := rapid.IntRange(0, 5).Draw(t, "fields")
	for i := range fields {
		typ := rapid.SampledFrom(scalars).Draw(t, "type")
		label := ""
		switch rapid.IntRange(0, 3).Draw(t, "label") {
		case 1:
			label = "repeated "
		case 2:
			label = "optional "
		}
		if proto2 && label == "" {
			label = "optional "
		}
		var opts []string
		if rapid.Bool().Draw(t, "deprecated") {
			opts = append(opts, "deprecated = true")
		}
		if label == "repeated " && typ == "int32" && rapid.Bool().Draw(t, "packed") {
			opts = append(opts, "packed = false")
		}
		if rapid.Bool().Draw(t, "jsonName") {
			opts = append(opts, fmt.Sprintf("json_name = \"j%d\"", i))
		}
		optText := ""
		if len(opts) > 0 {
			optText = " [" + strings.Join(opts, ", ") + "]"
		}
		fmt.Fprintf(b, "%s%s f%d = %d%s;\n", label, typ, i, number, optText)
		number++
	}
	if rapid.Bool().Draw(t, "map") {
		fmt.Fprintf(b, "map<string, %s> m = %d;\n", rapid.SampledFrom([]string{"int64", "string", "google.protobuf.Timestamp"}).Draw(t, "mapValue"), number)
		number++
	}
	if rapid.Bool().Draw(t, "oneof") {
		b.WriteString("oneof choice {\n")
		for i := range rapid.IntRange(1, 3).Draw(t, "oneofFields") {
			fmt.Fprintf(b, "%s o%d = %d;\n", rapid.SampledFrom([]string{"string", "int32", "google.protobuf.Timestamp"}).Draw(t, "oneofType"), i, number)
			number++
		}
		b.WriteString("}\n")
	}
	if rapid.Bool().Draw(t, "reserved") {
		fmt.Fprintf(b, "reserved %d, %d to %d;\nreserved \"gone\";\n", number+10, number+20, number+25)
	}
	if depth < 2 && rapid.Bool().Draw(t, "nested") {
		genMessage(t, b, fmt.Sprintf("N%d", depth), proto2, depth+1)
		fmt.Fprintf(b, "%sN%d nested = %d;\n", singular, depth, number)
	}
	if rapid.Bool().Draw(t, "enum") {
		genEnum(t, b, "E")
		fmt.Fprintf(b, "%sE kind = %d;\n", singular, number+1)
	}
	b.WriteString("}\n")
}

func genEnum(t *rapid.T, b *strings.Builder, name string) {
	fmt.Fprintf(b, "enum %s {\n", name)
	for i := range rapid.IntRange(1, 4).Draw(t, "values") {
		fmt.Fprintf(b, "%s_V%d = %d;\n", strings.ToUpper(name), i, i)
	}
	if rapid.Bool().Draw(t, "enumReserved") {
		b.WriteString("reserved 100 to 110;\n")
	}
	b.WriteString("}\n")
}

func TestRoundTripGenerated(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := genSchema(t)
		checkRoundTrip(t, mustParse(t, text, nil), nil)
	})
}
