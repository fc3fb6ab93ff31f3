package protoschema

// corpus is a set of schemas that exercise the printer: every syntax, nesting, maps, groups,
// oneofs, options (standard and custom), reserved ranges, extensions, services and imports
// of built-in files.
var corpus = map[string]string{
	"proto3 basic": `syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";

// An order.
message Order {
  string id = 1;
  repeated Line lines = 2;
  google.protobuf.Timestamp placed_at = 3;
  map<string, string> labels = 4;
  Status status = 5;
  message Line {
    string sku = 1;
    int32 quantity = 2 [json_name = "qty"];
  }
  enum Status {
    STATUS_UNSPECIFIED = 0;
    PLACED = 1;
  }
}
`,
	"proto3 oneof optional reserved": `syntax = "proto3";
package p;
message M {
  reserved 2, 15, 9 to 11;
  reserved "foo", "bar";
  optional int32 maybe = 1;
  oneof choice {
    string name = 3;
    int64 number = 4;
  }
  repeated int32 packed_off = 5 [packed = false, deprecated = true];
  map<int64, M> children = 6;
  message Inner { bytes raw = 1; }
  map<string, Inner> inner = 7;
}
enum Top {
  option allow_alias = true;
  reserved 5 to 7;
  reserved "OLD";
  TOP_ZERO = 0;
  TOP_ONE = 1;
  TOP_UNO = 1 [deprecated = true];
}
`,
	"proto2 groups defaults extensions": `syntax = "proto2";
package legacy;
message Req {
  required string id = 1;
  optional int32 retries = 2 [default = 3];
  optional string greeting = 3 [default = "hi \"you\"\n"];
  optional bytes magic = 4 [default = "\001\377"];
  optional double ratio = 5 [default = inf];
  optional Kind kind = 6 [default = SLOW];
  repeated group Item = 7 {
    optional string name = 1;
  }
  extensions 100 to 199;
  enum Kind { FAST = 1; SLOW = 2; }
}
extend Req {
  optional string note = 100;
}
message Holder {
  extend Req { optional int32 nested_ext = 101; }
}
`,
	"editions": `edition = "2023";
package ed;
option features.field_presence = IMPLICIT;
message E {
  int32 a = 1;
  int32 b = 2 [features.field_presence = EXPLICIT];
  E child = 3 [features.message_encoding = DELIMITED];
  repeated int32 xs = 4;
  reserved old_name;
}
`,
	"custom options and services": `syntax = "proto3";
package svc;
import "google/protobuf/descriptor.proto";
import "google/protobuf/empty.proto";
import "confluent/meta.proto";
option java_package = "com.example.svc";
option go_package = "example.com/svc";
option (confluent.file_meta) = { doc: "file doc" };
extend google.protobuf.FieldOptions {
  string pii = 50001;
  repeated int32 tags = 50002;
}
message Ping {
  option (confluent.message_meta) = { doc: "a ping", tags: ["a", "b"] };
  string who = 1 [(pii) = "name", (tags) = 1, (tags) = 2, (confluent.field_meta) = { params: [{ key: "k", value: "v" }] }];
  float f = 2;
}
service Pinger {
  option deprecated = true;
  rpc Ping (svc.Ping) returns (google.protobuf.Empty);
  rpc Stream (stream svc.Ping) returns (stream svc.Ping) { option idempotency_level = NO_SIDE_EFFECTS; }
}
`,
	"nested message before map": `syntax = "proto3";
message A {
  message B { int32 x = 1; }
  map<string, B> m = 1;
  message C { B b = 1; }
  oneof o { B ob = 2; C oc = 3; }
  int32 after = 4;
}
message D { A.C c = 1; }
`,
	"google types and confluent decimal": `syntax = "proto3";
package money;
import "google/type/money.proto";
import "google/type/date.proto";
import "confluent/type/decimal.proto";
message Price {
  google.type.Money amount = 1;
  google.type.Date valid_from = 2;
  confluent.type.Decimal exact = 3;
}
`,
	"no syntax": `message Old { optional int32 a = 1; }`,
	"strings": `syntax = "proto3";
import "google/protobuf/descriptor.proto";
extend google.protobuf.MessageOptions { string label = 50100; bytes blob = 50101; double d = 50102; }
message S {
  option (label) = "tab\there \\ 'q' é ☃";
  option (blob) = "\000\001\xff";
  option (d) = -inf;
}
`,
}
