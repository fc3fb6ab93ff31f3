// Package avrocompat decides whether data written with one Avro schema can be
// read with another, following the "Schema Resolution" rules of the Avro
// specification the way Confluent Schema Registry applies them (Confluent
// delegates to Avro Java's SchemaCompatibility).
//
// The package only answers the reader/writer question. Mapping compatibility
// levels to directions is the registry's job: BACKWARD is Check(new, old),
// FORWARD is Check(old, new), FULL is both, and the transitive levels repeat
// the check over older versions.
//
// Policy decisions worth knowing about:
//
//   - Named types (record, enum, fixed) match when their unqualified names are
//     equal, or when one of the reader's aliases (fully qualified, as the Avro
//     specification resolves them) equals the writer's full name. A namespace
//     change alone is therefore compatible, as in Confluent.
//   - Logical types are ignored: they are checked on their underlying types
//     only. In particular a change of a decimal's precision or scale is
//     reported compatible, because Avro Java's SchemaCompatibility (and thus
//     Confluent) does not look at them either (AVRO-2078 proposed that check
//     and was never merged).
//   - Writer field aliases are not consulted; only the reader's field aliases
//     are, as in Avro Java. A reader field whose name and aliases match more
//     than one writer field is incompatible (TYPE_MISMATCH naming the writer
//     fields), as Avro Java's checker refuses it whatever the types.
//   - Every reason is reported, not only the first. A pair of named types that
//     occurs more than once is checked once, and its reasons carry the path of
//     its first occurrence.
//
// Descriptions are written for people and may reach registry clients; Types
// and Paths are stable.
package avrocompat

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/schemagate/schemagate/registry/compatbudget"
)

// Incompatibility types, named as Confluent's errorType values.
const (
	NameMismatch                   = "NAME_MISMATCH"
	FixedSizeMismatch              = "FIXED_SIZE_MISMATCH"
	MissingEnumSymbols             = "MISSING_ENUM_SYMBOLS"
	ReaderFieldMissingDefaultValue = "READER_FIELD_MISSING_DEFAULT_VALUE"
	TypeMismatch                   = "TYPE_MISMATCH"
	MissingUnionBranch             = "MISSING_UNION_BRANCH"
)

// Incompatibility is one reason data written with the writer schema cannot be
// read with the reader schema.
type Incompatibility struct {
	// Type is one of the Confluent errorType names declared above.
	Type string
	// Path is a JSON pointer, Confluent style, e.g. "/fields/1/type". It
	// points into the reader schema, except that a union branch index is the
	// writer's branch (as in Avro Java). The root is "/".
	Path string
	// Description is a human sentence naming the field or type.
	Description string
}

// Check reports why data written with writer cannot be read by reader,
// following the Avro specification's schema-resolution rules. Empty means
// compatible. Descriptions call the schemas "reader" and "writer"; use
// CheckLabeled for Confluent's "new"/"old" wording. Both schemas must be
// non-nil parsed schemas; a nil one is a caller bug and yields nil.
func Check(reader, writer avro.Schema) []Incompatibility {
	return CheckLabeled(reader, writer, "reader", "writer")
}

// CheckLabeled is Check with the words used for the two schemas in
// descriptions. Confluent's messages are CheckLabeled(new, old, "new", "old")
// for BACKWARD and CheckLabeled(old, new, "old", "new") for FORWARD. It
// spends at most compatbudget.DefaultUnits work units; a check that needs
// more is reported as one incompatibility saying so (fail closed).
func CheckLabeled(reader, writer avro.Schema, readerLabel, writerLabel string) []Incompatibility {
	out, err := CheckMetered(compatbudget.New(context.Background(), 0), reader, writer, readerLabel, writerLabel)
	if err != nil {
		return []Incompatibility{{Type: TypeMismatch, Path: "/", Description: err.Error()}}
	}
	return out
}

