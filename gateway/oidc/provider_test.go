package oidc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/schemagate/schemagate/gateway/auth"
)

// TestSignIn signs people in through a real OpenID Provider and checks the principal each one
// becomes: the union of the mappings their groups match, named oidc:USER.
func TestSignIn(t *testing.T) {
	o := startOP(t)
	m := o.mount(t, clientMain, o.config(t, clientMain))
	o.startRP()
	tests := []struct {
		user, password string
		want           auth.Principal
	}{
		{"alice", "alice-pw", auth.Principal{Name: "oidc:alice", Roles: []auth.Role{auth.RoleProducer, auth.RoleGovernanceLead},
			Subjects: []string{"orders-*", "payments-*"}}},
		{"dave", "dave-pw", auth.Principal{Name: "oidc:dave", Roles: []auth.Role{auth.RoleAdmin}}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			b := o.browser(t)
			got, err := o.finish(t, b, m, o.signIn(t, b, clientMain, tt.user, tt.password))
			if err != nil {
				t.Fatalf("Callback: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSignInRefused checks every refusal a browser, an attacker or the provider can cause,
// each with its own error, against the same real provider.
func TestSignInRefused(t *testing.T) {
	o := startOP(t)
	m := o.mount(t, clientMain, o.config(t, clientMain))
	other := o.mount(t, clientOther, o.config(t, clientOther))
	expired := o.mount(t, clientExpired, o.config(t, clientExpired))
	o.startRP()

	// A token response the provider issued to another relying party, for alice.
	b := o.browser(t)
	if _, err := o.finish(t, b, other, o.signIn(t, b, clientOther, "alice", "alice-pw")); err != nil {
		t.Fatalf("sign-in at %s: %v", clientOther, err)
	}
	foreign := other.hook.last()
	// A token response the provider issued to this relying party, for an earlier sign-in.
	b = o.browser(t)
	if _, err := o.finish(t, b, m, o.signIn(t, b, clientMain, "alice", "alice-pw")); err != nil {
		t.Fatalf("sign-in at %s: %v", clientMain, err)
	}
	earlier := m.hook.last()

	tests := []struct {
		name    string
		m       *mounted
		user    string
		rewrite func([]byte) []byte
		// tamper changes the callback URL or the browser's cookies before the callback.
		tamper func(t *testing.T, b *http.Client, callback string) string
		want   []error
	}{
		{name: "groups map to nothing", m: m, user: "bob", want: []error{ErrNoMapping}},
		{name: "wrong state", m: m, user: "alice", tamper: func(t *testing.T, _ *http.Client, cb string) string {
			return setQuery(t, cb, "state", "not-the-state")
		}, want: []error{ErrState}},
		{name: "no state", m: m, user: "alice", tamper: func(t *testing.T, _ *http.Client, cb string) string {
			return setQuery(t, cb, "state", "")
		}, want: []error{ErrState}},
		{name: "provider error", m: m, user: "alice", tamper: func(t *testing.T, _ *http.Client, cb string) string {
			cb = setQuery(t, cb, "code", "")
			return setQuery(t, cb, "error", "access_denied")
		}, want: []error{ErrProvider}},
		{name: "no code", m: m, user: "alice", tamper: func(t *testing.T, _ *http.Client, cb string) string {
			return setQuery(t, cb, "code", "")
		}, want: []error{ErrProvider}},
		{name: "tampered cookie", m: m, user: "alice", tamper: func(t *testing.T, b *http.Client, cb string) string {
			u, _ := url.Parse(cb)
			c := b.Jar.Cookies(u)[0]
			c.Value, c.Path = flip(c.Value), u.Path // the jar gives name and value only
			b.Jar.SetCookies(u, []*http.Cookie{c})
			return cb
		}, want: []error{ErrBadCookie}},
		{name: "no cookie", m: m, user: "alice", tamper: func(t *testing.T, b *http.Client, cb string) string {
			u, _ := url.Parse(cb)
			b.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: "", MaxAge: -1, Path: u.Path}})
			return cb
		}, want: []error{ErrNoSignIn}},
		{name: "code for another client", m: m, user: "alice", tamper: func(t *testing.T, _ *http.Client, cb string) string {
			bo := o.browser(t)
			theirs, _ := url.Parse(o.signIn(t, bo, clientOther, "alice", "alice-pw"))
			return setQuery(t, cb, "code", theirs.Query().Get("code"))
		}, want: []error{ErrExchange}},
		{name: "token for another audience", m: m, user: "alice", rewrite: func([]byte) []byte { return foreign },
			want: []error{ErrIDToken, zoidc.ErrAudience}},
		{name: "token of an earlier sign-in", m: m, user: "alice", rewrite: func([]byte) []byte { return earlier },
			want: []error{ErrIDToken, zoidc.ErrNonceInvalid}},
		{name: "forged groups", m: m, user: "bob", rewrite: func(body []byte) []byte {
			return forgeGroups(t, body, []string{"platform"})
		}, want: []error{ErrIDToken, zoidc.ErrSignatureInvalid}},
		{name: "expired ID token", m: expired, user: "alice", want: []error{ErrIDToken, zoidc.ErrExpired}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.hook.setRewrite(tt.rewrite)
			defer tt.m.hook.setRewrite(nil)
			b := o.browser(t)
			cb := o.signIn(t, b, tt.m.p.cfg.ClientID, tt.user, tt.user+"-pw")
			if tt.tamper != nil {
				cb = tt.tamper(t, b, cb)
			}
			got, err := o.finish(t, b, tt.m, cb)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("Callback = %v, %v; want an error wrapping %q", got, err, want)
				}
			}
			if diff := cmp.Diff(auth.Principal{}, got); diff != "" {
				t.Errorf("refused, yet a principal (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCodeReplay replays a finished callback, with the sign-in cookie captured before it was
// deleted: the cookie still opens, and the provider refuses the code a second time.
func TestCodeReplay(t *testing.T) {
	o := startOP(t)
	m := o.mount(t, clientMain, o.config(t, clientMain))
	o.startRP()
	b := o.browser(t)
	cb := o.signIn(t, b, clientMain, "alice", "alice-pw")
	u, _ := url.Parse(cb)
	captured := b.Jar.Cookies(u)
	if _, err := o.finish(t, b, m, cb); err != nil {
		t.Fatalf("first callback: %v", err)
	}
	replay := o.browser(t)
	replay.Jar.SetCookies(u, captured)
	if got, err := o.finish(t, replay, m, cb); !errors.Is(err, ErrExchange) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("replayed callback = %v, %v; want ErrExchange with invalid_grant", got, err)
	}
	// The cookie is deleted by the first callback, so the same browser cannot even try.
	if got, err := o.finish(t, b, m, cb); !errors.Is(err, ErrNoSignIn) {
		t.Errorf("callback again in the same browser = %v, %v; want ErrNoSignIn", got, err)
	}
}

// TestReplicas finishes on one Provider a sign-in that another started: refused with each
// replica's own random key, accepted with a shared auth.oidc.cookie_key_file.
func TestReplicas(t *testing.T) {
	o := startOP(t)
	cfg := o.config(t, clientMain)
	shared := cfg
	shared.CookieKeyFile = writeFile(t, strings.Repeat("k", 48))
	replica := func(c Config) *Provider {
		p, err := New(t.Context(), c, Options{HTTPClient: o.op.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name              string
		starter, finisher *Provider
		want              auth.Principal
		wantErr           error
	}{
		{"own keys", replica(cfg), replica(cfg), auth.Principal{}, ErrBadCookie},
		{"shared key", replica(shared), replica(shared), auth.Principal{Name: "oidc:dave", Roles: []auth.Role{auth.RoleAdmin}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.starter.Login(rec, httptest.NewRequest(http.MethodGet, "/ui/oidc/login", nil))
			b := o.browser(t)
			loginPage, _ := url.Parse(redirect(t, b, http.MethodGet, rec.Header().Get("Location"), nil))
			back := redirect(t, b, http.MethodPost, o.issuer+"/login/username",
				url.Values{"id": {loginPage.Query().Get("authRequestID")}, "username": {"dave"}, "password": {"dave-pw"}})
			req := httptest.NewRequest(http.MethodGet, redirect(t, b, http.MethodGet, back, nil), nil)
			for _, c := range rec.Result().Cookies() {
				req.AddCookie(c)
			}
			got, err := tt.finisher.Callback(httptest.NewRecorder(), req)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Callback on the other replica: %v; want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoginRequest checks what Login sends: a redirect to the provider with the code
// challenge (S256), state and nonce, and the sign-in cookie's attributes.
func TestLoginRequest(t *testing.T) {
	o := startOP(t)
	tests := []struct {
		redirectURL string
		wantSecure  bool
	}{
		{o.rpBase + "/ui/oidc/callback", false},
		{"https://schemagate.example/ui/oidc/callback", true},
	}
	for _, tt := range tests {
		t.Run(tt.redirectURL, func(t *testing.T) {
			cfg := o.config(t, clientMain)
			cfg.RedirectURL = tt.redirectURL
			p, err := New(t.Context(), cfg, Options{HTTPClient: o.op.Client()})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			p.Login(rec, httptest.NewRequest(http.MethodGet, "/ui/oidc/login", nil))
			if rec.Code != http.StatusFound {
				t.Fatalf("Login = %d; want 302", rec.Code)
			}
			loc, _ := url.Parse(rec.Header().Get("Location"))
			q := loc.Query()
			gotQuery := map[string]bool{}
			for _, k := range []string{"state", "nonce", "code_challenge"} {
				gotQuery[k] = len(q.Get(k)) >= 43 // 32 random bytes, base64url
			}
			wantQuery := map[string]bool{"state": true, "nonce": true, "code_challenge": true}
			if diff := cmp.Diff(wantQuery, gotQuery); diff != "" {
				t.Errorf("random parameters of 32 bytes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"S256", clientMain, tt.redirectURL, "code", "openid profile email"},
				[]string{q.Get("code_challenge_method"), q.Get("client_id"), q.Get("redirect_uri"), q.Get("response_type"), q.Get("scope")}); diff != "" {
				t.Errorf("authorization request (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(loc.String(), o.issuer+"/") {
				t.Errorf("Login redirects to %s; want the provider %s", loc, o.issuer)
			}
			c := rec.Result().Cookies()[0]
			got := []any{c.Name, c.HttpOnly, c.Secure, c.SameSite, c.Path, c.MaxAge}
			want := []any{cookieName, true, tt.wantSecure, http.SameSiteLaxMode, "/ui/oidc/callback", 600}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sign-in cookie [name HttpOnly Secure SameSite Path MaxAge] (-want +got):\n%s", diff)
			}
			if strings.Contains(c.Value, q.Get("state")) || strings.Contains(c.Value, q.Get("nonce")) {
				t.Error("the sign-in cookie shows the state or nonce in clear")
			}
		})
	}
}

// TestNewErrors checks that New names the key at fault.
func TestNewErrors(t *testing.T) {
	o := startOP(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name    string
		edit    func(*Config)
		wantSub string
	}{
		{"issuer unreachable", func(c *Config) { c.Issuer = closed.URL }, "auth.oidc.issuer"},
		{"issuer not the provider's", func(c *Config) { c.Issuer = o.issuer + "/realm" }, "auth.oidc.issuer"},
		{"secret file missing", func(c *Config) { c.ClientSecretFile = "/nonexistent/secret" }, "auth.oidc.client_secret_file"},
		{"secret file empty", func(c *Config) { c.ClientSecretFile = writeFile(t, " \n") }, "auth.oidc.client_secret_file"},
		{"cookie key short", func(c *Config) { c.CookieKeyFile = writeFile(t, "short") }, "auth.oidc.cookie_key_file"},
		{"no mapping", func(c *Config) { c.Mappings = nil }, "auth.oidc.mappings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := o.config(t, clientMain)
			tt.edit(&cfg)
			_, err := New(t.Context(), cfg, Options{HTTPClient: o.op.Client()})
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("New = %v; want an error naming %s", err, tt.wantSub)
			}
		})
	}
}

// setQuery returns raw with the query parameter key set to v (removed when v is empty).
func setQuery(t *testing.T, raw, key, v string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if v == "" {
		q.Del(key)
	} else {
		q.Set(key, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// flip changes one character in the middle of s.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// forgeGroups rewrites the groups claim in the ID token of a token response, keeping the
// provider's signature.
func forgeGroups(t *testing.T, body []byte, groups []string) []byte {
	t.Helper()
	var resp map[string]any
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(resp["id_token"].(string), ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["groups"] = groups
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	resp["id_token"] = strings.Join(parts, ".")
	out, _ := json.Marshal(resp)
	return out
}
