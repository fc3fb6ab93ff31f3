package registry

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// state is what a user can read back from the registry: every subject (deleted included) with
// its versions, the compatibility and mode settings of subject "s".
type state struct {
	Versions      map[string][]int
	Compatibility string
	Mode          string
}

func readState(t *testing.T, r *Registry) state {
	t.Helper()
	ctx := context.Background()
	subjects, err := r.Subjects(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	st := state{Versions: map[string][]int{}}
	for _, s := range subjects {
		vs, err := r.Versions(ctx, s, true)
		if err != nil {
			t.Fatal(err)
		}
		st.Versions[s] = vs
	}
	if c, err := r.Config(ctx, "s", false); err == nil {
		st.Compatibility = string(c.Compatibility)
	}
	if m, err := r.AccessMode(ctx, "s", false); err == nil {
		st.Mode = string(m)
	}
	return st
}

// TestOnWriteFailureRollsBackTheWrite proves that a write whose OnWrite hook fails (an audit
// entry that cannot be stored) fails with a storage error and changes nothing, for every kind of
// registry write; and that the hook sees each write inside its transaction.
func TestOnWriteFailureRollsBackTheWrite(t *testing.T) {
	ctx := context.Background()
	avro := func(text string) SchemaInput { return SchemaInput{Type: SchemaTypeAvro, Text: text} }
	tests := []struct {
		name   string
		action string
		write  func(r *Registry) error
	}{
		{"register a new version", "schema.registered", func(r *Registry) error { _, err := r.Register(ctx, "s", avro(userV2)); return err }},
		{"register in a new subject", "schema.registered", func(r *Registry) error { _, err := r.Register(ctx, "t", avro(userV1)); return err }},
		{"soft-delete a version", "schema.deleted", func(r *Registry) error { _, err := r.DeleteVersion(ctx, "s", 1, false); return err }},
		{"soft-delete a subject", "schema.deleted", func(r *Registry) error { _, err := r.DeleteSubject(ctx, "s", false); return err }},
		{"permanently delete a version", "schema.deleted", func(r *Registry) error { _, err := r.DeleteVersion(ctx, "gone", 1, true); return err }},
		{"set compatibility", "config.changed", func(r *Registry) error {
			_, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatFull})
			return err
		}},
		{"delete compatibility", "config.changed", func(r *Registry) error { _, err := r.DeleteConfig(ctx, "s"); return err }},
		{"set mode", "registry_mode.changed", func(r *Registry) error { _, err := r.SetAccessMode(ctx, "s", ModeReadOnly, false); return err }},
		{"delete mode", "registry_mode.changed", func(r *Registry) error { _, err := r.DeleteAccessMode(ctx, "s"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			mustRegister(t, r, "s", avro(userV1))
			mustRegister(t, r, "gone", avro(userV3))
			if _, err := r.DeleteVersion(ctx, "gone", 1, false); err != nil {
				t.Fatal(err)
			}
			if _, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatBackward}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.SetAccessMode(ctx, "s", ModeReadWrite, false); err != nil {
				t.Fatal(err)
			}
			before := readState(t, r)

			var seen []string
			notified := 0
			r.OnChange(func(context.Context, Change) { notified++ })
			r.OnWrite(func(ctx context.Context, tx *sql.Tx, c Change) error {
				seen = append(seen, string(c.Action))
				// The hook writes in the write's transaction; that row must be rolled back too.
				if _, err := tx.ExecContext(ctx, r.db.Dialect().Rebind(`INSERT INTO subject_modes (subject, mode) VALUES (?, ?)`), "hooked", "READONLY"); err != nil {
					return err
				}
				return errors.New("audit log unavailable")
			})
			err := tt.write(r)
			if !errors.Is(err, ErrStore) {
				t.Fatalf("write with a failing hook: got %v, want ErrStore", err)
			}
			if diff := cmp.Diff([]string{tt.action}, seen); diff != "" {
				t.Errorf("hook calls (-want +got):\n%s", diff)
			}
			if notified != 0 {
				t.Errorf("OnChange listeners were told of a write that failed (%d calls)", notified)
			}
			if diff := cmp.Diff(before, readState(t, r)); diff != "" {
				t.Errorf("a failed write changed the registry (-before +after):\n%s", diff)
			}
			if m, err := r.AccessMode(ctx, "hooked", false); !errors.Is(err, ErrSubjectModeNotConfigured) {
				t.Errorf("the hook's own write survived the rollback: mode %q, err %v", m, err)
			}
		})
	}
}
