package validate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/schemagate/schemagate/validate"
)

// Schemas shared by the Protobuf binary and JSON tests, compiled with protocompile.

// pbProto2 has every scalar kind, required fields, a closed enum, a group, packed and unpacked
// repeated fields, a map, a oneof and nesting.
const pbProto2 = `syntax = "proto2";
package shop;

enum Status { NEW = 0; PAID = 1; SHIPPED = 2; }

message Item {
  required string sku = 1;
  optional double price = 2;
  optional int32 qty = 3;
  optional Status status = 4;
}

message Order {
  required int64 id = 1;
  optional string note = 2;
  repeated Item items = 3;
  map<string, Item> by_sku = 4;
  map<int32, string> labels = 5;
  repeated int32 codes = 6;
  repeated sint64 deltas = 7 [packed = true];
  repeated Status history = 8;
  optional group Extra = 9 { optional string tag = 10; optional Item item = 11; }
  oneof contact { string email = 12; uint64 phone = 13; }
  optional bool b = 14;
  optional uint32 u32 = 15;
  optional sint32 s32 = 16;
  optional fixed32 f32 = 17;
  optional sfixed32 sf32 = 18;
  optional float fl = 19;
  optional fixed64 f64 = 20;
  optional sfixed64 sf64 = 21;
  optional bytes raw = 22;
  optional Order child = 23;
  repeated float weights = 24 [packed = true];
  repeated fixed64 stamps = 25;
}
`

// pbProto3 has open enums, UTF-8 validated strings, well-known types, maps and nesting.
const pbProto3 = `syntax = "proto3";
package evt;

import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/any.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/empty.proto";

enum Level { LEVEL_UNSPECIFIED = 0; INFO = 1; WARN = 2; }

message Event {
  string name = 1;
  int64 seq = 2;
  uint64 big = 3;
  Level level = 4;
  repeated string tags = 5;
  map<string, Attr> attrs = 6;
  google.protobuf.Timestamp at = 7;
  google.protobuf.Duration took = 8;
  google.protobuf.StringValue maybe = 9;
  google.protobuf.Struct meta = 10;
  google.protobuf.Any detail = 11;
  google.protobuf.FieldMask mask = 12;
  google.protobuf.Empty nothing = 13;
  bytes blob = 14;
  double ratio = 15;
  float score = 16;
  optional int32 opt = 17;
  repeated Attr list = 18;
  google.protobuf.Value any_value = 19;
  google.protobuf.ListValue items = 20;
  google.protobuf.Int64Value count = 21;
  google.protobuf.BoolValue flag = 22;
  google.protobuf.BytesValue data = 23;
  map<bool, int64> flags = 24;
  repeated Level levels = 25;
  oneof body { string text = 26; Attr attr = 27; }
  map<sint32, Level> by_code = 28;
  map<uint64, bytes> blobs = 29;
}

message Attr {
  string key = 1;
  Attr next = 2;
  int32 n = 3;
  sint32 z = 4;
}
`

// pbEditions uses edition 2023 features: a closed enum, a field without UTF-8 validation,
// delimited (group) encoding and a legacy required field.
const pbEditions = `edition = "2023";
package ed;

enum Shade { option features.enum_type = CLOSED; SHADE_DARK = 1; SHADE_LIGHT = 2; }

message Paint {
  int32 id = 1 [features.field_presence = LEGACY_REQUIRED];
  string loose = 2 [features.utf8_validation = NONE];
  string strict = 3;
  Shade shade = 4;
  Paint inner = 5 [features.message_encoding = DELIMITED];
  repeated int32 packed_by_default = 6;
}
`

var pbFiles = map[string]string{"shop.proto": pbProto2, "evt.proto": pbProto3, "ed.proto": pbEditions}

// pbCompiled compiles name from files with protocompile (the well-known imports built in).
func pbCompiled(tb testing.TB, files map[string]string, name string) protoreflect.FileDescriptor {
	tb.Helper()
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(files)})}
	compiled, err := c.Compile(context.Background(), name)
	if err != nil {
		tb.Fatalf("compile %s: %v", name, err)
	}
	return compiled[0]
}

