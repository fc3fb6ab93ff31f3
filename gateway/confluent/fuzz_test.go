package confluent

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/schemagate/schemagate/gateway/auth"
)

// The fuzz targets here drive the Confluent REST API with hostile requests, to see if we can
// make it panic or answer outside its contract: the seeds (testdata/fuzz/<FuzzName>/) also run
// as ordinary tests.

// errorStatuses are the HTTP statuses the Confluent API documents for errors, with the
// Confluent error codes each may carry. 500 (50001) is only a store failure and 503 (50002) a
// cancelled request; neither may come from a request alone.
var errorStatuses = map[int][]int{
	400: {400},
	401: {40101},
	403: {40301},
	404: {404, 40401, 40402, 40403, 40404, 40405, 40406, 40407, 40408, 40409},
	405: {405},
	409: {409},
	415: {415},
	422: {422, 42201, 42202, 42203, 42204, 42205, 42206, 42208, 42209},
}

// newFuzzHandler is the real Confluent handler over a registry on a temporary SQLite store,
// open to every caller (no principals) so every route is reachable.
func newFuzzHandler(t testing.TB) http.Handler {
	t.Helper()
	h, _ := newHandler(t, nil, auth.Options{})
	return h
}

// checkConfluentResponse fails unless rec is a response the API documents: a 2xx with a JSON
// body (a schema itself, from a /schema endpoint, when it is JSON: Protobuf text and the
// serialized form are not), a redirect to the cleaned path (http.ServeMux answers those for paths with "." or ".."
// segments or doubled slashes), or an error status from errorStatuses whose body is
// {"error_code": N, "message": "..."} with N allowed for that status.
func checkConfluentResponse(t *testing.T, method, target string, rec *httptest.ResponseRecorder) {
	t.Helper()
	status, raw := rec.Code, rec.Body.Bytes()
	switch {
	case status >= 200 && status < 300:
		rawSchema := strings.HasSuffix(strings.SplitN(target, "?", 2)[0], "/schema") && len(raw) > 0
		if method != http.MethodHead && !rawSchema && !json.Valid(raw) {
			t.Fatalf("%s %q = %d with a body that is not JSON: %q", method, target, status, raw)
		}
		return
	case status == http.StatusMovedPermanently || status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect:
		if rec.Header().Get("Location") == "" {
			t.Fatalf("%s %q = %d without a Location", method, target, status)
		}
		return
	}
	codes, ok := errorStatuses[status]
	if !ok {
		t.Fatalf("%s %q = %d, not a documented status; body %q", method, target, status, raw)
	}
	if method == http.MethodHead {
		return
	}
	var body struct {
		ErrorCode *int    `json:"error_code"`
		Message   *string `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.ErrorCode == nil || body.Message == nil {
		t.Fatalf("%s %q = %d with body %q; want {\"error_code\": N, \"message\": \"...\"} (%v)", method, target, status, raw, err)
	}
	for _, c := range codes {
		if c == *body.ErrorCode {
			if *body.Message == "" {
				t.Fatalf("%s %q = %d %s: empty message", method, target, status, raw)
			}
			if ct := rec.Header().Get("Content-Type"); ct != ContentType {
				t.Fatalf("%s %q = %d with Content-Type %q; want %q", method, target, status, ct, ContentType)
			}
			return
		}
	}
	t.Fatalf("%s %q = %d with error_code %d; want one of %v", method, target, status, *body.ErrorCode, codes)
}

// FuzzConfluentREST sends one fuzzed request (method, path with query, Content-Type, body) to
// the real handler and checks the response against the API's contract. Requests that
// net/http would refuse before any handler ran (a method that is not a token, a target that is
// not a request URI) are skipped.
func FuzzConfluentREST(f *testing.F) {
	seeds := []struct {
		method, target, contentType, body string
	}{
		{"POST", "/subjects/s/versions", ContentType, `{"schema":"\"string\""}`},
		{"POST", "/subjects/s/versions", "application/json", `{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}"}`},
		{"POST", "/subjects/j/versions?normalize=true", ContentType, `{"schemaType":"JSON","schema":"{\"type\":\"object\"}"}`},
		{"POST", "/subjects/s", ContentType, `{"schema":"\"string\""}`},
		{"POST", "/compatibility/subjects/s/versions/latest?verbose=true", ContentType, `{"schema":"\"int\""}`},
		{"GET", "/subjects/s/versions/latest", "", ""},
		{"GET", "/schemas/ids/1?fetchMaxId=true&format=resolved", "", ""},
		{"POST", "/subjects/p/versions?normalize=true", ContentType, `{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\"; message M { int32 a = 1; map<string, M> m = 2; }"}`},
		{"POST", "/subjects/q/versions", ContentType, `{"schemaType":"PROTOBUF","schema":"import \"p.proto\"; message N { M m = 1; }","references":[{"name":"p.proto","subject":"p","version":1}]}`},
		{"GET", "/subjects/p/versions/1/schema?format=serialized", "", ""},
		{"GET", "/subjects?subjectPrefix=%25&offset=-1&limit=99999999999999999999", "", ""},
		{"DELETE", "/subjects/s?permanent=true", "", ""},
		{"PUT", "/config/s", ContentType, `{"compatibility":"FULL_TRANSITIVE","normalize":true}`},
		{"PUT", "/mode", ContentType, `{"mode":"IMPORT"}`},
		{"POST", "/subjects/imp/versions", ContentType, `{"schema":"\"long\"","id":2147483648,"version":2147483648}`},
		{"POST", "/subjects/a%2Fb/versions", ContentType, `{"schema":"\"string\"","schema":"\"int\""}`},
		{"POST", "/subjects/%2E%2E/versions", ContentType, `{"schema":"\"string\""}`},
		{"POST", "/subjects/s/versions", ContentType, `{"schema":`},
		{"POST", "/subjects/s/versions", ContentType, `{"schema":5,"references":{}}`},
		{"POST", "/subjects/s/versions", ContentType, "{\"schema\":\"\\\"str\xffing\\\"\"}"},
		{"POST", "/subjects/s/versions", "text/plain; charset=\"", `{}`},
		{"HEAD", "/subjects", "", ""},
		{"OPTIONS", "/subjects/s/versions/1/referencedby", "", ""},
		{"GET", "/subjects/s/../../mode", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.contentType, []byte(s.body))
	}
	h := newFuzzHandler(f)
	f.Fuzz(func(t *testing.T, method, target, contentType string, body []byte) {
		if !validMethod(method) || !strings.HasPrefix(target, "/") {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := &http.Request{
			Method:        method,
			URL:           u,
			RequestURI:    target,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{},
			Body:          http.NoBody,
			Host:          "schemagate.test",
			RemoteAddr:    "127.0.0.1:1",
			ContentLength: int64(len(body)),
		}
		if len(body) > 0 {
			req.Body = httpBody(body)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req = req.WithContext(t.Context())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkConfluentResponse(t, method, target, rec)
	})
}

// validMethod reports whether m is an HTTP token, the only methods net/http passes on.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func httpBody(b []byte) *readCloser { return &readCloser{Reader: bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// FuzzDecodeSchemaRequest feeds request bodies to the decoder of register, lookup and
// compatibility requests: it must never panic, every refusal is an apiError with a status the
// API documents and an error_code whose first three digits are that status, and an accepted
// body yields the schema text it carried, unchanged.
func FuzzDecodeSchemaRequest(f *testing.F) {
	for _, s := range []string{
		`{"schema":"\"string\""}`,
		`{"schema":"\"string\"","schemaType":"JSON","references":[{"name":"a","subject":"b","version":1}],"metadata":{"properties":{}},"ruleSet":{},"id":1,"version":1,"normalize":true}`,
		`{"schema":"\"string\"","schema":"\"int\""}`,
		`{"schema":"\"string\"","version":9999999999}`,
		`{"schema":"\"string\"","id":-1}`,
		`{"schema":"\"string\"","id":1e3}`,
		`{"schema":""}`,
		`{"schema":null}`,
		`{"schema":`,
		`[]`, `null`, ` `, ``,
		"{\"schema\":\"\xff\"}",
		`{"schema":"\"string\""} {}`,
		`{"schema":"a","metadata":{"a":1,"a":2}}`,
		`{"schema":"a","SCHEMA":"b"}`,
		`{"schema":"a","ſchema":"b"}`,
		`{"schema":"a","metadata":{"K":1,"k":2,"K":3}}`,
		`{"schema":"a","references":[{"name":"a","NAME":"b"}]}`,
		`{"references":[{"version":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/subjects/s/versions", bytes.NewReader(body))
		in, err := readSchemaRequest(r)
		if err != nil {
			var ae apiError
			if !errors.As(err, &ae) {
				t.Fatalf("body %q: error %v is not an apiError", body, err)
			}
			if _, ok := errorStatuses[ae.status]; !ok || statusOf(ae.code) != ae.status || ae.msg == "" {
				t.Fatalf("body %q: apiError %+v; want a documented status, a code starting with it and a message", body, ae)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("body %q is not UTF-8 but was accepted", body)
		}
		var req struct{ Schema string }
		if err := json.Unmarshal(body, &req); err != nil || req.Schema != in.Text || in.Text == "" {
			t.Fatalf("body %q: schema text %q; want %q (%v)", body, in.Text, req.Schema, err)
		}
	})
}
