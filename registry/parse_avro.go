package registry

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hamba/avro/v2"
)

// canonicalAvro parses text with hamba/avro and returns its canonical text.
// A fresh SchemaCache is used for every parse (never avro.DefaultSchemaCache,
// which is global and would let one client's names leak into another's
// schema); the referenced schemas are parsed into it first so that their
// named types resolve.
func canonicalAvro(text string, deps []dependency) (avro.Schema, string, error) {
	cache := &avro.SchemaCache{}
	for _, d := range deps {
		if err := guard(func() error { _, err := avro.ParseWithCache(hambaText(d.text), "", cache); return err }); err != nil {
			return nil, "", errorf(ErrInvalidSchema, "invalid AVRO schema: referenced schema %q (subject %q version %d) does not parse: %s",
				d.name, d.ref.Subject, d.ref.Version, strings.TrimPrefix(err.Error(), "avro: "))
		}
	}
	orig, err := decodeJSON(text)
	if err != nil {
		return nil, "", errorf(ErrInvalidSchema, "invalid AVRO schema: not valid JSON: %s", err.Error())
	}
	if msg := checkAvroAttributeCase(orig, ""); msg != "" {
		return nil, "", errorf(ErrInvalidSchema, "invalid AVRO schema: %s", msg)
	}
	// hamba treats text that is not JSON as a type name; checkText has
	// already refused that, so every input here is a JSON document.
	var schema avro.Schema
	err = guard(func() (err error) { schema, err = avro.ParseWithCache(hambaText(text), "", cache); return err })
	if errors.Is(err, errParserPanic) {
		return nil, "", errorf(ErrInvalidSchema, "invalid AVRO schema: %s", err.Error())
	}
	if err != nil {
		// hamba's messages do not say where the problem is; walk the
		// document ourselves to find it, and fall back to hamba's words.
		// (ParseWithCache adds names to cache only on success, so cache
		// holds just the referenced names here.)
		loc := &avroLocator{cache: cache, defined: map[string]bool{}}
		if msg := loc.walk(orig, "", ""); msg != "" {
			return nil, "", errorf(ErrInvalidSchema, "invalid AVRO schema: %s", msg)
		}
		if msg := locateDefaultError(orig, err.Error()); msg != "" {
			return nil, "", errorf(ErrInvalidSchema, "invalid AVRO schema: %s", msg)
		}
		return nil, "", errorf(ErrInvalidSchema, "invalid AVRO schema: %s", strings.TrimPrefix(err.Error(), "avro: "))
	}
	w := &avroWriter{}
	if err := w.schema(schema, orig); err != nil {
		return nil, "", errorf(ErrInvalidSchema, "invalid AVRO schema: %s", err.Error())
	}
	return schema, w.buf.String(), nil
}

var avroPrimitives = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

var avroName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// avroLocator re-walks a schema document that hamba refused, to report the
// first problem together with where it is (record, field, union branch...).
// It only runs after hamba has refused the schema, so its rules shape error
// messages but never decide acceptance.
type avroLocator struct {
	cache   *avro.SchemaCache
	defined map[string]bool // full names defined so far, in document order
}

func at(where, msg string) string {
	if where == "" {
		return msg
	}
	return where + ": " + msg
}

func avroFullName(namespace, name string) string {
	if namespace == "" || strings.Contains(name, ".") {
		return name
	}
	return namespace + "." + name
}

func (l *avroLocator) walk(v any, ns, where string) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return l.checkTypeName(v, ns, where)
	case []any:
		for i, b := range v {
			branch := strings.TrimSpace(where + fmt.Sprintf(" union branch %d", i+1))
			if _, nested := b.([]any); nested {
				return at(branch, "a union may not directly contain another union")
			}
			if msg := l.walk(b, ns, branch); msg != "" {
				return msg
			}
		}
		return ""
	case map[string]any:
		return l.complex(v, ns, where)
	default:
		return at(where, fmt.Sprintf("expected a schema (type name, object or union array), found %s", DescribeJSON(v)))
	}
}

func (l *avroLocator) checkTypeName(name, ns, where string) string {
	if avroPrimitives[name] {
		return ""
	}
	full := avroFullName(ns, name)
	if l.defined[full] || l.cache.Get(full) != nil {
		return ""
	}
	return at(where, fmt.Sprintf("unknown type %q", name))
}

