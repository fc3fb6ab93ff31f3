package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A tiny service registered by hand: each method answers with the name of
// the principal the interceptor put in its context.
const testService = "schemagate.test.v1.Test"

const (
	methodRead       = "/" + testService + "/Read"
	methodDelete     = "/" + testService + "/Delete"
	methodHardDelete = "/" + testService + "/HardDelete"
	methodForgotten  = "/" + testService + "/Forgotten"
	methodWatch      = "/" + testService + "/Watch"
)

var testPerms = map[string]Permission{
	methodRead:       PermSchemasRead,
	methodDelete:     PermSchemasWrite,
	methodHardDelete: PermSchemasWrite, // the handler also Requires PermSchemasHardDelete
	methodWatch:      PermSchemasRead,
}

func principalName(ctx context.Context) (any, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no principal in context")
	}
	return wrapperspb.String(p.Name), nil
}

func unaryMethod(name string, h func(context.Context) (any, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			run := func(ctx context.Context, _ any) (any, error) { return h(ctx) }
			if ic == nil {
				return run(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + testService + "/" + name}, run)
		},
	}
}

var testServiceDesc = grpc.ServiceDesc{
	ServiceName: testService,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		unaryMethod("Read", principalName),
		unaryMethod("Delete", principalName),
		unaryMethod("HardDelete", func(ctx context.Context) (any, error) {
			if err := Require(ctx, PermSchemasHardDelete); err != nil {
				return nil, err
			}
			return principalName(ctx)
		}),
		unaryMethod("Forgotten", principalName),
	},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Watch",
		ServerStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			msg, err := principalName(ss.Context())
			if err != nil {
				return err
			}
			return ss.SendMsg(msg)
		},
	}},
}

