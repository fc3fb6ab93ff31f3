package protoschema

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Canonical returns the schema re-printed from its descriptor in a fixed layout: comments
// and white space dropped, type names fully qualified (".pkg.Type"), options spelled out
// (custom ones as "(.full.name)"), and declarations in descriptor order, so that parsing the
// result gives back an equal FileDescriptorProto and the same message indexes. Oneofs are
// printed where their first field is; nested messages before the first field whose map
// entry or group follows them in the descriptor.
func (s *Schema) Canonical() string { return s.print(false) }

// Normalized returns the ?normalize=true form, following Confluent's normalization on top
// of Canonical: imports sorted and deduplicated, options sorted by name, fields sorted by
// number with oneofs after them (sorted by their first field), enum values sorted by number
// then name, reserved ranges and names one per statement in order, and proto2 files say
// `syntax = "proto2";`. The order of messages and enums is kept: message indexes depend on
// it. Re-spellings of one schema (comments, white space, declaration order of fields and
// options, relative or qualified names) normalize to the same text.
func (s *Schema) Normalized() string { return s.print(true) }

// printer writes one file.
type printer struct {
	b         strings.Builder
	normalize bool
	editions  bool
	proto3    bool
	files     *protoregistry.Files // the file and its imports, to read custom options
	types     *dynamicpb.Types
}

func (s *Schema) print(normalize bool) string {
	fdp := s.proto
	p := &printer{normalize: normalize, editions: fdp.GetSyntax() == "editions", proto3: fdp.GetSyntax() == "proto3"}
	p.files = new(protoregistry.Files)
	addFile(p.files, s.File)
	p.types = dynamicpb.NewTypes(p.files)

	switch {
	case p.editions:
		p.line(0, "edition = "+quote(strings.TrimPrefix(fdp.GetEdition().String(), "EDITION_"))+";")
	case fdp.GetSyntax() != "" || normalize:
		p.line(0, "syntax = "+quote(cmp.Or(fdp.GetSyntax(), "proto2"))+";")
	}
	if fdp.GetPackage() != "" {
		p.line(0, "package "+fdp.GetPackage()+";")
	}
	p.blank()
	p.imports(fdp)
	p.blank()
	p.options(0, fdp.GetOptions(), "google.protobuf.FileOptions")
	p.blank()
	scope := ""
	if fdp.GetPackage() != "" {
		scope = "." + fdp.GetPackage()
	}
	p.scope(0, scope, fdp.GetMessageType(), fdp.GetEnumType(), nil, nil, fdp.GetExtension())
	p.blank()
	for _, svc := range fdp.GetService() {
		p.service(svc)
	}
	return strings.TrimRight(p.b.String(), "\n") + "\n"
}

// blank ends a section of the file with an empty line, once.
func (p *printer) blank() {
	if s := p.b.String(); s != "" && !strings.HasSuffix(s, "\n\n") {
		p.b.WriteByte('\n')
	}
}

// addFile registers fd and its imports, each once.
func addFile(files *protoregistry.Files, fd protoreflect.FileDescriptor) {
	if _, err := files.FindFileByPath(fd.Path()); err == nil {
		return
	}
	imports := fd.Imports()
	for i := range imports.Len() {
		addFile(files, imports.Get(i).FileDescriptor)
	}
	_ = files.RegisterFile(fd) // a conflict leaves custom options of that file unread
}

// line writes one line at an indentation depth.
func (p *printer) line(depth int, text string) {
	for range depth {
		p.b.WriteString("  ")
	}
	p.b.WriteString(text)
	p.b.WriteByte('\n')
}

func (p *printer) imports(fdp *descriptorpb.FileDescriptorProto) {
	var plain, public, weak []string
	for i, dep := range fdp.GetDependency() {
		switch {
		case slices.Contains(fdp.GetPublicDependency(), int32(i)):
			public = append(public, dep)
		case slices.Contains(fdp.GetWeakDependency(), int32(i)):
			weak = append(weak, dep)
		default:
			plain = append(plain, dep)
		}
	}
	for _, group := range []struct {
		kw    string
		paths []string
	}{{"import ", plain}, {"import public ", public}, {"import weak ", weak}} {
		paths := group.paths
		if p.normalize {
			paths = slices.Compact(slices.Sorted(slices.Values(paths)))
		}
		for _, path := range paths {
			p.line(0, group.kw+quote(path)+";")
		}
	}
}

