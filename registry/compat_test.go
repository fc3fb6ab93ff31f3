package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Three versions for the level tests, registered under NONE:
//
//	v1 {a: string}
//	v2 {}                    (a removed)
//	v3 {a: int, default 0}   the candidate below is v3's shape
//
// The candidate {a: int = 0} can read v2 data (a defaulted) but not v1 data (a is a string):
// compatible with the latest only. v2 can read candidate data (a ignored), and v1 cannot
// (int a is no string).
const (
	levelV1        = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`
	levelV2        = `{"type":"record","name":"R","fields":[]}`
	levelCandidate = `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":0}]}`
)

func TestCompatibilityLevels(t *testing.T) {
	tests := []struct {
		level CompatibilityLevel
		want  bool // candidate registers
	}{
		{CompatNone, true},
		{CompatBackward, true},            // reads v2 data
		{CompatBackwardTransitive, false}, // cannot read v1's string a
		{CompatForward, true},             // v2 ignores a
		{CompatForwardTransitive, false},  // v1 cannot read int a as string
		{CompatFull, true},
		{CompatFullTransitive, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.level), func(t *testing.T) {
			r, _ := newTestRegistry(t)
			ctx := context.Background()
			if _, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatNone}); err != nil {
				t.Fatal(err)
			}
			mustRegister(t, r, "s", avroIn(levelV1))
			mustRegister(t, r, "s", avroIn(levelV2))
			if _, err := r.SetConfig(ctx, "s", Config{Compatibility: tt.level}); err != nil {
				t.Fatal(err)
			}
			msgs, err := r.CheckCompatibility(ctx, "s", 0, avroIn(levelCandidate))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(msgs) == 0; got != tt.want {
				t.Errorf("CheckCompatibility under %s = %v (%q); want compatible %v", tt.level, got, msgs, tt.want)
			}
			_, err = r.Register(ctx, "s", avroIn(levelCandidate))
			if tt.want && err != nil {
				t.Errorf("Register under %s: %v", tt.level, err)
			}
			if !tt.want && !errors.Is(err, ErrIncompatible) {
				t.Errorf("Register under %s = %v; want ErrIncompatible", tt.level, err)
			}
			if !tt.want && err != nil && !strings.Contains(err.Error(), "{oldSchemaVersion: 1}") {
				t.Errorf("incompatibility %q does not name version 1", err)
			}
		})
	}
}

