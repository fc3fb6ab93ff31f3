// Package validate checks payloads against registered schemas: a compiled-schema cache keyed by
// schema ID, payload decoding (Avro binary, Confluent wire format, Avro JSON, JSON) and findings
// classified by drift kind. It knows nothing of transport and depends only on registry.
package validate