// startGRPC serves the test service and the real health service through
// a's interceptors on a bufconn listener and returns a client connection.
func startGRPC(t *testing.T, a *Authenticator) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(a.UnaryServerInterceptor(testPerms)),
		grpc.StreamInterceptor(a.StreamServerInterceptor(testPerms)),
	)
	srv.RegisterService(&testServiceDesc, struct{}{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func statusCode(err error) string { return status.Code(err).String() }

// grpcIncoming returns a server-side context carrying authorization
// metadata, as the gRPC server would build it.
func grpcIncoming(authorization string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", authorization))
}

func withAuth(ctx context.Context, authorization string) context.Context {
	if authorization == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
}

type grpcCase struct {
	name     string
	method   string
	auth     string
	wantCode codes.Code
	wantName string   // principal the handler saw, when OK
	wantText []string // substrings of the status message otherwise
}

func TestInterceptors(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	conn := startGRPC(t, a)
	tests := []grpcCase{
		{name: "bearer allowed", method: methodRead, auth: "Bearer " + aliceToken, wantCode: codes.OK, wantName: "alice"},
		{name: "basic bcrypt allowed", method: methodRead, auth: basicHeader("alice", alicePassword), wantCode: codes.OK, wantName: "alice"},
		{name: "basic sha256 allowed", method: methodDelete, auth: basicHeader("bob", bobPassword), wantCode: codes.OK, wantName: "bob"},
		{name: "no credentials", method: methodRead, wantCode: codes.Unauthenticated, wantText: []string{"Bearer", "basic auth"}},
		{name: "wrong token", method: methodRead, auth: "Bearer nope", wantCode: codes.Unauthenticated, wantText: []string{"invalid credentials"}},
		{name: "wrong password", method: methodRead, auth: basicHeader("alice", "nope"), wantCode: codes.Unauthenticated, wantText: []string{"invalid credentials"}},
		{name: "malformed", method: methodRead, auth: "Basic %%%", wantCode: codes.Unauthenticated, wantText: []string{"invalid credentials", "Basic"}},
		{name: "missing permission", method: methodDelete, auth: "Bearer " + aliceToken, wantCode: codes.PermissionDenied,
			wantText: []string{`"alice"`, "producer", `"schemas.write"`}},
		{name: "oncall cannot write", method: methodDelete, auth: "Bearer " + pagerToken, wantCode: codes.PermissionDenied, wantText: []string{"oncall"}},
		{name: "handler Require denies", method: methodHardDelete, auth: "Bearer " + leadToken, wantCode: codes.PermissionDenied,
			wantText: []string{`"lead"`, "governance-lead", `"schemas.hard_delete"`}},
		{name: "handler Require allows admin", method: methodHardDelete, auth: "Bearer " + rootToken, wantCode: codes.OK, wantName: "root"},
		{name: "forgotten method fails closed", method: methodForgotten, auth: "Bearer " + rootToken, wantCode: codes.PermissionDenied,
			wantText: []string{"no permission is defined for method " + methodForgotten}},
	}
	runGRPCCases(t, conn, tests)

	t.Run("stream allowed", func(t *testing.T) {
		t.Parallel()
		name, err := callWatch(withAuth(t.Context(), "Bearer "+pagerToken), conn)
		if err != nil || name != "pager" {
			t.Errorf("Watch = %q, %v; want pager", name, err)
		}
	})
	t.Run("stream unauthenticated", func(t *testing.T) {
		t.Parallel()
		if _, err := callWatch(t.Context(), conn); status.Code(err) != codes.Unauthenticated {
			t.Errorf("Watch without credentials: %v, want Unauthenticated", err)
		}
	})
	t.Run("health is public", func(t *testing.T) {
		t.Parallel()
		hc := healthpb.NewHealthClient(conn)
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("Check without credentials: %v", err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("status = %v", resp.GetStatus())
		}
		// Even garbage credentials are ignored on public methods.
		if _, err := hc.Check(withAuth(t.Context(), "Bearer nope"), &healthpb.HealthCheckRequest{}); err != nil {
			t.Errorf("Check with bad credentials: %v", err)
		}
		w, err := hc.Watch(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Recv(); err != nil {
			t.Errorf("Watch (stream) without credentials: %v", err)
		}
	})
}

func TestInterceptorsOpen(t *testing.T) {
	t.Parallel()
	a, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn := startGRPC(t, a)
	runGRPCCases(t, conn, []grpcCase{
		{name: "anonymous", method: methodRead, wantCode: codes.OK, wantName: "anonymous"},
		{name: "anonymous hard delete", method: methodHardDelete, wantCode: codes.OK, wantName: "anonymous"},
		{name: "credentials ignored", method: methodDelete, auth: "Bearer x", wantCode: codes.OK, wantName: "anonymous"},
		{name: "forgotten method still fails closed", method: methodForgotten, wantCode: codes.PermissionDenied, wantText: []string{"no permission is defined"}},
	})
	name, err := callWatch(t.Context(), conn)
	if err != nil || name != "anonymous" {
		t.Errorf("Watch = %q, %v; want anonymous", name, err)
	}
}

func TestInterceptorPanicsOnUndefinedPermission(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "schemas.delete") {
			t.Errorf("recover() = %v, want a panic naming the permission", r)
		}
	}()
	a.UnaryServerInterceptor(map[string]Permission{methodRead: "schemas.delete"})
}

func runGRPCCases(t *testing.T, conn *grpc.ClientConn, tests []grpcCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := new(wrapperspb.StringValue)
			err := conn.Invoke(withAuth(t.Context(), tt.auth), tt.method, new(emptypb.Empty), out)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code = %v, want %v (err %v)", got, tt.wantCode, err)
			}
			if err == nil {
				if diff := cmp.Diff(tt.wantName, out.GetValue()); diff != "" {
					t.Errorf("principal seen by handler (-want +got):\n%s", diff)
				}
				return
			}
			msg := status.Convert(err).Message()
			for _, w := range tt.wantText {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// callWatch opens the server-streaming Watch method and returns the
// principal name it reports.
func callWatch(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	stream, err := conn.NewStream(ctx, &testServiceDesc.Streams[0], methodWatch)
	if err != nil {
		return "", err
	}
	// io.EOF from SendMsg means the server already ended the stream (a refusal can come before
	// the message is sent); its status is what RecvMsg returns.
	if err := stream.SendMsg(new(emptypb.Empty)); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	out := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(out); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}
