package registry

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/store/storetest"
)

// newTestRegistry opens a registry on a real SQLite file in t.TempDir() that serves its reads
// from memory, as the gateway's does.
func newTestRegistry(t testing.TB) (*Registry, *prometheus.Registry) {
	t.Helper()
	r, reg := newDBRegistry(t)
	if err := r.ServeFromMemory(t.Context(), nil); err != nil {
		t.Fatalf("ServeFromMemory: %v", err)
	}
	return r, reg
}

// newDBRegistry opens a registry that reads the database on every call, as offline tools do.
func newDBRegistry(t testing.TB) (*Registry, *prometheus.Registry) {
	t.Helper()
	db := storetest.Open(t) // SQLite, or PostgreSQL under make unit-postgres

	reg := prometheus.NewRegistry()
	r, err := New(db, Options{Registerer: reg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, reg
}

func mustRegister(t testing.TB, r *Registry, subject string, in SchemaInput) SubjectVersion {
	t.Helper()
	sv, err := r.Register(context.Background(), subject, in)
	if err != nil {
		t.Fatalf("Register(%q): %v", subject, err)
	}
	return sv
}

func avroIn(text string, refs ...Reference) SchemaInput {
	return SchemaInput{Type: SchemaTypeAvro, Text: text, References: refs}
}

func jsonIn(text string, refs ...Reference) SchemaInput {
	return SchemaInput{Type: SchemaTypeJSON, Text: text, References: refs}
}

var testLimits = limits{maxBytes: DefaultMaxSchemaBytes, maxDepth: DefaultMaxNestingDepth}

func protoIn(text string, refs ...Reference) SchemaInput {
	return SchemaInput{Type: SchemaTypeProtobuf, Text: text, References: refs}
}
