package validate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/validate"
)

// jsvDecode decodes JSON text the way the gateway does: numbers as json.Number.
func jsvDecode(tb testing.TB, text string) any {
	tb.Helper()
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		tb.Fatalf("decode %s: %v", text, err)
	}
	return v
}

func jsvMustCompile(tb testing.TB, root string, refs map[string]string) *validate.JSONSchema {
	tb.Helper()
	docs := map[string]any{}
	for name, text := range refs {
		docs[name] = jsvDecode(tb, text)
	}
	s, err := validate.CompileJSONSchema(jsvDecode(tb, root), docs)
	if err != nil {
		tb.Fatalf("compile: %v", err)
	}
	return s
}

// jsvOrderSchema exercises most keywords of 2020-12 (named: without "$schema" a schema is
// draft-07).
const jsvOrderSchema = `{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"type": "object",
	"additionalProperties": false,
	"required": ["id", "user"],
	"properties": {
		"id": {"type": "integer", "minimum": 0},
		"status": {"enum": ["active", "inactive"]},
		"kind": {"const": "order"},
		"user": {
			"type": "object",
			"additionalProperties": false,
			"required": ["email"],
			"properties": {
				"email": {"type": "string", "format": "email"},
				"name": {"type": "string", "minLength": 1, "maxLength": 10, "pattern": "^[A-Za-z ]+$"}
			}
		},
		"address": {"$ref": "#/$defs/address"},
		"items": {"type": "array", "maxItems": 12, "uniqueItems": true, "items": {"$ref": "#/$defs/item"}},
		"tags": {"type": "array", "minItems": 1, "contains": {"const": "x"}},
		"meta": {"type": "object", "minProperties": 1, "maxProperties": 2, "propertyNames": {"pattern": "^[a-z]+$"}},
		"ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.25},
		"note": {"not": {"type": "string"}},
		"forbidden": false,
		"contact": {"oneOf": [{"type": "string"}, {"type": "null"}]},
		"payment": {"anyOf": [{"required": ["card"]}, {"required": ["iban"]}]},
		"choice": {"oneOf": [{"type": "integer"}, {"minimum": 10}]},
		"mixed": {"anyOf": [{"type": "string"}, {"type": "object", "required": ["x"]}]},
		"shipping": {"type": "boolean"},
		"a/b~c": {"type": "string"},
		"closed": {"type": "object", "propertyNames": false},
		"shape": {"enum": [[1, 2], {"a": 1}]}
	},
	"dependentRequired": {"shipping": ["address"]},
	"$defs": {
		"address": {
			"type": "object",
			"properties": {"street": {"type": "string"}},
			"unevaluatedProperties": false
		},
		"item": {
			"type": "object",
			"required": ["sku", "price"],
			"properties": {"sku": {"type": "string"}, "price": {"type": "number", "minimum": 0}}
		}
	}
}`

const jsvValidOrder = `{"id": 1, "user": {"email": "a@example.com", "name": "Ann"}, "status": "active", "kind": "order",
	"address": {"street": "Main"}, "items": [{"sku": "a", "price": 1.5}], "tags": ["x"], "meta": {"a": 1},
	"ratio": 0.5, "note": 3, "contact": null, "payment": {"card": "1"}, "choice": 5, "mixed": "m",
	"shipping": true, "a/b~c": "s", "closed": {}}`

type jsvCase struct {
	name    string
	payload string
	want    []validate.Finding
}

