package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// serveV1 sends a /v1 request with body straight to the gateway's HTTP handler, as the admin.
func serveV1(tg *testGateway, method, path string, body io.Reader, contentLength int64) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	req.ContentLength = contentLength
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer admin-token")
	rec := httptest.NewRecorder()
	tg.g.httpSrv.Handler.ServeHTTP(rec, req)
	return rec
}

// TestV1BodyLimits sends each kind of /v1 route a body one MiB over its limit, without a
// Content-Length and with one: 413 naming the route's limit, having read at most limit+1 bytes
// of it (none when the Content-Length says it is too large).
func TestV1BodyLimits(t *testing.T) {
	tg := startGatewayWith(t, func(c *Config) {
		c.Auth.Principals = testPrincipals(t)
		c.SchemaRegistry.MaxPayloadBytes = 1024
		c.SchemaRegistry.MaxBatchSize = 3
	})
	const validate = 2*1024 + 64<<10
	tests := []struct {
		name, method, path string
		limit              int64
	}{
		{"validate", "POST", "/v1/subjects/s/validate", validate},
		{"batch", "POST", "/v1/subjects/s/validate:batch", 3 * validate},
		{"register", "POST", "/v1/subjects/s/versions", 2<<20 + 64<<10},
		{"compatibility", "POST", "/v1/compatibility/subjects/s/versions/1", 2<<20 + 64<<10},
		{"validation mode", "PUT", "/v1/subjects/s/validation-mode", 64 << 10},
		{"promotion", "POST", "/v1/subjects/s/promotions", 64 << 10},
	}
	for _, tt := range tests {
		for _, withLength := range []bool{false, true} {
			body := &countingBody{n: tt.limit + 1<<20}
			length := int64(-1)
			if withLength {
				length = body.n
			}
			rec := serveV1(tg, tt.method, tt.path, body, length)
			wantV1Error(t, tt.name, rec.Code, rec.Body.Bytes(), v1Error{Status: http.StatusRequestEntityTooLarge, Code: int(codes.ResourceExhausted),
				Message: "request body is larger than the limit of " + strconv.FormatInt(tt.limit, 10) + " bytes"})
			maxRead := tt.limit + 1
			if withLength {
				maxRead = 0
			}
			if body.read > maxRead {
				t.Errorf("%s (Content-Length %d): read %d bytes of the body; want at most %d", tt.name, length, body.read, maxRead)
			}
		}
	}
}

