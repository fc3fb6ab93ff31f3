package validate

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/schemagate/schemagate/internal/jsonpointer"
)

// ValidateProtobufBinary checks that data is one message of type md in the Protobuf binary
// wire format, by walking the bytes under the descriptor without building the message.
//
// Policy:
//   - Tags are varints of at most 10 bytes; a field number of 0 or above 2^29-1, a wire type
//     of 6 or 7, or an end-group tag that closes no open group is a decode_error, and so is a
//     truncated varint, fixed value or length-delimited value, or a length beyond the bytes of
//     its enclosing message. These end the walk: the bytes after cannot be interpreted.
//   - A field number md does not declare is unknown_field (extensions are not resolved) and is
//     skipped. A declared field whose wire type does not fit its kind is type_mismatch and is
//     skipped: repeated scalar numeric fields accept both the packed and the unpacked form,
//     whatever the schema declares, as Protobuf parsers do.
//   - A value of a closed enum (proto2, or editions with enum_type CLOSED) that the enum does
//     not define is enum_violation; open enums accept any value. A string field whose UTF-8 is
//     validated (proto3, or editions with utf8_validation VERIFY) holding invalid UTF-8 is a
//     decode_error, reported without ending the walk.
//   - A required field (proto2, or editions LEGACY_REQUIRED) absent from a message that is
//     present is missing_field.
//   - Nested messages, groups and map entries nest at most lim.MaxDepth deep; a deeper value
//     is a decode_error. Oneof members are accepted whichever is set (the last one wins, as in
//     any parser), and so are repeated occurrences of singular fields.
//   - A message ends where its bytes end, so a prefix of a message that stops between two of
//     its top-level fields is itself a valid message; a prefix that stops anywhere else fails.
//
// Findings come in the order of the bytes, at most lim.MaxFindings of them. A Path is a JSON
// pointer into the message by field name (repeated fields add the element's index, maps the
// entry's key); an unknown field points to its message, a missing field to where it belongs. Messages name the byte offset and reach clients. A nil result means valid. Valid
// input is walked without allocating. len(data) is not checked against lim.MaxPayloadBytes
// here: callers check the size before reading the payload.
func ValidateProtobufBinary(md protoreflect.MessageDescriptor, data []byte, lim Limits) []Finding {
	return validateProtobufBinaryFrom(md, data, 0, lim)
}

// validateProtobufBinaryFrom is ValidateProtobufBinary on data[start:] (a framed payload's
// message) with byte offsets counted from the start of data.
func validateProtobufBinaryFrom(md protoreflect.MessageDescriptor, data []byte, start int, lim Limits) []Finding {
	lim = lim.WithDefaults()
	w := pbBinWalker{data: data, pos: start, maxDepth: lim.MaxDepth, maxFindings: lim.MaxFindings}
	if md == nil {
		w.fatal("no message descriptor to decode with")
	} else {
		w.message(md, len(data), 0, 0)
	}
	return w.findings
}

// pbInlineFrames is how many path frames a walker holds without allocating: 16 levels of
// nested maps, more of other messages. Deeper paths spill to the heap.
const pbInlineFrames = 32

// pbBinWalker is the state of one ValidateProtobufBinary call. The path to the value being
// walked is a stack of frames, one per field entered; it is only rendered as a JSON pointer
// when there is a finding, so the happy path pays nothing for it.
type pbBinWalker struct {
	data        []byte
	pos         int
	maxDepth    int
	maxFindings int
	findings    []Finding
	stop        bool // a decode error ended the walk, or the findings are capped

	frames int // frames in use: inline first, then deep
	inline [pbInlineFrames]pbFrame
	deep   []pbFrame

	requiredCache [pbRequiredCache]pbRequired // see requiredRange
	requiredNext  int
}

// pbFrame is one field on the path from the top-level message to the value being walked.
type pbFrame struct {
	fd protoreflect.FieldDescriptor
	// msgStart is where the fields of the message declaring fd start, and tagAt where this
	// occurrence of fd starts: a repeated field's index is counted between them.
	msgStart, tagAt int
	// packed is the index of the value within a packed run, -1 outside one.
	packed int
	// entryStart and entryEnd bound a map entry's bytes, where its key is read (0, 0 before).
	entryStart, entryEnd int
}

// frame returns frame i of the path, 0 the outermost.
func (w *pbBinWalker) frame(i int) *pbFrame {
	if i < pbInlineFrames {
		return &w.inline[i]
	}
	return &w.deep[i-pbInlineFrames]
}

