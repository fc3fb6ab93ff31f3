package protocompat

// vectors are evolution steps from an old to a new schema. backward lists the Types of
// Check(new, old) (the new schema reads old data), forward those of Check(old, new); nil
// means compatible, FULL is both. Each names the Confluent rule that decides it. The
// expectations were written from Confluent's diff classes (SchemaDiff.COMPATIBLE_CHANGES,
// MessageSchemaDiff, FieldSchemaDiff, OneOfDiff, EnumSchemaDiff), not by running Check.
type vector struct {
	name, rule        string
	old, new          string
	oldDeps, newDeps  map[string]string
	backward, forward []string
}

// m is a proto3 file with one message M holding body.
func m(body string) string { return p3("message M { " + body + " }") }

// m2 is a proto2 file with one message M holding body.
func m2(body string) string { return p2("message M { " + body + " }") }

// dep is an imported file "dep.proto" in package dep holding body.
func dep(body string) map[string]string {
	return map[string]string{"dep.proto": p3("package dep;\n" + body)}
}

// withDep is a proto3 file importing dep.proto with one message M holding body.
func withDep(body string) string { return p3("import \"dep.proto\";\nmessage M { " + body + " }") }

const (
	kindChanged   = FieldKindChanged
	scalarChanged = FieldScalarKindChanged
	namedChanged  = FieldNamedTypeChanged
	numericLabel  = FieldNumericLabelChanged
)

// both is the same list for backward and forward.
func both(types ...string) []string { return types }

