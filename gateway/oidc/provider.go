package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/schemagate/schemagate/gateway/auth"
)

// Defaults of Options.
const (
	// DefaultDiscoveryTimeout bounds discovery at start-up.
	DefaultDiscoveryTimeout = 10 * time.Second
	// DefaultSignInTimeout is how long a person has from Login to Callback.
	DefaultSignInTimeout = 10 * time.Minute
	// DefaultHTTPTimeout bounds each call to the provider (token, keys, userinfo).
	DefaultHTTPTimeout = 10 * time.Second
)

// maxProviderErrorBytes bounds how much of the provider's error text an error repeats.
const maxProviderErrorBytes = 200

// Options configures a Provider. The zero value is usable.
type Options struct {
	// Logger receives the start-up line and each refused sign-in (with the reason, never a
	// token). Nil discards.
	Logger *slog.Logger
	// HTTPClient calls the provider: discovery, token, keys and userinfo endpoints. Nil: a
	// client with DefaultHTTPTimeout and the system's roots of trust.
	HTTPClient *http.Client
	// DiscoveryTimeout bounds discovery in New. Zero: DefaultDiscoveryTimeout.
	DiscoveryTimeout time.Duration
	// SignInTimeout is how long the sign-in cookie (state, nonce, PKCE verifier) is valid,
	// enforced by the cookie's sealed time stamp as well as its Max-Age. Zero:
	// DefaultSignInTimeout.
	SignInTimeout time.Duration
}

// Provider is the relying party of one OpenID Provider. It keeps no state between requests
// (each sign-in lives in its own cookie) and is safe for concurrent use.
type Provider struct {
	cfg     Config
	rp      rp.RelyingParty
	cookies *httphelper.CookieHandler
	logger  *slog.Logger
}

type nonceKey struct{}

