// Package auth authenticates gateway callers and decides what they may do.
//
// Principals come from the `auth.principals` configuration key. A principal
// authenticates with a bearer token (`Authorization: Bearer <token>`),
// checked against the hex SHA-256 of the token, or with HTTP basic auth
// (what Confluent clients send), checked against a bcrypt or hex SHA-256
// hash of the password; it may have both. Only hashes are configured, and
// no error message, log line or String method ever contains a token, a
// password or a hash.
//
// Each principal holds roles, and each role a fixed set of permissions (see
// Role). The gRPC interceptors and the HTTP middleware authenticate the
// request, check the permission of the method or route, and put the
// Principal in the context, where handlers may check more with Require.
//
// With no principals configured the gateway is open: every request runs as
// the anonymous principal, which holds every permission.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// PrincipalConfig is one entry of the `auth.principals` configuration key.
// A principal needs at least one credential: TokenSHA256 for bearer tokens,
// and at most one of PasswordBcrypt or PasswordSHA256 for basic auth (with
// Name as the user). Its String, GoString and LogValue methods show which
// credentials are set, never their values.
type PrincipalConfig struct {
	// Name identifies the principal in logs, audit entries and errors, and
	// is the basic-auth user name. Required, unique, without ':'.
	Name string `yaml:"name" json:"name"`
	// Roles are role names (see Role); at least one, all known.
	Roles []string `yaml:"roles" json:"roles"`
	// TokenSHA256 is the hex SHA-256 (64 hex digits) of the bearer token.
	TokenSHA256 string `yaml:"token_sha256" json:"token_sha256"`
	// PasswordBcrypt is a bcrypt hash of the basic-auth password.
	PasswordBcrypt string `yaml:"password_bcrypt" json:"password_bcrypt"`
	// PasswordSHA256 is the hex SHA-256 of the basic-auth password; prefer
	// PasswordBcrypt, which resists offline guessing.
	PasswordSHA256 string `yaml:"password_sha256" json:"password_sha256"`
}

// credentialKinds names the credentials that are set, for display.
func (c PrincipalConfig) credentialKinds() []string {
	var kinds []string
	if c.TokenSHA256 != "" {
		kinds = append(kinds, "token")
	}
	if c.PasswordBcrypt != "" {
		kinds = append(kinds, "password(bcrypt)")
	}
	if c.PasswordSHA256 != "" {
		kinds = append(kinds, "password(sha256)")
	}
	return kinds
}

// String shows the name, roles and which credentials are set; no secrets.
func (c PrincipalConfig) String() string {
	return fmt.Sprintf("principal %q roles=%v credentials=%v", c.Name, c.Roles, c.credentialKinds())
}

// GoString is String, so %#v shows no secrets either.
func (c PrincipalConfig) GoString() string { return c.String() }

// LogValue makes slog show the name, roles and credential kinds only.
func (c PrincipalConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.Any("roles", c.Roles),
		slog.Any("credentials", c.credentialKinds()),
	)
}

// Options configures an Authenticator. The zero value is usable.
type Options struct {
	// Logger receives authentication failures (debug in Authenticate, info
	// at the gRPC and HTTP edges) with the principal name and peer only.
	// Nil discards.
	Logger *slog.Logger
	// BasicCacheSize bounds the cache of basic credentials that passed a
	// bcrypt check. Zero means 1024; negative disables the cache.
	BasicCacheSize int
}

// Errors returned by Authenticate. Their messages reach clients and name
// the accepted schemes; they never contain the credentials sent.
var (
	// ErrNoCredentials means the request carried no Authorization value.
	ErrNoCredentials = errors.New(msgNoCredentials)
	// ErrBadCredentials means the credentials were malformed, unknown or
	// wrong. Unknown users and wrong passwords get the same error.
	ErrBadCredentials = errors.New("invalid credentials")
	// ErrInvalidConfig wraps every error New returns.
	ErrInvalidConfig = errors.New("invalid auth configuration")
)

const msgNoCredentials = `authentication required: send "Authorization: Bearer <token>" or HTTP basic auth ("Authorization: Basic <base64(user:password)>")`

var (
	errMalformedHeader = fmt.Errorf(`%w: malformed Authorization value; accepted schemes are "Bearer <token>" and "Basic <base64(user:password)>"`, ErrBadCredentials)
	errMalformedBasic  = fmt.Errorf(`%w: malformed basic credentials; expected "Basic <base64(user:password)>"`, ErrBadCredentials)
)

