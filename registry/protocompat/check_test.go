package protocompat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/schemagate/schemagate/registry/compatbudget"
)

// TestReasonsCarryPathsAndDescriptions pins the full reasons a verbose compatibility check
// shows: Confluent's type, path and sentence, with the labels the registry passes.
func TestReasonsCarryPathsAndDescriptions(t *testing.T) {
	old := compile(t, p3("message Order { int32 id = 1; Item item = 2; oneof pay { string card = 3; string iban = 4; } }\nmessage Item { int32 n = 1; }"), nil)
	new := compile(t, p3("message Order { string id = 1; oneof pay { string card = 3; } }"), nil)
	got, err := CheckMeteredLabeled(nil, new, old, "new", "old")
	if err != nil {
		t.Fatal(err)
	}
	want := []Incompatibility{
		{Type: MessageRemoved, Path: "#/Item", Description: "The new schema is missing a MESSAGE type at path '#/Item' in the old schema"},
		{Type: OneofFieldRemoved, Path: "#/Order/pay/4", Description: "The new schema is missing a oneof field at path '#/Order/pay/4' in the old schema"},
		{Type: FieldScalarKindChanged, Path: "#/Order/1", Description: "The kind of a SCALAR field at path '#/Order/1' in the new schema does not match its kind in the old schema"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
}

// TestImportedTypeReasonsUseTheTypePath: reasons found inside an imported type carry the
// type's own path, as Confluent's subcontext does.
func TestImportedTypeReasonsUseTheTypePath(t *testing.T) {
	old := compile(t, withDep("dep.Outer.Sub s = 1;"), dep("message Outer { message Sub { int32 x = 1; } }"))
	new := compile(t, withDep("dep.Outer.Sub s = 1;"), dep("message Outer { message Sub { double x = 1; } }"))
	var got []string
	for _, in := range Check(new, old) {
		got = append(got, in.Type+" "+in.Path)
	}
	want := []string{"FIELD_SCALAR_KIND_CHANGED #/Outer/Sub/1", "FIELD_NAMED_TYPE_CHANGED #/M/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
}

func TestNilSchemas(t *testing.T) {
	fd := compile(t, m("int32 a = 1;"), nil)
	if got := Check(nil, fd); got != nil {
		t.Errorf("Check(nil, fd) = %v; want nil", got)
	}
	if got := Check(fd, nil); got != nil {
		t.Errorf("Check(fd, nil) = %v; want nil", got)
	}
}

// wide is a schema of n messages of n fields each, every field typed by the next message.
func wide(n int, scalar string) string {
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\n")
	for i := range n {
		fmt.Fprintf(&b, "message M%d {", i)
		for j := 1; j <= n; j++ {
			if i+1 < n {
				fmt.Fprintf(&b, " M%d f%d = %d;", i+1, j, j)
			} else {
				fmt.Fprintf(&b, " %s f%d = %d;", scalar, j, j)
			}
		}
		b.WriteString(" }\n")
	}
	return b.String()
}

// TestBudget: a check stops with the meter's error when its budget is spent or its context
// ends, and Check then fails closed.
func TestBudget(t *testing.T) {
	old, new := compile(t, wide(40, "int32"), nil), compile(t, wide(40, "string"), nil)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		meter   *compatbudget.Meter
		wantErr error
	}{
		{"enough budget", compatbudget.New(context.Background(), 0), nil},
		{"small budget", compatbudget.New(context.Background(), 100), compatbudget.ErrExceeded},
		{"cancelled context", compatbudget.New(cancelled, 0), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := CheckMetered(tt.meter, new, old)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && len(found) != 40 {
				t.Errorf("got %d reasons; want 40 (one per field of the last message)", len(found))
			}
			if tt.meter.Used() > tt.meter.Limit() {
				t.Errorf("used %d units of %d", tt.meter.Used(), tt.meter.Limit())
			}
		})
	}
}

// field types drawn by the property tests.
var scalars = []string{"int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool", "fixed32", "fixed64",
	"sfixed32", "sfixed64", "float", "double", "string", "bytes", "E", "Sub"}

// genSchema draws a proto3 schema: message M with fields of drawn types, labels and oneof
// membership, nested Sub, enum E, and optionally a second message N.
func genSchema(t *rapid.T, label string) string {
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\nmessage M {\n message Sub { int32 x = 1; }\n")
	var oneof []string
	for n := 1; n <= rapid.IntRange(0, 6).Draw(t, label+"fields"); n++ {
		typ := rapid.SampledFrom(scalars).Draw(t, label+"type")
		field := fmt.Sprintf("%s f%d = %d;", typ, n, n)
		switch rapid.IntRange(0, 3).Draw(t, label+"label") {
		case 1:
			field = "repeated " + field
		case 2:
			field = "optional " + field
		case 3:
			oneof = append(oneof, field)
			continue
		}
		b.WriteString(" " + field + "\n")
	}
	if len(oneof) > 0 {
		b.WriteString(" oneof o { " + strings.Join(oneof, " ") + " }\n")
	}
	b.WriteString("}\nenum E { E0 = 0; E1 = 1; }\n")
	if rapid.Bool().Draw(t, label+"N") {
		b.WriteString("message N { string s = 1; }\n")
	}
	return b.String()
}

// TestPropertySelfCompatible: every schema can read its own data.
func TestPropertySelfCompatible(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		text := genSchema(rt, "")
		a, b := compile(rt, text, nil), compile(rt, text, nil)
		if got := Check(a, b); len(got) != 0 {
			rt.Fatalf("schema incompatible with itself: %v\n%s", got, text)
		}
	})
}

// TestPropertySymmetricRules: adding an optional field or a message is compatible both
// ways; removing a message is never backward compatible; and for any pair of schemas a type
// or kind change of a field is seen from both sides (those rules are symmetric in
// Confluent's tables).
func TestPropertySymmetricRules(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		text := genSchema(rt, "a")
		base := compile(rt, text, nil)
		withField := compile(rt, strings.Replace(text, "message M {\n", "message M {\n int64 added = 99;\n", 1), nil)
		if got := append(Check(withField, base), Check(base, withField)...); len(got) != 0 {
			rt.Fatalf("adding an optional field: %v", got)
		}
		withMessage := compile(rt, text+"message Extra { int32 x = 1; }\n", nil)
		if got := Check(withMessage, base); len(got) != 0 {
			rt.Fatalf("adding a message, BACKWARD: %v", got)
		}
		if got := types(Check(base, withMessage)); !cmp.Equal(got, []string{MessageRemoved}) {
			rt.Fatalf("removing a message, BACKWARD = %v; want [MESSAGE_REMOVED]", got)
		}
		other := compile(rt, genSchema(rt, "b"), nil)
		if fieldTypeReasons(Check(base, other)) != fieldTypeReasons(Check(other, base)) {
			rt.Fatalf("type changes not symmetric:\n%v\n%v", Check(base, other), Check(other, base))
		}
	})
}

// fieldTypeReasons is the set of kind and type changes in found, as a string.
func fieldTypeReasons(found []Incompatibility) string {
	var out []string
	for _, in := range found {
		switch in.Type {
		case FieldKindChanged, FieldScalarKindChanged, FieldNamedTypeChanged, FieldNumericLabelChanged:
			out = append(out, in.Type+" "+in.Path)
		}
	}
	return strings.Join(out, ",")
}
