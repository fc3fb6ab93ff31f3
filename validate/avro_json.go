package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2"

	"github.com/schemagate/schemagate/internal/jsonpointer"
	"github.com/schemagate/schemagate/registry"
)

// ValidateAvroJSON checks that v, a JSON value decoded with UseNumber (map[string]any,
// []any, json.Number, string, bool, nil; float64 is also accepted for numbers), is a value
// of schema s in Avro's JSON encoding.
//
// Policy, following the Avro specification's JSON encoding:
//   - null is JSON null and boolean a JSON boolean.
//   - int and long are JSON integers, written without fraction or exponent
//     (type_mismatch otherwise) and within 32 or 64 bits (constraint_violation otherwise).
//   - float and double are JSON numbers or the strings "NaN", "Infinity" and "-Infinity";
//     a number beyond the type's range is a constraint_violation.
//   - bytes and fixed are strings of code points U+0000 to U+00FF, one per byte
//     (constraint_violation otherwise); a fixed has exactly its size of them.
//   - an enum is one of its symbols (enum_violation otherwise).
//   - an array is a JSON array, a map a JSON object.
//   - a record is an object holding every field: defaults are not implied, so an absent
//     field is missing_field, and a key the record does not declare is unknown_field.
//   - a union value is null for its null branch, otherwise an object with exactly one key
//     naming the branch, whose value is of that branch. The name is the full name
//     (namespace.name) of a record, enum or fixed and the type name otherwise ("int",
//     "string", "array", "map"), for logical types too ("long", not hamba/avro's
//     "long.timestamp-millis"). A bad branch name or shape is a type_mismatch.
//   - Arrays and objects nest at most lim.MaxDepth deep; a deeper value is one decode_error
//     and is not looked into.
//
// Every departure is reported, up to the first lim.MaxFindings findings, in a stable order (record
// fields in schema order, then unknown keys and map keys sorted). Each finding's Path is a
// JSON pointer into v, union branch keys included. A nil result means valid. Zero limits take
// the defaults.
func ValidateAvroJSON(s avro.Schema, v any, lim Limits) []Finding {
	findings, _ := validateAvroJSON(s, v, lim)
	return findings
}

// validateAvroJSON is ValidateAvroJSON that also returns how many findings there are in all,
// those past the cap included. The walk goes on past the cap to count them: its cost is bounded
// by the size of v, which the caller has already checked.
func validateAvroJSON(s avro.Schema, v any, lim Limits) ([]Finding, int) {
	lim = lim.WithDefaults()
	w := avroJSONWalker{maxDepth: lim.MaxDepth, maxFindings: lim.MaxFindings}
	w.walk(s, v, 0)
	return w.findings, w.total
}

type avroJSONWalker struct {
	path        []string // unescaped segments of the current value
	findings    []Finding
	total       int // findings found, kept or not
	maxDepth    int
	maxFindings int
}

// add records a finding: kept while fewer than maxFindings are, counted in total always.
func (w *avroJSONWalker) add(kind Kind, format string, args ...any) {
	w.total++
	if len(w.findings) >= w.maxFindings {
		return
	}
	w.findings = append(w.findings, Finding{Kind: kind, Path: jsonpointer.FromTokens(w.path), Message: fmt.Sprintf(format, args...)})
}

// at walks a child value under one more path segment.
func (w *avroJSONWalker) at(seg string, s avro.Schema, v any, depth int) {
	w.path = append(w.path, seg)
	w.walk(s, v, depth)
	w.path = w.path[:len(w.path)-1]
}

// enter checks the depth limit for an array or object about to be looked into.
func (w *avroJSONWalker) enter(depth int) bool {
	if depth >= w.maxDepth {
		w.add(KindDecodeError, "value nested deeper than the limit of %d", w.maxDepth)
		return false
	}
	return true
}

func (w *avroJSONWalker) mismatch(want string, v any) {
	w.add(KindTypeMismatch, "expected %s, got %s", want, avroJSONKind(v))
}

