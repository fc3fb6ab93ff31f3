package governance

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want ValidationMode
	}{
		{"canary", ModeCanary},
		{"CANARY", ModeCanary},
		{"shadow", ModeCanary},
		{" Shadow ", ModeCanary},
		{"strict", ModeStrict},
		{"Strict", ModeStrict},
	}
	for _, tc := range tests {
		got, err := ParseValidationMode(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "permissive", "strictly", "canary,strict"} {
		if got, err := ParseValidationMode(in); !errors.Is(err, ErrUnknownMode) {
			t.Errorf("ParseMode(%q) = %q, %v; want ErrUnknownMode", in, got, err)
		}
	}
}

func TestNewModesValidates(t *testing.T) {
	db, _ := openDB(t)
	if _, err := NewModes(nil, ModeCanary); err == nil {
		t.Error("NewModes(nil db) succeeded")
	}
	if _, err := NewModes(db, "shadow"); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("NewModes with unparsed default: err = %v, want ErrUnknownMode", err)
	}
	m, err := NewModes(db, "")
	if err != nil || m.Default() != ModeCanary {
		t.Fatalf("NewModes(db, \"\") = %v, %v; want default canary", m, err)
	}
}

func TestModesDefaultOverrideClear(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	for _, def := range []ValidationMode{ModeCanary, ModeStrict} {
		t.Run(string(def), func(t *testing.T) {
			m, err := NewModes(db, def)
			if err != nil {
				t.Fatal(err)
			}
			subject := "orders-" + string(def)
			if got, err := m.Mode(ctx, subject); err != nil || got != def {
				t.Errorf("Mode before override = %q, %v; want default %q", got, err, def)
			}
			if got := m.ModeOf(subject); got != def {
				t.Errorf("ModeOf before override = %q, want %q", got, def)
			}
			other := ModeStrict
			if def == ModeStrict {
				other = ModeCanary
			}
			if err := m.SetMode(ctx, subject, other); err != nil {
				t.Fatal(err)
			}
			if got, err := m.Mode(ctx, subject); err != nil || got != other {
				t.Errorf("Mode after SetMode = %q, %v; want %q", got, err, other)
			}
			if got := m.ModeOf(subject); got != other {
				t.Errorf("ModeOf after local SetMode = %q, want %q (no Refresh needed)", got, other)
			}
			if got := m.ModeOf("unrelated"); got != def {
				t.Errorf("ModeOf(unrelated) = %q, want default %q", got, def)
			}
			if err := m.ClearMode(ctx, subject); err != nil {
				t.Fatal(err)
			}
			if got, err := m.Mode(ctx, subject); err != nil || got != def {
				t.Errorf("Mode after ClearMode = %q, %v; want %q", got, err, def)
			}
			if got := m.ModeOf(subject); got != def {
				t.Errorf("ModeOf after ClearMode = %q, want %q", got, def)
			}
		})
	}
}

func TestSetModeRejects(t *testing.T) {
	db, _ := openDB(t)
	m, _ := NewModes(db, ModeCanary)
	if err := m.SetMode(t.Context(), "s", "shadow"); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("SetMode(shadow) err = %v; want ErrUnknownMode (parse input first)", err)
	}
	if err := m.SetMode(t.Context(), "", ModeStrict); err == nil {
		t.Error("SetMode with empty subject succeeded")
	}
}

// TestSnapshotRefreshSeesOtherReplica: two Modes on one database are two gateway replicas; a
// change on one reaches the other's hot path after its Refresh, and not before.
func TestSnapshotRefreshSeesOtherReplica(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	a, _ := NewModes(db, ModeCanary)
	b, _ := NewModes(db, ModeCanary)
	if err := a.SetMode(ctx, "payments", ModeStrict); err != nil {
		t.Fatal(err)
	}
	if got := b.ModeOf("payments"); got != ModeCanary {
		t.Errorf("replica b before Refresh: ModeOf = %q, want canary (snapshot is not live)", got)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.ModeOf("payments"); got != ModeStrict {
		t.Errorf("replica b after Refresh: ModeOf = %q, want strict", got)
	}
	if diff := cmp.Diff(map[string]ValidationMode{"payments": ModeStrict}, b.Snapshot()); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
	// The snapshot is a copy.
	b.Snapshot()["payments"] = ModeCanary
	if got := b.ModeOf("payments"); got != ModeStrict {
		t.Error("writing to Snapshot's result changed the snapshot")
	}
	// A rollback on b reaches a.
	if err := b.SetMode(ctx, "payments", ModeCanary); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.ModeOf("payments"); got != ModeCanary {
		t.Errorf("replica a after Refresh: ModeOf = %q, want canary", got)
	}
	// A cleared override disappears from the other snapshot too.
	if err := a.ClearMode(ctx, "payments"); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if len(b.Snapshot()) != 0 {
		t.Errorf("Snapshot after ClearMode and Refresh = %v, want empty", b.Snapshot())
	}
}

func TestRefreshKeepsSnapshotOnBadRow(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	m, _ := NewModes(db, ModeCanary)
	if err := m.SetMode(ctx, "a", ModeStrict); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO subject_validation_modes (subject, mode, changed_at) VALUES ('b', 'bogus', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(ctx); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("Refresh with a bad row: err = %v, want ErrUnknownMode", err)
	}
	if got := m.ModeOf("a"); got != ModeStrict {
		t.Errorf("ModeOf after failed Refresh = %q, want the previous snapshot's strict", got)
	}
	if _, err := m.Mode(ctx, "b"); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("Mode of bad row: err = %v, want ErrUnknownMode", err)
	}
}

// TestSetModeKeepsChangedAt: setting the mode a subject already has does not restart the time
// it entered that mode.
func TestSetModeKeepsChangedAt(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	m, _ := NewModes(db, ModeCanary)
	clock := newClock(t0)
	m.clock = clock.Now
	changedAt := func() int64 {
		var v int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT changed_at FROM subject_validation_modes WHERE subject = 's'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	steps := []struct {
		mode ValidationMode
		want time.Time
	}{
		{ModeCanary, t0},
		{ModeCanary, t0},
		{ModeStrict, t0.Add(2 * time.Hour)},
		{ModeStrict, t0.Add(2 * time.Hour)},
		{ModeCanary, t0.Add(4 * time.Hour)},
	}
	for i, s := range steps {
		if err := m.SetMode(ctx, "s", s.mode); err != nil {
			t.Fatal(err)
		}
		if got := changedAt(); got != s.want.Unix() {
			t.Errorf("step %d (%s): changed_at = %d, want %d", i, s.mode, got, s.want.Unix())
		}
		clock.Advance(time.Hour)
	}
}

func ExampleParseValidationMode() {
	for _, s := range []string{"Shadow", "strict", "lenient"} {
		m, err := ParseValidationMode(s)
		fmt.Println(m, err)
	}
	// Output:
	// canary <nil>
	// strict <nil>
	//  unknown validation mode "lenient": want canary (or shadow) or strict
}
