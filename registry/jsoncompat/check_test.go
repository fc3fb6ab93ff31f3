package jsoncompat

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func decode(t testing.TB, text string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", text, err)
	}
	return v
}

func schema(t testing.TB, text string, refs map[string]string) Schema {
	t.Helper()
	s := Schema{Root: decode(t, text)}
	if len(refs) > 0 {
		s.Refs = map[string]any{}
		for k, v := range refs {
			s.Refs[k] = decode(t, v)
		}
	}
	return s
}

func TestVectors(t *testing.T) {
	if len(vectors) < 70 {
		t.Fatalf("only %d vectors, want at least 70", len(vectors))
	}
	for _, tc := range vectors {
		t.Run(tc.name, func(t *testing.T) {
			oldS := schema(t, tc.old, tc.oldRefs)
			newS := schema(t, tc.new, tc.newRefs)
			back := Check(newS, oldS)
			fwd := Check(oldS, newS)
			if got := len(back) == 0; got != tc.backward {
				t.Errorf("BACKWARD = %v, want %v (rule: %s)\nincompatibilities: %+v", got, tc.backward, tc.rule, back)
			}
			if got := len(fwd) == 0; got != tc.forward {
				t.Errorf("FORWARD = %v, want %v (rule: %s)\nincompatibilities: %+v", got, tc.forward, tc.rule, fwd)
			}
		})
	}
}

func TestConservativeVectors(t *testing.T) {
	for _, tc := range conservativeVectors {
		t.Run(tc.name, func(t *testing.T) {
			oldS, newS := schema(t, tc.old, nil), schema(t, tc.new, nil)
			back, fwd := Check(newS, oldS), Check(oldS, newS)
			if got := len(back) == 0; got != tc.backward {
				t.Errorf("BACKWARD = %v, want %v (rule: %s)\nincompatibilities: %+v", got, tc.backward, tc.rule, back)
			}
			if got := len(fwd) == 0; got != tc.forward {
				t.Errorf("FORWARD = %v, want %v (rule: %s)\nincompatibilities: %+v", got, tc.forward, tc.rule, fwd)
			}
		})
	}
}

// typePath is the part of an Incompatibility the registry and clients key on.
type typePath struct{ Type, Path string }

func typePaths(in []Incompatibility) []typePath {
	out := make([]typePath, len(in))
	for i, x := range in {
		out[i] = typePath{x.Type, x.Path}
	}
	return out
}

