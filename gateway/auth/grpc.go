package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// publicMethodPrefixes are gRPC services that need no credentials: health
// checks (load balancers, Kubernetes probes) and server reflection.
var publicMethodPrefixes = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// isPublic reports whether fullMethod needs no credentials.
func isPublic(fullMethod string) bool {
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
//   - a method missing from perms is denied with PermissionDenied ("no
//     permission is defined for method X"), so a forgotten entry fails
//     closed, even when the Authenticator is Open;
//   - a client over the failure limit (Options.MaxFailures) gets
//     ResourceExhausted "too many failed authentication attempts from this
//     client; retry in Ns" and the trailer RetryAfterMetadataKey, before
//     its credentials are looked at;
//   - the "authorization" metadata value (where grpc-gateway forwards the
//     HTTP Authorization header) and a verified TLS client certificate are
//     checked with AuthenticateCredentials: none gives Unauthenticated
//     naming the accepted schemes, wrong ones give Unauthenticated
//     "invalid credentials";
//   - a principal without the permission gets PermissionDenied naming the
//     principal, its roles and the permission;
//   - otherwise the handler runs with the Principal in its context (the
//     anonymous principal when Open).
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
// the handler, or a status error. setTrailer sends trailer metadata with the
// error.
func (a *Authenticator) authorizeGRPC(ctx context.Context, method string, perms map[string]Permission, setTrailer func(metadata.MD)) (context.Context, error) {
	if isPublic(method) {
		return ctx, nil
	}
	perm, ok := perms[method]
	if !ok {
		a.log.WarnContext(ctx, "denied call to method without a permission", "method", method, "peer", grpcPeer(ctx))
		return nil, status.Errorf(codes.PermissionDenied, "no permission is defined for method %s", method)
	}
	c, err := grpcClient(ctx)
	if err != nil {
		a.log.ErrorContext(ctx, "refused call", "method", method, "error", err)
		return nil, status.Error(codes.Internal, "internal error: the caller's address is unknown")
	}
	var authorization string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			authorization = v[0]
		}
	}
	p, err := a.check(ctx, c, authorization)
	var limited *rateLimitedError
	switch {
	case errors.As(err, &limited):
		a.log.InfoContext(ctx, "refused: too many failed authentications", "method", method, "peer", c.addr)
		setTrailer(metadata.Pairs(RetryAfterMetadataKey, limited.retryAfter()))
		return nil, status.Error(codes.ResourceExhausted, limited.Error())
	case err != nil:
		a.log.InfoContext(ctx, "authentication failed", "method", method, "peer", c.addr, "error", err)
		return nil, status.Error(codes.Unauthenticated, clientMessage(err))
	}
	if !p.Can(perm) {
		a.log.InfoContext(ctx, "permission denied", "method", method, "principal", p.Name, "peer", c.addr, "permission", perm)
		return nil, status.Error(codes.PermissionDenied, deniedMessage(p, perm))
	}
	return NewContext(ctx, p), nil
}

// clientMessage is the text sent to a client whose authentication failed.
// Authenticate's errors are written for clients and carry no secrets.
func clientMessage(err error) string {
	if errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrBadCredentials) {
		return err.Error()
	}
	return ErrBadCredentials.Error()
}

// grpcPeer returns the caller's address, or "" when unknown.
func grpcPeer(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}
