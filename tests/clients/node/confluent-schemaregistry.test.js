'use strict'

// Runs Confluent's own JavaScript client, @confluentinc/schemaregistry (pinned in package.json),
// against a schemagate server whose Confluent-compatible REST API is at SCHEMA_REGISTRY_URL, and
// checks what its serdes write with schemagate's validate endpoint. Unlike
// @kafkajs/confluent-schema-registry (schema-registry.test.js), its Protobuf serializer writes
// Confluent's full frame: magic byte, schema ID, the message-index array, then the message.
// Started by tests/clients/clients_test.go; by hand:
//   SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 node --test confluent-schemaregistry.test.js

const { describe, it, before } = require('node:test')
const assert = require('node:assert/strict')
const { create, createFileRegistry, fromBinary } = require('@bufbuild/protobuf')
const { FileDescriptorProtoSchema, file_google_protobuf_timestamp, timestampFromMs } = require('@bufbuild/protobuf/wkt')
const {
  SchemaRegistryClient,
  SerdeType,
  ProtobufSerializer,
  ProtobufDeserializer,
  AvroSerializer,
  AvroDeserializer,
  JsonSerializer,
  JsonDeserializer,
} = require('@confluentinc/schemaregistry')
const { BASE_URL, RUN, validateFramed } = require('./support')

// topic returns a topic name unique to this run; the serdes' default strategy reads and writes
// the subject `${topic}-value`.
const topic = name => `confluent-node-${name}-${RUN}`
const valueSubject = t => `${t}-value`

// newClient returns a client with an empty cache, so reads really go to the server. Retries are
// kept short: a server error should fail the test, not stall it.
const newClient = () =>
  new SchemaRegistryClient({ baseURLs: [BASE_URL], maxRetries: 1, retriesWaitMs: 100, retriesMaxWaitMs: 200 })

// header splits the 5-byte header of a Confluent frame off: magic byte, 4-byte big-endian schema ID.
function header(buffer) {
  assert.ok(Buffer.isBuffer(buffer), 'serialize returns a Buffer')
  assert.ok(buffer.length >= 6, `frame has at least 6 bytes, got ${buffer.length}`)
  return { magic: buffer[0], id: buffer.readInt32BE(1), rest: buffer.subarray(5) }
}

const valid = { outcome: 'OUTCOME_VALID', kinds: [] }

// The Protobuf schema of this suite: a nested enum, a nested message declared before a map field
// (Line) and one declared after it (Note), a well-known type, and a second top-level message.
const protoPackage = 'schemagate.clients.confluentnode'
const orderProto = `syntax = "proto3";
package ${protoPackage};

import "google/protobuf/timestamp.proto";

message Order {
  enum Status {
    STATUS_UNSPECIFIED = 0;
    STATUS_PLACED = 1;
  }
  message Line {
    string sku = 1;
    int32 count = 2;
  }
  string id = 1;
  Status status = 2;
  repeated Line lines = 3;
  map<string, int32> quantities = 4;
  google.protobuf.Timestamp placed_at = 5;
  message Note {
    string text = 1;
    int64 priority = 3;
  }
  Note note = 6;
}

message Refund {
  string order_id = 1;
  int64 cents = 2;
}
`

// A message of another schema: field 1 is a varint where Order has a string, field 9 Order lacks.
const shipmentProto = `syntax = "proto3";
package ${protoPackage};

message Shipment {
  int64 weight = 1;
  bool fragile = 9;
}
`

// wellKnown resolves the imports of a schema to @bufbuild/protobuf's well-known types, as the
// client does for the files it treats as built in.
function wellKnown(name) {
  assert.equal(name, 'google/protobuf/timestamp.proto', `unexpected import ${name}`)
  return file_google_protobuf_timestamp
}

// descriptors registers .proto text under subject with the client and builds a @bufbuild/protobuf
// registry from schemagate's `format=serialized` answer (the base64 FileDescriptorProto).
async function descriptors(subject, text) {
  const client = newClient()
  const id = await client.register(subject, { schemaType: 'PROTOBUF', schema: text })
  assert.ok(Number.isInteger(id) && id > 0, `positive integer ID, got ${id}`)
  const latest = await newClient().getLatestSchemaMetadata(subject, 'serialized')
  assert.equal(latest.id, id)
  const file = fromBinary(FileDescriptorProtoSchema, Buffer.from(latest.schema, 'base64'))
  return { id, registry: createFileRegistry(file, wellKnown) }
}

// message returns the descriptor of a message of this suite's package, failing when it is missing.
function message(registry, name) {
  const desc = registry.getMessage(`${protoPackage}.${name}`)
  assert.ok(desc, `descriptor of ${name} in the registry built from the serialized schema`)
  return desc
}

