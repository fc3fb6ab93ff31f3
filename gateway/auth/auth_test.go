package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	good := sha256Hex("x")
	tests := []struct {
		name       string
		principals []PrincipalConfig
		want       []string // substrings of the error; nil means no error
	}{
		{name: "none is open", principals: nil},
		{name: "valid", principals: testPrincipals(t)},
		{
			name:       "empty name",
			principals: []PrincipalConfig{{Name: "  ", Roles: []string{"admin"}, TokenSHA256: good}},
			want:       []string{"principal #1 has no name"},
		},
		{
			name: "duplicate name",
			principals: []PrincipalConfig{
				{Name: "a", Roles: []string{"admin"}, TokenSHA256: good},
				{Name: "a", Roles: []string{"admin"}, TokenSHA256: sha256Hex("y")},
			},
			want: []string{`principal "a" is defined more than once`},
		},
		{
			name:       "colon in name",
			principals: []PrincipalConfig{{Name: "a:b", Roles: []string{"admin"}, TokenSHA256: good}},
			want:       []string{`principal "a:b"`, "must not contain ':'"},
		},
		{
			name:       "no roles",
			principals: []PrincipalConfig{{Name: "a", TokenSHA256: good}},
			want:       []string{`principal "a": no roles`},
		},
		{
			name:       "unknown role",
			principals: []PrincipalConfig{{Name: "a", Roles: []string{"producer", "superuser"}, TokenSHA256: good}},
			want:       []string{`principal "a"`, `unknown role "superuser"`},
		},
		{
			name:       "no credential",
			principals: []PrincipalConfig{{Name: "a", Roles: []string{"admin"}}},
			want:       []string{`principal "a": no credential`},
		},
		{
			name:       "two passwords",
			principals: []PrincipalConfig{{Name: "a", Roles: []string{"admin"}, PasswordSHA256: good, PasswordBcrypt: bcryptHash(t, "pw")}},
			want:       []string{`principal "a"`, "only one of password_bcrypt and password_sha256"},
		},
		{
			name:       "reserved name system",
			principals: []PrincipalConfig{{Name: "system", Roles: []string{"admin"}, TokenSHA256: good}},
			want:       []string{`principal "system": the name is reserved`},
		},
		{
			name:       "reserved name anonymous",
			principals: []PrincipalConfig{{Name: " Anonymous ", Roles: []string{"admin"}, TokenSHA256: good}},
			want:       []string{`principal "Anonymous": the name is reserved`},
		},
		{
			name:       "short token hash",
			principals: []PrincipalConfig{{Name: "a", Roles: []string{"admin"}, TokenSHA256: good[:63]}},
			want:       []string{`principal "a": token_sha256 must be 64 hex digits, got 63`},
		},
		{
			name:       "token hash not hex",
			principals: []PrincipalConfig{{Name: "a", Roles: []string{"admin"}, TokenSHA256: strings.Repeat("z", 64)}},
			want:       []string{`principal "a": token_sha256 must be hex digits only`},
		},
		{
			name:       "password hash wrong length",
			principals: []PrincipalConfig{{Name: "a", Roles: []string{"admin"}, PasswordSHA256: good + "00"}},
			want:       []string{`principal "a": password_sha256 must be 64 hex digits, got 66`},
		},
		{
			name:       "bad bcrypt",
			principals: []PrincipalConfig{{Name: "a", Roles: []string{"admin"}, PasswordBcrypt: "plaintext-password"}},
			want:       []string{`principal "a": password_bcrypt is not a valid bcrypt hash`},
		},
		{
			name: "shared token",
			principals: []PrincipalConfig{
				{Name: "a", Roles: []string{"admin"}, TokenSHA256: good},
				{Name: "b", Roles: []string{"producer"}, TokenSHA256: strings.ToUpper(good)},
			},
			want: []string{`principals "a" and "b" have the same token_sha256`},
		},
		{
			name: "all problems reported",
			principals: []PrincipalConfig{
				{Name: "a", Roles: []string{"nope"}, TokenSHA256: good},
				{Name: "b", Roles: []string{"admin"}},
			},
			want: []string{`principal "a"`, `principal "b"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := New(tt.principals, Options{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if got, want := a.Open(), len(tt.principals) == 0; got != want {
					t.Errorf("Open() = %v, want %v", got, want)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	alice := Principal{Name: "alice", Roles: []Role{RoleProducer}}
	bob := Principal{Name: "bob", Roles: []Role{RoleAuthor}}
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name    string
		header  string
		want    Principal
		wantErr error
		errText string // substring of the error, if set
	}{
		{name: "bearer", header: "Bearer " + aliceToken, want: alice},
		{name: "bearer lower-case scheme", header: "bearer " + aliceToken, want: alice},
		{name: "bearer admin", header: "Bearer " + rootToken, want: Principal{Name: "root", Roles: []Role{RoleAdmin}}},
		{name: "bearer wrong", header: "Bearer " + aliceToken + "x", wantErr: ErrBadCredentials},
		{name: "bearer unknown", header: "Bearer nobody-has-this", wantErr: ErrBadCredentials},
		{name: "basic bcrypt", header: basicHeader("alice", alicePassword), want: alice},
		{name: "basic sha256", header: basicHeader("bob", bobPassword), want: bob},
		{name: "basic password with colon", header: basicHeader("bob", bobPassword+":x"), wantErr: ErrBadCredentials},
		{name: "basic bcrypt wrong password", header: basicHeader("alice", "guess"), wantErr: ErrBadCredentials, errText: "invalid credentials"},
		{name: "basic sha256 wrong password", header: basicHeader("bob", "guess"), wantErr: ErrBadCredentials, errText: "invalid credentials"},
		{name: "basic unknown user", header: basicHeader("mallory", "guess"), wantErr: ErrBadCredentials, errText: "invalid credentials"},
		{name: "basic user without password", header: basicHeader("root", rootToken), wantErr: ErrBadCredentials},
		{name: "basic token as password", header: basicHeader("alice", aliceToken), wantErr: ErrBadCredentials},
		{name: "empty", header: "", wantErr: ErrNoCredentials, errText: "Bearer"},
		{name: "blank", header: "   ", wantErr: ErrNoCredentials},
		{name: "no scheme", header: aliceToken, wantErr: ErrBadCredentials, errText: `accepted schemes are "Bearer <token>" and "Basic`},
		{name: "scheme only", header: "Bearer", wantErr: ErrBadCredentials, errText: "accepted schemes"},
		{name: "scheme and spaces", header: "Basic   ", wantErr: ErrBadCredentials, errText: "accepted schemes"},
		{name: "unknown scheme", header: "Digest abc", wantErr: ErrBadCredentials, errText: "accepted schemes"},
		{name: "bad base64", header: "Basic !!!not-base64", wantErr: ErrBadCredentials, errText: "malformed basic credentials"},
		{name: "no colon", header: "Basic " + b64([]byte("alice")), wantErr: ErrBadCredentials, errText: "malformed basic credentials"},
		{name: "empty user", header: basicHeader("", alicePassword), wantErr: ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := a.Authenticate(context.Background(), tt.header)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not contain %q", err, tt.errText)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnknownUserSameErrorAsWrongPassword(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	_, errUnknown := a.Authenticate(context.Background(), basicHeader("mallory", "guess"))
	_, errWrong := a.Authenticate(context.Background(), basicHeader("alice", "guess"))
	if errUnknown == nil || errWrong == nil || errUnknown.Error() != errWrong.Error() {
		t.Errorf("unknown user: %v; wrong password: %v; want the same error", errUnknown, errWrong)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	a, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Open() {
		t.Fatal("Open() = false with no principals")
	}
	for _, h := range []string{"", "Bearer whatever", "garbage"} {
		got, err := a.Authenticate(context.Background(), h)
		if err != nil {
			t.Fatalf("Authenticate(%q): %v", h, err)
		}
		if diff := cmp.Diff(Anonymous(), got); diff != "" {
			t.Errorf("Authenticate(%q) (-want +got):\n%s", h, diff)
		}
	}
	for _, p := range Permissions() {
		if !Anonymous().Can(p) {
			t.Errorf("anonymous lacks %s", p)
		}
	}
	if Anonymous().Name != "anonymous" {
		t.Errorf("anonymous name = %q", Anonymous().Name)
	}
}

// countBcrypt replaces the bcrypt comparison with one that counts calls.
func countBcrypt(a *Authenticator) *atomic.Int64 {
	var n atomic.Int64
	real := a.bcryptF
	a.bcryptF = func(hash, pw []byte) error {
		n.Add(1)
		return real(hash, pw)
	}
	return &n
}

func TestBasicCache(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	calls := countBcrypt(a)
	ctx := context.Background()
	auth := func(user, pw string) error {
		_, err := a.Authenticate(ctx, basicHeader(user, pw))
		return err
	}

	for i := range 3 {
		if err := auth("alice", alicePassword); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("bcrypt ran %d times for 3 identical requests, want 1", got)
	}
	if got := a.set.Load().cache.len(); got != 1 {
		t.Errorf("cache holds %d entries, want 1", got)
	}

	// A wrong password after a cached success is still verified, and refused.
	for i := range 2 {
		if err := auth("alice", alicePassword+"x"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("wrong password attempt %d: %v, want ErrBadCredentials", i, err)
		}
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("bcrypt ran %d times, want 3 (failures are never cached)", got)
	}
	if got := a.set.Load().cache.len(); got != 1 {
		t.Errorf("cache holds %d entries after failures, want 1", got)
	}
	// SHA-256 passwords are cheap and not cached.
	if err := auth("bob", bobPassword); err != nil {
		t.Fatal(err)
	}
	if got := a.set.Load().cache.len(); got != 1 {
		t.Errorf("cache holds %d entries after a SHA-256 login, want 1", got)
	}

	// A changed password means a new configuration, hence a new
	// Authenticator: the old password no longer works there.
	changed := testPrincipals(t)
	changed[0].PasswordBcrypt = bcryptHash(t, "new-password")
	b, err := New(changed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, basicHeader("alice", alicePassword)); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password after change: %v, want ErrBadCredentials", err)
	}
	if _, err := b.Authenticate(ctx, basicHeader("alice", "new-password")); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestBasicCacheBounded(t *testing.T) {
	t.Parallel()
	var principals []PrincipalConfig
	for i := range 4 {
		principals = append(principals, PrincipalConfig{
			Name: fmt.Sprintf("u%d", i), Roles: []string{"producer"}, PasswordBcrypt: bcryptHash(t, fmt.Sprintf("pw%d", i)),
		})
	}
	a, err := New(principals, Options{BasicCacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	calls := countBcrypt(a)
	login := func(i int) {
		t.Helper()
		if _, err := a.Authenticate(context.Background(), basicHeader(fmt.Sprintf("u%d", i), fmt.Sprintf("pw%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		login(i)
	}
	if got := a.set.Load().cache.len(); got != 2 {
		t.Errorf("cache holds %d entries, want its bound 2", got)
	}
	login(3) // newest: cached
	login(0) // oldest: evicted, verified again
	if got := calls.Load(); got != 5 {
		t.Errorf("bcrypt ran %d times, want 5", got)
	}

	off, err := New(principals, Options{BasicCacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	offCalls := countBcrypt(off)
	for range 2 {
		if _, err := off.Authenticate(context.Background(), basicHeader("u1", "pw1")); err != nil {
			t.Fatal(err)
		}
	}
	if got := offCalls.Load(); got != 2 {
		t.Errorf("with the cache disabled bcrypt ran %d times, want 2", got)
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	t.Parallel()
	// Enough password checks at once for every goroutine: this test is about races, not the
	// bound (see TestPasswordChecksBounded).
	a, _ := newTestAuthenticator(t, Options{BasicCacheSize: 1, MaxPasswordChecks: 64, MaxClientPasswordChecks: 64})
	headers := map[string]string{
		basicHeader("alice", alicePassword): "alice",
		basicHeader("bob", bobPassword):     "bob",
		"Bearer " + leadToken:               "lead",
		basicHeader("alice", "wrong"):       "",
	}
	var wg sync.WaitGroup
	for range 8 {
		for h, want := range headers {
			wg.Go(func() {
				p, _ := a.Authenticate(context.Background(), h)
				if p.Name != want {
					t.Errorf("got %q, want %q", p.Name, want)
				}
			})
		}
	}
	wg.Wait()
}

func TestPrincipalReturnedIsACopy(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	p, err := a.Authenticate(context.Background(), "Bearer "+aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	p.Roles[0] = RoleAdmin
	q, _ := a.Authenticate(context.Background(), "Bearer "+aliceToken)
	if q.Can(PermAdmin) {
		t.Error("changing a returned principal changed the configuration")
	}
}

func TestContextAndRequire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, ok := FromContext(ctx); ok {
		t.Error("FromContext found a principal in an empty context")
	}
	alice := Principal{Name: "alice", Roles: []Role{RoleAuthor}}
	got, ok := FromContext(NewContext(ctx, alice))
	if !ok {
		t.Fatal("FromContext found no principal")
	}
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	tests := []struct {
		name    string
		ctx     context.Context
		perm    Permission
		wantErr error  // nil: allowed
		wantMsg string // the whole message, which reaches the client
	}{
		{name: "allowed", ctx: NewContext(ctx, alice), perm: PermSchemasWrite},
		{name: "denied", ctx: NewContext(ctx, alice), perm: PermSchemasHardDelete, wantErr: ErrPermissionDenied,
			wantMsg: `principal "alice" (roles [author]) lacks permission "schemas.hard_delete"`},
		{name: "no principal", ctx: ctx, perm: PermSchemasRead, wantErr: ErrNoCredentials, wantMsg: wantNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Require(tt.ctx, tt.perm)
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("Require = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Require = %v, want %v", err, tt.wantErr)
			}
			if err != nil && err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

func FuzzAuthenticate(f *testing.F) {
	for _, s := range []string{"", "Bearer x", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:pw")), "Basic ::", "basic", "\x00 \x00", "Basic =", "Bearer  \t "} {
		f.Add(s)
	}
	// SHA-256 passwords only, so the fuzzer is not slowed by bcrypt.
	a, err := New([]PrincipalConfig{
		{Name: "bob", Roles: []string{"producer"}, TokenSHA256: sha256Hex("tok"), PasswordSHA256: sha256Hex("pw")},
	}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		p, err := a.Authenticate(context.Background(), header)
		switch {
		case err == nil && p.Name != "bob":
			t.Fatalf("Authenticate(%q) succeeded as %q", header, p.Name)
		case err != nil && !errors.Is(err, ErrNoCredentials) && !errors.Is(err, ErrBadCredentials):
			t.Fatalf("Authenticate(%q) returned a non-sentinel error %v", header, err)
		}
	})
}
