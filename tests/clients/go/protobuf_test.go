package clients

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
)

// protoPackage is the package of every .proto file of this suite.
const protoPackage = "schemagate.clients.go"

// moneyProto is imported by orderProto through a reference.
const moneyProto = `syntax = "proto3";
package schemagate.clients.go;

message Money {
  string currency = 1;
  int64 units = 2;
}
`

// orderProto has a nested message, an enum, a map and a well-known type. The map field comes
// before the nested message Line, so the map's synthetic entry message is nested message 0 and
// Line is nested message 1 in the descriptor (and 0 for clients that skip map entries).
func orderProto(moneyFile string) string {
	return `syntax = "proto3";
package schemagate.clients.go;

import "` + moneyFile + `";
import "google/protobuf/timestamp.proto";

message Order {
  enum Status {
    STATUS_UNSPECIFIED = 0;
    STATUS_PLACED = 1;
    STATUS_SHIPPED = 2;
  }
  string id = 1;
  Money total = 2;
  google.protobuf.Timestamp placed_at = 3;
  Status status = 4;
  map<string, int32> quantities = 5;
  message Line {
    string sku = 1;
    int32 count = 2;
  }
  repeated Line lines = 6;
}

message Refund {
  string order_id = 1;
  Money amount = 2;
}
`
}

// shipmentProto is never registered: a producer that sends a Shipment under the order topic
// has picked the wrong message type. Its field 1 is a varint where Order's is a string.
const shipmentProto = `syntax = "proto3";
package schemagate.clients.go;

message Shipment {
  int64 id = 1;
  double weight = 7;
}
`

// protoFiles are the compiled files of one test, by path.
type protoFiles map[string]protoreflect.FileDescriptor

// compileProtos compiles the given sources (path → .proto text) with protocompile, the
// well-known types built in, as a producer's build would.
func compileProtos(t *testing.T, sources map[string]string) protoFiles {
	t.Helper()
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(sources)})}
	paths := make([]string, 0, len(sources))
	for p := range sources {
		paths = append(paths, p)
	}
	files, err := c.Compile(context.Background(), paths...)
	must(t, err, "compile the suite's .proto files")
	out := protoFiles{}
	for _, f := range files {
		out[f.Path()] = f
	}
	return out
}

// message returns the descriptor of the message with the given name (relative to the package).
func (f protoFiles) message(t *testing.T, name string) protoreflect.MessageDescriptor {
	t.Helper()
	full := protoreflect.FullName(protoPackage + "." + name)
	for _, fd := range f {
		var found protoreflect.MessageDescriptor
		walkMessages(fd.Messages(), func(md protoreflect.MessageDescriptor) {
			if md.FullName() == full {
				found = md
			}
		})
		if found != nil {
			return found
		}
	}
	t.Fatalf("no message %s in the compiled files", full)
	return nil
}

func walkMessages(mds protoreflect.MessageDescriptors, fn func(protoreflect.MessageDescriptor)) {
	for i := range mds.Len() {
		fn(mds.Get(i))
		walkMessages(mds.Get(i).Messages(), fn)
	}
}

// newMessage returns a message of type md holding the protojson text js.
func newMessage(t *testing.T, md protoreflect.MessageDescriptor, js string) *dynamicpb.Message {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	must(t, protojson.Unmarshal([]byte(js), m), "protojson "+string(md.FullName()))
	return m
}

// protoSerializer serializes with the schema registered latest under the topic's value subject.
func protoSerializer(t *testing.T) *protobuf.Serializer {
	t.Helper()
	conf := protobuf.NewSerializerConfig()
	conf.AutoRegisterSchemas = false
	conf.UseLatestVersion = true
	ser, err := protobuf.NewSerializer(newClient(t), serde.ValueSerde, conf)
	must(t, err, "protobuf.NewSerializer")
	return ser
}

// protoDeserializer knows the message types mds, so it answers with a message of the type the
// payload's message indexes name.
func protoDeserializer(t *testing.T, mds ...protoreflect.MessageDescriptor) *protobuf.Deserializer {
	t.Helper()
	de, err := protobuf.NewDeserializer(newClient(t), serde.ValueSerde, protobuf.NewDeserializerConfig())
	must(t, err, "protobuf.NewDeserializer")
	for _, md := range mds {
		must(t, de.ProtoRegistry.RegisterMessage(dynamicpb.NewMessageType(md)), "register "+string(md.FullName()))
	}
	return de
}

func protoInfo(schema string, refs ...schemaregistry.Reference) schemaregistry.SchemaInfo {
	return schemaregistry.SchemaInfo{Schema: schema, SchemaType: "PROTOBUF", References: refs}
}