// principal is a validated PrincipalConfig with decoded hashes.
type principal struct {
	name     string
	roles    []Role
	token    []byte // SHA-256 of the bearer token, or nil
	pwBcrypt []byte // bcrypt hash, or nil
	pwSHA256 []byte // SHA-256 of the password, or nil
}

func (p *principal) public() Principal {
	return Principal{Name: p.name, Roles: slices.Clone(p.roles)}
}

// Authenticator checks credentials against the configured principals. It is
// immutable after New and safe for concurrent use; to change the principals,
// build a new one.
type Authenticator struct {
	log     *slog.Logger
	byName  map[string]*principal
	tokens  []*principal // principals with a bearer token
	dummy   []byte       // bcrypt hash compared for unknown users, to even out timing
	cache   *basicCache
	bcryptF func(hash, password []byte) error // bcrypt.CompareHashAndPassword; replaced in tests
}

// New validates principals and returns an Authenticator. Every problem is
// reported (joined), each wrapping ErrInvalidConfig and naming the
// principal, never a secret: empty or duplicate names, names containing
// ':', no roles or unknown roles, no credential, both a bcrypt and a
// SHA-256 password, hex of the wrong length, unparseable bcrypt hashes, and
// two principals sharing one token. No principals at all is valid and makes
// the Authenticator Open.
func New(principals []PrincipalConfig, opts Options) (*Authenticator, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	size := opts.BasicCacheSize
	if size == 0 {
		size = defaultCacheSize
	}
	a := &Authenticator{
		log:     log,
		byName:  make(map[string]*principal, len(principals)),
		cache:   newBasicCache(size),
		bcryptF: bcrypt.CompareHashAndPassword,
	}
	var errs []error
	tokenOwner := make(map[string]string)
	dummyCost := 0
	for i, pc := range principals {
		p, err := parsePrincipal(i, pc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := a.byName[p.name]; dup {
			errs = append(errs, fmt.Errorf("%w: principal %q is defined more than once", ErrInvalidConfig, p.name))
			continue
		}
		if p.token != nil {
			if other, dup := tokenOwner[string(p.token)]; dup {
				errs = append(errs, fmt.Errorf("%w: principals %q and %q have the same token_sha256", ErrInvalidConfig, other, p.name))
				continue
			}
			tokenOwner[string(p.token)] = p.name
			a.tokens = append(a.tokens, p)
		}
		if p.pwBcrypt != nil {
			if cost, _ := bcrypt.Cost(p.pwBcrypt); cost > dummyCost {
				dummyCost, a.dummy = cost, p.pwBcrypt
			}
		}
		a.byName[p.name] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// parsePrincipal validates one configuration entry (index i, for entries
// without a name).
func parsePrincipal(i int, pc PrincipalConfig) (*principal, error) {
	name := strings.TrimSpace(pc.Name)
	if name == "" {
		return nil, fmt.Errorf("%w: principal #%d has no name", ErrInvalidConfig, i+1)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: principal %q: %s", ErrInvalidConfig, name, fmt.Sprintf(format, args...))
	}
	if strings.Contains(name, ":") {
		return nil, fail("name must not contain ':' (it is the basic-auth user name)")
	}
	p := &principal{name: name}
	if len(pc.Roles) == 0 {
		return nil, fail("no roles (known roles: %v)", Roles())
	}
	for _, s := range pc.Roles {
		r, err := ParseRole(strings.TrimSpace(s))
		if err != nil {
			return nil, fail("%v", err)
		}
		if !slices.Contains(p.roles, r) {
			p.roles = append(p.roles, r)
		}
	}
	token, bc, sh := strings.TrimSpace(pc.TokenSHA256), strings.TrimSpace(pc.PasswordBcrypt), strings.TrimSpace(pc.PasswordSHA256)
	if token == "" && bc == "" && sh == "" {
		return nil, fail("no credential: set token_sha256, password_bcrypt or password_sha256")
	}
	if bc != "" && sh != "" {
		return nil, fail("set only one of password_bcrypt and password_sha256")
	}
	var err error
	if token != "" {
		if p.token, err = decodeSHA256(token); err != nil {
			return nil, fail("token_sha256 %v", err)
		}
	}
	if sh != "" {
		if p.pwSHA256, err = decodeSHA256(sh); err != nil {
			return nil, fail("password_sha256 %v", err)
		}
	}
	if bc != "" {
		// bcrypt's own errors may quote bytes of the hash; do not wrap them.
		if _, err := bcrypt.Cost([]byte(bc)); err != nil {
			return nil, fail("password_bcrypt is not a valid bcrypt hash (expected the $2a$/$2b$/$2y$ format)")
		}
		p.pwBcrypt = []byte(bc)
	}
	return p, nil
}

// decodeSHA256 decodes 64 hex digits. Its errors do not quote the input.
func decodeSHA256(s string) ([]byte, error) {
	if len(s) != 2*sha256.Size {
		return nil, fmt.Errorf("must be %d hex digits, got %d characters", 2*sha256.Size, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("must be hex digits only")
	}
	return b, nil
}

// Open reports whether no principals are configured. An open Authenticator
// authenticates every request, with or without credentials, as Anonymous;
// callers must then refuse to listen on non-loopback addresses.
func (a *Authenticator) Open() bool { return len(a.byName) == 0 }

// Authenticate checks the raw value of an Authorization header (or the
// gRPC "authorization" metadata): "Bearer <token>", whose SHA-256 is
// compared in constant time with every principal's token hash, or
// "Basic <base64(user:password)>", checked against that user's bcrypt or
// SHA-256 password hash. Scheme names are case-insensitive. It returns
// ErrNoCredentials for an empty value and an error wrapping
// ErrBadCredentials for anything else that fails; when Open, it returns
// Anonymous and never fails. Successful bcrypt checks are cached (see
// Options.BasicCacheSize).
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	if a.Open() {
		return Anonymous(), nil
	}
	authorization = strings.TrimSpace(authorization)
	if authorization == "" {
		return Principal{}, ErrNoCredentials
	}
	scheme, cred, _ := strings.Cut(authorization, " ")
	cred = strings.TrimSpace(cred)
	var (
		p   *principal
		err error
	)
	switch {
	case cred == "":
		err = errMalformedHeader
	case strings.EqualFold(scheme, "Bearer"):
		p, err = a.bearer(ctx, cred)
	case strings.EqualFold(scheme, "Basic"):
		p, err = a.basic(ctx, cred)
	default:
		err = errMalformedHeader
	}
	if err != nil {
		return Principal{}, err
	}
	return p.public(), nil
}

// bearer finds the principal whose token hash matches token. Every hash is
// compared, so the time taken does not depend on which one matches.
func (a *Authenticator) bearer(ctx context.Context, token string) (*principal, error) {
	sum := sha256.Sum256([]byte(token))
	var found *principal
	for _, p := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], p.token) == 1 {
			found = p
		}
	}
	if found == nil {
		a.log.DebugContext(ctx, "authentication failed", "scheme", "bearer", "reason", "unknown token")
		return nil, ErrBadCredentials
	}
	return found, nil
}