// scope writes the members of a file (fields nil) or a message body: its fields and
// oneofs, extend blocks, nested messages and enums. Groups and map entries are written
// with the field that declares them.
func (p *printer) scope(depth int, name string, msgs []*descriptorpb.DescriptorProto, enums []*descriptorpb.EnumDescriptorProto,
	fields []*descriptorpb.FieldDescriptorProto, oneofs []*descriptorpb.OneofDescriptorProto, exts []*descriptorpb.FieldDescriptorProto) {
	inline := map[string]int{} // full name of a map entry or group message → its index in msgs
	for i, m := range msgs {
		inline[name+"."+m.GetName()] = i
	}
	owned := map[int]bool{}
	for _, f := range slices.Concat(fields, exts) {
		if i, ok := inline[f.GetTypeName()]; ok && (msgs[i].GetOptions().GetMapEntry() || f.GetType() == descriptorpb.FieldDescriptorProto_TYPE_GROUP) {
			owned[i] = true
		}
	}
	next := 0 // messages before next are written
	flush := func(upTo int) {
		for ; next < upTo && next < len(msgs); next++ {
			if !owned[next] {
				p.message(depth, name, msgs[next])
			}
		}
	}
	// flushFor writes the messages before the one field f owns, in canonical order only:
	// normalized text writes fields first, as Confluent does.
	flushFor := func(f *descriptorpb.FieldDescriptorProto) {
		if i, ok := inline[f.GetTypeName()]; ok && owned[i] && !p.normalize {
			flush(i)
		}
	}
	entry := func(f *descriptorpb.FieldDescriptorProto) *descriptorpb.DescriptorProto {
		if i, ok := inline[f.GetTypeName()]; ok && owned[i] {
			return msgs[i]
		}
		return nil
	}

	p.fieldsAndOneofs(depth, name, fields, oneofs, flushFor, entry)
	// Extend blocks come after the messages and enums, as Confluent prints them, unless an
	// extension declares a group: its message must keep its place among the messages.
	extGroups := slices.ContainsFunc(exts, func(f *descriptorpb.FieldDescriptorProto) bool { return entry(f) != nil })
	if extGroups {
		p.extends(depth, name, exts, flushFor, entry)
	}
	flush(len(msgs))
	for _, e := range enums {
		p.enum(depth, e)
	}
	if !extGroups {
		p.extends(depth, name, exts, flushFor, entry)
	}
}

// extends writes extensions; consecutive ones with one extendee share a block.
func (p *printer) extends(depth int, scope string, exts []*descriptorpb.FieldDescriptorProto,
	flushFor func(*descriptorpb.FieldDescriptorProto), entry func(*descriptorpb.FieldDescriptorProto) *descriptorpb.DescriptorProto) {
	for i := 0; i < len(exts); {
		j := i
		for j < len(exts) && exts[j].GetExtendee() == exts[i].GetExtendee() {
			flushFor(exts[j])
			j++
		}
		p.line(depth, "extend "+exts[i].GetExtendee()+" {")
		for _, f := range exts[i:j] {
			p.field(depth+1, scope, f, false, entry(f))
		}
		p.line(depth, "}")
		i = j
	}
}

