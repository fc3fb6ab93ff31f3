'use strict'

// Runs the real @kafkajs/confluent-schema-registry client (pinned in package.json) against a
// schemagate server whose Confluent-compatible REST API is at SCHEMA_REGISTRY_URL. Started by
// tests/clients/clients_test.go; by hand:
//   SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 node --test
//
// Every test uses subjects of its own (a per-run suffix), so the file also runs against a
// registry that already holds data.

const { describe, it, before } = require('node:test')
const assert = require('node:assert/strict')
const {
  SchemaRegistry,
  SchemaType,
  COMPATIBILITY,
} = require('@kafkajs/confluent-schema-registry')
const {
  ConfluentSchemaRegistryCompatibilityError,
} = require('@kafkajs/confluent-schema-registry/dist/errors')

const { BASE_URL, RUN, validateFramed } = require('./support')
const CONFLUENT_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

// subject returns a subject name unique to this run.
const subject = name => `node-${name}-${RUN}`

// newClient returns a client with an empty cache, so reads really go to the server. Retries are
// kept short: a server error should fail the test, not stall it.
const newClient = () =>
  new SchemaRegistry({ host: BASE_URL, retry: { retries: 1, maxRetryTimeInSecs: 1 } })

// raw sends one request to the registry as a Confluent client does and returns the status, the
// content type and the parsed JSON body (or the text when it is not JSON).
async function raw(method, path, body) {
  const res = await fetch(BASE_URL + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': CONFLUENT_CONTENT_TYPE },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = text
  }
  return { status: res.status, contentType: res.headers.get('content-type') || '', body: json }
}

// describeRaw renders a raw response for assertion messages.
const describeRaw = (what, r) => `${what}: HTTP ${r.status} ${r.contentType} ${JSON.stringify(r.body)}`

// registered fails a test whose set-up registration (an earlier test in its suite) failed, with
// a message that says so instead of a confusing follow-on error.
function registered(id) {
  assert.ok(Number.isInteger(id) && id > 0, 'the registration test earlier in this suite must pass first')
  return id
}

// wire splits a Confluent wire-format message: magic byte, 4-byte big-endian schema ID, payload.
function wire(buffer) {
  assert.ok(Buffer.isBuffer(buffer), 'encode returns a Buffer')
  assert.ok(buffer.length >= 5, `wire message has at least 5 bytes, got ${buffer.length}`)
  return { magic: buffer[0], id: buffer.readInt32BE(1), payload: buffer.subarray(5) }
}

const orderV1 = {
  type: 'record',
  name: 'Order',
  namespace: 'io.schemagate.clients.node',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'quantity', type: 'int' },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
}

// orderWithRequiredField adds a field without a default: a reader of this schema cannot read
// data written with orderV1, so it is not BACKWARD compatible.
const orderWithRequiredField = {
  ...orderV1,
  fields: [...orderV1.fields, { name: 'customer', type: 'string' }],
}

// orderWithOptionalField adds a field with a default: BACKWARD (and FULL) compatible.
const orderWithOptionalField = {
  ...orderV1,
  fields: [...orderV1.fields, { name: 'channel', type: 'string', default: 'web' }],
}

const avro = schema => ({ type: SchemaType.AVRO, schema: JSON.stringify(schema) })

const customerJSONSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Customer',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['id', 'name'],
  additionalProperties: false,
}

before(async () => {
  assert.ok(BASE_URL, 'SCHEMA_REGISTRY_URL must name the registry, e.g. http://127.0.0.1:8081')
})

