package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hamba/avro/v2"
)

func TestCanonicalAvro(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"primitive", ` "string" `, `"string"`},
		{"primitive object form", `{"type": "int"}`, `"int"`},
		{"logical type kept", `{"type":"long","logicalType":"timestamp-millis"}`, `{"type":"long","logicalType":"timestamp-millis"}`},
		{"decimal", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}`, `{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}`},
		{"decimal scale 0 omitted", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":0}`, `{"type":"bytes","logicalType":"decimal","precision":4}`},
		{"unknown logical type kept as property", `{"type":"string","logicalType":"x-ulid"}`, `{"type":"string","logicalType":"x-ulid"}`},
		{"union", `[ "null", {"type":"string"} ]`, `["null","string"]`},
		{
			"record with doc, aliases, defaults, order, props",
			`{"type":"record","name":"User","namespace":"com.x","doc":"A user","aliases":["Person"],"z-prop":{"b":1,"a":[1.50,2]},"a-prop":"x",
			  "fields":[
			    {"name":"id","type":"long","doc":"the id","order":"descending","aliases":["uid"],"x-pii":true},
			    {"name":"name","type":"string","default":"<none> & \"so\""},
			    {"name":"email","type":["null","string"],"default":null},
			    {"name":"age","type":"int","default":-1},
			    {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
			    {"name":"attrs","type":{"type":"map","values":"long"},"default":{"b":2,"a":1}}
			  ]}`,
			`{"name":"com.x.User","aliases":["com.x.Person"],"doc":"A user","type":"record","fields":[` +
				`{"name":"id","aliases":["uid"],"doc":"the id","type":"long","order":"descending","x-pii":true},` +
				`{"name":"name","type":"string","default":"<none> & \"so\""},` +
				`{"name":"email","type":["null","string"],"default":null},` +
				`{"name":"age","type":"int","default":-1},` +
				`{"name":"tags","type":{"type":"array","items":"string"},"default":[]},` +
				`{"name":"attrs","type":{"type":"map","values":"long"},"default":{"a":1,"b":2}}],` +
				`"a-prop":"x","z-prop":{"a":[1.50,2],"b":1}}`,
		},
		{
			// hamba would write the bytes default base64-encoded, the fixed
			// default as an array and the long default rounded to 2^53.
			"defaults kept exactly",
			`{"type":"record","name":"D","fields":[
			    {"name":"b","type":"bytes","default":"\u00ff\u0001"},
			    {"name":"f","type":{"type":"fixed","name":"F2","size":2},"default":"ab"},
			    {"name":"l","type":"long","default":9007199254740993},
			    {"name":"d","type":"double","default":1e300},
			    {"name":"fl","type":"float","default":0.1}]}`,
			`{"name":"D","type":"record","fields":[` +
				`{"name":"b","type":"bytes","default":"ÿ\u0001"},` +
				`{"name":"f","type":{"name":"F2","type":"fixed","size":2},"default":"ab"},` +
				`{"name":"l","type":"long","default":9007199254740993},` +
				`{"name":"d","type":"double","default":1e300},` +
				`{"name":"fl","type":"float","default":0.1}]}`,
		},
		{
			"named types: definitions inline once, then full names",
			`{"type":"record","name":"Order","namespace":"shop","fields":[
			    {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","DONE"],"default":"NEW","doc":"state"}},
			    {"name":"previous","type":["null","Status"],"default":null},
			    {"name":"hash","type":{"type":"fixed","name":"MD5","namespace":"crypto","size":16}},
			    {"name":"other","type":"crypto.MD5"},
			    {"name":"parent","type":["null","Order"]}]}`,
			`{"name":"shop.Order","type":"record","fields":[` +
				`{"name":"status","type":{"name":"shop.Status","doc":"state","type":"enum","symbols":["NEW","DONE"],"default":"NEW"}},` +
				`{"name":"previous","type":["null","shop.Status"],"default":null},` +
				`{"name":"hash","type":{"name":"crypto.MD5","type":"fixed","size":16}},` +
				`{"name":"other","type":"crypto.MD5"},` +
				`{"name":"parent","type":["null","shop.Order"]}]}`,
		},
		{"fixed decimal", `{"type":"fixed","name":"Money","size":8,"logicalType":"decimal","precision":10,"scale":2}`,
			`{"name":"Money","type":"fixed","size":8,"logicalType":"decimal","precision":10,"scale":2}`},
		{"error record", `{"type":"error","name":"Oops","fields":[]}`, `{"name":"Oops","type":"error","fields":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := canonicalize(SchemaTypeAvro, tc.in, nil, testLimits)
			if err != nil {
				t.Fatalf("canonicalize: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("canonical text (-want +got):\n%s", diff)
			}
			// The canonical text is a fixed point and hamba parses it to the
			// same schema.
			again, err := canonicalize(SchemaTypeAvro, got, nil, testLimits)
			if err != nil || again != got {
				t.Errorf("canonicalize(canonical) = %q, %v; want unchanged", again, err)
			}
			a, errA := avro.ParseWithCache(tc.in, "", &avro.SchemaCache{})
			b, errB := avro.ParseWithCache(got, "", &avro.SchemaCache{})
			if errA != nil || errB != nil || a.Fingerprint() != b.Fingerprint() {
				t.Errorf("parsing form differs between input and canonical text (%v, %v)", errA, errB)
			}
		})
	}
}

func TestCanonicalJSONSchema(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"compacted, key order kept", "{\n  \"type\": \"object\",\n  \"properties\": { \"b\": {\"type\": \"string\"}, \"a\": {} },\n  \"required\": [ \"b\" ]\n}",
			`{"type":"object","properties":{"b":{"type":"string"},"a":{}},"required":["b"]}`},
		{"boolean schema", ` true `, `true`},
		{"numbers and escapes verbatim", `{"maximum": 1.50, "description": "\u00e9 <b>"}`, `{"maximum":1.50,"description":"\u00e9 <b>"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := canonicalize(SchemaTypeJSON, tc.in, nil, testLimits)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONSchemaDrafts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		// Without $schema a schema is draft-07, as Confluent reads it.
		{"default is draft-07: tuple items", `{"type":"array","items":[{"type":"string"}],"additionalItems":false}`, true},
		{"default is draft-07: definitions and $ref", `{"definitions":{"a":{"type":"string"}},"$ref":"#/definitions/a"}`, true},
		{"default is draft-07: boolean exclusiveMinimum refused", `{"exclusiveMinimum":true}`, false},
		{"2020-12 refuses tuple items", `{"$schema":"https://json-schema.org/draft/2020-12/schema","items":[{"type":"string"}]}`, false},
		{"2020-12 prefixItems", `{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}]}`, true},
		{"2020-12 rejects boolean exclusiveMinimum", `{"$schema":"https://json-schema.org/draft/2020-12/schema","exclusiveMinimum":true}`, false},
		{"draft-04 accepts boolean exclusiveMinimum", `{"$schema":"http://json-schema.org/draft-04/schema#","minimum":1,"exclusiveMinimum":true}`, true},
		{"draft-04 rejects numeric exclusiveMinimum", `{"$schema":"http://json-schema.org/draft-04/schema#","exclusiveMinimum":1}`, false},
		{"draft-06", `{"$schema":"http://json-schema.org/draft-06/schema#","exclusiveMinimum":1,"const":1}`, true},
		{"draft-07", `{"$schema":"http://json-schema.org/draft-07/schema#","if":{"type":"string"},"then":{"minLength":1}}`, true},
		{"2019-09", `{"$schema":"https://json-schema.org/draft/2019-09/schema","$defs":{"a":{"type":"string"}},"$ref":"#/$defs/a"}`, true},
		{"2020-12 explicit", `{"$schema":"https://json-schema.org/draft/2020-12/schema","$dynamicAnchor":"x","type":"object"}`, true},
		{"unknown metaschema", `{"$schema":"https://example.com/my-meta","type":"string"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := canonicalize(SchemaTypeJSON, tc.in, nil, testLimits)
			if tc.ok != (err == nil) {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidSchema) {
				t.Errorf("err = %v, want ErrInvalidSchema", err)
			}
		})
	}
}

func TestInvalidSchemas(t *testing.T) {
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	tests := []struct {
		name string
		typ  SchemaType
		text string
		want string // the whole message
	}{
		{"avro unknown field type", SchemaTypeAvro, `{"type":"record","name":"User","fields":[{"name":"age","type":"integr"}]}`,
			`invalid AVRO schema: record "User" field "age": unknown type "integr"`},
		{"avro nested unknown type", SchemaTypeAvro, `{"type":"record","name":"User","fields":[{"name":"tags","type":{"type":"array","items":["null",{"type":"map","values":"strng"}]}}]}`,
			`invalid AVRO schema: record "User" field "tags" array items union branch 2 map values: unknown type "strng"`},
		{"avro unknown top-level type", SchemaTypeAvro, `"integr"`, `invalid AVRO schema: unknown type "integr"`},
		{"avro record without fields", SchemaTypeAvro, `{"type":"record","name":"User"}`, `invalid AVRO schema: record "User": "fields" must be an array`},
		{"avro field without type", SchemaTypeAvro, `{"type":"record","name":"User","fields":[{"name":"id"}]}`, `invalid AVRO schema: record "User" field "id": missing "type"`},
		{"avro duplicate field", SchemaTypeAvro, `{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"id","type":"long"}]}`,
			`invalid AVRO schema: record "User": duplicate field name "id"`},
		{"avro bad default", SchemaTypeAvro, `{"type":"record","name":"User","fields":[{"name":"id","type":"int","default":"x"}]}`,
			`invalid AVRO schema: record "User" field "id": default "x" does not match the field's type`},
		{"avro fractional int default", SchemaTypeAvro, `{"type":"record","name":"User","fields":[{"name":"id","type":"int","default":1.5}]}`,
			`invalid AVRO schema: record "User" field "id": default 1.5 is not a valid int`},
		{"avro int default out of range", SchemaTypeAvro, `{"type":"record","name":"User","fields":[{"name":"id","type":"int","default":2147483648}]}`,
			`invalid AVRO schema: record "User" field "id": default 2147483648 is not a valid int`},
		{"avro bad name", SchemaTypeAvro, `{"type":"record","name":"1User","fields":[]}`,
			`invalid AVRO schema: record name "1User" is invalid: each part must match [A-Za-z_][A-Za-z0-9_]*`},
		// Avro Python test_schema.py NAME_EXAMPLES (invalid {"type":"enum","name":"int",...});
		// Avro Java: "Schemas may not be named after primitives".
		{"avro named after a primitive", SchemaTypeAvro, `{"type":"enum","name":"int","symbols":["A","B"]}`,
			`invalid AVRO schema: enum "int": a named type may not be named after the primitive type "int"`},
		{"avro nested type named after a primitive", SchemaTypeAvro, `{"type":"record","name":"R","fields":[{"name":"f","type":{"type":"fixed","name":"long","size":1}}]}`,
			`invalid AVRO schema: record "R" field "f": fixed "long": a named type may not be named after the primitive type "long"`},
		// Issue 18 item 4, from Avro's parse cases: the namespace is what is wrong, not the name.
		{"avro bad namespace", SchemaTypeAvro, `{"type":"record","name":"R","namespace":"a.b$","fields":[]}`,
			`invalid AVRO schema: record "R": namespace "a.b$" is invalid: each part must match [A-Za-z_][A-Za-z0-9_]*`},
		// Avro C schema_tests/pass/namespace_null_fixed with the reference qualified as x.Z: Z is
		// in the null namespace, so x.Z names nothing (Avro refuses it).
		{"avro null namespace type referred to as x.Z", SchemaTypeAvro, `{"type":"record","name":"R","fields":[
			{"name":"s","type":{"type":"record","namespace":"x","name":"Y","fields":[
				{"name":"e","type":{"type":"fixed","namespace":"","name":"Z","size":8}}]}},
			{"name":"t","type":"x.Z"}]}`,
			`invalid AVRO schema: record "R" field "t": unknown type "x.Z"`},
		{"avro duplicate enum symbol", SchemaTypeAvro, `{"type":"enum","name":"E","symbols":["A","A"]}`, `invalid AVRO schema: enum "E": duplicate symbol "A"`},
		{"avro duplicate union branch", SchemaTypeAvro, `["null","null"]`, `invalid AVRO schema: union type must be unique`},
		{"avro attribute in wrong case", SchemaTypeAvro, `{"type":"record","name":"A","fields":[{"name":"b","type":"long","Default":1}]}`,
			`invalid AVRO schema: at "/fields/0/Default": attribute "Default" must be spelled "default" (Avro attribute names are case-sensitive)`},
		{"avro parser panic is a refusal", SchemaTypeAvro, `{"type":"record","name":"A","fields":[{"name":"a","type":"A","default":{}}]}`,
			`invalid AVRO schema: the parser failed on this schema`},
		{"avro not json", SchemaTypeAvro, `record User { int id; }`, "invalid AVRO schema: not valid JSON at byte offset 1: invalid character 'r' looking for beginning of value"},
		{"json bad type", SchemaTypeJSON, `{"type":"object","properties":{"a":{"type":"strin"}}}`,
			`invalid JSON schema: at "/properties/a/type": value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'`},
		{"json bad keyword value", SchemaTypeJSON, `{"properties":{"b":{"minLength":-1}}}`, `invalid JSON schema: at "/properties/b/minLength": minimum: got -1, want 0`},
		{"json missing pointer", SchemaTypeJSON, `{"$ref":"#/definitions/nope"}`, `invalid JSON schema: json-pointer in "#/definitions/nope" not found`},
		{"json unknown reference", SchemaTypeJSON, `{"$ref":"other.json"}`,
			`invalid JSON schema: cannot resolve "other.json": it is neither a standard JSON Schema draft nor the name of one of the schema's references`},
		{"json never reads files", SchemaTypeJSON, `{"$ref":"file:///etc/passwd"}`,
			`invalid JSON schema: cannot resolve "file:///etc/passwd": it is neither a standard JSON Schema draft nor the name of one of the schema's references`},
		{"json not json", SchemaTypeJSON, `{"type":}`, "invalid JSON schema: not valid JSON at byte offset 9: invalid character '}' looking for beginning of value"},
		{"json too deep", SchemaTypeJSON, deep, "invalid JSON schema: JSON nesting is deeper than the limit of 128"},
		{"avro too deep", SchemaTypeAvro, deep, "invalid AVRO schema: JSON nesting is deeper than the limit of 128"},
		{"too large", SchemaTypeJSON, `"` + strings.Repeat("x", DefaultMaxSchemaBytes) + `"`, "invalid JSON schema: text is 1048578 bytes, the limit is 1048576"},
		{"not utf8", SchemaTypeJSON, "\"\xff\"", "invalid JSON schema: text is not valid UTF-8"},
		{"empty", SchemaTypeAvro, ``, "invalid AVRO schema: not valid JSON at byte offset 0: unexpected end of JSON input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			r, _ := newTestRegistry(t)
			_, err := r.Register(ctx, "s", SchemaInput{Type: tc.typ, Text: tc.text})
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("err = %v, want ErrInvalidSchema", err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			// Nothing was stored: no subject, and the next ID is still 1.
			if subjects, err := r.Subjects(ctx, "", true); err != nil || len(subjects) != 0 {
				t.Errorf("Subjects = %v, %v; want none", subjects, err)
			}
			if sv := mustRegister(t, r, "s", avroIn(`"string"`)); sv.Schema.ID != 1 {
				t.Errorf("next ID = %d, want 1", sv.Schema.ID)
			}
		})
	}
}

