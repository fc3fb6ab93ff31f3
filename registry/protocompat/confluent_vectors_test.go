package protocompat

// confluentVectors are the cases of Confluent Schema Registry's Protobuf diff examples
// (protobuf-provider's diff-schema-examples.json) that concern schemas only (the ones about
// confluent:reserved metadata are the registry's business), with Confluent's expectation:
// every difference from original to update as "TYPE path", and whether the update can read
// data written with the original. The texts are written in our own words where Confluent's
// spacing was irrelevant.
var confluentVectors = []struct {
	name              string
	original, update  string
	origDeps, updDeps map[string]string
	changes           []string
	compatible        bool
}{
	{
		name:       "allow addition of un-reserved property",
		original:   p3("package foo;\nmessage TestMessage {\n string test_string = 1;\n .foo.TestMessage.Status test_int = 2;\n message Status { string test_string = 1; }\n}"),
		update:     p3("package foo;\nmessage TestMessage {\n string test_string = 1;\n .foo.TestMessage.Status test_int = 2;\n float test_float = 3;\n message Status { string test_string = 1; }\n}"),
		changes:    []string{"FIELD_ADDED #/TestMessage/3"},
		compatible: true,
	},
	{
		name:       "detect package change",
		original:   p3("package foo;\nmessage TestMessage {\n string test_string = 1;\n .foo.TestMessage.Status test_int = 2;\n message Status { string test_string = 1; }\n}"),
		update:     p3("package bar;\nmessage TestMessage {\n string test_string = 1;\n .bar.TestMessage.Status test_int = 2;\n message Status { string test_string = 1; }\n}"),
		changes:    []string{"PACKAGE_CHANGED #/"},
		compatible: true,
	},
	{
		name:       "detect change to name qualification",
		original:   p3("message TestMessage {\n string test_string = 1;\n Status test_int = 2;\n message Status { string test_string = 1; }\n}"),
		update:     p3("message TestMessage {\n string test_string = 1;\n .TestMessage.Status test_int = 2;\n message Status { string test_string = 1; }\n}"),
		compatible: true,
	},
	{
		name:       "detect change to name qualification with package",
		original:   p3("package foo;\nmessage TestMessage {\n string test_string = 1;\n Status test_int = 2;\n message Status { string test_string = 1; }\n}"),
		update:     p3("package foo;\nmessage TestMessage {\n string test_string = 1;\n .foo.TestMessage.Status test_int = 2;\n message Status { string test_string = 1; }\n}"),
		compatible: true,
	},
	{
		name:       "detect added field",
		original:   p3("message TestMessage { string test_string = 1; }"),
		update:     p3("message TestMessage { string test_string = 1; string test_string2 = 2; }"),
		changes:    []string{"FIELD_ADDED #/TestMessage/2"},
		compatible: true,
	},
	{
		name:       "detect added required field",
		original:   p2("message TestMessage { optional string test_string = 1; }"),
		update:     p2("message TestMessage { optional string test_string = 1; required string test_string2 = 2; }"),
		changes:    []string{"REQUIRED_FIELD_ADDED #/TestMessage/2"},
		compatible: false,
	},
	{
		name:       "detect added field to nested type",
		original:   p3("message Wrapper { int32 wrapperInt = 1; message TestMessage { string test_string = 1; } }"),
		update:     p3("message Wrapper { int32 wrapperInt = 1; message TestMessage { string test_string = 1; string test_string2 = 2; } }"),
		changes:    []string{"FIELD_ADDED #/Wrapper/TestMessage/2"},
		compatible: true,
	},
	{
		name:       "detect removed field",
		original:   p3("message TestMessage { string test_string = 1; string test_string2 = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; }"),
		changes:    []string{"FIELD_REMOVED #/TestMessage/2"},
		compatible: true,
	},
	{
		name:       "detect removed required field",
		original:   p2("message TestMessage { optional string test_string = 1; required string test_string2 = 2; }"),
		update:     p2("message TestMessage { optional string test_string = 1; }"),
		changes:    []string{"REQUIRED_FIELD_REMOVED #/TestMessage/2"},
		compatible: false,
	},
	{
		name:       "detect changed field number",
		original:   p3("message TestMessage { string test_string = 1; }"),
		update:     p3("message TestMessage { string test_string = 2; }"),
		changes:    []string{"FIELD_REMOVED #/TestMessage/1", "FIELD_ADDED #/TestMessage/2"},
		compatible: true,
	},
	{
		name:       "detect compatible field number type change",
		original:   p3("message TestMessage { string test_string = 1; int32 test_int = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; int64 test_int = 2; }"),
		compatible: true,
	},
	{
		name:       "detect compatible field string type change",
		original:   p3("message TestMessage { string test_string = 1; string test_string2 = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; bytes test_string2 = 2; }"),
		compatible: true,
	},
	{
		name:       "detect field number type to enum change",
		original:   p3("message TestMessage { string test_string = 1; int32 test_int = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; Status test_int = 2; }\nenum Status { ACTIVE = 0; INACTIVE = 1; }"),
		changes:    []string{"ENUM_ADDED #/Status"},
		compatible: true,
	},
	{
		name:       "detect enum type to field number change",
		original:   p3("message TestMessage { string test_string = 1; Status test_int = 2; }\nenum Status { ACTIVE = 0; INACTIVE = 1; }"),
		update:     p3("message TestMessage { string test_string = 1; int32 test_int = 2; }"),
		changes:    []string{"ENUM_REMOVED #/Status"},
		compatible: true,
	},
	{
		name:       "detect field number type to message with same name as enum",
		original:   p3("message TestMessage { string test_string = 1; int32 test_int = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; .TestMessage.Status test_int = 2; message Status { string test_string = 1; } }\nenum Status { ACTIVE = 0; INACTIVE = 1; }"),
		changes:    []string{"FIELD_KIND_CHANGED #/TestMessage/2", "MESSAGE_ADDED #/TestMessage/Status", "ENUM_ADDED #/Status"},
		compatible: false,
	},
	{
		name:       "detect message with same name as enum to field number change",
		original:   p3("message TestMessage { string test_string = 1; .TestMessage.Status test_int = 2; message Status { string test_string = 1; } }\nenum Status { ACTIVE = 0; INACTIVE = 1; }"),
		update:     p3("message TestMessage { string test_string = 1; int32 test_int = 2; }"),
		changes:    []string{"FIELD_KIND_CHANGED #/TestMessage/2", "MESSAGE_REMOVED #/TestMessage/Status", "ENUM_REMOVED #/Status"},
		compatible: false,
	},
	{
		name:       "detect enum const change",
		original:   p3("message TestMessage { string test_string = 1; Status test_int = 2; }\nenum Status { ACTIVE = 0; INACTIVE = 1; }"),
		update:     p3("message TestMessage { string test_string = 1; Status test_int = 2; }\nenum Status { ACTIVE = 0; NOT_ACTIVE = 1; }"),
		changes:    []string{"ENUM_CONST_CHANGED #/Status/1"},
		compatible: true,
	},
	{
		name:       "detect compatible field to oneof change",
		original:   p3("message TestMessage { string test_string = 1; string test_string2 = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; oneof new_oneof { string test_string2 = 2; int32 other_id = 3; } }"),
		changes:    []string{"ONEOF_ADDED #/TestMessage/new_oneof"},
		compatible: true,
	},
	{
		name:       "detect incompatible field to oneof change",
		original:   p3("message TestMessage { string test_string = 1; string test_string2 = 2; }"),
		update:     p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; int32 other_id = 3; } }"),
		changes:    []string{"MULTIPLE_FIELDS_MOVED_TO_ONEOF #/TestMessage/new_oneof", "ONEOF_ADDED #/TestMessage/new_oneof"},
		compatible: false,
	},
	{
		name:       "detect compatible add field to oneof",
		original:   p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; } }"),
		update:     p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; int32 other_id = 3; } }"),
		changes:    []string{"ONEOF_FIELD_ADDED #/TestMessage/new_oneof/3"},
		compatible: true,
	},
	{
		name:       "detect incompatible remove field from oneof",
		original:   p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; int32 other_id = 3; } }"),
		update:     p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; } }"),
		changes:    []string{"ONEOF_FIELD_REMOVED #/TestMessage/new_oneof/3"},
		compatible: false,
	},
	{
		name:       "detect compatible move field to oneof",
		original:   p3("message TestMessage { string test_string = 1; string test_string2 = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; oneof new_oneof { string test_string2 = 2; } }"),
		changes:    []string{"ONEOF_ADDED #/TestMessage/new_oneof"},
		compatible: true,
	},
	{
		name:       "detect incompatible move field to oneof",
		original:   p3("message TestMessage { string test_string = 1; oneof new_oneof { string test_string2 = 2; string test_string3 = 3; } }"),
		update:     p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; string test_string3 = 3; } }"),
		changes:    []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/TestMessage/new_oneof", "ONEOF_FIELD_ADDED #/TestMessage/new_oneof/1"},
		compatible: false,
	},
	{
		name:       "detect incompatible move field to renamed oneof",
		original:   p3("message TestMessage { string test_string = 1; oneof new_oneof { string test_string2 = 2; string test_string3 = 3; } }"),
		update:     p3("message TestMessage { oneof new_oneof_2 { string test_string = 1; string test_string2 = 2; string test_string3 = 3; } }"),
		changes:    []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/TestMessage/new_oneof_2", "ONEOF_ADDED #/TestMessage/new_oneof_2", "ONEOF_REMOVED #/TestMessage/new_oneof"},
		compatible: false,
	},
	{
		name:       "detect incompatible field type change: scalar to message",
		original:   p3("message TestMessage { string test_string = 1; int32 test_int = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; TestMessage2 test_int = 2; }\nmessage TestMessage2 { string s1 = 1; }"),
		changes:    []string{"MESSAGE_ADDED #/TestMessage2", "FIELD_KIND_CHANGED #/TestMessage/2"},
		compatible: false,
	},
	{
		name:       "detect incompatible field type change: int32 to string",
		original:   p3("message TestMessage { string test_string = 1; int32 test_int = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; string test_string2 = 2; }"),
		changes:    []string{"FIELD_NAME_CHANGED #/TestMessage/2", "FIELD_SCALAR_KIND_CHANGED #/TestMessage/2"},
		compatible: false,
	},
	{
		name:       "detect incompatible field type change: another message",
		original:   p3("message TestMessage { string test_string = 1; TestMessage2 test_int = 2; }\nmessage TestMessage2 { string s1 = 1; }"),
		update:     p3("message TestMessage { string test_string = 1; TestMessage3 test_int = 2; }\nmessage TestMessage3 { string s1 = 1; }"),
		changes:    []string{"MESSAGE_REMOVED #/TestMessage2", "MESSAGE_ADDED #/TestMessage3", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/2"},
		compatible: false,
	},
	{
		name:       "detect incompatible field type change: map value",
		original:   p3("message TestMessage { string test_string = 1; map<string, int32> test_map_int = 2; }"),
		update:     p3("message TestMessage { string test_string = 1; map<string, string> test_map_string = 2; }"),
		changes:    []string{"FIELD_NAME_CHANGED #/TestMessage/2", "FIELD_SCALAR_KIND_CHANGED #/TestMessage/2"},
		compatible: false,
	},
	{
		name:       "detect compatible name qualification in map",
		original:   p3("message TestMessage { string test_string = 1; map<string, Status> test_map = 2; message Status { string test_string = 1; } }"),
		update:     p3("message TestMessage { string test_string = 1; map<string, TestMessage.Status> test_map = 2; message Status { string test_string = 1; } }"),
		compatible: true,
	},
	{
		name:       "detect compatible field label change for message",
		original:   p3("message TestMessage { string test_string = 1; optional Status test_status = 2; message Status { string test_string = 1; } }"),
		update:     p3("message TestMessage { string test_string = 1; repeated Status test_status = 2; message Status { string test_string = 1; } }"),
		compatible: true,
	},
	{
		name:       "detect compatible field label change for string",
		original:   p3("message TestMessage { optional string test_string = 1; Status test_status = 2; message Status { string test_string = 1; } }"),
		update:     p3("message TestMessage { repeated string test_string = 1; Status test_status = 2; message Status { string test_string = 1; } }"),
		changes:    []string{"FIELD_STRING_OR_BYTES_LABEL_CHANGED #/TestMessage/1"},
		compatible: true,
	},
	{
		name:       "detect compatible field label change for bytes",
		original:   p3("message TestMessage { optional bytes test_bytes = 1; Status test_status = 2; message Status { string test_string = 1; } }"),
		update:     p3("message TestMessage { repeated bytes test_bytes = 1; Status test_status = 2; message Status { string test_string = 1; } }"),
		changes:    []string{"FIELD_STRING_OR_BYTES_LABEL_CHANGED #/TestMessage/1"},
		compatible: true,
	},
	{
		name:       "detect incompatible field label change for number",
		original:   p3("message TestMessage { optional int32 test_int = 1; Status test_status = 2; message Status { string test_string = 1; } }"),
		update:     p3("message TestMessage { repeated int32 test_int = 1; Status test_status = 2; message Status { string test_string = 1; } }"),
		changes:    []string{"FIELD_NUMERIC_LABEL_CHANGED #/TestMessage/1"},
		compatible: false,
	},
	{
		name:       "detect compatible message addition",
		original:   p3("message TestMessage { string test_string = 1; }"),
		update:     p3("message TestMessage { string test_string = 1; }\nmessage TestMessage2 { string test_string = 1; }"),
		changes:    []string{"MESSAGE_ADDED #/TestMessage2"},
		compatible: true,
	},
	{
		name:       "detect compatible message index change: message added before",
		original:   p3("message TestMessage { string test_string = 1; }"),
		update:     p3("message TestMessage2 { string test_string = 1; }\nmessage TestMessage { string test_string = 1; }"),
		changes:    []string{"MESSAGE_ADDED #/TestMessage2", "MESSAGE_MOVED #/TestMessage"},
		compatible: true,
	},
	{
		name:       "detect compatible message index change: messages swapped",
		original:   p3("message TestMessage { string test_string = 1; }\nmessage TestMessage2 { string test_string = 1; }"),
		update:     p3("message TestMessage2 { string test_string = 1; }\nmessage TestMessage { string test_string = 1; }"),
		changes:    []string{"MESSAGE_MOVED #/TestMessage2", "MESSAGE_MOVED #/TestMessage"},
		compatible: true,
	},
	{
		name:       "detect incompatible import change",
		original:   p3("import \"google.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain.GoogleHome test_string = 1; }"),
		update:     p3("import \"google2.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain.GoogleHome test_string = 1; }"),
		origDeps:   map[string]string{"google.proto": googleHome("io.confluent.cloud.demo.domain", "int32", false)},
		updDeps:    map[string]string{"google2.proto": googleHome("io.confluent.cloud.demo.domain", "string", false)},
		changes:    []string{"FIELD_SCALAR_KIND_CHANGED #/GoogleHome/1", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/1"},
		compatible: false,
	},
	{
		name:       "detect moving to import",
		original:   p3("message TestMessage { GoogleHome test_string = 1; }\nmessage GoogleHome { int32 deviceID = 1; bool enabled = 2; }"),
		update:     p3("import \"google.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain.GoogleHome test_string = 1; }"),
		updDeps:    map[string]string{"google.proto": googleHome("io.confluent.cloud.demo.domain", "int32", false)},
		changes:    []string{"MESSAGE_REMOVED #/GoogleHome"},
		compatible: false,
	},
	{
		name:       "detect moving from import",
		original:   p3("import \"google.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain.GoogleHome test_string = 1; }"),
		update:     p3("message TestMessage { GoogleHome test_string = 1; }\nmessage GoogleHome { int32 deviceID = 1; bool enabled = 2; }"),
		origDeps:   map[string]string{"google.proto": googleHome("io.confluent.cloud.demo.domain", "int32", false)},
		changes:    []string{"MESSAGE_ADDED #/GoogleHome"},
		compatible: true,
	},
	{
		name:       "detect import change with different remote package name",
		original:   p3("import \"google.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain.GoogleHome test_string = 1; }"),
		update:     p3("import \"google2.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain2.GoogleHome test_string = 1; }"),
		origDeps:   map[string]string{"google.proto": googleHome("io.confluent.cloud.demo.domain", "int32", false)},
		updDeps:    map[string]string{"google2.proto": googleHome("io.confluent.cloud.demo.domain2", "int32", false)},
		compatible: true,
	},
	{
		name:       "detect import change with different remote package nested name",
		original:   p3("import \"google.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain.outer.GoogleHome test_string = 1; }"),
		update:     p3("import \"google2.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain2.outer.GoogleHome test_string = 1; }"),
		origDeps:   map[string]string{"google.proto": googleHome("io.confluent.cloud.demo.domain", "int32", true)},
		updDeps:    map[string]string{"google2.proto": googleHome("io.confluent.cloud.demo.domain2", "int32", true)},
		compatible: true,
	},
	{
		name:       "detect incompatible import change with different remote package nested name",
		original:   p3("import \"google.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain.outer.GoogleHome test_string = 1; }"),
		update:     p3("import \"google2.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain2.outer.GoogleHome test_string = 1; }"),
		origDeps:   map[string]string{"google.proto": googleHome("io.confluent.cloud.demo.domain", "int32", true)},
		updDeps:    map[string]string{"google2.proto": googleHome("io.confluent.cloud.demo.domain2", "string", true)},
		changes:    []string{"FIELD_SCALAR_KIND_CHANGED #/outer/GoogleHome/1", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/1"},
		compatible: false,
	},
	{
		name:       "detect incompatible import change with same subject, different version",
		original:   p3("import \"google.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain.outer.GoogleHome test_string = 1; }"),
		update:     p3("import \"google.proto\";\nmessage TestMessage { .io.confluent.cloud.demo.domain2.outer.GoogleHome test_string = 1; }"),
		origDeps:   map[string]string{"google.proto": googleHome("io.confluent.cloud.demo.domain", "int32", true)},
		updDeps:    map[string]string{"google.proto": googleHome("io.confluent.cloud.demo.domain2", "string", true)},
		changes:    []string{"FIELD_SCALAR_KIND_CHANGED #/outer/GoogleHome/1", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/1"},
		compatible: false,
	},
}

// googleHome is the imported file of Confluent's import examples: message GoogleHome in
// package pkg (nested in message outer when nested) with deviceID of type deviceType.
func googleHome(pkg, deviceType string, nested bool) string {
	msg := "message GoogleHome { " + deviceType + " deviceID = 1; bool enabled = 2; }"
	if nested {
		msg = "message outer { " + msg + " }"
	}
	return p3("package " + pkg + ";\noption java_outer_classname = \"GoogleImpl\";\n" + msg)
}