// CheckMetered is CheckLabeled spending the work units of m: every schema
// pair walked, union branch tried and field matched costs one. When m says
// stop (budget exceeded or context ended) it returns m's error and the
// reasons found so far, which prove nothing: the caller must treat the pair
// as not proven compatible.
func CheckMetered(m *compatbudget.Meter, reader, writer avro.Schema, readerLabel, writerLabel string) ([]Incompatibility, error) {
	if reader == nil || writer == nil {
		return nil, nil
	}
	st := &state{
		meter:       m,
		readerLabel: readerLabel,
		writerLabel: writerLabel,
		seen:        map[pair]bool{},
		reporting:   map[pair]bool{},
		memo:        map[pair]bool{},
		stack:       map[pair]int{},
		low:         math.MaxInt,
	}
	w := &walker{st: st}
	w.walk(reader, writer, "")
	return w.out, m.Err()
}

// pair identifies a (reader, writer) pair of named types by identity.
type pair struct{ reader, writer avro.Schema }

// state is shared by the reporting walk and the probes made for union
// decisions during one Check.
type state struct {
	readerLabel, writerLabel string
	meter                    *compatbudget.Meter

	// seen holds the named pairs the reporting walk has entered; entering
	// one again (recursion, or a second use of the same types) reports
	// nothing more. reporting holds those of them still being walked.
	seen      map[pair]bool
	reporting map[pair]bool

	// memo caches settled answers, from probes and from finished reporting
	// walks. Probes assume a pair compatible while it is still being walked,
	// as Avro Java does with recursion in progress:
	//
	//   - A pair on the reporting walk is assumed compatible; if it is not,
	//     its own reasons are reported, so the verdict is unaffected and the
	//     answer may be cached.
	//   - A pair on the probe stack is assumed compatible at its depth. low
	//     is the smallest depth assumed since it was last reset, so that a
	//     positive answer resting on an enclosing probe is not cached.
	//     Negative answers never rest on assumptions (assumptions only make
	//     probes more lenient) and are always cached.
	memo  map[pair]bool
	stack map[pair]int
	low   int
}

// walker walks a reader and a writer schema side by side. A probing walker
// records reasons only to count them and stops at the first one.
type walker struct {
	st      *state
	probing bool
	out     []Incompatibility
}

func (w *walker) walk(reader, writer avro.Schema, path string) {
	if w.probing && len(w.out) > 0 {
		return
	}
	if !w.st.meter.Spend(1) {
		if w.probing {
			w.out = append(w.out, Incompatibility{Type: TypeMismatch}) // unproven fails closed
		}
		return
	}
	reader, writer = deref(reader), deref(writer)
	if reader == nil || writer == nil {
		return
	}
	rt, wt := reader.Type(), writer.Type()
	if rt == wt {
		switch rt {
		case avro.Union:
			// Every branch the writer may have written must be readable by
			// some branch of the reader.
			for i, branch := range writer.(*avro.UnionSchema).Types() {
				if !w.unionAccepts(reader.(*avro.UnionSchema), branch) {
					w.report(MissingUnionBranch, join(path, strconv.Itoa(i)),
						"The %s schema is missing a type inside a union field at path '%s' in the %s schema (no branch reads %s)",
						w.st.readerLabel, pointer(join(path, strconv.Itoa(i))), w.st.writerLabel, describe(branch))
				}
			}
		case avro.Array:
			w.walk(reader.(*avro.ArraySchema).Items(), writer.(*avro.ArraySchema).Items(), join(path, "items"))
		case avro.Map:
			w.walk(reader.(*avro.MapSchema).Values(), writer.(*avro.MapSchema).Values(), join(path, "values"))
		case avro.Record, avro.Enum, avro.Fixed:
			w.named(reader.(avro.NamedSchema), writer.(avro.NamedSchema), path)
		}
		// Primitives of the same type always match; logical types are
		// deliberately ignored (see the package comment).
		return
	}
	if wt == avro.Union {
		// A non-union reader must read every branch the writer may have
		// written. The writer's branch index is appended, as Avro Java does.
		for i, branch := range writer.(*avro.UnionSchema).Types() {
			w.walk(reader, branch, join(path, strconv.Itoa(i)))
		}
		return
	}
	if rt == avro.Union {
		if !w.unionAccepts(reader.(*avro.UnionSchema), writer) {
			w.report(MissingUnionBranch, path,
				"The %s schema is missing a type inside a union field at path '%s' in the %s schema (no branch reads %s)",
				w.st.readerLabel, pointer(path), w.st.writerLabel, describe(writer))
		}
		return
	}
	if promotable(wt, rt) {
		return
	}
	w.report(TypeMismatch, path,
		"The type (path '%s') of a field in the %s schema does not match with the %s schema: %s cannot read %s",
		pointer(path), w.st.readerLabel, w.st.writerLabel, describe(reader), describe(writer))
}

