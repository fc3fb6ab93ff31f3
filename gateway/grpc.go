package gateway

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionalphapb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// maxMessageBytes bounds one gRPC message (and so one HTTP/JSON body through grpc-gateway).
const maxMessageBytes = 8 << 20

// methodPermissions names the permission every RPC needs. A method missing here is refused by
// the auth interceptor, so a new RPC fails closed until it is given a permission.
func methodPermissions() map[string]auth.Permission {
	return map[string]auth.Permission{
		pb.RegistryService_RegisterSchema_FullMethodName:       auth.PermSchemasWrite,
		pb.RegistryService_GetSchema_FullMethodName:            auth.PermSchemasRead,
		pb.RegistryService_GetSubjectVersion_FullMethodName:    auth.PermSchemasRead,
		pb.RegistryService_ListSubjects_FullMethodName:         auth.PermSchemasRead,
		pb.RegistryService_ListVersions_FullMethodName:         auth.PermSchemasRead,
		pb.RegistryService_CheckCompatibility_FullMethodName:   auth.PermSchemasRead,
		pb.RegistryService_DeleteSubject_FullMethodName:        auth.PermSchemasWrite, // permanent: checked again in the handler
		pb.RegistryService_DeleteSubjectVersion_FullMethodName: auth.PermSchemasWrite, // permanent: checked again in the handler

		pb.ValidationService_Validate_FullMethodName:       auth.PermPayloadsValidate,
		pb.ValidationService_ValidateBatch_FullMethodName:  auth.PermPayloadsValidate,
		pb.ValidationService_ValidateStream_FullMethodName: auth.PermPayloadsValidate,
		pb.ValidationService_GetDriftReport_FullMethodName: auth.PermGovernanceRead,
		pb.ValidationService_InjectDrill_FullMethodName:    auth.PermGovernanceRollback, // on-call and leads run drills

		pb.GovernanceService_GetSubjectStatus_FullMethodName:      auth.PermGovernanceRead,
		pb.GovernanceService_ListSubjectStatuses_FullMethodName:   auth.PermGovernanceRead,
		pb.GovernanceService_SetValidationMode_FullMethodName:     auth.PermAdmin,
		pb.GovernanceService_GetGovernanceDocument_FullMethodName: auth.PermGovernanceRead,
		pb.GovernanceService_SetSubjectOwner_FullMethodName:       auth.PermGovernanceApprove, // routes alerts: leads and admins
		pb.GovernanceService_ListSubjectOwners_FullMethodName:     auth.PermGovernanceRead,
		pb.GovernanceService_GetSubjectEvidence_FullMethodName:    auth.PermGovernanceRead,
		pb.GovernanceService_RequestPromotion_FullMethodName:      auth.PermGovernanceRequest,
		pb.GovernanceService_ApprovePromotion_FullMethodName:      auth.PermGovernanceApprove,
		pb.GovernanceService_RejectPromotion_FullMethodName:       auth.PermGovernanceApprove,
		pb.GovernanceService_Rollback_FullMethodName:              auth.PermGovernanceRollback,
		pb.GovernanceService_ListAuditEntries_FullMethodName:      auth.PermGovernanceRead,
		pb.GovernanceService_VerifyAuditChain_FullMethodName:      auth.PermGovernanceRead,

		// Health/Check is public (auth.PublicMethod); the rest of the health service and server
		// reflection need credentials, and a permission every role holds.
		healthpb.Health_Watch_FullMethodName:                                   auth.PermSchemasRead,
		healthpb.Health_List_FullMethodName:                                    auth.PermSchemasRead,
		reflectionpb.ServerReflection_ServerReflectionInfo_FullMethodName:      auth.PermSchemasRead,
		reflectionalphapb.ServerReflection_ServerReflectionInfo_FullMethodName: auth.PermSchemasRead,
	}
}

// serviceRegistration registers one service on the gRPC server.
type serviceRegistration func(*grpc.Server)

