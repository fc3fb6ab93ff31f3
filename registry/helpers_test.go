package registry

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/store/storetest"
)

// newTestRegistry opens a registry on a real SQLite file in t.TempDir().
func newTestRegistry(t testing.TB) (*Registry, *prometheus.Registry) {
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