func TestCheckTypesAndPaths(t *testing.T) {
	tests := []struct {
		name           string
		reader, writer string
		want           []typePath
	}{
		{
			name:   "property added to open content model",
			writer: `{"type":"object","properties":{"a":{"type":"string"}}}`,
			reader: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}}`,
			want:   []typePath{{"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "#/properties/b"}},
		},
		{
			name:   "property removed from closed content model",
			writer: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":false}`,
			reader: `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
			want:   []typePath{{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/properties/b"}},
		},
		{
			name:   "required property added to closed content model",
			writer: `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
			reader: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["b"],"additionalProperties":false}`,
			want:   []typePath{{"REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/b"}},
		},
		{
			name:   "added property not covered by partially open model",
			writer: `{"type":"object","additionalProperties":{"type":"string"}}`,
			reader: `{"type":"object","properties":{"b":{"type":"integer"}},"additionalProperties":{"type":"string"}}`,
			want:   []typePath{{"PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "#/properties/b"}},
		},
		{
			name:   "required attribute added",
			writer: `{"type":"object","properties":{"b":{"type":"string"}}}`,
			reader: `{"type":"object","properties":{"b":{"type":"string"}},"required":["b"]}`,
			want:   []typePath{{"REQUIRED_ATTRIBUTE_ADDED", "#/required/b"}},
		},
		{
			name:   "additionalProperties removed",
			writer: `{"type":"object"}`,
			reader: `{"type":"object","additionalProperties":false}`,
			want:   []typePath{{"ADDITIONAL_PROPERTIES_REMOVED", "#/additionalProperties"}},
		},
		{
			name:   "type narrowed in a property",
			writer: `{"type":"object","properties":{"age":{"type":"number"}}}`,
			reader: `{"type":"object","properties":{"age":{"type":"integer"}}}`,
			want:   []typePath{{"TYPE_NARROWED", "#/properties/age"}},
		},
		{
			name:   "type changed in a property",
			writer: `{"type":"object","properties":{"a":{"type":"string"}}}`,
			reader: `{"type":"object","properties":{"a":{"type":"boolean"}}}`,
			want:   []typePath{{"TYPE_CHANGED", "#/properties/a"}},
		},
		{
			name:   "maxLength decreased",
			writer: `{"type":"object","properties":{"name":{"type":"string","maxLength":10}}}`,
			reader: `{"type":"object","properties":{"name":{"type":"string","maxLength":5}}}`,
			want:   []typePath{{"MAX_LENGTH_DECREASED", "#/properties/name/maxLength"}},
		},
		{
			name:   "minimum added",
			writer: `{"type":"number"}`,
			reader: `{"type":"number","minimum":0}`,
			want:   []typePath{{"MINIMUM_ADDED", "#/minimum"}},
		},
		{
			name:   "enum narrowed",
			writer: `{"type":"string","enum":["a","b","c"]}`,
			reader: `{"type":"string","enum":["a","b"]}`,
			want:   []typePath{{"ENUM_ARRAY_NARROWED", "#/enum"}},
		},
		{
			name:   "const changed",
			writer: `{"const":"a"}`,
			reader: `{"const":"b"}`,
			want:   []typePath{{"ENUM_ARRAY_CHANGED", "#/const"}},
		},
		{
			name:   "item added to open tuple",
			writer: `{"type":"array","prefixItems":[{"type":"string"}]}`,
			reader: `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]}`,
			want:   []typePath{{"ITEM_ADDED_TO_OPEN_CONTENT_MODEL", "#/prefixItems/1"}},
		},
		{
			name:   "oneOf narrowed",
			writer: `{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]}`,
			reader: `{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
			want:   []typePath{{"SUM_TYPE_NARROWED", "#"}},
		},
		{
			name:   "anyOf subschemas changed",
			writer: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
			reader: `{"anyOf":[{"type":"string"},{"type":"boolean"}]}`,
			want:   []typePath{{"COMBINED_TYPE_SUBSCHEMAS_CHANGED", "#"}},
		},
		{
			name:   "not extended",
			writer: `{"type":"string","not":{"enum":["a"]}}`,
			reader: `{"type":"string","not":{"enum":["a","b"]}}`,
			want:   []typePath{{"NOT_TYPE_EXTENDED", "#/not"}},
		},
		{
			name:   "allOf subschema added",
			writer: `{"allOf":[{"type":"string","maxLength":10},{"type":"string","minLength":1}]}`,
			reader: `{"allOf":[{"type":"string","maxLength":10},{"type":"string","minLength":1},{"type":"string","pattern":"^a"}]}`,
			want: []typePath{
				{"PATTERN_ADDED", "#/allOf/2/pattern"},
				{"PRODUCT_TYPE_EXTENDED", "#/allOf"},
			},
		},
		{
			name:   "property name escaped in the pointer",
			writer: `{"type":"object","properties":{"a/b~c":{"type":"string"}}}`,
			reader: `{"type":"object","properties":{"a/b~c":{"type":"integer"}}}`,
			want:   []typePath{{"TYPE_CHANGED", "#/properties/a~1b~0c"}},
		},
		{
			name:   "difference inside a followed $ref",
			writer: `{"$defs":{"s":{"type":"string","maxLength":10}},"type":"object","properties":{"a":{"$ref":"#/$defs/s"}}}`,
			reader: `{"$defs":{"s":{"type":"string","maxLength":5}},"type":"object","properties":{"a":{"$ref":"#/$defs/s"}}}`,
			want:   []typePath{{"MAX_LENGTH_DECREASED", "#/properties/a/maxLength"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(schema(t, tc.reader, nil), schema(t, tc.writer, nil))
			if diff := cmp.Diff(tc.want, typePaths(got)); diff != "" {
				t.Errorf("Check() mismatch (-want +got):\n%s\nfull: %+v", diff, got)
			}
			for _, x := range got {
				if x.Description == "" {
					t.Errorf("%s at %s has no description", x.Type, x.Path)
				}
			}
		})
	}
}

func TestIdenticalSchemasAreCompatible(t *testing.T) {
	var docs []Schema
	for _, tc := range vectors {
		docs = append(docs, schema(t, tc.old, tc.oldRefs), schema(t, tc.new, tc.newRefs))
	}
	docs = append(docs,
		schema(t, `{"$ref":"#"}`, nil),
		schema(t, `{"$ref":"nowhere.json#/x"}`, nil),
		schema(t, `{"allOf":[{"$ref":"#"}],"type":"object","if":{"type":"string"}}`, nil),
		schema(t, `42`, nil),
		schema(t, `{"type":"strin","minLength":-1,"properties":7}`, nil),
	)
	for i, s := range docs {
		if got := Check(s, s); len(got) != 0 {
			t.Errorf("doc %d: Check(s, s) = %+v, want none", i, got)
		}
	}
}

