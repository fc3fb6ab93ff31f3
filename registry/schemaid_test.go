package registry

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNoSchemaIDLeft: once the 32-bit schema IDs are used up, a new schema is refused with
// ErrOperationNotPermitted and nothing of it is stored (on PostgreSQL the schema and its version
// are written by one statement; on SQLite by three), while a schema already stored can still be
// registered under another subject.
func TestNoSchemaIDLeft(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	first := mustRegister(t, r, "kept-value", avroIn(`{"type":"record","name":"Kept","fields":[{"name":"a","type":"int"}]}`))
	if _, err := r.db.SQL().ExecContext(ctx, r.db.Dialect().Rebind(
		`UPDATE id_counters SET value = ? WHERE name = 'schema_id'`), math.MaxInt32); err != nil {
		t.Fatal(err)
	}
	_, err := r.Register(ctx, "full-value", avroIn(`{"type":"record","name":"Full","fields":[{"name":"b","type":"string"}]}`))
	if !errors.Is(err, ErrOperationNotPermitted) || err.Error() != "no schema id left: ids are 32-bit and 2147483647 was the last" {
		t.Fatalf("Register past the last ID = %v; want ErrOperationNotPermitted saying no schema id is left", err)
	}
	if got, err := r.Subjects(ctx, "", true); err != nil || !cmp.Equal(got, []string{"kept-value"}) {
		t.Errorf("Subjects = %v, %v; want only kept-value (nothing of the refused schema stored)", got, err)
	}
	var schemas int
	if err := r.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM schemas`).Scan(&schemas); err != nil || schemas != 1 {
		t.Errorf("schemas stored = %d, %v; want 1", schemas, err)
	}
	again := mustRegister(t, r, "other-value", avroIn(`{"type":"record","name":"Kept","fields":[{"name":"a","type":"int"}]}`))
	if again.Schema.ID != first.Schema.ID || again.Version != 1 {
		t.Errorf("existing schema under another subject = ID %d version %d; want ID %d version 1", again.Schema.ID, again.Version, first.Schema.ID)
	}
}
