package oidc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/tests/harness"
)

// The test's OpenID Provider: zitadel/oidc's op package serving its example storage over TLS
// on loopback, with the people below (their groups put in the ID token and the userinfo
// answer, preferred_username in userinfo only) and the clients below.

// person is one user of the test provider.
type person struct {
	id, username, password string
	groups                 []string
}

var people = []person{
	{"u-alice", "alice", "alice-pw", []string{"schema-leads", "engineering"}},
	{"u-bob", "bob", "bob-pw", []string{"marketing"}},
	{"u-dave", "dave", "dave-pw", []string{"platform"}},
}

// The clients of the test provider; each Provider under test is one of them.
const (
	clientMain    = "schemagate"     // the relying party under test
	clientOther   = "other-app"      // another relying party of the same provider
	clientExpired = "expired-tokens" // its ID tokens are issued already expired
	clientSecret  = "client-secret-of-the-test"
)

// testMappings are the auth.oidc.mappings of the tests.
var testMappings = []Mapping{
	{ClaimValue: "schema-leads", Roles: []string{"governance-lead"}, Subjects: []string{"orders-*"}},
	{ClaimValue: "engineering", Roles: []string{"producer"}, Subjects: []string{"orders-*", "payments-*"}},
	{ClaimValue: "platform", Roles: []string{"admin"}},
}

type userStore struct{}

func (userStore) GetUserByID(id string) *storage.User {
	for _, p := range people {
		if p.id == id {
			return &storage.User{ID: p.id, Username: p.username, Password: p.password, Email: p.username + "@example.org",
				EmailVerified: true, PreferredLanguage: language.English}
		}
	}
	return nil
}

func (u userStore) GetUserByUsername(name string) *storage.User {
	for _, p := range people {
		if p.username == name {
			return u.GetUserByID(p.id)
		}
	}
	return nil
}

func (userStore) ExampleClientID() string { return "service" }

// groupStorage adds the groups claim to the example storage's ID tokens and userinfo.
type groupStorage struct{ *storage.Storage }

func groupsOf(userID string) []string {
	for _, p := range people {
		if p.id == userID {
			return p.groups
		}
	}
	return nil
}

func (s groupStorage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, req, scopes); err != nil {
		return err
	}
	ui.AppendClaims("groups", groupsOf(req.GetSubject()))
	return nil
}

func (s groupStorage) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	ui.AppendClaims("groups", groupsOf(ui.Subject))
	return nil
}

func (s groupStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil || id != clientExpired {
		return c, err
	}
	return expiredTokens{c}, nil
}

// expiredTokens is a client whose ID tokens expire a minute before they are issued.
type expiredTokens struct{ op.Client }

func (expiredTokens) IDTokenLifetime() time.Duration { return -time.Minute }

// testOP is a running OpenID Provider and the relying-party server the Providers under test
// are mounted on.
type testOP struct {
	op     *httptest.Server
	issuer string
	rp     *httptest.Server
	rpMux  *http.ServeMux
	rpBase string
}

// startOP starts the provider over TLS and an (unstarted, for now) relying-party server whose
// callbacks /NAME/callback are registered: NAME is one of the clients.
func startOP(t *testing.T) *testOP {
	t.Helper()
	o := &testOP{rpMux: http.NewServeMux()}
	o.rp = httptest.NewUnstartedServer(o.rpMux)
	o.rpBase = "http://" + o.rp.Listener.Addr().String()
	clients := map[string]*storage.Client{}
	for _, id := range []string{clientMain, clientOther, clientExpired} {
		clients[id] = storage.WebClient(id, clientSecret, o.rpBase+"/"+id+"/callback")
	}
	st := groupStorage{storage.NewStorageWithClients(userStore{}, clients)}

	o.op = httptest.NewUnstartedServer(nil)
	o.issuer = "https://" + o.op.Listener.Addr().String()
	provider, err := op.NewProvider(&op.Config{CryptoKey: sha256.Sum256([]byte("test op")), CodeMethodS256: true}, st, op.StaticIssuer(o.issuer))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	harness.MountOIDCLogin(mux, provider, st)
	mux.Handle("/", provider)
	o.op.Config.Handler = mux
	o.op.StartTLS()
	t.Cleanup(o.op.Close)
	t.Cleanup(o.rp.Close)
	return o
}