// unionAccepts reports whether some branch of the reader union can read data
// written with the (non-union) writer schema.
func (w *walker) unionAccepts(reader *avro.UnionSchema, writer avro.Schema) bool {
	for _, branch := range reader.Types() {
		p := &walker{st: w.st, probing: true}
		p.walk(branch, writer, "")
		if len(p.out) == 0 {
			return true
		}
	}
	return false
}

// named checks a pair of records, enums or fixeds of the same kind, at most
// once per pair.
func (w *walker) named(reader, writer avro.NamedSchema, path string) {
	st := w.st
	key := pair{reader, writer}
	if !w.probing {
		if st.seen[key] {
			return
		}
		st.seen[key] = true
		st.reporting[key] = true
		before := len(w.out)
		w.namedBody(reader, writer, path)
		delete(st.reporting, key)
		if _, done := st.memo[key]; !done {
			st.memo[key] = len(w.out) == before
		}
		return
	}

	if ok, done := st.memo[key]; done {
		if !ok {
			w.report(TypeMismatch, path, "incompatible") // probes only count reasons
		}
		return
	}
	if st.reporting[key] {
		return
	}
	if depth, onStack := st.stack[key]; onStack {
		st.low = min(st.low, depth)
		return
	}
	depth := len(st.stack)
	st.stack[key] = depth
	outer := st.low
	st.low = math.MaxInt
	before := len(w.out)
	w.namedBody(reader, writer, path)
	delete(st.stack, key)
	ok := len(w.out) == before
	if !ok || st.low >= depth {
		st.memo[key] = ok
		st.low = outer
	} else {
		st.low = min(outer, st.low)
	}
}

func (w *walker) namedBody(reader, writer avro.NamedSchema, path string) {
	if !namesMatch(reader, writer) {
		w.report(NameMismatch, join(path, "name"),
			"The name of the %s schema '%s' does not match the name of the %s schema '%s' (path '%s')",
			w.st.readerLabel, reader.FullName(), w.st.writerLabel, writer.FullName(), pointer(join(path, "name")))
	}
	switch r := reader.(type) {
	case *avro.RecordSchema:
		w.fields(r, writer.(*avro.RecordSchema), path)
	case *avro.EnumSchema:
		wr := writer.(*avro.EnumSchema)
		if r.HasDefault() {
			// Avro 1.9+: unknown writer symbols resolve to the reader's default.
			return
		}
		var missing []string
		for _, sym := range wr.Symbols() {
			if !slices.Contains(r.Symbols(), sym) {
				missing = append(missing, sym)
			}
		}
		if len(missing) > 0 {
			w.report(MissingEnumSymbols, join(path, "symbols"),
				"The %s schema is missing enum symbols '%s' at path '%s' in the %s schema",
				w.st.readerLabel, strings.Join(missing, ", "), pointer(join(path, "symbols")), w.st.writerLabel)
		}
	case *avro.FixedSchema:
		wr := writer.(*avro.FixedSchema)
		if r.Size() != wr.Size() {
			w.report(FixedSizeMismatch, join(path, "size"),
				"The size of fixed type '%s' at path '%s' in the %s schema (%d) does not match the %s schema (%d)",
				r.FullName(), pointer(join(path, "size")), w.st.readerLabel, r.Size(), w.st.writerLabel, wr.Size())
		}
	}
}

