package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Challenge is the WWW-Authenticate value of every HTTP 401 (see HTTPMiddleware).
const Challenge = `Bearer realm="schemagate"`

// HTTPMiddleware protects a plain HTTP route (the Confluent REST API) with
// perm. The request's Authorization header and the client certificate
// verified by the TLS handshake (r.TLS) are checked with
// AuthenticateCredentials; the client is the IP address of the connection
// (r.RemoteAddr; X-Forwarded-For is never trusted). A refusal is handed to
// fail, which writes the response (status and body are the caller's); the
// headers that are this package's HTTP policy are set before:
//   - a client over the failure limit (Options.MaxFailures), before its
//     credentials are looked at: ErrTooManyFailures ("too many failed
//     authentication attempts from this client; retry in Ns") with
//     `Retry-After: N` (seconds);
//   - no or invalid credentials: ErrNoCredentials or ErrBadCredentials with
//     `WWW-Authenticate: Bearer realm="schemagate"` (Challenge). The
//     challenge is deliberately not Basic: a browser answers a Basic
//     challenge with a login prompt and then sends the credentials it was
//     given with every later request to the host, from any site, which
//     turns a cross-site form into an authenticated call. Confluent clients
//     send their basic credentials without being asked;
//   - missing permission: ErrPermissionDenied naming the principal, its
//     roles and the permission.
//
// Otherwise next runs with the Principal in the request context (the
// anonymous principal when Open). Messages never contain credentials. It
// panics if perm is not a defined permission or fail is nil.
func (a *Authenticator) HTTPMiddleware(perm Permission, next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	if !perm.known() {
		panic(fmt.Sprintf("auth: HTTPMiddleware with undefined permission %q", perm))
	}
	return a.httpCheck(perm, next, fail)
}

// HTTPAuthenticated protects a plain HTTP route that any authenticated principal may read,
// whatever its roles and subject grants (/metrics with metrics.require_auth), with the policy
// of HTTPMiddleware otherwise: the failure limit, 401 with WWW-Authenticate, the Principal in
// the context. It panics if fail is nil.
func (a *Authenticator) HTTPAuthenticated(next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return a.httpCheck("", next, fail)
}

// httpCheck is HTTPMiddleware; perm "" lets every authenticated principal through.
func (a *Authenticator) httpCheck(perm Permission, next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	if fail == nil {
		panic("auth: HTTP middleware without a fail function")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, err := a.check(ctx, httpClient(r), r.Header.Get("Authorization"))
		if retry, limited := RetryAfter(err); limited {
			a.log.InfoContext(ctx, "refused: too many failed authentications", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr)
			w.Header().Set("Retry-After", retry)
			fail(w, r, err)
			return
		}
		if err != nil {
			a.log.InfoContext(ctx, "authentication failed", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr, "error", err)
			w.Header().Set("WWW-Authenticate", Challenge)
			fail(w, r, clientError(err))
			return
		}
		if perm != "" && !p.Can(perm) {
			a.log.InfoContext(ctx, "permission denied", "method", r.Method, "path", r.URL.Path, "principal", p.Name, "peer", r.RemoteAddr, "permission", perm)
			fail(w, r, errDenied(p, perm))
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(ctx, p)))
	})
}

// SignIn authenticates the credentials a person typed into the console's
// sign-in form, given as an Authorization value ("Bearer <token>" or
// "Basic <base64(name:password)>"), for the client of r. It applies the
// policy of HTTPMiddleware: a client over the failure limit is refused
// with ErrTooManyFailures before the credentials are looked at, and a
// failed sign-in counts toward the same limit as a failed API call from
// that client. Errors are ErrNoCredentials, ErrBadCredentials (messages
// for people, never quoting a credential), ErrTooManyFailures or ErrBusy.
func (a *Authenticator) SignIn(ctx context.Context, r *http.Request, authorization string) (Principal, error) {
	c := httpClient(r)
	p, err := a.check(ctx, c, authorization)
	if _, limited := RetryAfter(err); limited {
		a.log.InfoContext(ctx, "console sign-in refused: too many failed authentications", "peer", r.RemoteAddr)
		return Principal{}, err
	}
	if err != nil {
		a.log.InfoContext(ctx, "console sign-in failed", "peer", r.RemoteAddr, "error", err)
		if errors.Is(err, ErrBusy) {
			return Principal{}, err
		}
		return Principal{}, clientError(err)
	}
	return p, nil
}