func (w *avroJSONWalker) walk(s avro.Schema, v any, depth int) {
	switch s := s.(type) {
	case *avro.NullSchema:
		if v != nil {
			w.mismatch("null", v)
		}
	case *avro.PrimitiveSchema:
		w.primitive(s.Type(), v)
	case *avro.RecordSchema:
		w.record(s, v, depth)
	case *avro.EnumSchema:
		str, ok := v.(string)
		if !ok {
			w.mismatch("a symbol of enum "+s.FullName(), v)
		} else if !slices.Contains(s.Symbols(), str) {
			w.add(KindEnumViolation, "%q is not a symbol of enum %s (%s)", avroClip(str), s.FullName(), avroListNames(s.Symbols()))
		}
	case *avro.FixedSchema:
		n, ok := w.latin1(v, "fixed "+s.FullName())
		if ok && n != s.Size() {
			w.add(KindConstraintViolation, "fixed %s holds %d bytes, got %d", s.FullName(), s.Size(), n)
		}
	case *avro.ArraySchema:
		a, ok := v.([]any)
		if !ok {
			w.mismatch("an array", v)
			return
		}
		if !w.enter(depth) {
			return
		}
		for i, item := range a {
			w.at(strconv.Itoa(i), s.Items(), item, depth+1)
		}
	case *avro.MapSchema:
		m, ok := v.(map[string]any)
		if !ok {
			w.mismatch("a map (JSON object)", v)
			return
		}
		if !w.enter(depth) {
			return
		}
		for _, k := range avroSortedKeys(m) {
			w.at(k, s.Values(), m[k], depth+1)
		}
	case *avro.UnionSchema:
		w.union(s, v, depth)
	case *avro.RefSchema:
		if s.Schema() == nil {
			w.add(KindOther, "schema has an unresolved named type reference")
			return
		}
		w.walk(s.Schema(), v, depth)
	default:
		if s == nil {
			w.add(KindOther, "no schema to validate with")
			return
		}
		w.add(KindOther, "unsupported schema type %q", s.Type())
	}
}

func (w *avroJSONWalker) primitive(t avro.Type, v any) {
	switch t {
	case avro.Null:
		if v != nil {
			w.mismatch("null", v)
		}
	case avro.Boolean:
		if _, ok := v.(bool); !ok {
			w.mismatch("a boolean", v)
		}
	case avro.Int:
		w.integer(v, "int", 32)
	case avro.Long:
		w.integer(v, "long", 64)
	case avro.Float:
		w.float(v, "float", 32)
	case avro.Double:
		w.float(v, "double", 64)
	case avro.String:
		if _, ok := v.(string); !ok {
			w.mismatch("a string", v)
		}
	case avro.Bytes:
		w.latin1(v, "bytes")
	default:
		w.add(KindOther, "unsupported primitive type %q", t)
	}
}

func (w *avroJSONWalker) integer(v any, name string, bits int) {
	var text string
	switch n := v.(type) {
	case json.Number:
		text = n.String()
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) {
			w.add(KindTypeMismatch, "expected %s (an integer), got %v", name, n)
		} else if lo, hi := -math.Ldexp(1, bits-1), math.Ldexp(1, bits-1); n < lo || n >= hi {
			w.add(KindConstraintViolation, "%v is out of range for %s", n, name)
		}
		return
	default:
		w.mismatch(name+" (an integer)", v)
		return
	}
	_, err := strconv.ParseInt(text, 10, bits)
	switch {
	case err == nil:
	case errors.Is(err, strconv.ErrRange):
		w.add(KindConstraintViolation, "%s is out of range for %s (%d bits)", avroClip(text), name, bits)
	default:
		w.add(KindTypeMismatch, "expected %s (an integer without fraction or exponent), got %s", name, avroClip(text))
	}
}

func (w *avroJSONWalker) float(v any, name string, bits int) {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(n.String(), bits)
		switch {
		case err == nil:
		case errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0):
			w.add(KindConstraintViolation, "%s is out of range for %s", avroClip(n.String()), name)
		case errors.Is(err, strconv.ErrRange): // underflow rounds towards zero, as every encoder does
		default:
			w.add(KindTypeMismatch, "expected %s, got %q", name, avroClip(n.String()))
		}
	case float64:
		if bits == 32 && !math.IsInf(n, 0) && math.Abs(n) > math.MaxFloat32 {
			w.add(KindConstraintViolation, "%v is out of range for %s", n, name)
		}
	case string:
		if n != "NaN" && n != "Infinity" && n != "-Infinity" {
			w.add(KindTypeMismatch, "expected %s (a number, or \"NaN\", \"Infinity\" or \"-Infinity\"), got string %q", name, avroClip(n))
		}
	default:
		w.mismatch(name+" (a number)", v)
	}
}

