package upstream

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/schemagate/schemagate/registry"
)

// ErrUnavailable is wrapped by every error of a call that got no usable answer from the
// upstream: a connection refused or dropped, a timeout (Options.Timeout or the caller's
// deadline), or a 5xx status after the retries a read is allowed. An *APIError with a 5xx
// status matches it too, so that callers can answer 50001 / Unavailable for all of them.
var ErrUnavailable = errors.New("upstream registry unreachable")

// APIError is an answer of the upstream with a non-2xx status. Status, ErrorCode and Message
// are the upstream's own, meant to reach the client unchanged; a body that is not Confluent's
// {"error_code", "message"} keeps the status, with ErrorCode equal to the status and a generic
// message (the body is not repeated: it may be an HTML page from a proxy).
//
// errors.Is matches an APIError against the registry's sentinels its error code stands for
// (40401 registry.ErrSubjectNotFound, 40402 ErrVersionNotFound, 40403 ErrSchemaNotFound, …),
// and against ErrUnavailable when the status is 5xx, so that callers treat the upstream's
// errors like the embedded registry's.
type APIError struct {
	// Status is the HTTP status of the upstream's answer.
	Status int
	// ErrorCode is Confluent's error_code (40401, 42201, …).
	ErrorCode int
	// Message is Confluent's message.
	Message string
}

// Error names the upstream, the status, the error code and the message.
func (e *APIError) Error() string {
	return fmt.Sprintf("upstream registry: %s (status %d, error code %d)", e.Message, e.Status, e.ErrorCode)
}

// sentinels maps Confluent error codes to the registry's sentinel errors; it is the inverse of
// the gateway's table, for the codes whose meaning is the same.
var sentinels = map[int]error{
	40401: registry.ErrSubjectNotFound,
	40402: registry.ErrVersionNotFound,
	40403: registry.ErrSchemaNotFound,
	40404: registry.ErrSubjectSoftDeleted,
	40405: registry.ErrSubjectNotSoftDeleted,
	40406: registry.ErrVersionSoftDeleted,
	40407: registry.ErrVersionNotSoftDeleted,
	40408: registry.ErrSubjectCompatibilityNotConfigured,
	40409: registry.ErrSubjectModeNotConfigured,
	409:   registry.ErrIncompatible,
	42201: registry.ErrInvalidSchema,
	42202: registry.ErrInvalidVersion,
	42203: registry.ErrInvalidCompatibility,
	42204: registry.ErrInvalidMode,
	42205: registry.ErrOperationNotPermitted,
	42206: registry.ErrReferenceInUse,
	42208: registry.ErrInvalidSubject,
}

// Is reports whether target is the registry sentinel of e's error code, or ErrUnavailable for
// a 5xx status.
func (e *APIError) Is(target error) bool {
	if target == ErrUnavailable {
		return e.Status >= 500
	}
	s, ok := sentinels[e.ErrorCode]
	return ok && s == target
}

// unavailableError is a call that got no usable answer: its message names the operation and
// the cause, and it wraps ErrUnavailable and the cause (context.DeadlineExceeded, a *net.OpError,
// or the last *APIError with a 5xx status).
type unavailableError struct {
	op    string
	cause error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("%s: %s: %v", ErrUnavailable, e.op, e.cause)
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }

// CredentialsRefused reports whether e is the upstream refusing schemagate's own credentials
// (401 or 403): an operator's problem (schema_registry.upstream), never the caller's.
func CredentialsRefused(e *APIError) bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}
