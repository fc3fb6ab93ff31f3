package confluent

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
)

// newTestServer serves the Confluent API over a real registry on a temporary SQLite file.
func newTestServer(t *testing.T, principals []auth.PrincipalConfig) *httptest.Server {
	return newServer(t, principals)
}

func newBenchServer(b *testing.B) *httptest.Server { return newServer(b, nil) }

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func newServer(t testing.TB, principals []auth.PrincipalConfig) *httptest.Server {
	srv, _ := newServerWithStore(t, principals, auth.Options{})
	return srv
}

// newHandler is the Confluent handler over a registry on a fresh SQLite store, with principals
// (none: open to every caller) authenticated with authOpts.
func newHandler(t testing.TB, principals []auth.PrincipalConfig, authOpts auth.Options) (http.Handler, *store.DB) {
	t.Helper()
	db, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "sg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.New(db, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(principals, authOpts)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(Options{Registry: reg, Auth: authn, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return h, db
}

func newServerWithStore(t testing.TB, principals []auth.PrincipalConfig, authOpts auth.Options) (*httptest.Server, *store.DB) {
	t.Helper()
	h, db := newHandler(t, principals, authOpts)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, db
}

func TestStoreFailureIs50001(t *testing.T) {
	srv, db := newServerWithStore(t, nil, auth.Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	run(t, srv, []step{
		{name: "list subjects with the store down", method: "GET", path: "/subjects", status: 500, code: 50001, msg: "storage failure"},
		{name: "register with the store down", method: "POST", path: "/subjects/s/versions", body: body(`"string"`), status: 500, code: 50001},
	})
}

// step is one request and what must come back: the status, and either the whole JSON body
// (want) or, for errors, the error_code and a part of the message.
type step struct {
	name, method, path, body string
	header                   map[string]string
	status                   int
	want                     string            // JSON, compared structurally; "" skips
	code                     int               // error_code of an error body; 0 skips
	msg                      string            // substring of the error message
	respHeader               map[string]string // response headers and their values ("": absent)
}

func run(t *testing.T, srv *httptest.Server, steps []step) {
	t.Helper()
	for _, s := range steps {
		req, err := http.NewRequest(s.method, srv.URL+s.path, strings.NewReader(s.body))
		if err != nil {
			t.Fatal(err)
		}
		if s.body != "" {
			req.Header.Set("Content-Type", ContentType)
		}
		for k, v := range s.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != s.status {
			t.Errorf("%s: %s %s = %d %s; want status %d", s.name, s.method, s.path, resp.StatusCode, raw, s.status)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != ContentType {
			t.Errorf("%s: Content-Type = %q; want %q", s.name, ct, ContentType)
		}
		for k, want := range s.respHeader {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: %s = %q; want %q", s.name, k, got, want)
			}
		}
		var got any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Errorf("%s: body %q is not JSON: %v", s.name, raw, err)
			continue
		}
		if s.want != "" {
			var want any
			if err := json.Unmarshal([]byte(s.want), &want); err != nil {
				t.Fatalf("%s: bad want: %v", s.name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: %s %s body (-want +got):\n%s", s.name, s.method, s.path, diff)
			}
		}
		if s.code != 0 {
			m, _ := got.(map[string]any)
			if code, _ := m["error_code"].(float64); int(code) != s.code || !strings.Contains(m["message"].(string), s.msg) {
				t.Errorf("%s: error %s; want error_code %d with message containing %q", s.name, raw, s.code, s.msg)
			}
		}
	}
}

func body(schema string, extra ...string) string {
	b, _ := json.Marshal(schema)
	return `{"schema":` + string(b) + strings.Join(extra, "") + `}`
}

const (
	userV1     = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}`
	userV2     = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`
	userBad    = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"email","type":"string"}]}`
	userV1Text = `{"name":"User","type":"record","fields":[{"name":"name","type":"string"}]}`
	userV2Text = `{"name":"User","type":"record","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`
	eventJSON  = `{"type":"object","properties":{"id":{"type":"string"}}}`
)

