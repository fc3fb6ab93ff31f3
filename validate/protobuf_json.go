package validate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/schemagate/schemagate/internal/jsonpointer"
)

// ValidateProtobufJSON checks that data is a JSON text of a message of type md in the
// Protobuf JSON mapping (what protojson.Marshal writes and protojson.Unmarshal reads).
//
// Policy, following protojson.Unmarshal with its default options:
//   - data must be one well-formed JSON value within lim (see [DecodeJSONPayload]); otherwise
//     there is one decode_error finding.
//   - A message is a JSON object. A member names a field by its JSON name or its proto name;
//     anything else (extensions included) is unknown_field. Naming a field twice, or two
//     members of one oneof, is a constraint_violation. null leaves a field unset, except for
//     google.protobuf.Value (where it is the null value) and google.protobuf.NullValue. An
//     absent (or null) required field is missing_field.
//   - Integers are JSON numbers or strings holding one, integral (1e2 and 1.0 are) and within
//     the field's 32 or 64 bits; floating-point fields also take "NaN", "Infinity" and
//     "-Infinity", and a float must fit 32 bits. A string field is a JSON string, bool a JSON
//     boolean, bytes a string in standard or URL-safe base64, padded or not.
//   - An enum is the name of one of its values, or an int32 number; a number a closed enum
//     does not define is enum_violation (protojson accepts it; the binary walk refuses it).
//   - Repeated fields are arrays and maps objects, whose keys must parse as the key type (and
//     not repeat once parsed); elements and map values may not be null (but for Value).
//   - Well-known types take their special forms: Timestamp an RFC 3339 string from year 1 to
//     9999 with at most 9 fractional digits, Duration a decimal number of seconds ending in "s"
//     within ±315576000000 s, wrappers their wrapped scalar, Struct an object, ListValue an
//     array, Value any JSON value, FieldMask a string of comma-separated lowerCamel paths,
//     Empty {}. An Any is {} or an object with "@type", a type URL whose last segment names a
//     message declared in md's file or its imports, or a well-known type (constraint_violation
//     otherwise: protojson could not resolve it either); the object's other members are
//     checked as that message (or its "value" member, for a well-known type).
//
// A wrong JSON type is type_mismatch, a value of the right JSON type that the field cannot
// hold (out of range, bad base64, bad timestamp) constraint_violation. Every departure is
// reported, in document order, up to lim.MaxFindings; each Path is a JSON pointer into the
// document (a missing field's points where it belongs, by its JSON name). A nil result means
// valid. Zero limits take the defaults.
func ValidateProtobufJSON(md protoreflect.MessageDescriptor, data []byte, lim Limits) []Finding {
	lim = lim.WithDefaults()
	w := pjWalker{maxFindings: lim.MaxFindings}
	if md == nil {
		w.add(KindDecodeError, "no message descriptor to decode with")
		return w.findings
	}
	if _, err := DecodeJSONPayload(data, lim); err != nil {
		w.add(KindDecodeError, "%s", err.Error())
		return w.findings
	}
	if at := pjLoneSurrogate(data); at >= 0 {
		w.add(KindDecodeError, "%s: \\u escape at byte offset %d is half of a UTF-16 surrogate pair", ErrMalformedJSON, at)
		return w.findings
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := pjDecode(dec)
	if err != nil { // DecodeJSONPayload has read it already: not expected
		w.add(KindDecodeError, "%s", err.Error())
		return w.findings
	}
	w.root = md.ParentFile()
	w.message(md, v)
	return w.findings
}

// pjLoneSurrogate returns the offset of a \u escape in a string of the well-formed JSON text
// data that is half a surrogate pair, or -1. encoding/json turns one into U+FFFD; protojson
// refuses it.
func pjLoneSurrogate(data []byte) int {
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			i++
			if data[i] != 'u' {
				continue
			}
			r := pjHex4(data[i+1 : i+5])
			i += 4
			switch {
			case r >= 0xdc00 && r <= 0xdfff:
				return i - 5
			case r >= 0xd800 && r <= 0xdbff:
				if i+6 >= len(data) || data[i+1] != '\\' || data[i+2] != 'u' {
					return i - 5
				}
				if low := pjHex4(data[i+3 : i+7]); low < 0xdc00 || low > 0xdfff {
					return i - 5
				}
				i += 6
			}
		}
	}
	return -1
}

