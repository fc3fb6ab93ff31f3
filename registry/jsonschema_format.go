package registry

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSONSchemaFormat says what the "format" keyword of a JSON Schema does to a payload: fail it
// when the value is not of the format (an assertion), or only describe it (an annotation).
// It changes nothing about which schemas are valid or compatible, only payload validation.
type JSONSchemaFormat string

// The settings of config key schema_registry.json_schema.format.
const (
	// JSONFormatAssert asserts "format" in every draft, 2019-09 and 2020-12 included, where
	// the drafts make it an annotation by default. The default: producers expect an "email"
	// field to hold an email address.
	JSONFormatAssert JSONSchemaFormat = "assert"
	// JSONFormatAnnotate never asserts "format", in any draft, also where the schema's
	// metaschema requires the format-assertion vocabulary.
	JSONFormatAnnotate JSONSchemaFormat = "annotate"
	// JSONFormatDraft does what each draft says: drafts 4, 6 and 7 assert "format"; 2019-09
	// asserts it only when the schema's metaschema requires the format vocabulary
	// (".../draft/2019-09/vocab/format": true), 2020-12 only when it requires the
	// format-assertion vocabulary (".../draft/2020-12/vocab/format-assertion": true).
	JSONFormatDraft JSONSchemaFormat = "draft"
)

// DefaultJSONSchemaFormat is the setting when none is configured.
const DefaultJSONSchemaFormat = JSONFormatAssert

// ParseJSONSchemaFormat reads a setting, ignoring case and surrounding space; "" is the
// default.
func ParseJSONSchemaFormat(s string) (JSONSchemaFormat, error) {
	f := JSONSchemaFormat(strings.ToLower(strings.TrimSpace(s)))
	switch f {
	case "":
		return DefaultJSONSchemaFormat, nil
	case JSONFormatAssert, JSONFormatAnnotate, JSONFormatDraft:
		return f, nil
	}
	return "", fmt.Errorf("unknown JSON Schema format setting %q: want assert, annotate or draft", s)
}

// UnmarshalText implements encoding.TextUnmarshaler, so config files and environment variables
// are checked as they are read.
func (f *JSONSchemaFormat) UnmarshalText(b []byte) error {
	v, err := ParseJSONSchemaFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// ConfigureFormat sets c up to treat "format" as f says, for a schema made of docs (the root
// and its references, as they will be compiled). Call it before c.Compile and the returned
// function once c.Compile has returned: under annotate the "regex" format, which the library
// checks with the compiler's regular expression engine and does not let be overridden, is
// switched off only from then on, since the engine also compiles the schema's own patterns.
func ConfigureFormat(c *jsonschema.Compiler, f JSONSchemaFormat, docs ...any) (compiled func()) {
	switch f {
	case JSONFormatDraft:
		return func() {}
	case JSONFormatAnnotate:
		// The library asserts every format it knows in drafts 4 to 7 whatever the compiler is
		// told; a format registered on the compiler replaces its own, so each format name the
		// schema uses is replaced by one that accepts everything. Names it does not know it
		// never asserts.
		names := map[string]bool{}
		for _, doc := range docs {
			collectFormatNames(doc, names)
		}
		for name := range names {
			c.RegisterFormat(&jsonschema.Format{Name: name, Validate: func(any) error { return nil }})
		}
		var done atomic.Bool
		c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
			if done.Load() {
				return nil, nil // only payload values of "format": "regex" get here
			}
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, err
			}
			return re, nil
		})
		return func() { done.Store(true) }
	default:
		c.AssertFormat()
		return func() {}
	}
}

// collectFormatNames adds the string value of every member named "format" in doc to names
// (some are not keywords, e.g. inside "const": accepting everything under a name no keyword
// uses is harmless). Its recursion is no deeper than the compiler's own over the same document.
func collectFormatNames(doc any, names map[string]bool) {
	switch doc := doc.(type) {
	case map[string]any:
		if s, ok := doc["format"].(string); ok {
			names[s] = true
		}
		for _, v := range doc {
			collectFormatNames(v, names)
		}
	case []any:
		for _, v := range doc {
			collectFormatNames(v, names)
		}
	}
}
