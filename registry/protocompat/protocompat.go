// Package protocompat decides whether data written with one Protobuf schema can be read with
// another, using Confluent Schema Registry's Protobuf rules (its protobuf diff: SchemaDiff,
// MessageSchemaDiff, FieldSchemaDiff, OneOfDiff, EnumSchemaDiff) and reporting each problem
// under Confluent's Difference type name.
//
// The package only answers the reader/writer question. Confluent compares an "original" and
// an "update" schema; for BACKWARD the original is the old schema (the writer) and the update
// the new one (the reader), so Check(reader, writer) is Confluent's compare(writer, reader).
// Mapping compatibility levels to directions is the registry's job: BACKWARD is
// Check(new, old), FORWARD is Check(old, new), FULL is both.
//
// The rules, as Confluent applies them:
//
//   - Messages and enums are matched by name, scope by scope (the file's top level, then the
//     nested types of each matched message). A removed message is MESSAGE_REMOVED
//     (incompatible); added, moved or reordered messages (MESSAGE_ADDED, MESSAGE_MOVED) and
//     every enum change (ENUM_ADDED, ENUM_REMOVED, ENUM_CONST_ADDED, ENUM_CONST_CHANGED,
//     ENUM_CONST_REMOVED) are compatible. Map entry messages are not types of their own.
//   - Fields are matched by number. Adding or removing an optional field (FIELD_ADDED,
//     FIELD_REMOVED) and renaming one (FIELD_NAME_CHANGED) are compatible; adding or removing
//     a proto2 required field (REQUIRED_FIELD_ADDED, REQUIRED_FIELD_REMOVED) is not.
//   - A number kept with another type is compared by kind (scalar and enum, message, map:
//     FIELD_KIND_CHANGED), then by Confluent's wire-compatible groups of scalars
//     (int32/int64/uint32/uint64/bool and every enum; sint32/sint64; fixed32/sfixed32;
//     fixed64/sfixed64; string/bytes; float; double: FIELD_SCALAR_KIND_CHANGED), message types
//     by name without the package (FIELD_NAMED_TYPE_CHANGED), map keys and values likewise.
//     A message type defined in an imported file is compared field by field, its reasons
//     reported at the type's own path (e.g. "#/GoogleHome/1"), and the field also gets
//     FIELD_NAMED_TYPE_CHANGED when that comparison is incompatible.
//   - A label change of a scalar field whose label is written in both schemas (optional,
//     required, repeated) is FIELD_NUMERIC_LABEL_CHANGED for numbers and enums
//     (incompatible) and FIELD_STRING_OR_BYTES_LABEL_CHANGED for string and bytes
//     (compatible).
//   - Oneofs are matched by name: ONEOF_ADDED, ONEOF_REMOVED and ONEOF_FIELD_ADDED are
//     compatible; a field removed from a oneof and from the message is ONEOF_FIELD_REMOVED;
//     moving more than one existing field into one oneof is MULTIPLE_FIELDS_MOVED_TO_ONEOF;
//     moving one into a oneof that already held fields of an earlier oneof is
//     FIELD_MOVED_TO_EXISTING_ONEOF. Fields whose oneof membership changed are still compared
//     by number. The synthetic oneofs of proto3 "optional" fields are not oneofs.
//   - A package change is PACKAGE_CHANGED, which Confluent counts as compatible.
//
// Known places where Confluent's rules are weaker than the wire format, kept for parity and
// documented here so that nobody mistakes them for our own judgement: Confluent has no syntax
// change rule (proto2 ↔ proto3 is judged by the fields only); it compares no labels of
// message fields and no labels when one side has none (a proto3 field without "optional"),
// so optional → required of a message field and int32 → repeated int32 in proto3 pass; and
// it does not look at reserved numbers or names.
//
// Every reason is reported, each with Confluent's path ("#/" then message names, oneof names
// and field or enum value numbers) and a description naming the rule. A pair of message
// types compared through an imported type is compared once, also when it recurses.
// Descriptions are written for people and may reach registry clients; Types and Paths are
// stable.
package protocompat

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/schemagate/schemagate/registry/compatbudget"
)

