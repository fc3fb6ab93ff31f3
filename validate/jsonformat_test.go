package validate

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
)

// Metaschemas of our own that require the format vocabulary of 2019-09 and the
// format-assertion vocabulary of 2020-12, registered as references and named by "$schema", as
// the official JSON-Schema-Test-Suite's format-assertion remotes do.
const (
	formatMeta2019 = `{"$schema": "https://json-schema.org/draft/2019-09/schema",
		"$id": "https://meta.example/format-2019.json",
		"$vocabulary": {"https://json-schema.org/draft/2019-09/vocab/core": true,
			"https://json-schema.org/draft/2019-09/vocab/applicator": true,
			"https://json-schema.org/draft/2019-09/vocab/validation": true,
			"https://json-schema.org/draft/2019-09/vocab/format": true},
		"$recursiveAnchor": true,
		"allOf": [{"$ref": "https://json-schema.org/draft/2019-09/schema"}]}`
	formatAssertionMeta2020 = `{"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id": "https://meta.example/format-assertion-%t.json",
		"$vocabulary": {"https://json-schema.org/draft/2020-12/vocab/core": true,
			"https://json-schema.org/draft/2020-12/vocab/applicator": true,
			"https://json-schema.org/draft/2020-12/vocab/validation": true,
			"https://json-schema.org/draft/2020-12/vocab/format-assertion": %t},
		"$dynamicAnchor": "meta",
		"allOf": [{"$ref": "https://json-schema.org/draft/2020-12/schema"}]}`
)

// TestJSONSchemaFormatSetting: what schema_registry.json_schema.format does to a payload, through
// the validation engine, for each draft. assert (the default) rejects a string that is not an
// email under "format": "email" in every draft; annotate accepts it in every draft, also where
// the metaschema requires format assertion; draft follows the drafts: 4 and 7 assert, 2019-09
// and 2020-12 only with the format (2019-09) or format-assertion (2020-12) vocabulary.
func TestJSONSchemaFormatSetting(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	register := func(subject, text string, refs ...registry.Reference) {
		t.Helper()
		if _, err := reg.Register(ctx, subject, registry.SchemaInput{Type: registry.SchemaTypeJSON, Text: text, References: refs}); err != nil {
			t.Fatalf("register %s: %v", subject, err)
		}
	}
	register("meta-2019", formatMeta2019)
	register("meta-2020-true", fmt.Sprintf(formatAssertionMeta2020, true, true))
	register("meta-2020-false", fmt.Sprintf(formatAssertionMeta2020, false, false))
	email := func(schema string) string {
		return `{"$schema": "` + schema + `", "type": "string", "format": "email"}`
	}
	register("draft-04", email("http://json-schema.org/draft-04/schema#"))
	register("draft-07", email("http://json-schema.org/draft-07/schema#"))
	register("draft-2019-09", email("https://json-schema.org/draft/2019-09/schema"))
	register("draft-2020-12", email("https://json-schema.org/draft/2020-12/schema"))
	register("no-schema", `{"type": "string", "format": "email"}`) // compiled as draft-07
	register("2019-09-format-vocab", email("https://meta.example/format-2019.json"),
		registry.Reference{Name: "https://meta.example/format-2019.json", Subject: "meta-2019", Version: 1})
	register("2020-12-format-assertion", email("https://meta.example/format-assertion-true.json"),
		registry.Reference{Name: "https://meta.example/format-assertion-true.json", Subject: "meta-2020-true", Version: 1})
	register("2020-12-format-assertion-false", email("https://meta.example/format-assertion-false.json"),
		registry.Reference{Name: "https://meta.example/format-assertion-false.json", Subject: "meta-2020-false", Version: 1})
	// A format under a combinator: annotate must not let the alternative fail on it.
	register("anyof-draft-07", `{"$schema": "http://json-schema.org/draft-07/schema#", "anyOf": [{"type": "string", "format": "email"}, {"type": "integer"}]}`)

	subjects := []string{"draft-04", "draft-07", "draft-2019-09", "draft-2020-12", "no-schema",
		"2019-09-format-vocab", "2020-12-format-assertion", "2020-12-format-assertion-false", "anyof-draft-07"}
	bad := KindConstraintViolation
	want := map[registry.JSONSchemaFormat]map[string]Kind{
		registry.JSONFormatAssert: {"draft-04": bad, "draft-07": bad, "draft-2019-09": bad, "draft-2020-12": bad, "no-schema": bad,
			"2019-09-format-vocab": bad, "2020-12-format-assertion": bad, "2020-12-format-assertion-false": bad, "anyof-draft-07": KindOther},
		registry.JSONFormatAnnotate: {},
		registry.JSONFormatDraft: {"draft-04": bad, "draft-07": bad, "no-schema": bad, "2019-09-format-vocab": bad, "2020-12-format-assertion": bad,
			"anyof-draft-07": KindOther},
	}
	for _, setting := range []registry.JSONSchemaFormat{registry.JSONFormatAssert, registry.JSONFormatAnnotate, registry.JSONFormatDraft} {
		e, err := NewEngine(Options{Source: reg, JSONSchemaFormat: setting})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Kind{}
		for _, subject := range subjects {
			for _, payload := range []string{`"not-an-email"`, `"joe.bloggs@example.com"`} {
				res, err := e.Validate(ctx, Request{Subject: subject, Format: FormatJSON, JSONText: []byte(payload)})
				if err != nil {
					t.Fatalf("%s: %s %s: %v", setting, subject, payload, err)
				}
				if len(res.Findings) == 0 {
					continue
				}
				if payload != `"not-an-email"` || len(res.Findings) != 1 {
					t.Errorf("%s: %s %s: findings %+v; want at most one, for the bad address", setting, subject, payload, res.Findings)
					continue
				}
				got[subject] = res.Findings[0].Kind
			}
		}
		if diff := cmp.Diff(want[setting], got); diff != "" {
			t.Errorf("%s: kind of the finding about \"not-an-email\" per subject (-want +got):\n%s", setting, diff)
		}
	}
}

