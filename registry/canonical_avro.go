package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/hamba/avro/v2"
)

// avroWriter writes the canonical text of an Avro schema.
//
// The canonical form follows hamba/avro's own MarshalJSON layout (full names
// instead of name+namespace, aliases qualified, "int" instead of
// {"type":"int"}, fixed key order, custom properties sorted by key) but is
// written by us, walking hamba's parsed schema next to the original
// document, because hamba's output loses information we must keep:
//   - field defaults are re-encoded from hamba's converted Go values: a bytes
//     default "\u00ff" comes out base64-encoded ("/w=="), a fixed default
//     comes out as an array of numbers (which hamba then refuses to parse),
//     long defaults above 2^53 lose precision and an int default 1.5 is
//     silently truncated to 1;
//   - a name that refers to a type from a schema reference is inlined at its
//     first use (so the referring schema would carry a copy of the
//     referenced definition).
//
// So defaults and custom property values are copied exactly from the
// original document (numbers verbatim, objects with sorted keys), and a type
// written as a name in the original stays a name (its full name).
//
// A named type in the null namespace defined inside a record of another
// namespace is written with `"namespace":""`, as Avro Java writes it: a bare
// name there would read as a name in the enclosing namespace.
type avroWriter struct {
	buf bytes.Buffer
	ns  string // namespace of the record being written, "" at the top
}

func (w *avroWriter) raw(s string) { w.buf.WriteString(s) }

func (w *avroWriter) str(s string) { w.buf.WriteString(jsonString(s)) }

func (w *avroWriter) value(v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	w.buf.Write(b)
	return nil
}

func (w *avroWriter) strings(ss []string) {
	w.raw("[")
	for i, s := range ss {
		if i > 0 {
			w.raw(",")
		}
		w.str(s)
	}
	w.raw("]")
}

// props writes the custom properties hamba kept for a schema, taking each
// value from the original object when it is there.
func (w *avroWriter) props(props map[string]any, orig any) error {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	om, _ := orig.(map[string]any)
	for _, k := range keys {
		v := props[k]
		if ov, ok := om[k]; ok {
			v = ov
		}
		w.raw(",")
		w.str(k)
		w.raw(":")
		if err := w.value(v); err != nil {
			return fmt.Errorf("property %q: %w", k, err)
		}
	}
	return nil
}

// isNameRef reports whether the original document refers to a named type by
// name (a string, or an object whose "type" is a name) rather than defining it.
func isNameRef(orig any) bool {
	switch o := orig.(type) {
	case string:
		return true
	case map[string]any:
		t, _ := o["type"].(string)
		switch t {
		case "record", "error", "enum", "fixed":
			return false
		}
		return true
	}
	return false
}

// schema writes s, whose original document is orig: a name where orig refers to a named type,
// the definition otherwise.
func (w *avroWriter) schema(s avro.Schema, orig any) error {
	if m, ok := orig.(map[string]any); ok {
		if u, ok := m["type"].([]any); ok { // {"type": [...]} is a union too
			orig = u
		}
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		w.str(s.Schema().FullName())
		return nil
	case avro.NamedSchema:
		if isNameRef(orig) {
			w.str(s.FullName())
			return nil
		}
	}
	om, _ := orig.(map[string]any)
	switch s := s.(type) {
	case *avro.NullSchema:
		return w.primitive(avro.Null, nil, s.Props(), om)
	case *avro.PrimitiveSchema:
		return w.primitive(s.Type(), s.Logical(), s.Props(), om)
	case *avro.RecordSchema:
		return w.record(s, om)
	case *avro.EnumSchema:
		return w.enum(s, om)
	case *avro.FixedSchema:
		return w.fixed(s, om)
	case *avro.ArraySchema:
		return w.container("array", "items", s.Items(), s.Props(), om)
	case *avro.MapSchema:
		return w.container("map", "values", s.Values(), s.Props(), om)
	case *avro.UnionSchema:
		return w.union(s, orig)
	default:
		return fmt.Errorf("cannot canonicalize schema of type %s", s.Type())
	}
}

// primitive writes a primitive type (null included): its bare name, or an object when it has
// a logical type or custom properties.
func (w *avroWriter) primitive(typ avro.Type, logical avro.LogicalSchema, props map[string]any, orig map[string]any) error {
	if logical == nil && len(props) == 0 {
		w.str(string(typ))
		return nil
	}
	w.raw(`{"type":`)
	w.str(string(typ))
	w.logical(logical)
	return w.endObject(props, orig)
}

// namedType opens the object of a record, enum or fixed definition. It refuses a name that is
// a primitive type's, which hamba accepts.
func (w *avroWriter) namedType(s avro.NamedSchema, doc string) error {
	if msg := primitiveName(string(s.Type()), s.FullName()); msg != "" {
		return errors.New(msg)
	}
	w.raw(`{"name":`)
	w.str(s.FullName())
	if s.Namespace() == "" && w.ns != "" {
		w.raw(`,"namespace":""`)
	}
	w.names(s.Aliases(), doc)
	return nil
}

func (w *avroWriter) enum(s *avro.EnumSchema, orig map[string]any) error {
	if err := w.namedType(s, s.Doc()); err != nil {
		return err
	}
	w.raw(`,"type":"enum","symbols":`)
	w.strings(s.Symbols())
	if s.HasDefault() {
		w.raw(`,"default":`)
		w.str(s.Default())
	}
	return w.endObject(s.Props(), orig)
}