func TestSchemaLimitsConfigurable(t *testing.T) {
	r, _ := newTestRegistry(t)
	r.lim = limits{maxBytes: 20, maxDepth: 2}
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{`["null","string"]`, true},
		{`["null","string","long"]`, false}, // 26 bytes
		{`[{"type":"int"}]`, true},          // depth 2
		{`[{"type":["int"]}]`, false},       // depth 3
	} {
		_, err := r.Register(t.Context(), "s-"+tc.text, avroIn(tc.text))
		if tc.ok != (err == nil) {
			t.Errorf("Register(%s) err = %v, want ok %v", tc.text, err, tc.ok)
		}
	}
}

func TestJSONDepth(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{`1`, 0},
		{`{}`, 1},
		{`{"a":[{"b":[]}]}`, 4},
		{`{"a":"[[[[{{{"}`, 1},
		{`{"a":"\"[[["}`, 1},
		{`[[],[[]]]`, 3},
	}
	for _, tc := range tests {
		if got := jsonDepth(tc.in, 100); got != tc.want {
			t.Errorf("jsonDepth(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	base := fingerprint(SchemaTypeAvro, `"string"`, nil)
	others := []string{
		fingerprint(SchemaTypeJSON, `"string"`, nil),
		fingerprint(SchemaTypeAvro, `"int"`, nil),
		fingerprint(SchemaTypeAvro, `"string"`, []Reference{{Name: "a", Subject: "s", Version: 1}}),
		fingerprint(SchemaTypeAvro, `"string"`, []Reference{{Name: "a", Subject: "s", Version: 2}}),
		fingerprint(SchemaTypeAvro, `"string"`, []Reference{{Name: "as", Subject: "", Version: 1}}),
	}
	seen := map[string]bool{base: true}
	for i, fp := range others {
		if seen[fp] {
			t.Errorf("fingerprint %d collides", i)
		}
		seen[fp] = true
	}
	if base != fingerprint(SchemaTypeAvro, `"string"`, nil) {
		t.Error("fingerprint not deterministic")
	}
}

// nullNamespaceSchema is shaped as Avro C's schema_tests/pass/namespace_null_* schemas: a
// record Y in namespace x defines a type (def, there with "namespace": "", the null
// namespace), and the outer record, itself in the null namespace, refers to it as ref.
func nullNamespaceSchema(def, ref string) string {
	return `{"type": "record", "name": "R", "fields": [
		{"name": "s", "type": {"type": "record", "namespace": "x", "name": "Y", "fields": [
			{"name": "e", "type": ` + def + `}]}},
		{"name": "t", "type": "` + ref + `"}]}`
}

// TestAvroNames pins how named types are named: the full names hamba's parsed form has after
// registration (what validation and compatibility use), and the canonical text, which must
// register again as the same schema.
func TestAvroNames(t *testing.T) {
	nullZ := func(def string) string {
		return `{"name":"R","type":"record","fields":[{"name":"s","type":{"name":"x.Y","type":"record","fields":[` +
			`{"name":"e","type":` + def + `}]}},{"name":"t","type":"Z"}]}`
	}
	tests := []struct {
		name      string
		in        string
		wantNames []string
		want      string // canonical text
	}{
		{
			// Avro C schema_tests/pass/namespace_null_enum.
			name:      "namespace_null_enum",
			in:        nullNamespaceSchema(`{"type": "enum", "namespace": "", "name": "Z", "symbols": ["Foo", "Bar"]}`, "Z"),
			wantNames: []string{"R", "x.Y", "Z"},
			want:      nullZ(`{"name":"Z","namespace":"","type":"enum","symbols":["Foo","Bar"]}`),
		},
		{
			// Avro C schema_tests/pass/namespace_null_fixed.
			name:      "namespace_null_fixed",
			in:        nullNamespaceSchema(`{"type": "fixed", "namespace": "", "name": "Z", "size": 8}`, "Z"),
			wantNames: []string{"R", "x.Y", "Z"},
			want:      nullZ(`{"name":"Z","namespace":"","type":"fixed","size":8}`),
		},
		{
			// Avro C schema_tests/pass/namespace_null_record: Z's own field refers to Z, in
			// Z's (null) namespace.
			name: "namespace_null_record",
			in: nullNamespaceSchema(`{"type": "record", "namespace": "", "name": "Z", "fields": [
				{"name": "f", "type": ["null", "Z"]}]}`, "Z"),
			wantNames: []string{"R", "x.Y", "Z"},
			want:      nullZ(`{"name":"Z","namespace":"","type":"record","fields":[{"name":"f","type":["null","Z"]}]}`),
		},
		{
			// Relative aliases of a null-namespace type stay in the null namespace.
			name: "null namespace aliases",
			in: `{"type":"record","name":"R","namespace":"x","fields":[
				{"name":"e","type":{"type":"enum","namespace":"","name":"Z","aliases":["Old"],"symbols":["A"]}}]}`,
			wantNames: []string{"x.R", "Z"},
			want:      `{"name":"x.R","type":"record","fields":[{"name":"e","type":{"name":"Z","namespace":"","aliases":["Old"],"type":"enum","symbols":["A"]}}]}`,
		},
		{
			// Without "namespace", a nested type still takes the enclosing namespace.
			name:      "inherited namespace",
			in:        `{"type":"record","name":"R","namespace":"x","fields":[{"name":"e","type":{"type":"enum","name":"Z","symbols":["A"]}}]}`,
			wantNames: []string{"x.R", "x.Z"},
			want:      `{"name":"x.R","type":"record","fields":[{"name":"e","type":{"name":"x.Z","type":"enum","symbols":["A"]}}]}`,
		},
		{
			// Avro Python test_schema.py NAME_EXAMPLES: a primitive name is fine in a namespace.
			name:      "primitive name in a namespace",
			in:        `{"type":"enum","namespace":"ns","name":"int","symbols":["A","B"]}`,
			wantNames: []string{"ns.int"},
			want:      `{"name":"ns.int","type":"enum","symbols":["A","B"]}`,
		},
		{
			// Avro Python test_schema.py NAME_EXAMPLES: and so is a qualified one.
			name: "qualified primitive name referring to itself",
			in: `{"type":"record","name":"ns.int","fields":[{"name":"value","type":"int"},
				{"name":"next","type":["null","ns.int"]}]}`,
			wantNames: []string{"ns.int"},
			want:      `{"name":"ns.int","type":"record","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","ns.int"]}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			r, _ := newTestRegistry(t)
			sv := mustRegister(t, r, "s", avroIn(tc.in))
			if diff := cmp.Diff(tc.want, sv.Schema.Text); diff != "" {
				t.Errorf("canonical text (-want +got):\n%s", diff)
			}
			res, err := r.Resolved(ctx, sv.Schema.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantNames, avroNamedTypes(res.Avro)); diff != "" {
				t.Errorf("full names after registration (-want +got):\n%s", diff)
			}
			again := mustRegister(t, r, "s", avroIn(sv.Schema.Text))
			if again.Schema.ID != sv.Schema.ID || again.Version != sv.Version {
				t.Errorf("canonical text registers as ID %d version %d; want ID %d version %d",
					again.Schema.ID, again.Version, sv.Schema.ID, sv.Version)
			}
		})
	}
}

// avroNamedTypes lists the full names of the named types in s, in document order.
func avroNamedTypes(s avro.Schema) []string {
	var names []string
	seen := map[string]bool{}
	var walk func(avro.Schema)
	walk = func(s avro.Schema) {
		switch s := s.(type) {
		case *avro.RefSchema:
			walk(s.Schema())
		case avro.NamedSchema:
			if seen[s.FullName()] {
				return
			}
			seen[s.FullName()] = true
			names = append(names, s.FullName())
			if rec, ok := s.(*avro.RecordSchema); ok {
				for _, f := range rec.Fields() {
					walk(f.Type())
				}
			}
		case *avro.UnionSchema:
			for _, b := range s.Types() {
				walk(b)
			}
		case *avro.ArraySchema:
			walk(s.Items())
		case *avro.MapSchema:
			walk(s.Values())
		}
	}
	walk(s)
	return names
}