const orderJSON = `{"id":"o-1","total":{"currency":"EUR","units":"1250"},"placedAt":"2026-12-06T10:30:00Z",
	"status":"STATUS_PLACED","quantities":{"sku-1":2,"sku-2":1},"lines":[{"sku":"sku-1","count":2},{"sku":"sku-2","count":1}]}`

// orderFixture is the Order schema registered under a topic's value subject, with Money
// registered under a subject of its own and referenced by its import path.
type orderFixture struct {
	files                      protoFiles
	topic, moneyTopic          string
	orderID, moneyID           int
	ref                        schemaregistry.Reference
	order, line, refund, money protoreflect.MessageDescriptor
	moneyFile                  string
}

// registerOrder compiles the suite's .proto files (Shipment too, never registered) under paths
// unique to the test and registers Money and Order through the client.
func registerOrder(t *testing.T) orderFixture {
	t.Helper()
	dir := subject(t, "protos")
	f := orderFixture{moneyFile: dir + "/money.proto", topic: subject(t, "orders"), moneyTopic: subject(t, "money")}
	f.files = compileProtos(t, map[string]string{
		f.moneyFile: moneyProto, dir + "/order.proto": orderProto(f.moneyFile), dir + "/shipment.proto": shipmentProto})
	f.order, f.line, f.refund = f.files.message(t, "Order"), f.files.message(t, "Order.Line"), f.files.message(t, "Refund")
	f.money = f.files.message(t, "Money")
	if f.line.Index() != 1 {
		t.Fatalf("set-up: Order.Line should be nested message 1 (after the map entry), is %d", f.line.Index())
	}
	f.moneyID = register(t, f.moneyTopic+"-value", protoInfo(moneyProto))
	f.ref = schemaregistry.Reference{Name: f.moneyFile, Subject: f.moneyTopic + "-value", Version: 1}
	f.orderID = register(t, f.topic+"-value", protoInfo(orderProto(f.moneyFile), f.ref))
	return f
}

