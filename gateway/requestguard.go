package gateway

import (
	"mime"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// guardV1 refuses, before next reads the body or looks at credentials, the /v1 requests a web
// page on another site could make a browser send (cross-site request forgery):
//
//   - a state-changing request (any method but GET, HEAD and OPTIONS) that a browser marks as
//     coming from another origin: Sec-Fetch-Site other than same-origin or none (same-site
//     too: a sibling host is another party), or, from browsers without Sec-Fetch-Site, an
//     Origin whose host is not the request's Host. 403 (PermissionDenied). Clients that are
//     not browsers send neither header and are not affected (http.CrossOriginProtection);
//   - a POST or PUT, or any request with a body, whose Content-Type is not
//     application/json (a charset parameter may be utf-8 only). 415. A form or a text/plain
//     body is what a page can post across sites without a CORS preflight; application/json
//     needs one, which schemagate never grants. A POST without a body needs the header too:
//     the promotion approval takes an empty body.
//
// Errors have the /v1 error shape, written by api's error handler (httpError).
func guardV1(api *runtime.ServeMux, next http.Handler) http.Handler {
	crossOrigin := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch {
		case crossOrigin.Check(r) != nil:
			err = status.Error(codes.PermissionDenied, "cross-site request refused: a state-changing request must come from the API's own origin (Sec-Fetch-Site, Origin)")
		case needsJSONBody(r) && !isJSONContentType(r.Header.Get("Content-Type")):
			w = &statusOverride{ResponseWriter: w, status: http.StatusUnsupportedMediaType}
			err = status.Error(codes.InvalidArgument, `unsupported Content-Type: send "Content-Type: application/json" with a request body`)
		default:
			next.ServeHTTP(w, r)
			return
		}
		_, outbound := runtime.MarshalerForRequest(api, r)
		httpError(r.Context(), api, outbound, w, r, err)
	})
}

// needsJSONBody reports whether r must declare a JSON body: POST and PUT always (every /v1
// route of theirs takes one), other methods when they carry a body. (A PATCH without a body,
// which no route takes, is answered 405 by the routing.)
func needsJSONBody(r *http.Request) bool {
	return r.Method == http.MethodPost || r.Method == http.MethodPut || r.ContentLength != 0
}

// isJSONContentType reports whether ct is application/json, with at most a charset parameter
// of utf-8 (any case).
func isJSONContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}