// basic checks base64(user:password) against the user's password hash.
func (a *Authenticator) basic(ctx context.Context, cred string) (*principal, error) {
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return nil, errMalformedBasic
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, errMalformedBasic
	}
	key := cacheKey(user, password)
	if p := a.cache.get(key); p != nil {
		return p, nil
	}
	fail := func(reason string) (*principal, error) {
		a.log.DebugContext(ctx, "authentication failed", "scheme", "basic", "user", user, "reason", reason)
		return nil, ErrBadCredentials
	}
	p := a.byName[user]
	switch {
	case p == nil || (p.pwBcrypt == nil && p.pwSHA256 == nil):
		if a.dummy != nil {
			// Spend about as long as a real check, so response time does
			// not reveal which user names exist.
			_ = a.bcryptF(a.dummy, []byte(password))
		}
		return fail("unknown user or no password configured")
	case p.pwSHA256 != nil:
		sum := sha256.Sum256([]byte(password))
		if subtle.ConstantTimeCompare(sum[:], p.pwSHA256) != 1 {
			return fail("wrong password")
		}
		return p, nil
	default:
		if a.bcryptF(p.pwBcrypt, []byte(password)) != nil {
			return fail("wrong password")
		}
		a.cache.put(key, p)
		return p, nil
	}
}

// cacheKey is SHA-256("user\x00password").
func cacheKey(user, password string) [32]byte {
	h := sha256.New()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [32]byte
	h.Sum(k[:0])
	return k
}