describe('@confluentinc/schemaregistry Protobuf serdes', () => {
  const orderTopic = topic('orders-proto')
  const orderSubject = valueSubject(orderTopic)
  let id, registry

  before(async () => {
    ;({ id, registry } = await descriptors(orderSubject, orderProto))
  })

  // serializer returns the client's serializer for the registered version (use-latest).
  const serializer = () =>
    new ProtobufSerializer(newClient(), SerdeType.VALUE, { useLatestVersion: true, autoRegisterSchemas: false, registry })
  const deserializer = () => new ProtobufDeserializer(newClient(), SerdeType.VALUE, {})

  const order = () =>
    create(message(registry, 'Order'), {
      id: 'o-1',
      status: 1,
      lines: [{ sku: 'sku-1', count: 2 }],
      quantities: { 'sku-1': 2 },
      placedAt: timestampFromMs(1796553000000),
    })

  // Each case: the message, the index bytes the client writes after the header, and what
  // schemagate answers. Indexes are zig-zag varints after their count; [0] is the single byte 0.
  const cases = [
    { name: 'the first message, Order: indexes [0]', msg: order, indexes: [0x00], want: valid },
    {
      name: 'a second top-level message, Refund: indexes [1]',
      msg: () => create(message(registry, 'Refund'), { orderId: 'o-1', cents: 1250n }),
      indexes: [0x02, 0x02],
      want: valid,
    },
    {
      name: 'a nested message declared before the map field, Order.Line: indexes [0, 0]',
      msg: () => create(message(registry, 'Order.Line'), { sku: 'sku-9', count: 3 }),
      indexes: [0x04, 0x00, 0x00],
      want: valid,
    },
    {
      // @bufbuild/protobuf leaves map entries out of a message's nested messages, so the client
      // writes [0, 1] for Note, as Confluent's Java serializer does, and schemagate counts
      // declared messages the same way.
      name: 'a nested message declared after the map field, Order.Note: indexes [0, 1]',
      msg: () => create(message(registry, 'Order.Note'), { text: 'gift', priority: 2n }),
      indexes: [0x04, 0x00, 0x02],
      want: valid,
    },
  ]

  for (const c of cases) {
    it(`${c.name}: framed, read back by the client, and ${c.want.outcome} in schemagate`, async () => {
      const msg = c.msg()
      const framed = await serializer().serialize(orderTopic, msg)
      const { magic, id: frameID, rest } = header(framed)
      assert.deepEqual({ magic, id: frameID }, { magic: 0, id })
      assert.deepEqual([...rest.subarray(0, c.indexes.length)], c.indexes, `frame ${framed.toString('hex')}`)
      assert.deepEqual(await deserializer().deserialize(orderTopic, framed), msg)
      assert.deepEqual(await validateFramed(orderSubject, framed), c.want)
    })
  }

  it('auto-registers the descriptor it was given and frames with the ID schemagate answers', async () => {
    const autoTopic = topic('orders-proto-auto')
    const auto = new ProtobufSerializer(newClient(), SerdeType.VALUE, { autoRegisterSchemas: true, registry })
    const msg = order()
    const framed = await auto.serialize(autoTopic, msg)
    const latest = await newClient().getLatestSchemaMetadata(valueSubject(autoTopic))
    assert.equal(latest.schemaType, 'PROTOBUF')
    assert.deepEqual(latest.references ?? [], [], 'the well-known import is built in, not a reference')
    // The same file registered from its descriptor is the schema already registered from text.
    assert.equal(latest.id, id, 'the serialized form of a registered schema keeps its ID')
    assert.deepEqual(header(framed).id, latest.id)
    assert.deepEqual(await deserializer().deserialize(autoTopic, framed), msg)
    assert.deepEqual(await validateFramed(valueSubject(autoTopic), framed), valid)
  })

  it('a message of another type framed with the subject\'s schema ID is flagged', async () => {
    const other = await descriptors(valueSubject(topic('shipments-proto')), shipmentProto)
    const pinned = new ProtobufSerializer(newClient(), SerdeType.VALUE, {
      useSchemaId: id,
      autoRegisterSchemas: false,
      registry: other.registry,
    })
    const framed = await pinned.serialize(orderTopic, create(message(other.registry, 'Shipment'), { weight: 12n, fragile: true }))
    assert.deepEqual(await validateFramed(orderSubject, framed), {
      outcome: 'OUTCOME_FLAGGED',
      kinds: ['DRIFT_KIND_TYPE_MISMATCH', 'DRIFT_KIND_UNKNOWN_FIELD'],
    })
  })
})

// The Avro and JSON Schema serdes frame with the magic byte and schema ID only: each case
// registers its schema with the client, serializes with the registered version (use-latest),
// reads back with the deserializer and validates the frame.
describe('@confluentinc/schemaregistry Avro and JSON Schema serdes', () => {
  const cases = [
    {
      name: 'Avro',
      schemaType: 'AVRO',
      schema: {
        type: 'record',
        name: 'Payment',
        namespace: 'io.schemagate.clients.confluentnode',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'cents', type: 'long' },
          { name: 'note', type: ['null', 'string'], default: null },
        ],
      },
      serializer: client => new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true }),
      deserializer: client => new AvroDeserializer(client, SerdeType.VALUE, {}),
      value: { id: 'p-1', cents: 1250, note: 'gift' },
    },
    {
      name: 'JSON Schema',
      schemaType: 'JSON',
      schema: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { id: { type: 'string' }, cents: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
        required: ['id', 'cents'],
        additionalProperties: false,
      },
      serializer: client => new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true, validate: true }),
      deserializer: client => new JsonDeserializer(client, SerdeType.VALUE, { validate: true }),
      value: { id: 'p-1', cents: 1250, tags: ['gift'] },
    },
  ]

  for (const c of cases) {
    it(`${c.name}: registers, serializes, reads back, and the frame is VALID in schemagate`, async () => {
      const t = topic(`payments-${c.schemaType.toLowerCase()}`)
      const id = await newClient().register(valueSubject(t), { schemaType: c.schemaType, schema: JSON.stringify(c.schema) })
      assert.ok(Number.isInteger(id) && id > 0, `positive integer ID, got ${id}`)
      const framed = await c.serializer(newClient()).serialize(t, c.value)
      const { magic, id: frameID } = header(framed)
      assert.deepEqual({ magic, id: frameID }, { magic: 0, id })
      // The Avro deserializer answers a record instance (avsc's Payment); its fields are compared.
      assert.deepEqual({ ...(await c.deserializer(newClient()).deserialize(t, framed)) }, c.value)
      assert.deepEqual(await validateFramed(valueSubject(t), framed), valid)
    })
  }
})