// push enters field fd, whose tag starts at tagAt in a message whose fields start at msgStart.
func (w *pbBinWalker) push(fd protoreflect.FieldDescriptor, msgStart, tagAt int) *pbFrame {
	var f *pbFrame
	if w.frames < pbInlineFrames {
		f = &w.inline[w.frames]
	} else {
		if i := w.frames - pbInlineFrames; i == len(w.deep) {
			w.deep = append(w.deep, pbFrame{})
		}
		f = &w.deep[w.frames-pbInlineFrames]
	}
	w.frames++
	f.fd, f.msgStart, f.tagAt, f.packed, f.entryStart, f.entryEnd = fd, msgStart, tagAt, -1, 0, 0
	return f
}

// pop leaves the innermost field.
func (w *pbBinWalker) pop() { w.frames-- }

// add records a finding at the current path and reports whether the walk may go on.
func (w *pbBinWalker) add(kind Kind, format string, args ...any) bool {
	if len(w.findings) < w.maxFindings {
		w.findings = append(w.findings, Finding{Kind: kind, Path: w.pointer(), Message: fmt.Sprintf(format, args...)})
	}
	if len(w.findings) >= w.maxFindings {
		w.stop = true
	}
	return !w.stop
}

// fatal records a decode error that ends the walk and returns false.
func (w *pbBinWalker) fatal(format string, args ...any) bool {
	w.add(KindDecodeError, format, args...)
	w.stop = true
	return false
}

// pointer renders the current path.
func (w *pbBinWalker) pointer() string {
	var tokens []string
	for i := range w.frames {
		f := w.frame(i)
		name := string(f.fd.Name())
		switch {
		case f.fd.ContainingMessage().IsMapEntry():
			// a map entry's key and value add no segment: the map field adds the key
		case f.fd.IsMap() && f.entryEnd > 0:
			tokens = append(tokens, name, w.mapKey(f))
		case f.fd.IsList():
			tokens = append(tokens, name, strconv.Itoa(w.listIndex(f)))
		default:
			tokens = append(tokens, name)
		}
	}
	return jsonpointer.FromTokens(tokens)
}

// listIndex counts the values of f.fd before this one in its message, which the walk has
// already found well-formed.
func (w *pbBinWalker) listIndex(f *pbFrame) int {
	index := max(f.packed, 0)
	pbFields(w.data[f.msgStart:f.tagAt], func(num protowire.Number, typ protowire.Type, value []byte) bool {
		if num == f.fd.Number() {
			index++
			if typ == protowire.BytesType && pbWireType(f.fd.Kind()) != protowire.BytesType {
				index += pbCountPacked(f.fd.Kind(), value) - 1
			}
		}
		return true
	})
	return index
}

// pbFields calls fn for each field of the well-formed message bytes b, with its value (a
// length-delimited one with its length prefix), until fn returns false or the bytes end.
func pbFields(b []byte, fn func(num protowire.Number, typ protowire.Type, value []byte) bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 || !fn(num, typ, b[:m]) {
			return
		}
		b = b[m:]
	}
}

// pbCountPacked counts the values in a packed run (the length prefix included in b).
func pbCountPacked(k protoreflect.Kind, b []byte) int {
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0
	}
	switch pbWireType(k) {
	case protowire.Fixed32Type:
		return len(v) / 4
	case protowire.Fixed64Type:
		return len(v) / 8
	}
	count := 0
	for _, c := range v {
		if c < 0x80 {
			count++
		}
	}
	return count
}

// mapKey renders the key of the map entry in f (the last key field wins; no key field means
// the key type's zero value).
func (w *pbBinWalker) mapKey(f *pbFrame) string {
	kd := f.fd.MapKey()
	var key []byte
	var keyNum uint64
	pbFields(w.data[f.entryStart:f.entryEnd], func(num protowire.Number, typ protowire.Type, b []byte) bool {
		if num == kd.Number() && typ == pbWireType(kd.Kind()) {
			switch typ {
			case protowire.BytesType:
				key, _ = protowire.ConsumeBytes(b)
			case protowire.VarintType:
				keyNum, _ = protowire.ConsumeVarint(b)
			case protowire.Fixed32Type:
				v, _ := protowire.ConsumeFixed32(b)
				keyNum = uint64(v)
			case protowire.Fixed64Type:
				keyNum, _ = protowire.ConsumeFixed64(b)
			}
		}
		return true
	})
	switch kd.Kind() {
	case protoreflect.StringKind:
		return string(key)
	case protoreflect.BoolKind:
		return strconv.FormatBool(keyNum != 0)
	case protoreflect.Int32Kind, protoreflect.Sfixed32Kind:
		return strconv.FormatInt(int64(int32(keyNum)), 10)
	case protoreflect.Int64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(int64(keyNum), 10)
	case protoreflect.Sint32Kind:
		return strconv.FormatInt(int64(int32(protowire.DecodeZigZag(keyNum&0xffffffff))), 10)
	case protoreflect.Sint64Kind:
		return strconv.FormatInt(protowire.DecodeZigZag(keyNum), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return strconv.FormatUint(uint64(uint32(keyNum)), 10)
	}
	return strconv.FormatUint(keyNum, 10)
}

// pbWireType is the wire type a value of kind k is written with (unpacked).
func pbWireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
		protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
		return protowire.VarintType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.BytesType // string, bytes, message
}