// fieldsAndOneofs writes fields, and each oneof at its first field (canonical) or after the
// other fields (normalized).
func (p *printer) fieldsAndOneofs(depth int, scope string, fields []*descriptorpb.FieldDescriptorProto, oneofs []*descriptorpb.OneofDescriptorProto,
	flushFor func(*descriptorpb.FieldDescriptorProto), entry func(*descriptorpb.FieldDescriptorProto) *descriptorpb.DescriptorProto) {
	inOneof := func(f *descriptorpb.FieldDescriptorProto) bool { return f.OneofIndex != nil && !f.GetProto3Optional() }
	members := make([][]*descriptorpb.FieldDescriptorProto, len(oneofs))
	for _, f := range fields {
		if inOneof(f) {
			members[f.GetOneofIndex()] = append(members[f.GetOneofIndex()], f)
		}
	}
	writeOneof := func(i int) {
		fs := members[i]
		if p.normalize {
			fs = slices.SortedFunc(slices.Values(fs), byNumber)
		}
		for _, f := range fs {
			flushFor(f)
		}
		p.line(depth, "oneof "+oneofs[i].GetName()+" {")
		p.options(depth+1, oneofs[i].GetOptions(), "google.protobuf.OneofOptions")
		for _, f := range fs {
			p.field(depth+1, scope, f, true, entry(f))
		}
		p.line(depth, "}")
	}
	if p.normalize {
		for _, f := range slices.SortedFunc(slices.Values(fields), byNumber) {
			if !inOneof(f) {
				p.field(depth, scope, f, false, entry(f))
			}
		}
		order := make([]int, 0, len(oneofs))
		for i := range oneofs {
			if len(members[i]) > 0 {
				order = append(order, i)
			}
		}
		slices.SortStableFunc(order, func(a, b int) int {
			return cmp.Compare(slices.MinFunc(members[a], byNumber).GetNumber(), slices.MinFunc(members[b], byNumber).GetNumber())
		})
		for _, i := range order {
			writeOneof(i)
		}
		return
	}
	written := make([]bool, len(oneofs))
	for _, f := range fields {
		if !inOneof(f) {
			flushFor(f)
			p.field(depth, scope, f, false, entry(f))
			continue
		}
		if i := f.GetOneofIndex(); !written[i] {
			written[i] = true
			writeOneof(int(i))
		}
	}
}

func byNumber(a, b *descriptorpb.FieldDescriptorProto) int {
	return cmp.Compare(a.GetNumber(), b.GetNumber())
}

// message writes a message declared in scope.
func (p *printer) message(depth int, scope string, m *descriptorpb.DescriptorProto) {
	p.line(depth, "message "+m.GetName()+" {")
	p.messageBody(depth+1, scope+"."+m.GetName(), m)
	p.line(depth, "}")
}

func (p *printer) messageBody(depth int, name string, m *descriptorpb.DescriptorProto) {
	p.reserved(depth, m.GetReservedRange(), m.GetReservedName(), 1)
	p.options(depth, m.GetOptions(), "google.protobuf.MessageOptions")
	p.scope(depth, name, m.GetNestedType(), m.GetEnumType(), m.GetField(), m.GetOneofDecl(), m.GetExtension())
	for _, r := range m.GetExtensionRange() {
		text := "extensions " + rangeText(r.GetStart(), r.GetEnd()-1)
		if opts := p.optionList(r.GetOptions(), "google.protobuf.ExtensionRangeOptions"); len(opts) > 0 {
			text += " " + bracket(opts)
		}
		p.line(depth, text+";")
	}
}

// reserved writes reserved ranges (end exclusive by endAdjust 1, inclusive by 0) and names.
func (p *printer) reserved(depth int, ranges any, names []string, endAdjust int32) {
	var parts []string
	var starts []int32
	switch rs := ranges.(type) {
	case []*descriptorpb.DescriptorProto_ReservedRange:
		for _, r := range rs {
			parts, starts = append(parts, rangeText(r.GetStart(), r.GetEnd()-endAdjust)), append(starts, r.GetStart())
		}
	case []*descriptorpb.EnumDescriptorProto_EnumReservedRange:
		for _, r := range rs {
			parts, starts = append(parts, rangeText(r.GetStart(), r.GetEnd()-endAdjust)), append(starts, r.GetStart())
		}
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quote(n)
		if p.editions {
			quoted[i] = n // editions spell reserved names as identifiers
		}
	}
	if p.normalize {
		idx := make([]int, len(parts))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(starts[a], starts[b]) })
		for _, i := range idx {
			p.line(depth, "reserved "+parts[i]+";")
		}
		for _, n := range slices.Sorted(slices.Values(quoted)) {
			p.line(depth, "reserved "+n+";")
		}
		return
	}
	if len(parts) > 0 {
		p.line(depth, "reserved "+strings.Join(parts, ", ")+";")
	}
	if len(quoted) > 0 {
		p.line(depth, "reserved "+strings.Join(quoted, ", ")+";")
	}
}

