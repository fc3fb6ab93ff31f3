package gateway

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/upstream"
	"github.com/schemagate/schemagate/validate"
)

// errBatchTooLarge: a ValidateBatch call carries more requests than
// schema_registry.max_batch_size.
var errBatchTooLarge = errors.New("batch too large")

// grpcCodes maps each domain error to the gRPC code clients see. It is the only place a
// domain error becomes a gRPC code (the Confluent API has its own table, in gateway/confluent);
// the HTTP/JSON surface follows it through grpc-gateway's standard code → status mapping
// (NotFound → 404, InvalidArgument → 400, FailedPrecondition → 400, AlreadyExists → 409,
// Unauthenticated → 401, PermissionDenied → 403), with the exceptions httpError names.
// Storage failures (Unavailable, storeFailures) reach clients without their text.
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
	{validate.ErrSubjectNotFound, codes.NotFound},
	{validate.ErrVersionNotFound, codes.NotFound},
	{validate.ErrBadRequest, codes.InvalidArgument},
	{validate.ErrTooLarge, codes.ResourceExhausted},
	{validate.ErrTooDeep, codes.ResourceExhausted},
	{errBatchTooLarge, codes.ResourceExhausted},
	{governance.ErrNotEligible, codes.FailedPrecondition},
	{governance.ErrPendingPromotion, codes.FailedPrecondition},
	{governance.ErrNotPending, codes.FailedPrecondition},
	{governance.ErrAlreadyInMode, codes.FailedPrecondition},
	{governance.ErrAuditChainBroken, codes.FailedPrecondition}, // HTTP 400 like every precondition; the message names the first bad entry
	{governance.ErrPromotionNotFound, codes.NotFound},
	{governance.ErrSubjectNotFound, codes.NotFound},
	{governance.ErrSelfApproval, codes.PermissionDenied}, // the two-person rule, whatever the role
	{governance.ErrBadTicket, codes.InvalidArgument},
	{governance.ErrBadRequest, codes.InvalidArgument},
	{governance.ErrInvalidAuditEntry, codes.InvalidArgument}, // e.g. a NUL byte in a reason or ticket
	{governance.ErrUnknownMode, codes.InvalidArgument},
	{auth.ErrNoCredentials, codes.Unauthenticated},
	{auth.ErrBadCredentials, codes.Unauthenticated},
	{auth.ErrPermissionDenied, codes.PermissionDenied},
	{auth.ErrTooManyFailures, codes.ResourceExhausted},    // the interceptor sets the retry-after trailer
	{auth.ErrBusy, codes.Unavailable},                     // all password checks running; retry-after trailer too
	{registry.ErrTooManyChecks, codes.ResourceExhausted},  // compatRetryUnary sets the retry-after trailer
	{governance.ErrEvidenceIncomplete, codes.Unavailable}, // a replica's evidence is late: retry
	{registry.ErrStore, codes.Unavailable},
	{governance.ErrStore, codes.Unavailable},
	// Upstream mode: no answer from the upstream registry. Its message says so and reaches the
	// client; the upstream's own answers (*upstream.APIError) match the registry errors above
	// by their error code.
	{upstream.ErrUnavailable, codes.Unavailable},
}

// storeFailures are the errors whose text never reaches clients: storage failures.
var storeFailures = []error{registry.ErrStore, governance.ErrStore}

// toStatus turns an error of the packages below into a gRPC status. Messages of domain errors
// reach clients; storage failures are Unavailable "store unavailable; retry later", and
// anything unrecognised is Internal "internal error": the cause of both is logged by the
// logging interceptor and never sent. A status error passes through unchanged.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, upstream.ErrUnavailable) && !errors.Is(err, registry.ErrStore):
		// Before the context cases: a call to the upstream that ran out of time is the
		// upstream's unavailability, not the caller's deadline.
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	for _, m := range grpcCodes {
		if errors.Is(err, m.err) {
			if slices.ContainsFunc(storeFailures, func(s error) bool { return errors.Is(err, s) }) {
				return hiddenError{code: m.code, msg: "store unavailable; retry later", cause: err}
			}
			return status.Error(m.code, err.Error())
		}
	}
	var upstreamErr *upstream.APIError
	if errors.As(err, &upstreamErr) {
		return upstreamStatus(upstreamErr)
	}
	return hiddenError{code: codes.Internal, msg: "internal error", cause: err}
}

// upstreamStatus is the gRPC status of an upstream registry's answer whose error code the
// registry errors do not cover, by its HTTP status; the upstream refusing schemagate's own
// credentials is Unavailable (the caller's are not at fault).
func upstreamStatus(e *upstream.APIError) error {
	if upstream.CredentialsRefused(e) {
		return hiddenError{code: codes.Unavailable, msg: "upstream registry refused schemagate's credentials", cause: e}
	}
	code := codes.Unknown
	switch {
	case e.Status == http.StatusNotFound:
		code = codes.NotFound
	case e.Status == http.StatusConflict:
		code = codes.FailedPrecondition
	case e.Status == http.StatusTooManyRequests:
		code = codes.ResourceExhausted
	case e.Status >= 400 && e.Status < 500:
		code = codes.InvalidArgument
	}
	return status.Error(code, e.Error())
}

// clientMessage is the message a client is sent for err (the per-item errors of batches and
// streams).
func clientMessage(err error) string { return status.Convert(toStatus(err)).Message() }

// mapErrorsUnary maps the errors handlers return with toStatus, so handlers return domain
// errors as they are.
func mapErrorsUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	return resp, toStatus(err)
}

// mapErrorsStream is mapErrorsUnary for streams.
func mapErrorsStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return toStatus(handler(srv, ss))
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