// pjHex4 decodes four hex digits (well-formed JSON guarantees them).
func pjHex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		default:
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}

// pjObject is a JSON object with its members in document order, duplicates kept: protojson
// refuses a field named twice, which a Go map would hide.
type pjObject []pjMember

// pjMember is one member of a pjObject.
type pjMember struct {
	key   string
	value any
}

// pjDecode reads one JSON value: pjObject, []any, json.Number, string, bool or nil.
func pjDecode(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := pjObject{}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := pjDecode(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, pjMember{key: key.(string), value: v})
		}
		_, err := dec.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := pjDecode(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}

// pjWalker is the state of one ValidateProtobufJSON call.
type pjWalker struct {
	root        protoreflect.FileDescriptor // where Any type URLs are resolved
	required    map[protoreflect.FullName][]protoreflect.FieldDescriptor
	path        []string
	findings    []Finding
	maxFindings int
}

func (w *pjWalker) add(kind Kind, format string, args ...any) {
	if len(w.findings) < w.maxFindings {
		w.findings = append(w.findings, Finding{Kind: kind, Path: jsonpointer.FromTokens(w.path), Message: fmt.Sprintf(format, args...)})
	}
}

// addAt records a finding one path segment below the current value.
func (w *pjWalker) addAt(seg string, kind Kind, format string, args ...any) {
	w.path = append(w.path, seg)
	w.add(kind, format, args...)
	w.path = w.path[:len(w.path)-1]
}

func (w *pjWalker) mismatch(want string, v any) {
	w.add(KindTypeMismatch, "expected %s, got %s", want, pjKind(v))
}

// pjKind describes a decoded JSON value for messages.
func pjKind(v any) string {
	switch v := v.(type) {
	case pjObject:
		return "an object"
	case string:
		return "string " + strconv.Quote(avroClip(v))
	}
	return avroJSONKind(v)
}

// message checks v as a message of type md.
func (w *pjWalker) message(md protoreflect.MessageDescriptor, v any) {
	if w.wellKnown(md, v) {
		return
	}
	obj, ok := v.(pjObject)
	if !ok {
		w.mismatch("an object for message "+string(md.FullName()), v)
		return
	}
	w.fields(md, obj, false)
}

// fields checks the members of obj as fields of md; skipType skips "@type" (inside an Any).
func (w *pjWalker) fields(md protoreflect.MessageDescriptor, obj pjObject, skipType bool) {
	fields := md.Fields()
	// The work is per member, not per declared field: an object of a message type with
	// many fields may be "{}".
	named := make(map[int]string, len(obj)) // field index → the key that named it
	set := make(map[int]bool, len(obj))     // field index → it has a non-null value
	oneofs := map[int]string{}              // oneof index → the key that set it
	for _, m := range obj {
		if skipType && m.key == "@type" {
			continue
		}
		fd := fields.ByJSONName(m.key)
		if fd == nil {
			fd = fields.ByTextName(m.key)
		}
		if fd == nil {
			w.addAt(m.key, KindUnknownField, "message %s has no field %q", md.FullName(), avroClip(m.key))
			continue
		}
		if prev, ok := named[fd.Index()]; ok {
			w.addAt(m.key, KindConstraintViolation, "field %s is named twice (%q before)", fd.Name(), avroClip(prev))
			continue
		}
		named[fd.Index()] = m.key
		if m.value == nil && !pjNullable(fd) {
			continue
		}
		set[fd.Index()] = true
		w.path = append(w.path, m.key)
		switch {
		case fd.IsList():
			w.list(fd, m.value)
		case fd.IsMap():
			w.mapField(fd, m.value)
		default:
			if od := fd.ContainingOneof(); od != nil {
				if prev, ok := oneofs[od.Index()]; ok {
					w.add(KindConstraintViolation, "oneof %s is already set by %q", od.Name(), avroClip(prev))
					break
				}
				oneofs[od.Index()] = m.key
			}
			w.singular(fd, m.value)
		}
		w.path = w.path[:len(w.path)-1]
	}
	for _, fd := range w.requiredFields(md) {
		if !set[fd.Index()] {
			w.addAt(fd.JSONName(), KindMissingField, "required field %s of %s is missing", fd.Name(), md.FullName())
		}
	}
}