func rangeText(start, endInclusive int32) string {
	if start == endInclusive {
		return strconv.Itoa(int(start))
	}
	return strconv.Itoa(int(start)) + " to " + strconv.Itoa(int(endInclusive))
}

// field writes a field or extension; entry is the map entry or group message it owns.
func (p *printer) field(depth int, scope string, f *descriptorpb.FieldDescriptorProto, inOneof bool, entry *descriptorpb.DescriptorProto) {
	var text string
	isGroup := f.GetType() == descriptorpb.FieldDescriptorProto_TYPE_GROUP && entry != nil
	switch {
	case entry != nil && entry.GetOptions().GetMapEntry():
		kv := entry.GetField()
		text = "map<" + typeName(kv[0]) + ", " + typeName(kv[1]) + "> " + f.GetName()
	case isGroup:
		text = p.label(f, inOneof) + "group " + entry.GetName()
	default:
		text = p.label(f, inOneof) + typeName(f) + " " + f.GetName()
	}
	text += " = " + strconv.Itoa(int(f.GetNumber()))
	opts := p.optionList(f.GetOptions(), "google.protobuf.FieldOptions")
	if f.DefaultValue != nil {
		opts = append(opts, option{name: "default", value: defaultText(f)})
	}
	if f.JsonName != nil && f.GetJsonName() != jsonName(f.GetName()) {
		opts = append(opts, option{name: "json_name", value: quote(f.GetJsonName())})
	}
	if p.normalize {
		slices.SortStableFunc(opts, func(a, b option) int { return cmp.Compare(a.sortKey(), b.sortKey()) })
	}
	if len(opts) > 0 {
		text += " " + bracket(opts)
	}
	if !isGroup {
		p.line(depth, text+";")
		return
	}
	p.line(depth, text+" {")
	p.messageBody(depth+1, scope+"."+entry.GetName(), entry)
	p.line(depth, "}")
}

// label returns the label keyword and a space, or "" where none is written.
func (p *printer) label(f *descriptorpb.FieldDescriptorProto, inOneof bool) string {
	switch {
	case inOneof:
		return ""
	case f.GetLabel() == descriptorpb.FieldDescriptorProto_LABEL_REPEATED:
		return "repeated "
	case p.editions:
		return ""
	case p.proto3:
		if f.GetProto3Optional() {
			return "optional "
		}
		return ""
	case f.GetLabel() == descriptorpb.FieldDescriptorProto_LABEL_REQUIRED:
		return "required "
	}
	return "optional "
}

// typeName returns a field's type as written in .proto text.
func typeName(f *descriptorpb.FieldDescriptorProto) string {
	if f.TypeName != nil {
		return f.GetTypeName()
	}
	return strings.ToLower(strings.TrimPrefix(f.GetType().String(), "TYPE_"))
}

// defaultText returns a proto2 default value as written in .proto text.
func defaultText(f *descriptorpb.FieldDescriptorProto) string {
	switch f.GetType() {
	case descriptorpb.FieldDescriptorProto_TYPE_STRING:
		return quote(f.GetDefaultValue())
	case descriptorpb.FieldDescriptorProto_TYPE_BYTES:
		return `"` + f.GetDefaultValue() + `"` // already C-escaped in the descriptor
	}
	return f.GetDefaultValue()
}

