package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2"

	"github.com/schemagate/schemagate/registry/protoschema"
)

// dependency is a registered schema that a schema being parsed references,
// directly or transitively. Dependencies are ordered so that every schema
// comes after the schemas it references.
type dependency struct {
	name string // the reference name its referrer uses
	ref  Reference
	typ  SchemaType
	text string // canonical text
}

// limits bounds the work a single schema text can cause.
type limits struct {
	maxBytes           int
	maxDepth           int
	maxUnionBranches   int // Avro union branches; 0 = no limit
	maxCombinatorItems int // JSON Schema allOf/anyOf/oneOf subschemas; 0 = no limit
}

// checkText refuses text that is too large, not UTF-8, nested too deeply
// or not JSON, before any schema parser sees it. Protobuf text is not JSON: only its size and
// encoding are checked here (protoschema bounds its nesting).
func checkText(typ SchemaType, text string, lim limits) error {
	if len(text) > lim.maxBytes {
		return errorf(ErrInvalidSchema, "invalid %s schema: text is %d bytes, the limit is %d", typ, len(text), lim.maxBytes)
	}
	if !utf8.ValidString(text) {
		return errorf(ErrInvalidSchema, "invalid %s schema: text is not valid UTF-8", typ)
	}
	if typ == SchemaTypeProtobuf {
		return nil
	}
	if d := jsonDepth(text, lim.maxDepth); d > lim.maxDepth {
		return errorf(ErrInvalidSchema, "invalid %s schema: JSON nesting is deeper than the limit of %d", typ, lim.maxDepth)
	}
	var raw json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return errorf(ErrInvalidSchema, "invalid %s schema: not valid JSON at byte offset %d: %s", typ, se.Offset, se.Error())
		}
		return errorf(ErrInvalidSchema, "invalid %s schema: not valid JSON: %s", typ, err.Error())
	}
	return nil
}

