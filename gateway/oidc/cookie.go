package oidc

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
)

// cookieName is the sign-in cookie: it lives from Login to Callback only.
const cookieName = "schemagate_oidc_signin"

// minCookieKeyBytes is the least secret auth.oidc.cookie_key_file must hold.
const minCookieKeyBytes = 32

// signIn is what one sign-in carries from Login to Callback, sealed in the sign-in cookie.
type signIn struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"` // the PKCE code verifier
}

// newSignIn draws a fresh state, nonce and PKCE verifier (32 random bytes each).
func newSignIn() signIn {
	return signIn{State: randomText(), Nonce: randomText(), Verifier: randomText()}
}

func randomText() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes())
}

// randomBytes returns 32 random bytes. crypto/rand.Read never fails (since Go 1.24 it crashes
// the program rather than return an error).
func randomBytes() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// newCookies returns the handler that seals sign-in cookies: AES-256 encrypted and
// HMAC-SHA256 authenticated (gorilla/securecookie) with keys derived from secret, valid for
// ttl, HttpOnly, SameSite=Lax (the provider redirects back from another site, and a Strict
// cookie would not be sent), scoped to the callback's path, Secure when the callback is https.
func newCookies(secret []byte, redirectURL string, ttl time.Duration) (*httphelper.CookieHandler, error) {
	u, err := url.Parse(redirectURL)
	if err != nil {
		return nil, fmt.Errorf("auth.oidc.redirect_url: %w", err)
	}
	hashKey, err := hkdf.Key(sha256.New, secret, nil, "schemagate oidc sign-in cookie: hmac", 32)
	if err != nil {
		return nil, err
	}
	blockKey, err := hkdf.Key(sha256.New, secret, nil, "schemagate oidc sign-in cookie: aes", 32)
	if err != nil {
		return nil, err
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	opts := []httphelper.CookieHandlerOpt{httphelper.WithSameSite(http.SameSiteLaxMode), httphelper.WithPath(path),
		httphelper.WithMaxAge(int(ttl / time.Second))}
	if u.Scheme != "https" {
		opts = append(opts, httphelper.WithUnsecure())
	}
	return httphelper.NewCookieHandler(hashKey, blockKey, opts...), nil
}

// cookieSecret reads auth.oidc.cookie_key_file, or draws a random per-process secret when it
// is not set.
func cookieSecret(file string) ([]byte, error) {
	if file == "" {
		return randomBytes(), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("auth.oidc.cookie_key_file: %w", err)
	}
	if b = bytes.TrimSpace(b); len(b) < minCookieKeyBytes {
		return nil, fmt.Errorf("auth.oidc.cookie_key_file %s: holds %d bytes; want at least %d (e.g. openssl rand -base64 48)", file, len(b), minCookieKeyBytes)
	}
	return b, nil
}

// seal sets the sign-in cookie carrying s.
func seal(w http.ResponseWriter, cookies *httphelper.CookieHandler, s signIn) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return cookies.SetCookie(w, cookieName, string(b))
}

// open reads the sign-in cookie of r and deletes it in w, so a sign-in is finished at most
// once, whatever the outcome.
func open(w http.ResponseWriter, r *http.Request, cookies *httphelper.CookieHandler) (signIn, error) {
	if _, err := r.Cookie(cookieName); err != nil {
		return signIn{}, fmt.Errorf("%w: no sign-in cookie came with the callback (it expired, was used, or sign-in started in another browser); sign in again", ErrNoSignIn)
	}
	cookies.DeleteCookie(w, cookieName)
	raw, err := cookies.CheckCookie(r, cookieName)
	if err != nil {
		return signIn{}, fmt.Errorf("%w: it does not decrypt (tampered with, expired, or from another replica without a shared auth.oidc.cookie_key_file); sign in again", ErrBadCookie)
	}
	var s signIn
	if err := json.Unmarshal([]byte(raw), &s); err != nil || s.State == "" || s.Nonce == "" || s.Verifier == "" {
		return signIn{}, fmt.Errorf("%w: it lacks the state, nonce or code verifier", ErrBadCookie)
	}
	return s, nil
}