// Two documents equal in content but distinct in memory must also be compatible, through
// the structural comparison rather than the identity shortcut (here the refs differ).
func TestEqualSchemasWithDifferentRefsAreCompatible(t *testing.T) {
	for _, tc := range vectors {
		if strings.Contains(tc.old, "missing.json") || strings.Contains(tc.old, `"if"`) || strings.Contains(tc.new, `"if"`) {
			continue // conservative by design
		}
		for _, text := range []string{tc.old, tc.new} {
			a := schema(t, text, tc.oldRefs)
			if text == tc.new {
				a = schema(t, text, tc.newRefs)
			}
			b := a
			b.Refs = map[string]any{"unrelated.json": true}
			for k, v := range a.Refs {
				b.Refs[k] = v
			}
			if got := Check(a, b); len(got) != 0 {
				t.Errorf("%s: Check(a, a') = %+v, want none\n%s", tc.name, got, text)
			}
		}
	}
}

func TestCyclicReferencesTerminate(t *testing.T) {
	a := `{"type":"object","properties":{"b":{"$ref":"b.json"},"n":{"type":"integer"}}}`
	b := `{"type":"object","properties":{"a":{"$ref":"a.json"},"s":{"type":"string","maxLength":%d}}}`
	refs := func(n int) map[string]string {
		return map[string]string{"a.json": a, "b.json": fmt.Sprintf(b, n)}
	}
	done := make(chan []Incompatibility)
	go func() {
		done <- Check(schema(t, a, refs(5)), schema(t, a, refs(10)))
	}()
	select {
	case got := <-done:
		if diff := cmp.Diff([]typePath{{"MAX_LENGTH_DECREASED", "#/properties/b/properties/s/maxLength"}}, typePaths(got)); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Check did not terminate on mutually recursive references")
	}
}

func TestDeepAndWideInputsAreBounded(t *testing.T) {
	// Deep nesting: conservatively incompatible rather than a stack overflow.
	deep := strings.Repeat(`{"type":"array","items":`, 500) + `{"type":"string"}` + strings.Repeat(`}`, 500)
	deeper := strings.Repeat(`{"type":"array","items":`, 500) + `{"type":"integer"}` + strings.Repeat(`}`, 500)
	if got := Check(schema(t, deeper, nil), schema(t, deep, nil)); len(got) == 0 {
		t.Error("deep change reported compatible")
	}
	// Nested unions multiply work: the budget stops it and reports conservatively.
	union := `{"type":"string"}`
	for range 8 {
		union = `{"anyOf":[` + union + `,` + union + `,{"type":"integer"},` + union + `]}`
	}
	other := strings.ReplaceAll(union, `"integer"`, `"number"`)
	start := time.Now()
	Check(schema(t, other, nil), schema(t, union, nil))
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Check took %v", d)
	}
}

func FuzzCheck(f *testing.F) {
	for _, tc := range vectors {
		f.Add([]byte(tc.old), []byte(tc.new))
	}
	f.Add([]byte(`{"$ref":"#"}`), []byte(`{"$ref":"a.json"}`))
	f.Add([]byte(`{"properties":{"x":{"$ref":"b.json"}}}`), []byte(`{"properties":{"x":{"$ref":"a.json#/properties/x"}}}`))
	f.Add([]byte(`{"allOf":[{"$ref":"#"}],"oneOf":[{"$ref":"#/allOf/0"}]}`), []byte(`{"not":{"$ref":"#"},"anyOf":[true,false]}`))
	f.Add([]byte(`{"enum":[1e999999,0.1]}`), []byte(`{"multipleOf":1e-400,"maximum":1e400}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		A, errA := fuzzDecode(a)
		B, errB := fuzzDecode(b)
		if errA != nil || errB != nil {
			return
		}
		reader := Schema{Root: A, Refs: map[string]any{"b.json": B}}
		writer := Schema{Root: B, Refs: map[string]any{"a.json": A}}
		Check(reader, writer)
		Check(writer, reader)
		if got := Check(reader, reader); len(got) != 0 {
			t.Errorf("Check(s, s) = %+v", got)
		}
		if got := Check(writer, writer); len(got) != 0 {
			t.Errorf("Check(s, s) = %+v", got)
		}
	})
}

func fuzzDecode(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func ExampleCheck() {
	parse := func(text string) Schema {
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			panic(err)
		}
		return Schema{Root: v}
	}
	old := parse(`{"type":"object","properties":{"name":{"type":"string"}}}`)
	new := parse(`{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}}}`)

	// BACKWARD: can the new schema read what the old one allowed?
	for _, x := range Check(new, old) {
		fmt.Println(x.Type, x.Path)
	}
	// FORWARD: can the old schema read what the new one allows?
	fmt.Println(len(Check(old, new)))
	// Output:
	// PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/age
	// 0
}