// TestV1BodyValueBound checks server.max_body_values (64 here): a body with more JSON values
// is 413 before it is decoded, the payloads of the validate routes (moved into json_text
// strings) excepted; a body nested deeper than max_json_depth and its envelope is 400.
func TestV1BodyValueBound(t *testing.T) {
	tg := startGatewayWith(t, func(c *Config) {
		c.Auth.Principals = testPrincipals(t)
		c.Server.MaxBodyValues = 64
		c.SchemaRegistry.MaxJSONDepth = 8
	})
	if rec := serveV1(tg, "POST", "/v1/subjects/list/versions", strings.NewReader(`{"schema":"{\"type\":\"array\",\"items\":\"int\"}"}`), -1); rec.Code != http.StatusOK {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	many := func(n int, v string) string { return strings.TrimSuffix(strings.Repeat(v+",", n), ",") }
	tests := []struct {
		name, method, path, body string
		want                     v1Error // Status 200: accepted
	}{
		{"register with 100 references", "POST", "/v1/subjects/s/versions", `{"schema":"\"int\"","references":[` + many(100, "{}") + `]}`,
			v1Error{Status: 413, Code: int(codes.ResourceExhausted), Message: "request body has more than the limit of 64 JSON values"}},
		{"validation mode with 100 unknown members", "PUT", "/v1/subjects/s/validation-mode", `{"x":[` + many(100, "0") + `]}`,
			v1Error{Status: 413, Code: int(codes.ResourceExhausted), Message: "more than the limit of 64 JSON values"}},
		{"validate: a payload of 500 values", "POST", "/v1/subjects/list/validate", `{"json":[` + many(500, "1") + `]}`,
			v1Error{Status: 200}},
		{"batch: payloads of 500 values", "POST", "/v1/subjects/list/validate:batch", `{"requests":[{"json":[` + many(500, "1") + `]},{"json":[1]}]}`,
			v1Error{Status: 200}},
		{"batch of 100 empty requests", "POST", "/v1/subjects/list/validate:batch", `{"requests":[` + many(100, "{}") + `]}`,
			v1Error{Status: 413, Code: int(codes.ResourceExhausted), Message: "more than the limit of 64 JSON values"}},
		{"validate: a payload left as a Value (json and jsonText)", "POST", "/v1/subjects/list/validate", `{"jsonText":"[1]","json":[` + many(500, "1") + `]}`,
			v1Error{Status: 413, Code: int(codes.ResourceExhausted), Message: "more than the limit of 64 JSON values"}},
		{"validate: a payload 12 deep left as a Value", "POST", "/v1/subjects/list/validate", `{"jsonText":"[1]","json":` + nestedJSON(12) + `}`,
			v1Error{Status: 400, Code: int(codes.InvalidArgument), Message: "request body is nested deeper than the limit of 12"}},
	}
	for _, tt := range tests {
		rec := serveV1(tg, tt.method, tt.path, strings.NewReader(tt.body), int64(len(tt.body)))
		if tt.want.Status == http.StatusOK {
			if rec.Code != http.StatusOK {
				t.Errorf("%s: %d %.300s; want 200", tt.name, rec.Code, rec.Body)
			}
			continue
		}
		wantV1Error(t, tt.name, rec.Code, rec.Body.Bytes(), tt.want)
	}
}

// TestV1BodyValuesRefusedBeforeDecoding sends the register route a 2 MiB body of 700,000
// empty references (grpc-gateway would decode each into a Reference message, then the
// in-process hop twice more) and checks it is refused 413 having allocated about the body
// only. It also measures the heap cost of the worst body allowed by the default
// max_body_values (100,000): logged, and bounded.
func TestV1BodyValuesRefusedBeforeDecoding(t *testing.T) {
	tg := startGateway(t, testPrincipals(t))
	references := func(n int) string {
		return `{"schema":"\"int\"","references":[` + strings.TrimSuffix(strings.Repeat("{},", n), ",") + `]}`
	}
	measure := func(body string) (uint64, *httptest.ResponseRecorder) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rec := serveV1(tg, "POST", "/v1/subjects/s/versions", strings.NewReader(body), int64(len(body)))
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, rec
	}
	refused := references(700_000)
	grew, rec := measure(refused)
	wantV1Error(t, "700,000 references", rec.Code, rec.Body.Bytes(), v1Error{Status: 413, Code: int(codes.ResourceExhausted), Message: "more than the limit of 100000 JSON values"})
	t.Logf("a refused body of %d bytes: %d bytes allocated", len(refused), grew)
	if grew > 16<<20 {
		t.Errorf("the refused body allocated %d bytes; want under 16 MiB (refused before decoding)", grew)
	}
	allowed := references(99_990)
	grew, rec = measure(allowed)
	t.Logf("the worst allowed body (%d bytes, 99,990 references): %d bytes allocated, answered %d", len(allowed), grew, rec.Code)
	if grew > 256<<20 {
		t.Errorf("the worst allowed body allocated %d bytes; want under 256 MiB", grew)
	}
}

// pipeBody is a /v1 request body the test writes when it chooses.
type pipeBody struct {
	r *io.PipeReader
	w *io.PipeWriter
}

