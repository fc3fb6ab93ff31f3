package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/confluent"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

const (
	// bodyEnvelopeBytes is the room a validate body has besides its payload: the subject,
	// version, schema ID and format members and the JSON punctuation around them.
	bodyEnvelopeBytes = 64 << 10
	// bodyEnvelopeDepth is the nesting a body adds around a payload, {"requests":[{"json":…}]}
	// at most, plus one for a payload sent as a JSON string.
	bodyEnvelopeDepth = 4
	// inflightRetryAfter is how long a client refused for the in-flight body budget is told to
	// wait, in seconds.
	inflightRetryAfter = 1
)

// errBodyBudget is a request refused because the bytes of the requests being read and decoded
// at once would exceed server.max_inflight_body_bytes.
var errBodyBudget = errors.New("the server is reading too many request bytes at once; retry later")

// bodyLimits are the per-route body limits of /v1 and the bound on JSON values and nesting of
// a body before grpc-gateway decodes it.
type bodyLimits struct {
	// byMethod is the limit of each gRPC method's /v1 routes; other is the limit of the rest.
	byMethod map[string]int64
	other    int64
	// maxValues bounds the JSON values (objects, arrays, members and elements, scalars) of a
	// body as protojson would decode it; maxDepth its nesting.
	maxValues, maxDepth int
}

// newBodyLimits derives the /v1 body limits from cfg:
//
//   - Validate: 2 × schema_registry.max_payload_bytes + 64 KiB. A binary payload is sent as
//     base64, 4/3 of its size; a JSON payload is at most max_payload_bytes as compact JSON
//     (the engine's check), and the factor 2 leaves as much again for indentation or for
//     escaping when it is sent as a jsonText string. 64 KiB holds the other members.
//   - ValidateBatch: schema_registry.max_batch_size validate bodies.
//   - RegisterSchema and CheckCompatibility: confluent.MaxBodyBytes, a schema of
//     registry.DefaultMaxSchemaBytes JSON-escaped (2×) plus room for references, as the
//     Confluent API.
//   - Every other route: server.max_body_bytes.
//
// Every limit is capped at maxMessageBytes, the most the in-process gRPC hop carries anyway.
func newBodyLimits(cfg Config) bodyLimits {
	validate := min(2*int64(cfg.SchemaRegistry.MaxPayloadBytes)+bodyEnvelopeBytes, maxMessageBytes)
	batch := min(int64(cfg.SchemaRegistry.MaxBatchSize)*validate, maxMessageBytes)
	schema := min(int64(confluent.MaxBodyBytes), maxMessageBytes)
	return bodyLimits{
		byMethod: map[string]int64{
			pb.ValidationService_Validate_FullMethodName:         validate,
			pb.ValidationService_ValidateBatch_FullMethodName:    batch,
			pb.RegistryService_RegisterSchema_FullMethodName:     schema,
			pb.RegistryService_CheckCompatibility_FullMethodName: schema,
		},
		other:     min(cfg.Server.MaxBodyBytes, maxMessageBytes),
		maxValues: cfg.Server.MaxBodyValues,
		maxDepth:  cfg.SchemaRegistry.MaxJSONDepth + bodyEnvelopeDepth,
	}
}

// byteBudget bounds the request bytes being read and decoded at once: a request takes its
// share with tryAcquire before its body is read and gives it back when it is answered. It
// never queues: a request that does not fit is refused.
type byteBudget struct {
	mu          sync.Mutex
	limit, used int64
	peak        int64 // the most ever used at once, for tests and operators
}

// newByteBudget returns a budget of limit bytes.
func newByteBudget(limit int64) *byteBudget { return &byteBudget{limit: limit} }

// tryAcquire takes n bytes of the budget and reports whether it could.
func (b *byteBudget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return true
}

// release gives back n bytes taken by tryAcquire.
func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

// usage returns the bytes in use and the most ever used at once.
func (b *byteBudget) usage() (used, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}

