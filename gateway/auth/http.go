package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Confluent Schema Registry error codes for authentication and
// authorization failures.
const (
	errorCodeUnauthorized    = 40101
	errorCodeForbidden       = 40301
	errorCodeTooManyRequests = 42901
)

// contentTypeSchemaRegistry is the media type of Confluent REST responses.
const contentTypeSchemaRegistry = "application/vnd.schemaregistry.v1+json"

// HTTPMiddleware protects a plain HTTP route (the Confluent REST API) with
// perm. The request's Authorization header and the client certificate
// verified by the TLS handshake (r.TLS) are checked with
// AuthenticateCredentials; the client is the IP address of the connection
// (r.RemoteAddr; X-Forwarded-For is never trusted). Failures are answered
// in the Confluent error format with content type
// application/vnd.schemaregistry.v1+json:
//   - a client over the failure limit (Options.MaxFailures), before its
//     credentials are looked at: 429, `Retry-After: N` (seconds) and
//     {"error_code":42901,"message":"too many failed authentication
//     attempts from this client; retry in Ns"};
//   - no or invalid credentials: 401, `WWW-Authenticate: Basic
//     realm="schemagate"` (so Confluent clients and browsers send basic
//     auth) and {"error_code":40101,"message":...};
//   - missing permission: 403 and {"error_code":40301,"message":...}
//     naming the principal, its roles and the permission.
//
// Otherwise next runs with the Principal in the request context (the
// anonymous principal when Open). Messages never contain credentials. It
// panics if perm is not a defined permission.
func (a *Authenticator) HTTPMiddleware(perm Permission, next http.Handler) http.Handler {
	if !perm.known() {
		panic(fmt.Sprintf("auth: HTTPMiddleware with undefined permission %q", perm))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, err := a.check(ctx, httpClient(r), r.Header.Get("Authorization"))
		var limited *rateLimitedError
		if errors.As(err, &limited) {
			a.log.InfoContext(ctx, "refused: too many failed authentications", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr)
			w.Header().Set("Retry-After", limited.retryAfter())
			writeError(w, http.StatusTooManyRequests, errorCodeTooManyRequests, limited.Error())
			return
		}
		if err != nil {
			a.log.InfoContext(ctx, "authentication failed", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr, "error", err)
			w.Header().Set("WWW-Authenticate", `Basic realm="schemagate"`)
			writeError(w, http.StatusUnauthorized, errorCodeUnauthorized, clientError(err).Error())
			return
		}
		if !p.Can(perm) {
			a.log.InfoContext(ctx, "permission denied", "method", r.Method, "path", r.URL.Path, "principal", p.Name, "peer", r.RemoteAddr, "permission", perm)
			writeError(w, http.StatusForbidden, errorCodeForbidden, errDenied(p, perm).Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(ctx, p)))
	})
}

// writeError writes a Confluent-style error body.
func writeError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", contentTypeSchemaRegistry)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}{code, message})
}
