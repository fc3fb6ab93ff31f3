package protoschema

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"
)

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

var testLimits = Limits{MaxBytes: 1 << 20, MaxDepth: 32}

// mustParse parses text or fails the test.
func mustParse(t tb, text string, deps map[string]string) *Schema {
	t.Helper()
	s, err := Parse(context.Background(), text, deps, testLimits)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return s
}

// sortedKeys returns m's keys in order, so subtests run in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

func TestParseAccepts(t *testing.T) {
	deps := map[string]string{
		"common/money.proto": "syntax = \"proto3\";\npackage common;\nmessage Money { int64 cents = 1; }\n",
	}
	for _, name := range sortedKeys(corpus) {
		t.Run(name, func(t *testing.T) { mustParse(t, corpus[name], deps) })
	}
	t.Run("reference from deps", func(t *testing.T) {
		s := mustParse(t, "syntax = \"proto3\";\nimport \"common/money.proto\";\nmessage P { common.Money m = 1; }\n", deps)
		if got := s.File.Messages().Get(0).Fields().Get(0).Message().FullName(); got != "common.Money" {
			t.Errorf("field type = %s, want common.Money", got)
		}
	})
	t.Run("serialized reference", func(t *testing.T) {
		dep := mustParse(t, deps["common/money.proto"], nil).Serialized()
		mustParse(t, "syntax = \"proto3\";\nimport \"common/money.proto\";\nmessage P { common.Money m = 1; }\n",
			map[string]string{"common/money.proto": dep})
	})
	t.Run("unused import is a warning only", func(t *testing.T) {
		mustParse(t, "syntax = \"proto3\";\nimport \"google/protobuf/empty.proto\";\nmessage P { int32 a = 1; }\n", nil)
	})
}

