// Package confluent serves the Confluent Schema Registry REST API (the paths at the root:
// /subjects, /schemas, /config, /mode, /compatibility, /contexts, /v1/metadata/id and
// /v1/metadata/version) over the registry, so Confluent clients and serializers work against
// schemagate unchanged.
//
// Responses are application/vnd.schemaregistry.v1+json. Errors are {"error_code": N,
// "message": "..."} with the HTTP status equal to the first three digits of N; registry and auth
// errors become codes in one table (errorCodes).
package confluent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/compatlimit"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/upstream"
)

// ContentType is the media type of every response.
const ContentType = "application/vnd.schemaregistry.v1+json"

// MaxBodyBytes bounds a request body. A schema is at most 1 MiB (registry.DefaultMaxSchemaBytes)
// and is sent JSON-escaped inside the body, so twice that plus room for references.
const MaxBodyBytes = 2<<20 + 64<<10

// Registry is what the handlers need of the schema registry.
type Registry interface {
	Register(ctx context.Context, subject string, in registry.SchemaInput) (registry.SubjectVersion, error)
	LookupSchema(ctx context.Context, subject string, in registry.SchemaInput, deleted bool) (registry.SubjectVersion, error)
	CheckCompatibility(ctx context.Context, subject string, version int, in registry.SchemaInput) ([]string, error)
	SchemaByID(ctx context.Context, id int) (registry.Schema, error)
	ResolvedSchemaText(ctx context.Context, id int) (string, error)
	SerializedSchemaText(ctx context.Context, id int) (string, error)
	SubjectVersion(ctx context.Context, subject string, version int, includeDeleted bool) (registry.SubjectVersion, error)
	ListSubjects(ctx context.Context, f registry.SubjectFilter) ([]string, error)
	ListVersions(ctx context.Context, subject string, deleted, deletedOnly bool) ([]int, error)
	Schemas(ctx context.Context, f registry.SchemaFilter) ([]registry.SubjectVersion, error)
	SubjectVersionsOfSchema(ctx context.Context, id int, deleted bool) ([]registry.SubjectVersion, error)
	ReferencedBy(ctx context.Context, subject string, version int) ([]int, error)
	MaxSchemaID(ctx context.Context) (int, error)
	DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error)
	DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error)
	Config(ctx context.Context, subject string, defaultToGlobal bool) (registry.Config, error)
	SetConfig(ctx context.Context, subject string, c registry.Config) (registry.Config, error)
	DeleteConfig(ctx context.Context, subject string) (registry.Config, error)
	AccessMode(ctx context.Context, subject string, defaultToGlobal bool) (registry.AccessMode, error)
	SetAccessMode(ctx context.Context, subject string, m registry.AccessMode, force bool) (registry.AccessMode, error)
	DeleteAccessMode(ctx context.Context, subject string) (registry.AccessMode, error)
}

// Options configures the handler.
type Options struct {
	// Registry is required.
	Registry Registry
	// Auth is required; with no principals configured it lets everybody in.
	Auth *auth.Authenticator
	// Logger is optional (nil discards); server-side failures are logged at error.
	Logger *slog.Logger
}

// NewHandler returns the Confluent REST API. Unknown paths answer 404 and known paths with
// another method 405, both in Confluent's error shape.
func NewHandler(opts Options) (http.Handler, error) {
	if opts.Registry == nil || opts.Auth == nil {
		return nil, errors.New("confluent: Options.Registry and Options.Auth are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{reg: opts.Registry, log: opts.Logger}
	mux := http.NewServeMux()
	r := router{mux: mux, auth: opts.Auth, crossOrigin: http.NewCrossOriginProtection()}
	h.routes(r)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, 404, "HTTP 404 Not Found")
	})
	return mux, nil
}

type handler struct {
	reg Registry
	log *slog.Logger
}

// endpoint is one method of one path: the permission it needs, how it is checked against the
// caller's subject grants, and its handler, which returns the response body or an error.
type endpoint struct {
	perm  auth.Permission
	scope scope
	fn    func(r *http.Request) (any, error)
}

type router struct {
	mux         *http.ServeMux
	auth        *auth.Authenticator
	crossOrigin *http.CrossOriginProtection
}

