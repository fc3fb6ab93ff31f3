package registry

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/store"
)

// newTestRegistry opens a registry on a real SQLite file in t.TempDir().
func newTestRegistry(t testing.TB) (*Registry, *prometheus.Registry) {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
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
