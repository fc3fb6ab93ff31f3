package validate

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies how a payload departs from its schema: the drift kinds of DESIGN.md, used
// as the `kind` label of schemagate_drift_findings_total.
type Kind string

// The drift kinds.
const (
	// KindUnknownField is a field or property the schema does not declare.
	KindUnknownField Kind = "unknown_field"
	// KindMissingField is a required field or property that is absent.
	KindMissingField Kind = "missing_field"
	// KindTypeMismatch is a value of the wrong type.
	KindTypeMismatch Kind = "type_mismatch"
	// KindEnumViolation is a value outside an enum (or a const).
	KindEnumViolation Kind = "enum_violation"
	// KindConstraintViolation is a pattern, range, length, size or format violation.
	KindConstraintViolation Kind = "constraint_violation"
	// KindDecodeError is binary that does not decode (truncated, trailing bytes, bad index,
	// bad length, invalid UTF-8), or JSON that does not parse.
	KindDecodeError Kind = "decode_error"
	// KindUnknownSchemaID is a Confluent-framed payload whose schema ID is not registered (or
	// not registered under the subject named in the request).
	KindUnknownSchemaID Kind = "unknown_schema_id"
	// KindStaleSchemaVersion is a payload framed with a registered but not latest version of
	// its subject. It is drift, not invalidity: the outcome stays valid.
	KindStaleSchemaVersion Kind = "stale_schema_version"
	// KindOther is any other finding.
	KindOther Kind = "other"
)

// kinds lists every drift kind in a stable order: [Kind.Index] is a kind's position here, and
// evidence is stored in one column per kind, in this order.
var kinds = [...]Kind{KindUnknownField, KindMissingField, KindTypeMismatch, KindEnumViolation,
	KindConstraintViolation, KindDecodeError, KindUnknownSchemaID, KindStaleSchemaVersion, KindOther}

// NumKinds is the number of drift kinds.
const NumKinds = len(kinds)

// ErrUnknownKind is wrapped by [ParseKind] and [Kind.UnmarshalText] for a name that is not a
// drift kind.
var ErrUnknownKind = errors.New("unknown drift kind")

// Kinds lists every drift kind, in a stable order.
func Kinds() []Kind { return kinds[:] }

// ParseKind returns the drift kind named s (as spelled in DESIGN.md, e.g. "type_mismatch",
// ignoring case); anything else is an error wrapping [ErrUnknownKind], whose message names
// the kinds and reaches clients.
func ParseKind(s string) (Kind, error) {
	for _, k := range kinds {
		if strings.EqualFold(s, string(k)) {
			return k, nil
		}
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("%w %q: want one of %s", ErrUnknownKind, s, strings.Join(names, ", "))
}

// String returns the kind's name, its metric label value.
func (k Kind) String() string { return string(k) }

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseKind], so a kind read from
// configuration, flags or JSON is checked where it is decoded.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Index returns k's position in [Kinds], from 0 to NumKinds-1; a kind that is not one of them
// counts as [KindOther]. It is how per-kind counters are kept in arrays.
func (k Kind) Index() int {
	switch k {
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

// Finding is one way a payload departs from its schema.
type Finding struct {
	// Kind classifies the finding.
	Kind Kind
	// Path is a JSON pointer (RFC 6901) to the offending value in the payload, "" for the
	// whole payload.
	Path string
	// Message explains the finding; it reaches clients.
	Message string
}

// Invalid reports whether findings make a payload invalid: any finding except
// stale_schema_version.
func Invalid(findings []Finding) bool {
	for _, f := range findings {
		if f.Kind != KindStaleSchemaVersion {
			return true
		}
	}
	return false
}

// Limits bound the work one payload can cause. Zero fields take the defaults.
type Limits struct {
	// MaxPayloadBytes is the largest payload accepted. Default 1 MiB.
	MaxPayloadBytes int
	// MaxDepth is the deepest nesting of JSON values (and of Avro records, arrays, maps and
	// unions) accepted. Default 64.
	MaxDepth int
	// MaxFindings caps the findings reported for one payload. Default 20.
	MaxFindings int
}

// Default limits.
const (
	DefaultMaxPayloadBytes = 1 << 20
	DefaultMaxDepth        = 64
	DefaultMaxFindings     = 20
)

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxPayloadBytes <= 0 {
		l.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxFindings <= 0 {
		l.MaxFindings = DefaultMaxFindings
	}
	return l
}