// pbWireName names a wire type for messages.
func pbWireName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed32Type:
		return "fixed32"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "length-delimited"
	case protowire.StartGroupType:
		return "start-group"
	case protowire.EndGroupType:
		return "end-group"
	}
	return "reserved " + strconv.Itoa(int(t))
}

// message walks the fields of a message of type md from w.pos: up to end, or, for a group
// (group != 0), up to the end-group tag of that field number. It returns false when the walk
// must stop.
func (w *pbBinWalker) message(md protoreflect.MessageDescriptor, end int, group protowire.Number, depth int) bool {
	if depth >= w.maxDepth {
		return w.fatal("message nested deeper than the limit of %d at byte offset %d", w.maxDepth, w.pos)
	}
	fields := md.Fields()
	msgStart := w.pos
	var seen uint64 // bit i: the field at index i of fields was seen (the first 64 fields)
	for w.pos < end {
		tagAt := w.pos
		num, typ, ok := w.tag(end)
		if !ok {
			return false
		}
		switch typ {
		case protowire.EndGroupType:
			if num != group {
				return w.fatal("end-group tag for field %d at byte offset %d closes no open group", num, tagAt)
			}
			return w.required(md, msgStart, tagAt, seen)
		case 6, 7:
			return w.fatal("tag at byte offset %d has the reserved wire type %d", tagAt, typ)
		}
		fd := fields.ByNumber(num)
		if fd == nil {
			if !w.add(KindUnknownField, "field number %d (%s) at byte offset %d is not declared by %s", num, pbWireName(typ), tagAt, md.FullName()) {
				return false
			}
			if !w.skip(num, typ, end, depth) {
				return false
			}
			continue
		}
		if i := fd.Index(); i < 64 {
			seen |= 1 << i
		}
		f := w.push(fd, msgStart, tagAt)
		ok = w.field(f, num, typ, end, depth)
		w.pop()
		if !ok {
			return false
		}
	}
	if group != 0 {
		return w.fatal("truncated group: no end-group tag for field %d before byte offset %d", group, end)
	}
	if !w.required(md, msgStart, end, seen) {
		return false
	}
	if md.IsMapEntry() {
		return w.absentMapValue(md, msgStart, end, seen)
	}
	return true
}

// absentMapValue checks a map entry (data[msgStart:msgEnd], seen as in required) without its
// value when the value is a message: the entry then holds the value type's empty message, as
// protobuf decoders read it, whose required fields are all missing.
func (w *pbBinWalker) absentMapValue(entry protoreflect.MessageDescriptor, msgStart, msgEnd int, seen uint64) bool {
	value := entry.Fields().ByNumber(2)
	if value == nil || value.Kind() != protoreflect.MessageKind || seen&(1<<value.Index()) != 0 {
		return true
	}
	w.push(value, msgStart, msgEnd)
	ok := w.required(value.Message(), msgEnd, msgEnd, 0)
	w.pop()
	return ok
}

// required reports the required fields of md absent from its bytes data[msgStart:msgEnd];
// seen has the bits of the fields seen among the first 64, the others are looked for again.
func (w *pbBinWalker) required(md protoreflect.MessageDescriptor, msgStart, msgEnd int, seen uint64) bool {
	lo, hi := w.requiredRange(md)
	fields := md.Fields()
	for i := lo; i < hi; i++ {
		fd := fields.Get(i)
		if fd.Cardinality() != protoreflect.Required {
			continue
		}
		if i < 64 && seen&(1<<i) != 0 || i >= 64 && pbHasField(w.data[msgStart:msgEnd], fd.Number()) {
			continue
		}
		w.push(fd, msgStart, msgEnd)
		ok := w.add(KindMissingField, "required field %s (number %d) of %s is missing", fd.Name(), fd.Number(), md.FullName())
		w.pop()
		if !ok {
			return false
		}
	}
	return true
}

// pbRequiredCache is how many message types a walker remembers the required fields of.
const pbRequiredCache = 16

