package clients

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/avrov2"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/jsonschema"
)

const orderSchema = `{"type":"record","name":"SerdeOrder","namespace":"io.schemagate.clients.go","fields":[
	{"name":"id","type":"string"},
	{"name":"quantity","type":"int"},
	{"name":"price","type":"double"},
	{"name":"note","type":["null","string"],"default":null}]}`

// Order is a record of orderSchema for the hamba/avro based avrov2 serde.
type Order struct {
	ID       string  `avro:"id"`
	Quantity int32   `avro:"quantity"`
	Price    float64 `avro:"price"`
	Note     *string `avro:"note"`
}

// avroSerializer serializes with the schema registered latest under the topic's value subject,
// as producers that do not auto-register are configured.
func avroSerializer(t *testing.T) *avrov2.Serializer {
	t.Helper()
	conf := avrov2.NewSerializerConfig()
	conf.AutoRegisterSchemas = false
	conf.UseLatestVersion = true
	ser, err := avrov2.NewSerializer(newClient(t), serde.ValueSerde, conf)
	must(t, err, "avrov2.NewSerializer")
	return ser
}

func avroDeserializer(t *testing.T) *avrov2.Deserializer {
	t.Helper()
	de, err := avrov2.NewDeserializer(newClient(t), serde.ValueSerde, avrov2.NewDeserializerConfig())
	must(t, err, "avrov2.NewDeserializer")
	return de
}

func TestAvroSerde(t *testing.T) {
	topic := subject(t, "orders")
	id := register(t, topic+"-value", avroInfo(orderSchema))

	note := "leave at the door"
	in := Order{ID: "o-1", Quantity: 3, Price: 9.5, Note: &note}
	b, err := avroSerializer(t).Serialize(topic, &in)
	must(t, err, "Serialize")
	wireID, payload := splitWire(t, b)
	if wireID != id {
		t.Fatalf("wire schema ID: want %d, got %d", id, wireID)
	}
	if len(payload) == 0 {
		t.Fatal("empty Avro payload")
	}

	// A deserializer with a fresh client fetches the writer schema by ID from the server.
	var out Order
	must(t, avroDeserializer(t).DeserializeInto(topic, b, &out), "DeserializeInto")
	if out.ID != in.ID || out.Quantity != in.Quantity || out.Price != in.Price || out.Note == nil || *out.Note != note {
		t.Fatalf("round trip: want %+v, got %+v", in, out)
	}

	// Null in the union.
	in.Note = nil
	b, err = avroSerializer(t).Serialize(topic, &in)
	must(t, err, "Serialize with a null note")
	var out2 Order
	must(t, avroDeserializer(t).DeserializeInto(topic, b, &out2), "DeserializeInto")
	if out2.Note != nil {
		t.Fatalf("null union branch: got %q", *out2.Note)
	}
}

// AutoOrder has no hand-written schema: the default serializer configuration derives one from
// the struct and registers it under <topic>-value, as most Go producers do.
type AutoOrder struct {
	ID    string `avro:"id"`
	Count int64  `avro:"count"`
}