// Difference types, named as Confluent's Protobuf Difference.Type values.
const (
	PackageChanged                 = "PACKAGE_CHANGED"
	MessageAdded                   = "MESSAGE_ADDED"
	MessageRemoved                 = "MESSAGE_REMOVED"
	MessageMoved                   = "MESSAGE_MOVED"
	EnumAdded                      = "ENUM_ADDED"
	EnumRemoved                    = "ENUM_REMOVED"
	EnumConstAdded                 = "ENUM_CONST_ADDED"
	EnumConstChanged               = "ENUM_CONST_CHANGED"
	EnumConstRemoved               = "ENUM_CONST_REMOVED"
	FieldAdded                     = "FIELD_ADDED"
	FieldRemoved                   = "FIELD_REMOVED"
	FieldNameChanged               = "FIELD_NAME_CHANGED"
	FieldKindChanged               = "FIELD_KIND_CHANGED"
	FieldScalarKindChanged         = "FIELD_SCALAR_KIND_CHANGED"
	FieldNamedTypeChanged          = "FIELD_NAMED_TYPE_CHANGED"
	FieldNumericLabelChanged       = "FIELD_NUMERIC_LABEL_CHANGED"
	FieldStringOrBytesLabelChanged = "FIELD_STRING_OR_BYTES_LABEL_CHANGED"
	RequiredFieldAdded             = "REQUIRED_FIELD_ADDED"
	RequiredFieldRemoved           = "REQUIRED_FIELD_REMOVED"
	OneofAdded                     = "ONEOF_ADDED"
	OneofRemoved                   = "ONEOF_REMOVED"
	OneofFieldAdded                = "ONEOF_FIELD_ADDED"
	OneofFieldRemoved              = "ONEOF_FIELD_REMOVED"
	MultipleFieldsMovedToOneof     = "MULTIPLE_FIELDS_MOVED_TO_ONEOF"
	FieldMovedToExistingOneof      = "FIELD_MOVED_TO_EXISTING_ONEOF"
	BudgetExceeded                 = "COMPATIBILITY_BUDGET_EXCEEDED" // not Confluent's: Check's fail-closed reason
)

// Compatible reports whether a difference of type t leaves the schemas compatible, as
// Confluent's SchemaDiff.COMPATIBLE_CHANGES says. Check only reports the others.
func Compatible(t string) bool {
	switch t {
	case PackageChanged, MessageAdded, MessageMoved, EnumAdded, EnumRemoved, EnumConstAdded,
		EnumConstChanged, EnumConstRemoved, FieldAdded, FieldRemoved, FieldNameChanged,
		FieldStringOrBytesLabelChanged, OneofAdded, OneofRemoved, OneofFieldAdded:
		return true
	}
	return false
}

// Incompatibility is one reason data written with the writer schema cannot be read with the
// reader schema.
type Incompatibility struct {
	// Type is one of the Confluent Difference type names declared above.
	Type string
	// Path is Confluent's path: "#/" followed by message names, oneof names and field or
	// enum value numbers, e.g. "#/Order/3" or "#/Order/payment/4"; "#/" is the file.
	Path string
	// Description is a human sentence naming the path, in Confluent's wording.
	Description string
}

// Check reports why data written with writer cannot be read by reader under Confluent's
// Protobuf rules. Empty means compatible. Descriptions call the schemas "reader" and
// "writer". Both must be non-nil; a nil one is a caller bug and yields nil. It spends at most
// compatbudget.DefaultUnits work units; a check that needs more is reported as one
// BudgetExceeded incompatibility (fail closed).
func Check(reader, writer protoreflect.FileDescriptor) []Incompatibility {
	out, err := CheckMetered(compatbudget.New(context.Background(), 0), reader, writer)
	if err != nil {
		return []Incompatibility{{Type: BudgetExceeded, Path: "#/", Description: err.Error()}}
	}
	return out
}

