package protocompat

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// fieldSet is a message's fields by number: those outside any oneof (top), and for every
// field the oneof holding it ("" for none).
type fieldSet struct {
	top   map[protoreflect.FieldNumber]protoreflect.FieldDescriptor
	all   map[protoreflect.FieldNumber]protoreflect.FieldDescriptor
	oneof map[protoreflect.FieldNumber]string
	// oneofs are the real (not synthetic) oneofs by name, in declaration order in names.
	oneofs map[string]protoreflect.OneofDescriptor
	names  []string
}

func fieldsOf(md protoreflect.MessageDescriptor) fieldSet {
	fs := fieldSet{
		top:    map[protoreflect.FieldNumber]protoreflect.FieldDescriptor{},
		all:    map[protoreflect.FieldNumber]protoreflect.FieldDescriptor{},
		oneof:  map[protoreflect.FieldNumber]string{},
		oneofs: map[string]protoreflect.OneofDescriptor{},
	}
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		fs.all[f.Number()] = f
		if od := realOneof(f); od != nil {
			fs.oneof[f.Number()] = string(od.Name())
		} else {
			fs.top[f.Number()] = f
		}
	}
	oneofs := md.Oneofs()
	for i := range oneofs.Len() {
		if od := oneofs.Get(i); !od.IsSynthetic() {
			fs.oneofs[string(od.Name())] = od
			fs.names = append(fs.names, string(od.Name()))
		}
	}
	return fs
}

// realOneof is the oneof holding f, nil for none or the synthetic oneof of a proto3 optional.
func realOneof(f protoreflect.FieldDescriptor) protoreflect.OneofDescriptor {
	if od := f.ContainingOneof(); od != nil && !od.IsSynthetic() {
		return od
	}
	return nil
}

// message compares two messages of the same name: oneof moves, oneofs, fields by number,
// then their nested types.
func (d *differ) message(o, u protoreflect.MessageDescriptor) {
	if !d.spend() {
		return
	}
	of, uf := fieldsOf(o), fieldsOf(u)
	// Top-level original fields not moved into a oneof of the update.
	remaining := make(map[protoreflect.FieldNumber]protoreflect.FieldDescriptor, len(of.top))
	for n, f := range of.top {
		remaining[n] = f
	}
	for _, name := range uf.names {
		moved, existing := 0, 0
		fields := uf.oneofs[name].Fields()
		for i := range fields.Len() {
			n := fields.Get(i).Number()
			if _, ok := remaining[n]; ok {
				delete(remaining, n)
				moved++
			} else if of.oneof[n] != "" {
				existing++
			}
		}
		switch {
		case moved > 1:
			d.addAt(name, MultipleFieldsMovedToOneof)
		case moved == 1 && existing > 0:
			d.addAt(name, FieldMovedToExistingOneof)
		}
	}
	for _, name := range unionKeys(of.oneofs, uf.oneofs) {
		oo, uo := of.oneofs[name], uf.oneofs[name]
		d.enter(name)
		switch {
		case uo == nil:
			d.add(OneofRemoved)
		case oo == nil:
			d.add(OneofAdded)
		default:
			d.oneof(oo, uo, uf.all)
		}
		d.leave()
	}
	for _, n := range unionKeys(remaining, uf.top) {
		if !d.spend() {
			return
		}
		ofd, ufd := remaining[n], uf.top[n]
		d.enter(strconv.Itoa(int(n)))
		switch {
		case ufd == nil && ofd.Cardinality() == protoreflect.Required:
			d.add(RequiredFieldRemoved)
		case ufd == nil:
			d.add(FieldRemoved)
		case ofd == nil && ufd.Cardinality() == protoreflect.Required:
			d.add(RequiredFieldAdded)
		case ofd == nil:
			d.add(FieldAdded)
		default:
			d.field(ofd, ufd)
		}
		d.leave()
	}
	// Fields whose oneof membership changed are compared by number too.
	for _, n := range unionKeys(of.all, uf.all) {
		ofd, ufd := of.all[n], uf.all[n]
		if ofd == nil || ufd == nil || of.oneof[n] == uf.oneof[n] {
			continue
		}
		if !d.spend() {
			return
		}
		d.enter(strconv.Itoa(int(n)))
		d.field(ofd, ufd)
		d.leave()
	}
	d.types(o.Messages(), u.Messages(), o.Enums(), u.Enums())
}

