package gateway

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/compatlimit"
)

// Defaults of the compatibility work limit (schema_registry.compatibility_units_per_second and
// compatibility_unit_burst): one principal's checks get half a budget per second, and a burst
// of two whole budgets.
const (
	defaultCompatibilityUnitsPerSecond = 1_000_000
	defaultCompatibilityUnitBurst      = 4_000_000
)

// compatRetryUnary sets the trailer auth.RetryAfterMetadataKey when a handler's compatibility
// check was refused by the per-principal rate (registry.ErrTooManyChecks wrapping
// compatlimit.ErrLimited, through registry.Options.BeforeCheck): the /v1 HTTP API turns it into
// 429 with Retry-After, gRPC clients read it as a trailer.
func compatRetryUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if retry, ok := compatlimit.RetryAfter(err); ok {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(auth.RetryAfterMetadataKey, retry))
	}
	return resp, err
}