// boundedBodies reads every /v1 request body before grpc-gateway sees it, in one pass:
//
//  1. The route's limit (bodyLimits) applies: a Content-Length over it is refused (413) before
//     a byte is read, and a body sent without one is read to at most limit+1 bytes.
//  2. The request takes its bytes (its Content-Length, or the limit when it has none) from the
//     in-flight budget, until it is answered; when they do not fit it is refused at once (503
//     with Retry-After) rather than queued.
//  3. The body is scanned for its JSON values and nesting (countJSON), without decoding it:
//     deeper than max_json_depth plus the envelope is 400, more values than
//     server.max_body_values is 413. The validate routes are scanned before the exactJSON
//     rewrite on their envelope (the rewrite decodes it into maps) and after it whole (their
//     payloads, moved into jsonText strings, no longer count).
//
// Refusals are written as grpc-gateway writes errors, with the status of their gRPC code.
func boundedBodies(mux *runtime.ServeMux, limits bodyLimits, budget *byteBudget, h http.Handler) http.Handler {
	routes := v1Routes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, method := limits.other, ""
		for _, rt := range routes {
			if rt.method == r.Method && rt.matches(r.URL.EscapedPath()) {
				method = rt.fullMethod
				if l, ok := limits.byMethod[method]; ok {
					limit = l
				}
				break
			}
		}
		if r.ContentLength > limit {
			writeBodyError(mux, w, r, http.StatusRequestEntityTooLarge, tooLarge(limit))
			return
		}
		reserve := limit
		if r.ContentLength >= 0 {
			reserve = r.ContentLength
		}
		if !budget.tryAcquire(reserve) {
			w.Header().Set("Retry-After", strconv.Itoa(inflightRetryAfter))
			writeBodyError(mux, w, r, http.StatusServiceUnavailable, status.Error(codes.Unavailable, errBodyBudget.Error()))
			return
		}
		defer budget.release(reserve)

		body, err := readBody(http.MaxBytesReader(w, r.Body, limit), r.ContentLength)
		if err != nil {
			var over *http.MaxBytesError
			if errors.As(err, &over) {
				writeBodyError(mux, w, r, http.StatusRequestEntityTooLarge, tooLarge(limit))
			} else {
				writeBodyError(mux, w, r, http.StatusBadRequest, status.Error(codes.InvalidArgument, "could not read the request body"))
			}
			return
		}
		isBatch := method == pb.ValidationService_ValidateBatch_FullMethodName
		if isBatch || method == pb.ValidationService_Validate_FullMethodName {
			// The rewrite decodes the envelope into maps; the payloads stay raw text.
			envelope := 1 // the members of a validate body
			if isBatch {
				envelope = 3 // the members, the requests, their members
			}
			if values, _ := countJSON(body, envelope); values > limits.maxValues {
				writeBodyError(mux, w, r, http.StatusRequestEntityTooLarge, limits.tooManyValues())
				return
			}
			if out, ok := rewriteJSONPayloads(body, isBatch); ok {
				body = out
			}
		}
		switch values, depth := countJSON(body, limits.maxDepth); {
		case depth > limits.maxDepth:
			writeBodyError(mux, w, r, http.StatusBadRequest,
				status.Errorf(codes.InvalidArgument, "request body is nested deeper than the limit of %d", limits.maxDepth))
			return
		case values > limits.maxValues:
			writeBodyError(mux, w, r, http.StatusRequestEntityTooLarge, limits.tooManyValues())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
}

// readBody reads a request body: into one buffer of contentLength bytes when it is known (the
// server ends the body there), else growing as io.ReadAll does.
func readBody(body io.Reader, contentLength int64) ([]byte, error) {
	if contentLength < 0 {
		return io.ReadAll(body)
	}
	buf := make([]byte, contentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// tooManyValues is the refusal of a body with more than l.maxValues JSON values.
func (l bodyLimits) tooManyValues() error {
	return status.Errorf(codes.ResourceExhausted, "request body has more than the limit of %d JSON values", l.maxValues)
}

// tooLarge is the refusal of a body over limit bytes.
func tooLarge(limit int64) error {
	return status.Errorf(codes.ResourceExhausted, "request body is larger than the limit of %d bytes", limit)
}

// writeBodyError writes err as grpc-gateway writes an error, with HTTP status code.
func writeBodyError(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, code int, err error) {
	_, outbound := runtime.MarshalerForRequest(mux, r)
	runtime.DefaultHTTPErrorHandler(r.Context(), mux, outbound, &statusOverride{ResponseWriter: w, status: code}, r, err)
}

// countJSON scans body as JSON text without decoding it, and returns the number of values that
// start at nesting depth countDepth or less (the top-level value is at depth 0, the members of
// an object or elements of an array one deeper than it; an object's keys count as values too)
// and the deepest nesting of an object or array. It checks no syntax (the decoder after it
// does) and allocates nothing: a value starts at the first byte other than white space at the
// top, after '{', '[', ',' or ':', outside strings. It is the count a decoder allocates for.
func countJSON(body []byte, countDepth int) (values, depth int) {
	level, inString, escaped, expectValue := 0, false, false, true
	for _, c := range body {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '}', ']':
			level--
			expectValue = false
			continue
		case ',', ':':
			expectValue = true
			continue
		}
		if expectValue && level <= countDepth {
			values++
		}
		expectValue = false
		switch c {
		case '{', '[':
			level++
			depth = max(depth, level)
			expectValue = true
		case '"':
			inString = true
		}
	}
	return values, depth
}

// inflightUnary bounds the gRPC request messages held at once with the same budget as /v1
// bodies: a unary call takes proto.Size of its request after gRPC has decoded it (within
// grpc.MaxRecvMsgSize) and gives it back when the handler returns; when it does not fit the
// call is refused Unavailable with a RetryInfo of inflightRetryAfter seconds. Calls of the
// in-process connection are /v1 requests whose body already holds its share, and are not
// counted twice. The decoding itself happens before an interceptor runs, so the bytes gRPC
// decodes at once are bounded by max_recv_msg_size × grpc_max_concurrent_streams ×
// connections, which grpc_max_conns_per_ip bounds per client.
func inflightUnary(budget *byteBudget) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m, ok := req.(proto.Message)
		if !ok || auth.InProcess(ctx) {
			return handler(ctx, req)
		}
		n := int64(proto.Size(m))
		if !budget.tryAcquire(n) {
			st := status.New(codes.Unavailable, errBodyBudget.Error())
			if withRetry, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(inflightRetryAfter * time.Second)}); err == nil {
				st = withRetry
			}
			return nil, st.Err()
		}
		defer budget.release(n)
		return handler(ctx, req)
	}
}