// requiredFields lists md's required fields, found once per message type and call.
func (w *pjWalker) requiredFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	if md.Syntax() == protoreflect.Proto3 {
		return nil
	}
	if fds, ok := w.required[md.FullName()]; ok {
		return fds
	}
	var fds []protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); fd.Cardinality() == protoreflect.Required {
			fds = append(fds, fd)
		}
	}
	if w.required == nil {
		w.required = map[protoreflect.FullName][]protoreflect.FieldDescriptor{}
	}
	w.required[md.FullName()] = fds
	return fds
}

// pjNullable reports whether null is a value of fd rather than "unset".
func pjNullable(fd protoreflect.FieldDescriptor) bool {
	if md := fd.Message(); md != nil && md.FullName() == "google.protobuf.Value" {
		return true
	}
	ed := fd.Enum()
	return ed != nil && ed.FullName() == "google.protobuf.NullValue"
}

func (w *pjWalker) singular(fd protoreflect.FieldDescriptor, v any) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(fd.Message(), v)
	default:
		w.scalar(fd, v)
	}
}

func (w *pjWalker) list(fd protoreflect.FieldDescriptor, v any) {
	arr, ok := v.([]any)
	if !ok {
		w.mismatch("an array", v)
		return
	}
	for i, item := range arr {
		w.path = append(w.path, strconv.Itoa(i))
		w.singular(fd, item)
		w.path = w.path[:len(w.path)-1]
	}
}

func (w *pjWalker) mapField(fd protoreflect.FieldDescriptor, v any) {
	obj, ok := v.(pjObject)
	if !ok {
		w.mismatch("an object (a map)", v)
		return
	}
	seen := map[string]string{} // parsed key → the key as written
	kd := fd.MapKey()
	for _, m := range obj {
		w.path = append(w.path, m.key)
		if key, ok := pjMapKey(kd.Kind(), m.key); !ok {
			w.add(KindTypeMismatch, "map key %q is not a %s", avroClip(m.key), kd.Kind())
		} else if prev, dup := seen[key]; dup {
			w.add(KindConstraintViolation, "map key %q repeats %q", avroClip(m.key), avroClip(prev))
		} else {
			seen[key] = m.key
			w.singular(fd.MapValue(), m.value)
		}
		w.path = w.path[:len(w.path)-1]
	}
}

// pjMapKey parses a map key as protojson does and returns it in a canonical form.
func pjMapKey(k protoreflect.Kind, s string) (string, bool) {
	switch k {
	case protoreflect.StringKind:
		return s, true
	case protoreflect.BoolKind:
		return s, s == "true" || s == "false"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, pjBits(k))
		return strconv.FormatInt(n, 10), err == nil
	default:
		n, err := strconv.ParseUint(s, 10, pjBits(k))
		return strconv.FormatUint(n, 10), err == nil
	}
}

// pjBits is the size in bits of a numeric kind.
func pjBits(k protoreflect.Kind) int {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.FloatKind, protoreflect.EnumKind:
		return 32
	}
	return 64
}

func (w *pjWalker) scalar(fd protoreflect.FieldDescriptor, v any) {
	kind := fd.Kind()
	switch kind {
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			w.mismatch("a boolean", v)
		}
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			w.mismatch("a string", v)
		}
	case protoreflect.BytesKind:
		s, ok := v.(string)
		if !ok {
			w.mismatch("a base64 string", v)
		} else if !pjBase64(s) {
			w.add(KindConstraintViolation, "%q is not base64", avroClip(s))
		}
	case protoreflect.EnumKind:
		w.enum(fd.Enum(), v)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		w.float(kind, v)
	default:
		w.integer(kind, v)
	}
}

// pjNumberText returns the number text of v, a JSON number or a string holding exactly one.
func pjNumberText(v any) (string, bool) {
	switch v := v.(type) {
	case json.Number:
		return string(v), true
	case string:
		return v, pjIsNumber(v)
	}
	return "", false
}

