package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/tap"
)

// publicMethod is the one gRPC method that needs no credentials: the unary
// health check of load balancers and Kubernetes probes. Its streaming
// sibling Health/Watch and server reflection hold a stream open or describe
// the API, so they need credentials like every other method.
const publicMethod = "/grpc.health.v1.Health/Check"

// PublicMethod reports whether fullMethod needs no credentials (the unary health check), so the
// tap handle and the interceptors pass it through untouched, without a principal in its context.
func PublicMethod(fullMethod string) bool { return fullMethod == publicMethod }

// tapPrincipalKey is the context key under which InTapHandle leaves the principal it
// authenticated, for the interceptors of the same call.
type tapPrincipalKey struct{}

// InTapHandle authenticates a gRPC call from its headers alone, before the server reads any
// of its messages (a grpc.InTapHandle; gRPC runs it on the connection's reader, so it must stay
// cheap: bcrypt successes are cached, see basicCache). The policy is the interceptors': the
// public method passes; a client over the failure limit gets ErrTooManyFailures before its
// credentials are looked at; the "authorization" header and a verified TLS client certificate
// are checked, a refusal being ErrNoCredentials or ErrBadCredentials. The returned context
// carries the principal, which the interceptors then use instead of checking the credentials
// again; they still decide permissions. Calls on in-process connections pass untouched: the
// HTTP/JSON gateway authenticated them before reading their bodies, and the interceptors check
// them (a cache hit). Errors are this package's, for the caller to map to a status.
func (a *Authenticator) InTapHandle(ctx context.Context, info *tap.Info) (context.Context, error) {
	if PublicMethod(info.FullMethodName) {
		return ctx, nil
	}
	if pr, ok := peer.FromContext(ctx); ok {
		if _, inProcess := pr.AuthInfo.(inProcessInfo); inProcess {
			return ctx, nil
		}
	}
	c, err := grpcClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("the caller's address is unknown: %w", err)
	}
	var authorization string
	if v := info.Header.Get("authorization"); len(v) > 0 {
		authorization = v[0]
	}
	p, err := a.check(ctx, c, authorization)
	if _, limited := RetryAfter(err); limited {
		a.log.InfoContext(ctx, "refused: too many failed authentications", "method", info.FullMethodName, "peer", c.addr)
		return nil, err
	}
	if err != nil {
		a.log.InfoContext(ctx, "authentication failed", "method", info.FullMethodName, "peer", c.addr, "error", err)
		return nil, clientError(err)
	}
	return context.WithValue(ctx, tapPrincipalKey{}, p), nil
}

// UnaryServerInterceptor authorizes unary calls. perms maps full method
// names ("/schemagate.v1.Registry/RegisterSchema") to the permission they
// need; it is copied, so later changes to the map have no effect. Policy:
//   - the unary health check (PublicMethod) is public and passes through untouched;
//   - a method missing from perms is denied with ErrPermissionDenied ("no
//     permission is defined for method X"), so a forgotten entry fails
//     closed, even when the Authenticator is Open;
//   - a client over the failure limit (Options.MaxFailures) gets
//     ErrTooManyFailures ("too many failed authentication attempts from
//     this client; retry in Ns") and the trailer RetryAfterMetadataKey,
//     before its credentials are looked at;
//   - the "authorization" metadata value (where grpc-gateway forwards the
//     HTTP Authorization header) and a verified TLS client certificate are
//     checked with AuthenticateCredentials: none gives ErrNoCredentials
//     naming the accepted schemes, wrong ones ErrBadCredentials ("invalid
//     credentials");
//   - a principal without the permission gets ErrPermissionDenied naming
//     the principal, its roles and the permission;
//   - otherwise the handler runs with the Principal in its context (the
//     anonymous principal when Open).
//
// Refusals are returned as these errors, not as gRPC statuses: the server
// maps them to codes (with an interceptor outside this one). A call whose
// client cannot be described (in-process metadata missing) fails with an
// error that wraps none of them, an internal failure.
//
// It panics if perms holds a permission that is not defined: that is a bug
// in the caller's table, not a runtime condition.
func (a *Authenticator) UnaryServerInterceptor(perms map[string]Permission) grpc.UnaryServerInterceptor {
	perms = checkedPerms(perms)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorizeGRPC(ctx, info.FullMethod, perms, func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) })
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authorizes streaming calls with the same policy
// as UnaryServerInterceptor, before the handler sees any message.
func (a *Authenticator) StreamServerInterceptor(perms map[string]Permission) grpc.StreamServerInterceptor {
	perms = checkedPerms(perms)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authorizeGRPC(ss.Context(), info.FullMethod, perms, ss.SetTrailer)
		if err != nil {
			return err
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

// contextStream replaces the context of a server stream.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// checkedPerms copies perms and panics on undefined permissions.
func checkedPerms(perms map[string]Permission) map[string]Permission {
	for method, p := range perms {
		if !p.known() {
			panic(fmt.Sprintf("auth: method %q maps to undefined permission %q", method, p))
		}
	}
	return maps.Clone(perms)
}

// authorizeGRPC applies the interceptor policy and returns the context for
// the handler, or the refusal. setTrailer sends trailer metadata with the
// error.
func (a *Authenticator) authorizeGRPC(ctx context.Context, method string, perms map[string]Permission, setTrailer func(metadata.MD)) (context.Context, error) {
	if PublicMethod(method) {
		return ctx, nil
	}
	perm, ok := perms[method]
	if !ok {
		a.log.WarnContext(ctx, "denied call to method without a permission", "method", method, "peer", grpcPeer(ctx))
		return nil, errNoPermissionDefined(method)
	}
	c, err := grpcClient(ctx)
	if err != nil {
		a.log.ErrorContext(ctx, "refused call", "method", method, "error", err)
		return nil, fmt.Errorf("the caller's address is unknown: %w", err)
	}
	p, err := a.grpcPrincipal(ctx, c)
	if retry, limited := RetryAfter(err); limited {
		a.log.InfoContext(ctx, "refused: too many failed authentications", "method", method, "peer", c.addr)
		setTrailer(metadata.Pairs(RetryAfterMetadataKey, retry))
		return nil, err
	}
	if err != nil {
		a.log.InfoContext(ctx, "authentication failed", "method", method, "peer", c.addr, "error", err)
		return nil, clientError(err)
	}
	if !p.Can(perm) {
		a.log.InfoContext(ctx, "permission denied", "method", method, "principal", p.Name, "peer", c.addr, "permission", perm)
		return nil, errDenied(p, perm)
	}
	return NewContext(ctx, p), nil
}

// grpcPrincipal returns the principal InTapHandle authenticated for this call, the principal
// of the console session an in-process call runs for (SessionMetadata), or checks the call's
// credentials when no tap ran (an in-process call, a server built without the tap).
func (a *Authenticator) grpcPrincipal(ctx context.Context, c client) (Principal, error) {
	if p, ok := ctx.Value(tapPrincipalKey{}).(Principal); ok {
		return p, nil
	}
	if c.principal != nil {
		return *c.principal, nil
	}
	var authorization string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			authorization = v[0]
		}
	}
	return a.check(ctx, c, authorization)
}

// clientError is the refusal of a client whose authentication failed.
// Authenticate's errors are written for clients and carry no secrets;
// anything else is reported as ErrBadCredentials.
func clientError(err error) error {
	if errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrBadCredentials) {
		return err
	}
	return ErrBadCredentials
}

// grpcPeer returns the caller's address, or "" when unknown.
func grpcPeer(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}