// newGRPCServer builds the gRPC server with its transport credentials (auth.ServerCredentials:
// TLS or plaintext, and the in-process connection of the HTTP/JSON gateway), its interceptors
// and the services, with reflection. Interceptors, outermost first: panic recovery, the error
// mapping (handlers return domain errors; toStatus turns them into codes, once), authentication,
// then logging, so the log names the principal, then the subject grants (methodGrants), so the
// log records their refusals too; refused credentials are logged by the auth package; last,
// the Retry-After trailer of compatibility checks over their rate (compatRetryUnary).
//
// The in-flight budget (inflightUnary) comes right after the error mapping: the message is
// already decoded, and the call is refused before any other work.
//
// codec decodes and encodes every message the server receives and sends (validationCodec:
// the standard protobuf codec, but for the validation requests).
func newGRPCServer(log *slog.Logger, cfg ServerConfig, creds credentials.TransportCredentials, authn *auth.Authenticator, budget *byteBudget, codec encoding.CodecV2, services []serviceRegistration) *grpc.Server {
	perms, grants := methodPermissions(), methodGrants()
	srv := grpc.NewServer(append(TransportServerOptions(cfg),
		grpc.Creds(creds),
		grpc.ForceServerCodecV2(codec),
		// Credentials are checked from the call's headers, before any message is read, so an
		// unauthenticated caller cannot make the server decode a large message.
		grpc.InTapHandle(tapAuth(authn)),
		grpc.ChainUnaryInterceptor(recoverUnary(log), mapErrorsUnary, inflightUnary(budget), authn.UnaryServerInterceptor(perms), logUnary(log), grantsUnary(log, grants), compatRetryUnary),
		grpc.ChainStreamInterceptor(recoverStream(log), mapErrorsStream, authn.StreamServerInterceptor(perms), grantsStream(log, grants)),
	)...)
	for _, register := range services {
		register(srv)
	}
	reflection.Register(srv)
	return srv
}

// TransportServerOptions are the gRPC server's options that shape its connections: message
// size bounds, concurrent streams, the header list bound and keepalive, from cfg. The gateway's
// server is built with them; `schemagate bench` builds its transport floor with them too.
func TransportServerOptions(cfg ServerConfig) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(cfg.GRPCMaxSendMsgBytes),
		grpc.MaxConcurrentStreams(uint32(cfg.GRPCMaxConcurrentStreams)),
		grpc.MaxHeaderListSize(uint32(cfg.GRPCMaxHeaderListBytes)),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: cfg.GRPCKeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: cfg.GRPCMaxConnectionIdle, Time: cfg.GRPCKeepaliveTime, Timeout: cfg.GRPCKeepaliveTimeout,
		}),
	}
}

// tapAuth is the gRPC tap handle: authn.InTapHandle, its refusals mapped to statuses here, at
// the edge. A client over the failure limit learns how long to wait from a RetryInfo detail
// (and the message): a tap cannot send the retry-after trailer of the interceptor.
func tapAuth(authn *auth.Authenticator) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		ctx, err := authn.InTapHandle(ctx, info)
		if err == nil {
			return ctx, nil
		}
		st := status.Convert(toStatus(err))
		if retry, limited := auth.RetryAfter(err); limited {
			if secs, perr := strconv.Atoi(retry); perr == nil {
				if withRetry, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)}); derr == nil {
					st = withRetry
				}
			}
		}
		return nil, st.Err()
	}
}

// recoverUnary turns a handler panic into Internal, logging the stack, so one bad request
// cannot take the gateway down.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in stream handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}

// logUnary logs every call at debug, and server-side failures (Internal, Unavailable, Unknown)
// at error. It never logs request bodies or metadata, so credentials stay out of the log.
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(toStatus(err))
		attrs := []any{"method", info.FullMethod, "code", code.String(), "duration", time.Since(start)}
		if p, ok := auth.FromContext(ctx); ok {
			attrs = append(attrs, "principal", p.Name)
		}
		switch code {
		case codes.Internal, codes.Unavailable, codes.Unknown, codes.DataLoss:
			log.ErrorContext(ctx, "rpc failed", append(attrs, "error", err)...)
		default:
			log.DebugContext(ctx, "rpc", attrs...)
		}
		return resp, err
	}
}