// jsonName is protoc's default JSON name of a field: underscores dropped, the letter after
// each capitalized.
func jsonName(name string) string {
	var b strings.Builder
	upper := false
	for _, c := range []byte(name) {
		switch {
		case c == '_':
			upper = true
		case upper && 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			upper = false
		default:
			b.WriteByte(c)
			upper = false
		}
	}
	return b.String()
}

func (p *printer) enum(depth int, e *descriptorpb.EnumDescriptorProto) {
	p.line(depth, "enum "+e.GetName()+" {")
	p.reserved(depth+1, e.GetReservedRange(), e.GetReservedName(), 0)
	p.options(depth+1, e.GetOptions(), "google.protobuf.EnumOptions")
	values := e.GetValue()
	if p.normalize {
		values = slices.SortedStableFunc(slices.Values(values), func(a, b *descriptorpb.EnumValueDescriptorProto) int {
			return cmp.Or(cmp.Compare(a.GetNumber(), b.GetNumber()), cmp.Compare(a.GetName(), b.GetName()))
		})
	}
	for _, v := range values {
		text := v.GetName() + " = " + strconv.Itoa(int(v.GetNumber()))
		if opts := p.optionList(v.GetOptions(), "google.protobuf.EnumValueOptions"); len(opts) > 0 {
			text += " " + bracket(opts)
		}
		p.line(depth+1, text+";")
	}
	p.line(depth, "}")
}

func (p *printer) service(s *descriptorpb.ServiceDescriptorProto) {
	p.line(0, "service "+s.GetName()+" {")
	p.options(1, s.GetOptions(), "google.protobuf.ServiceOptions")
	for _, m := range s.GetMethod() {
		in, out := m.GetInputType(), m.GetOutputType()
		if m.GetClientStreaming() {
			in = "stream " + in
		}
		if m.GetServerStreaming() {
			out = "stream " + out
		}
		text := "rpc " + m.GetName() + " (" + in + ") returns (" + out + ")"
		opts := p.optionList(m.GetOptions(), "google.protobuf.MethodOptions")
		if len(opts) == 0 {
			p.line(1, text+";")
			continue
		}
		p.line(1, text+" {")
		for _, o := range opts {
			p.line(2, "option "+o.String()+";")
		}
		p.line(1, "}")
	}
	p.line(0, "}")
}

// options writes `option name = value;` statements.
func (p *printer) options(depth int, opts proto.Message, optionsType protoreflect.FullName) {
	for _, o := range p.optionList(opts, optionsType) {
		p.line(depth, "option "+o.String()+";")
	}
}

// option is one option assignment.
type option struct {
	name  string // as written: "deprecated", "(.pkg.ext)"
	value string // as written
}

// String formats the option as "name = value".
func (o option) String() string { return o.name + " = " + o.value }

// sortKey is the name Confluent sorts options by: without parentheses or a leading dot.
func (o option) sortKey() string { return strings.TrimPrefix(strings.Trim(o.name, "()"), ".") }

func bracket(opts []option) string {
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = o.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// optionList returns the options set in opts, custom ones included, in field number order
// (sorted by name when normalizing). Options this printer cannot read are left out.
func (p *printer) optionList(opts proto.Message, optionsType protoreflect.FullName) []option {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil || len(b) == 0 {
		return nil
	}
	md := opts.ProtoReflect().Descriptor()
	if d, err := p.files.FindDescriptorByName(optionsType); err == nil {
		if m, ok := d.(protoreflect.MessageDescriptor); ok {
			md = m
		}
	}
	m := dynamicpb.NewMessage(md)
	if err := (proto.UnmarshalOptions{Resolver: p.types}).Unmarshal(b, m); err != nil {
		return nil
	}
	var set []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if fd.FullName() != "google.protobuf.MessageOptions.map_entry" {
			set = append(set, fd)
		}
		return true
	})
	slices.SortFunc(set, func(a, b protoreflect.FieldDescriptor) int { return cmp.Compare(a.Number(), b.Number()) })
	var out []option
	for _, fd := range set {
		name := string(fd.Name())
		if fd.IsExtension() {
			name = "(." + string(fd.FullName()) + ")"
		}
		v := m.Get(fd)
		if fd.IsList() {
			for i := range v.List().Len() {
				out = append(out, option{name: name, value: valueText(fd, v.List().Get(i), p.normalize)})
			}
			continue
		}
		out = append(out, option{name: name, value: valueText(fd, v, p.normalize)})
	}
	if p.normalize {
		slices.SortStableFunc(out, func(a, b option) int { return cmp.Compare(a.sortKey(), b.sortKey()) })
	}
	return out
}

