package harness

import (
	"fmt"
	"html"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// oidcLoginPage is a test OpenID Provider's sign-in form, with labelled fields.
const oidcLoginPage = `<!doctype html><html lang="en"><head><title>Test identity provider</title></head><body><main>
<h1>Test identity provider</h1>
<form method="post" action="/login/username">
<input type="hidden" name="id" value="%s">
<label for="username">User name</label><input id="username" name="username">
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit" id="op-signin">Sign in</button>
</form></main></body></html>`

// PasswordChecker checks a person's user name and password for an authorization request, as
// zitadel/oidc's example storage (example/server/storage) does.
type PasswordChecker interface {
	CheckUsernamePassword(username, password, authRequestID string) error
}

// MountOIDCLogin mounts the sign-in form of a test OpenID Provider built with zitadel/oidc's op
// package on mux at /login/username, where the example storage's clients send the browser
// (?authRequestID=…). The form posts id, username and password; right ones redirect (302) to
// the provider's callback, which finishes the authorization request; wrong ones answer 401.
// Mount the provider itself on mux at "/".
func MountOIDCLogin(mux *http.ServeMux, provider *op.Provider, users PasswordChecker) {
	mux.HandleFunc("GET /login/username", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, oidcLoginPage, html.EscapeString(r.FormValue("authRequestID")))
	})
	interceptor := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux.HandleFunc("POST /login/username", interceptor.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("id")
		if err := users.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(provider)(r.Context(), id), http.StatusFound)
	}))
}
