package governance

import (
	"strings"
	"unicode/utf8"
)

// The drift kinds of DESIGN.md, as plain strings: governance does not import validate, whose
// validate.Kind values are these same strings. The order is the column order of
// evidence_buckets and must not change.
const (
	KindUnknownField        = "unknown_field"
	KindMissingField        = "missing_field"
	KindTypeMismatch        = "type_mismatch"
	KindEnumViolation       = "enum_violation"
	KindConstraintViolation = "constraint_violation"
	KindDecodeError         = "decode_error"
	KindUnknownSchemaID     = "unknown_schema_id"
	KindStaleSchemaVersion  = "stale_schema_version"
	KindOther               = "other"
)

const numKinds = 9

// kindNames lists the kinds by index; each name is also a column of evidence_buckets.
var kindNames = [numKinds]string{
	KindUnknownField, KindMissingField, KindTypeMismatch, KindEnumViolation,
	KindConstraintViolation, KindDecodeError, KindUnknownSchemaID, KindStaleSchemaVersion,
	KindOther,
}

// DriftKinds returns every drift kind, in a stable order.
func DriftKinds() []string { return append([]string(nil), kindNames[:]...) }

// kindIndex maps a kind to its index; anything unknown counts as other.
func kindIndex(kind string) int {
	switch kind {
	case KindUnknownField:
		return 0
	case KindMissingField:
		return 1
	case KindTypeMismatch:
		return 2
	case KindEnumViolation:
		return 3
	case KindConstraintViolation:
		return 4
	case KindDecodeError:
		return 5
	case KindUnknownSchemaID:
		return 6
	case KindStaleSchemaVersion:
		return 7
	}
	return 8
}

// truncateBytes cuts s to at most n bytes without splitting a UTF-8 sequence (when s is valid
// UTF-8 there). The result shares s's memory.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// sanitizeText makes s storable as TEXT in both SQLite and PostgreSQL: valid UTF-8 without NUL
// bytes, at most n bytes. Stored strings come from clients, and one that the database refuses
// would fail every flush after it.
func sanitizeText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return truncateBytes(s, n)
}