// valueText formats one value of fd as .proto option text.
func valueText(fd protoreflect.FieldDescriptor, v protoreflect.Value, normalize bool) string {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	case protoreflect.FloatKind:
		return floatText(v.Float(), 32)
	case protoreflect.DoubleKind:
		return floatText(v.Float(), 64)
	case protoreflect.StringKind:
		return quote(v.String())
	case protoreflect.BytesKind:
		return quoteBytes(v.Bytes())
	}
	return aggregate(v.Message(), normalize)
}

func floatText(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// aggregate formats a message value in text format: `{ a: 1 b { c: "x" } }`.
func aggregate(m protoreflect.Message, normalize bool) string {
	var fds []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fds = append(fds, fd)
		return true
	})
	key := func(fd protoreflect.FieldDescriptor) string {
		if fd.IsExtension() {
			return "[" + string(fd.FullName()) + "]"
		}
		return fd.TextName()
	}
	slices.SortFunc(fds, func(a, b protoreflect.FieldDescriptor) int {
		if normalize {
			return cmp.Compare(key(a), key(b))
		}
		return cmp.Compare(a.Number(), b.Number())
	})
	var parts []string
	one := func(fd protoreflect.FieldDescriptor, v protoreflect.Value) {
		if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
			parts = append(parts, key(fd)+" "+valueText(fd, v, normalize))
			return
		}
		parts = append(parts, key(fd)+": "+valueText(fd, v, normalize))
	}
	for _, fd := range fds {
		v := m.Get(fd)
		switch {
		case fd.IsList():
			for i := range v.List().Len() {
				one(fd, v.List().Get(i))
			}
		case fd.IsMap():
			var keys []protoreflect.MapKey
			v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			slices.SortFunc(keys, func(a, b protoreflect.MapKey) int {
				return cmp.Compare(valueText(fd.MapKey(), a.Value(), normalize), valueText(fd.MapKey(), b.Value(), normalize))
			})
			for _, k := range keys {
				parts = append(parts, key(fd)+" { key: "+valueText(fd.MapKey(), k.Value(), normalize)+" "+
					valueEntry(fd.MapValue(), v.Map().Get(k), normalize)+" }")
			}
		default:
			one(fd, v)
		}
	}
	if len(parts) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(parts, " ") + " }"
}

// valueEntry formats the value half of a map entry.
func valueEntry(fd protoreflect.FieldDescriptor, v protoreflect.Value, normalize bool) string {
	if fd.Kind() == protoreflect.MessageKind {
		return "value " + valueText(fd, v, normalize)
	}
	return "value: " + valueText(fd, v, normalize)
}

// quote returns s as a .proto string literal. Valid UTF-8 stays as is; control bytes and
// invalid UTF-8 are octal escapes.
func quote(s string) string {
	return quoteWith(s, false)
}

// quoteBytes returns b as a .proto string literal with every non-ASCII byte escaped.
func quoteBytes(b []byte) string {
	return quoteWith(string(b), true)
}

func quoteWith(s string, asciiOnly bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		case c >= 0x80 && !asciiOnly && validRune(s[i:]) > 0:
			n := validRune(s[i:])
			b.WriteString(s[i : i+n])
			i += n - 1
		default:
			b.WriteByte('\\')
			b.WriteByte('0' + c>>6)
			b.WriteByte('0' + (c>>3)&7)
			b.WriteByte('0' + c&7)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// validRune returns the length of the valid UTF-8 sequence s starts with, or 0.
func validRune(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n <= 1 {
		return 0
	}
	return n
}