func TestProtobufSerde(t *testing.T) {
	f := registerOrder(t)
	t.Run("the registry answers the schema with its reference", func(t *testing.T) {
		info, err := newClient(t).GetBySubjectAndID("", f.orderID)
		must(t, err, "GetBySubjectAndID")
		if info.SchemaType != "PROTOBUF" {
			t.Errorf("schemaType: want PROTOBUF, got %q", info.SchemaType)
		}
		if diff := cmp.Diff([]schemaregistry.Reference{f.ref}, info.References); diff != "" {
			t.Errorf("references (-want +got):\n%s", diff)
		}
		if again := register(t, f.topic+"-value", protoInfo(orderProto(f.moneyFile), f.ref)); again != f.orderID {
			t.Errorf("the same schema again: want ID %d, got %d", f.orderID, again)
		}
	})

	// Each message is serialized with the client's serde, its frame checked, and read back by a
	// deserializer with a fresh client, which fetches the schema and its reference by ID and picks
	// the message type from the indexes.
	tests := []struct {
		name        string
		md          protoreflect.MessageDescriptor
		json        string
		wantIndexes string // hex of the message-index array the client writes
	}{
		{"first message: the single-0 shortcut", f.order, orderJSON, "00"},
		{"nested message: indexes [0 1], the map entry counted", f.line, `{"sku":"sku-9","count":3}`, "040002"},
		{"second top-level message: [1]", f.refund, `{"orderId":"o-1","amount":{"currency":"EUR","units":"5"}}`, "0202"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newMessage(t, tt.md, tt.json)
			b, err := protoSerializer(t).Serialize(f.topic, in)
			must(t, err, "Serialize")
			wireID, body := splitWire(t, b)
			if wireID != f.orderID {
				t.Fatalf("wire schema ID: want %d, got %d", f.orderID, wireID)
			}
			if got := hex.EncodeToString(body); !strings.HasPrefix(got, tt.wantIndexes) {
				t.Fatalf("body after the schema ID: want message indexes %s first, got %s", tt.wantIndexes, got)
			}
			after := dynamicpb.NewMessage(tt.md)
			must(t, proto.Unmarshal(body[len(tt.wantIndexes)/2:], after), "the message after the indexes")
			if diff := cmp.Diff(in, after, protocmp.Transform()); diff != "" {
				t.Fatalf("the message after the indexes (-want +got):\n%s", diff)
			}

			out, err := protoDeserializer(t, f.order, f.line, f.refund).Deserialize(f.topic, b)
			must(t, err, "Deserialize")
			if diff := cmp.Diff(in, out, protocmp.Transform()); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// A producer with the serializer's default configuration registers the message's .proto file
// under the topic's subject and each file it imports under the import path, as references.
func TestProtobufSerdeAutoRegister(t *testing.T) {
	moneyFile := "go-auto-" + runID + "/money.proto"
	files := compileProtos(t, map[string]string{moneyFile: moneyProto, "go-auto-" + runID + "/order.proto": orderProto(moneyFile)})
	order := files.message(t, "Order")
	topic := subject(t, "orders")

	ser, err := protobuf.NewSerializer(newClient(t), serde.ValueSerde, protobuf.NewSerializerConfig())
	must(t, err, "protobuf.NewSerializer")
	in := newMessage(t, order, orderJSON)
	b, err := ser.Serialize(topic, in)
	must(t, err, "Serialize (auto-register)")
	wireID, _ := splitWire(t, b)

	c := newClient(t)
	md, err := c.GetLatestSchemaMetadata(topic + "-value")
	must(t, err, "GetLatestSchemaMetadata of the auto-registered subject")
	want := []schemaregistry.Reference{{Name: moneyFile, Subject: moneyFile, Version: 1}}
	if md.ID != wireID || md.Version != 1 || md.SchemaType != "PROTOBUF" {
		t.Fatalf("auto-registered subject: want ID %d version 1 PROTOBUF, got %+v", wireID, md)
	}
	if diff := cmp.Diff(want, md.References); diff != "" {
		t.Fatalf("references of the auto-registered schema (-want +got):\n%s", diff)
	}
	out, err := protoDeserializer(t, order).Deserialize(topic, b)
	must(t, err, "Deserialize")
	if diff := cmp.Diff(in, out, protocmp.Transform()); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}

	// A second producer finds the same ID for the same file.
	ser2, err := protobuf.NewSerializer(newClient(t), serde.ValueSerde, protobuf.NewSerializerConfig())
	must(t, err, "protobuf.NewSerializer")
	b2, err := ser2.Serialize(topic, in)
	must(t, err, "Serialize again")
	if again, _ := splitWire(t, b2); again != wireID {
		t.Fatalf("same file from a second producer: want ID %d, got %d", wireID, again)
	}
}

// TestProtobufPayloadsValidate sends what confluent-kafka-go's Protobuf serializer writes to
// schemagate's validate endpoint: every message of the registered schema is VALID, whatever
// its message indexes; a message of another type sent under the topic, or a message of
// another schema, is flagged.
func TestProtobufPayloadsValidate(t *testing.T) {
	f := registerOrder(t)
	shipment := f.files.message(t, "Shipment")
	moneyBytes, err := protoSerializer(t).Serialize(f.moneyTopic, newMessage(t, f.money, `{"currency":"USD","units":"7"}`))
	must(t, err, "Serialize a Money under its own subject")

	tests := []struct {
		name    string
		payload []byte
		want    verdict
	}{
		{"first message", serialize(t, f.topic, newMessage(t, f.order, orderJSON)), verdict{Outcome: "OUTCOME_VALID"}},
		{"nested message after a map field, indexes [0 1]",
			serialize(t, f.topic, newMessage(t, f.line, `{"sku":"sku-9","count":3}`)), verdict{Outcome: "OUTCOME_VALID"}},
		{"second top-level message, indexes [1]",
			serialize(t, f.topic, newMessage(t, f.refund, `{"orderId":"o-1"}`)), verdict{Outcome: "OUTCOME_VALID"}},
		// The serializer takes the subject's latest schema and any message: it writes a Shipment
		// as if it were the first message of the Order schema.
		{"another message type under the order schema's ID",
			serialize(t, f.topic, newMessage(t, shipment, `{"id":"42","weight":2.5}`)),
			verdict{Outcome: "OUTCOME_FLAGGED", Kinds: []string{"DRIFT_KIND_TYPE_MISMATCH", "DRIFT_KIND_UNKNOWN_FIELD"}}},
		{"a message of another schema", moneyBytes,
			verdict{Outcome: "OUTCOME_FLAGGED", Kinds: []string{"DRIFT_KIND_UNKNOWN_SCHEMA_ID"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, validateFramed(t, f.topic+"-value", tt.payload)); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
		})
	}
}

// serialize serializes m with protoSerializer for topic.
func serialize(t *testing.T, topic string, m proto.Message) []byte {
	t.Helper()
	b, err := protoSerializer(t).Serialize(topic, m)
	must(t, err, "Serialize "+string(m.ProtoReflect().Descriptor().FullName()))
	return b
}