func (l *avroLocator) complex(m map[string]any, ns, where string) string {
	t, ok := m["type"]
	if !ok {
		return at(where, `missing "type"`)
	}
	switch t := t.(type) {
	case []any:
		return l.walk(t, ns, where)
	case string:
		switch t {
		case "record", "error":
			return l.record(m, ns, where)
		case "enum", "fixed":
			name, _, msg := l.define(t, m, ns, where)
			if msg != "" {
				return msg
			}
			label := fmt.Sprintf("%s %q", t, name)
			if t == "enum" {
				syms, ok := m["symbols"].([]any)
				if !ok {
					return at(where, label+`: "symbols" must be an array of names`)
				}
				seen := map[string]bool{}
				for _, s := range syms {
					str, ok := s.(string)
					if !ok || !avroName.MatchString(str) {
						return at(where, fmt.Sprintf("%s: invalid symbol %s", label, jsonStringOf(s)))
					}
					if seen[str] {
						return at(where, fmt.Sprintf("%s: duplicate symbol %q", label, str))
					}
					seen[str] = true
				}
			} else if _, ok := m["size"]; !ok {
				return at(where, label+`: missing "size"`)
			}
			return ""
		case "array":
			items, ok := m["items"]
			if !ok {
				return at(where, `array has no "items"`)
			}
			return l.walk(items, ns, strings.TrimSpace(where+" array items"))
		case "map":
			values, ok := m["values"]
			if !ok {
				return at(where, `map has no "values"`)
			}
			return l.walk(values, ns, strings.TrimSpace(where+" map values"))
		default:
			return l.checkTypeName(t, ns, where)
		}
	default:
		return at(where, fmt.Sprintf(`"type" must be a type name or a union array, found %s`, DescribeJSON(t)))
	}
}

// define checks the name of a named type and records it (with its aliases).
func (l *avroLocator) define(kind string, m map[string]any, ns, where string) (name, namespace, msg string) {
	name, _ = m["name"].(string)
	if name == "" {
		return "", "", at(where, kind+` has no "name"`)
	}
	namespace = ns
	if n, ok := m["namespace"].(string); ok {
		namespace = n // "" is the null namespace, not the enclosing one
		if !strings.Contains(name, ".") && !validFullName(n, true) {
			return "", "", at(where, fmt.Sprintf("%s %q: namespace %q is invalid: each part must match [A-Za-z_][A-Za-z0-9_]*", kind, name, n))
		}
	}
	if i := strings.LastIndex(name, "."); i >= 0 {
		namespace = name[:i]
	}
	full := avroFullName(namespace, name)
	if !validFullName(full, false) {
		return "", "", at(where, fmt.Sprintf("%s name %q is invalid: each part must match [A-Za-z_][A-Za-z0-9_]*", kind, name))
	}
	if msg := primitiveName(kind, full); msg != "" {
		return "", "", at(where, msg)
	}
	if l.defined[full] {
		return "", "", at(where, fmt.Sprintf("%s %q: the name is already defined", kind, name))
	}
	l.defined[full] = true
	if aliases, ok := m["aliases"].([]any); ok {
		for _, a := range aliases {
			if s, ok := a.(string); ok {
				l.defined[avroFullName(namespace, s)] = true
			}
		}
	}
	return name, namespace, ""
}

// validFullName reports whether every dot-separated part of full is an Avro
// name; the empty string (the null namespace) passes only when emptyOK.
func validFullName(full string, emptyOK bool) bool {
	if full == "" {
		return emptyOK
	}
	for _, part := range strings.Split(full, ".") {
		if !avroName.MatchString(part) {
			return false
		}
	}
	return true
}

// primitiveName refuses a named type whose full name is a primitive type
// name: a reference to it would read as the primitive. Avro Java and Python
// compare the full name, so "ns.int" (or "int" in namespace ns) is allowed.
func primitiveName(kind, full string) string {
	if !avroPrimitives[full] {
		return ""
	}
	return fmt.Sprintf("%s %q: a named type may not be named after the primitive type %q", kind, full, full)
}