func jsvRun(t *testing.T, s *validate.JSONSchema, lim validate.Limits, cases []jsvCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Validate(jsvDecode(t, tc.payload), lim)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONSchemaValidateKinds(t *testing.T) {
	s := jsvMustCompile(t, jsvOrderSchema, nil)
	type F = validate.Finding
	const (
		unknown    = validate.KindUnknownField
		missing    = validate.KindMissingField
		typ        = validate.KindTypeMismatch
		enum       = validate.KindEnumViolation
		constraint = validate.KindConstraintViolation
		other      = validate.KindOther
	)
	base := `"id": 1, "user": {"email": "a@example.com"}`
	jsvRun(t, s, validate.Limits{}, []jsvCase{
		{"valid", jsvValidOrder, nil},
		{"valid minimal", `{` + base + `}`, nil},

		// unknown_field
		{"unknown top level", `{` + base + `, "zip": 1}`,
			[]F{{unknown, "/zip", `property "zip" is not allowed`}}},
		{"unknown nested", `{` + base[:len(base)-1] + `, "age": 3}}`,
			[]F{{unknown, "/user/age", `property "age" is not allowed`}}},
		{"unknown several", `{` + base + `, "b": 1, "a": 2}`,
			[]F{{unknown, "/a", `property "a" is not allowed`}, {unknown, "/b", `property "b" is not allowed`}}},
		{"unevaluatedProperties false via $ref", `{` + base + `, "address": {"street": "Main", "zip": "1"}}`,
			[]F{{unknown, "/address/zip", `property "zip" is not allowed`}}},
		{"propertyNames false", `{` + base + `, "closed": {"k": 1}}`,
			[]F{{unknown, "/closed/k", `property "k" is not allowed`}}},
		{"unknown escaped", `{` + base + `, "x/y~z": 1}`,
			[]F{{unknown, "/x~1y~0z", `property "x/y~z" is not allowed`}}},

		// missing_field
		{"missing top level", `{"user": {"email": "a@example.com"}}`,
			[]F{{missing, "/id", `missing property "id"`}}},
		{"missing nested", `{"id": 1, "user": {}}`,
			[]F{{missing, "/user/email", `missing property "email"`}}},
		{"missing all", `{}`,
			[]F{{missing, "/id", `missing property "id"`}, {missing, "/user", `missing property "user"`}}},
		{"dependentRequired", `{` + base + `, "shipping": true}`,
			[]F{{missing, "/address", `missing property "address" (required when "shipping" is present)`}}},
		{"missing in array item", `{` + base + `, "items": [{"sku": "a", "price": 1}, {"sku": "b", "price": 2}, {"sku": "c"}]}`,
			[]F{{missing, "/items/2/price", `missing property "price"`}}},

		// type_mismatch
		{"type top level", `[1]`, []F{{typ, "", `want object, got array`}}},
		{"type property", `{"id": "1", "user": {"email": "a@example.com"}}`,
			[]F{{typ, "/id", `want integer, got string`}}},
		{"type integer", `{"id": 1.5, "user": {"email": "a@example.com"}}`,
			[]F{{typ, "/id", `want integer, got number`}}},
		{"type nested", `{"id": 1, "user": {"email": 7}}`,
			[]F{{typ, "/user/email", `want string, got number`}}},
		{"type in array item", `{` + base + `, "items": [{"sku": "a", "price": 1}, {"sku": "b", "price": 2}, {"sku": "c", "price": "9.99"}]}`,
			[]F{{typ, "/items/2/price", `want number, got string`}}},
		{"type escaped pointer", `{` + base + `, "a/b~c": 1}`,
			[]F{{typ, "/a~1b~0c", `want string, got number`}}},
		{"oneOf all type", `{` + base + `, "contact": 5}`,
			[]F{{typ, "/contact", `want string or null, got number`}}},

		// enum_violation
		{"enum", `{` + base + `, "status": "deleted"}`,
			[]F{{enum, "/status", `want one of "active", "inactive", got "deleted"`}}},
		{"const", `{` + base + `, "kind": "refund"}`,
			[]F{{enum, "/kind", `want "order", got "refund"`}}},
		{"enum containers", `{` + base + `, "shape": [1, 3]}`,
			[]F{{enum, "/shape", `an array is not one of the 2 allowed values`}}},
		{"const container", `{` + base + `, "kind": {"a": 1}}`,
			[]F{{enum, "/kind", `want "order", got an object`}}},

		// constraint_violation
		{"minimum", `{"id": -3, "user": {"email": "a@example.com"}}`,
			[]F{{constraint, "/id", `must be >= 0 but found -3`}}},
		{"minimum in array item", `{` + base + `, "items": [{"sku": "a", "price": 1}, {"sku": "b", "price": 2}, {"sku": "c", "price": -0.5}]}`,
			[]F{{constraint, "/items/2/price", `must be >= 0 but found -0.5`}}},
		{"exclusive and multipleOf", `{` + base + `, "ratio": 1.1}`,
			[]F{{constraint, "/ratio", `must be < 1 but found 1.1`}, {constraint, "/ratio", `must be a multiple of 0.25 but found 1.1`}}},
		{"exclusiveMinimum", `{` + base + `, "ratio": 0}`,
			[]F{{constraint, "/ratio", `must be > 0 but found 0`}}},
		{"string lengths and pattern", `{"id": 1, "user": {"email": "a@example.com", "name": "Bartholomew 3rd"}}`,
			[]F{{constraint, "/user/name", `must be at most 10 characters long but has 15`},
				{constraint, "/user/name", `must match pattern "^[A-Za-z ]+$" but found "Bartholomew 3rd"`}}},
		{"minLength", `{"id": 1, "user": {"email": "a@example.com", "name": ""}}`,
			[]F{{constraint, "/user/name", `must be at least 1 character long but has 0`},
				{constraint, "/user/name", `must match pattern "^[A-Za-z ]+$" but found ""`}}},
		{"format", `{"id": 1, "user": {"email": "nope"}}`,
			[]F{{constraint, "/user/email", `"nope" is not a valid email: missing @`}}},
		{"items size and unique", `{` + base + `, "items": [` + strings.Repeat(`{"sku": "a", "price": 1},`, 12) + `{"sku": "a", "price": 1}]}`,
			[]F{{constraint, "/items", `items must be unique but items 0 and 1 are equal`},
				{constraint, "/items", `must have at most 12 items but has 13`}}},
		{"minItems", `{` + base + `, "tags": []}`,
			[]F{{constraint, "/tags", `must have at least 1 item but has 0`}, {constraint, "/tags", `no item matches the "contains" schema`}}},
		{"contains", `{` + base + `, "tags": ["a", "b"]}`,
			[]F{{constraint, "/tags", `no item matches the "contains" schema`}}},
		{"object size", `{` + base + `, "meta": {}}`,
			[]F{{constraint, "/meta", `must have at least 1 property but has 0`}}},
		{"maxProperties and propertyNames", `{` + base + `, "meta": {"a": 1, "b": 2, "C": 3}}`,
			[]F{{constraint, "/meta", `must have at most 2 properties but has 3`},
				{constraint, "/meta/C", `property name "C" is invalid: must match pattern "^[a-z]+$" but found "C"`}}},

		// other
		{"false schema", `{` + base + `, "forbidden": 1}`,
			[]F{{other, "/forbidden", `no value is allowed here`}}},
		{"not", `{` + base + `, "note": "text"}`,
			[]F{{other, "/note", `must not match the "not" schema`}}},
		{"oneOf several match", `{` + base + `, "choice": 12}`,
			[]F{{other, "/choice", `must match exactly one "oneOf" alternative but matches oneOf[0] and oneOf[1]`}}},
		{"oneOf none match, kinds differ", `{` + base + `, "choice": 2.5}`,
			[]F{{other, "/choice", `matches none of the 2 "oneOf" alternatives: oneOf[0]: want integer, got number; oneOf[1]: must be >= 10 but found 2.5`}}},
		{"anyOf none match, same kind", `{` + base + `, "payment": {}}`,
			[]F{{missing, "/payment", `matches none of the 2 "anyOf" alternatives: anyOf[0]: at "/payment/card" missing property "card"; anyOf[1]: at "/payment/iban" missing property "iban"`}}},
		{"anyOf none match, deeper", `{` + base + `, "mixed": {"y": 1}}`,
			[]F{{other, "/mixed", `matches none of the 2 "anyOf" alternatives: anyOf[0]: want string, got object; anyOf[1]: at "/mixed/x" missing property "x"`}}},
	})
}

func TestJSONSchemaValidateReportsEveryError(t *testing.T) {
	s := jsvMustCompile(t, jsvOrderSchema, nil)
	var items []string
	items = append(items, `{"sku": "a", "price": 1}`, `{"sku": "b", "price": -1}`, `{"price": "1"}`)
	for i := 3; i <= 9; i++ {
		items = append(items, fmt.Sprintf(`{"n": %d}`, i))
	}
	items = append(items, `{"sku": 1, "price": 1}`)
	payload := `{"id": -1, "user": {"email": 5, "extra": true}, "status": "x", "zip": "1", "items": [` + strings.Join(items, ",") + `]}`
	type F = validate.Finding
	// Ordered by path, array indices numerically (/items/2 … /items/9 before /items/10).
	want := []F{
		{validate.KindConstraintViolation, "/id", `must be >= 0 but found -1`},
		{validate.KindConstraintViolation, "/items/1/price", `must be >= 0 but found -1`},
		{validate.KindTypeMismatch, "/items/2/price", `want number, got string`},
		{validate.KindMissingField, "/items/2/sku", `missing property "sku"`},
	}
	for i := 3; i <= 9; i++ {
		p := fmt.Sprintf("/items/%d/", i)
		want = append(want, F{validate.KindMissingField, p + "price", `missing property "price"`},
			F{validate.KindMissingField, p + "sku", `missing property "sku"`})
	}
	want = append(want,
		F{validate.KindTypeMismatch, "/items/10/sku", `want string, got number`},
		F{validate.KindEnumViolation, "/status", `want one of "active", "inactive", got "x"`},
		F{validate.KindTypeMismatch, "/user/email", `want string, got number`},
		F{validate.KindUnknownField, "/user/extra", `property "extra" is not allowed`},
		F{validate.KindUnknownField, "/zip", `property "zip" is not allowed`},
	)
	got := s.Validate(jsvDecode(t, payload), validate.Limits{MaxFindings: 100})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// Deterministic despite the library's map iteration.
	for range 20 {
		if again := s.Validate(jsvDecode(t, payload), validate.Limits{MaxFindings: 100}); !cmp.Equal(got, again) {
			t.Fatalf("findings differ between runs:\n%s", cmp.Diff(got, again))
		}
	}
	// The cap keeps the first findings in path order.
	capped := s.Validate(jsvDecode(t, payload), validate.Limits{MaxFindings: 3})
	if diff := cmp.Diff(want[:3], capped); diff != "" {
		t.Errorf("capped at 3 (-want +got):\n%s", diff)
	}
}

func TestJSONSchemaValidateCap(t *testing.T) {
	var props, req []string
	for i := range 30 {
		props = append(props, fmt.Sprintf(`"f%02d": {"type": "string"}`, i))
		req = append(req, fmt.Sprintf(`"f%02d"`, i))
	}
	s := jsvMustCompile(t, `{"properties": {`+strings.Join(props, ",")+`}, "required": [`+strings.Join(req, ",")+`]}`, nil)
	got := s.Validate(jsvDecode(t, `{}`), validate.Limits{})
	if len(got) != validate.DefaultMaxFindings {
		t.Fatalf("default cap: %d findings, want %d", len(got), validate.DefaultMaxFindings)
	}
	got = s.Validate(jsvDecode(t, `{}`), validate.Limits{MaxFindings: 2})
	want := []validate.Finding{
		{Kind: validate.KindMissingField, Path: "/f00", Message: `missing property "f00"`},
		{Kind: validate.KindMissingField, Path: "/f01", Message: `missing property "f01"`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cap 2 (-want +got):\n%s", diff)
	}
}

func TestJSONSchemaValidateDrafts(t *testing.T) {
	type F = validate.Finding
	t.Run("draft-04", func(t *testing.T) {
		s := jsvMustCompile(t, `{
			"$schema": "http://json-schema.org/draft-04/schema#",
			"type": "object",
			"required": ["age"],
			"additionalProperties": false,
			"properties": {
				"age": {"type": "integer", "minimum": 0, "exclusiveMinimum": true},
				"a": {"type": "string"}, "b": {"type": "string"},
				"when": {"type": "string", "format": "date-time"}
			},
			"dependencies": {"a": ["b"]},
			"definitions": {"x": {"type": "string"}}
		}`, nil)
		jsvRun(t, s, validate.Limits{}, []jsvCase{
			{"valid", `{"age": 3, "a": "x", "b": "y", "when": "2024-01-02T03:04:05Z"}`, nil},
			{"exclusiveMinimum boolean", `{"age": 0}`, []F{{validate.KindConstraintViolation, "/age", `must be > 0 but found 0`}}},
			{"dependencies", `{"age": 1, "a": "x"}`,
				[]F{{validate.KindMissingField, "/b", `missing property "b" (required when "a" is present)`}}},
			{"required and unknown", `{"zip": 1}`, []F{
				{validate.KindMissingField, "/age", `missing property "age"`},
				{validate.KindUnknownField, "/zip", `property "zip" is not allowed`}}},
			{"format asserted", `{"age": 1, "when": "yesterday"}`,
				[]F{{validate.KindConstraintViolation, "/when", `"yesterday" is not a valid date-time: less than 20 characters long`}}},
		})
	})
	// A schema without "$schema" is draft-07, as the registry and Confluent read it.
	for name, header := range map[string]string{"draft-07": `"$schema": "http://json-schema.org/draft-07/schema#",`, "no $schema is draft-07": ""} {
		t.Run(name, func(t *testing.T) { jsvDraft07(t, header) })
	}
	t.Run("2020-12 explicit", func(t *testing.T) {
		s := jsvMustCompile(t, `{
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"type": "array",
			"prefixItems": [{"type": "string"}],
			"items": false
		}`, nil)
		jsvRun(t, s, validate.Limits{}, []jsvCase{
			{"valid", `["a"]`, nil},
			{"items false", `["a", 1]`, []F{{validate.KindConstraintViolation, "/1",
				`array item not allowed: the array has more items than the schema allows`}}},
		})
	})
}

func TestJSONSchemaReferences(t *testing.T) {
	type F = validate.Finding
	refs := map[string]string{
		"common.json":   `{"$defs": {"money": {"type": "object", "required": ["amount", "currency"], "properties": {"amount": {"type": "number", "minimum": 0}, "currency": {"enum": ["EUR", "USD"]}}}}}`,
		"customer.json": `{"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}, "total": {"$ref": "common.json#/$defs/money"}}}`,
	}
	root := `{
		"type": "object",
		"properties": {
			"customer": {"$ref": "customer.json"},
			"price": {"$ref": "common.json#/$defs/money"},
			"local": {"$ref": "#/$defs/local"}
		},
		"$defs": {"local": {"type": "string", "maxLength": 3}}
	}`
	s := jsvMustCompile(t, root, refs)
	jsvRun(t, s, validate.Limits{}, []jsvCase{
		{"valid", `{"customer": {"email": "e", "total": {"amount": 1, "currency": "EUR"}}, "price": {"amount": 0, "currency": "USD"}, "local": "abc"}`, nil},
		{"named reference", `{"customer": {}}`, []F{{validate.KindMissingField, "/customer/email", `missing property "email"`}}},
		{"reference of a reference", `{"customer": {"email": "e", "total": {"amount": -2, "currency": "GBP"}}}`, []F{
			{validate.KindConstraintViolation, "/customer/total/amount", `must be >= 0 but found -2`},
			{validate.KindEnumViolation, "/customer/total/currency", `want one of "EUR", "USD", got "GBP"`}}},
		{"fragment of a reference", `{"price": {"amount": "1"}}`, []F{
			{validate.KindTypeMismatch, "/price/amount", `want number, got string`},
			{validate.KindMissingField, "/price/currency", `missing property "currency"`}}},
		{"local $defs", `{"local": "abcd"}`, []F{{validate.KindConstraintViolation, "/local", `must be at most 3 characters long but has 4`}}},
	})

	// A root with its own $id resolves relative references against it; they still find the
	// registered references and nothing else.
	withID := jsvMustCompile(t, `{"$id": "https://example.com/schemas/order.json", "properties": {"customer": {"$ref": "customer.json"}}}`, refs)
	jsvRun(t, withID, validate.Limits{}, []jsvCase{
		{"$id relative reference", `{"customer": {"email": 1}}`, []F{{validate.KindTypeMismatch, "/customer/email", `want string, got number`}}},
	})
}

func TestJSONSchemaCompileErrors(t *testing.T) {
	// A readable schema on disk: were it loaded, the compile would succeed.
	dir := t.TempDir()
	onDisk := filepath.Join(dir, "schema.json")
	if err := os.WriteFile(onDisk, []byte(`{"type": "string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, root string
		refs       map[string]string
		want       string
	}{
		{"file URL", `{"$ref": "file:///etc/passwd"}`, nil, `cannot resolve "file:///etc/passwd"`},
		{"readable file URL", `{"properties": {"a": {"$ref": "file://` + filepath.ToSlash(onDisk) + `"}}}`, nil, `cannot resolve "file://`},
		{"network URL", `{"$ref": "https://example.com/schema.json"}`, nil, `cannot resolve "https://example.com/schema.json"`},
		{"unknown relative reference", `{"$ref": "missing.json"}`, map[string]string{"other.json": `{}`}, `cannot resolve "missing.json"`},
		{"unknown draft", `{"$schema": "https://example.com/my-draft", "type": "string"}`, nil, `https://example.com/my-draft`},
		{"invalid keyword value", `{"type": "strin"}`, nil, `not a valid schema: at "/type"`},
		{"invalid in reference", `{"$ref": "bad.json"}`, map[string]string{"bad.json": `{"minimum": "zero"}`}, `minimum`},
		{"not a schema", `[1, 2]`, nil, `compile JSON schema`},
		// Schemas using propertyNames get the full metaschema check too.
		{"invalid keyword with propertyNames", `{"propertyNames": {"maxLength": 3}, "title": 5}`, nil, `not a valid schema: at "/title": want string, got number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs := map[string]any{}
			for name, text := range tc.refs {
				docs[name] = jsvDecode(t, text)
			}
			s, err := validate.CompileJSONSchema(jsvDecode(t, tc.root), docs)
			if err == nil {
				t.Fatalf("compiled (%v), want an error", s)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "schemagate.invalid") {
				t.Errorf("error %q leaks the synthetic base URL", err)
			}
		})
	}
}

func TestJSONSchemaValidateDepth(t *testing.T) {
	s := jsvMustCompile(t, `{"type": "object"}`, nil)
	nested := func(n int) string { return strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n) }
	if got := s.Validate(jsvDecode(t, nested(3)), validate.Limits{MaxDepth: 3}); got != nil {
		t.Errorf("depth 3 with limit 3: %v", got)
	}
	want := []validate.Finding{{Kind: validate.KindConstraintViolation, Message: "value is nested deeper than the limit of 3 levels"}}
	if diff := cmp.Diff(want, s.Validate(jsvDecode(t, nested(4)), validate.Limits{MaxDepth: 3})); diff != "" {
		t.Errorf("depth 4 with limit 3 (-want +got):\n%s", diff)
	}
	// Default limit: 64.
	deep := jsvDecode(t, strings.Repeat(`[`, 65)+strings.Repeat(`]`, 65))
	if got := s.Validate(deep, validate.Limits{}); len(got) != 1 || got[0].Kind != validate.KindConstraintViolation {
		t.Errorf("depth 65 with default limit: %v", got)
	}
}

func TestJSONSchemaValidateOddValues(t *testing.T) {
	s := jsvMustCompile(t, `{"type": "object", "properties": {"n": {"type": "number"}}}`, nil)
	type F = validate.Finding
	// Values not produced by encoding/json: reported, never a panic.
	got := s.Validate(map[string]any{"n": struct{}{}}, validate.Limits{})
	want := []F{{validate.KindOther, "/n", "unsupported value of Go type struct {}"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// float64 (decoded without UseNumber) works too.
	if got := s.Validate(map[string]any{"n": 1.5}, validate.Limits{}); got != nil {
		t.Errorf("float64: %v", got)
	}
	var nilSchema *validate.JSONSchema
	if got := nilSchema.Validate(map[string]any{}, validate.Limits{}); len(got) != 1 || got[0].Kind != validate.KindOther {
		t.Errorf("nil schema: %v", got)
	}
	// Schema false rejects everything; schema true accepts everything.
	if got := jsvMustCompile(t, `false`, nil).Validate(jsvDecode(t, `1`), validate.Limits{}); !cmp.Equal(got, []F{{validate.KindOther, "", "no value is allowed here"}}) {
		t.Errorf("false schema: %v", got)
	}
	if got := jsvMustCompile(t, `true`, nil).Validate(jsvDecode(t, `{"a": [1]}`), validate.Limits{}); got != nil {
		t.Errorf("true schema: %v", got)
	}
}

func TestJSONSchemaValidateConcurrent(t *testing.T) {
	s := jsvMustCompile(t, jsvOrderSchema, nil)
	bad := `{"id": -1, "user": {"email": 5}, "zip": 1}`
	want := s.Validate(jsvDecode(t, bad), validate.Limits{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := s.Validate(jsvDecode(t, bad), validate.Limits{}); !cmp.Equal(want, got) {
					t.Errorf("concurrent findings differ:\n%s", cmp.Diff(want, got))
					return
				}
				if got := s.Validate(jsvDecode(t, jsvValidOrder), validate.Limits{}); got != nil {
					t.Errorf("valid payload: %v", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

// jsvMediumPayload builds a valid order of about 4 KiB.
func jsvMediumPayload() string {
	var sb strings.Builder
	sb.WriteString(`{"id": 12345, "user": {"email": "someone@example.com", "name": "Some One"}, "status": "active", "kind": "order",
		"address": {"street": "1 Main Street"}, "tags": ["x", "y"], "meta": {"a": 1}, "ratio": 0.75, "items": [`)
	for i := range 12 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"sku": "SKU-%06d-%s", "price": %d.99}`, i, strings.Repeat("x", 280), i)
	}
	sb.WriteString(`]}`)
	return sb.String()
}

func BenchmarkJSONSchemaValidate(b *testing.B) {
	s := jsvMustCompile(b, jsvOrderSchema, nil)
	small := `{"id": 42, "user": {"email": "someone@example.com", "name": "Some One"}, "status": "active",
		"items": [{"sku": "A-1", "price": 9.99}, {"sku": "B-2", "price": 19.5}], "ratio": 0.25}`
	for _, bc := range []struct{ name, payload string }{
		{"small", small},
		{"medium", jsvMediumPayload()},
		{"medium-invalid", strings.ReplaceAll(jsvMediumPayload(), `"price"`, `"cost"`)},
	} {
		v := jsvDecode(b, bc.payload)
		b.Run(fmt.Sprintf("%s-%dB", bc.name, len(bc.payload)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Validate(v, validate.Limits{})
			}
		})
	}
}

func FuzzJSONSchemaValidate(f *testing.F) {
	s := jsvMustCompile(f, jsvOrderSchema, nil)
	for _, seed := range []string{
		jsvValidOrder,
		`{}`,
		`[]`,
		`null`,
		`{"id": -1, "user": {"email": 5, "x": 1}, "zip": 1, "items": [{}, {"price": "1"}]}`,
		`{"id": 1, "user": {"email": "a@b.c"}, "contact": 1, "payment": {}, "choice": 2.5, "closed": {"a~/b": 1}}`,
		`{"id": 1e400, "ratio": -0.0000001, "meta": {"A": 1, "b": 2, "c": 3}}`,
		strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return
		}
		lim := validate.Limits{MaxDepth: 16, MaxFindings: 8}
		got := s.Validate(v, lim)
		if len(got) > lim.MaxFindings {
			t.Fatalf("%d findings, cap %d", len(got), lim.MaxFindings)
		}
		// Deterministic, and the cap keeps a prefix of the path order.
		all := s.Validate(v, validate.Limits{MaxDepth: 16, MaxFindings: 1 << 20})
		if len(all) < len(got) || !cmp.Equal(got, all[:len(got)]) {
			t.Fatalf("capped findings are not a prefix of all findings:\n%s", cmp.Diff(all, got))
		}
		kinds := map[validate.Kind]bool{}
		for _, k := range validate.Kinds() {
			kinds[k] = true
		}
		for _, f := range got {
			if !kinds[f.Kind] || f.Kind == validate.KindDecodeError {
				t.Fatalf("bad kind in %+v", f)
			}
			if f.Path != "" && f.Path[0] != '/' {
				t.Fatalf("bad path in %+v", f)
			}
			if f.Message == "" {
				t.Fatalf("empty message in %+v", f)
			}
		}
	})
}

// The library records a failing "propertyNames" at a location that later validation can
// overwrite; the paths must stay right whatever the map iteration order.
func TestJSONSchemaPropertyNamesPaths(t *testing.T) {
	s := jsvMustCompile(t, `{
		"type": "object",
		"properties": {
			"a": {"type": "string"}, "b": {"type": "string"},
			"rows": {"type": "array", "items": {"type": "object", "propertyNames": {"maxLength": 3},
				"properties": {"x": {"type": "integer"}, "closed": {"propertyNames": false}}}},
			"c": {"type": "string"}, "d": {"type": "string"}
		}
	}`, nil)
	payload := `{"a": "1", "b": "2", "c": "3", "d": "4",
		"rows": [{"x": 1}, {"x": 2, "long": 1}, {"x": 3, "closed": {"k": 1}}, {"x": "4"}, {"y": 5, "closed": {}}]}`
	type F = validate.Finding
	want := []F{
		{validate.KindConstraintViolation, "/rows/1/long", `property name "long" is invalid: must be at most 3 characters long but has 4`},
		{validate.KindConstraintViolation, "/rows/2/closed", `property name "closed" is invalid: must be at most 3 characters long but has 6`},
		{validate.KindUnknownField, "/rows/2/closed/k", `property "k" is not allowed`},
		{validate.KindTypeMismatch, "/rows/3/x", `want integer, got string`},
		{validate.KindConstraintViolation, "/rows/4/closed", `property name "closed" is invalid: must be at most 3 characters long but has 6`},
	}
	for range 50 {
		if diff := cmp.Diff(want, s.Validate(jsvDecode(t, payload), validate.Limits{})); diff != "" {
			t.Fatalf("findings (-want +got):\n%s", diff)
		}
	}
	// Draft-04 has no propertyNames.
	d4 := jsvMustCompile(t, `{"$schema": "http://json-schema.org/draft-04/schema#", "propertyNames": {"maxLength": 1}}`, nil)
	if got := d4.Validate(jsvDecode(t, `{"long": 1}`), validate.Limits{}); got != nil {
		t.Errorf("draft-04 propertyNames: %v", got)
	}
}

// jsvDraft07 checks draft-07 semantics on a schema whose first member is header.
func jsvDraft07(t *testing.T, header string) {
	type F = validate.Finding
	s := jsvMustCompile(t, `{`+header+`
			"definitions": {"pos": {"type": "integer", "minimum": 1}},
			"type": "object",
			"properties": {
				"n": {"$ref": "#/definitions/pos", "type": "string"},
				"t": {"type": "array", "items": [{"type": "string"}], "additionalItems": false},
				"m": {"propertyNames": false},
				"e": {"enum": [1, 2, 3]}
			}
		}`, nil)
	jsvRun(t, s, validate.Limits{}, []jsvCase{
		{"valid", `{"n": 2, "t": ["a"], "m": {}, "e": 2}`, nil},
		// Draft-07 ignores the siblings of "$ref".
		{"$ref to definitions", `{"n": 0}`, []F{{validate.KindConstraintViolation, "/n", `must be >= 1 but found 0`}}},
		{"$ref type", `{"n": "x"}`, []F{{validate.KindTypeMismatch, "/n", `want integer, got string`}}},
		{"additionalItems false", `{"t": ["a", "b", "c"]}`,
			[]F{{validate.KindConstraintViolation, "/t", `has 2 items more than the schema allows`}}},
		{"propertyNames false", `{"m": {"q": 1}}`, []F{{validate.KindUnknownField, "/m/q", `property "q" is not allowed`}}},
		{"enum numbers", `{"e": 4}`, []F{{validate.KindEnumViolation, "/e", `want one of 1, 2, 3, got 4`}}},
	})
}
