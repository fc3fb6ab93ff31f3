package gateway

import (
	"testing"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/validate"
)

// TestDriftKindsMapOneToOne: every drift kind has its own protobuf value and comes back from
// it, every protobuf value but UNSPECIFIED is a kind, and an unknown kind is OTHER.
func TestDriftKindsMapOneToOne(t *testing.T) {
	seen := map[pb.DriftKind]bool{}
	for _, k := range validate.Kinds() {
		d := DriftKindToProto(k)
		if d == pb.DriftKind_DRIFT_KIND_UNSPECIFIED || seen[d] {
			t.Errorf("%s maps to %s, unspecified or taken", k, d)
		}
		seen[d] = true
		if back := DriftKindFromProto(d); back != k {
			t.Errorf("%s → %s → %q", k, d, back)
		}
	}
	for v := range pb.DriftKind_name {
		if d := pb.DriftKind(v); d != pb.DriftKind_DRIFT_KIND_UNSPECIFIED && !seen[d] {
			t.Errorf("protobuf value %s has no drift kind", d)
		}
	}
	if got := DriftKindFromProto(pb.DriftKind_DRIFT_KIND_UNSPECIFIED); got != "" {
		t.Errorf("UNSPECIFIED → %q; want no kind", got)
	}
	if got := DriftKindToProto("not_a_kind"); got != pb.DriftKind_DRIFT_KIND_OTHER {
		t.Errorf("an unknown kind → %s; want OTHER", got)
	}
}