func TestBuiltinImportsCompile(t *testing.T) {
	want := []string{
		"confluent/meta.proto", "confluent/type/decimal.proto",
		"google/type/calendar_period.proto", "google/type/color.proto", "google/type/date.proto",
		"google/type/datetime.proto", "google/type/dayofweek.proto", "google/type/decimal.proto",
		"google/type/expr.proto", "google/type/fraction.proto", "google/type/interval.proto",
		"google/type/latlng.proto", "google/type/money.proto", "google/type/month.proto",
		"google/type/phone_number.proto", "google/type/postal_address.proto",
		"google/type/quaternion.proto", "google/type/timeofday.proto",
	}
	if diff := cmp.Diff(want, BuiltinImports()); diff != "" {
		t.Errorf("BuiltinImports (-want +got):\n%s", diff)
	}
	for _, path := range want {
		mustParse(t, "syntax = \"proto3\";\nimport \""+path+"\";\n", nil)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		deps map[string]string
		lim  Limits
		want string
	}{
		{"unknown type", "syntax = \"proto3\";\nmessage Foo {\n  Baz bar = 1;\n}\n", nil, testLimits,
			`schema.proto:3:3: field Foo.bar: unknown type Baz`},
		{"syntax error", "syntax = \"proto3\";\nmessage Foo {\n  int32 a = ;\n}\n", nil, testLimits,
			`schema.proto:3:13: syntax error: unexpected ';', expecting int literal`},
		{"every error reported", "syntax = \"proto3\";\nmessage A { Nope a = 1; }\nmessage B { Gone b = 1; }\n", nil, testLimits,
			`schema.proto:2:13: field A.a: unknown type Nope; schema.proto:3:13: field B.b: unknown type Gone`},
		{"duplicate number", "syntax = \"proto3\";\nmessage A { int32 a = 1; int32 b = 1; }\n", nil, testLimits,
			`schema.proto:2:36: message A: fields a and b both have the same tag 1`},
		{"missing import", "syntax = \"proto3\";\nimport \"other.proto\";\nmessage A {}\n", nil, testLimits,
			`schema.proto:2:8: no reference is named "other.proto" and no built-in file has that path`},
		{"error in a reference", "syntax = \"proto3\";\nimport \"dep.proto\";\n", map[string]string{"dep.proto": "message {"}, testLimits,
			`dep.proto:1:9: syntax error: unexpected '{'`},
		{"proto3 required", "syntax = \"proto3\";\nmessage A { required int32 a = 1; }\n", nil, testLimits,
			`schema.proto:2:13: field A.a: label 'required' is not allowed in proto3 or editions`},
		{"too large", "syntax = \"proto3\";", nil, Limits{MaxBytes: 10}, `schema.proto: schema text is 18 bytes, the limit is 10`},
		{"too deep", "message A {\n  message B { message C {} }\n}\n", nil, Limits{MaxDepth: 2},
			`schema.proto:2:25: braces are nested deeper than the limit of 2`},
		{"reference named like the schema", "", map[string]string{MainFile: ""}, testLimits,
			`schema.proto: a reference may not be named "schema.proto": the schema itself has that name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(context.Background(), tc.text, tc.deps, tc.lim)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrorPositions(t *testing.T) {
	_, err := Parse(context.Background(), "syntax = \"proto3\";\nmessage Foo {\n  Baz bar = 1;\n}\n", nil, testLimits)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *ParseError", err)
	}
	want := []Problem{{File: "schema.proto", Line: 3, Column: 3, Message: "field Foo.bar: unknown type Baz"}}
	if diff := cmp.Diff(want, pe.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestParseCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Parse(ctx, corpus["proto3 basic"], nil, testLimits); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestCanonical(t *testing.T) {
	s := mustParse(t, `syntax="proto3";  package shop ;
// comment
import "google/protobuf/timestamp.proto";
message Order { map<string,Line> lines=2; string id=1 [json_name="ID"]; google.protobuf.Timestamp at=3;
  message Line { int32 qty = 1; } oneof pay { string card = 4; string iban = 5; } }
enum Status { S0 = 0; }
`, nil)
	want := `syntax = "proto3";
package shop;

import "google/protobuf/timestamp.proto";

message Order {
  map<string, .shop.Order.Line> lines = 2;
  string id = 1 [json_name = "ID"];
  .google.protobuf.Timestamp at = 3;
  oneof pay {
    string card = 4;
    string iban = 5;
  }
  message Line {
    int32 qty = 1;
  }
}
enum Status {
  S0 = 0;
}
`
	if diff := cmp.Diff(want, s.Canonical()); diff != "" {
		t.Errorf("Canonical (-want +got):\n%s", diff)
	}
}

func TestNormalizedRespellings(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"white space and comments",
			"syntax = \"proto3\"; message A { int32 a = 1; }",
			"// c\nsyntax   =   \"proto3\";\n/* x */ message A {\n  int32 a = 1; // y\n}\n"},
		{"field order", "syntax = \"proto3\"; message A { int32 a = 1; string b = 2; }",
			"syntax = \"proto3\"; message A { string b = 2; int32 a = 1; }"},
		{"relative and qualified names", "syntax = \"proto3\"; package p; message A { B b = 1; } message B {}",
			"syntax = \"proto3\"; package p; message A { .p.B b = 1; } message B {}"},
		{"import order", "syntax = \"proto3\"; import \"google/protobuf/any.proto\"; import \"google/protobuf/empty.proto\"; message A { google.protobuf.Any a = 1; google.protobuf.Empty e = 2; }",
			"syntax = \"proto3\"; import \"google/protobuf/empty.proto\"; import \"google/protobuf/any.proto\"; message A { google.protobuf.Any a = 1; google.protobuf.Empty e = 2; }"},
		{"option order", "syntax = \"proto3\"; option java_package = \"x\"; option go_package = \"y\"; message A { int32 a = 1 [deprecated = true, json_name = \"z\"]; }",
			"syntax = \"proto3\"; option go_package = \"y\"; option java_package = \"x\"; message A { int32 a = 1 [json_name = \"z\", deprecated = true]; }"},
		{"oneof order", "syntax = \"proto3\"; message A { oneof x { int32 a = 1; int32 b = 2; } oneof y { int32 c = 3; } }",
			"syntax = \"proto3\"; message A { oneof y { int32 c = 3; } oneof x { int32 b = 2; int32 a = 1; } }"},
		{"enum value order", "syntax = \"proto3\"; enum E { Z = 0; O = 1; }", "syntax = \"proto3\"; enum E { Z = 0; O = 1; }"},
		{"reserved spelling", "syntax = \"proto3\"; message A { reserved 1, 3 to 4; reserved \"x\", \"w\"; }",
			"syntax = \"proto3\"; message A { reserved 3 to 4; reserved \"w\"; reserved 1; reserved \"x\"; }"},
		{"explicit default json_name", "syntax = \"proto3\"; message A { int32 a_b = 1; }",
			"syntax = \"proto3\"; message A { int32 a_b = 1 [json_name = \"aB\"]; }"},
		{"proto2 declared or not", "message A { optional int32 a = 1; }", "syntax = \"proto2\"; message A { optional int32 a = 1; }"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustParse(t, tc.a, nil).Normalized(), mustParse(t, tc.b, nil).Normalized()
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("normalized forms differ (-a +b):\n%s", diff)
			}
		})
	}
}

func TestNormalizedKeepsDifferences(t *testing.T) {
	a := mustParse(t, "syntax = \"proto3\"; message A { int32 a = 1; } message B {}", nil).Normalized()
	b := mustParse(t, "syntax = \"proto3\"; message B {} message A { int32 a = 1; }", nil).Normalized()
	if a == b {
		t.Errorf("message order is significant (message indexes) but both normalize to\n%s", a)
	}
}

// checkRoundTrip asserts the printing properties for one schema: the canonical text parses
// back to an equal descriptor, the normalized text is a fixed point, and the serialized
// form parses back to an equal descriptor.
func checkRoundTrip(t tb, s *Schema, deps map[string]string) {
	t.Helper()
	canonical := s.Canonical()
	again := mustParse(t, canonical, deps)
	if diff := cmp.Diff(s.Proto(), again.Proto(), protocmp.Transform()); diff != "" {
		t.Fatalf("Parse(Canonical) differs (-first +again):\n%s\ncanonical:\n%s", diff, canonical)
	}
	if c := again.Canonical(); c != canonical {
		t.Fatalf("Canonical is not a fixed point:\n%s\nthen:\n%s", canonical, c)
	}
	normalized := s.Normalized()
	if n := mustParse(t, normalized, deps).Normalized(); n != normalized {
		t.Fatalf("Normalized is not a fixed point:\n%s\nthen:\n%s", normalized, n)
	}
	fromSerialized := mustParse(t, s.Serialized(), deps)
	// Custom options stay unread bytes in a descriptor linked from its serialized form:
	// compare the descriptors as bytes.
	if !proto.Equal(reread(t, s.Proto()), reread(t, fromSerialized.Proto())) {
		t.Fatalf("Parse(Serialized) differs:\n%s", cmp.Diff(s.Proto(), fromSerialized.Proto(), protocmp.Transform()))
	}
}

// reread returns fdp marshalled and unmarshalled without a resolver: every custom option
// becomes unknown bytes.
func reread(t tb, fdp *descriptorpb.FileDescriptorProto) *descriptorpb.FileDescriptorProto {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(fdp)
	if err != nil {
		t.Fatal(err)
	}
	out := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTripCorpus(t *testing.T) {
	for _, name := range sortedKeys(corpus) {
		t.Run(name, func(t *testing.T) { checkRoundTrip(t, mustParse(t, corpus[name], nil), nil) })
	}
}

func TestSerialized(t *testing.T) {
	s := mustParse(t, "syntax = \"proto3\";\npackage p;\nmessage A { string s = 1; }\n", nil)
	want := "CgxzY2hlbWEucHJvdG8SAXAiEQoBQRIMCgFzGAEgASgJUgFzYgZwcm90bzM="
	if diff := cmp.Diff(want, s.Serialized()); diff != "" {
		t.Errorf("Serialized (-want +got):\n%s", diff)
	}
	back := mustParse(t, want, nil)
	if diff := cmp.Diff(s.Canonical(), back.Canonical()); diff != "" {
		t.Errorf("Canonical of the serialized form (-want +got):\n%s", diff)
	}
	if _, err := Parse(context.Background(), "Zm9v!", nil, testLimits); err == nil {
		t.Error("text that is neither .proto nor base64 parsed")
	}
}

// TestMessageIndexes: message indexes count declared messages, as Confluent's Java serializer
// and its JavaScript client write them; confluent-kafka-go's paths, which count the entry
// messages of map fields too, are read as well where they name a declared message.
func TestMessageIndexes(t *testing.T) {
	s := mustParse(t, corpus["nested message before map"], nil)
	tests := []struct {
		idx  []int
		want string
		// canonical is Indexes(want): the declared-message path.
		canonical []int
	}{
		{nil, "A", []int{0}},
		{[]int{0}, "A", []int{0}},
		{[]int{0, 0}, "A.B", []int{0, 0}},
		{[]int{0, 1}, "A.C", []int{0, 1}}, // the map field's entry message is not counted
		{[]int{0, 2}, "A.C", []int{0, 1}}, // as confluent-kafka-go writes it, entry counted
		{[]int{1}, "D", []int{1}},
	}
	for _, tc := range tests {
		md, err := s.MessageByIndexes(tc.idx)
		if err != nil {
			t.Errorf("MessageByIndexes(%v): %v", tc.idx, err)
			continue
		}
		if diff := cmp.Diff(tc.want, string(md.FullName())); diff != "" {
			t.Errorf("MessageByIndexes(%v) (-want +got):\n%s", tc.idx, diff)
		}
		byName, err := s.MessageByName(tc.want)
		if err != nil || byName != md {
			t.Errorf("MessageByName(%q) = %v, %v; want the message at %v", tc.want, byName, err, tc.idx)
		}
		if diff := cmp.Diff(tc.canonical, s.Indexes(md)); diff != "" {
			t.Errorf("Indexes(%s) (-want +got):\n%s", md.FullName(), diff)
		}
	}
	entry, err := s.MessageByName("A.MEntry")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Indexes(entry); got != nil {
		t.Errorf("Indexes of a map entry = %v, want nil: no serializer writes one", got)
	}
	for _, bad := range [][]int{{2}, {-1}, {0, 3}, {1, 0}} {
		if md, err := s.MessageByIndexes(bad); err == nil {
			t.Errorf("MessageByIndexes(%v) = %s, want an error", bad, md.FullName())
		}
	}
	if _, err := s.MessageByName("A.Nope"); err == nil || !strings.Contains(err.Error(), "A.Nope") {
		t.Errorf("MessageByName(A.Nope) err = %v", err)
	}
	other := mustParse(t, "syntax = \"proto3\";\nmessage A {}\n", nil)
	if got := s.Indexes(other.File.Messages().Get(0)); got != nil {
		t.Errorf("Indexes of another file's message = %v, want nil", got)
	}
}