func TestSoftDeletedVersionsAreNotChecked(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	if _, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatBackwardTransitive}); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, r, "s", avroIn(levelV1))
	if _, err := r.DeleteVersion(ctx, "s", 1, false); err != nil {
		t.Fatal(err)
	}
	// With v1 soft-deleted the subject has no live version: anything goes.
	sv := mustRegister(t, r, "s", avroIn(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`))
	if sv.Version != 2 {
		t.Errorf("version = %d; want 2 (versions continue after a soft delete)", sv.Version)
	}
}

func TestSchemaTypeChangeIsIncompatible(t *testing.T) {
	r, _ := newTestRegistry(t)
	mustRegister(t, r, "s", avroIn(`"string"`))
	_, err := r.Register(context.Background(), "s", jsonIn(`{"type":"string"}`))
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "different schema type") {
		t.Errorf("Register of a JSON schema over an Avro one = %v; want ErrIncompatible naming the type change", err)
	}
}

func TestParsedSchemasAreCached(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	if _, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatFullTransitive}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustRegister(t, r, "s", avroIn(fmt.Sprintf(`{"type":"record","name":"R","fields":[{"name":"f%d","type":"int","default":0}]}`, i)))
	}
	// Every version registered here is kept parsed under its ID, so the transitive checks of
	// the later ones never parse a stored schema again.
	r.parsed.mu.Lock()
	n := len(r.parsed.byID)
	r.parsed.mu.Unlock()
	if n != 5 {
		t.Errorf("parsed cache holds %d schemas; want the 5 registered", n)
	}
	for id := 1; id <= 5; id++ {
		if _, ok := r.parsed.get(id); !ok {
			t.Errorf("schema %d is not kept parsed", id)
		}
	}
}

func TestParsedCacheIsBounded(t *testing.T) {
	c := newLRU[*parsedSchema](2)
	for id := 1; id <= 3; id++ {
		c.put(id, &parsedSchema{canonical: fmt.Sprint(id)})
	}
	_, has1 := c.get(1)
	_, has3 := c.get(3)
	if has1 || !has3 || c.order.Len() != 2 {
		t.Errorf("after 3 puts into a 2-entry cache: has 1 = %v, has 3 = %v, len %d; want the oldest evicted", has1, has3, c.order.Len())
	}
}

func TestConfigAndModeRules(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	if _, err := r.Config(ctx, "s", false); !errors.Is(err, ErrSubjectCompatibilityNotConfigured) {
		t.Errorf("Config of an unconfigured subject = %v; want ErrSubjectCompatibilityNotConfigured", err)
	}
	if _, err := r.SetConfig(ctx, "", Config{Compatibility: "sideways"}); !errors.Is(err, ErrInvalidCompatibility) {
		t.Errorf("SetConfig(sideways) = %v; want ErrInvalidCompatibility", err)
	}
	if _, err := r.SetAccessMode(ctx, "s", "sometimes", false); !errors.Is(err, ErrInvalidMode) {
		t.Errorf("SetMode(sometimes) = %v; want ErrInvalidMode", err)
	}
	mustRegister(t, r, "s", avroIn(`"string"`))
	if _, err := r.SetAccessMode(ctx, "s", ModeReadOnly, false); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"register":       func() error { _, err := r.Register(ctx, "s", avroIn(`"int"`)); return err },
		"delete subject": func() error { _, err := r.DeleteSubject(ctx, "s", false); return err },
		"delete version": func() error { _, err := r.DeleteVersion(ctx, "s", 1, false); return err },
	} {
		if err := op(); !errors.Is(err, ErrOperationNotPermitted) {
			t.Errorf("%s in READONLY = %v; want ErrOperationNotPermitted", name, err)
		}
	}
	got, err := r.Versions(ctx, "s", true)
	if diff := cmp.Diff([]int{1}, got); err != nil || diff != "" {
		t.Errorf("versions after refused writes (-want +got):\n%s %v", diff, err)
	}
	if _, err := r.SetAccessMode(ctx, "", ModeImport, false); !errors.Is(err, ErrOperationNotPermitted) {
		t.Errorf("global IMPORT with schemas = %v; want ErrOperationNotPermitted", err)
	}
}

func TestPermanentDeleteResetsSubjectSettings(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	mustRegister(t, r, "s", avroIn(`"string"`))
	if _, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatNone}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteSubject(ctx, "s", false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteSubject(ctx, "s", true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Config(ctx, "s", false); !errors.Is(err, ErrSubjectCompatibilityNotConfigured) {
		t.Errorf("config after a permanent delete = %v; want none", err)
	}
}

// TestAvroNullNamespaceCompatibility checks that a type declared with "namespace": "" keeps
// its full name Z (not x.Z) in compatibility checks: a renamed reader type reaches it through
// the alias "Z" and not through "x.Z". The old schema is Avro C's
// schema_tests/pass/namespace_null_enum.
func TestAvroNullNamespaceCompatibility(t *testing.T) {
	old := nullNamespaceSchema(`{"type": "enum", "namespace": "", "name": "Z", "symbols": ["Foo", "Bar"]}`, "Z")
	renamed := func(aliases string) string {
		return nullNamespaceSchema(`{"type": "enum", "namespace": "", "name": "Z2", "aliases": `+aliases+
			`, "symbols": ["Foo", "Bar"]}`, "Z2")
	}
	tests := []struct {
		name      string
		candidate string
		want      bool // compatible under BACKWARD
	}{
		{"alias names the full name Z", renamed(`["Z"]`), true},
		{"alias x.Z names nothing the writer has", renamed(`["x.Z"]`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			ctx := t.Context()
			if _, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatBackward}); err != nil {
				t.Fatal(err)
			}
			mustRegister(t, r, "s", avroIn(old))
			msgs, err := r.CheckCompatibility(ctx, "s", 0, avroIn(tt.candidate))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(msgs) == 0; got != tt.want {
				t.Errorf("CheckCompatibility = %v (%q); want compatible %v", got, msgs, tt.want)
			}
		})
	}
}