// startRP starts the relying-party server; mount every Provider first.
func (o *testOP) startRP() {
	o.rp.Start()
}

// config is the auth.oidc configuration of client id.
func (o *testOP) config(t *testing.T, id string) Config {
	t.Helper()
	return Config{Issuer: o.issuer, ClientID: id, ClientSecretFile: writeFile(t, clientSecret+"\n"),
		RedirectURL: o.rpBase + "/" + id + "/callback", RoleClaim: "groups", Mappings: testMappings}
}

// tokenHook rewrites the token endpoint's answers to a Provider: it records each body and
// answers what rewrite returns (the body itself when rewrite is nil).
type tokenHook struct {
	base    http.RoundTripper
	mu      sync.Mutex
	bodies  [][]byte
	rewrite func(body []byte) []byte
}

func (h *tokenHook) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/oauth/token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.bodies = append(h.bodies, body)
	if h.rewrite != nil {
		body = h.rewrite(body)
	}
	h.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func (h *tokenHook) setRewrite(f func([]byte) []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rewrite = f
}

func (h *tokenHook) last() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bodies[len(h.bodies)-1]
}

// mounted is a Provider under test, mounted on the relying-party server at /NAME/login and
// /NAME/callback, with the outcome of its last callback.
type mounted struct {
	p    *Provider
	hook *tokenHook
	mu   sync.Mutex
	got  auth.Principal
	err  error
}

// mount creates the Provider of cfg (with a token hook in its HTTP client) on the
// relying-party server at /NAME/...
func (o *testOP) mount(t *testing.T, name string, cfg Config) *mounted {
	t.Helper()
	hook := &tokenHook{base: o.op.Client().Transport}
	p, err := New(t.Context(), cfg, Options{HTTPClient: &http.Client{Transport: hook, Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	m := &mounted{p: p, hook: hook}
	o.rpMux.HandleFunc("GET /"+name+"/login", p.Login)
	o.rpMux.HandleFunc("GET /"+name+"/callback", func(w http.ResponseWriter, r *http.Request) {
		got, err := p.Callback(w, r)
		m.mu.Lock()
		m.got, m.err = got, err
		m.mu.Unlock()
	})
	return m
}

func (m *mounted) result() (auth.Principal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.got, m.err
}

// browser is an http.Client with a cookie jar that trusts the test provider and does not
// follow redirects on its own, so a test can stop at the callback.
func (o *testOP) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Transport: o.op.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn drives a sign-in in b as (user, password) through the relying party at /NAME/ up to
// the provider's redirect back, and returns the callback URL without visiting it.
func (o *testOP) signIn(t *testing.T, b *http.Client, name, user, password string) string {
	t.Helper()
	authorize := redirect(t, b, http.MethodGet, o.rpBase+"/"+name+"/login", nil)
	loginPage := redirect(t, b, http.MethodGet, authorize, nil)
	u, err := url.Parse(loginPage)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"id": {u.Query().Get("authRequestID")}, "username": {user}, "password": {password}}
	back := redirect(t, b, http.MethodPost, o.issuer+"/login/username", form)
	return redirect(t, b, http.MethodGet, back, nil)
}

// finish visits the callback URL in b and returns what the Provider made of it.
func (o *testOP) finish(t *testing.T, b *http.Client, m *mounted, callback string) (auth.Principal, error) {
	t.Helper()
	resp, err := b.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return m.result()
}

// redirect sends one request in b and returns the absolute URL of the 302 it must answer.
func redirect(t *testing.T, b *http.Client, method, target string, form url.Values) string {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s %s = %d %s; want a redirect", method, target, resp.StatusCode, text)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc.String()
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
