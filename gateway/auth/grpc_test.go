package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
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
		return nil, errors.New("no principal in context")
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

// errorRecorder stands where a server maps errors to codes (the gateway's
// mapErrors interceptor): outermost, it keeps the error each failed call
// returned under the call's callIDKey metadata, so that tests check its
// sentinel with errors.Is. Nothing maps it here, so the client receives
// its text only (as code Unknown).
type errorRecorder struct {
	next atomic.Int64
	errs sync.Map // call ID → error
}

const callIDKey = "test-call-id"

// serverOptions install the recorder outside a's interceptors over
// testPerms.
func (r *errorRecorder) serverOptions(a *Authenticator) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(r.unary, a.UnaryServerInterceptor(testPerms)),
		grpc.ChainStreamInterceptor(r.stream, a.StreamServerInterceptor(testPerms)),
	}
}

func (r *errorRecorder) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	r.record(ctx, err)
	return resp, err
}

func (r *errorRecorder) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	r.record(ss.Context(), err)
	return err
}

func (r *errorRecorder) record(ctx context.Context, err error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if id := md.Get(callIDKey); err != nil && len(id) == 1 {
		r.errs.Store(id[0], err)
	}
}

// call runs one client call under a fresh call ID and returns the error
// the server returned for it, nil when the call succeeded. It fails t
// unless the client received exactly that error's text.
func (r *errorRecorder) call(t *testing.T, ctx context.Context, do func(context.Context) error) error {
	t.Helper()
	id := strconv.FormatInt(r.next.Add(1), 10)
	wire := do(metadata.AppendToOutgoingContext(ctx, callIDKey, id))
	v, recorded := r.errs.LoadAndDelete(id)
	switch {
	case wire == nil && !recorded:
		return nil
	case !recorded:
		t.Fatalf("the call failed in the client only: %v", wire)
	}
	err := v.(error)
	if wire == nil {
		t.Fatalf("the server returned %v, the client saw success", err)
	}
	if got := status.Convert(wire).Message(); got != err.Error() {
		t.Errorf("client received %q, the server returned %q", got, err)
	}
	return err
}

// startGRPC serves the test service and the real health service through
// a's interceptors on a bufconn listener and returns a client connection
// and the recorder of the errors the server returned.
func startGRPC(t *testing.T, a *Authenticator) (*grpc.ClientConn, *errorRecorder) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	rec := &errorRecorder{}
	srv := grpc.NewServer(rec.serverOptions(a)...)
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
	return conn, rec
}

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
	wantName string // principal the handler saw, when allowed
	wantErr  error  // sentinel of the refusal; nil: allowed
	wantMsg  string // the refusal's whole message, which reaches the client
}

// wantNoCredentials is the message of ErrNoCredentials.
const wantNoCredentials = `authentication required: send "Authorization: Bearer <token>" or HTTP basic auth ("Authorization: Basic <base64(user:password)>")`

func TestInterceptors(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	conn, rec := startGRPC(t, a)
	tests := []grpcCase{
		{name: "bearer allowed", method: methodRead, auth: "Bearer " + aliceToken, wantName: "alice"},
		{name: "basic bcrypt allowed", method: methodRead, auth: basicHeader("alice", alicePassword), wantName: "alice"},
		{name: "basic sha256 allowed", method: methodDelete, auth: basicHeader("bob", bobPassword), wantName: "bob"},
		{name: "no credentials", method: methodRead, wantErr: ErrNoCredentials, wantMsg: wantNoCredentials},
		{name: "wrong token", method: methodRead, auth: "Bearer nope", wantErr: ErrBadCredentials, wantMsg: "invalid credentials"},
		{name: "wrong password", method: methodRead, auth: basicHeader("alice", "nope"), wantErr: ErrBadCredentials, wantMsg: "invalid credentials"},
		{name: "malformed", method: methodRead, auth: "Basic %%%", wantErr: ErrBadCredentials,
			wantMsg: `invalid credentials: malformed basic credentials; expected "Basic <base64(user:password)>"`},
		{name: "missing permission", method: methodDelete, auth: "Bearer " + aliceToken, wantErr: ErrPermissionDenied,
			wantMsg: `principal "alice" (roles [producer]) lacks permission "schemas.write"`},
		{name: "oncall cannot write", method: methodDelete, auth: "Bearer " + pagerToken, wantErr: ErrPermissionDenied,
			wantMsg: `principal "pager" (roles [oncall]) lacks permission "schemas.write"`},
		{name: "handler Require denies", method: methodHardDelete, auth: "Bearer " + leadToken, wantErr: ErrPermissionDenied,
			wantMsg: `principal "lead" (roles [governance-lead]) lacks permission "schemas.hard_delete"`},
		{name: "handler Require allows admin", method: methodHardDelete, auth: "Bearer " + rootToken, wantName: "root"},
		{name: "forgotten method fails closed", method: methodForgotten, auth: "Bearer " + rootToken, wantErr: ErrPermissionDenied,
			wantMsg: "no permission is defined for method " + methodForgotten},
	}
	runGRPCCases(t, conn, rec, tests)

	t.Run("stream allowed", func(t *testing.T) {
		t.Parallel()
		name, err := rec.watch(t, withAuth(t.Context(), "Bearer "+pagerToken), conn)
		if err != nil || name != "pager" {
			t.Errorf("Watch = %q, %v; want pager", name, err)
		}
	})
	t.Run("stream unauthenticated", func(t *testing.T) {
		t.Parallel()
		if _, err := rec.watch(t, t.Context(), conn); !errors.Is(err, ErrNoCredentials) {
			t.Errorf("Watch without credentials: %v, want ErrNoCredentials", err)
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
		// Only the unary check is public: Watch holds a stream open, so it needs credentials.
		w, err := hc.Watch(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Recv(); err == nil {
			t.Error("Watch (stream) without credentials answered; want it refused")
		}
	})
}

func TestInterceptorsOpen(t *testing.T) {
	t.Parallel()
	a, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, rec := startGRPC(t, a)
	runGRPCCases(t, conn, rec, []grpcCase{
		{name: "anonymous", method: methodRead, wantName: "anonymous"},
		{name: "anonymous hard delete", method: methodHardDelete, wantName: "anonymous"},
		{name: "credentials ignored", method: methodDelete, auth: "Bearer x", wantName: "anonymous"},
		{name: "forgotten method still fails closed", method: methodForgotten, wantErr: ErrPermissionDenied,
			wantMsg: "no permission is defined for method " + methodForgotten},
	})
	name, err := rec.watch(t, t.Context(), conn)
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

func runGRPCCases(t *testing.T, conn *grpc.ClientConn, rec *errorRecorder, tests []grpcCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := new(wrapperspb.StringValue)
			err := rec.call(t, withAuth(t.Context(), tt.auth), func(ctx context.Context) error {
				return conn.Invoke(ctx, tt.method, new(emptypb.Empty), out)
			})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if diff := cmp.Diff(tt.wantName, out.GetValue()); diff != "" {
					t.Errorf("principal seen by handler (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

// watch is callWatch under rec: it returns the error the server returned.
func (r *errorRecorder) watch(t *testing.T, ctx context.Context, conn *grpc.ClientConn) (string, error) {
	t.Helper()
	var name string
	err := r.call(t, ctx, func(ctx context.Context) (err error) {
		name, err = callWatch(ctx, conn)
		return err
	})
	return name, err
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