var vectors = []vector{
	// ---- identity, names, additions and removals ----
	{name: "same schema", rule: "no difference", old: m("int32 a = 1; string b = 2;"), new: m("int32 a = 1; string b = 2;")},
	{name: "optional field added", rule: "FIELD_ADDED and FIELD_REMOVED are compatible", old: m("int32 a = 1;"), new: m("int32 a = 1; string b = 2;")},
	{name: "field renamed", rule: "FIELD_NAME_CHANGED is compatible", old: m("int32 a = 1;"), new: m("int32 renamed = 1;")},
	{name: "fields reordered", rule: "fields are matched by number", old: m("int32 a = 1; string b = 2;"), new: m("string b = 2; int32 a = 1;")},
	{name: "field renumbered", rule: "FIELD_REMOVED and FIELD_ADDED, both compatible", old: m("int32 a = 1;"), new: m("int32 a = 2;")},
	{name: "package changed", rule: "PACKAGE_CHANGED is compatible", old: p3("package a;\nmessage M { int32 a = 1; }"), new: p3("package b;\nmessage M { int32 a = 1; }")},
	{name: "package added", rule: "PACKAGE_CHANGED is compatible", old: m("int32 a = 1;"), new: p3("package b;\nmessage M { int32 a = 1; }")},
	{
		name: "message removed", rule: "MESSAGE_REMOVED is incompatible, MESSAGE_ADDED compatible",
		old: p3("message M { int32 a = 1; }\nmessage N { int32 a = 1; }"), new: m("int32 a = 1;"),
		backward: both(MessageRemoved),
	},
	{
		name: "nested message removed", rule: "MESSAGE_REMOVED in a nested scope",
		old: m("int32 a = 1; message Sub { int32 x = 1; }"), new: m("int32 a = 1;"),
		backward: both(MessageRemoved),
	},
	{name: "messages reordered", rule: "MESSAGE_MOVED is compatible", old: p3("message M { int32 a = 1; }\nmessage N { int32 a = 1; }"), new: p3("message N { int32 a = 1; }\nmessage M { int32 a = 1; }")},
	{name: "enum removed", rule: "ENUM_REMOVED and ENUM_ADDED are compatible", old: p3("message M { int32 a = 1; }\nenum E { E0 = 0; }"), new: m("int32 a = 1;")},
	{name: "nested enum removed", rule: "ENUM_REMOVED is compatible", old: m("int32 a = 1; enum E { E0 = 0; }"), new: m("int32 a = 1;")},
	{name: "enum value added", rule: "ENUM_CONST_ADDED and ENUM_CONST_REMOVED are compatible", old: p3("message M { E e = 1; }\nenum E { E0 = 0; }"), new: p3("message M { E e = 1; }\nenum E { E0 = 0; E1 = 1; }")},
	{name: "enum value renamed", rule: "ENUM_CONST_CHANGED is compatible", old: p3("message M { E e = 1; }\nenum E { E0 = 0; E1 = 1; }"), new: p3("message M { E e = 1; }\nenum E { E0 = 0; ONE = 1; }")},
	{name: "enum value renumbered", rule: "ENUM_CONST_REMOVED and ENUM_CONST_ADDED are compatible", old: p3("message M { E e = 1; }\nenum E { E0 = 0; E1 = 1; }"), new: p3("message M { E e = 1; }\nenum E { E0 = 0; E1 = 2; }")},

	// ---- scalar types by Confluent's wire groups ----
	{name: "int32 to int64", rule: "general number group", old: m("int32 a = 1;"), new: m("int64 a = 1;")},
	{name: "int32 to uint32", rule: "general number group", old: m("int32 a = 1;"), new: m("uint32 a = 1;")},
	{name: "uint64 to int64", rule: "general number group", old: m("uint64 a = 1;"), new: m("int64 a = 1;")},
	{name: "bool to int32", rule: "general number group", old: m("bool a = 1;"), new: m("int32 a = 1;")},
	{name: "bool to uint64", rule: "general number group", old: m("bool a = 1;"), new: m("uint64 a = 1;")},
	{name: "sint32 to sint64", rule: "signed number group", old: m("sint32 a = 1;"), new: m("sint64 a = 1;")},
	{name: "fixed32 to sfixed32", rule: "fixed32 group", old: m("fixed32 a = 1;"), new: m("sfixed32 a = 1;")},
	{name: "fixed64 to sfixed64", rule: "fixed64 group", old: m("fixed64 a = 1;"), new: m("sfixed64 a = 1;")},
	{name: "string to bytes", rule: "string or bytes group", old: m("string a = 1;"), new: m("bytes a = 1;")},
	{name: "int32 to sint32", rule: "FIELD_SCALAR_KIND_CHANGED: zig-zag is another encoding", old: m("int32 a = 1;"), new: m("sint32 a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "sint64 to int64", rule: "FIELD_SCALAR_KIND_CHANGED", old: m("sint64 a = 1;"), new: m("int64 a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "int32 to fixed32", rule: "FIELD_SCALAR_KIND_CHANGED: varint and 4 bytes", old: m("int32 a = 1;"), new: m("fixed32 a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "fixed32 to fixed64", rule: "FIELD_SCALAR_KIND_CHANGED: 4 and 8 bytes", old: m("fixed32 a = 1;"), new: m("fixed64 a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "sfixed64 to double", rule: "FIELD_SCALAR_KIND_CHANGED: double is its own group", old: m("sfixed64 a = 1;"), new: m("double a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "float to double", rule: "FIELD_SCALAR_KIND_CHANGED", old: m("float a = 1;"), new: m("double a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "float to fixed32", rule: "FIELD_SCALAR_KIND_CHANGED: float is its own group", old: m("float a = 1;"), new: m("fixed32 a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "int64 to double", rule: "FIELD_SCALAR_KIND_CHANGED", old: m("int64 a = 1;"), new: m("double a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "string to int32", rule: "FIELD_SCALAR_KIND_CHANGED", old: m("string a = 1;"), new: m("int32 a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "bytes to fixed64", rule: "FIELD_SCALAR_KIND_CHANGED", old: m("bytes a = 1;"), new: m("fixed64 a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "bool to string", rule: "FIELD_SCALAR_KIND_CHANGED", old: m("bool a = 1;"), new: m("string a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "number reused with another type and name", rule: "FIELD_NAME_CHANGED (compatible) and FIELD_SCALAR_KIND_CHANGED", old: m("int32 a = 1;"), new: m("string b = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "number reused with a compatible type", rule: "FIELD_NAME_CHANGED and the general number group", old: m("int32 a = 1;"), new: m("int64 b = 1;")},

	// ---- enums are general numbers ----
	{name: "int32 to enum", rule: "an enum is a general number", old: p3("message M { int32 e = 1; }\nenum E { E0 = 0; }"), new: p3("message M { E e = 1; }\nenum E { E0 = 0; }")},
	{name: "enum to uint64", rule: "an enum is a general number", old: p3("message M { E e = 1; }\nenum E { E0 = 0; }"), new: p3("message M { uint64 e = 1; }\nenum E { E0 = 0; }")},
	{name: "enum to another enum", rule: "Confluent does not compare enum identity: both are general numbers", old: p3("message M { E e = 1; }\nenum E { E0 = 0; }\nenum F { F0 = 0; }"), new: p3("message M { F e = 1; }\nenum E { E0 = 0; }\nenum F { F0 = 0; }")},
	{name: "enum to string", rule: "FIELD_SCALAR_KIND_CHANGED", old: p3("message M { E e = 1; }\nenum E { E0 = 0; }"), new: p3("message M { string e = 1; }\nenum E { E0 = 0; }"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "enum to sint32", rule: "FIELD_SCALAR_KIND_CHANGED", old: p3("message M { E e = 1; }\nenum E { E0 = 0; }"), new: p3("message M { sint32 e = 1; }\nenum E { E0 = 0; }"), backward: both(scalarChanged), forward: both(scalarChanged)},

	// ---- kinds: scalar, message, map ----
	{
		name: "scalar to nested message", rule: "FIELD_KIND_CHANGED; the other way the nested message is removed too",
		old: m("int32 a = 1; message Sub { int32 x = 1; }"), new: m("Sub a = 1; message Sub { int32 x = 1; }"),
		backward: both(kindChanged), forward: both(kindChanged),
	},
	{name: "scalar to map", rule: "FIELD_KIND_CHANGED", old: m("string a = 1;"), new: m("map<string, string> a = 1;"), backward: both(kindChanged), forward: both(kindChanged)},
	{
		name: "message to map", rule: "FIELD_KIND_CHANGED",
		old: m("Sub a = 1; message Sub { int32 x = 1; }"), new: m("map<string, Sub> a = 1; message Sub { int32 x = 1; }"),
		backward: both(kindChanged), forward: both(kindChanged),
	},
	{name: "map value in its group", rule: "map values compare as fields, without labels", old: m("map<string, int32> a = 1;"), new: m("map<string, int64> a = 1;")},
	{name: "map key and value in their groups", rule: "map keys and values compare as fields", old: m("map<int32, string> a = 1;"), new: m("map<int64, bytes> a = 1;")},
	{name: "map key type changed", rule: "FIELD_SCALAR_KIND_CHANGED on the key", old: m("map<string, int32> a = 1;"), new: m("map<int32, int32> a = 1;"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{
		name: "map value to another message", rule: "FIELD_NAMED_TYPE_CHANGED on the value",
		old: m("map<string, A> a = 1; message A { int32 x = 1; } message B { int32 x = 1; }"), new: m("map<string, B> a = 1; message A { int32 x = 1; } message B { int32 x = 1; }"),
		backward: both(namedChanged), forward: both(namedChanged),
	},
	{
		name: "map value message changed", rule: "a local message is compared in its own scope: FIELD_SCALAR_KIND_CHANGED at #/M/Sub/1",
		old: m("map<string, Sub> a = 1; message Sub { int32 x = 1; }"), new: m("map<string, Sub> a = 1; message Sub { string x = 1; }"),
		backward: both(scalarChanged), forward: both(scalarChanged),
	},

	// ---- message types ----
	{
		name: "field to another existing message", rule: "FIELD_NAMED_TYPE_CHANGED",
		old: p3("message M { A a = 1; }\nmessage A { int32 x = 1; }\nmessage B { int32 x = 1; }"), new: p3("message M { B a = 1; }\nmessage A { int32 x = 1; }\nmessage B { int32 x = 1; }"),
		backward: both(namedChanged), forward: both(namedChanged),
	},
	{
		name: "message renamed", rule: "MESSAGE_REMOVED and FIELD_NAMED_TYPE_CHANGED: types are matched by name",
		old: p3("message M { A a = 1; }\nmessage A { int32 x = 1; }"), new: p3("message M { B a = 1; }\nmessage B { int32 x = 1; }"),
		backward: both(MessageRemoved, namedChanged), forward: both(MessageRemoved, namedChanged),
	},
	{
		name: "nested message moved to the top level", rule: "FIELD_NAMED_TYPE_CHANGED (M.Sub is not Sub) and MESSAGE_REMOVED",
		old: m("Sub a = 1; message Sub { int32 x = 1; }"), new: p3("message M { Sub a = 1; }\nmessage Sub { int32 x = 1; }"),
		backward: both(namedChanged, MessageRemoved), forward: both(namedChanged, MessageRemoved),
	},
	{
		name: "local message changed incompatibly", rule: "compared in its own scope, no FIELD_NAMED_TYPE_CHANGED for local types",
		old: p3("message M { Sub s = 1; }\nmessage Sub { int32 x = 1; }"), new: p3("message M { Sub s = 1; }\nmessage Sub { string x = 1; }"),
		backward: both(scalarChanged), forward: both(scalarChanged),
	},
	{name: "repeated message to singular", rule: "labels of message fields are not compared", old: m("repeated Sub s = 1; message Sub {}"), new: m("Sub s = 1; message Sub {}")},
	{name: "well-known type kept", rule: "no difference", old: p3("import \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp t = 1; }"), new: p3("import \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp t = 1; }")},
	{
		name: "Timestamp to Duration", rule: "FIELD_NAMED_TYPE_CHANGED",
		old: p3("import \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp t = 1; }"), new: p3("import \"google/protobuf/duration.proto\";\nmessage M { google.protobuf.Duration t = 1; }"),
		backward: both(namedChanged), forward: both(namedChanged),
	},
	{
		name: "Timestamp to int64", rule: "FIELD_KIND_CHANGED",
		old: p3("import \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp t = 1; }"), new: m("int64 t = 1;"),
		backward: both(kindChanged), forward: both(kindChanged),
	},

	// ---- imported message types ----
	{
		name: "imported message changed incompatibly", rule: "the imported type is compared field by field, then FIELD_NAMED_TYPE_CHANGED",
		old: withDep("dep.Sub s = 1;"), oldDeps: dep("message Sub { int32 x = 1; }"),
		new: withDep("dep.Sub s = 1;"), newDeps: dep("message Sub { string x = 1; }"),
		backward: both(scalarChanged, namedChanged), forward: both(scalarChanged, namedChanged),
	},
	{
		name: "imported message gained a field", rule: "FIELD_ADDED inside the imported type is compatible",
		old: withDep("dep.Sub s = 1;"), oldDeps: dep("message Sub { int32 x = 1; }"),
		new: withDep("dep.Sub s = 1;"), newDeps: dep("message Sub { int32 x = 1; string y = 2; }"),
	},
	{
		name: "imported message used twice", rule: "the pair is compared once; each field gets FIELD_NAMED_TYPE_CHANGED",
		old: withDep("dep.Sub s = 1; dep.Sub t = 2;"), oldDeps: dep("message Sub { int32 x = 1; }"),
		new: withDep("dep.Sub s = 1; dep.Sub t = 2;"), newDeps: dep("message Sub { string x = 1; }"),
		backward: both(scalarChanged, namedChanged, namedChanged), forward: both(scalarChanged, namedChanged, namedChanged),
	},
	{
		name: "recursive imported message", rule: "a pair being compared is assumed compatible: the recursion ends",
		old: withDep("dep.Node n = 1;"), oldDeps: dep("message Node { int32 v = 1; Node next = 2; }"),
		new: withDep("dep.Node n = 1;"), newDeps: dep("message Node { string v = 1; Node next = 2; }"),
		backward: both(scalarChanged, namedChanged), forward: both(scalarChanged, namedChanged),
	},
	{
		name: "imported message lost a nested message", rule: "MESSAGE_REMOVED inside the imported type makes the field FIELD_NAMED_TYPE_CHANGED",
		old: withDep("dep.Sub s = 1;"), oldDeps: dep("message Sub { int32 x = 1; message In { int32 y = 1; } }"),
		new: withDep("dep.Sub s = 1;"), newDeps: dep("message Sub { int32 x = 1; }"),
		backward: both(MessageRemoved, namedChanged),
	},

	// ---- labels and proto2 required ----
	{name: "proto2 required field added", rule: "REQUIRED_FIELD_ADDED, and the other way REQUIRED_FIELD_REMOVED", old: m2("optional int32 a = 1;"), new: m2("optional int32 a = 1; required int32 b = 2;"), backward: both(RequiredFieldAdded), forward: both(RequiredFieldRemoved)},
	{name: "proto2 required field removed", rule: "REQUIRED_FIELD_REMOVED, and the other way REQUIRED_FIELD_ADDED", old: m2("required int32 a = 1; optional int32 b = 2;"), new: m2("optional int32 b = 2;"), backward: both(RequiredFieldRemoved), forward: both(RequiredFieldAdded)},
	{name: "proto2 required field renamed", rule: "FIELD_NAME_CHANGED is compatible", old: m2("required int32 a = 1;"), new: m2("required int32 b = 1;")},
	{name: "proto2 optional number became required", rule: "FIELD_NUMERIC_LABEL_CHANGED", old: m2("optional int32 a = 1;"), new: m2("required int32 a = 1;"), backward: both(numericLabel), forward: both(numericLabel)},
	{name: "proto2 optional string became required", rule: "FIELD_STRING_OR_BYTES_LABEL_CHANGED is compatible (Confluent's gap: the reader may miss a required field)", old: m2("optional string a = 1;"), new: m2("required string a = 1;")},
	{name: "proto2 optional message became required", rule: "labels of message fields are not compared (Confluent's gap)", old: m2("optional Sub a = 1; message Sub {}"), new: m2("required Sub a = 1; message Sub {}")},
	{name: "proto2 optional number became repeated", rule: "FIELD_NUMERIC_LABEL_CHANGED", old: m2("optional int64 a = 1;"), new: m2("repeated int64 a = 1;"), backward: both(numericLabel), forward: both(numericLabel)},
	{name: "proto2 repeated enum became optional", rule: "FIELD_NUMERIC_LABEL_CHANGED: an enum is a number", old: m2("repeated E a = 1; enum E { E0 = 0; }"), new: m2("optional E a = 1; enum E { E0 = 0; }"), backward: both(numericLabel), forward: both(numericLabel)},
	{name: "proto3 optional number became repeated", rule: "FIELD_NUMERIC_LABEL_CHANGED", old: m("optional int32 a = 1;"), new: m("repeated int32 a = 1;"), backward: both(numericLabel), forward: both(numericLabel)},
	{name: "proto3 implicit number became repeated", rule: "no label is written on one side, so none is compared (Confluent's gap)", old: m("int32 a = 1;"), new: m("repeated int32 a = 1;")},
	{name: "proto3 optional added to a number", rule: "a label on one side only is not compared; the synthetic oneof is no oneof", old: m("int32 a = 1;"), new: m("optional int32 a = 1;")},
	{name: "proto3 repeated string became implicit", rule: "no label on one side", old: m("repeated string a = 1;"), new: m("string a = 1;")},
	{name: "proto3 optional field added", rule: "FIELD_ADDED; the synthetic oneof is no ONEOF_ADDED", old: m("int32 a = 1;"), new: m("int32 a = 1; optional string b = 2;")},
	{name: "syntax proto2 to proto3", rule: "Confluent has no syntax rule: fields decide", old: m2("optional int32 a = 1; optional string b = 2;"), new: m("int32 a = 1; string b = 2;")},
	{name: "syntax proto2 required to proto3", rule: "required against no label is not compared (Confluent's gap)", old: m2("required int32 a = 1;"), new: m("int32 a = 1;")},

	// ---- oneofs ----
	{name: "oneof added with new fields", rule: "ONEOF_ADDED and ONEOF_REMOVED are compatible", old: m("int32 a = 1;"), new: m("int32 a = 1; oneof o { string b = 2; int32 c = 3; }")},
	{name: "one field moved into a new oneof", rule: "ONEOF_ADDED; one moved field is compatible", old: m("int32 a = 1; string b = 2;"), new: m("int32 a = 1; oneof o { string b = 2; int32 c = 3; }")},
	{name: "two fields moved into a new oneof", rule: "MULTIPLE_FIELDS_MOVED_TO_ONEOF", old: m("int32 a = 1; string b = 2;"), new: m("oneof o { int32 a = 1; string b = 2; }"), backward: both(MultipleFieldsMovedToOneof)},
	{name: "oneof field removed", rule: "ONEOF_FIELD_REMOVED, and the other way ONEOF_FIELD_ADDED", old: m("oneof o { int32 a = 1; string b = 2; }"), new: m("oneof o { int32 a = 1; }"), backward: both(OneofFieldRemoved)},
	{name: "oneof field moved out of its oneof", rule: "leaving a oneof is compatible; moving back into it is FIELD_MOVED_TO_EXISTING_ONEOF", old: m("oneof o { int32 a = 1; int32 b = 2; }"), new: m("int32 a = 1; oneof o { int32 b = 2; }"), forward: both(FieldMovedToExistingOneof)},
	{name: "oneof renamed", rule: "ONEOF_ADDED and ONEOF_REMOVED; the fields compare by number", old: m("oneof x { int32 a = 1; string b = 2; }"), new: m("oneof y { int32 a = 1; string b = 2; }")},
	{name: "oneof member type changed", rule: "FIELD_SCALAR_KIND_CHANGED inside the oneof", old: m("oneof o { int32 a = 1; string b = 2; }"), new: m("oneof o { string a = 1; string b = 2; }"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "field moved into a oneof with another type", rule: "fields whose oneof changed still compare by number", old: m("int32 a = 1;"), new: m("oneof o { string a = 1; }"), backward: both(scalarChanged), forward: both(scalarChanged)},
	{name: "field moved from one oneof to another", rule: "only top-level fields count as moved (Confluent's gap: a and b become exclusive)", old: m("oneof x { int32 a = 1; } oneof y { int32 b = 2; }"), new: m("oneof y { int32 a = 1; int32 b = 2; }")},
}
