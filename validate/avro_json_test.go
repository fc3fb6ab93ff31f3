package validate_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/validate"
)

const ajSchema = `{"type":"record","name":"Order","namespace":"shop","fields":[
 {"name":"id","type":"long"},
 {"name":"qty","type":"int"},
 {"name":"price","type":"double"},
 {"name":"ratio","type":"float"},
 {"name":"paid","type":"boolean"},
 {"name":"none","type":"null"},
 {"name":"note","type":["null","string"]},
 {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
 {"name":"hash","type":{"type":"fixed","name":"Hash","size":4}},
 {"name":"blob","type":"bytes"},
 {"name":"tags","type":{"type":"map","values":"string"}},
 {"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","fields":[
   {"name":"sku","type":"string"},{"name":"n","type":"int"}]}}},
 {"name":"extra","type":["null","int",{"type":"long","logicalType":"timestamp-millis"},"Item","Status",
   {"type":"array","items":"string"},{"type":"map","values":"long"}]}
]}`

// ajFields is a valid document for ajSchema, field by field, in schema order.
var ajFields = [][2]string{
	{"id", `1`}, {"qty", `2`}, {"price", `9.5`}, {"ratio", `0.25`}, {"paid", `true`}, {"none", `null`},
	{"note", `{"string": "hi"}`}, {"status", `"NEW"`}, {"hash", `"ab\u00ff\u0000"`}, {"blob", `"\u00e9\u0000"`},
	{"tags", `{"a/b": "x"}`}, {"items", `[{"sku": "A", "n": 1}]`}, {"extra", `{"shop.Item": {"sku": "B", "n": 2}}`},
}

// ajDoc renders the valid document with some fields replaced by raw JSON ("" drops a field),
// and extra raw members appended.
func ajDoc(replace map[string]string, extra ...string) string {
	var members []string
	for _, f := range ajFields {
		raw, ok := replace[f[0]]
		if !ok {
			raw = f[1]
		}
		if raw != "" {
			members = append(members, fmt.Sprintf("%q: %s", f[0], raw))
		}
	}
	return "{" + strings.Join(append(members, extra...), ", ") + "}"
}

func ajDecode(tb testing.TB, text string) any {
	tb.Helper()
	v, err := validate.DecodeJSONPayload([]byte(text), validate.Limits{})
	if err != nil {
		tb.Fatalf("decode %s: %v", text, err)
	}
	return v
}

