package registry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/text/unicode/norm"
)

// SchemaType is the kind of a schema, as Confluent names it.
type SchemaType string

// Supported schema types.
const (
	// SchemaTypeAvro is an Apache Avro schema, parsed with hamba/avro.
	SchemaTypeAvro SchemaType = "AVRO"
	// SchemaTypeJSON is a JSON Schema (drafts 4, 6, 7, 2019-09, 2020-12).
	SchemaTypeJSON SchemaType = "JSON"
	// SchemaTypeProtobuf is a Protobuf schema (.proto text, or a base64 serialized
	// FileDescriptorProto), compiled with bufbuild/protocompile; references are its imports.
	SchemaTypeProtobuf SchemaType = "PROTOBUF"
)

// parseSchemaType normalises an input type: empty means AVRO (as in
// Confluent), case is ignored.
func parseSchemaType(s string) (SchemaType, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "AVRO":
		return SchemaTypeAvro, nil
	case "JSON":
		return SchemaTypeJSON, nil
	case "PROTOBUF":
		return SchemaTypeProtobuf, nil
	default:
		return "", errorf(ErrInvalidSchema, "unsupported schema type %q: supported types are AVRO, JSON and PROTOBUF", s)
	}
}

// Reference is a schema reference: Name is how the referring schema names it
// (an Avro full name, the `$ref` of a JSON Schema, or the import path of a Protobuf schema), and Subject/Version the
// registered schema it points to.
type Reference struct {
	Name    string
	Subject string
	Version int
}

// Schema is a registered schema. Text is the canonical text (see Register). Metadata and
// RuleSet are the compact JSON objects a client attached (Confluent's data contracts), or "";
// they are part of the schema's identity.
type Schema struct {
	ID         int
	Type       SchemaType
	Text       string
	References []Reference
	Metadata   string
	RuleSet    string
}

// clone returns s with its own References slice, so cached schemas are never shared.
func (s Schema) clone() Schema {
	s.References = append([]Reference(nil), s.References...)
	return s
}

// SubjectVersion is one version of a subject and the schema it holds.
type SubjectVersion struct {
	Subject string
	Version int
	Schema  Schema
	Deleted bool
}

// SchemaInput is a schema offered for registration, lookup or a compatibility check. An empty
// Type means AVRO.
type SchemaInput struct {
	Type       SchemaType
	Text       string
	References []Reference
	// Metadata and RuleSet are JSON objects stored and returned with the schema, or "".
	Metadata string
	RuleSet  string
	// Normalize makes JSON Schema text independent of key order, and stores Protobuf schemas in
	// their normalized form (protoschema.Schema.Normalized), before identity is decided (Avro
	// text always is). The subject's config can also ask for it.
	Normalize bool
	// ID and Version, when non-zero, are kept as given: only in IMPORT mode, except that an ID
	// matching the one the same schema already has is always accepted.
	ID      int
	Version int
}

// Options configures a Registry. All fields are optional.
type Options struct {
	// Registerer receives the registry's metrics
	// (schemagate_schemas_registered_total{type}). Nil: metrics are kept
	// but not registered anywhere.
	Registerer prometheus.Registerer
	// Logger receives registrations (info) and storage failures (error).
	// Nil: logs are discarded.
	Logger *slog.Logger
	// MaxSchemaBytes is the largest schema text accepted. Default 1 MiB.
	MaxSchemaBytes int
	// MaxNestingDepth is the deepest JSON nesting (objects and arrays)
	// accepted in schema text, checked before the text reaches a parser.
	// Default 128.
	MaxNestingDepth int
	// MaxReferences is the largest number of schemas a registration may
	// reference, directly or transitively. Default 100.
	MaxReferences int
	// ParsedCacheEntries bounds how many parsed schemas are kept for compatibility checks, so
	// a check against many versions never re-parses them. Default 4096.
	ParsedCacheEntries int
	// CompatibilityBudget is the work units one compatibility check may spend (over every
	// version it compares); a check that needs more reports the schema incompatible, saying
	// it is too complex to prove compatible. Default compatbudget.DefaultUnits.
	CompatibilityBudget int64
	// MaxUnionBranches is the most branches an Avro union may have; larger schemas are
	// refused as invalid. Default 1000.
	MaxUnionBranches int
	// MaxCombinatorItems is the most subschemas one JSON Schema allOf, anyOf or oneOf may
	// list; larger schemas are refused as invalid. Default 1000.
	MaxCombinatorItems int
	// BeforeCheck, when set, is called before every compatibility check that compares the
	// candidate with stored versions (CheckCompatibility, and registrations of a new version
	// in a subject that has versions and a level other than NONE); an error refuses the
	// check with ErrTooManyChecks wrapping it. The gateway meters principals' work with it
	// and AfterCheck.
	BeforeCheck func(ctx context.Context) error
	// AfterCheck, when set, is called after every check BeforeCheck let start, with the work
	// units it spent (finished, over budget or stopped by its context).
	AfterCheck func(ctx context.Context, units int64)
	// Clock stamps new versions with their registration time (default time.Now).
	Clock func() time.Time
}

