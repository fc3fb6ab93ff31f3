package protocompat

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConfluentVectors checks every difference Confluent lists for its own examples (as a
// set: Confluent's order follows Java hash sets) and its verdict.
func TestConfluentVectors(t *testing.T) {
	for _, v := range confluentVectors {
		t.Run(v.name, func(t *testing.T) {
			original := compile(t, v.original, v.origDeps)
			update := compile(t, v.update, v.updDeps)
			var got []string
			for _, d := range differences(nil, original, update) {
				got = append(got, d.typ+" "+d.path)
			}
			want := slices.Clone(v.changes)
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("differences (-want +got):\n%s", diff)
			}
			found := Check(update, original)
			if (len(found) == 0) != v.compatible {
				t.Errorf("Check(update, original) = %v; want compatible %v", found, v.compatible)
			}
		})
	}
}

// TestVectors checks both directions of every vector.
func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			old, new := compile(t, v.old, v.oldDeps), compile(t, v.new, v.newDeps)
			if diff := cmp.Diff(v.backward, types(Check(new, old))); diff != "" {
				t.Errorf("BACKWARD, Check(new, old) Types (-want +got), rule %q:\n%s", v.rule, diff)
			}
			if diff := cmp.Diff(v.forward, types(Check(old, new))); diff != "" {
				t.Errorf("FORWARD, Check(old, new) Types (-want +got), rule %q:\n%s", v.rule, diff)
			}
		})
	}
}
