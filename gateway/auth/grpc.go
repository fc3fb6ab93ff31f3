package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// publicMethodPrefixes are gRPC services that need no credentials: health
// checks (load balancers, Kubernetes probes) and server reflection.
var publicMethodPrefixes = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// PublicMethod reports whether fullMethod needs no credentials (health checks and reflection),
// so the interceptors pass it through untouched, without a principal in its context.
func PublicMethod(fullMethod string) bool {
	for _, prefix := range publicMethodPrefixes {
		if strings.HasPrefix(fullMethod, prefix) {
			return true
		}
	}
	return false
}

// UnaryServerInterceptor authorizes unary calls. perms maps full method
// names ("/schemagate.v1.Registry/RegisterSchema") to the permission they
// need; it is copied, so later changes to the map have no effect. Policy:
//   - health and reflection methods are public and pass through untouched;
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
	var authorization string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			authorization = v[0]
		}
	}
	p, err := a.check(ctx, c, authorization)
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