// latin1 checks a bytes or fixed value: a string of code points up to U+00FF. It returns the
// number of bytes the string stands for.
func (w *avroJSONWalker) latin1(v any, name string) (int, bool) {
	str, ok := v.(string)
	if !ok {
		w.mismatch(name+" (a string)", v)
		return 0, false
	}
	n := 0
	for _, r := range str {
		if r > 0xff {
			w.add(KindConstraintViolation, "%s is written one character per byte, U+0000 to U+00FF; character %d is %U", name, n, r)
			return 0, false
		}
		n++
	}
	return n, true
}

func (w *avroJSONWalker) record(s *avro.RecordSchema, v any, depth int) {
	m, ok := v.(map[string]any)
	if !ok {
		w.mismatch("record "+s.FullName()+" (a JSON object)", v)
		return
	}
	if !w.enter(depth) {
		return
	}
	fields := s.Fields()
	present := 0
	for _, f := range fields {
		fv, ok := m[f.Name()]
		if !ok {
			w.path = append(w.path, f.Name())
			w.add(KindMissingField, "field %q of record %s is missing (Avro JSON does not imply defaults)", f.Name(), s.FullName())
			w.path = w.path[:len(w.path)-1]
			continue
		}
		present++
		w.at(f.Name(), f.Type(), fv, depth+1)
	}
	if present == len(m) {
		return // every key is a field
	}
	for _, k := range avroSortedKeys(m) {
		if !slices.ContainsFunc(fields, func(f *avro.Field) bool { return f.Name() == k }) {
			w.path = append(w.path, k)
			w.add(KindUnknownField, "record %s has no field %q", s.FullName(), avroClip(k))
			w.path = w.path[:len(w.path)-1]
		}
	}
}

func (w *avroJSONWalker) union(s *avro.UnionSchema, v any, depth int) {
	types := s.Types()
	if v == nil {
		if !slices.ContainsFunc(types, func(t avro.Schema) bool { return t.Type() == avro.Null }) {
			w.add(KindTypeMismatch, "null is not a value of union [%s]", avroBranchList(types))
		}
		return
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		got := avroJSONKind(v)
		if ok {
			got = fmt.Sprintf("an object with %d keys", len(m))
		}
		w.add(KindTypeMismatch, "expected a union value of [%s]: null or an object with one key naming the branch, got %s", avroBranchList(types), got)
		return
	}
	for name, bv := range m {
		if name == "null" {
			w.add(KindTypeMismatch, "the null branch of a union is written as JSON null, not {\"null\": ...}")
			return
		}
		for _, t := range types {
			if t.Type() != avro.Null && avroBranchName(t) == name {
				if w.enter(depth) {
					w.at(name, t, bv, depth+1)
				}
				return
			}
		}
		w.add(KindTypeMismatch, "%q is not a branch of union [%s]", avroClip(name), avroBranchList(types))
	}
}

// avroBranchName is the name that selects a union branch in Avro JSON: the full name of a named
// type, the type name otherwise.
func avroBranchName(s avro.Schema) string {
	if r, ok := s.(*avro.RefSchema); ok && r.Schema() != nil {
		return r.Schema().FullName()
	}
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

func avroBranchList(types []avro.Schema) string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = avroBranchName(t)
	}
	return avroListNames(names)
}

// avroListNames quotes names for a message, eliding past ten.
func avroListNames(names []string) string {
	const most = 10
	quoted := make([]string, 0, min(len(names), most)+1)
	for i, n := range names {
		if i == most {
			quoted = append(quoted, fmt.Sprintf("… %d more", len(names)-most))
			break
		}
		quoted = append(quoted, strconv.Quote(n))
	}
	return strings.Join(quoted, ", ")
}

// avroJSONKind describes a decoded JSON value for a message: a number with its value, any
// other JSON value as the registry names it in schema errors.
func avroJSONKind(v any) string {
	switch v := v.(type) {
	case json.Number:
		return "number " + avroClip(v.String())
	case float64:
		return "number " + strconv.FormatFloat(v, 'g', -1, 64)
	case nil, bool, string, []any, map[string]any:
		return registry.DescribeJSON(v)
	default:
		return fmt.Sprintf("a %T, which is not a decoded JSON value", v)
	}
}

// avroClip shortens payload text quoted in a message, which reaches clients.
func avroClip(s string) string {
	const most = 64
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func avroSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