func TestAvroSerdeAutoRegister(t *testing.T) {
	topic := subject(t, "auto")
	ser, err := avrov2.NewSerializer(newClient(t), serde.ValueSerde, avrov2.NewSerializerConfig())
	must(t, err, "avrov2.NewSerializer")
	in := AutoOrder{ID: "a-1", Count: 42}
	b, err := ser.Serialize(topic, &in)
	must(t, err, "Serialize (auto-register)")
	wireID, _ := splitWire(t, b)

	md, err := newClient(t).GetLatestSchemaMetadata(topic + "-value")
	must(t, err, "GetLatestSchemaMetadata of the auto-registered subject")
	if md.ID != wireID || md.Version != 1 {
		t.Fatalf("auto-registered subject: want ID %d version 1, got %+v", wireID, md)
	}
	var out AutoOrder
	must(t, avroDeserializer(t).DeserializeInto(topic, b, &out), "DeserializeInto")
	if out != in {
		t.Fatalf("round trip: want %+v, got %+v", in, out)
	}

	// A second producer with the same struct gets the same ID.
	ser2, err := avrov2.NewSerializer(newClient(t), serde.ValueSerde, avrov2.NewSerializerConfig())
	must(t, err, "avrov2.NewSerializer")
	b2, err := ser2.Serialize(topic, &AutoOrder{ID: "a-2", Count: 1})
	must(t, err, "Serialize again")
	if again, _ := splitWire(t, b2); again != wireID {
		t.Fatalf("same schema from a second producer: want ID %d, got %d", wireID, again)
	}

	// A producer whose struct adds a field without a default is refused by the subject's
	// BACKWARD level, and the serializer passes the registry's 409 on.
	ser3, err := avrov2.NewSerializer(newClient(t), serde.ValueSerde, avrov2.NewSerializerConfig())
	must(t, err, "avrov2.NewSerializer")
	_, err = ser3.Serialize(topic, &autoOrderV2{ID: "a-3", Count: 2, Region: "eu"})
	wantCode(t, err, 409, "auto-register an incompatible struct")
}

// autoOrderV2 is AutoOrder with a new field without a default, under the same record name. It
// names its schema itself (the serializer asks for Schema()), since the schema the serializer
// derives from a struct gives every field a default.
type autoOrderV2 struct {
	ID     string `avro:"id"`
	Count  int64  `avro:"count"`
	Region string `avro:"region"`
}

var autoOrderV2Schema = avro.MustParse(`{"type":"record","name":"AutoOrder","fields":[
	{"name":"id","type":"string","default":""},
	{"name":"count","type":"long","default":0},
	{"name":"region","type":"string"}]}`)

func (*autoOrderV2) Schema() avro.Schema { return autoOrderV2Schema }

const shipmentSchema = `{"$schema":"http://json-schema.org/draft-07/schema#","title":"SerdeShipment","type":"object",
	"properties":{"id":{"type":"string"},"weight":{"type":"number","minimum":0},"tags":{"type":"array","items":{"type":"string"}}},
	"required":["id","weight"],"additionalProperties":false}`

// Shipment is a record of shipmentSchema.
type Shipment struct {
	ID     string   `json:"id"`
	Weight float64  `json:"weight"`
	Tags   []string `json:"tags,omitempty"`
}

func TestJSONSchemaSerde(t *testing.T) {
	topic := subject(t, "shipments")
	id := register(t, topic+"-value", jsonInfo(shipmentSchema))

	conf := jsonschema.NewSerializerConfig()
	conf.AutoRegisterSchemas = false
	conf.UseLatestVersion = true
	conf.EnableValidation = true
	ser, err := jsonschema.NewSerializer(newClient(t), serde.ValueSerde, conf)
	must(t, err, "jsonschema.NewSerializer")

	in := Shipment{ID: "s-1", Weight: 12.5, Tags: []string{"fragile"}}
	b, err := ser.Serialize(topic, &in)
	must(t, err, "Serialize")
	wireID, payload := splitWire(t, b)
	if wireID != id {
		t.Fatalf("wire schema ID: want %d, got %d", id, wireID)
	}
	var plain map[string]any
	if err := json.Unmarshal(payload, &plain); err != nil {
		t.Fatalf("JSON payload after the 5-byte header does not parse: %v (%q)", err, payload)
	}

	// Validation on the reading side works on generic values only (the library hands the target
	// struct to the validator), so this deserializer decodes into the struct without it.
	de, err := jsonschema.NewDeserializer(newClient(t), serde.ValueSerde, jsonschema.NewDeserializerConfig())
	must(t, err, "jsonschema.NewDeserializer")
	var out Shipment
	must(t, de.DeserializeInto(topic, b, &out), "DeserializeInto")
	if out.ID != in.ID || out.Weight != in.Weight || !slices.Equal(out.Tags, in.Tags) {
		t.Fatalf("round trip: want %+v, got %+v", in, out)
	}

	// The schema fetched from the registry is enforced: a negative weight is refused.
	if _, err := ser.Serialize(topic, &Shipment{ID: "s-2", Weight: -1}); err == nil {
		t.Fatal("Serialize of a record the registered schema forbids: want an error")
	}
}

