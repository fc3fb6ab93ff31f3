package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// readyTimeout bounds the store ping behind /readyz.
const readyTimeout = 2 * time.Second

// newHTTPHandler serves, on one port: the Confluent Schema Registry REST API at the root (and
// its /v1/metadata/id), the grpc-gateway mapping of the gRPC API under /v1/, the OpenAPI
// document at /v1/openapi.json, /metrics, /healthz (the process is up) and /readyz (the store
// answers). /healthz, /readyz, /metrics and the OpenAPI document need no credentials; /v1/ is
// authenticated by the gRPC interceptors and the Confluent API by its own middleware.
func newHTTPHandler(ctx context.Context, conn *grpc.ClientConn, confluentAPI http.Handler, metrics *prometheus.Registry, ping func(context.Context) error) (http.Handler, error) {
	api := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
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
	mux.Handle("/v1/", http.MaxBytesHandler(api, maxMessageBytes))
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(pb.OpenAPIDocument())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{Registry: metrics}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := ping(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// redactURL hides a password in a storage URL before it is logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable storage URL)"
	}
	return u.Redacted()
}