func TestValidateAvroJSON(t *testing.T) {
	s := abParse(t, ajSchema)
	f := func(kind validate.Kind, path, msg string) validate.Finding {
		return validate.Finding{Kind: kind, Path: path, Message: msg}
	}
	type r = map[string]string
	tests := []struct {
		name string
		doc  string
		want []validate.Finding
	}{
		{"valid", ajDoc(nil), nil},
		{"valid null union", ajDoc(r{"note": `null`, "extra": `null`}), nil},
		{"valid int branch", ajDoc(r{"extra": `{"int": -5}`}), nil},
		{"valid logical long branch named long", ajDoc(r{"extra": `{"long": 1700000000000}`}), nil},
		{"valid enum branch", ajDoc(r{"extra": `{"shop.Status": "PAID"}`}), nil},
		{"valid array branch", ajDoc(r{"extra": `{"array": ["a", "b"]}`}), nil},
		{"valid map branch", ajDoc(r{"extra": `{"map": {"k": 1}}`}), nil},
		{"valid extremes", ajDoc(r{"id": `-9223372036854775808`, "qty": `2147483647`, "price": `-1.7976931348623157e308`, "ratio": `3.4e38`}), nil},
		{"valid float specials", ajDoc(r{"price": `"NaN"`, "ratio": `"-Infinity"`}), nil},
		{"valid empty collections", ajDoc(r{"tags": `{}`, "items": `[]`, "blob": `""`}), nil},

		{"long as string", ajDoc(r{"id": `"1"`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/id", "expected long (an integer), got a string")}},
		{"long with fraction", ajDoc(r{"id": `1.5`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/id", "expected long (an integer without fraction or exponent), got 1.5")}},
		{"long out of range", ajDoc(r{"id": `9223372036854775808`}), []validate.Finding{
			f(validate.KindConstraintViolation, "/id", "9223372036854775808 is out of range for long (64 bits)")}},
		{"int out of range", ajDoc(r{"qty": `-2147483649`}), []validate.Finding{
			f(validate.KindConstraintViolation, "/qty", "-2147483649 is out of range for int (32 bits)")}},
		{"int with exponent", ajDoc(r{"qty": `1e3`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/qty", "got 1e3")}},
		{"double as other string", ajDoc(r{"price": `"9.5"`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/price", `got string "9.5"`)}},
		{"float out of range", ajDoc(r{"ratio": `1e39`}), []validate.Finding{
			f(validate.KindConstraintViolation, "/ratio", "1e39 is out of range for float")}},
		{"double out of range", ajDoc(r{"price": `1e400`}), []validate.Finding{
			f(validate.KindConstraintViolation, "/price", "1e400 is out of range for double")}},
		{"boolean as string", ajDoc(r{"paid": `"true"`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/paid", "expected a boolean, got a string")}},
		{"null field not null", ajDoc(r{"none": `0`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/none", "expected null, got number 0")}},
		{"bare union value", ajDoc(r{"note": `"hi"`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/note", `expected a union value of ["null", "string"]: null or an object with one key naming the branch, got a string`)}},
		{"null branch as object", ajDoc(r{"note": `{"null": null}`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/note", "the null branch of a union is written as JSON null")}},
		{"union object with two keys", ajDoc(r{"note": `{"string": "a", "int": 1}`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/note", "got an object with 2 keys")}},
		{"union branch value wrong", ajDoc(r{"note": `{"string": 5}`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/note/string", "expected a string, got number 5")}},
		{"union branch by short name", ajDoc(r{"extra": `{"Item": {"sku": "B", "n": 2}}`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/extra", `"Item" is not a branch of union ["null", "int", "long", "shop.Item", "shop.Status", "array", "map"]`)}},
		{"union branch by logical name", ajDoc(r{"extra": `{"long.timestamp-millis": 1}`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/extra", `"long.timestamp-millis" is not a branch`)}},
		{"null for union without null", ajDoc(r{"note": `{"string": "x"}`, "extra": `{"shop.Item": null}`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/extra/shop.Item", "expected record shop.Item (a JSON object), got null")}},
		{"record in union missing field", ajDoc(r{"extra": `{"shop.Item": {"sku": "B"}}`}), []validate.Finding{
			f(validate.KindMissingField, "/extra/shop.Item/n", `field "n" of record shop.Item is missing`)}},
		{"enum symbol unknown", ajDoc(r{"status": `"DONE"`}), []validate.Finding{
			f(validate.KindEnumViolation, "/status", `"DONE" is not a symbol of enum shop.Status ("NEW", "PAID")`)}},
		{"enum not a string", ajDoc(r{"status": `1`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/status", "expected a symbol of enum shop.Status, got number 1")}},
		{"fixed too short", ajDoc(r{"hash": `"abc"`}), []validate.Finding{
			f(validate.KindConstraintViolation, "/hash", "fixed shop.Hash holds 4 bytes, got 3")}},
		{"fixed above U+00FF", ajDoc(r{"hash": `"ab\u20acd"`}), []validate.Finding{
			f(validate.KindConstraintViolation, "/hash", "character 2 is U+20AC")}},
		{"bytes above U+00FF", ajDoc(r{"blob": `"\u0100"`}), []validate.Finding{
			f(validate.KindConstraintViolation, "/blob", "bytes is written one character per byte, U+0000 to U+00FF; character 0 is U+0100")}},
		{"bytes as array", ajDoc(r{"blob": `[1]`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/blob", "expected bytes (a string), got an array")}},
		{"map value wrong, key escaped", ajDoc(r{"tags": `{"a/b": 1, "c~d": "ok", "e": true}`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/tags/a~1b", "expected a string, got number 1"),
			f(validate.KindTypeMismatch, "/tags/e", "expected a string, got a boolean")}},
		{"map as array", ajDoc(r{"tags": `[]`}), []validate.Finding{
			f(validate.KindTypeMismatch, "/tags", "expected a map (JSON object), got an array")}},
		{"array items", ajDoc(r{"items": `[{"sku": "A", "n": 1, "x": 2}, {"n": "1"}, 7]`}), []validate.Finding{
			f(validate.KindUnknownField, "/items/0/x", `record shop.Item has no field "x"`),
			f(validate.KindMissingField, "/items/1/sku", `field "sku" of record shop.Item is missing`),
			f(validate.KindTypeMismatch, "/items/1/n", "expected int (an integer), got a string"),
			f(validate.KindTypeMismatch, "/items/2", "expected record shop.Item (a JSON object), got number 7")}},
		{"missing and unknown fields", ajDoc(r{"id": "", "paid": ""}, `"zz~": 1`, `"aa": 2`), []validate.Finding{
			f(validate.KindMissingField, "/id", `field "id" of record shop.Order is missing (Avro JSON does not imply defaults)`),
			f(validate.KindMissingField, "/paid", `field "paid"`),
			f(validate.KindUnknownField, "/aa", `record shop.Order has no field "aa"`),
			f(validate.KindUnknownField, "/zz~0", `record shop.Order has no field "zz~"`)}},
		{"not an object", `[1]`, []validate.Finding{
			f(validate.KindTypeMismatch, "", "expected record shop.Order (a JSON object), got an array")}},
		{"long text clipped in message", ajDoc(r{"status": `"` + strings.Repeat("x", 500) + `"`}), []validate.Finding{
			f(validate.KindEnumViolation, "/status", `"`+strings.Repeat("x", 64)+`…" is not a symbol`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := validate.ValidateAvroJSON(s, ajDecode(t, tc.doc), validate.Limits{})
			if diff := abDiff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.doc, diff)
			}
		})
	}
}

func TestValidateAvroJSONMaxFindings(t *testing.T) {
	s := abParse(t, `{"type":"array","items":"int"}`)
	v := ajDecode(t, `["a", "b", "c", "d", "e"]`)
	got := validate.ValidateAvroJSON(s, v, validate.Limits{MaxFindings: 3})
	paths := make([]string, len(got))
	for i, f := range got {
		paths[i] = f.Path
	}
	if diff := cmp.Diff([]string{"/0", "/1", "/2"}, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if got := validate.ValidateAvroJSON(s, v, validate.Limits{}); len(got) != 5 {
		t.Errorf("default limit: got %d findings, want 5", len(got))
	}
}

func TestValidateAvroJSONDepth(t *testing.T) {
	s := abParse(t, abLinkedList)
	// Node k is at JSON depth 2k-1: its object, inside the union object of the node before.
	list := func(n int) string {
		doc := `{"value": 0, "next": null}`
		for range n - 1 {
			doc = `{"value": 0, "next": {"Node": ` + doc + `}}`
		}
		return doc
	}
	tests := []struct {
		nodes, maxDepth int
		want            []validate.Finding
	}{
		{nodes: 5, maxDepth: 9},
		{nodes: 5, maxDepth: 8, want: []validate.Finding{{Kind: validate.KindDecodeError,
			Path: "/next/Node/next/Node/next/Node/next/Node", Message: "value nested deeper than the limit of 8"}}},
		{nodes: 5, maxDepth: 7, want: []validate.Finding{{Kind: validate.KindDecodeError,
			Path: "/next/Node/next/Node/next/Node/next", Message: "value nested deeper than the limit of 7"}}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d nodes, max depth %d", tc.nodes, tc.maxDepth), func(t *testing.T) {
			got := validate.ValidateAvroJSON(s, ajDecode(t, list(tc.nodes)), validate.Limits{MaxDepth: tc.maxDepth})
			if diff := abDiff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidateAvroJSONAgreesWithBinary: a value encoded by avro.Marshal validates in binary,
// and its Avro JSON form (written here by hand) validates too, at the same depth limit.
func TestValidateAvroJSONAgreesWithBinary(t *testing.T) {
	s := abParse(t, abLinkedList)
	data := abMarshal(t, s, map[string]any{"value": 1, "next": map[string]any{"Node": map[string]any{"value": 2, "next": nil}}})
	doc := ajDecode(t, `{"value": 1, "next": {"Node": {"value": 2, "next": null}}}`)
	for _, depth := range []int{2, 3} {
		lim := validate.Limits{MaxDepth: depth}
		bin, js := validate.ValidateAvroBinary(s, data, lim), validate.ValidateAvroJSON(s, doc, lim)
		if (bin == nil) != (js == nil) {
			t.Errorf("max depth %d: binary %v, JSON %v; want the same verdict", depth, bin, js)
		}
	}
}

func TestValidateAvroJSONOddInputs(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		v      any
		want   []validate.Finding
	}{
		{"float64 numbers accepted", `{"type":"array","items":"int"}`, []any{1.0, float64(-2147483648)}, nil},
		{"float64 fraction", `"long"`, 1.5, []validate.Finding{{Kind: validate.KindTypeMismatch, Message: "expected long (an integer), got 1.5"}}},
		{"float64 out of int range", `"int"`, 4294967296.0, []validate.Finding{{Kind: validate.KindConstraintViolation, Message: "4.294967296e+09 is out of range for int"}}},
		{"float64 out of float range", `"float"`, 1e300, []validate.Finding{{Kind: validate.KindConstraintViolation, Message: "out of range for float"}}},
		{"Go value that is not JSON", `"string"`, 42, []validate.Finding{{Kind: validate.KindTypeMismatch, Message: "got a int, which is not a decoded JSON value"}}},
		{"malformed json.Number", `"double"`, json.Number("x"), []validate.Finding{{Kind: validate.KindTypeMismatch, Message: `expected double, got "x"`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := validate.ValidateAvroJSON(abParse(t, tc.schema), tc.v, validate.Limits{})
			if diff := abDiff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := validate.ValidateAvroJSON(nil, nil, validate.Limits{}); len(got) != 1 || got[0].Kind != validate.KindOther {
		t.Errorf("nil schema: got %v, want one finding of kind other", got)
	}
}

// FuzzAvroJSON feeds arbitrary JSON text to ValidateAvroJSON under a fixed schema, to see if
// it can be made to panic, and checks that findings are capped, classified, addressed by a
// JSON pointer, and the same on every run.
func FuzzAvroJSON(f *testing.F) {
	s := abParse(f, ajSchema)
	for _, doc := range []string{
		ajDoc(nil),
		ajDoc(map[string]string{"id": `"x"`, "note": `{"null": null}`, "extra": `{"Item": 1}`}),
		ajDoc(map[string]string{"items": `[{}, [], null]`, "tags": `{"~/": []}`}, `"more": {}`),
		`[]`, `null`, `{"id": 1e999, "qty": -0, "price": "Infinity", "hash": "\u00ff\u00ff\u00ff\u00ff"}`,
	} {
		f.Add([]byte(doc))
	}
	lim := validate.Limits{MaxFindings: 7, MaxDepth: 16}
	kinds := validate.Kinds()
	f.Fuzz(func(t *testing.T, text []byte) {
		v, err := validate.DecodeJSONPayload(text, lim)
		if err != nil {
			return
		}
		got := validate.ValidateAvroJSON(s, v, lim)
		if len(got) > lim.MaxFindings {
			t.Fatalf("%d findings, limit %d", len(got), lim.MaxFindings)
		}
		for _, f := range got {
			if !slices.Contains(kinds, f.Kind) || f.Message == "" || (f.Path != "" && f.Path[0] != '/') {
				t.Fatalf("malformed finding %+v", f)
			}
		}
		if again := validate.ValidateAvroJSON(s, v, lim); !cmp.Equal(got, again) {
			t.Fatalf("findings differ between runs:\n%s", cmp.Diff(got, again))
		}
	})
}