// pbStandard rebuilds fd with protodesc: the descriptor implementation of protobuf-go itself.
func pbStandard(tb testing.TB, fd protoreflect.FileDescriptor) protoreflect.FileDescriptor {
	tb.Helper()
	files := pbRegistry(tb, fd)
	std, err := files.FindFileByPath(fd.Path())
	if err != nil {
		tb.Fatalf("protodesc: %v", err)
	}
	return std
}

// pbTypes resolves the messages of all pbFiles (for Any), as protobuf-go descriptors.
func pbTypes(tb testing.TB) *dynamicpb.Types {
	tb.Helper()
	var fds []protoreflect.FileDescriptor
	for name := range pbFiles {
		fds = append(fds, pbCompiled(tb, pbFiles, name))
	}
	return dynamicpb.NewTypes(pbRegistry(tb, fds...))
}

// pbRegistry builds protobuf-go descriptors for fds and everything they import.
func pbRegistry(tb testing.TB, fds ...protoreflect.FileDescriptor) *protoregistry.Files {
	tb.Helper()
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(protoreflect.FileDescriptor)
	add = func(f protoreflect.FileDescriptor) {
		if seen[f.Path()] {
			return
		}
		seen[f.Path()] = true
		for i := range f.Imports().Len() {
			add(f.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
	}
	for _, fd := range fds {
		add(fd)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		tb.Fatalf("protodesc: %v", err)
	}
	return files
}

// pbMessage finds a message by full name in one of pbFiles, built by protocompile (std false)
// or by protodesc (std true).
func pbMessage(tb testing.TB, fullName string, std bool) protoreflect.MessageDescriptor {
	tb.Helper()
	return pbMessageIn(tb, pbFiles, fullName, std)
}

// pbMessageIn is pbMessage in the given files.
func pbMessageIn(tb testing.TB, files map[string]string, fullName string, std bool) protoreflect.MessageDescriptor {
	tb.Helper()
	for name := range files {
		fd := pbCompiled(tb, files, name)
		if std {
			fd = pbStandard(tb, fd)
		}
		if d := fd.Messages().ByName(protoreflect.FullName(fullName).Name()); d != nil && d.FullName() == protoreflect.FullName(fullName) {
			return d
		}
	}
	tb.Fatalf("no message %s", fullName)
	return nil
}

// pbText builds a message of type md from text format, with the real protobuf-go parser.
func pbText(tb testing.TB, md protoreflect.MessageDescriptor, text string) *dynamicpb.Message {
	tb.Helper()
	m := dynamicpb.NewMessage(md)
	if err := prototext.Unmarshal([]byte(text), m); err != nil {
		tb.Fatalf("text %q: %v", text, err)
	}
	return m
}

// pbBinary encodes a text-format message with proto.Marshal (deterministic).
func pbBinary(tb testing.TB, md protoreflect.MessageDescriptor, text string) []byte {
	tb.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pbText(tb, md, text))
	if err != nil {
		tb.Fatalf("marshal %q: %v", text, err)
	}
	return b
}

func ExampleValidateProtobufBinary() {
	c := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(map[string]string{
		"user.proto": `syntax = "proto3"; message User { string name = 1; repeated string tags = 2; }`})}}
	files, _ := c.Compile(context.Background(), "user.proto")
	md := files[0].Messages().ByName("User")
	user := dynamicpb.NewMessage(md)
	_ = prototext.Unmarshal([]byte(`name: "Ada" tags: ["a", "b"]`), user)
	data, _ := proto.MarshalOptions{Deterministic: true}.Marshal(user) // fields in number order
	fmt.Println(validate.ValidateProtobufBinary(md, data, validate.Limits{}))
	fmt.Println(validate.ValidateProtobufBinary(md, data[:7], validate.Limits{}))
	fmt.Println(validate.ValidateProtobufBinary(md, append(data, 0x18, 0x01), validate.Limits{}))
	// Output:
	// []
	// [{decode_error /tags/0 string or bytes length 1 at byte offset 6 is larger than the 0 bytes left}]
	// [{unknown_field  field number 3 (varint) at byte offset 11 is not declared by User}]
}