func (w *pjWalker) integer(kind protoreflect.Kind, v any) {
	s, ok := pjNumberText(v)
	if !ok {
		w.mismatch("an integer (a number or a string holding one)", v)
		return
	}
	text, integral := pjIntegerText(s)
	if !integral {
		w.add(KindTypeMismatch, "expected an integer, got %s", avroClip(s))
		return
	}
	var err error
	switch kind {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		_, err = strconv.ParseUint(text, 10, pjBits(kind))
	default:
		_, err = strconv.ParseInt(text, 10, pjBits(kind))
	}
	if err != nil {
		w.add(KindConstraintViolation, "%s is out of range for %s", avroClip(s), kind)
	}
}

func (w *pjWalker) float(kind protoreflect.Kind, v any) {
	if s, ok := v.(string); ok && (s == "NaN" || s == "Infinity" || s == "-Infinity") {
		return
	}
	s, ok := pjNumberText(v)
	if !ok {
		w.mismatch("a number (or a string holding one, or \"NaN\", \"Infinity\", \"-Infinity\")", v)
		return
	}
	if _, err := strconv.ParseFloat(s, pjBits(kind)); err != nil {
		w.add(KindConstraintViolation, "%s is out of range for %s", avroClip(s), kind)
	}
}

func (w *pjWalker) enum(ed protoreflect.EnumDescriptor, v any) {
	switch v := v.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(v)) == nil {
			w.add(KindEnumViolation, "%q is not a value of enum %s", avroClip(v), ed.FullName())
		}
	case json.Number:
		text, integral := pjIntegerText(string(v))
		n, err := strconv.ParseInt(text, 10, 32)
		switch {
		case !integral:
			w.add(KindTypeMismatch, "expected an enum value name or number, got %s", avroClip(string(v)))
		case err != nil:
			w.add(KindConstraintViolation, "%s is out of range for an enum number (int32)", avroClip(string(v)))
		case ed.IsClosed() && ed.Values().ByNumber(protoreflect.EnumNumber(n)) == nil:
			w.add(KindEnumViolation, "%d is not defined by the closed enum %s", n, ed.FullName())
		}
	case nil:
		if ed.FullName() != "google.protobuf.NullValue" {
			w.mismatch("a value of enum "+string(ed.FullName()), v)
		}
	default:
		w.mismatch("a value of enum "+string(ed.FullName()), v)
	}
}

// wellKnown checks v as md when md is a well-known type with a special JSON form and reports
// whether it was one.
func (w *pjWalker) wellKnown(md protoreflect.MessageDescriptor, v any) bool {
	switch md.FullName() {
	case "google.protobuf.Any":
		w.any(v)
	case "google.protobuf.Timestamp":
		if s, ok := v.(string); !ok {
			w.mismatch("an RFC 3339 timestamp string", v)
		} else if msg := pjTimestamp(s); msg != "" {
			w.add(KindConstraintViolation, "%q %s", avroClip(s), msg)
		}
	case "google.protobuf.Duration":
		if s, ok := v.(string); !ok {
			w.mismatch("a duration string such as \"1.5s\"", v)
		} else if msg := pjDuration(s); msg != "" {
			w.add(KindConstraintViolation, "%q %s", avroClip(s), msg)
		}
	case "google.protobuf.FieldMask":
		if s, ok := v.(string); !ok {
			w.mismatch("a field mask string", v)
		} else if path, ok := pjFieldMask(s); !ok {
			w.add(KindConstraintViolation, "field mask path %q is not a lowerCamel field path", avroClip(path))
		}
	case "google.protobuf.Struct", "google.protobuf.ListValue",
		"google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		// Struct is its map field, ListValue its list field, a wrapper its value field.
		fd := md.Fields().ByNumber(1)
		switch {
		case fd.IsMap():
			w.mapField(fd, v)
		case fd.IsList():
			w.list(fd, v)
		default:
			w.scalar(fd, v)
		}
	case "google.protobuf.Value":
		w.value(md, v)
	case "google.protobuf.Empty":
		obj, ok := v.(pjObject)
		if !ok {
			w.mismatch("an empty object", v)
			return true
		}
		for _, m := range obj {
			w.addAt(m.key, KindUnknownField, "message google.protobuf.Empty has no field %q", avroClip(m.key))
		}
	default:
		return false
	}
	return true
}