describe('Avro', () => {
  const s = subject('orders-value')
  let id

  it('registers a schema under a subject and returns a positive ID', async () => {
    const registry = newClient()
    const res = await registry.register(avro(orderV1), { subject: s })
    assert.equal(typeof res.id, 'number')
    assert.ok(Number.isInteger(res.id) && res.id > 0, `positive integer ID, got ${res.id}`)
    id = res.id
  })

  it('encodes in the Confluent wire format and decodes with a fresh client', async () => {
    const record = { id: 'o-1', quantity: 3, note: 'fragile' }
    const encoded = await newClient().encode(registered(id), record)
    const { magic, id: wireID, payload } = wire(encoded)
    assert.equal(magic, 0, 'magic byte is 0')
    assert.equal(wireID, id, 'bytes 1-4 are the schema ID, big-endian')
    assert.ok(payload.length > 0, 'Avro payload follows the header')
    // A second client has no cache: decode has to fetch the writer schema by ID.
    const decoded = await newClient().decode(encoded)
    assert.deepEqual({ ...decoded }, record)
  })

  it('refuses to encode a record that does not match the schema', async () => {
    await assert.rejects(newClient().encode(registered(id), { id: 'o-2', quantity: 'many' }), err => {
      assert.equal(err.name, 'ConfluentSchemaRegistryValidationError')
      return true
    })
  })

  it('fetches the schema by ID (GET /schemas/ids/{id})', async () => {
    const type = await newClient().getSchema(registered(id))
    assert.equal(type.name, 'io.schemagate.clients.node.Order')
    assert.deepEqual(
      type.fields.map(f => f.name),
      ['id', 'quantity', 'note'],
    )
  })

  it('finds the ID by subject and version, latest, and by schema', async () => {
    const registry = newClient()
    registered(id)
    assert.equal(await registry.getRegistryId(s, 1), id, 'GET /subjects/{s}/versions/1')
    assert.equal(await registry.getRegistryId(s, 'latest'), id, 'GET /subjects/{s}/versions/latest')
    assert.equal(await registry.getLatestSchemaId(s), id)
    assert.equal(await registry.getRegistryIdBySchema(s, avro(orderV1)), id, 'POST /subjects/{s}')
  })

  it('registering the same schema again returns the same ID and no new version', async () => {
    registered(id)
    const again = await newClient().register(avro(orderV1), { subject: s })
    assert.equal(again.id, id)
    const versions = await raw('GET', `/subjects/${encodeURIComponent(s)}/versions`)
    assert.equal(versions.status, 200, describeRaw('GET versions', versions))
    assert.deepEqual(versions.body, [1])
  })

  it('the same schema under another subject keeps its global ID', async () => {
    registered(id)
    const other = subject('orders-copy')
    const res = await newClient().register(avro(orderV1), { subject: other })
    assert.equal(res.id, id)
  })

  it('an unknown schema ID is a 404 for the client (error_code 40403)', async () => {
    await assert.rejects(newClient().getSchema(987654321), err => {
      assert.equal(err.status, 404, `status 404, got ${err.status}: ${err.message}`)
      return true
    })
    const r = await raw('GET', '/schemas/ids/987654321')
    assert.equal(r.status, 404, describeRaw('GET /schemas/ids/987654321', r))
    assert.equal(r.body.error_code, 40403, describeRaw('GET /schemas/ids/987654321', r))
    assert.equal(typeof r.body.message, 'string')
  })

  it('an unknown subject is a 404 for the client (error_code 40401)', async () => {
    const missing = subject('never-registered')
    await assert.rejects(newClient().getLatestSchemaId(missing), err => {
      assert.equal(err.status, 404, `status 404, got ${err.status}: ${err.message}`)
      return true
    })
    const r = await raw('GET', `/subjects/${missing}/versions/latest`)
    assert.equal(r.status, 404, describeRaw('GET latest of unknown subject', r))
    assert.equal(r.body.error_code, 40401, describeRaw('GET latest of unknown subject', r))
  })
})

