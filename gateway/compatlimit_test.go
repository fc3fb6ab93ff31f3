package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// TestCompatibilityCheckRateLimit: past the burst, a principal's compatibility checks are
// refused on every surface (Confluent 429/42901, /v1 429, gRPC ResourceExhausted), each with a
// Retry-After; registrations that check compatibility take from the same bucket, first
// versions (nothing to check) do not; another principal is not affected. The rate is so low
// that no token comes back during the test.
func TestCompatibilityCheckRateLimit(t *testing.T) {
	sg := startGatewayWith(t, func(c *Config) {
		// A budget of 1,000 units, as much at once, refilled in 1,000 s: a check of these
		// small schemas spends a few units, so some get through before the principal is in
		// debt; a check that exhausts the budget puts it in debt at once.
		c.SchemaRegistry.CompatibilityBudget = 1000
		c.SchemaRegistry.CompatibilityUnitsPerSecond = 1
		c.SchemaRegistry.CompatibilityUnitBurst = 1000
		c.Auth.Principals = []auth.PrincipalConfig{
			{Name: "author", Roles: []string{"author"}, TokenSHA256: secTokenHash("author-token")},
			{Name: "other", Roles: []string{"producer"}, TokenSHA256: secTokenHash("other-token")},
		}
	})
	base := "http://" + sg.g.HTTPAddr()
	send := func(authz, method, path, body string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", authz)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	const author, other = "Bearer author-token", "Bearer other-token"
	schema := `{"schema":"\"string\""}`
	checkRetry := func(what string, h http.Header) {
		t.Helper()
		if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("%s: Retry-After %q, want whole seconds", what, h.Get("Retry-After"))
		}
	}

	// First versions check nothing and take no token.
	for _, subject := range []string{"s", "t", "u", "v"} {
		if code, body, _ := send(author, "POST", "/subjects/"+subject+"/versions", schema); code != http.StatusOK {
			t.Fatalf("register %s: %d %s", subject, code, body)
		}
	}
	// Cheap work goes through: a registration of a second version and a few checks.
	if code, body, _ := send(author, "POST", "/subjects/s/versions", `{"schema":"[\"string\",\"null\"]"}`); code != http.StatusOK {
		t.Fatalf("register a second version: %d %s", code, body)
	}
	for i := range 3 {
		if code, body, _ := send(author, "POST", "/compatibility/subjects/s/versions/latest", schema); code != http.StatusOK {
			t.Fatalf("check %d: %d %s", i, code, body)
		}
	}
	// A bulk registration of new versions, each checked against the last, is not limited.
	for i := range 30 {
		body := fmt.Sprintf(`{"schema":"{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"f%d\",\"type\":\"int\",\"default\":0}]}"}`, i)
		if code, resp, _ := send(author, "POST", "/subjects/bulk/versions", body); code != http.StatusOK {
			t.Fatalf("bulk registration %d: %d %s", i, code, resp)
		}
	}
	// A check that spends the whole budget (a union of 600 records against itself) puts the
	// principal in debt; it is answered, and the next check of any size is refused.
	union := bigUnion(600)
	if code, body, _ := send(author, "POST", "/subjects/big/versions", union); code != http.StatusOK {
		t.Fatalf("register the big union: %d %s", code, body)
	}
	if code, body, _ := send(author, "POST", "/compatibility/subjects/big/versions/latest?verbose=true", union); code != http.StatusOK || !strings.Contains(body, "COMPATIBILITY_BUDGET_EXCEEDED") {
		t.Fatalf("check of the big union: %d %s; want an answer saying the budget was exceeded", code, body)
	}
	code, body, h := send(author, "POST", "/compatibility/subjects/s/versions/latest", schema)
	if code != http.StatusTooManyRequests || !strings.Contains(body, `"error_code":42901`) || !strings.Contains(body, "schema_registry.compatibility_units_per_second") {
		t.Errorf("Confluent check past the burst: %d %s, want 429 with 42901 naming the key", code, body)
	}
	checkRetry("Confluent check", h)
	if code, body, h := send(author, "POST", "/subjects/t/versions", `{"schema":"[\"string\",\"int\"]"}`); code != http.StatusTooManyRequests {
		t.Errorf("Confluent registration past the burst: %d %s, want 429", code, body)
	} else {
		checkRetry("Confluent registration", h)
	}
	code, body, h = send(author, "POST", "/v1/compatibility/subjects/s/versions/latest", `{"schema":"\"string\""}`)
	if code != http.StatusTooManyRequests {
		t.Errorf("/v1 check past the burst: %d %s, want 429", code, body)
	} else {
		checkRetry("/v1 check", h)
	}

	conn, err := grpc.NewClient(sg.g.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", author)
	var trailer metadata.MD
	_, err = pb.NewRegistryServiceClient(conn).CheckCompatibility(ctx, &pb.CheckCompatibilityRequest{
		Subject: "s", Schema: `"string"`, SchemaType: pb.SchemaType_SCHEMA_TYPE_AVRO}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.ResourceExhausted || len(trailer.Get(auth.RetryAfterMetadataKey)) != 1 {
		t.Errorf("gRPC check past the burst: %v (trailer %v), want ResourceExhausted with a retry-after", err, trailer)
	}

	if code, body, _ := send(other, "POST", "/compatibility/subjects/s/versions/latest", schema); code != http.StatusOK {
		t.Errorf("another principal's check: %d %s, want 200", code, body)
	}
}

// bigUnion is the Confluent registration body of an Avro union of n one-field records.
func bigUnion(n int) string {
	branches := make([]string, n)
	for i := range branches {
		branches[i] = fmt.Sprintf(`{"type":"record","name":"R%d","fields":[{"name":"f","type":"int"}]}`, i)
	}
	body, _ := json.Marshal(map[string]string{"schema": "[" + strings.Join(branches, ",") + "]"})
	return string(body)
}
