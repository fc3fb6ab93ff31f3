package registry

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	addressAvro  = `{"type":"record","name":"Address","namespace":"com.example","fields":[{"name":"city","type":"string"}]}`
	customerAvro = `{"type":"record","name":"Customer","namespace":"com.example","fields":[
		{"name":"home","type":"Address"},{"name":"work","type":["null","com.example.Address"],"default":null}]}`
	addressJSON  = `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`
	customerJSON = `{"type":"object","properties":{"home":{"$ref":"address.json"}}}`
)

func TestAvroReferences(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	addr := mustRegister(t, r, "address", avroIn(addressAvro))
	ref := Reference{Name: "com.example.Address", Subject: "address", Version: 1}

	// Without the reference the type is unknown, and the message says where.
	_, err := r.Register(ctx, "customer", avroIn(customerAvro))
	if !errors.Is(err, ErrInvalidSchema) || err.Error() != `invalid AVRO schema: record "Customer" field "home": unknown type "Address"` {
		t.Fatalf("without reference: err = %v", err)
	}

	cust := mustRegister(t, r, "customer", avroIn(customerAvro, ref))
	want := Schema{ID: addr.Schema.ID + 1, Type: SchemaTypeAvro, References: []Reference{ref},
		// The referenced type stays a name: it is not inlined.
		Text: `{"name":"com.example.Customer","type":"record","fields":[{"name":"home","type":"com.example.Address"},{"name":"work","type":["null","com.example.Address"],"default":null}]}`}
	if diff := cmp.Diff(want, cust.Schema); diff != "" {
		t.Errorf("registered (-want +got):\n%s", diff)
	}
	got, err := r.SchemaByID(ctx, cust.Schema.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SchemaByID (-want +got):\n%s", diff)
	}
	// Same text and references: same version. Same text, no references
	// would not parse; other reference name: a different schema.
	if again := mustRegister(t, r, "customer", avroIn(customerAvro, ref)); again.Version != 1 || again.Schema.ID != cust.Schema.ID {
		t.Errorf("re-register = %v", again)
	}

	// Transitive: a schema referencing Customer also needs Address parsed first.
	order := `{"type":"record","name":"Order","namespace":"com.example","fields":[{"name":"buyer","type":"Customer"},{"name":"ship","type":"Address"}]}`
	mustRegister(t, r, "order", avroIn(order, Reference{Name: "com.example.Customer", Subject: "customer", Version: 1},
		Reference{Name: "com.example.Address", Subject: "address", Version: 1}))
	order2 := `{"type":"record","name":"Order2","namespace":"com.example","fields":[{"name":"buyer","type":"Customer"}]}`
	mustRegister(t, r, "order2", avroIn(order2, Reference{Name: "com.example.Customer", Subject: "customer", Version: 1}))
}

func TestJSONReferences(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	mustRegister(t, r, "address", jsonIn(addressJSON))
	ref := Reference{Name: "address.json", Subject: "address", Version: 1}
	tests := []struct {
		name string
		text string
		refs []Reference
		err  error
	}{
		{"ref by name", customerJSON, []Reference{ref}, nil},
		{"ref by name with fragment", `{"properties":{"city":{"$ref":"address.json#/properties/city"}}}`, []Reference{ref}, nil},
		{"own $id: relative ref resolves against it", `{"$id":"https://example.com/schemas/customer.json","properties":{"home":{"$ref":"address.json"}}}`, []Reference{ref}, nil},
		{"absolute reference name", `{"properties":{"home":{"$ref":"https://example.com/address.json"}}}`,
			[]Reference{{Name: "https://example.com/address.json", Subject: "address", Version: 1}}, nil},
		{"missing reference", customerJSON, nil, ErrInvalidSchema},
		{"reference to missing version", customerJSON, []Reference{{Name: "address.json", Subject: "address", Version: 2}}, ErrReferenceNotFound},
		{"reference to missing subject", customerJSON, []Reference{{Name: "address.json", Subject: "nope", Version: 1}}, ErrReferenceNotFound},
		{"reference with bad version", customerJSON, []Reference{{Name: "address.json", Subject: "address", Version: 0}}, ErrInvalidSchema},
		{"reference with bad subject", customerJSON, []Reference{{Name: "address.json", Subject: "", Version: 1}}, ErrInvalidSchema},
		{"reference without name", customerJSON, []Reference{{Subject: "address", Version: 1}}, ErrInvalidSchema},
		{"duplicate reference names", customerJSON, []Reference{ref, ref}, ErrInvalidSchema},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Register(ctx, "customer-"+tc.name, jsonIn(tc.text, tc.refs...))
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
	// A JSON schema cannot reference an Avro one.
	mustRegister(t, r, "avro-address", avroIn(addressAvro))
	_, err := r.Register(ctx, "mixed", jsonIn(customerJSON, Reference{Name: "address.json", Subject: "avro-address", Version: 1}))
	if !errors.Is(err, ErrInvalidSchema) {
		t.Errorf("mixed types: err = %v, want ErrInvalidSchema", err)
	}
}

func TestReferenceLifecycle(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	mustRegister(t, r, "address", jsonIn(addressJSON))
	ref := Reference{Name: "address.json", Subject: "address", Version: 1}
	mustRegister(t, r, "customer", jsonIn(customerJSON, ref))

	steps := []struct {
		name string
		do   func() error
		err  error
	}{
		{"soft delete referenced version", func() error { _, err := r.DeleteVersion(ctx, "address", 1, false); return err }, ErrReferenceInUse},
		{"soft delete referenced subject", func() error { _, err := r.DeleteSubject(ctx, "address", false); return err }, ErrReferenceInUse},
		{"soft delete referrer", func() error { _, err := r.DeleteSubject(ctx, "customer", false); return err }, nil},
		{"soft delete referenced version once referrer is soft-deleted", func() error { _, err := r.DeleteVersion(ctx, "address", 1, false); return err }, nil},
		{"register against a soft-deleted reference", func() error { _, err := r.Register(ctx, "c2", jsonIn(customerJSON, ref)); return err }, ErrReferenceNotFound},
		{"hard delete while a soft-deleted version refers to it", func() error { _, err := r.DeleteVersion(ctx, "address", 1, true); return err }, ErrReferenceInUse},
		{"hard delete referrer", func() error { _, err := r.DeleteSubject(ctx, "customer", true); return err }, nil},
		{"hard delete referenced", func() error { _, err := r.DeleteVersion(ctx, "address", 1, true); return err }, nil},
	}
	for _, s := range steps {
		err := s.do()
		if !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.err)
		}
	}
}

func TestReferenceInUseMessage(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	mustRegister(t, r, "address", jsonIn(addressJSON))
	mustRegister(t, r, "customer", jsonIn(customerJSON, Reference{Name: "address.json", Subject: "address", Version: 1}))
	_, err := r.DeleteVersion(ctx, "address", 1, false)
	want := `version 1 of subject "address" is referenced by subject "customer" version 1`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
