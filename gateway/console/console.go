// Package console serves the governance console at /ui/: server-rendered pages for governance
// leads, on-call and schema owners, with small progressive enhancement (htmx, embedded).
//
// The console decides nothing. Every read and every action is a call to the gRPC services over
// the gateway's in-process connection, made as the session's principal (auth.SessionMetadata),
// so the auth and grant interceptors authorize it exactly as a call the principal made with its
// own credentials, and governance audits it with the principal. The console only hides the
// controls a principal's roles cannot use; the API refuses them anyway.
//
// Sessions are server-side, in the memory of the replica that signed the person in (see
// Options.SessionIdle): behind a load balancer, use sticky sessions, or people sign in again on
// each replica they reach.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Authenticator checks the credentials typed into the sign-in form; *auth.Authenticator is one.
type Authenticator interface {
	// SignIn authenticates an Authorization value for the client of r, counting failures
	// toward the client's failure limit.
	SignIn(ctx context.Context, r *http.Request, authorization string) (auth.Principal, error)
}

// OIDCSignIn signs people in through an OpenID Provider; *oidc.Provider is one.
type OIDCSignIn interface {
	// Login starts a sign-in and redirects the browser to the provider.
	Login(w http.ResponseWriter, r *http.Request)
	// Callback finishes the sign-in the provider redirected back with and returns the person
	// as a principal; its errors may be shown to the person. It writes nothing to w but
	// cookies.
	Callback(w http.ResponseWriter, r *http.Request) (auth.Principal, error)
}

// Options configures a Console.
type Options struct {
	// Conn is the gateway's in-process connection to its gRPC server (an auth.InProcessListener
	// accepts it); required. Calls on it carry the session's principal as reserved metadata,
	// which the server trusts only on in-process connections.
	Conn grpc.ClientConnInterface
	// Authenticator checks sign-ins; required.
	Authenticator Authenticator
	// Logger is required.
	Logger *slog.Logger
	// Now is the clock of session expiry. Nil means time.Now.
	Now func() time.Time
	// SessionIdle ends a session after this long without a request (the pages' automatic
	// refresh does not count); required, positive.
	SessionIdle time.Duration
	// SessionMax ends a session this long after sign-in; required, at least SessionIdle.
	SessionMax time.Duration
	// MinValidations is governance.min_validations, shown as the goal of the validations
	// progress bar. Zero shows the count without a bar.
	MinValidations int64
	// OIDC, when set, offers "Sign in with OIDC" on the sign-in page and serves
	// /ui/oidc/login and /ui/oidc/callback (the redirect URL registered at the provider). Nil:
	// sign-in with a configured principal's credentials only.
	OIDC OIDCSignIn
	// RefreshInterval is how often the status parts of the subjects list and subject page
	// refresh themselves. Zero means 5s.
	RefreshInterval time.Duration
}

// Console serves /ui/.
type Console struct {
	log      *slog.Logger
	sessions *sessions
	authn    Authenticator
	oidc     OIDCSignIn
	gov      pb.GovernanceServiceClient
	reg      pb.RegistryServiceClient
	val      pb.ValidationServiceClient
	pages    map[string]*template.Template
	static   *staticFiles
	minValid int64
	refresh  time.Duration
}

// New builds a Console; it fails when a required option is missing or a template does not
// parse.
func New(opts Options) (*Console, error) {
	switch {
	case opts.Conn == nil:
		return nil, errors.New("console: Options.Conn is required")
	case opts.Authenticator == nil:
		return nil, errors.New("console: Options.Authenticator is required")
	case opts.Logger == nil:
		return nil, errors.New("console: Options.Logger is required")
	case opts.SessionIdle <= 0 || opts.SessionMax < opts.SessionIdle:
		return nil, fmt.Errorf("console: session idle %s and max %s: both positive, max at least idle", opts.SessionIdle, opts.SessionMax)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	refresh := opts.RefreshInterval
	if refresh <= 0 {
		refresh = 5 * time.Second
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c := &Console{
		log: opts.Logger, sessions: newSessions(opts.SessionIdle, opts.SessionMax, now), authn: opts.Authenticator, oidc: opts.OIDC,
		gov: pb.NewGovernanceServiceClient(opts.Conn), reg: pb.NewRegistryServiceClient(opts.Conn),
		val: pb.NewValidationServiceClient(opts.Conn), static: newStaticFiles(sub), minValid: opts.MinValidations, refresh: refresh,
	}
	if c.pages, err = parsePages(c.funcs()); err != nil {
		return nil, err
	}
	return c, nil
}

// StartSession signs p in: it ends the session the request carried, if any (a new sign-in
// never reuses a session ID), opens a new one and sends its cookie. The sign-in form calls it
// once the credentials passed; another sign-in (OIDC) calls it once its provider vouched for p.
// The caller then redirects.
func (c *Console) StartSession(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.sessions.end(ck.Value)
	}
	ss := c.sessions.start(p)
	c.sessions.setCookie(w, r, ss)
	c.log.InfoContext(r.Context(), "console sign-in", "principal", p.Name, "peer", r.RemoteAddr)
}

// RevokePrincipals ends every session of the named principals (a configuration reload removed
// them or changed their roles or grants); they sign in again under the new configuration.
func (c *Console) RevokePrincipals(ctx context.Context, names []string) {
	if len(names) == 0 {
		return
	}
	if n := c.sessions.revoke(names); n > 0 {
		c.log.InfoContext(ctx, "console sessions revoked", "principals", names, "sessions", n)
	}
}

// callContext is the context of a gRPC call made for session ss, from request r.
func callContext(r *http.Request, ss *session) context.Context {
	return metadata.NewOutgoingContext(r.Context(), auth.SessionMetadata(r, ss.principal))
}
