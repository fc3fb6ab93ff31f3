'use strict'

// Helpers shared by the client suites of this folder: where schemagate is, per-run subject names
// and schemagate's own validate endpoint. Not a test file: `node --test` runs *.test.js only.

const assert = require('node:assert/strict')

// BASE_URL is schemagate's REST API, from SCHEMA_REGISTRY_URL (set by tests/clients/clients_test.go).
const BASE_URL = (process.env.SCHEMA_REGISTRY_URL || '').replace(/\/+$/, '')

// RUN tells this run's subjects apart, so a suite also runs against a registry that holds data.
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

// validateFramed sends a Confluent-framed payload to schemagate's validate endpoint (POST
// /v1/subjects/{s}/validate, format CONFLUENT) and returns its outcome and finding kinds.
async function validateFramed(s, buffer) {
  const res = await fetch(`${BASE_URL}/v1/subjects/${encodeURIComponent(s)}/validate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ data: buffer.toString('base64'), format: 'PAYLOAD_FORMAT_CONFLUENT' }),
  })
  const body = await res.json()
  assert.equal(res.status, 200, `validate under ${s}: HTTP ${res.status} ${JSON.stringify(body)}`)
  return { outcome: body.outcome, kinds: (body.findings || []).map(f => f.kind) }
}

module.exports = { BASE_URL, RUN, validateFramed }