// New checks cfg, reads the client secret and the cookie key, and runs discovery against
// cfg.Issuer (bounded by opts.DiscoveryTimeout and ctx). Every error names the auth.oidc key
// at fault. cfg must be enabled (Config.Enabled).
func New(ctx context.Context, cfg Config, opts Options) (*Provider, error) {
	if !cfg.Enabled() {
		return nil, errors.New("auth.oidc.issuer is not set: OIDC sign-in is off")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	secret, err := os.ReadFile(cfg.ClientSecretFile)
	if err != nil {
		return nil, fmt.Errorf("auth.oidc.client_secret_file: %w", err)
	}
	if secret = []byte(strings.TrimSpace(string(secret))); len(secret) == 0 {
		return nil, fmt.Errorf("auth.oidc.client_secret_file %s: is empty", cfg.ClientSecretFile)
	}
	key, err := cookieSecret(cfg.CookieKeyFile)
	if err != nil {
		return nil, err
	}
	signInTimeout := cmpOr(opts.SignInTimeout, DefaultSignInTimeout)
	cookies, err := newCookies(key, cfg.RedirectURL, signInTimeout)
	if err != nil {
		return nil, err
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dctx, cancel := context.WithTimeout(ctx, cmpOr(opts.DiscoveryTimeout, DefaultDiscoveryTimeout))
	defer cancel()
	party, err := rp.NewRelyingPartyOIDC(dctx, cfg.Issuer, cfg.ClientID, string(secret), cfg.RedirectURL, cfg.scopes(),
		rp.WithHTTPClient(client),
		rp.WithPKCEFromDiscovery(cookies),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string {
			n, _ := ctx.Value(nonceKey{}).(string)
			return n
		})))
	if err != nil {
		return nil, fmt.Errorf("auth.oidc.issuer %q: discovery failed: %w", cfg.Issuer, err)
	}
	if !party.IsPKCE() {
		// PKCE is sent anyway; a provider that ignores it leaves state and nonce as the guard.
		logger.Warn("oidc: the provider does not advertise PKCE S256 (code_challenge_methods_supported)", "issuer", cfg.Issuer)
	}
	logger.Info("oidc: sign-in ready", "issuer", cfg.Issuer, "client_id", cfg.ClientID, "redirect_url", cfg.RedirectURL,
		"shared_cookie_key", cfg.CookieKeyFile != "")
	return &Provider{cfg: cfg, rp: party, cookies: cookies, logger: logger}, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Login starts a sign-in: it seals a fresh state, nonce and PKCE verifier in the sign-in
// cookie and redirects (302) to the provider's authorization endpoint. A second Login in the
// same browser replaces the first, whose callback is then refused with ErrState.
func (p *Provider) Login(w http.ResponseWriter, r *http.Request) {
	s := newSignIn()
	if err := seal(w, p.cookies, s); err != nil {
		p.logger.Error("oidc: cannot seal the sign-in cookie", "err", err)
		http.Error(w, "cannot start sign-in", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	target := rp.AuthURL(s.State, p.rp,
		rp.WithCodeChallenge(zoidc.NewSHACodeChallenge(s.Verifier)),
		rp.AuthURLOpt(rp.WithURLParam("nonce", s.Nonce)))
	http.Redirect(w, r, target, http.StatusFound)
}

// Callback finishes the sign-in the provider redirected back with: it checks the sign-in
// cookie (and deletes it: a callback is used once) and the state, exchanges the code with the
// PKCE verifier, verifies the ID token (signature against the provider's keys, issuer,
// audience = client ID, expiry, nonce, access token hash), reads the role and name claims
// from the ID token, else from the userinfo endpoint, and maps them (see Config.Mappings).
// The principal it returns is the console's to turn into a session. Every refusal wraps one
// of the errors of this package; nothing is written to w but the cookie's deletion.
func (p *Provider) Callback(w http.ResponseWriter, r *http.Request) (auth.Principal, error) {
	principal, err := p.callback(w, r)
	if err != nil {
		p.logger.Info("oidc: sign-in refused", "err", err)
	}
	return principal, err
}

func (p *Provider) callback(w http.ResponseWriter, r *http.Request) (auth.Principal, error) {
	s, err := open(w, r, p.cookies)
	if err != nil {
		return auth.Principal{}, err
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(s.State)) != 1 {
		return auth.Principal{}, fmt.Errorf("%w: the callback's state is not this browser's sign-in; sign in again", ErrState)
	}
	if e := q.Get("error"); e != "" {
		return auth.Principal{}, fmt.Errorf("%w: %s: %s", ErrProvider, quoteBounded(e), quoteBounded(q.Get("error_description")))
	}
	code := q.Get("code")
	if code == "" {
		return auth.Principal{}, fmt.Errorf("%w: the callback carries no code", ErrProvider)
	}
	ctx := context.WithValue(r.Context(), nonceKey{}, s.Nonce)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.rp.HttpClient())
	token, err := p.rp.OAuthConfig().Exchange(ctx, code, oauth2.VerifierOption(s.Verifier))
	if err != nil {
		return auth.Principal{}, fmt.Errorf("%w: %s", ErrExchange, exchangeReason(err))
	}
	raw, _ := token.Extra("id_token").(string)
	if raw == "" {
		return auth.Principal{}, fmt.Errorf("%w: the token response has no id_token", ErrIDToken)
	}
	idClaims, err := rp.VerifyTokens[*zoidc.IDTokenClaims](ctx, token.AccessToken, raw, p.rp.IDTokenVerifier())
	if err != nil {
		return auth.Principal{}, fmt.Errorf("%w: %w", ErrIDToken, err)
	}
	claims, err := asMap(idClaims)
	if err != nil {
		return auth.Principal{}, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	if p.needsUserinfo(claims) && p.rp.UserinfoEndpoint() != "" {
		info, err := rp.Userinfo[*zoidc.UserInfo](ctx, token.AccessToken, token.Type(), idClaims.GetSubject(), p.rp)
		if err != nil {
			return auth.Principal{}, fmt.Errorf("%w: userinfo: %w", ErrClaims, err)
		}
		more, err := asMap(info)
		if err != nil {
			return auth.Principal{}, fmt.Errorf("%w: userinfo: %w", ErrClaims, err)
		}
		for k, v := range more {
			if _, ok := claims[k]; !ok { // the signed ID token wins
				claims[k] = v
			}
		}
	}
	return principalFrom(p.cfg, claims)
}

// needsUserinfo reports whether the role claim or the configured name claim is missing from
// the ID token, as it is with providers that put profile claims in userinfo only.
func (p *Provider) needsUserinfo(claims map[string]any) bool {
	_, role := claims[p.cfg.RoleClaim]
	_, name := claims[p.cfg.nameClaims()[0]]
	return !role || !name
}

// asMap returns every claim of v, a verified ID token's or userinfo's claims, as decoded JSON.
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// exchangeReason is the token endpoint's OAuth error code and description when it sent one
// (invalid_grant for a used or foreign code), else the transport error.
func exchangeReason(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return fmt.Sprintf("the token endpoint answered %d %s: %s", re.Response.StatusCode, quoteBounded(re.ErrorCode), quoteBounded(re.ErrorDescription))
	}
	if errors.As(err, &re) {
		return fmt.Sprintf("the token endpoint answered %d", re.Response.StatusCode)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the token endpoint did not answer in time"
	}
	return err.Error()
}

// quoteBounded quotes text from the provider, cut to maxProviderErrorBytes.
func quoteBounded(s string) string {
	if len(s) > maxProviderErrorBytes {
		s = s[:maxProviderErrorBytes] + "…"
	}
	return fmt.Sprintf("%q", s)
}