func (l *avroLocator) record(m map[string]any, ns, where string) string {
	kind, _ := m["type"].(string)
	name, recNS, msg := l.define(kind, m, ns, where)
	if msg != "" {
		return msg
	}
	label := fmt.Sprintf("%s %q", kind, name)
	fields, ok := m["fields"].([]any)
	if !ok {
		return at(where, label+`: "fields" must be an array`)
	}
	seen := map[string]bool{}
	for i, f := range fields {
		fm, ok := f.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s field #%d: must be an object, found %s", label, i+1, DescribeJSON(f))
		}
		fname, _ := fm["name"].(string)
		if fname == "" {
			return fmt.Sprintf("%s field #%d: missing \"name\"", label, i+1)
		}
		if !avroName.MatchString(fname) {
			return fmt.Sprintf("%s field %q: invalid name: must match [A-Za-z_][A-Za-z0-9_]*", label, fname)
		}
		if seen[fname] {
			return fmt.Sprintf("%s: duplicate field name %q", label, fname)
		}
		seen[fname] = true
		ft, ok := fm["type"]
		if !ok {
			return fmt.Sprintf("%s field %q: missing \"type\"", label, fname)
		}
		if msg := l.walk(ft, recNS, fmt.Sprintf("%s field %q", label, fname)); msg != "" {
			return msg
		}
	}
	return ""
}

var hambaDefaultError = regexp.MustCompile(`^avro: invalid default for field ([A-Za-z0-9_]+)\. `)

// locateDefaultError rewrites hamba's "invalid default for field x. <value>
// not a <type>" (which names neither the record nor, often, the value) into
// `record "R" field "x": default <value> does not match the field's type`.
func locateDefaultError(orig any, hambaMsg string) string {
	m := hambaDefaultError.FindStringSubmatch(hambaMsg)
	if m == nil {
		return ""
	}
	var found string
	var walk func(v any)
	walk = func(v any) {
		if found != "" {
			return
		}
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			if fields, ok := v["fields"].([]any); ok {
				for _, f := range fields {
					fm, _ := f.(map[string]any)
					if name, _ := fm["name"].(string); name == m[1] {
						if def, ok := fm["default"]; ok {
							rec, _ := v["name"].(string)
							found = fmt.Sprintf("record %q field %q: default %s does not match the field's type", rec, name, jsonStringOf(def))
							return
						}
					}
				}
			}
			for _, k := range []string{"type", "items", "values", "fields"} {
				walk(v[k])
			}
		}
	}
	walk(orig)
	return found
}

func jsonStringOf(v any) string {
	b, err := marshalJSON(v)
	if err != nil {
		return DescribeJSON(v)
	}
	return string(b)
}

// hambaText returns text in the form hamba/avro should parse it.
//
// The Avro specification makes `"namespace": ""` the null namespace, but
// hamba treats an empty namespace as absent and puts the type in the
// enclosing namespace, changing its full name (Z becomes x.Z). Such a
// definition inside a non-null namespace is rewritten to the name ".Z",
// which hamba splits into the null namespace and the name Z, so the full
// name, its aliases and the names its fields resolve are the spec's. Text
// without such a definition is returned unchanged.
func hambaText(text string) string {
	doc, err := decodeJSON(text)
	if err != nil || !nullNamespaceNames(doc, "") {
		return text
	}
	b, err := marshalJSON(doc)
	if err != nil {
		return text
	}
	return string(b)
}

// nullNamespaceNames rewrites, in place, the definitions in v (a schema in
// namespace ns) that declare the null namespace inside a non-null one, and
// reports whether it rewrote any. Values that are not schemas are left for
// the parser to refuse.
func nullNamespaceNames(v any, ns string) bool {
	switch v := v.(type) {
	case []any:
		changed := false
		for _, b := range v {
			changed = nullNamespaceNames(b, ns) || changed
		}
		return changed
	case map[string]any:
		t, _ := v["type"].(string)
		switch t {
		case "array":
			return nullNamespaceNames(v["items"], ns)
		case "map":
			return nullNamespaceNames(v["values"], ns)
		case "record", "error", "enum", "fixed":
		default:
			return nullNamespaceNames(v["type"], ns) // a union in "type", or a reference
		}
		name, _ := v["name"].(string)
		declared, explicit := v["namespace"].(string)
		changed := false
		switch {
		case strings.Contains(name, "."):
			ns = name[:strings.LastIndex(name, ".")]
		case explicit && declared == "" && ns != "" && name != "":
			v["name"] = "." + name
			delete(v, "namespace")
			ns, changed = "", true
		case explicit:
			ns = declared
		}
		fields, _ := v["fields"].([]any)
		for _, f := range fields {
			if fm, ok := f.(map[string]any); ok {
				changed = nullNamespaceNames(fm["type"], ns) || changed
			}
		}
		return changed
	}
	return false
}