// value checks a google.protobuf.Value: any JSON value, numbers within float64.
func (w *pjWalker) value(md protoreflect.MessageDescriptor, v any) {
	switch v := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(string(v), 64); err != nil {
			w.add(KindConstraintViolation, "%s is out of range for google.protobuf.Value (a double)", avroClip(string(v)))
		}
	case pjObject:
		w.message(md.Fields().ByName("struct_value").Message(), v)
	case []any:
		w.message(md.Fields().ByName("list_value").Message(), v)
	}
}

// any checks a google.protobuf.Any.
func (w *pjWalker) any(v any) {
	obj, ok := v.(pjObject)
	if !ok {
		w.mismatch("an object for google.protobuf.Any", v)
		return
	}
	if len(obj) == 0 {
		return
	}
	var typeURL string
	found := false
	for _, m := range obj {
		if m.key != "@type" {
			continue
		}
		s, ok := m.value.(string)
		switch {
		case found:
			w.addAt(m.key, KindConstraintViolation, "\"@type\" is given twice")
			return
		case !ok:
			w.path = append(w.path, m.key)
			w.mismatch("a type URL string", m.value)
			w.path = w.path[:len(w.path)-1]
			return
		case s == "":
			w.addAt(m.key, KindConstraintViolation, "\"@type\" is empty")
			return
		}
		typeURL, found = s, true
	}
	if !found {
		w.addAt("@type", KindMissingField, "google.protobuf.Any needs \"@type\" when it has other members")
		return
	}
	md := w.resolve(protoreflect.FullName(typeURL[strings.LastIndexByte(typeURL, '/')+1:]))
	if md == nil {
		w.addAt("@type", KindConstraintViolation, "type URL %q names no message declared in the schema, its imports or the well-known types", avroClip(typeURL))
		return
	}
	if !pjSpecialJSON(md.FullName()) {
		w.fields(md, obj, true)
		return
	}
	hasValue := false
	for _, m := range obj {
		switch m.key {
		case "@type":
		case "value":
			if hasValue {
				w.addAt(m.key, KindConstraintViolation, "\"value\" is given twice")
				continue
			}
			hasValue = true
			w.path = append(w.path, m.key)
			w.message(md, m.value)
			w.path = w.path[:len(w.path)-1]
		default:
			w.addAt(m.key, KindUnknownField, "an Any holding %s has no member %q besides \"@type\" and \"value\"", md.FullName(), avroClip(m.key))
		}
	}
	if !hasValue && md.FullName() != "google.protobuf.Empty" {
		w.addAt("value", KindMissingField, "an Any holding %s needs \"value\"", md.FullName())
	}
}

// pjSpecialJSON reports whether a well-known type has a JSON form other than an object of its
// fields.
func pjSpecialJSON(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.Any", "google.protobuf.Timestamp", "google.protobuf.Duration",
		"google.protobuf.FieldMask", "google.protobuf.Struct", "google.protobuf.ListValue",
		"google.protobuf.Value", "google.protobuf.Empty",
		"google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		return true
	}
	return false
}

// resolve finds a message by full name in the root file and the files it imports, then among
// the well-known types linked into this program; nil if none.
func (w *pjWalker) resolve(name protoreflect.FullName) protoreflect.MessageDescriptor {
	seen := map[string]bool{}
	var find func(fd protoreflect.FileDescriptor) protoreflect.MessageDescriptor
	find = func(fd protoreflect.FileDescriptor) protoreflect.MessageDescriptor {
		if seen[fd.Path()] {
			return nil
		}
		seen[fd.Path()] = true
		if d := pjFindIn(fd.Messages(), name); d != nil {
			return d
		}
		imports := fd.Imports()
		for i := range imports.Len() {
			if d := find(imports.Get(i).FileDescriptor); d != nil {
				return d
			}
		}
		return nil
	}
	if w.root != nil {
		if d := find(w.root); d != nil {
			return d
		}
	}
	if strings.HasPrefix(string(name), "google.protobuf.") {
		if d, err := protoregistry.GlobalFiles.FindDescriptorByName(name); err == nil {
			if md, ok := d.(protoreflect.MessageDescriptor); ok {
				return md
			}
		}
	}
	return nil
}