func TestSchemasAndSubjects(t *testing.T) {
	srv := newTestServer(t, nil)
	run(t, srv, []step{
		{name: "root", method: "GET", path: "/", status: 200, want: `{}`},
		{name: "types", method: "GET", path: "/schemas/types", status: 200, want: `["AVRO","JSON","PROTOBUF"]`},
		{name: "register v1", method: "POST", path: "/subjects/users-value/versions", body: body(userV1), status: 200,
			want: `{"id":1,"version":1,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "register v1 again: same ID", method: "POST", path: "/subjects/users-value/versions", body: body(userV1), status: 200,
			want: `{"id":1,"version":1,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "incompatible under BACKWARD", method: "POST", path: "/subjects/users-value/versions", body: body(userBad), status: 409,
			code: 409, msg: `Schema being registered is incompatible with an earlier schema for subject "users-value"`},
		{name: "compatible v2", method: "POST", path: "/subjects/users-value/versions", body: body(userV2), status: 200,
			want: `{"id":2,"version":2,"schemaType":"AVRO","schema":` + jsonString(userV2Text) + `}`},
		{name: "same schema elsewhere: same ID", method: "POST", path: "/subjects/copy/versions", body: body(userV1), status: 200,
			want: `{"id":1,"version":1,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "JSON schema", method: "POST", path: "/subjects/events-value/versions", body: body(eventJSON, `,"schemaType":"JSON"`), status: 200,
			want: `{"id":3,"version":1,"schemaType":"JSON","schema":` + jsonString(eventJSON) + `}`},
		{name: "subjects", method: "GET", path: "/subjects", status: 200, want: `["copy","events-value","users-value"]`},
		{name: "subjects by prefix", method: "GET", path: "/subjects?subjectPrefix=users", status: 200, want: `["users-value"]`},
		{name: "subjects offset limit", method: "GET", path: "/subjects?offset=1&limit=1", status: 200, want: `["events-value"]`},
		{name: "versions", method: "GET", path: "/subjects/users-value/versions", status: 200, want: `[1,2]`},
		{name: "latest", method: "GET", path: "/subjects/users-value/versions/latest", status: 200,
			want: `{"subject":"users-value","version":2,"id":2,"schemaType":"AVRO","schema":` + jsonString(userV2Text) + `}`},
		{name: "-1 is latest", method: "GET", path: "/subjects/users-value/versions/-1", status: 200,
			want: `{"subject":"users-value","version":2,"id":2,"schemaType":"AVRO","schema":` + jsonString(userV2Text) + `}`},
		{name: "version 1", method: "GET", path: "/subjects/users-value/versions/1", status: 200,
			want: `{"subject":"users-value","version":1,"id":1,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "JSON version shows its type", method: "GET", path: "/subjects/events-value/versions/1", status: 200,
			want: `{"subject":"events-value","version":1,"id":3,"schemaType":"JSON","schema":` + jsonString(eventJSON) + `}`},
		{name: "raw version schema", method: "GET", path: "/subjects/users-value/versions/1/schema", status: 200, want: userV1Text},
		{name: "invalid version", method: "GET", path: "/subjects/users-value/versions/abc", status: 422, code: 42202, msg: "is not a valid version id"},
		{name: "version 0 is invalid", method: "GET", path: "/subjects/users-value/versions/0", status: 422, code: 42202},
		{name: "unknown version", method: "GET", path: "/subjects/users-value/versions/3", status: 404, code: 40402},
		{name: "unknown subject", method: "GET", path: "/subjects/nope/versions/1", status: 404, code: 40401, msg: "nope"},
		{name: "unknown subject versions", method: "GET", path: "/subjects/nope/versions", status: 404, code: 40401},
		{name: "by ID", method: "GET", path: "/schemas/ids/1", status: 200, want: `{"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "JSON by ID", method: "GET", path: "/schemas/ids/3", status: 200, want: `{"schemaType":"JSON","schema":` + jsonString(eventJSON) + `}`},
		{name: "by ID with max ID", method: "GET", path: "/schemas/ids/1?fetchMaxId=true", status: 200, want: `{"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `,"maxId":3}`},
		{name: "by ID in its subject", method: "GET", path: "/schemas/ids/1?subject=copy", status: 200, want: `{"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "by ID in another subject", method: "GET", path: "/schemas/ids/1?subject=events-value", status: 404, code: 40403},
		{name: "by ID, unknown format is ignored as Confluent does", method: "GET", path: "/schemas/ids/1?format=weird", status: 200, want: `{"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "by ID, serialized Avro is the stored text", method: "GET", path: "/schemas/ids/1?format=serialized", status: 200, want: `{"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "unknown ID", method: "GET", path: "/schemas/ids/99", status: 404, code: 40403, msg: "99"},
		{name: "ID not a number", method: "GET", path: "/schemas/ids/x", status: 404, code: 40403},
		{name: "raw by ID", method: "GET", path: "/schemas/ids/2/schema", status: 200, want: userV2Text},
		{name: "subjects of ID", method: "GET", path: "/schemas/ids/1/subjects", status: 200, want: `["copy","users-value"]`},
		{name: "versions of ID", method: "GET", path: "/schemas/ids/1/versions", status: 200,
			want: `[{"subject":"copy","version":1},{"subject":"users-value","version":1}]`},
		{name: "schemas latest only", method: "GET", path: "/schemas?subjectPrefix=users&latestOnly=true", status: 200,
			want: `[{"subject":"users-value","version":2,"id":2,"schemaType":"AVRO","schema":` + jsonString(userV2Text) + `}]`},
		{name: "schemas paged", method: "GET", path: "/schemas?offset=1&limit=1", status: 200,
			want: `[{"subject":"events-value","version":1,"id":3,"schemaType":"JSON","schema":` + jsonString(eventJSON) + `}]`},
		{name: "lookup", method: "POST", path: "/subjects/users-value", body: body(userV1), status: 200,
			want: `{"subject":"users-value","version":1,"id":1,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "lookup of an unknown schema", method: "POST", path: "/subjects/users-value", body: body(userBad), status: 404, code: 40403},
		{name: "lookup in an unknown subject", method: "POST", path: "/subjects/nope", body: body(userV1), status: 404, code: 40401},
		{name: "contexts", method: "GET", path: "/contexts", status: 200, want: `["."]`},
		{name: "metadata id", method: "GET", path: "/v1/metadata/id", status: 200,
			want: `{"scope":{"path":[],"clusters":{"kafka-cluster":"schemagate","schema-registry-cluster":"schemagate"}}}`},
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestCrossSiteRequests checks the refusals of requests a page on another site could make a
// browser send: state-changing requests marked cross-origin are 40301 and bodies without a
// Confluent content type 415, both before credentials are looked at (the gateway has
// principals, and the refused requests carry none); reads and same-origin requests pass.
func TestCrossSiteRequests(t *testing.T) {
	srv := newServer(t, []auth.PrincipalConfig{{Name: "root", Roles: []string{"admin"}, TokenSHA256: sha256Hex("root")}})
	self := "http://" + srv.Listener.Addr().String()
	root := "Bearer root"
	crossSite := func(name string, header map[string]string) step {
		return step{name: name, method: "POST", path: "/subjects/x/versions", body: body(`"string"`), header: header,
			status: 403, code: 40301, msg: "cross-site request refused"}
	}
	unsupported := func(name, method, path, contentType string) step {
		return step{name: name, method: method, path: path, body: `{"compatibility":"NONE"}`,
			header: map[string]string{"Content-Type": contentType}, status: 415, code: 415, msg: "Content-Type"}
	}
	run(t, srv, []step{
		crossSite("Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}),
		crossSite("Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site"}),
		crossSite("foreign Origin", map[string]string{"Origin": "https://evil.example"}),
		crossSite("null Origin", map[string]string{"Origin": "null"}),
		crossSite("cross-site with valid credentials", map[string]string{"Sec-Fetch-Site": "cross-site", "Authorization": root}),
		{name: "cross-site DELETE", method: "DELETE", path: "/subjects/x", header: map[string]string{"Origin": "https://evil.example"}, status: 403, code: 40301},
		unsupported("text/plain form post", "POST", "/subjects/x/versions", "text/plain"),
		unsupported("urlencoded form post", "PUT", "/config", "application/x-www-form-urlencoded"),
		unsupported("multipart form post", "PUT", "/mode", "multipart/form-data; boundary=x"),
		unsupported("no Content-Type", "POST", "/subjects/x/versions", ""),
		{name: "POST without a body or Content-Type", method: "POST", path: "/subjects/x", header: map[string]string{"Content-Type": ""}, status: 415, code: 415},
		{name: "cross-site read", method: "GET", path: "/subjects", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Authorization": root}, status: 200, want: `[]`},
		{name: "no credentials after the checks", method: "POST", path: "/subjects/x/versions", body: body(`"string"`), status: 401, code: 40101},
		{name: "same-origin", method: "POST", path: "/subjects/x/versions", body: body(`"string"`),
			header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": self, "Authorization": root}, status: 200, want: `{"id":1,"version":1,"schemaType":"AVRO","schema":"\"string\""}`},
		{name: "user-typed request", method: "PUT", path: "/config", body: `{"compatibility":"NONE"}`,
			header: map[string]string{"Sec-Fetch-Site": "none", "Authorization": root}, status: 200, want: `{"compatibility":"NONE"}`},
		{name: "own Origin without Sec-Fetch-Site", method: "DELETE", path: "/config", header: map[string]string{"Origin": self, "Authorization": root}, status: 200},
	})
}

func TestRequestErrors(t *testing.T) {
	srv := newTestServer(t, nil)
	run(t, srv, []step{
		{name: "invalid Avro", method: "POST", path: "/subjects/s/versions", body: body(`{"type":"record","name":"R","fields":[{"name":"a","type":"integr"}]}`),
			status: 422, code: 42201, msg: `unknown type "integr"`},
		{name: "invalid JSON Schema", method: "POST", path: "/subjects/s/versions", body: body(`{"type":"object","minProperties":-1}`, `,"schemaType":"JSON"`),
			status: 422, code: 42201, msg: "minProperties"},
		{name: "empty schema", method: "POST", path: "/subjects/s/versions", body: body(""), status: 422, code: 42201, msg: "Empty schema"},
		{name: "no schema field", method: "POST", path: "/subjects/s/versions", body: `{}`, status: 422, code: 42201},
		{name: "unknown schema type", method: "POST", path: "/subjects/s/versions", body: body(`"string"`, `,"schemaType":"PROTOBUF"`), status: 422, code: 42201, msg: "PROTOBUF"},
		{name: "missing reference", method: "POST", path: "/subjects/s/versions",
			body:   body(`{"type":"record","name":"R","fields":[{"name":"a","type":"Other"}]}`, `,"references":[{"name":"Other","subject":"other","version":1}]`),
			status: 422, code: 42201, msg: "other"},
		{name: "malformed JSON", method: "POST", path: "/subjects/s/versions", body: `{"schema":`, status: 400, code: 400},
		{name: "wrong field type", method: "POST", path: "/subjects/s/versions", body: `{"schema":5}`, status: 422, code: 422, msg: "schema"},
		{name: "empty body", method: "POST", path: "/subjects/s/versions", body: ` `, status: 422, code: 422},
		{name: "oversized body", method: "POST", path: "/subjects/s/versions", body: body(strings.Repeat(" ", MaxBodyBytes)), status: 422, code: 42209},
		{name: "unsupported content type", method: "POST", path: "/subjects/s/versions", body: body(`"string"`),
			header: map[string]string{"Content-Type": "text/plain"}, status: 415, code: 415},
		{name: "invalid subject", method: "POST", path: "/subjects/a%01b/versions", body: body(`"string"`), status: 422, code: 42208},
		{name: "unknown route", method: "GET", path: "/nope", status: 404, code: 404},
		{name: "associations (newer serializers ask first)", method: "GET", path: "/associations/resources/abc", status: 404, code: 404},
		{name: "wrong method", method: "PUT", path: "/subjects", status: 405, code: 405},
		{name: "wrong method on a subject", method: "PATCH", path: "/subjects/s/versions", status: 405, code: 405},
		{name: "bad offset", method: "GET", path: "/subjects?offset=x", status: 400, code: 400},
		{name: "nothing was stored", method: "GET", path: "/subjects", status: 200, want: `[]`},
	})
	// Every accepted request content type.
	for i, ct := range []string{"application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json", "application/json", "application/octet-stream", "application/json; charset=utf-8"} {
		run(t, srv, []step{{name: "content type " + ct, method: "POST", path: "/subjects/ct/versions", body: body(`"string"`),
			header: map[string]string{"Content-Type": ct, "Accept": []string{"", "application/json, text/plain, */*", ContentType, "*/*", "application/json"}[i]},
			status: 200, want: `{"id":1,"version":1,"schemaType":"AVRO","schema":"\"string\""}`}})
	}
}

// TestConfigJSONSchemaFormat: schemagate's own config key, schemagate.jsonSchemaFormat, set,
// read, inherited from the global config, kept when a PUT leaves it out, refused when unknown
// (42203, as an unknown level) and removed with the configuration.
func TestConfigJSONSchemaFormat(t *testing.T) {
	srv := newTestServer(t, nil)
	run(t, srv, []step{
		{name: "unset: not shown", method: "GET", path: "/config", status: 200, want: `{"compatibilityLevel":"BACKWARD"}`},
		{name: "set global", method: "PUT", path: "/config", body: `{"schemagate.jsonSchemaFormat":"annotate"}`, status: 200,
			want: `{"compatibility":"BACKWARD","schemagate.jsonSchemaFormat":"annotate"}`},
		{name: "set subject, ignoring case", method: "PUT", path: "/config/s", body: `{"compatibility":"FULL","schemagate.jsonSchemaFormat":"Draft"}`, status: 200,
			want: `{"compatibility":"FULL","schemagate.jsonSchemaFormat":"draft"}`},
		{name: "level alone keeps it", method: "PUT", path: "/config/s", body: `{"compatibility":"NONE"}`, status: 200,
			want: `{"compatibility":"NONE","schemagate.jsonSchemaFormat":"draft"}`},
		{name: "read subject", method: "GET", path: "/config/s", status: 200, want: `{"compatibilityLevel":"NONE","schemagate.jsonSchemaFormat":"draft"}`},
		{name: "unknown value", method: "PUT", path: "/config/s", body: `{"schemagate.jsonSchemaFormat":"lenient"}`, status: 422, code: 42203,
			msg: "Invalid JSON Schema format setting 'lenient'. Valid values are assert, annotate and draft"},
		{name: "unknown value stored nothing", method: "GET", path: "/config/s", status: 200, want: `{"compatibilityLevel":"NONE","schemagate.jsonSchemaFormat":"draft"}`},
		{name: "level without setting", method: "PUT", path: "/config/t", body: `{"compatibility":"FULL"}`, status: 200, want: `{"compatibility":"FULL"}`},
		{name: "own config shows only its own", method: "GET", path: "/config/t", status: 200, want: `{"compatibilityLevel":"FULL"}`},
		{name: "defaultToGlobal shows the global setting", method: "GET", path: "/config/t?defaultToGlobal=true", status: 200,
			want: `{"compatibilityLevel":"FULL","schemagate.jsonSchemaFormat":"annotate"}`},
		{name: "delete subject", method: "DELETE", path: "/config/s", status: 200, want: `{"compatibilityLevel":"NONE","schemagate.jsonSchemaFormat":"draft"}`},
		{name: "delete global", method: "DELETE", path: "/config", status: 200, want: `{"compatibilityLevel":"BACKWARD","schemagate.jsonSchemaFormat":"annotate"}`},
		{name: "global back to unset", method: "GET", path: "/config", status: 200, want: `{"compatibilityLevel":"BACKWARD"}`},
	})
}

func TestConfigAndMode(t *testing.T) {
	srv := newTestServer(t, nil)
	run(t, srv, []step{
		{name: "global default", method: "GET", path: "/config", status: 200, want: `{"compatibilityLevel":"BACKWARD"}`},
		{name: "set global", method: "PUT", path: "/config", body: `{"compatibility":"FULL"}`, status: 200, want: `{"compatibility":"FULL"}`},
		{name: "read global", method: "GET", path: "/config", status: 200, want: `{"compatibilityLevel":"FULL"}`},
		{name: "invalid level", method: "PUT", path: "/config", body: `{"compatibility":"SIDEWAYS"}`, status: 422, code: 42203},
		{name: "subject without level", method: "GET", path: "/config/s", status: 404, code: 40408, msg: "Subject 's' does not have subject-level compatibility configured"},
		{name: "subject defaults to global", method: "GET", path: "/config/s?defaultToGlobal=true", status: 200, want: `{"compatibilityLevel":"FULL"}`},
		{name: "set subject with normalize and group", method: "PUT", path: "/config/s", body: `{"compatibility":"none","normalize":true,"compatibilityGroup":"app"}`, status: 200,
			want: `{"compatibility":"NONE","normalize":true,"compatibilityGroup":"app"}`},
		{name: "read subject", method: "GET", path: "/config/s", status: 200, want: `{"compatibilityLevel":"NONE","normalize":true,"compatibilityGroup":"app"}`},
		{name: "delete subject level", method: "DELETE", path: "/config/s", status: 200, want: `{"compatibilityLevel":"NONE","normalize":true,"compatibilityGroup":"app"}`},
		{name: "deleted subject level", method: "DELETE", path: "/config/s", status: 404, code: 40408},
		{name: "delete global", method: "DELETE", path: "/config", status: 200, want: `{"compatibilityLevel":"FULL"}`},
		{name: "global back to default", method: "GET", path: "/config", status: 200, want: `{"compatibilityLevel":"BACKWARD"}`},

		{name: "global mode", method: "GET", path: "/mode", status: 200, want: `{"mode":"READWRITE"}`},
		{name: "subject without mode", method: "GET", path: "/mode/s", status: 404, code: 40409},
		{name: "subject mode defaults to global", method: "GET", path: "/mode/s?defaultToGlobal=true", status: 200, want: `{"mode":"READWRITE"}`},
		{name: "invalid mode", method: "PUT", path: "/mode/s", body: `{"mode":"SOMETIMES"}`, status: 422, code: 42204},
		{name: "register before read-only", method: "POST", path: "/subjects/s/versions", body: body(`"string"`), status: 200},
		{name: "read-only subject", method: "PUT", path: "/mode/s", body: `{"mode":"READONLY"}`, status: 200, want: `{"mode":"READONLY"}`},
		{name: "no writes in READONLY", method: "POST", path: "/subjects/s/versions", body: body(`"int"`, `,"schemaType":"AVRO"`), status: 422, code: 42205, msg: "read-only"},
		{name: "no deletes in READONLY", method: "DELETE", path: "/subjects/s", status: 422, code: 42205},
		{name: "other subjects still writable", method: "POST", path: "/subjects/t/versions", body: body(`"string"`), status: 200},
		{name: "delete subject mode", method: "DELETE", path: "/mode/s", status: 200, want: `{"mode":"READONLY"}`},
		{name: "IMPORT needs force while schemas exist", method: "PUT", path: "/mode", body: `{"mode":"IMPORT"}`, status: 422, code: 42205, msg: "Cannot import since found existing subjects"},
		{name: "IMPORT for an empty subject", method: "PUT", path: "/mode/imported", body: `{"mode":"IMPORT"}`, status: 200, want: `{"mode":"IMPORT"}`},
		{name: "import keeps ID and version", method: "POST", path: "/subjects/imported/versions", body: body(`"long"`, `,"id":100,"version":7`), status: 200,
			want: `{"id":100,"version":7,"schemaType":"AVRO","schema":"\"long\""}`},
		{name: "import may not overwrite an ID", method: "POST", path: "/subjects/imported/versions", body: body(`"double"`, `,"id":100,"version":8`), status: 422, code: 42205},
		{name: "ID outside IMPORT", method: "POST", path: "/subjects/t/versions", body: body(`"float"`, `,"id":200`), status: 422, code: 42205, msg: "import mode"},
		{name: "back to READWRITE", method: "PUT", path: "/mode/imported", body: `{"mode":"READWRITE"}`, status: 200, want: `{"mode":"READWRITE"}`},
		{name: "new IDs continue after the imported one", method: "POST", path: "/subjects/t2/versions", body: body(`"boolean"`), status: 200,
			want: `{"id":101,"version":1,"schemaType":"AVRO","schema":"\"boolean\""}`},
		{name: "global IMPORT with force", method: "PUT", path: "/mode?force=true", body: `{"mode":"IMPORT"}`, status: 200, want: `{"mode":"IMPORT"}`},
		{name: "global READONLY_OVERRIDE", method: "PUT", path: "/mode", body: `{"mode":"READONLY_OVERRIDE"}`, status: 200},
		{name: "override wins over a subject mode", method: "POST", path: "/subjects/imported/versions", body: body(`"bytes"`), status: 422, code: 42205},
		{name: "delete global mode", method: "DELETE", path: "/mode", status: 200, want: `{"mode":"READONLY_OVERRIDE"}`},
	})
}

func TestCompatibilityEndpoints(t *testing.T) {
	srv := newTestServer(t, nil)
	run(t, srv, []step{
		{name: "v1", method: "POST", path: "/subjects/u/versions", body: body(userV1), status: 200},
		{name: "compatible with latest", method: "POST", path: "/compatibility/subjects/u/versions/latest", body: body(userV2), status: 200, want: `{"is_compatible":true}`},
		{name: "verbose and compatible", method: "POST", path: "/compatibility/subjects/u/versions/1?verbose=true", body: body(userV2), status: 200, want: `{"is_compatible":true,"messages":[]}`},
		{name: "incompatible", method: "POST", path: "/compatibility/subjects/u/versions/latest", body: body(userBad), status: 200, want: `{"is_compatible":false}`},
		{name: "against all versions", method: "POST", path: "/compatibility/subjects/u/versions", body: body(userBad), status: 200, want: `{"is_compatible":false}`},
		{name: "no versions yet: compatible", method: "POST", path: "/compatibility/subjects/empty/versions", body: body(userBad), status: 200, want: `{"is_compatible":true}`},
		{name: "unknown subject, latest", method: "POST", path: "/compatibility/subjects/empty/versions/latest", body: body(userBad), status: 404, code: 40401},
		{name: "unknown version", method: "POST", path: "/compatibility/subjects/u/versions/9", body: body(userBad), status: 404, code: 40402},
		{name: "invalid version", method: "POST", path: "/compatibility/subjects/u/versions/x", body: body(userBad), status: 422, code: 42202},
		{name: "invalid candidate", method: "POST", path: "/compatibility/subjects/u/versions/latest", body: body(`{"type":"nope"}`), status: 422, code: 42201},
	})

	// The verbose reasons name the rule, the old version, the old schema and the level.
	req, _ := http.NewRequest("POST", srv.URL+"/compatibility/subjects/u/versions/1?verbose=true", strings.NewReader(body(userBad)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got verboseCompatibilityBody
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'",
		"{oldSchemaVersion: 1}",
		"{oldSchema: '" + userV1Text + "'}",
		"{compatibility: 'BACKWARD'}",
	}
	if got.IsCompatible || len(got.Messages) != len(want) {
		t.Fatalf("verbose check = %+v; want incompatible with %d messages", got, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got.Messages[i], w) {
			t.Errorf("message %d = %q; want it to start with %q", i, got.Messages[i], w)
		}
	}

	run(t, srv, []step{
		{name: "NONE allows anything", method: "PUT", path: "/config/u", body: `{"compatibility":"NONE"}`, status: 200},
		{name: "incompatible registers under NONE", method: "POST", path: "/subjects/u/versions", body: body(userBad), status: 200},
	})
}

func TestDeletesAndReferences(t *testing.T) {
	srv := newTestServer(t, nil)
	address := `{"type":"record","name":"Address","namespace":"com.example","fields":[{"name":"city","type":"string"}]}`
	person := `{"type":"record","name":"Person","namespace":"com.example","fields":[{"name":"home","type":"com.example.Address"}]}`
	run(t, srv, []step{
		{name: "referenced type", method: "POST", path: "/subjects/address/versions", body: body(address), status: 200},
		{name: "referring schema", method: "POST", path: "/subjects/person/versions",
			body: body(person, `,"references":[{"name":"com.example.Address","subject":"address","version":1}]`), status: 200},
		{name: "referenced by", method: "GET", path: "/subjects/address/versions/1/referencedby", status: 200, want: `[2]`},
		{name: "reference shown", method: "GET", path: "/schemas/ids/2", status: 200,
			want: `{"schemaType":"AVRO","schema":"{\"name\":\"com.example.Person\",\"type\":\"record\",\"fields\":[{\"name\":\"home\",\"type\":\"com.example.Address\"}]}","references":[{"name":"com.example.Address","subject":"address","version":1}]}`},
		{name: "resolved format inlines the reference", method: "GET", path: "/schemas/ids/2/schema?format=resolved", status: 200},
		{name: "referenced version cannot go", method: "DELETE", path: "/subjects/address/versions/1", status: 422, code: 42206},
		{name: "referenced subject cannot go", method: "DELETE", path: "/subjects/address", status: 422, code: 42206},

		{name: "v1", method: "POST", path: "/subjects/d/versions", body: body(userV1), status: 200},
		{name: "v2", method: "POST", path: "/subjects/d/versions", body: body(userV2), status: 200},
		{name: "permanent before soft", method: "DELETE", path: "/subjects/d/versions/1?permanent=true", status: 404, code: 40407},
		{name: "soft delete v1", method: "DELETE", path: "/subjects/d/versions/1", status: 200, want: `1`},
		{name: "soft delete v1 again", method: "DELETE", path: "/subjects/d/versions/1", status: 404, code: 40406},
		{name: "soft-deleted version hidden", method: "GET", path: "/subjects/d/versions/1", status: 404, code: 40402},
		{name: "soft-deleted version with deleted", method: "GET", path: "/subjects/d/versions/1?deleted=true", status: 200},
		{name: "versions", method: "GET", path: "/subjects/d/versions", status: 200, want: `[2]`},
		{name: "versions deleted", method: "GET", path: "/subjects/d/versions?deleted=true", status: 200, want: `[1,2]`},
		{name: "versions deleted only", method: "GET", path: "/subjects/d/versions?deletedOnly=true", status: 200, want: `[1]`},
		{name: "ID stays readable", method: "GET", path: "/schemas/ids/3", status: 200},
		{name: "permanent subject before soft", method: "DELETE", path: "/subjects/d?permanent=true", status: 404, code: 40405},
		{name: "soft delete subject", method: "DELETE", path: "/subjects/d", status: 200, want: `[2]`},
		{name: "soft delete subject again", method: "DELETE", path: "/subjects/d", status: 404, code: 40404},
		{name: "subject hidden", method: "GET", path: "/subjects/d/versions", status: 404, code: 40401},
		{name: "deleted only lists it", method: "GET", path: "/subjects?deletedOnly=true", status: 200, want: `["d"]`},
		{name: "deleted lists all", method: "GET", path: "/subjects?deleted=true", status: 200, want: `["address","d","person"]`},
		{name: "versions continue after a soft delete", method: "POST", path: "/subjects/d/versions", body: body(userV1), status: 200,
			want: `{"id":3,"version":3,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "soft delete v3", method: "DELETE", path: "/subjects/d", status: 200, want: `[3]`},
		{name: "permanent subject", method: "DELETE", path: "/subjects/d?permanent=true", status: 200, want: `[1,2,3]`},
		{name: "gone", method: "GET", path: "/subjects/d/versions?deleted=true", status: 404, code: 40401},
		{name: "versions restart at 1, same content keeps its ID", method: "POST", path: "/subjects/d/versions", body: body(userV1), status: 200,
			want: `{"id":3,"version":1,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "new content gets a new ID, never a reused one", method: "POST", path: "/subjects/e/versions", body: body(`"string"`), status: 200,
			want: `{"id":5,"version":1,"schemaType":"AVRO","schema":"\"string\""}`},
	})
}

func TestNormalize(t *testing.T) {
	srv := newTestServer(t, nil)
	a := `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`
	b := `{"required":["a"],"properties":{"a":{"type":"string"}},"type":"object"}`
	run(t, srv, []step{
		{name: "first spelling", method: "POST", path: "/subjects/n/versions?normalize=true", body: body(a, `,"schemaType":"JSON"`), status: 200},
		{name: "key order ignored when normalizing", method: "POST", path: "/subjects/n/versions?normalize=true", body: body(b, `,"schemaType":"JSON"`), status: 200,
			want: `{"id":1,"version":1,"schemaType":"JSON","schema":"{\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"],\"type\":\"object\"}"}`},
		{name: "subject config asks for normalization", method: "PUT", path: "/config/m", body: `{"normalize":true}`, status: 200,
			want: `{"compatibility":"BACKWARD","normalize":true}`},
		{name: "normalized by config", method: "POST", path: "/subjects/m/versions", body: body(b, `,"schemaType":"JSON"`), status: 200,
			want: `{"id":1,"version":1,"schemaType":"JSON","schema":"{\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"],\"type\":\"object\"}"}`},
		{name: "metadata and ruleSet are part of identity", method: "POST", path: "/subjects/m/versions",
			body: body(b, `,"schemaType":"JSON","metadata":{"properties":{"owner":"team-a"}},"ruleSet":{"domainRules":[]}`), status: 200,
			want: `{"id":2,"version":2,"schemaType":"JSON","metadata":{"properties":{"owner":"team-a"}},"ruleSet":{"domainRules":[]},"schema":"{\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"],\"type\":\"object\"}"}`},
		{name: "metadata returned", method: "GET", path: "/subjects/m/versions/2", status: 200,
			want: `{"subject":"m","id":2,"version":2,"schemaType":"JSON","metadata":{"properties":{"owner":"team-a"}},"ruleSet":{"domainRules":[]},"schema":"{\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"],\"type\":\"object\"}"}`},
	})
}

// sha256Hex is the hex SHA-256 of s, as token_sha256 and password_sha256 are configured.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestAuth(t *testing.T) {
	srv := newTestServer(t, []auth.PrincipalConfig{
		{Name: "reader", Roles: []string{"producer"}, TokenSHA256: sha256Hex("reader")},
		{Name: "writer", Roles: []string{"author"}, TokenSHA256: sha256Hex("writer")},
		{Name: "admin", Roles: []string{"admin"}, TokenSHA256: sha256Hex("admin")},
	})
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	run(t, srv, []step{
		{name: "no credentials", method: "GET", path: "/subjects", status: 401, code: 40101},
		{name: "reader reads", method: "GET", path: "/subjects", header: bearer("reader"), status: 200, want: `[]`},
		{name: "reader may not register", method: "POST", path: "/subjects/s/versions", body: body(`"string"`), header: bearer("reader"), status: 403, code: 40301},
		{name: "writer registers", method: "POST", path: "/subjects/s/versions", body: body(`"string"`), header: bearer("writer"), status: 200},
		{name: "writer may not set the mode", method: "PUT", path: "/mode", body: `{"mode":"READONLY"}`, header: bearer("writer"), status: 403, code: 40301},
		{name: "writer soft-deletes", method: "DELETE", path: "/subjects/s", header: bearer("writer"), status: 200},
		{name: "writer may not hard-delete", method: "DELETE", path: "/subjects/s?permanent=true", header: bearer("writer"), status: 403, code: 40301},
		{name: "admin hard-deletes", method: "DELETE", path: "/subjects/s?permanent=true", header: bearer("admin"), status: 200},
	})
}

// challenge is the header of a 401: Bearer, never Basic, so browsers do not prompt for and then
// cache credentials (Confluent clients send basic auth without being asked).
const challenge = auth.Challenge

// TestAuthRefusals checks the responses the handler makes of the auth middleware's refusals:
// the status, the whole Confluent body and the headers.
func TestAuthRefusals(t *testing.T) {
	srv := newTestServer(t, []auth.PrincipalConfig{
		{Name: "alice", Roles: []string{"producer"}, PasswordSHA256: sha256Hex("alice-S3CRET")},
		{Name: "bob", Roles: []string{"author"}, PasswordSHA256: sha256Hex("bob-S3CRET")},
		{Name: "root", Roles: []string{"admin"}, TokenSHA256: sha256Hex("root-S3CRET")},
	})
	basic := func(user, password string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
	}
	register := func(name string, header map[string]string, status int, want string, respHeader map[string]string) step {
		return step{name: name, method: "POST", path: "/subjects/s/versions", body: body(`"string"`), header: header,
			status: status, want: want, respHeader: respHeader}
	}
	run(t, srv, []step{
		register("no credentials", nil, 401,
			`{"error_code":40101,"message":"authentication required: send \"Authorization: Bearer <token>\" or HTTP basic auth (\"Authorization: Basic <base64(user:password)>\")"}`,
			map[string]string{"WWW-Authenticate": challenge}),
		register("wrong password", basic("bob", "bob-S3CRET-wrong"), 401, `{"error_code":40101,"message":"invalid credentials"}`,
			map[string]string{"WWW-Authenticate": challenge}),
		register("malformed", map[string]string{"Authorization": "Basic bm9jb2xvbg=="}, 401,
			`{"error_code":40101,"message":"invalid credentials: malformed basic credentials; expected \"Basic <base64(user:password)>\""}`,
			map[string]string{"WWW-Authenticate": challenge}),
		register("producer cannot write", basic("alice", "alice-S3CRET"), 403,
			`{"error_code":40301,"message":"principal \"alice\" (roles [producer]) lacks permission \"schemas.write\""}`,
			map[string]string{"WWW-Authenticate": "", "Retry-After": ""}),
		register("author writes", basic("bob", "bob-S3CRET"), 200, "", map[string]string{"WWW-Authenticate": ""}),
		register("admin writes", map[string]string{"Authorization": "Bearer root-S3CRET"}, 200, "", nil),
	})
}

// TestAuthRateLimit checks the response to a client over the failure limit: 429, Retry-After
// and the Confluent body naming the wait.
func TestAuthRateLimit(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var elapsed atomic.Int64
	srv, _ := newServerWithStore(t, []auth.PrincipalConfig{
		{Name: "reader", Roles: []string{"producer"}, TokenSHA256: sha256Hex("reader")},
	}, auth.Options{MaxFailures: 2, FailureWindow: time.Minute, Now: func() time.Time { return start.Add(time.Duration(elapsed.Load())) }})
	guess, valid := map[string]string{"Authorization": "Bearer guess"}, map[string]string{"Authorization": "Bearer reader"}
	limited := func(name string, retry string) step { // valid credentials are refused too
		return step{name: name, method: "GET", path: "/subjects", header: valid, status: 429,
			want:       `{"error_code":42901,"message":"too many failed authentication attempts from this client; retry in ` + retry + `s"}`,
			respHeader: map[string]string{"Retry-After": retry, "WWW-Authenticate": ""}}
	}
	run(t, srv, []step{
		{name: "bad 1", method: "GET", path: "/subjects", header: guess, status: 401, code: 40101, respHeader: map[string]string{"Retry-After": ""}},
		{name: "bad 2", method: "GET", path: "/subjects", header: guess, status: 401, code: 40101},
		limited("over the limit", "60"),
		{name: "no credentials refused too", method: "GET", path: "/subjects", status: 429, code: 42901, respHeader: map[string]string{"Retry-After": "60"}},
	})
	elapsed.Add(int64(59*time.Second + time.Millisecond))
	run(t, srv, []step{limited("rounded up", "1")})
	elapsed.Add(int64(time.Second))
	run(t, srv, []step{{name: "window over", method: "GET", path: "/subjects", header: valid, status: 200, want: `[]`}})
}
