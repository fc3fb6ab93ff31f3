package registry

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the Registry returns wraps exactly one of
// them (test with errors.Is); the gateway maps them to Confluent error codes
// and gRPC codes in one table. Error messages reach clients: they name the
// subject, version, ID or schema location concerned and never contain SQL.
var (
	// ErrSubjectNotFound: the subject has no versions (or only soft-deleted
	// ones and deleted versions were not asked for).
	ErrSubjectNotFound = errors.New("subject not found")
	// ErrVersionNotFound: the subject exists but not that version.
	ErrVersionNotFound = errors.New("version not found")
	// ErrSchemaNotFound: no subject version refers to that schema ID.
	ErrSchemaNotFound = errors.New("schema not found")
	// ErrSubjectSoftDeleted: the subject is already soft-deleted.
	ErrSubjectSoftDeleted = errors.New("subject soft-deleted")
	// ErrSubjectNotSoftDeleted: a permanent delete of a subject that still
	// has live versions; soft-delete it first.
	ErrSubjectNotSoftDeleted = errors.New("subject not soft-deleted")
	// ErrVersionSoftDeleted: the version is already soft-deleted.
	ErrVersionSoftDeleted = errors.New("version soft-deleted")
	// ErrVersionNotSoftDeleted: a permanent delete of a live version;
	// soft-delete it first.
	ErrVersionNotSoftDeleted = errors.New("version not soft-deleted")
	// ErrInvalidSchema: the schema text, type or references are not
	// acceptable. The message says what is wrong and where.
	ErrInvalidSchema = errors.New("invalid schema")
	// ErrInvalidVersion: a version number that is neither -1 (latest) nor
	// a positive integer.
	ErrInvalidVersion = errors.New("invalid version")
	// ErrInvalidSubject: a subject name that is empty, "." or "..", longer
	// than 255 bytes, not UTF-8 or contains control characters.
	ErrInvalidSubject = errors.New("invalid subject")
	// ErrReferenceNotFound: a schema reference names a subject version
	// that does not exist or is soft-deleted.
	ErrReferenceNotFound = errors.New("schema reference not found")
	// ErrReferenceInUse: the version is referenced by another schema and
	// cannot be deleted.
	ErrReferenceInUse = errors.New("schema reference in use")
	// ErrTooManyChecks: Options.BeforeCheck refused a compatibility check (the caller's rate
	// of checks is used up); the cause it returned stays reachable with errors.As.
	ErrTooManyChecks = errors.New("too many compatibility checks")
	// ErrStore: the database failed. The message is generic; the cause is
	// logged and reachable with errors.As / errors.Is (for example
	// context.Canceled).
	ErrStore = errors.New("storage failure")
)

// registryError is a client-facing message that wraps one sentinel and,
// optionally, an internal cause that is not part of the message.
type registryError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *registryError) Error() string { return e.msg }

func (e *registryError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.sentinel, e.cause}
	}
	return []error{e.sentinel}
}

// errorf builds an error with the given message that wraps sentinel.
func errorf(sentinel error, format string, args ...any) error {
	return &registryError{msg: fmt.Sprintf(format, args...), sentinel: sentinel}
}

// storeError wraps a database failure during op. The message names only the
// operation; cause stays reachable for logs and errors.Is.
func storeError(op string, cause error) error {
	return &registryError{msg: "storage failure while " + op, sentinel: ErrStore, cause: cause}
}

// asRegistryError reports whether err already carries one of our sentinels.
func asRegistryError(err error) bool {
	var re *registryError
	return errors.As(err, &re)
}

// Errors of compatibility, configuration and modes.
var (
	// ErrIncompatible: the schema is not compatible with the versions its subject's level names.
	// The message lists every reason.
	ErrIncompatible = errors.New("incompatible schema")
	// ErrInvalidCompatibility: an unknown compatibility level.
	ErrInvalidCompatibility = errors.New("invalid compatibility level")
	// ErrInvalidMode: an unknown mode.
	ErrInvalidMode = errors.New("invalid mode")
	// ErrSubjectCompatibilityNotConfigured: the subject has no compatibility level of its own.
	ErrSubjectCompatibilityNotConfigured = errors.New("subject compatibility not configured")
	// ErrSubjectModeNotConfigured: the subject has no mode of its own.
	ErrSubjectModeNotConfigured = errors.New("subject mode not configured")
	// ErrOperationNotPermitted: the write is refused by the mode (READONLY, IMPORT rules).
	ErrOperationNotPermitted = errors.New("operation not permitted")
)