// TestJSONSchemaFormatRegexAndOtherKeywords: the "regex" format, which the JSON Schema library
// checks apart from the others, is not asserted under annotate either, while "pattern" and the
// other keywords still are.
func TestJSONSchemaFormatRegexAndOtherKeywords(t *testing.T) {
	root := mustDecodeJSON(t, `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
		"properties": {"re": {"type": "string", "format": "regex", "pattern": "^a"}, "n": {"maximum": 3}}}`)
	payload := mustDecodeJSON(t, `{"re": "b(", "n": 4}`)
	tests := []struct {
		setting registry.JSONSchemaFormat
		want    []Finding
	}{
		{registry.JSONFormatAssert, []Finding{ // the library stops at a failed format
			{Kind: KindConstraintViolation, Path: "/n", Message: "must be <= 3 but found 4"},
			{Kind: KindConstraintViolation, Path: "/re", Message: "\"b(\" is not a valid regex: error parsing regexp: missing closing ): `b(`"},
		}},
		{registry.JSONFormatAnnotate, []Finding{
			{Kind: KindConstraintViolation, Path: "/n", Message: "must be <= 3 but found 4"},
			{Kind: KindConstraintViolation, Path: "/re", Message: `must match pattern "^a" but found "b("`},
		}},
	}
	for _, tc := range tests {
		s, err := CompileJSONSchemaFormat(root, nil, tc.setting)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Validate(payload, Limits{})
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: findings (-want +got):\n%s", tc.setting, diff)
		}
	}
}

// TestNewEngineRefusesUnknownFormatSetting: a setting other than assert, annotate or draft
// ("" is the default) is refused when the engine is built, not at the first payload.
func TestNewEngineRefusesUnknownFormatSetting(t *testing.T) {
	reg := newTestRegistry(t)
	for _, setting := range []registry.JSONSchemaFormat{"", "assert", "ANNOTATE", " draft "} {
		if _, err := NewEngine(Options{Source: reg, JSONSchemaFormat: setting}); err != nil {
			t.Errorf("NewEngine refused JSONSchemaFormat %q: %v", setting, err)
		}
	}
	if _, err := NewEngine(Options{Source: reg, JSONSchemaFormat: "lenient"}); err == nil {
		t.Error("NewEngine accepted JSONSchemaFormat \"lenient\"")
	}
}