describe('Avro references', () => {
  const addressSubject = subject('address')
  const customerSubject = subject('customer-value')
  const address = {
    type: 'record',
    name: 'Address',
    namespace: 'io.schemagate.clients.node',
    fields: [
      { name: 'street', type: 'string' },
      { name: 'city', type: 'string' },
    ],
  }
  const customer = {
    type: 'record',
    name: 'Customer',
    namespace: 'io.schemagate.clients.node',
    fields: [
      { name: 'name', type: 'string' },
      { name: 'address', type: 'io.schemagate.clients.node.Address' },
    ],
  }

  it('registers a schema that references a type of another subject, and round-trips a record', async () => {
    const registry = newClient()
    await registry.register(avro(address), { subject: addressSubject })
    const { id } = await registry.register(
      {
        ...avro(customer),
        references: [
          { name: 'io.schemagate.clients.node.Address', subject: addressSubject, version: 1 },
        ],
      },
      { subject: customerSubject },
    )
    assert.ok(id > 0)
    const record = { name: 'Ada', address: { street: 'Main St 1', city: 'Springfield' } }
    const encoded = await registry.encode(id, record)
    assert.equal(wire(encoded).id, id)
    // The fresh client resolves the reference from the schema's references on its own.
    const decoded = await newClient().decode(encoded)
    assert.deepEqual(JSON.parse(JSON.stringify(decoded)), record)
  })
})

describe('JSON Schema', () => {
  const s = subject('customers-value')
  let id

  it('registers a JSON schema', async () => {
    const res = await newClient().register(
      { type: SchemaType.JSON, schema: JSON.stringify(customerJSONSchema) },
      { subject: s },
    )
    assert.ok(Number.isInteger(res.id) && res.id > 0, `positive integer ID, got ${res.id}`)
    id = res.id
  })

  it('the registry reports schemaType JSON for it', async () => {
    const r = await raw('GET', `/schemas/ids/${registered(id)}`)
    assert.equal(r.status, 200, describeRaw('GET /schemas/ids/{id}', r))
    assert.equal(r.body.schemaType, 'JSON', describeRaw('GET /schemas/ids/{id}', r))
    assert.deepEqual(JSON.parse(r.body.schema), customerJSONSchema)
  })

  it('encodes and decodes a record in the wire format', async () => {
    const record = { id: 42, name: 'Grace', tags: ['vip'] }
    const encoded = await newClient().encode(registered(id), record)
    const { magic, id: wireID, payload } = wire(encoded)
    assert.equal(magic, 0)
    assert.equal(wireID, id)
    assert.deepEqual(JSON.parse(payload.toString('utf8')), record)
    assert.deepEqual(await newClient().decode(encoded), record)
  })

  it('refuses to encode a record the schema rejects', async () => {
    await assert.rejects(newClient().encode(registered(id), { id: 'not a number' }), err => {
      assert.equal(err.name, 'ConfluentSchemaRegistryValidationError')
      return true
    })
  })

  it('fetches by ID and by subject/version', async () => {
    const registry = newClient()
    const schema = await registry.getSchema(registered(id))
    assert.equal(typeof schema.validate, 'function', 'a compiled JSON schema')
    assert.equal(await registry.getLatestSchemaId(s), id)
    assert.equal(await registry.getRegistryId(s, 1), id)
  })

  it('a JSON schema that changes a property type is refused with 409 (BACKWARD)', async () => {
    registered(id)
    const changed = {
      ...customerJSONSchema,
      properties: { ...customerJSONSchema.properties, id: { type: 'string' } },
    }
    await assert.rejects(
      newClient().register({ type: SchemaType.JSON, schema: JSON.stringify(changed) }, { subject: s }),
      err => {
        assert.equal(err.status, 409, `status 409, got ${err.status}: ${err.message}`)
        return true
      },
    )
    assert.equal(await newClient().getLatestSchemaId(s), id, 'nothing was stored')
  })

  it('registering the same JSON schema twice gives the same ID', async () => {
    registered(id)
    const again = await newClient().register(
      { type: SchemaType.JSON, schema: JSON.stringify(customerJSONSchema) },
      { subject: s },
    )
    assert.equal(again.id, id)
  })
})