// pbRequired is the range of field indexes [lo, hi) of a message type holding its required
// fields (lo == hi: none).
type pbRequired struct {
	name   protoreflect.FullName
	lo, hi int
}

// requiredRange returns the range of md's fields that holds its required ones, looked up
// once per message type and walk (in a small cache that costs no allocation), so a payload of
// many small messages of a type with many fields does not pay for all of them each time.
// proto3 has no required fields. The fields' cardinality is read rather than RequiredNumbers,
// which protocompile's descriptors build anew on each call and without editions'
// LEGACY_REQUIRED.
func (w *pbBinWalker) requiredRange(md protoreflect.MessageDescriptor) (int, int) {
	if md.Syntax() == protoreflect.Proto3 {
		return 0, 0
	}
	name := md.FullName()
	for _, c := range w.requiredCache[:min(w.requiredNext, pbRequiredCache)] {
		if c.name == name {
			return c.lo, c.hi
		}
	}
	c := pbRequired{name: name}
	fields := md.Fields()
	for i := range fields.Len() {
		if fields.Get(i).Cardinality() == protoreflect.Required {
			if c.hi == 0 {
				c.lo = i
			}
			c.hi = i + 1
		}
	}
	w.requiredCache[w.requiredNext%pbRequiredCache] = c
	w.requiredNext++
	return c.lo, c.hi
}

// pbHasField reports whether the well-formed message bytes b hold field num.
func pbHasField(b []byte, num protowire.Number) bool {
	found := false
	pbFields(b, func(n protowire.Number, _ protowire.Type, _ []byte) bool {
		found = n == num
		return !found
	})
	return found
}

// field walks one occurrence of the declared field f.fd, whose tag (number num, wire type typ)
// has been read, within a message that ends at end.
func (w *pbBinWalker) field(f *pbFrame, num protowire.Number, typ protowire.Type, end, depth int) bool {
	fd := f.fd
	kind := fd.Kind()
	want := pbWireType(kind)
	switch {
	case typ == want && kind == protoreflect.GroupKind:
		return w.message(fd.Message(), end, num, depth+1)
	case typ == want && kind == protoreflect.MessageKind:
		v, ok := w.lengthDelimited(end, "message")
		if !ok {
			return false
		}
		w.pos -= len(v)
		if fd.IsMap() {
			f.entryStart, f.entryEnd = w.pos, w.pos+len(v)
		}
		return w.message(fd.Message(), w.pos+len(v), 0, depth+1)
	case typ == want:
		return w.scalar(fd, kind, typ, end)
	case typ == protowire.BytesType && fd.IsList() && want != protowire.BytesType && want != protowire.StartGroupType:
		return w.packed(f, kind, want, end)
	}
	if !w.add(KindTypeMismatch, "field %s (%s) at byte offset %d has wire type %s, want %s", fd.Name(), kind, f.tagAt, pbWireName(typ), pbWireName(want)) {
		return false
	}
	return w.skip(num, typ, end, depth)
}

// packed walks a packed run of scalar values of f.fd, each of wire type elem.
func (w *pbBinWalker) packed(f *pbFrame, kind protoreflect.Kind, elem protowire.Type, end int) bool {
	v, ok := w.lengthDelimited(end, "packed run")
	if !ok {
		return false
	}
	runEnd := w.pos
	w.pos -= len(v)
	for f.packed = 0; w.pos < runEnd; f.packed++ {
		if !w.scalar(f.fd, kind, elem, runEnd) {
			return false
		}
	}
	f.packed = -1
	return true
}

// scalar walks one scalar value of fd written with wire type typ (which fits its kind).
func (w *pbBinWalker) scalar(fd protoreflect.FieldDescriptor, kind protoreflect.Kind, typ protowire.Type, end int) bool {
	valueAt := w.pos
	switch typ {
	case protowire.VarintType:
		v, ok := w.varint(end, "value")
		if !ok {
			return false
		}
		if kind == protoreflect.EnumKind {
			ed := fd.Enum()
			if ed.Values().ByNumber(protoreflect.EnumNumber(int32(v))) == nil && ed.IsClosed() {
				return w.add(KindEnumViolation, "value %d at byte offset %d is not defined by the closed enum %s", int32(v), valueAt, ed.FullName())
			}
		}
		return true
	case protowire.Fixed32Type:
		return w.fixed(4, end, "fixed32")
	case protowire.Fixed64Type:
		return w.fixed(8, end, "fixed64")
	}
	v, ok := w.lengthDelimited(end, "string or bytes")
	if !ok {
		return false
	}
	if kind == protoreflect.StringKind && !utf8.Valid(v) && pbEnforceUTF8(fd) {
		return w.add(KindDecodeError, "string at byte offset %d is not valid UTF-8", valueAt)
	}
	return true
}