// TestInflightBodyBudget holds server.max_inflight_body_bytes (8 MiB) with /v1 bodies sent
// without a Content-Length (each holds its route's limit, 2 MiB + 64 KiB for validate, until
// answered): of 8 such requests 3 fit, the other 5 are refused at once with 503 and
// Retry-After; the budget in use never exceeds the bound; a gRPC call that does not fit is
// Unavailable with a RetryInfo; once the bodies end every held request is answered. A /v1 batch
// that takes the whole budget is still served: its in-process gRPC call is not counted twice.
func TestInflightBodyBudget(t *testing.T) {
	const bound = 8 << 20
	tg := startGatewayWith(t, func(c *Config) {
		c.Auth.Principals = testPrincipals(t)
		c.Server.MaxInflightBodyBytes = bound
	})
	const requests, fit = 8, 3
	codes503 := make(chan *httptest.ResponseRecorder, requests)
	answered := make(chan *httptest.ResponseRecorder, requests)
	bodies := make([]pipeBody, requests)
	var wg sync.WaitGroup
	for i := range bodies {
		r, w := io.Pipe()
		bodies[i] = pipeBody{r, w}
		wg.Go(func() {
			rec := serveV1(tg, "POST", "/v1/subjects/nope/validate", r, -1)
			if rec.Code == http.StatusServiceUnavailable {
				codes503 <- rec
			} else {
				answered <- rec
			}
		})
	}
	// Poll, with a deadline, until every request is either refused or holding its share.
	deadline := time.Now().Add(10 * time.Second)
	for {
		used, _ := tg.g.bodyBudget.usage()
		if len(codes503) == requests-fit && used == fit*(2<<20+64<<10) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d refused, %d bytes in use; want %d refused and %d holding", len(codes503), used, requests-fit, fit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err := pb.NewValidationServiceClient(tg.conn).Validate(withToken("producer-token"), &pb.ValidateRequest{Subject: "nope", Data: make([]byte, 2<<20)})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC call of 2 MiB while the budget is held: %v; want Unavailable", err)
	} else if d := status.Convert(err).Details(); len(d) != 1 || d[0].(*errdetails.RetryInfo).GetRetryDelay().AsDuration() != time.Second {
		t.Errorf("gRPC refusal details = %v; want a RetryInfo of 1s", d)
	}
	var writers sync.WaitGroup
	for _, b := range bodies {
		writers.Go(func() {
			_, _ = io.WriteString(b.w, `{"data":"AAAA"}`)
			_ = b.w.Close()
		})
	}
	wg.Wait()
	for _, b := range bodies {
		_ = b.r.Close() // the writers of refused requests, whose bodies nobody reads
	}
	writers.Wait()
	close(codes503)
	close(answered)
	for rec := range codes503 {
		if got := rec.Header().Get("Retry-After"); got != "1" {
			t.Errorf("503 Retry-After = %q; want 1", got)
		}
		wantV1Error(t, "refused", rec.Code, rec.Body.Bytes(), v1Error{Status: 503, Code: int(codes.Unavailable), Message: "reading too many request bytes at once"})
	}
	var got []int
	for rec := range answered {
		got = append(got, rec.Code)
	}
	if diff := cmp.Diff([]int{http.StatusNotFound, http.StatusNotFound, http.StatusNotFound}, got); diff != "" {
		t.Errorf("held requests answered (-want +got):\n%s", diff)
	}
	used, peak := tg.g.bodyBudget.usage()
	if used != 0 || peak > bound {
		t.Errorf("budget used %d, peak %d; want 0 and a peak of at most %d", used, peak, bound)
	}

	// A batch without Content-Length holds the whole budget (its limit is 8 MiB).
	rec := serveV1(tg, "POST", "/v1/subjects/nope/validate:batch", strings.NewReader(`{"requests":[{"data":"AAAA"}]}`), -1)
	if rec.Code == http.StatusServiceUnavailable {
		t.Errorf("a batch holding the whole budget: %d %s; want its in-process call not counted again", rec.Code, rec.Body)
	}
}

// TestCountJSON checks the values and depth countJSON finds without decoding.
func TestCountJSON(t *testing.T) {
	type count struct{ Values, Depth int }
	tests := []struct {
		body       string
		countDepth int
		want       count
	}{
		{`1`, 10, count{1, 0}},
		{`[]`, 10, count{1, 1}},
		{`[1, 2, [3]]`, 10, count{5, 2}},
		{`{"a": 1, "b": {"c": "x,{["}}`, 10, count{7, 2}},
		{`{"s": "\"],["}`, 10, count{3, 1}},
		{`{"requests": [{"json": [1, 2, 3]}]}`, 3, count{6, 4}},
		{`{"json": [1, 2, 3]}`, 1, count{3, 2}},
		{` true `, 0, count{1, 0}},
	}
	for _, tt := range tests {
		values, depth := countJSON([]byte(tt.body), tt.countDepth)
		if diff := cmp.Diff(tt.want, count{values, depth}); diff != "" {
			t.Errorf("countJSON(%s, %d) (-want +got):\n%s", tt.body, tt.countDepth, diff)
		}
	}
}
