package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// readyTimeout bounds the store ping behind /readyz.
const readyTimeout = 2 * time.Second

// newHTTPHandler serves, on one port: the Confluent Schema Registry REST API at the root (and
// its /v1/metadata/id and /v1/metadata/version), the grpc-gateway mapping of the gRPC API
// under /v1/, the OpenAPI document at /v1/openapi.json, /metrics, /healthz (the process is up) and /readyz (the store
// answers; see readiness), the governance console under /ui/ (its own sessions). /healthz, /readyz and the OpenAPI document need no credentials, nor does /metrics
// unless metricsAPI checks them itself (metrics.require_auth). /v1/ is authenticated by authn
// before its body is read (an unauthenticated client cannot make the gateway read or decode a
// large body), then authorized by the gRPC interceptors, which check the forwarded credentials
// again at the price of a cache hit; the Confluent API authenticates in its own middleware.
//
// /v1 bodies are read by boundedBodies, within their route's limit and the in-flight budget.
func newHTTPHandler(ctx context.Context, conn *grpc.ClientConn, authn *auth.Authenticator, limits bodyLimits, budget *byteBudget, confluentAPI, metricsAPI, consoleUI http.Handler, ready readiness) (http.Handler, error) {
	routes := v1Routes()
	api := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
			// A JSON payload becomes nested protobuf messages (Value, then Struct or ListValue);
			// past the gRPC decoder's own limit of 10,000 the in-process call would fail as
			// Internal, so /v1 refuses such bodies while decoding them, as 400. Payloads are
			// refused far earlier anyway, by schema_registry.max_json_depth.
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false, RecursionLimit: maxBodyRecursion},
		}),
		runtime.WithErrorHandler(httpError),
		runtime.WithRoutingErrorHandler(routingError(routes)),
		// gRPC metadata is not part of the /v1 API: grpc-gateway would forward every header
		// (content-type: application/grpc of the in-process call, as Grpc-Metadata-Content-Type)
		// and, to clients that send "TE: trailers", every trailer (Grpc-Trailer-*). The
		// services set no metadata meant for HTTP clients; the one trailer that matters,
		// auth.RetryAfterMetadataKey, becomes Retry-After in httpError.
		runtime.WithOutgoingHeaderMatcher(dropMetadata),
		runtime.WithOutgoingTrailerMatcher(dropMetadata),
		// A subject may contain "/", sent as %2F (as Confluent clients do). grpc-gateway's
		// default (legacy) mode unescapes the whole path before routing, so such a subject
		// splits into two segments and no route matches. In AllExceptReserved mode the mux
		// routes on the escaped path, splitting on "/" only, and unescapes each single-segment
		// variable completely: /v1/subjects/a%2Fb/versions is subject "a/b". (AllCharacters
		// would split on %2F too; a {subject=**} template would swallow the segments after it.)
		runtime.WithUnescapingMode(runtime.UnescapingModeAllExceptReserved),
		// Who the HTTP client is (address, verified client certificate) reaches the gRPC
		// interceptors as reserved metadata that only the gateway sets: never forward a client's
		// header under those keys.
		runtime.WithMetadata(auth.GatewayMetadata),
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			k, ok := runtime.DefaultHeaderMatcher(key)
			return k, ok && !auth.ReservedMetadataKey(k)
		}),
	)
	for name, register := range map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		"registry":   pb.RegisterRegistryServiceHandler,
		"validation": pb.RegisterValidationServiceHandler,
		"governance": pb.RegisterGovernanceServiceHandler,
	} {
		if err := register(ctx, api, conn); err != nil {
			return nil, fmt.Errorf("register %s HTTP handlers: %w", name, err)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("/", confluentAPI)
	mux.Handle("/v1/metadata/id", confluentAPI)
	mux.Handle("/v1/metadata/version", confluentAPI)
	mux.Handle("/v1/", guardV1(api, authn.HTTPAuthenticated(boundedBodies(api, limits, budget, api), v1AuthError(api))))
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(pb.OpenAPIDocument())
	})
	mux.Handle("/ui/", consoleUI)
	mux.Handle("GET /metrics", metricsAPI)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := ready.ping(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store unreachable"})
			return
		}
		if ready.degraded != nil {
			if _, since, ok := ready.degraded(); ok {
				// Still 200: validation goes on from the cache, so the replica stays in service.
				// The cause (with the upstream's address) is in the log, not on this open path.
				writeJSON(w, http.StatusOK, map[string]string{"status": "degraded", "reason": "upstream registry unreachable",
					"since": since.UTC().Format(time.RFC3339)})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux, nil
}

// readiness is what /readyz reports: the store answers a ping (else 503), and, in upstream
// mode, whether the upstream registry is reachable (200 "degraded" when it is not: validation
// goes on from the cache, writes fail until it returns).
type readiness struct {
	ping     func(context.Context) error
	degraded degradedFunc // nil in embedded mode
}

// httpError writes gRPC errors for the /v1 HTTP API. Two cases differ from grpc-gateway's
// standard mapping: a strict rejection (InvalidArgument carrying a ValidateResponse) is 422
// with the ValidateResponse as the body, so HTTP callers read the findings like a result; and
// ResourceExhausted is 413, a payload or batch over a limit, except when the auth interceptor
// refused a client for too many failed authentications: that one carries the trailer
// auth.RetryAfterMetadataKey and stays grpc-gateway's 429, with a Retry-After header.
func httpError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	for _, d := range st.Details() {
		if resp, ok := d.(*pb.ValidateResponse); ok && st.Code() == codes.InvalidArgument {
			body, merr := m.Marshal(resp)
			if merr == nil {
				w.Header().Set("Content-Type", m.ContentType(resp))
				w.WriteHeader(http.StatusUnprocessableEntity)
				_, _ = w.Write(body)
				return
			}
		}
	}
	if st.Code() == codes.ResourceExhausted {
		md, _ := runtime.ServerMetadataFromContext(ctx)
		if retry := md.TrailerMD.Get(auth.RetryAfterMetadataKey); len(retry) == 1 {
			w.Header().Set("Retry-After", retry[0])
		} else {
			w = &statusOverride{ResponseWriter: w, status: http.StatusRequestEntityTooLarge}
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// v1AuthError writes a refusal of the /v1 authentication middleware as grpc-gateway writes the
// same refusal from the interceptors: the status of toStatus's code (401, or 429 past the
// failure limit, whose Retry-After the middleware set) and the JSON error body.
func v1AuthError(mux *runtime.ServeMux) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		_, outbound := runtime.MarshalerForRequest(mux, r)
		runtime.DefaultHTTPErrorHandler(r.Context(), mux, outbound, w, r, toStatus(err))
	}
}

// routingError answers a /v1 request that matches no route. A path served under other methods
// (OPTIONS included: the API has no CORS preflight) is 405 with an Allow header listing them,
// like the Confluent REST API, where grpc-gateway's default answers 501 "Method Not Allowed";
// anything else keeps grpc-gateway's answer (404, or 400 for a malformed path).
func routingError(routes []v1Route) runtime.RoutingErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
		if httpStatus != http.StatusMethodNotAllowed {
			runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
			return
		}
		if allow := allowedMethods(routes, r.URL.EscapedPath()); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		w = &statusOverride{ResponseWriter: w, status: http.StatusMethodNotAllowed}
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, status.Error(codes.Unimplemented, http.StatusText(http.StatusMethodNotAllowed)))
	}
}

// dropMetadata is the outgoing header and trailer matcher of /v1: no gRPC metadata becomes an
// HTTP header.
func dropMetadata(string) (string, bool) { return "", false }

// maxBodyRecursion bounds the nesting of a /v1 request body, in protobuf messages.
const maxBodyRecursion = 4000

// statusOverride replaces the status code a handler writes.
type statusOverride struct {
	http.ResponseWriter
	status int
}

func (s *statusOverride) WriteHeader(int) { s.ResponseWriter.WriteHeader(s.status) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeMetricsError writes a refusal of /metrics as plain text, with the HTTP status of its gRPC
// code (toStatus: 401 for missing or wrong credentials, 429 over the failure limit); the auth
// middleware has set WWW-Authenticate or Retry-After.
func writeMetricsError(w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(toStatus(err))
	http.Error(w, st.Message(), runtime.HTTPStatusFromCode(st.Code()))
}