// fixed consumes a fixed-size value of n bytes.
func (w *pbBinWalker) fixed(n, end int, what string) bool {
	if left := end - w.pos; left < n {
		return w.fatal("truncated %s value at byte offset %d: need %d bytes, %d left", what, w.pos, n, left)
	}
	w.pos += n
	return true
}

// lengthDelimited consumes a length prefix and that many bytes, which must end by end.
func (w *pbBinWalker) lengthDelimited(end int, what string) ([]byte, bool) {
	start := w.pos
	l, ok := w.varint(end, "length")
	if !ok {
		return nil, false
	}
	if left := end - w.pos; l > uint64(left) {
		return nil, w.fatal("%s length %d at byte offset %d is larger than the %d bytes left", what, l, start, left)
	}
	v := w.data[w.pos : w.pos+int(l)]
	w.pos += int(l)
	return v, true
}

// varint reads a varint of at most 10 bytes that fits 64 bits, as Protobuf parsers do
// (non-minimal encodings included).
func (w *pbBinWalker) varint(end int, what string) (uint64, bool) {
	start := w.pos
	var v uint64
	for i := 0; ; i++ {
		if w.pos >= end {
			return 0, w.fatal("truncated %s varint at byte offset %d", what, start)
		}
		b := w.data[w.pos]
		w.pos++
		if i == 9 && b > 1 {
			return 0, w.fatal("%s varint at byte offset %d overflows 64 bits", what, start)
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, true
		}
	}
}

// tag reads a tag: a field number from 1 to 2^29-1 and a wire type.
func (w *pbBinWalker) tag(end int) (protowire.Number, protowire.Type, bool) {
	start := w.pos
	v, ok := w.varint(end, "tag")
	if !ok {
		return 0, 0, false
	}
	num := v >> 3
	if num == 0 || num > uint64(protowire.MaxValidNumber) {
		return 0, 0, w.fatal("field number %d at byte offset %d is outside 1 to %d", num, start, protowire.MaxValidNumber)
	}
	return protowire.Number(num), protowire.Type(v & 7), true
}

// skip consumes a value of wire type typ that is not walked under a descriptor (an unknown
// field, or a declared one with the wrong wire type), nested groups included.
func (w *pbBinWalker) skip(num protowire.Number, typ protowire.Type, end, depth int) bool {
	valueAt := w.pos
	switch typ {
	case protowire.VarintType:
		_, ok := w.varint(end, "value")
		return ok
	case protowire.Fixed32Type:
		return w.fixed(4, end, "fixed32")
	case protowire.Fixed64Type:
		return w.fixed(8, end, "fixed64")
	case protowire.BytesType:
		_, ok := w.lengthDelimited(end, "length-delimited value")
		return ok
	case protowire.StartGroupType:
		if depth+1 >= w.maxDepth {
			return w.fatal("group nested deeper than the limit of %d at byte offset %d", w.maxDepth, valueAt)
		}
		for w.pos < end {
			tagAt := w.pos
			n, t, ok := w.tag(end)
			if !ok {
				return false
			}
			if t == protowire.EndGroupType {
				if n != num {
					return w.fatal("end-group tag for field %d at byte offset %d closes no open group", n, tagAt)
				}
				return true
			}
			if !w.skip(n, t, end, depth+1) {
				return false
			}
		}
		return w.fatal("truncated group: no end-group tag for field %d before byte offset %d", num, end)
	}
	return w.fatal("tag at byte offset %d has the reserved wire type %d", valueAt, typ)
}

// pbEnforceUTF8 reports whether fd's strings must be valid UTF-8: in proto3 always, in proto2
// never, in editions when the utf8_validation feature resolves to VERIFY (the default).
func pbEnforceUTF8(fd protoreflect.FieldDescriptor) bool {
	switch fd.Syntax() {
	case protoreflect.Proto3:
		return true
	case protoreflect.Proto2:
		return false
	}
	if e, ok := fd.(interface{ EnforceUTF8() bool }); ok {
		return e.EnforceUTF8()
	}
	for d := protoreflect.Descriptor(fd); d != nil; d = d.Parent() {
		if o, ok := d.Options().(interface {
			GetFeatures() *descriptorpb.FeatureSet
		}); ok {
			if fs := o.GetFeatures(); fs != nil && fs.Utf8Validation != nil {
				return fs.GetUtf8Validation() == descriptorpb.FeatureSet_VERIFY
			}
		}
	}
	return true
}