// CheckMetered is Check spending the work units of m: every message pair compared, field
// number matched and enum value matched costs one. When m says stop (budget exceeded or
// context ended) it returns m's error and the reasons found so far, which prove nothing: the
// caller must treat the pair as not proven compatible.
func CheckMetered(m *compatbudget.Meter, reader, writer protoreflect.FileDescriptor) ([]Incompatibility, error) {
	return CheckMeteredLabeled(m, reader, writer, "reader", "writer")
}

// CheckMeteredLabeled is CheckMetered with the words used for the two schemas in
// descriptions: Confluent's messages are CheckMeteredLabeled(m, new, old, "new", "old") for
// BACKWARD and CheckMeteredLabeled(m, old, new, "old", "new") for FORWARD.
func CheckMeteredLabeled(m *compatbudget.Meter, reader, writer protoreflect.FileDescriptor, readerLabel, writerLabel string) ([]Incompatibility, error) {
	if reader == nil || writer == nil {
		return nil, nil
	}
	var out []Incompatibility
	for _, d := range differences(m, writer, reader) {
		if Compatible(d.typ) {
			continue
		}
		out = append(out, Incompatibility{Type: d.typ, Path: d.path, Description: describe(d, readerLabel, writerLabel)})
	}
	return out, m.Err()
}

// describe is Confluent's sentence for an incompatible difference; update is the reader,
// original the writer.
func describe(d difference, update, original string) string {
	return strings.NewReplacer("{type}", d.typ, "{path}", "'"+d.path+"'", "{update}", update, "{original}", original).
		Replace(sentence(d.typ))
}

// sentence is the template of Confluent's description of a difference type.
func sentence(typ string) string {
	switch typ {
	case MessageRemoved:
		return "The {update} schema is missing a MESSAGE type at path {path} in the {original} schema"
	case FieldKindChanged:
		return "The type of a field at path {path} in the {update} schema does not match the {original} schema"
	case FieldScalarKindChanged:
		return "The kind of a SCALAR field at path {path} in the {update} schema does not match its kind in the {original} schema"
	case FieldNamedTypeChanged:
		return "The type of a MESSAGE field at path {path} in the {update} schema does not match its type in the {original} schema"
	case FieldNumericLabelChanged:
		return "The label for a NUMERIC field at path {path} in the {update} schema does not match its label in the {original} schema"
	case RequiredFieldAdded:
		return "A required field at path {path} in the {update} schema is missing in the {original} schema"
	case RequiredFieldRemoved:
		return "The {update} schema is missing a required field at path {path} in the {original} schema"
	case OneofFieldRemoved:
		return "The {update} schema is missing a oneof field at path {path} in the {original} schema"
	case MultipleFieldsMovedToOneof:
		return "Multiple fields in the oneof at path {path} in the {update} schema are outside a oneof in the {original} schema"
	case FieldMovedToExistingOneof:
		return "A field in the oneof at path {path} in the {update} schema is outside an existing oneof in the {original} schema"
	}
	return "{type} at path {path} of the {update} schema"
}

// difference is one change from the original (writer) to the update (reader), compatible or
// not, as Confluent's Difference.
type difference struct {
	typ, path string
}

// pair is an (original, update) pair of message types compared through a field.
type pair struct {
	original, update protoreflect.MessageDescriptor
}

// differ holds the state of one comparison.
type differ struct {
	meter            *compatbudget.Meter
	original, update protoreflect.FileDescriptor
	path             []string
	out              []difference
	// compared holds the type pairs compared through a field: true once finished and
	// compatible, false while in progress (assumed compatible, as Confluent does with a
	// schema being compared) or finished and incompatible; done tells the two apart.
	compatible map[pair]bool
	done       map[pair]bool
}

// differences lists every change from original to update, compatible or not, in a stable
// order: the package, then scope by scope messages (by name) and enums (by name).
func differences(m *compatbudget.Meter, original, update protoreflect.FileDescriptor) []difference {
	d := &differ{meter: m, original: original, update: update, compatible: map[pair]bool{}, done: map[pair]bool{}}
	if original.Package() != update.Package() {
		d.add(PackageChanged)
	}
	d.types(original.Messages(), update.Messages(), original.Enums(), update.Enums())
	return d.out
}