const addressSchema = `{"type":"record","name":"RefAddress","namespace":"io.schemagate.clients.go","fields":[
	{"name":"street","type":"string"},{"name":"city","type":"string"}]}`

const customerSchema = `{"type":"record","name":"RefCustomer","namespace":"io.schemagate.clients.go","fields":[
	{"name":"name","type":"string"},
	{"name":"address","type":"io.schemagate.clients.go.RefAddress"}]}`

// Address and Customer are records of addressSchema and customerSchema.
type Address struct {
	Street string `avro:"street"`
	City   string `avro:"city"`
}

type Customer struct {
	Name    string  `avro:"name"`
	Address Address `avro:"address"`
}

func TestReferences(t *testing.T) {
	addressSubject := subject(t, "address")
	topic := subject(t, "customers")
	customerSubject := topic + "-value"

	addressID := register(t, addressSubject, avroInfo(addressSchema))
	ref := schemaregistry.Reference{Name: "io.schemagate.clients.go.RefAddress", Subject: addressSubject, Version: 1}
	customerID := register(t, customerSubject, avroInfo(customerSchema, ref))
	if customerID == addressID {
		t.Fatalf("referencing schema got the referenced schema's ID %d", addressID)
	}

	c := newClient(t)
	info, err := c.GetBySubjectAndID("", customerID)
	must(t, err, "GetBySubjectAndID")
	if !slices.Equal(info.References, []schemaregistry.Reference{ref}) {
		t.Fatalf("GET /schemas/ids/%d: want references [%+v], got %+v", customerID, ref, info.References)
	}
	md, err := c.GetSchemaMetadata(customerSubject, 1)
	must(t, err, "GetSchemaMetadata")
	if !slices.Equal(md.References, []schemaregistry.Reference{ref}) {
		t.Fatalf("GET /subjects/%s/versions/1: want references [%+v], got %+v", customerSubject, ref, md.References)
	}

	// Registering the same schema with the same references finds the same ID.
	if again := register(t, customerSubject, avroInfo(customerSchema, ref)); again != customerID {
		t.Fatalf("same referencing schema again: want ID %d, got %d", customerID, again)
	}
	got, err := newClient(t).GetID(customerSubject, avroInfo(customerSchema, ref), false)
	must(t, err, "GetID with references")
	if got != customerID {
		t.Fatalf("GetID with references: want %d, got %d", customerID, got)
	}

	// Without the reference the schema does not resolve.
	_, err = newClient(t).Register(subject(t, "unresolved"), avroInfo(customerSchema), false)
	wantCode(t, err, 42201, "register a schema whose named type is neither defined nor referenced")

	// The serdes resolve the reference through the registry on both sides.
	in := Customer{Name: "Ada", Address: Address{Street: "Main St 1", City: "Springfield"}}
	b, err := avroSerializer(t).Serialize(topic, &in)
	must(t, err, "Serialize with a reference")
	if wireID, _ := splitWire(t, b); wireID != customerID {
		t.Fatalf("wire schema ID: want %d, got %d", customerID, wireID)
	}
	var out Customer
	must(t, avroDeserializer(t).DeserializeInto(topic, b, &out), "DeserializeInto with a reference")
	if out != in {
		t.Fatalf("round trip: want %+v, got %+v", in, out)
	}

	// A referenced version cannot be deleted while something refers to it.
	_, err = newClient(t).DeleteSubjectVersion(addressSubject, 1, false)
	wantCode(t, err, 42206, "delete a version that another schema references")

	r := raw(t, "GET", "/subjects/"+addressSubject+"/versions/1/referencedby", nil)
	var ids []int
	if r.Status != 200 {
		t.Fatalf("GET /subjects/{s}/versions/1/referencedby: want 200, got %s", r)
	}
	r.decode(t, &ids)
	if !slices.Equal(ids, []int{customerID}) {
		t.Fatalf("referencedby: want [%d], got %s", customerID, r)
	}
}