// oneof compares two oneofs of the same name by field number; updateAll holds every field
// of the update's message, so that a field that only left the oneof is not reported.
func (d *differ) oneof(o, u protoreflect.OneofDescriptor, updateAll map[protoreflect.FieldNumber]protoreflect.FieldDescriptor) {
	oFields, uFields := oneofFields(o), oneofFields(u)
	for _, n := range unionKeys(oFields, uFields) {
		if !d.spend() {
			return
		}
		ofd, ufd := oFields[n], uFields[n]
		d.enter(strconv.Itoa(int(n)))
		switch {
		case ufd == nil:
			if updateAll[n] == nil {
				d.add(OneofFieldRemoved)
			}
		case ofd == nil:
			d.add(OneofFieldAdded)
		default:
			d.field(ofd, ufd)
		}
		d.leave()
	}
}

func oneofFields(od protoreflect.OneofDescriptor) map[protoreflect.FieldNumber]protoreflect.FieldDescriptor {
	byNumber := map[protoreflect.FieldNumber]protoreflect.FieldDescriptor{}
	fields := od.Fields()
	for i := range fields.Len() {
		byNumber[fields.Get(i).Number()] = fields.Get(i)
	}
	return byNumber
}

// field compares two fields of the same number.
func (d *differ) field(o, u protoreflect.FieldDescriptor) {
	if o.Name() != u.Name() {
		d.add(FieldNameChanged)
	}
	d.fieldType(o, u, true)
}

// kind is Confluent's coarse field kind.
type kind int

const (
	scalarKind kind = iota // scalars and enums
	messageKind
	mapKind
)

func kindOf(f protoreflect.FieldDescriptor) kind {
	switch {
	case f.IsMap():
		return mapKind
	case f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind:
		return messageKind
	}
	return scalarKind
}

// wireGroup is Confluent's group of scalar types that read each other's values.
func wireGroup(k protoreflect.Kind) string {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind,
		protoreflect.BoolKind, protoreflect.EnumKind:
		return "general number"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "signed number"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "string or bytes"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "fixed32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "fixed64"
	}
	return k.String() // float, double
}

// label is the label written in .proto text for f: "" when none is (proto3 without
// "optional", oneof members, editions), as Confluent's parser sees it.
func label(f protoreflect.FieldDescriptor) string {
	switch {
	case f.Cardinality() == protoreflect.Repeated:
		return "repeated"
	case f.Cardinality() == protoreflect.Required:
		return "required"
	case f.ContainingOneof() != nil && !f.ContainingOneof().IsSynthetic():
		return ""
	case f.HasOptionalKeyword():
		return "optional"
	case f.ParentFile().Syntax() == protoreflect.Proto2:
		return "optional"
	}
	return ""
}

// fieldType compares the types of two fields (or map keys or values: withLabels false).
func (d *differ) fieldType(o, u protoreflect.FieldDescriptor, withLabels bool) {
	ko, ku := kindOf(o), kindOf(u)
	if ko != ku {
		d.add(FieldKindChanged)
		return
	}
	switch ko {
	case scalarKind:
		g := wireGroup(o.Kind())
		if g != wireGroup(u.Kind()) {
			d.add(FieldScalarKindChanged)
			return
		}
		lo, lu := label(o), label(u)
		if !withLabels || lo == "" || lu == "" || lo == lu {
			return
		}
		if g == "string or bytes" {
			d.add(FieldStringOrBytesLabelChanged)
		} else {
			d.add(FieldNumericLabelChanged)
		}
	case messageKind:
		d.messageType(o.Message(), u.Message())
	case mapKind:
		d.fieldType(o.MapKey(), u.MapKey(), false)
		d.fieldType(o.MapValue(), u.MapValue(), false)
	}
}

// localName is md's full name without its file's package.
func localName(md protoreflect.MessageDescriptor) string {
	full, pkg := string(md.FullName()), string(md.ParentFile().Package())
	if pkg != "" && strings.HasPrefix(full, pkg+".") {
		return full[len(pkg)+1:]
	}
	return full
}

// messageType compares the message types of a field: by name without the package, then,
// when either is defined in an imported file, field by field at the type's own path.
// Types both defined in the compared files themselves are compared by the scope walk.
func (d *differ) messageType(o, u protoreflect.MessageDescriptor) {
	on, un := localName(o), localName(u)
	if on != un {
		d.add(FieldNamedTypeChanged)
		return
	}
	if o == u || (o.ParentFile().Path() == d.original.Path() && u.ParentFile().Path() == d.update.Path()) {
		return
	}
	p := pair{o, u}
	if !d.done[p] {
		if _, inProgress := d.compatible[p]; inProgress {
			return // recursion: assumed compatible while being compared
		}
		d.compatible[p] = false
		saved, from := d.path, len(d.out)
		d.path = strings.Split(on, ".")
		d.message(o, u)
		d.path = saved
		ok := true
		for _, diff := range d.out[from:] {
			ok = ok && Compatible(diff.typ)
		}
		d.compatible[p], d.done[p] = ok, true
	}
	if !d.compatible[p] {
		d.add(FieldNamedTypeChanged)
	}
}