// Protobuf schemas of this suite. Order has a nested message, an enum and a map, and imports
// Money through a reference; the map field comes before the nested message Line, so in the
// descriptor Line is nested message 1 (after the map's entry message).
const protoPackage = 'schemagate.clients.node'
const moneyProto = `syntax = "proto3";
package ${protoPackage};

message Money {
  string currency = 1;
  int64 units = 2;
}
`
const orderProto = moneyFile => `syntax = "proto3";
package ${protoPackage};

import "${moneyFile}";

message Order {
  enum Status {
    STATUS_UNSPECIFIED = 0;
    STATUS_PLACED = 1;
  }
  string id = 1;
  Money total = 2;
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

const proto = (schema, references) => ({ type: SchemaType.PROTOBUF, schema, references })

// protoObject renders a decoded protobufjs message as plain JSON-like data.
const protoObject = message => message.$type.toObject(message, { longs: String, enums: String })

// confluentFrame inserts a message-index array (as bytes) after the 5-byte header of a message
// the client encoded, giving the frame Confluent's serializers write for the same message.
const confluentFrame = (encoded, indexes) =>
  Buffer.concat([encoded.subarray(0, 5), Buffer.from(indexes), encoded.subarray(5)])

describe('Protobuf', () => {
  const moneySubject = subject('money-value')
  const orderSubject = subject('orders-proto-value')
  const moneyFile = `node-${RUN}/money.proto`
  const reference = { name: moneyFile, subject: moneySubject, version: 1 }
  // The client takes numbers for int64 and enum fields; protoObject renders them as strings.
  const order = {
    id: 'o-1',
    total: { currency: 'EUR', units: 1250 },
    status: 1,
    quantities: { 'sku-1': 2 },
    lines: [{ sku: 'sku-1', count: 2 }],
  }
  const orderObject = { ...order, total: { currency: 'EUR', units: '1250' }, status: 'STATUS_PLACED' }
  const line = { sku: 'sku-9', count: 3 }
  let id

  it('registers a .proto that imports another subject through a reference', async () => {
    const registry = newClient()
    await registry.register(proto(moneyProto), { subject: moneySubject })
    const res = await registry.register(proto(orderProto(moneyFile), [reference]), { subject: orderSubject })
    assert.ok(Number.isInteger(res.id) && res.id > 0, `positive integer ID, got ${res.id}`)
    id = res.id
    const r = await raw('GET', `/schemas/ids/${id}`)
    assert.equal(r.status, 200, describeRaw('GET /schemas/ids/{id}', r))
    assert.equal(r.body.schemaType, 'PROTOBUF', describeRaw('GET /schemas/ids/{id}', r))
    assert.deepEqual(r.body.references, [reference], describeRaw('GET /schemas/ids/{id}', r))
    const again = await newClient().register(proto(orderProto(moneyFile), [reference]), { subject: orderSubject })
    assert.equal(again.id, id, 'the same schema again keeps its ID')
  })

  it('encodes the first message without a message-index array and decodes it with a fresh client', async () => {
    const encoded = await newClient().encode(registered(id), order)
    const { magic, id: wireID, payload } = wire(encoded)
    assert.equal(magic, 0)
    assert.equal(wireID, id)
    // Field 1 (id, length-delimited) starts the payload: the client writes no indexes, where
    // Confluent's serializers write the single byte 0 for the first message.
    assert.equal(payload[0], 0x0a, `payload starts with the message itself, got ${payload.toString('hex')}`)
    assert.deepEqual(protoObject(await newClient().decode(encoded)), orderObject)
    // A Confluent frame of the same message reads back too: the client skips leading zero bytes.
    assert.deepEqual(protoObject(await newClient().decode(confluentFrame(encoded, [0]))), orderObject)
  })

  it('a nested message is encoded by name, still without indexes, and is read back only by name', async () => {
    const byName = () => new SchemaRegistry(
      { host: BASE_URL, retry: { retries: 1, maxRetryTimeInSecs: 1 } },
      { [SchemaType.PROTOBUF]: { messageName: 'Order.Line' } },
    )
    const encoded = await byName().encode(registered(id), line)
    const { payload } = wire(encoded)
    assert.equal(payload[0], 0x0a, `payload starts with the message itself, got ${payload.toString('hex')}`)
    const decoded = await byName().decode(encoded)
    assert.equal(decoded.$type.fullName, `.${protoPackage}.Order.Line`)
    assert.deepEqual(protoObject(decoded), line)
    // The frame Confluent's serializers write for it (indexes [0, 1]: count 2, then 0 and 1 as
    // zig-zag varints) is not understood: the client reads the index bytes as the message.
    await assert.rejects(newClient().decode(confluentFrame(encoded, [4, 0, 2])), /invalid wire type/)
  })

  it('a schema importing a well-known type registers, but the client cannot encode with it', async () => {
    const stamped = `syntax = "proto3";