// newTestRegistry is an empty embedded registry on the test store, serving its reads from
// memory as the gateway's does (so the engine's per-validation config lookups cost no query).
func newTestRegistry(tb testing.TB) *registry.Registry {
	tb.Helper()
	db, err := store.Open(tb.Context(), storetest.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	reg, err := registry.New(db, registry.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := reg.ServeFromMemory(tb.Context(), nil); err != nil {
		tb.Fatal(err)
	}
	return reg
}

// BenchmarkEngineValidateJSON is the engine's path for a small JSON payload under a JSON Schema
// subject with its own format setting: the subject index, the setting (from the registry's
// memory), the cached validator and the check.
func BenchmarkEngineValidateJSON(b *testing.B) {
	ctx := b.Context()
	reg := newTestRegistry(b)
	if _, err := reg.Register(ctx, "s", registry.SchemaInput{Type: registry.SchemaTypeJSON,
		Text: `{"type":"object","properties":{"email":{"type":"string","format":"email"},"n":{"type":"integer"}}}`}); err != nil {
		b.Fatal(err)
	}
	if _, err := reg.SetConfig(ctx, "s", registry.Config{JSONSchemaFormat: registry.JSONFormatAnnotate}); err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(Options{Source: reg})
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Subject: "s", Format: FormatJSON, JSON: map[string]any{"email": "not-an-email", "n": json.Number("3")}, HasJSON: true}
	if res, err := e.Validate(ctx, req); err != nil || res.Invalid() {
		b.Fatalf("Validate = %+v, %v", res, err)
	}
	for b.Loop() {
		if _, err := e.Validate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// mustDecodeJSON decodes text as Validate decodes a JSON payload (numbers as json.Number).
func mustDecodeJSON(tb testing.TB, text string) any {
	tb.Helper()
	v, err := decodeJSONText([]byte(text))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestJSONSchemaFormatPerSubjectSetting: the registry's per-subject and global settings decide
// over the engine's default, per subject: one schema under two subjects validates differently,
// and a changed setting counts from the next validation, with the same engine.
func TestJSONSchemaFormatPerSubjectSetting(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	draft07 := `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "string", "format": "email"}`
	draft2020 := `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "string", "format": "email"}`
	for subject, text := range map[string]string{"strict": draft07, "lenient": draft07, "d07": draft07, "d2020": draft2020} {
		if _, err := reg.Register(ctx, subject, registry.SchemaInput{Type: registry.SchemaTypeJSON, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := NewEngine(Options{Source: reg}) // default: assert
	if err != nil {
		t.Fatal(err)
	}
	setFormat := func(subject string, f registry.JSONSchemaFormat) func() {
		return func() {
			if _, err := reg.SetConfig(ctx, subject, registry.Config{JSONSchemaFormat: f}); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []struct {
		name  string
		setup func()
		valid map[string]bool // of "not-an-email", per subject
	}{
		{"engine default asserts", func() {}, map[string]bool{"strict": false, "lenient": false, "d07": false, "d2020": false}},
		{"lenient annotates", setFormat("lenient", registry.JSONFormatAnnotate), map[string]bool{"strict": false, "lenient": true, "d07": false, "d2020": false}},
		{"global annotate", setFormat("", registry.JSONFormatAnnotate), map[string]bool{"strict": true, "lenient": true, "d07": true, "d2020": true}},
		{"strict asserts", setFormat("strict", registry.JSONFormatAssert), map[string]bool{"strict": false, "lenient": true, "d07": true, "d2020": true}},
		// draft: draft-07 asserts "format", 2020-12 annotates it.
		{"global draft", setFormat("", registry.JSONFormatDraft), map[string]bool{"strict": false, "lenient": true, "d07": false, "d2020": true}},
		{"lenient config deleted", func() {
			if _, err := reg.DeleteConfig(ctx, "lenient"); err != nil {
				t.Fatal(err)
			}
		}, map[string]bool{"strict": false, "lenient": false, "d07": false, "d2020": true}},
	}
	for _, s := range steps {
		s.setup()
		got := map[string]bool{}
		for subject := range s.valid {
			res, err := e.Validate(ctx, Request{Subject: subject, Format: FormatJSON, JSONText: []byte(`"not-an-email"`)})
			if err != nil {
				t.Fatalf("%s: %s: %v", s.name, subject, err)
			}
			got[subject] = !res.Invalid()
		}
		if diff := cmp.Diff(s.valid, got); diff != "" {
			t.Errorf("%s: whether \"not-an-email\" is valid, per subject (-want +got):\n%s", s.name, diff)
		}
	}
}