// handle registers pattern (a path without a method) with its endpoints by method; any other
// method answers 405.
func (rt router) handle(h *handler, pattern string, methods map[string]endpoint) {
	allowed := make([]string, 0, len(methods))
	byMethod := map[string]http.Handler{}
	for method, ep := range methods {
		allowed = append(allowed, method)
		byMethod[method] = rt.auth.HTTPMiddleware(ep.perm, h.serve(ep.scope, ep.fn), h.fail)
	}
	slices.Sort(allowed) // map order is random; Allow is the same on every answer
	allow := strings.Join(allowed, ", ")
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		next, ok := byMethod[r.Method]
		if !ok && r.Method == http.MethodHead {
			next, ok = byMethod[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, 405, "HTTP 405 Method Not Allowed")
			return
		}
		if err := checkRequest(rt.crossOrigin, r); err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkRequest refuses, before credentials are looked at, the requests a web page on another
// site could make a browser send (cross-site request forgery): a state-changing request (any
// method but GET, HEAD and OPTIONS) that the browser marks as cross-origin (Sec-Fetch-Site
// other than same-origin or none, or an Origin whose host is not the request's Host) is 40301;
// a POST or PUT (every one takes a JSON body) or any request with a body whose Content-Type is
// not one Confluent accepts is 415. Without a Content-Type, or with a form or text/plain one, a
// page can post across sites without a CORS preflight. Confluent clients send
// application/vnd.schemaregistry.v1+json; other clients that send no header must add one.
func checkRequest(crossOrigin *http.CrossOriginProtection, r *http.Request) error {
	if crossOrigin.Check(r) != nil {
		return apiError{status: http.StatusForbidden, code: 40301,
			msg: "cross-site request refused: a state-changing request must come from the registry's own origin (Sec-Fetch-Site, Origin)"}
	}
	return checkContentType(r)
}

// serve checks the caller's subject grants against s, then runs fn and writes its result or
// error.
func (h *handler) serve(s scope, fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.followAlias(r); err != nil {
			h.fail(w, r, err)
			return
		}
		if err := h.checkScope(r, s); err != nil {
			if errors.Is(err, auth.ErrPermissionDenied) {
				h.log.InfoContext(r.Context(), "subject not granted", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			h.fail(w, r, err)
			return
		}
		body, err := fn(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		if raw, ok := body.(rawJSON); ok {
			_, _ = w.Write(raw)
			return
		}
		b, err := json.Marshal(body)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		_, _ = w.Write(b)
	}
}

// rawJSON is a response body written as it is (the /schema endpoints return the schema
// document itself).
type rawJSON []byte

// acceptedContentTypes are the request media types Confluent's resources consume. None of them
// can be sent across sites without a CORS preflight.
var acceptedContentTypes = map[string]bool{
	"application/vnd.schemaregistry.v1+json": true,
	"application/vnd.schemaregistry+json":    true,
	"application/json":                       true,
	"application/octet-stream":               true,
}

// checkContentType requires an accepted Content-Type on a POST or PUT, and on any other request
// that has a body.
func checkContentType(r *http.Request) error {
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.ContentLength == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !acceptedContentTypes[mt] {
		return apiError{status: http.StatusUnsupportedMediaType, code: 415,
			msg: "HTTP 415 Unsupported Media Type: send Content-Type: application/vnd.schemaregistry.v1+json (or application/json) with the request body"}
	}
	return nil
}

// apiError is an error that already knows its Confluent code.
type apiError struct {
	status, code int
	msg          string
}

func (e apiError) Error() string { return e.msg }

// errorCodes maps registry and auth errors to Confluent error codes; the HTTP status is the
// first three digits. It is the only place such an error becomes a code.
var errorCodes = []struct {
	err  error
	code int
}{
	{registry.ErrSubjectNotFound, 40401},
	{registry.ErrVersionNotFound, 40402},
	{registry.ErrSchemaNotFound, 40403},
	{registry.ErrSubjectSoftDeleted, 40404},
	{registry.ErrSubjectNotSoftDeleted, 40405},
	{registry.ErrVersionSoftDeleted, 40406},
	{registry.ErrVersionNotSoftDeleted, 40407},
	{registry.ErrSubjectCompatibilityNotConfigured, 40408},
	{registry.ErrSubjectModeNotConfigured, 40409},
	{registry.ErrIncompatible, 409},
	{registry.ErrInvalidSchema, 42201},
	{registry.ErrReferenceNotFound, 42201}, // Confluent reports a missing reference as an invalid schema
	{registry.ErrInvalidVersion, 42202},
	{registry.ErrInvalidCompatibility, 42203},
	{registry.ErrInvalidMode, 42204},
	{registry.ErrOperationNotPermitted, 42205},
	{registry.ErrReferenceInUse, 42206},
	{registry.ErrInvalidSubject, 42208},
	{auth.ErrNoCredentials, 40101},
	{auth.ErrBadCredentials, 40101},
	{auth.ErrPermissionDenied, 40301},
	{auth.ErrTooManyFailures, 42901},
	{auth.ErrBusy, 50301},
	{registry.ErrTooManyChecks, 42901},
	{registry.ErrStore, 50001},
}

// fail writes err in Confluent's shape. Errors of unknown origin are logged and reported as
// 50001 without their text.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae apiError
	if errors.As(err, &ae) {
		writeError(w, ae.status, ae.code, ae.msg)
		return
	}
	// Upstream mode: the upstream registry's answer reaches the client unchanged (status,
	// error_code, message), and no answer at all is 50001 "upstream registry unreachable",
	// whatever deadline ran out on the way.
	var upstreamErr *upstream.APIError
	if errors.As(err, &upstreamErr) {
		if upstream.CredentialsRefused(upstreamErr) {
			// The upstream refused schemagate's own credentials: the caller's are not at fault.
			h.log.ErrorContext(r.Context(), "upstream registry refused schemagate's credentials (schema_registry.upstream)", "path", r.URL.Path, "error", err)
			writeError(w, http.StatusInternalServerError, 50001, "upstream registry refused schemagate's credentials")
			return
		}
		writeError(w, upstreamErr.Status, upstreamErr.ErrorCode, upstreamErr.Message)
		return
	}
	if errors.Is(err, upstream.ErrUnavailable) {
		h.log.WarnContext(r.Context(), "upstream registry unreachable", "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, 50001, err.Error())
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, 50002, "Operation timed out")
		return
	}
	if retry, ok := compatlimit.RetryAfter(err); ok {
		w.Header().Set("Retry-After", retry)
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			if m.code == 50001 {
				h.log.ErrorContext(r.Context(), "store failure", "path", r.URL.Path, "error", err)
			}
			writeError(w, statusOf(m.code), m.code, err.Error())
			return
		}
	}
	h.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, 50001, "Error in the backend data store")
}