// add records a difference of type t at the current path.
func (d *differ) add(t string) {
	d.out = append(d.out, difference{typ: t, path: "#/" + strings.Join(d.path, "/")})
}

// addAt records a difference of type t at the current path plus seg.
func (d *differ) addAt(seg, t string) {
	d.enter(seg)
	d.add(t)
	d.leave()
}

func (d *differ) enter(seg string) { d.path = append(d.path, seg) }
func (d *differ) leave()           { d.path = d.path[:len(d.path)-1] }

// spend charges one work unit and reports whether the comparison may go on.
func (d *differ) spend() bool { return d.meter.Spend(1) }

// types compares the messages and enums of one scope by name.
func (d *differ) types(om, um protoreflect.MessageDescriptors, oe, ue protoreflect.EnumDescriptors) {
	oMsgs, oIdx := messagesByName(om)
	uMsgs, uIdx := messagesByName(um)
	for _, name := range unionKeys(oMsgs, uMsgs) {
		if !d.spend() {
			return
		}
		o, u := oMsgs[name], uMsgs[name]
		d.enter(name)
		switch {
		case u == nil:
			d.add(MessageRemoved)
		case o == nil:
			d.add(MessageAdded)
		default:
			d.message(o, u)
			if oIdx[name] != uIdx[name] {
				d.add(MessageMoved)
			}
		}
		d.leave()
	}
	oEnums, uEnums := enumsByName(oe), enumsByName(ue)
	for _, name := range unionKeys(oEnums, uEnums) {
		o, u := oEnums[name], uEnums[name]
		d.enter(name)
		switch {
		case u == nil:
			d.add(EnumRemoved)
		case o == nil:
			d.add(EnumAdded)
		default:
			d.enum(o, u)
		}
		d.leave()
	}
}

// messagesByName indexes the messages of a scope by name, with their position among them;
// map entries are left out, as they are no types in .proto text.
func messagesByName(mds protoreflect.MessageDescriptors) (map[string]protoreflect.MessageDescriptor, map[string]int) {
	byName := map[string]protoreflect.MessageDescriptor{}
	index := map[string]int{}
	for i := range mds.Len() {
		md := mds.Get(i)
		if md.IsMapEntry() {
			continue
		}
		index[string(md.Name())] = len(byName)
		byName[string(md.Name())] = md
	}
	return byName, index
}

func enumsByName(eds protoreflect.EnumDescriptors) map[string]protoreflect.EnumDescriptor {
	byName := map[string]protoreflect.EnumDescriptor{}
	for i := range eds.Len() {
		byName[string(eds.Get(i).Name())] = eds.Get(i)
	}
	return byName
}

// enum compares enum values by number.
func (d *differ) enum(o, u protoreflect.EnumDescriptor) {
	oVals, uVals := valuesByNumber(o.Values()), valuesByNumber(u.Values())
	for _, n := range unionKeys(oVals, uVals) {
		if !d.spend() {
			return
		}
		ov, uv := oVals[n], uVals[n]
		switch {
		case uv == nil:
			d.addAt(strconv.Itoa(int(n)), EnumConstRemoved)
		case ov == nil:
			d.addAt(strconv.Itoa(int(n)), EnumConstAdded)
		case ov.Name() != uv.Name():
			d.addAt(strconv.Itoa(int(n)), EnumConstChanged)
		}
	}
}

// valuesByNumber indexes enum values by number; of aliases the last one counts, as in
// Confluent.
func valuesByNumber(vs protoreflect.EnumValueDescriptors) map[protoreflect.EnumNumber]protoreflect.EnumValueDescriptor {
	byNumber := map[protoreflect.EnumNumber]protoreflect.EnumValueDescriptor{}
	for i := range vs.Len() {
		byNumber[vs.Get(i).Number()] = vs.Get(i)
	}
	return byNumber
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys[K int | string | protoreflect.FieldNumber | protoreflect.EnumNumber, V any](a, b map[K]V) []K {
	keys := make([]K, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