func (w *avroWriter) fixed(s *avro.FixedSchema, orig map[string]any) error {
	if err := w.namedType(s, ""); err != nil {
		return err
	}
	w.raw(fmt.Sprintf(`,"type":"fixed","size":%d`, s.Size()))
	w.logical(s.Logical())
	return w.endObject(s.Props(), orig)
}

// container writes an array or a map: typ is "array" or "map", key "items" or "values".
func (w *avroWriter) container(typ, key string, sub avro.Schema, props map[string]any, orig map[string]any) error {
	w.raw(`{"type":"` + typ + `","` + key + `":`)
	if err := w.schema(sub, orig[key]); err != nil {
		return err
	}
	return w.endObject(props, orig)
}

func (w *avroWriter) union(s *avro.UnionSchema, orig any) error {
	branches, _ := orig.([]any)
	if len(branches) != len(s.Types()) {
		return fmt.Errorf("cannot canonicalize union: %d branches parsed from %d", len(s.Types()), len(branches))
	}
	w.raw("[")
	for i, t := range s.Types() {
		if i > 0 {
			w.raw(",")
		}
		if err := w.schema(t, branches[i]); err != nil {
			return err
		}
	}
	w.raw("]")
	return nil
}

// field opens the object of a record field: its name, then its aliases and doc when it has
// them.
func (w *avroWriter) field(f *avro.Field) {
	w.raw(`{"name":`)
	w.str(f.Name())
	w.names(f.Aliases(), f.Doc())
}

// names writes the aliases and the doc of a named type or field, when it has them.
func (w *avroWriter) names(aliases []string, doc string) {
	if len(aliases) > 0 {
		w.raw(`,"aliases":`)
		w.strings(aliases)
	}
	if doc != "" {
		w.raw(`,"doc":`)
		w.str(doc)
	}
}

// endObject writes the custom properties and closes the object.
func (w *avroWriter) endObject(props map[string]any, orig map[string]any) error {
	if err := w.props(props, orig); err != nil {
		return err
	}
	w.raw("}")
	return nil
}

// checkIntegerDefault refuses a non-integral or out-of-range default for an
// int or long field, which hamba accepts and silently truncates.
func checkIntegerDefault(typ avro.Schema, def any) error {
	p, ok := typ.(*avro.PrimitiveSchema)
	if !ok || (p.Type() != avro.Int && p.Type() != avro.Long) {
		return nil
	}
	n, ok := def.(json.Number)
	if !ok {
		return nil // hamba has checked the kind of value
	}
	bits := 64
	if p.Type() == avro.Int {
		bits = 32
	}
	if _, err := strconv.ParseInt(n.String(), 10, bits); err != nil {
		return fmt.Errorf("default %s is not a valid %s", n, p.Type())
	}
	return nil
}

func (w *avroWriter) logical(l avro.LogicalSchema) {
	if l == nil {
		return
	}
	w.raw(`,"logicalType":`)
	w.str(string(l.Type()))
	if d, ok := l.(*avro.DecimalLogicalSchema); ok {
		w.raw(fmt.Sprintf(`,"precision":%d`, d.Precision()))
		if d.Scale() > 0 {
			w.raw(fmt.Sprintf(`,"scale":%d`, d.Scale()))
		}
	}
}

func (w *avroWriter) record(s *avro.RecordSchema, orig map[string]any) error {
	if err := w.namedType(s, s.Doc()); err != nil {
		return err
	}
	outer := w.ns
	w.ns = s.Namespace()
	defer func() { w.ns = outer }()
	if s.IsError() {
		w.raw(`,"type":"error","fields":[`)
	} else {
		w.raw(`,"type":"record","fields":[`)
	}
	origFields, _ := orig["fields"].([]any)
	if len(origFields) != len(s.Fields()) {
		return fmt.Errorf("cannot canonicalize record %q: %d fields parsed from %d", s.FullName(), len(s.Fields()), len(origFields))
	}
	for i, f := range s.Fields() {
		if i > 0 {
			w.raw(",")
		}
		of, _ := origFields[i].(map[string]any)
		w.field(f)
		w.raw(`,"type":`)
		if err := w.schema(f.Type(), of["type"]); err != nil {
			return fmt.Errorf("record %q field %q: %w", s.Name(), f.Name(), err)
		}
		if f.HasDefault() {
			w.raw(`,"default":`)
			def, ok := of["default"]
			if !ok {
				def = f.Default()
			}
			if err := checkIntegerDefault(f.Type(), def); err != nil {
				return fmt.Errorf("record %q field %q: %w", s.Name(), f.Name(), err)
			}
			if err := w.value(def); err != nil {
				return fmt.Errorf("record %q field %q: default: %w", s.FullName(), f.Name(), err)
			}
		}
		if f.Order() != "" && f.Order() != avro.Asc {
			w.raw(`,"order":`)
			w.str(string(f.Order()))
		}
		if err := w.endObject(f.Props(), of); err != nil {
			return err
		}
	}
	w.raw("]")
	return w.endObject(s.Props(), orig)
}