package ${protoPackage};

import "google/protobuf/timestamp.proto";

message Stamped {
  string id = 1;
  google.protobuf.Timestamp at = 2;
}
`
    // schemagate has the well-known types built in, as Confluent does: no reference is needed.
    const { id: stampedID } = await newClient().register(proto(stamped), { subject: subject('stamped-value') })
    assert.ok(Number.isInteger(stampedID) && stampedID > 0, `positive integer ID, got ${stampedID}`)
    // The client parses the text alone with protobufjs, which does not load the imported file.
    await assert.rejects(
      newClient().encode(stampedID, { id: 's-1', at: { seconds: 1796553000, nanos: 0 } }),
      /no such Type or Enum '\.google\.protobuf\.Timestamp'/,
    )
  })
})

// Needs the validation of Protobuf payloads (the protoval branch): what the npm client writes,
// and the Confluent frame of the same message, through schemagate's validate endpoint.
describe('Protobuf payloads through /v1 validate', () => {
  const moneySubject = subject('money-validate-value')
  const orderSubject = subject('orders-validate-value')
  const moneyFile = `node-${RUN}/validate/money.proto`
  const valid = { outcome: 'OUTCOME_VALID', kinds: [] }
  const undecodable = { outcome: 'OUTCOME_FLAGGED', kinds: ['DRIFT_KIND_DECODE_ERROR'] }
  let orderID, moneyID

  before(async () => {
    const registry = newClient()
    moneyID = (await registry.register(proto(moneyProto), { subject: moneySubject })).id
    const reference = { name: moneyFile, subject: moneySubject, version: 1 }
    orderID = (await registry.register(proto(orderProto(moneyFile), [reference]), { subject: orderSubject })).id
  })

  it('the client writes no message indexes: flagged as it is, VALID with the first-message shortcut', async () => {
    const encoded = await newClient().encode(orderID, { id: 'o-1', total: { currency: 'EUR', units: 5 } })
    assert.deepEqual(await validateFramed(orderSubject, encoded), undecodable)
    assert.deepEqual(await validateFramed(orderSubject, confluentFrame(encoded, [0])), valid)
  })

  it('a nested message encoded by name is VALID with its Confluent indexes [0, 1]', async () => {
    const byName = new SchemaRegistry(
      { host: BASE_URL, retry: { retries: 1, maxRetryTimeInSecs: 1 } },
      { [SchemaType.PROTOBUF]: { messageName: 'Order.Line' } },
    )
    const encoded = await byName.encode(orderID, { sku: 'sku-9', count: 3 })
    assert.deepEqual(await validateFramed(orderSubject, encoded), undecodable)
    assert.deepEqual(await validateFramed(orderSubject, confluentFrame(encoded, [4, 0, 2])), valid)
  })

  it('a message of another schema sent under the subject is flagged', async () => {
    const encoded = await newClient().encode(moneyID, { currency: 'USD', units: 7 })
    assert.deepEqual(await validateFramed(orderSubject, confluentFrame(encoded, [0])), {
      outcome: 'OUTCOME_FLAGGED',
      kinds: ['DRIFT_KIND_UNKNOWN_SCHEMA_ID'],
    })
  })
})

describe('compatibility', () => {
  it('a subject without a level of its own: GET /config/{subject} is 404 with error_code 40408', async () => {
    const s = subject('no-config')
    const r = await raw('GET', `/config/${s}`)
    assert.equal(r.status, 404, describeRaw(`GET /config/${s}`, r))
    assert.equal(r.body.error_code, 40408, describeRaw(`GET /config/${s}`, r))
    assert.equal(typeof r.body.message, 'string')
  })

  it('default path: the client sets BACKWARD on first registration and the server enforces it (409)', async () => {
    const s = subject('backward')
    const registry = newClient()
    const first = await registry.register(avro(orderV1), { subject: s })

    // The client saw 404 on GET /config/{subject}, registered, then PUT {"compatibility":"BACKWARD"}.
    const cfg = await raw('GET', `/config/${s}`)
    assert.equal(cfg.status, 200, describeRaw(`GET /config/${s}`, cfg))
    assert.equal(cfg.body.compatibilityLevel, 'BACKWARD', describeRaw(`GET /config/${s}`, cfg))

    // A compatible evolution is accepted as a new version with a new ID.
    const second = await registry.register(avro(orderWithOptionalField), { subject: s })
    assert.notEqual(second.id, first.id)
    assert.equal(await registry.getLatestSchemaId(s), second.id)

    // A new required field without a default is refused with 409 and the server's message.
    let thrown
    await assert.rejects(registry.register(avro(orderWithRequiredField), { subject: s }), err => {
      thrown = err
      return true
    })
    assert.equal(thrown.name, 'ResponseError', `ResponseError, got ${thrown.name}: ${thrown.message}`)
    assert.equal(thrown.status, 409, `status 409, got ${thrown.status}: ${thrown.message}`)

    const direct = await raw('POST', `/subjects/${s}/versions`, {
      schema: JSON.stringify(orderWithRequiredField),
    })
    assert.equal(direct.status, 409, describeRaw('POST incompatible schema', direct))
    assert.equal(direct.body.error_code, 409, describeRaw('POST incompatible schema', direct))
    assert.ok(
      typeof direct.body.message === 'string' && direct.body.message.length > 0,
      describeRaw('POST incompatible schema', direct),
    )
    assert.ok(
      thrown.message.includes(direct.body.message),
      `client error carries the server message: ${JSON.stringify(thrown.message)} should contain ${JSON.stringify(direct.body.message)}`,
    )
    // Nothing was stored.
    assert.equal(await newClient().getLatestSchemaId(s), second.id)
  })

  it('the compatibility endpoint agrees (POST /compatibility/subjects/{s}/versions/latest)', async () => {
    const s = subject('compat-check')
    await newClient().register(avro(orderV1), { subject: s })
    const bad = await raw('POST', `/compatibility/subjects/${s}/versions/latest`, {
      schema: JSON.stringify(orderWithRequiredField),
    })
    assert.equal(bad.status, 200, describeRaw('compatibility check (incompatible)', bad))
    assert.equal(bad.body.is_compatible, false, describeRaw('compatibility check (incompatible)', bad))
    const good = await raw('POST', `/compatibility/subjects/${s}/versions/latest`, {
      schema: JSON.stringify(orderWithOptionalField),
    })
    assert.equal(good.status, 200, describeRaw('compatibility check (compatible)', good))
    assert.equal(good.body.is_compatible, true, describeRaw('compatibility check (compatible)', good))
  })

  it('explicit compatibility option FULL: stored for the subject, then required to match', async () => {
    const s = subject('full')
    const registry = newClient()
    const first = await registry.register(avro(orderV1), {
      subject: s,
      compatibility: COMPATIBILITY.FULL,
    })
    const cfg = await raw('GET', `/config/${s}`)
    assert.equal(cfg.status, 200, describeRaw(`GET /config/${s}`, cfg))
    assert.equal(cfg.body.compatibilityLevel, 'FULL', describeRaw(`GET /config/${s}`, cfg))

    // Same option again: the level matches, registration goes on (same schema, same ID).
    const again = await registry.register(avro(orderV1), { subject: s, compatibility: COMPATIBILITY.FULL })
    assert.equal(again.id, first.id)

    // The default option (BACKWARD) no longer matches the subject's FULL: the client refuses.
    await assert.rejects(registry.register(avro(orderWithOptionalField), { subject: s }), err => {
      assert.ok(
        err instanceof ConfluentSchemaRegistryCompatibilityError,
        `ConfluentSchemaRegistryCompatibilityError, got ${err.name}: ${err.message}`,
      )
      assert.match(err.message, /BACKWARD != FULL/)
      return true
    })
  })

  it('explicit compatibility option NONE: an incompatible schema is accepted as a new version', async () => {
    const s = subject('none')
    const registry = newClient()
    const opts = { subject: s, compatibility: COMPATIBILITY.NONE }
    const first = await registry.register(avro(orderV1), opts)
    const second = await registry.register(avro(orderWithRequiredField), opts)
    assert.notEqual(second.id, first.id)
    assert.equal(await registry.getRegistryId(s, 2), second.id)
  })

  it('a subject whose level was set by an operator is honoured (PUT /config/{subject})', async () => {
    const s = subject('operator-set')
    const put = await raw('PUT', `/config/${s}`, { compatibility: 'FORWARD' })
    assert.equal(put.status, 200, describeRaw(`PUT /config/${s}`, put))
    assert.equal(put.body.compatibility, 'FORWARD', describeRaw(`PUT /config/${s}`, put))
    await assert.rejects(newClient().register(avro(orderV1), { subject: s }), err => {
      assert.ok(err instanceof ConfluentSchemaRegistryCompatibilityError, `${err.name}: ${err.message}`)
      return true
    })
    const ok = await newClient().register(avro(orderV1), {
      subject: s,
      compatibility: COMPATIBILITY.FORWARD,
    })
    assert.ok(ok.id > 0)
  })
})

describe('REST surface the client relies on', () => {
  it('responses are JSON with a Schema Registry content type', async () => {
    const r = await raw('GET', '/subjects')
    assert.equal(r.status, 200, describeRaw('GET /subjects', r))
    assert.ok(Array.isArray(r.body), describeRaw('GET /subjects', r))
    assert.match(
      r.contentType,
      /^application\/(vnd\.schemaregistry\.v1\+json|vnd\.schemaregistry\+json|json)\b/,
      describeRaw('GET /subjects', r),
    )
  })

  it('errors are {"error_code", "message"} JSON', async () => {
    const r = await raw('GET', '/subjects/' + subject('absent') + '/versions/1')
    assert.equal(r.status, 404, describeRaw('GET version of unknown subject', r))
    assert.equal(r.body.error_code, 40401, describeRaw('GET version of unknown subject', r))
    assert.equal(typeof r.body.message, 'string', describeRaw('GET version of unknown subject', r))
    assert.match(r.contentType, /json/, describeRaw('GET version of unknown subject', r))
  })

  it('an invalid schema is 422 with error_code 42201', async () => {
    const r = await raw('POST', `/subjects/${subject('invalid')}/versions`, {
      schema: '{"type":"record","name":"R","fields":[{"name":"a","type":"integr"}]}',
    })
    assert.equal(r.status, 422, describeRaw('POST invalid Avro', r))
    assert.equal(r.body.error_code, 42201, describeRaw('POST invalid Avro', r))
  })
})