// jsonDepth returns the maximum nesting of objects and arrays in text,
// stopping early once it exceeds limit. It does not validate the JSON.
func jsonDepth(text string, limit int) int {
	depth, maxDepth := 0, 0
	inString, escaped := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > maxDepth {
				maxDepth = depth
				if maxDepth > limit {
					return maxDepth
				}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return maxDepth
}

// decodeJSON decodes text keeping numbers exact (json.Number).
func decodeJSON(text string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// marshalJSON encodes v compactly, without HTML escaping; map keys are
// sorted, so the result is deterministic.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// parsedSchema is a schema that parsed: its canonical text and the parsed form the
// compatibility checks work on.
type parsedSchema struct {
	typ       SchemaType
	canonical string
	avro      avro.Schema // AVRO only
	jsonRoot  any         // JSON only: the document, numbers as json.Number
	jsonRefs  map[string]any
	proto     *protoschema.Schema // PROTOBUF only
	metadata  string
	ruleSet   string
}

// schema is the Schema a parsed input registers as (without its ID).
func (p *parsedSchema) schema(refs []Reference) Schema {
	return Schema{Type: p.typ, Text: p.canonical, References: refs, Metadata: p.metadata, RuleSet: p.ruleSet}
}

// canonicalize validates text as a schema of type typ (with its dependencies available for
// name resolution) and returns its canonical text. It cannot be cancelled: the parsers' tests
// and fuzz targets use it.
func canonicalize(typ SchemaType, text string, deps []dependency, lim limits) (string, error) {
	p, err := parse(context.Background(), typ, text, deps, lim, false)
	if err != nil {
		return "", err
	}
	return p.canonical, nil
}

// parse validates text as a schema of type typ and returns it parsed. With normalize, JSON
// Schema text is also made independent of key order and Protobuf text is normalized (Avro's
// canonical text always is).
func parse(ctx context.Context, typ SchemaType, text string, deps []dependency, lim limits, normalize bool) (*parsedSchema, error) {
	if err := checkText(typ, text, lim); err != nil {
		return nil, err
	}
	if err := checkCombinators(typ, text, lim); err != nil {
		return nil, err
	}
	for _, d := range deps {
		if d.typ != typ {
			return nil, errorf(ErrInvalidSchema, "invalid %s schema: reference %q (subject %q version %d) is a %s schema; references must have the same type",
				typ, d.name, d.ref.Subject, d.ref.Version, d.typ)
		}
	}
	switch typ {
	case SchemaTypeAvro:
		schema, canonical, err := canonicalAvro(text, deps)
		if err != nil {
			return nil, err
		}
		return &parsedSchema{typ: typ, canonical: canonical, avro: schema}, nil
	case SchemaTypeJSON:
		canonical, err := canonicalJSONSchema(text, deps)
		if err != nil {
			return nil, err
		}
		p := &parsedSchema{typ: typ, canonical: canonical, jsonRefs: map[string]any{}}
		if p.jsonRoot, err = decodeJSON(text); err != nil {
			return nil, errorf(ErrInvalidSchema, "invalid JSON schema: not valid JSON: %s", err.Error())
		}
		for _, d := range deps {
			doc, err := decodeJSON(d.text)
			if err != nil {
				return nil, errorf(ErrInvalidSchema, "invalid JSON schema: referenced schema %q is not valid JSON", d.name)
			}
			p.jsonRefs[d.name] = doc
		}
		if normalize {
			b, err := marshalJSON(p.jsonRoot)
			if err != nil {
				return nil, errorf(ErrInvalidSchema, "invalid JSON schema: %s", err.Error())
			}
			p.canonical = string(b)
		}
		return p, nil
	case SchemaTypeProtobuf:
		return parseProtobuf(ctx, text, deps, lim, normalize)
	}
	return nil, errorf(ErrInvalidSchema, "unsupported schema type %q", typ)
}

// fingerprint identifies a schema by content: SHA-256 over the type, the
// canonical text and the references, each length-prefixed.
func fingerprint(typ SchemaType, canonical string, refs []Reference) string {
	h := sha256.New()
	write := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	write(string(typ))
	write(canonical)
	for _, r := range refs {
		write(r.Name)
		write(r.Subject)
		write(strconv.Itoa(r.Version))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// schemaFingerprint identifies a schema with its metadata and rule set. A schema without
// either keeps the plain fingerprint, so identities stored before they existed still match.
func schemaFingerprint(s Schema) string {
	fp := fingerprint(s.Type, s.Text, s.References)
	if s.Metadata == "" && s.RuleSet == "" {
		return fp
	}
	h := sha256.New()
	for _, part := range []string{fp, "metadata", s.Metadata, "ruleSet", s.RuleSet} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":" + part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// compactObject checks that text (optional) is a JSON object and returns it compacted.
func compactObject(what, text string) (string, error) {
	if strings.TrimSpace(text) == "" || strings.TrimSpace(text) == "null" {
		return "", nil
	}
	v, err := decodeJSON(text)
	if _, ok := v.(map[string]any); err != nil || !ok {
		return "", errorf(ErrInvalidSchema, "invalid %s: want a JSON object", what)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return "", errorf(ErrInvalidSchema, "invalid %s: %s", what, err.Error())
	}
	return buf.String(), nil
}

// errParserPanic is returned by the third-party parsers' guards.
var errParserPanic = errors.New("the parser failed on this schema")

// guard runs fn, a call into a third-party parser fed with client input,
// and turns a panic into errParserPanic: a bad schema must be refused, not
// crash the server. (hamba/avro v2.31.0 panics, for instance, on a field
// default given for a record type that refers to itself.) Only parser calls
// are guarded, so the fuzz tests still see panics in our own code.
func guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errParserPanic
		}
	}()
	return fn()
}

func jsonString(s string) string {
	b, _ := marshalJSON(s)
	return string(b)
}

// DescribeJSON names the kind of a decoded JSON value for a message that reaches clients:
// "null", "a boolean", "a number", "a string", "an array" or "an object", and any other value
// by its Go type.
func DescribeJSON(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
