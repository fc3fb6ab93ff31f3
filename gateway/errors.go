package gateway

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/registry"
)

// grpcCodes maps each registry, governance and auth error to the gRPC code clients see. It is
// the only place such an error becomes a code; the HTTP/JSON surface follows it through
// grpc-gateway's standard code → status mapping (NotFound → 404, InvalidArgument → 400,
// FailedPrecondition → 400, AlreadyExists → 409, Unauthenticated → 401, PermissionDenied → 403).
var grpcCodes = []struct {
	err  error
	code codes.Code
}{
	{registry.ErrSubjectNotFound, codes.NotFound},
	{registry.ErrVersionNotFound, codes.NotFound},
	{registry.ErrSchemaNotFound, codes.NotFound},
	{registry.ErrSubjectSoftDeleted, codes.FailedPrecondition},
	{registry.ErrSubjectNotSoftDeleted, codes.FailedPrecondition},
	{registry.ErrVersionSoftDeleted, codes.FailedPrecondition},
	{registry.ErrVersionNotSoftDeleted, codes.FailedPrecondition},
	{registry.ErrReferenceInUse, codes.FailedPrecondition},
	{registry.ErrInvalidSchema, codes.InvalidArgument},
	{registry.ErrInvalidVersion, codes.InvalidArgument},
	{registry.ErrInvalidSubject, codes.InvalidArgument},
	{registry.ErrReferenceNotFound, codes.InvalidArgument},
	{registry.ErrIncompatible, codes.FailedPrecondition},
	{registry.ErrInvalidCompatibility, codes.InvalidArgument},
	{registry.ErrInvalidMode, codes.InvalidArgument},
	{registry.ErrSubjectCompatibilityNotConfigured, codes.NotFound},
	{registry.ErrSubjectModeNotConfigured, codes.NotFound},
	{registry.ErrOperationNotPermitted, codes.FailedPrecondition},
	{governance.ErrNotEligible, codes.FailedPrecondition},
	{governance.ErrPendingPromotion, codes.FailedPrecondition},
	{governance.ErrNotPending, codes.FailedPrecondition},
	{governance.ErrAlreadyInMode, codes.FailedPrecondition},
	{governance.ErrPromotionNotFound, codes.NotFound},
	{governance.ErrSelfApproval, codes.PermissionDenied}, // the two-person rule, whatever the role
	{governance.ErrBadTicket, codes.InvalidArgument},
	{governance.ErrBadRequest, codes.InvalidArgument},
	{governance.ErrInvalidAuditEntry, codes.InvalidArgument}, // e.g. a NUL byte in a reason or ticket
	{governance.ErrUnknownMode, codes.InvalidArgument},
	{auth.ErrNoCredentials, codes.Unauthenticated},
	{auth.ErrBadCredentials, codes.Unauthenticated},
	{auth.ErrPermissionDenied, codes.PermissionDenied},
	{auth.ErrTooManyFailures, codes.ResourceExhausted}, // the interceptor sets the retry-after trailer
	{registry.ErrStore, codes.Unavailable},
}

// toStatus turns an error from the packages below into a gRPC status. Messages of domain errors
// reach clients; anything unrecognised is logged by the interceptor and reported as Internal
// without its text, so no internal detail leaks.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	for _, m := range grpcCodes {
		if errors.Is(err, m.err) {
			if m.code == codes.Unavailable {
				return hiddenError{code: m.code, msg: "store unavailable; retry later", cause: err}
			}
			return status.Error(m.code, err.Error())
		}
	}
	return hiddenError{code: codes.Internal, msg: "internal error", cause: err}
}

// govStatus is toStatus for the governance service. Every failure governance can have that is
// not a storage failure is one of the domain errors in grpcCodes (bad input included); whatever
// else reaches here came from the database (reading evidence, committing an action with its
// audit entry), so it is reported as Unavailable, as registry storage failures are, with its
// cause kept for the log. A governance error that is not a storage failure must therefore be
// given a sentinel in grpcCodes.
func govStatus(err error) error {
	st := toStatus(err)
	if h, ok := st.(hiddenError); ok && h.code == codes.Internal {
		return hiddenError{code: codes.Unavailable, msg: "store unavailable; retry later", cause: h.cause}
	}
	return st
}

// hiddenError sends clients a generic status while keeping its cause for the server log (the
// logging interceptor prints Error(), which includes the cause).
type hiddenError struct {
	code  codes.Code
	msg   string
	cause error
}

func (e hiddenError) Error() string { return e.msg + ": " + e.cause.Error() }

func (e hiddenError) Unwrap() error { return e.cause }

// GRPCStatus is what gRPC sends on the wire: the code and the generic message only.
func (e hiddenError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }
