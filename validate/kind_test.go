package validate

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKindIndexFollowsKinds: per-kind counters are arrays indexed by Kind.Index, and evidence
// is stored one column per kind in Kinds order, so the two must agree for every kind.
func TestKindIndexFollowsKinds(t *testing.T) {
	if len(Kinds()) != NumKinds {
		t.Fatalf("Kinds() has %d kinds; NumKinds is %d", len(Kinds()), NumKinds)
	}
	for i, k := range Kinds() {
		if k.Index() != i {
			t.Errorf("%s.Index() = %d; want %d, its place in Kinds()", k, k.Index(), i)
		}
	}
	if got := Kind("not_a_kind").Index(); got != KindOther.Index() {
		t.Errorf("an unknown kind has index %d; want other's, %d", got, KindOther.Index())
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds() {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v; want the kind back", k, got, err)
		}
	}
	if got, err := ParseKind("TYPE_MISMATCH"); err != nil || got != KindTypeMismatch {
		t.Errorf("ParseKind ignores case: got %q, %v", got, err)
	}
	_, err := ParseKind("typo_mismatch")
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("ParseKind(typo) error = %v; want ErrUnknownKind", err)
	}
	const want = `unknown drift kind "typo_mismatch": want one of unknown_field, missing_field, type_mismatch, enum_violation, constraint_violation, decode_error, unknown_schema_id, stale_schema_version, other`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

// TestKindTextRoundTrip: a kind decoded from JSON (or YAML, flags) is checked where it is read.
func TestKindTextRoundTrip(t *testing.T) {
	var v struct{ Kind Kind }
	if err := json.Unmarshal([]byte(`{"Kind":"enum_violation"}`), &v); err != nil || v.Kind != KindEnumViolation {
		t.Errorf("decode enum_violation = %q, %v", v.Kind, err)
	}
	if err := json.Unmarshal([]byte(`{"Kind":"nope"}`), &v); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("decode nope: error %v; want ErrUnknownKind", err)
	}
	b, err := json.Marshal(struct{ Kind Kind }{KindDecodeError})
	if err != nil || string(b) != `{"Kind":"decode_error"}` {
		t.Errorf("encode = %s, %v", b, err)
	}
}
