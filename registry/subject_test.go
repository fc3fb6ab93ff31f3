package registry

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestValidateSubjectUnicode pins the rules that keep one subject to one spelling: a new
// subject with format characters (zero-width, bidi, BOM) is refused, and so is any spelling not
// in NFC; a subject stored under such a name before these rules stays reachable.
func TestValidateSubjectUnicode(t *testing.T) {
	for _, tc := range []struct {
		name, subject string
		ok            bool
	}{
		{"ascii", "orders-value", true},
		{"nfc accent", "caf\u00e9-value", true},
		{"nfd accent", "cafe\u0301-value", false},
		{"zero-width space", "orders\u200b-value", false},
		{"zero-width joiner", "orders\u200d-value", false},
		{"right-to-left override", "orders\u202e-value", false},
		{"byte order mark", "\ufefforders-value", false},
		{"soft hyphen", "or\u00adders", false},
		{"cjk", "注文-value", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateNewSubject(tc.subject)
			if diff := cmp.Diff(tc.ok, err == nil); diff != "" {
				t.Fatalf("validateNewSubject(%q) = %v; accepted (-want +got):\n%s", tc.subject, err, diff)
			}
			if err != nil && !errors.Is(err, ErrInvalidSubject) {
				t.Fatalf("validateNewSubject(%q) = %v; want ErrInvalidSubject", tc.subject, err)
			}
			if err := validateSubject(tc.subject); err != nil {
				t.Fatalf("validateSubject(%q) = %v; an existing subject of that name must stay reachable", tc.subject, err)
			}
		})
	}
}