// pjFindIn finds a message by full name among mds and the messages nested in them.
func pjFindIn(mds protoreflect.MessageDescriptors, name protoreflect.FullName) protoreflect.MessageDescriptor {
	for i := range mds.Len() {
		md := mds.Get(i)
		if md.FullName() == name {
			return md
		}
		if strings.HasPrefix(string(name), string(md.FullName())+".") {
			if d := pjFindIn(md.Messages(), name); d != nil {
				return d
			}
		}
	}
	return nil
}

// pjIsNumber reports whether s is exactly a JSON number.
func pjIsNumber(s string) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// pjIntegerText turns a JSON number into plain decimal digits (with a sign) when it is an
// integer, as protojson does: 1e2 is 100 and 1.0 is 1. Numbers of more than 20 digits come
// back unchanged, for the caller's range check to refuse.
func pjIntegerText(s string) (string, bool) {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		e, err := strconv.ParseInt(expText, 10, 32)
		if err != nil {
			return s, false
		}
		exp = int(e)
	}
	intp, frac, _ := strings.Cut(mant, ".")
	frac = strings.TrimRight(frac, "0")
	digits := strings.TrimLeft(intp+frac, "0")
	if digits == "" {
		return "0", true
	}
	exp -= len(frac)
	if exp < 0 {
		if -exp > len(digits) || strings.Trim(digits[len(digits)+exp:], "0") != "" {
			return s, false
		}
		return sign + digits[:len(digits)+exp], true
	}
	if len(digits)+exp > 20 {
		return sign + s, true // integral, but beyond any 64-bit range
	}
	return sign + digits + strings.Repeat("0", exp), true
}

// pjBase64 reports whether s decodes as protojson decodes bytes: standard or URL-safe
// alphabet (URL-safe when s has '-' or '_'), padded when its length is a multiple of 4.
func pjBase64(s string) bool {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	_, err := enc.DecodeString(s)
	return err == nil
}

// pjTimestamp says what is wrong with an RFC 3339 timestamp string ("" when nothing is).
func pjTimestamp(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "is not an RFC 3339 timestamp"
	}
	const minSeconds, maxSeconds = -62135596800, 253402300799 // 0001-01-01T00:00:00Z, 9999-12-31T23:59:59Z
	if secs := t.Unix(); secs < minSeconds || secs > maxSeconds {
		return "is outside years 1 to 9999"
	}
	dot, zone := strings.LastIndexByte(s, '.'), strings.LastIndexAny(s, "Z-+")
	if dot >= 0 && zone >= dot && zone-dot > len(".999999999") {
		return "has more than 9 fractional digits"
	}
	return ""
}

// pjDuration says what is wrong with a duration string ("" when nothing is): an optional
// sign, an integer part (0 or no leading zero) and/or a fraction of at most 9 digits, then "s".
func pjDuration(s string) string {
	const bad = "is not a duration: a decimal number of seconds followed by \"s\""
	body, ok := strings.CutSuffix(s, "s")
	if !ok || body == "" {
		return bad
	}
	if body[0] == '-' || body[0] == '+' {
		body = body[1:]
	}
	intp, frac, hasFrac := strings.Cut(body, ".")
	switch {
	case body == "":
		return bad
	case intp == "" && !hasFrac, len(intp) > 1 && intp[0] == '0', strings.Trim(intp, "0123456789") != "":
		return bad
	case len(frac) > 9 || strings.Trim(frac, "0123456789") != "":
		return bad
	}
	if intp != "" {
		secs, err := strconv.ParseInt(intp, 10, 64)
		if err != nil || secs > 315576000000 {
			return "is outside ±315576000000s"
		}
	}
	return ""
}

// pjFieldMask checks a FieldMask string; on failure it returns the bad path.
func pjFieldMask(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	for _, path := range strings.Split(s, ",") {
		var snake strings.Builder
		for _, c := range []byte(path) {
			if c >= 'A' && c <= 'Z' {
				snake.WriteByte('_')
				c += 'a' - 'A'
			}
			snake.WriteByte(c)
		}
		if strings.Contains(path, "_") || !protoreflect.FullName(snake.String()).IsValid() {
			return path, false
		}
	}
	return "", true
}