func (w *walker) fields(reader, writer *avro.RecordSchema, path string) {
	for i, rf := range reader.Fields() {
		fpath := join(join(path, "fields"), strconv.Itoa(i))
		matches := writerFields(w.st.meter, writer, rf)
		switch len(matches) {
		case 0:
			// Writer fields absent from the reader are skipped by resolution;
			// a reader field absent from the writer takes its default.
			// (Avro Java has a special case for a missing enum field without
			// default whose enum has a default; it ends in a TYPE_MISMATCH
			// against the writer record, so it is incompatible either way
			// and we report the plainer reason.)
			if !rf.HasDefault() {
				w.report(ReaderFieldMissingDefaultValue, fpath,
					"The field '%s' at path '%s' in the %s schema has no default value and is missing in the %s schema",
					rf.Name(), pointer(fpath), w.st.readerLabel, w.st.writerLabel)
			}
		case 1:
			w.walk(rf.Type(), matches[0].Type(), join(fpath, "type"))
		default:
			// Resolution would have to pick one of several writer fields;
			// Avro Java's checker refuses the pair and its reader fails on
			// data ("Duplicate field"), whatever the types are.
			names := make([]string, len(matches))
			for j, f := range matches {
				names[j] = "'" + f.Name() + "'"
			}
			w.report(TypeMismatch, fpath,
				"The field '%s' at path '%s' in the %s schema matches more than one field of the %s schema by name and aliases (%s)",
				rf.Name(), pointer(fpath), w.st.readerLabel, w.st.writerLabel, strings.Join(names, " and "))
		}
	}
}

// writerFields finds the writer fields a reader field could read: the one
// with the reader field's name, then those named by each of its aliases, in
// that order and each once. More than one is ambiguous.
// Each writer field looked at costs one unit of m.
func writerFields(m *compatbudget.Meter, writer *avro.RecordSchema, rf *avro.Field) []*avro.Field {
	var found []*avro.Field
	for _, name := range append([]string{rf.Name()}, rf.Aliases()...) {
		for _, f := range writer.Fields() {
			if !m.Spend(1) {
				return found
			}
			if f.Name() == name && !slices.Contains(found, f) {
				found = append(found, f)
			}
		}
	}
	return found
}

// namesMatch applies the spec's naming rule: equal unqualified names, or a
// reader alias equal to the writer's full name.
func namesMatch(reader, writer avro.NamedSchema) bool {
	return reader.Name() == writer.Name() || slices.Contains(reader.Aliases(), writer.FullName())
}

// promotable lists the spec's promotions from a writer type to a reader type.
func promotable(writer, reader avro.Type) bool {
	switch writer {
	case avro.Int:
		return reader == avro.Long || reader == avro.Float || reader == avro.Double
	case avro.Long:
		return reader == avro.Float || reader == avro.Double
	case avro.Float:
		return reader == avro.Double
	case avro.String:
		return reader == avro.Bytes
	case avro.Bytes:
		return reader == avro.String
	}
	return false
}

// deref follows named-type references to the schema they name.
func deref(s avro.Schema) avro.Schema {
	for s != nil {
		ref, ok := s.(*avro.RefSchema)
		if !ok {
			return s
		}
		named := ref.Schema()
		if named == nil {
			return nil
		}
		s = named
	}
	return s
}

func describe(s avro.Schema) string {
	s = deref(s)
	if s == nil {
		return "nothing"
	}
	if n, ok := s.(avro.NamedSchema); ok {
		return fmt.Sprintf("%s '%s'", s.Type(), n.FullName())
	}
	return string(s.Type())
}

func (w *walker) report(typ, path, format string, args ...any) {
	if w.probing {
		// A probe only asks whether there is a reason; the text is never shown.
		w.out = append(w.out, Incompatibility{Type: typ})
		return
	}
	w.out = append(w.out, Incompatibility{
		Type:        typ,
		Path:        pointer(path),
		Description: fmt.Sprintf(format, args...),
	})
}

// join appends one reference token to a JSON pointer. Tokens here are field
// indexes and fixed keywords, so no escaping is needed.
func join(path, token string) string { return path + "/" + token }

// pointer renders the root as "/", as Confluent does.
func pointer(path string) string {
	if path == "" {
		return "/"
	}
	return path
}
