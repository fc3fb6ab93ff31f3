// Package clients runs Confluent's own Go Schema Registry client and serdes
// (github.com/confluentinc/confluent-kafka-go/v2/schemaregistry) against a schemagate server whose
// Confluent-compatible REST API is at SCHEMA_REGISTRY_URL. tests/clients/clients_test.go in the
// main module starts a server and runs this module; by hand:
//
//	SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 go test -count=1 ./...
//
// The serdes import the kafka package, which needs cgo (it links the librdkafka that the module
// ships), so CGO_ENABLED=0 does not build this module; the schemaregistry client alone would.
package clients

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/rest"
)

// runID makes subject names unique to one run, so the suite also runs against a registry that
// already holds data.
var runID = fmt.Sprintf("%x", time.Now().UnixNano())

// registryURL is the registry under test, without a trailing slash.
func registryURL(t *testing.T) string {
	t.Helper()
	u := strings.TrimRight(os.Getenv("SCHEMA_REGISTRY_URL"), "/")
	if u == "" {
		t.Fatal("SCHEMA_REGISTRY_URL must name the registry, e.g. http://127.0.0.1:8081")
	}
	return u
}

// subject returns a subject name unique to this test and run.
func subject(t *testing.T, name string) string {
	return fmt.Sprintf("go-%s-%s-%s", strings.ReplaceAll(t.Name(), "/", "."), name, runID)
}

// newClient returns a client with empty caches, so every read goes to the server.
func newClient(t *testing.T) schemaregistry.Client {
	t.Helper()
	conf := schemaregistry.NewConfig(registryURL(t))
	conf.MaxRetries = 1
	conf.RequestTimeoutMs = 10_000
	c, err := schemaregistry.NewClient(conf)
	if err != nil {
		t.Fatalf("schemaregistry.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wantCode fails the test unless err is a Schema Registry error with the given error_code.
func wantCode(t *testing.T, err error, code int, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want error_code %d, got success", what, code)
	}
	var re *rest.Error
	if !errors.As(err, &re) {
		t.Fatalf("%s: want a *rest.Error with error_code %d, got %T: %v", what, code, err, err)
	}
	if re.Code != code {
		t.Fatalf("%s: want error_code %d, got %d (message %q)", what, code, re.Code, re.Message)
	}
	if re.Message == "" {
		t.Errorf("%s: error_code %d came without a message", what, code)
	}
}

// must fails the test on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// register registers schema under subj with a fresh client and returns its ID.
func register(t *testing.T, subj string, info schemaregistry.SchemaInfo) int {
	t.Helper()
	id, err := newClient(t).Register(subj, info, false)
	must(t, err, "register "+subj)
	if id <= 0 {
		t.Fatalf("register %s: want a positive ID, got %d", subj, id)
	}
	return id
}

func avroInfo(schema string, refs ...schemaregistry.Reference) schemaregistry.SchemaInfo {
	return schemaregistry.SchemaInfo{Schema: schema, SchemaType: "AVRO", References: refs}
}

func jsonInfo(schema string) schemaregistry.SchemaInfo {
	return schemaregistry.SchemaInfo{Schema: schema, SchemaType: "JSON"}
}

// splitWire checks the Confluent wire format (magic byte 0, 4-byte big-endian schema ID) and
// returns the ID and the payload after it.
func splitWire(t *testing.T, b []byte) (int, []byte) {
	t.Helper()
	if len(b) < 5 {
		t.Fatalf("wire message of %d bytes: want at least 5", len(b))
	}
	if b[0] != 0 {
		t.Fatalf("magic byte: want 0, got %d", b[0])
	}
	return int(binary.BigEndian.Uint32(b[1:5])), b[5:]
}

// rawResponse is one HTTP answer of the registry.
type rawResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

func (r rawResponse) String() string {
	return fmt.Sprintf("HTTP %d (%s) %s", r.Status, r.ContentType, bytes.TrimSpace(r.Body))
}

// decode unmarshals the body into v, failing the test when it is not JSON.
func (r rawResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response is not the expected JSON (%v): %s", err, r)
	}
}

// raw sends one request as Confluent clients do, for endpoints the Go client has no method for
// (and for schemagate's own /v1 API).
func raw(t *testing.T, method, path string, body any) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(t, err, "marshal request")
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, registryURL(t)+path, rd)
	must(t, err, "new request")
	if body != nil {
		ct := "application/vnd.schemaregistry.v1+json"
		if strings.HasPrefix(path, "/v1/") { // schemagate's own API takes plain JSON
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json")
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	must(t, err, method+" "+path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err, "read body")
	return rawResponse{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: b}
}

// contains reports whether list holds s.
func contains(list []string, s string) bool { return slices.Contains(list, s) }

// verdict is what a /v1 validate answer says about a payload: its outcome and the kinds of its
// findings, in order.
type verdict struct {
	Outcome string
	Kinds   []string
}

// validateFramed sends a Confluent-framed payload to schemagate's validate endpoint for subj
// (POST /v1/subjects/{s}/validate, format CONFLUENT) and returns its verdict.
func validateFramed(t *testing.T, subj string, b []byte) verdict {
	t.Helper()
	r := raw(t, "POST", "/v1/subjects/"+url.PathEscape(subj)+"/validate",
		map[string]any{"data": b, "format": "PAYLOAD_FORMAT_CONFLUENT"})
	if r.Status != http.StatusOK {
		t.Fatalf("validate a framed payload under %s: want HTTP 200, got %s", subj, r)
	}
	var res struct {
		Outcome  string
		Findings []struct{ Kind, Path, Message string }
	}
	r.decode(t, &res)
	v := verdict{Outcome: res.Outcome}
	for _, f := range res.Findings {
		v.Kinds = append(v.Kinds, f.Kind)
	}
	// Findings come in payload order, and a serializer may write fields in any order
	// (dynamicpb does): the kinds are compared as a sorted list.
	slices.Sort(v.Kinds)
	return v
}