// statusOf is the HTTP status of a Confluent code: its first three digits.
func statusOf(code int) int {
	for code >= 1000 {
		code /= 10
	}
	return code
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error_code": code, "message": msg})
	_, _ = w.Write(b)
}

// decodeBody reads a JSON request body into v. Syntax errors are 400 and wrong field types 422,
// with error codes equal to the status, as Confluent answers; an oversized body is 42209
// (schema too large). Unknown fields are ignored, as Confluent does, so newer clients work.
// A body that is not UTF-8 or repeats a key within one object is a 400 too: encoding/json
// would silently replace the bad bytes and keep the last duplicate, so the registry could
// store something other than what a proxy or an auditor read in the same request.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return apiError{status: http.StatusBadRequest, code: 400, msg: "could not read the request body"}
	}
	if len(body) > MaxBodyBytes {
		return apiError{status: 422, code: 42209, msg: fmt.Sprintf("Schema too large: the request body exceeds %d bytes", MaxBodyBytes)}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return apiError{status: 422, code: 422, msg: "Request body is empty: a JSON object is required"}
	}
	if !utf8.Valid(body) {
		return apiError{status: 400, code: 400, msg: fmt.Sprintf("Invalid UTF-8 in the JSON body at byte offset %d", invalidUTF8At(body))}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return apiError{status: 400, code: 400, msg: fmt.Sprintf("Unexpected character in the JSON body at offset %d: %s", se.Offset, se.Error())}
		case errors.As(err, &te) && te.Field == "":
			return apiError{status: 422, code: 422, msg: fmt.Sprintf("Cannot deserialize the request: the body must be %s, not a JSON %s", describeKind(te.Type.Kind().String()), te.Value)}
		case errors.As(err, &te):
			return apiError{status: 422, code: 422, msg: fmt.Sprintf("Cannot deserialize the request: field %q must be %s, not a JSON %s", te.Field, describeKind(te.Type.Kind().String()), te.Value)}
		default:
			return apiError{status: 400, code: 400, msg: "Malformed JSON body: " + err.Error()}
		}
	}
	if key, offset, dup := duplicateKey(body); dup {
		return apiError{status: 400, code: 400, msg: fmt.Sprintf("Duplicate field %q in the JSON body at byte offset %d", key, offset)}
	}
	return nil
}