// Defaults for Options.
const (
	// DefaultMaxSchemaBytes is the default Options.MaxSchemaBytes (1 MiB).
	DefaultMaxSchemaBytes = 1 << 20
	// DefaultMaxNestingDepth is the default Options.MaxNestingDepth.
	DefaultMaxNestingDepth = 128
	// DefaultMaxReferences is the default Options.MaxReferences.
	DefaultMaxReferences = 100
	// DefaultParsedCacheEntries is the default Options.ParsedCacheEntries.
	DefaultParsedCacheEntries = 4096
	// DefaultMaxUnionBranches is the default Options.MaxUnionBranches.
	DefaultMaxUnionBranches = 1000
	// DefaultMaxCombinatorItems is the default Options.MaxCombinatorItems.
	DefaultMaxCombinatorItems = 1000
)

// MaxSubjectBytes is the longest subject name accepted, in bytes.
const MaxSubjectBytes = 255

// validateSubject enforces the rules every subject name follows, the names stored before the
// naming rules of validateNewSubject included, so that such a subject can still be read,
// reconfigured and deleted. "." and ".." are refused because HTTP clients and servers remove
// them as dot-segments of a URL path (RFC 3986 section 5.2.4), so the Confluent REST API could
// never address such a subject.
func validateSubject(subject string) error {
	switch {
	case subject == "":
		return errorf(ErrInvalidSubject, "invalid subject: name is empty")
	case subject == "." || subject == "..":
		return errorf(ErrInvalidSubject, "invalid subject %q: \".\" and \"..\" cannot be used, URLs drop them as path segments", subject)
	case len(subject) > MaxSubjectBytes:
		return errorf(ErrInvalidSubject, "invalid subject: name is %d bytes long, the limit is %d", len(subject), MaxSubjectBytes)
	case !utf8.ValidString(subject):
		return errorf(ErrInvalidSubject, "invalid subject %q: name is not valid UTF-8", subject)
	}
	for i, r := range subject {
		if unicode.IsControl(r) {
			return errorf(ErrInvalidSubject, "invalid subject %q: control character %U at byte %d", subject, r, i)
		}
	}
	return nil
}

// validateNewSubject is validateSubject for a name a registration would create: format
// characters (Unicode category Cf: zero-width and bidi controls) are refused too, since they
// make two names that look the same, or one that reads differently from what it is; and a name
// must be in Unicode normalization form C, so that one name has one spelling (an NFD spelling
// is refused, not rewritten: the caller must send the name it means). A subject registered
// under such a name before these rules can still be read, reconfigured and deleted, but gets
// no new versions.
func validateNewSubject(subject string) error {
	if err := validateSubject(subject); err != nil {
		return err
	}
	for i, r := range subject {
		if unicode.Is(unicode.Cf, r) {
			return errorf(ErrInvalidSubject, "invalid subject %q: format character %U at byte %d", subject, r, i)
		}
	}
	if !norm.NFC.IsNormalString(subject) {
		return errorf(ErrInvalidSubject, "invalid subject %q: name is not in Unicode normalization form C (NFC)", subject)
	}
	return nil
}

// validateVersion accepts -1 (latest) when latestOK, and positive versions.
func validateVersion(version int, latestOK bool) error {
	if version > 0 || (latestOK && version == -1) {
		return nil
	}
	if latestOK {
		return errorf(ErrInvalidVersion, "invalid version %d: use a positive version or -1 for the latest", version)
	}
	return errorf(ErrInvalidVersion, "invalid version %d: versions are positive integers", version)
}

// String returns "subject/version (id N)", for logs and test failures.
func (sv SubjectVersion) String() string {
	return fmt.Sprintf("%s/%d (id %d)", sv.Subject, sv.Version, sv.Schema.ID)
}
