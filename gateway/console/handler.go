package console

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/schemagate/schemagate/gateway/auth"
)

// maxFormBytes bounds the body of a console form.
const maxFormBytes = 64 << 10

// csrfField is the hidden form field, and csrfHeader the header (htmx requests, via
// hx-headers), that carry the session's CSRF token.
const (
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// contentSecurityPolicy allows the console's own scripts, styles and images and nothing else:
// no inline script or style, no framing, forms posting only to the console.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the console's routes, all under /ui/; mount it there on the gateway's mux.
// Every response carries the security headers (see securityHeaders); every page needs a
// session (without one, a GET is redirected to the sign-in page); every POST needs the
// session's CSRF token and a same-origin Origin header when the browser sends one.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ui/static/{hash}/{name}", c.static)
	mux.HandleFunc("GET /ui/signin", c.signInPage)
	mux.HandleFunc("POST /ui/signin", c.signIn)
	if c.oidc != nil {
		mux.HandleFunc("GET /ui/oidc/login", c.oidc.Login)
		mux.HandleFunc("GET /ui/oidc/callback", c.oidcCallback)
	}
	mux.Handle("POST /ui/signout", c.action(c.signOut))
	mux.Handle("GET /ui/{$}", c.page(c.subjectsPage))
	mux.Handle("GET /ui/fragments/subjects", c.fragment(c.subjectsPage))
	mux.Handle("GET /ui/subjects/{subject}", c.page(c.subjectPage))
	mux.Handle("GET /ui/fragments/subjects/{subject}", c.fragment(c.subjectStatusPart))
	mux.Handle("POST /ui/subjects/{subject}/promotions", c.action(c.requestPromotion))
	mux.Handle("POST /ui/subjects/{subject}/rollback", c.action(c.rollback))
	mux.Handle("POST /ui/subjects/{subject}/override", c.action(c.override))
	mux.Handle("POST /ui/subjects/{subject}/drill", c.action(c.drill))
	mux.Handle("POST /ui/subjects/{subject}/owner", c.action(c.setOwner))
	mux.Handle("GET /ui/promotions", c.page(c.promotionsPage))
	mux.Handle("POST /ui/promotions/request", c.action(c.requestPromotion))
	mux.Handle("POST /ui/promotions/{id}/approve", c.action(c.approve))
	mux.Handle("POST /ui/promotions/{id}/reject", c.action(c.reject))
	mux.Handle("GET /ui/audit", c.page(c.auditPage))
	mux.Handle("GET /ui/governance", c.page(c.governancePage))
	return securityHeaders(mux)
}

// securityHeaders sets the headers every console response carries: the CSP, no framing, no
// MIME sniffing, no referrer outside the console; and no caching except for the hashed assets.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, staticPrefix) {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// view is what a page handler returns: the page template and its data.
type view struct {
	page  string // template file without .html; also the name of its fragment, when it has one
	title string
	data  any
}

// pageFunc reads what a page shows, as the session's principal.
type pageFunc func(r *http.Request, ss *session) (view, error)

// actionFunc does what a form asks, as the session's principal, and returns where to go next.
type actionFunc func(w http.ResponseWriter, r *http.Request, ss *session) (redirect string, err error)

// session returns the request's live session, or nil. touch: see sessions.lookup.
func (c *Console) session(r *http.Request, touch bool) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return nil
	}
	return c.sessions.lookup(ck.Value, touch)
}

// page serves a full page; without a session it redirects to the sign-in page.
func (c *Console) page(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss := c.session(r, true)
		if ss == nil {
			http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
			return
		}
		v, err := f(r, ss)
		if err != nil {
			c.renderError(w, r, ss, err)
			return
		}
		c.render(w, r, ss, http.StatusOK, v, "layout")
	})
}