// invalidUTF8At returns the offset of the first byte of b that does not start a valid UTF-8
// sequence.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// duplicateKey finds the first key that occurs twice in one object of body, a JSON document
// that has already decoded, and the byte offset just after its second occurrence. In the
// objects decoded into request structs (the body itself and the objects of its arrays, such
// as references) keys are compared as encoding/json matches them to fields, ignoring case
// ("Schema" and "ſchema" both set "schema"); elsewhere (metadata, ruleSet) exactly. It keeps
// an explicit stack, so no nesting can exhaust the goroutine stack.
func duplicateKey(body []byte) (key string, offset int64, found bool) {
	type frame struct {
		keys      map[string]bool // nil for an array
		fold      bool            // keys are compared ignoring case
		expectKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", 0, false // io.EOF: the whole document was read
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].expectKey {
			top := stack[n-1]
			k, _ := tok.(string)
			id := k
			if top.fold {
				id = foldKey(k)
			}
			if top.keys[id] {
				return k, dec.InputOffset(), true
			}
			top.keys[id] = true
			top.expectKey = false
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			f := &frame{}
			if d == '{' {
				// The body, and an object in an array of the body, are decoded into structs.
				n := len(stack)
				f.fold = n == 0 || n == 2 && stack[0].keys != nil && stack[1].keys == nil
				f.keys, f.expectKey = map[string]bool{}, true
			}
			stack = append(stack, f)
			continue
		}
		valueDone()
	}
}

// foldKey maps every key encoding/json would match to the same struct field to one string:
// each rune becomes the smallest rune of its Unicode case-folding orbit.
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				r = next
				break
			}
			r = next
		}
		b.WriteRune(r)
	}
	return b.String()
}

func describeKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int32", "int64":
		return "an integer"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return kind
}

// Query parameter helpers. Confluent reads booleans leniently: "true" (any case) is true.

func queryBool(r *http.Request, name string) bool {
	return strings.EqualFold(r.URL.Query().Get(name), "true")
}

func queryInt(r *http.Request, name string, def int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, apiError{status: 400, code: 400, msg: fmt.Sprintf("query parameter %s=%q is not an integer", name, s)}
	}
	return n, nil
}

// pageParams reads the offset and limit query parameters (Confluent's defaults: 0 and -1, no
// limit).
func pageParams(r *http.Request) (offset, limit int, err error) {
	if offset, err = queryInt(r, "offset", 0); err != nil {
		return 0, 0, err
	}
	limit, err = queryInt(r, "limit", -1)
	return offset, limit, err
}

// parseVersion reads a version path segment: a number from 1 to 2^31-1, "latest" or -1.
func parseVersion(s string) (int, error) {
	if s == "latest" || s == "-1" {
		return -1, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > 1<<31-1 {
		return 0, apiError{status: 422, code: 42202, msg: fmt.Sprintf(
			"The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", s)}
	}
	return v, nil
}

// parseID reads a schema ID path segment.
func parseID(s string) (int, error) {
	id, err := strconv.Atoi(s)
	if err != nil || id < 1 || id > 1<<31-1 {
		return 0, apiError{status: 404, code: 40403, msg: fmt.Sprintf("Schema %s not found", s)}
	}
	return id, nil
}
