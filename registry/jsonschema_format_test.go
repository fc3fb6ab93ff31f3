package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestJSONSchemaFormatPerSubject: the JSON Schema format setting is part of a subject's
// configuration and of the global one. A subject without its own inherits the global one, and
// with neither the effective setting is "" (the gateway's key decides). Setting the level alone
// keeps the setting; deleting the configuration removes it. Both registries, the one reading
// memory and the one reading the database, answer the same.
func TestJSONSchemaFormatPerSubject(t *testing.T) {
	type effective struct{ Orders, Users, Global JSONSchemaFormat }
	type step struct {
		name  string
		write func(r *Registry) error
		want  effective
	}
	ctx := t.Context()
	set := func(subject string, c Config) func(r *Registry) error {
		return func(r *Registry) error { _, err := r.SetConfig(ctx, subject, c); return err }
	}
	del := func(subject string) func(r *Registry) error {
		return func(r *Registry) error { _, err := r.DeleteConfig(ctx, subject); return err }
	}
	steps := []step{
		{"nothing set", func(*Registry) error { return nil }, effective{}},
		{"global annotate", set("", Config{JSONSchemaFormat: "annotate"}), effective{JSONFormatAnnotate, JSONFormatAnnotate, JSONFormatAnnotate}},
		{"orders draft, ignoring case", set("orders", Config{JSONSchemaFormat: " Draft "}), effective{JSONFormatDraft, JSONFormatAnnotate, JSONFormatAnnotate}},
		{"orders level alone keeps draft", set("orders", Config{Compatibility: CompatFull}), effective{JSONFormatDraft, JSONFormatAnnotate, JSONFormatAnnotate}},
		{"users assert", set("users", Config{Compatibility: CompatNone, JSONSchemaFormat: "assert"}), effective{JSONFormatDraft, JSONFormatAssert, JSONFormatAnnotate}},
		{"delete orders", del("orders"), effective{JSONFormatAnnotate, JSONFormatAssert, JSONFormatAnnotate}},
		{"delete global", del(""), effective{"", JSONFormatAssert, ""}},
	}
	mem, _ := newTestRegistry(t)
	db, _ := newDBRegistry(t)
	for _, r := range []*Registry{mem, db} {
		for _, s := range steps {
			if err := s.write(r); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			var got effective
			for _, g := range []struct {
				subject string
				into    *JSONSchemaFormat
			}{{"orders", &got.Orders}, {"users", &got.Users}, {"", &got.Global}} {
				f, err := r.EffectiveJSONSchemaFormat(ctx, g.subject)
				if err != nil {
					t.Fatalf("%s: EffectiveJSONSchemaFormat(%q): %v", s.name, g.subject, err)
				}
				*g.into = f
			}
			if diff := cmp.Diff(s.want, got); diff != "" {
				t.Errorf("%s (memory %v): effective settings (-want +got):\n%s", s.name, r.idx != nil, diff)
			}
		}
	}
}

// TestJSONSchemaFormatConfigReads: what Config answers about the setting: a subject's own, and
// with defaultToGlobal the global one where the subject has none.
func TestJSONSchemaFormatConfigReads(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	for subject, c := range map[string]Config{"": {JSONSchemaFormat: "annotate"}, "orders": {Compatibility: CompatFull}, "users": {JSONSchemaFormat: "draft"}} {
		if _, err := r.SetConfig(ctx, subject, c); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		subject         string
		defaultToGlobal bool
		want            Config
	}{
		{"", false, Config{Compatibility: CompatBackward, JSONSchemaFormat: JSONFormatAnnotate}},
		{"orders", false, Config{Compatibility: CompatFull}},
		{"orders", true, Config{Compatibility: CompatFull, JSONSchemaFormat: JSONFormatAnnotate}},
		{"users", true, Config{Compatibility: CompatBackward, JSONSchemaFormat: JSONFormatDraft}},
		{"unset", true, Config{Compatibility: CompatBackward, JSONSchemaFormat: JSONFormatAnnotate}},
	}
	for _, tc := range tests {
		got, err := r.Config(ctx, tc.subject, tc.defaultToGlobal)
		if err != nil {
			t.Fatalf("Config(%q, %v): %v", tc.subject, tc.defaultToGlobal, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Config(%q, %v) (-want +got):\n%s", tc.subject, tc.defaultToGlobal, diff)
		}
	}
}

// TestJSONSchemaFormatConfigRefusesUnknown: an unknown setting is refused as an unknown level
// is (ErrInvalidCompatibility, 42203), naming the value, and nothing is stored.
func TestJSONSchemaFormatConfigRefusesUnknown(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	for _, bad := range []JSONSchemaFormat{"lenient", " ", "assert,annotate"} {
		_, err := r.SetConfig(ctx, "orders", Config{Compatibility: CompatFull, JSONSchemaFormat: bad})
		if !errors.Is(err, ErrInvalidCompatibility) {
			t.Errorf("SetConfig(format %q) = %v; want ErrInvalidCompatibility", bad, err)
		}
		if want := fmt.Sprintf("'%s'", bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SetConfig(format %q) error %v does not name the value", bad, err)
		}
	}
	if _, err := r.Config(ctx, "orders", false); !errors.Is(err, ErrSubjectCompatibilityNotConfigured) {
		t.Errorf("after refused writes, Config(orders) = %v; want ErrSubjectCompatibilityNotConfigured", err)
	}
}