// fragment serves the live part of a page (htmx polling); it does not count as activity for
// the idle expiry. Without a session it answers 401 and htmx leaves the page as it was.
func (c *Console) fragment(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss := c.session(r, false)
		if ss == nil {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		v, err := f(r, ss)
		if err != nil {
			c.renderError(w, r, ss, err)
			return
		}
		c.render(w, r, ss, http.StatusOK, v, v.page+"-live")
	})
}

// action serves a state-changing form: it needs a session, a same-origin request and the
// session's CSRF token (form field or header), then redirects (303) where f says, or shows the
// API's refusal with its status.
func (c *Console) action(f actionFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "unreadable form", http.StatusBadRequest)
			return
		}
		if !sameOrigin(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		ss := c.session(r, true)
		if ss == nil {
			http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
			return
		}
		token := r.PostForm.Get(csrfField)
		if token == "" {
			token = r.Header.Get(csrfHeader)
		}
		if !ss.validCSRF(token) {
			c.log.InfoContext(r.Context(), "console request refused: missing or wrong CSRF token", "principal", ss.principal.Name, "path", r.URL.Path)
			c.renderError(w, r, ss, errCSRF)
			return
		}
		next, err := f(w, r, ss)
		if err != nil {
			c.renderError(w, r, ss, err)
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

// errCSRF refuses a state-changing request without the session's CSRF token.
var errCSRF = errors.New("this form has expired or did not come from this console: reload the page and try again")

// sameOrigin reports whether the request's Origin header, when the browser sent one, names
// this host.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// signInPage shows the sign-in form, or the subjects to a signed-in person.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if c.session(r, false) != nil {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, view{page: "signin", title: "Sign in", data: signInForm{OIDC: c.oidc != nil}}, "layout")
}

// signInForm is what the sign-in page shows, again after a refusal.
type signInForm struct {
	Name  string
	Error string
	OIDC  bool // offer "Sign in with OIDC"
}

// oidcCallback finishes an OIDC sign-in: the provider vouched for the person, so a session
// starts; a refusal shows the sign-in page with the reason (it names no token or secret).
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	p, err := c.oidc.Callback(w, r)
	if err != nil {
		c.render(w, r, nil, http.StatusUnauthorized, view{page: "signin", title: "Sign in",
			data: signInForm{OIDC: true, Error: "OIDC sign-in failed: " + err.Error()}}, "layout")
		return
	}
	c.StartSession(w, r, p)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// signIn checks the form's principal name and password, or its token, with the API's
// authenticator (failures count toward the client's failure limit), and starts a session.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !sameOrigin(r) {
		http.Error(w, "unreadable or cross-origin sign-in", http.StatusBadRequest)
		return
	}
	name, password, token := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("password"), strings.TrimSpace(r.PostForm.Get("token"))
	var authorization string
	switch {
	case token != "":
		authorization = "Bearer " + token
	case name != "" || password != "":
		authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+password))
	}
	p, err := c.authn.SignIn(r.Context(), r, authorization)
	if err != nil {
		code, msg := http.StatusUnauthorized, "Wrong name, password or token."
		if retry, limited := auth.RetryAfter(err); limited {
			w.Header().Set("Retry-After", retry)
			code, msg = http.StatusTooManyRequests, "Too many failed sign-ins from this address: wait "+retry+" seconds and try again."
		} else if errors.Is(err, auth.ErrBusy) {
			code, msg = http.StatusServiceUnavailable, "The server is busy checking passwords: try again in a moment."
		} else if errors.Is(err, auth.ErrNoCredentials) {
			msg = "Enter a name and password, or a token."
		}
		c.render(w, r, nil, code, view{page: "signin", title: "Sign in", data: signInForm{Name: name, Error: msg, OIDC: c.oidc != nil}}, "layout")
		return
	}
	c.StartSession(w, r, p)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// signOut revokes the session.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, ss *session) (string, error) {
	clearCookie(w, r)
	c.sessions.end(ss.id)
	c.log.InfoContext(r.Context(), "console sign-out", "principal", ss.principal.Name)
	return "/ui/signin", nil
}
