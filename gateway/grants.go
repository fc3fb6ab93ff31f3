package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionalphapb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// grantRule says how an RPC is checked against the caller's subject grants (auth.principals[]
// .subjects), after the auth interceptor has checked its role. Every check happens before the
// call does anything, so a refused validation is never counted as evidence.
type grantRule int

const (
	// grantNone: the RPC is about no subject in particular and answers every principal that
	// has the role.
	grantNone grantRule = iota + 1
	// grantSubject: the request's subject field must be granted; the interceptor checks it.
	grantSubject
	// grantUnrestricted: the RPC covers every subject, so it needs a principal without subject
	// grants.
	grantUnrestricted
	// grantHandler: the handler checks, because the subject is not a field of the request (a
	// promotion's subject, the subjects of a schema ID, each item of a batch or a stream) or
	// because the answer is a listing it filters to the granted subjects.
	grantHandler
)

// methodGrants names the grant rule of every RPC. A method missing here is refused by the
// grants interceptor, so a new RPC fails closed until it is given a rule.
func methodGrants() map[string]grantRule {
	return map[string]grantRule{
		pb.RegistryService_RegisterSchema_FullMethodName:       grantSubject,
		pb.RegistryService_GetSchema_FullMethodName:            grantHandler, // a granted subject must use the ID
		pb.RegistryService_GetSubjectVersion_FullMethodName:    grantSubject,
		pb.RegistryService_ListSubjects_FullMethodName:         grantHandler, // filtered
		pb.RegistryService_ListVersions_FullMethodName:         grantSubject,
		pb.RegistryService_CheckCompatibility_FullMethodName:   grantSubject,
		pb.RegistryService_DeleteSubject_FullMethodName:        grantSubject,
		pb.RegistryService_DeleteSubjectVersion_FullMethodName: grantSubject,

		pb.ValidationService_Validate_FullMethodName:       grantSubject,
		pb.ValidationService_ValidateBatch_FullMethodName:  grantHandler, // every item, before any is validated
		pb.ValidationService_ValidateStream_FullMethodName: grantHandler, // each message
		pb.ValidationService_GetDriftReport_FullMethodName: grantSubject,
		pb.ValidationService_InjectDrill_FullMethodName:    grantSubject,

		pb.GovernanceService_GetSubjectStatus_FullMethodName:      grantSubject,
		pb.GovernanceService_GetSubjectEvidence_FullMethodName:    grantSubject,
		pb.GovernanceService_ListSubjectStatuses_FullMethodName:   grantHandler, // filtered
		pb.GovernanceService_SetValidationMode_FullMethodName:     grantSubject,
		pb.GovernanceService_GetGovernanceDocument_FullMethodName: grantUnrestricted, // every subject's promotions
		pb.GovernanceService_SetSubjectOwner_FullMethodName:       grantSubject,
		pb.GovernanceService_ListSubjectOwners_FullMethodName:     grantHandler, // filtered
		pb.GovernanceService_RequestPromotion_FullMethodName:      grantSubject,
		pb.GovernanceService_ApprovePromotion_FullMethodName:      grantHandler, // the promotion's subject
		pb.GovernanceService_RejectPromotion_FullMethodName:       grantHandler, // the promotion's subject
		pb.GovernanceService_Rollback_FullMethodName:              grantSubject,
		pb.GovernanceService_ListAuditEntries_FullMethodName:      grantHandler, // filtered, or its subject filter
		pb.GovernanceService_VerifyAuditChain_FullMethodName:      grantNone,

		healthpb.Health_Watch_FullMethodName:                                   grantNone,
		healthpb.Health_List_FullMethodName:                                    grantNone,
		reflectionpb.ServerReflection_ServerReflectionInfo_FullMethodName:      grantNone,
		reflectionalphapb.ServerReflection_ServerReflectionInfo_FullMethodName: grantNone,
	}
}

// subjectRequest is a request with a subject field; the generated getter returns "" on nil.
type subjectRequest interface{ GetSubject() string }

// grantsUnary checks the grant rule of every unary call (see grantRule) and logs a refusal at
// info with the principal, never a credential. It runs inside the auth interceptor, which has
// put the principal in the context; public methods (auth.PublicMethod) pass untouched.
func grantsUnary(log *slog.Logger, rules map[string]grantRule) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var err error
		switch rule := rules[info.FullMethod]; {
		case auth.PublicMethod(info.FullMethod), rule == grantNone, rule == grantHandler:
		case rule == grantSubject:
			r, ok := req.(subjectRequest)
			if !ok {
				return nil, fmt.Errorf("method %s has the grant rule subject but its request has no subject field", info.FullMethod)
			}
			err = auth.RequireSubject(ctx, r.GetSubject())
		case rule == grantUnrestricted:
			err = auth.RequireUnrestricted(ctx, info.FullMethod)
		default:
			err = errNoGrantRule(info.FullMethod)
		}
		if err != nil {
			logDenied(ctx, log, info.FullMethod, err)
			return nil, err
		}
		return handler(ctx, req)
	}
}

// grantsStream is grantsUnary for streams: their messages come after the interceptor, so a
// streaming method's handler checks them (grantHandler), and any other rule is refused.
func grantsStream(log *slog.Logger, rules map[string]grantRule) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if rule := rules[info.FullMethod]; rule != grantHandler && rule != grantNone && !auth.PublicMethod(info.FullMethod) {
			err := errNoGrantRule(info.FullMethod)
			logDenied(ss.Context(), log, info.FullMethod, err)
			return err
		}
		return handler(srv, ss)
	}
}

// errNoGrantRule refuses a method missing from methodGrants (or a stream with a rule streams
// cannot have).
func errNoGrantRule(method string) error {
	return fmt.Errorf("%w: no subject grant rule is defined for method %s", auth.ErrPermissionDenied, method)
}

// logDenied logs a refusal by subject grants at info.
func logDenied(ctx context.Context, log *slog.Logger, method string, err error) {
	if !errors.Is(err, auth.ErrPermissionDenied) {
		return
	}
	attrs := []any{"method", method, "error", err}
	if p, ok := auth.FromContext(ctx); ok {
		attrs = append(attrs, "principal", p.Name)
	}
	log.InfoContext(ctx, "subject not granted", attrs...)
}
