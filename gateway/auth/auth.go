// Package auth authenticates gateway callers and decides what they may do.
//
// Principals come from the `auth.principals` configuration key. A principal
// authenticates with a bearer token (`Authorization: Bearer <token>`),
// checked against the hex SHA-256 of the token, with HTTP basic auth (what
// Confluent clients send), checked against a bcrypt or hex SHA-256 hash of
// the password, or with a TLS client certificate verified against
// `tls.client_ca_file` that names the principal (by its one Subject Common
// Name, client_cert_cn, or a URI or DNS subject alternative name,
// client_cert_uri_san and client_cert_dns_san, optionally from one issuer,
// client_cert_issuer); it may have several. Only hashes are configured, and no
// error message, log line or String method ever contains a token, a
// password or a hash.
//
// Secrets are compared in constant time (crypto/subtle on fixed-length
// SHA-256 digests, or bcrypt), and a basic-auth user name that does not
// exist costs the same work as a wrong password, so user names cannot be
// probed by timing.
//
// Failed authentications are counted per client address (see Options.
// MaxFailures); a client over the limit is refused before its credentials
// are looked at, until its failure window ends. A password check reserves
// its attempt before bcrypt runs, so concurrent guesses cannot overrun the
// limit, and bcrypt checks run at most Options.MaxPasswordChecks at once
// (Options.MaxClientPasswordChecks per client); beyond, they are refused,
// never queued, while tokens and cached basic credentials are served
// without waiting.
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
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// PrincipalConfig is one entry of the `auth.principals` configuration key.
// A principal needs at least one credential: TokenSHA256 for bearer tokens,
// at most one of PasswordBcrypt or PasswordSHA256 for basic auth (with Name
// as the user), and ClientCertCN, ClientCertURISAN or ClientCertDNSSAN for
// TLS client certificates. Its String,
// GoString and LogValue methods show which credentials are set, never their
// values.
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
	// ClientCertCN authenticates a TLS client certificate whose Subject
	// Common Name equals it exactly, once the handshake has verified the
	// certificate against tls.client_ca_file. A certificate with more than
	// one Common Name is refused. Unique across principals.
	ClientCertCN string `yaml:"client_cert_cn" json:"client_cert_cn"`
	// ClientCertURISAN authenticates a verified client certificate that
	// has this URI subject alternative name (a SPIFFE ID,
	// "spiffe://example.org/ns/prod/sa/orders"), compared exactly. Unique
	// across principals.
	ClientCertURISAN string `yaml:"client_cert_uri_san" json:"client_cert_uri_san"`
	// ClientCertDNSSAN authenticates a verified client certificate that
	// has this DNS subject alternative name, compared without regard to
	// case. Unique across principals.
	ClientCertDNSSAN string `yaml:"client_cert_dns_san" json:"client_cert_dns_san"`
	// ClientCertIssuer, when set, restricts the certificate keys above to
	// certificates whose issuer's distinguished name is exactly this, in
	// RFC 2253 form ("CN=Internal CA,O=Example", as `openssl x509 -noout
	// -issuer -nameopt RFC2253` prints it). It needs one of them.
	ClientCertIssuer string `yaml:"client_cert_issuer" json:"client_cert_issuer"`
	// Subjects are glob patterns (`orders-*`, `payments-value`; see
	// Principal.Granted for the syntax) of the subjects the roles apply
	// to. Absent (nil): every subject, and the global operations; an empty
	// list: no subject. Each pattern must be non-empty UTF-8.
	Subjects []string `yaml:"subjects" json:"subjects"`
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
	if c.ClientCertCN != "" || c.ClientCertURISAN != "" || c.ClientCertDNSSAN != "" {
		kinds = append(kinds, "client_cert")
	}
	return kinds
}

// String shows the name, roles, subject grants and which credentials are
// set; no secrets.
func (c PrincipalConfig) String() string {
	return fmt.Sprintf("principal %q roles=%v subjects=%s credentials=%v", c.Name, c.Roles, c.subjectsText(), c.credentialKinds())
}

// subjectsText shows the subject grants, "all" when there are none.
func (c PrincipalConfig) subjectsText() string {
	if c.Subjects == nil {
		return "all"
	}
	return fmt.Sprintf("%q", c.Subjects)
}

// GoString is String, so %#v shows no secrets either.
func (c PrincipalConfig) GoString() string { return c.String() }

// LogValue makes slog show the name, roles, subject grants and credential
// kinds only.
func (c PrincipalConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.Any("roles", c.Roles),
		slog.String("subjects", c.subjectsText()),
		slog.Any("credentials", c.credentialKinds()),
	)
}

// Options configures an Authenticator. The zero value is usable: it logs
// nothing, registers no metrics and does not limit failed attempts.
type Options struct {
	// Logger receives authentication failures (debug in Authenticate, info
	// at the gRPC and HTTP edges) with the principal name and peer only.
	// Nil discards.
	Logger *slog.Logger
	// BasicCacheSize bounds the cache of basic credentials that passed a
	// bcrypt check. Zero means 1024; negative disables the cache.
	BasicCacheSize int
	// Registerer receives schemagate_auth_failures_total{transport,reason}.
	// Nil registers nowhere.
	Registerer prometheus.Registerer
	// MaxFailures is how many failed authentications (wrong, unknown or
	// malformed credentials; a request without any is not a failure) one
	// client may make within FailureWindow. Beyond it, every request of
	// that client to a protected method or route is refused with
	// ErrTooManyFailures (HTTP 429, gRPC ResourceExhausted) before any
	// credential check, until the window that began with its first failure
	// ends. A client is an IPv4 address or an IPv6 /64 network. Zero or
	// negative: no limit.
	MaxFailures int
	// FailureWindow is the period MaxFailures counts over. Zero means one
	// minute.
	FailureWindow time.Duration
	// MaxClients bounds the clients whose failures are remembered; when it
	// is full, expired entries go first, then the oldest. Zero means 10000.
	MaxClients int
	// Now is the clock of the failure limit. Nil means time.Now.
	Now func() time.Time
	// MaxPasswordChecks bounds the password (bcrypt) checks that run at
	// once, in all: basic credentials that are not cached, and unknown
	// users, which are compared against a dummy hash to take as long.
	// Beyond it a check is refused at once with ErrBusy (HTTP 503, gRPC
	// Unavailable, with Retry-After) instead of waiting. Bearer tokens,
	// SHA-256 passwords, cached basic credentials and certificates need no
	// bcrypt and are never bounded. Zero means DefaultMaxPasswordChecks
	// (one per CPU).
	MaxPasswordChecks int
	// MaxClientPasswordChecks bounds the password checks one client runs at
	// once; beyond it a check is refused with ErrTooManyFailures (HTTP 429,
	// gRPC ResourceExhausted, with Retry-After) and not counted as a
	// failure. Zero means DefaultMaxClientPasswordChecks.
	MaxClientPasswordChecks int
}

// ErrInvalidConfig wraps every error New returns.
var ErrInvalidConfig = errors.New("invalid auth configuration")

// The detailed refusals of Authenticate and AuthenticateCredentials; each
// wraps ErrBadCredentials.
var (
	errMalformedHeader = fmt.Errorf(`%w: malformed Authorization value; accepted schemes are "Bearer <token>" and "Basic <base64(user:password)>"`, ErrBadCredentials)
	errMalformedBasic  = fmt.Errorf(`%w: malformed basic credentials; expected "Basic <base64(user:password)>"`, ErrBadCredentials)
)

// principal is a validated PrincipalConfig with decoded hashes.
type principal struct {
	name     string
	roles    []Role
	token    []byte    // SHA-256 of the bearer token, or nil
	pwBcrypt []byte    // bcrypt hash, or nil
	pwSHA256 []byte    // SHA-256 of the password, or nil
	cert     certMatch // how a client certificate names it
	subjects []string  // subject patterns; nil: every subject
}

func (p *principal) public() Principal {
	return Principal{Name: p.name, Roles: slices.Clone(p.roles), Subjects: slices.Clone(p.subjects)}
}

// Authenticator checks credentials against the configured principals. Its
// principals are an immutable PrincipalSet behind an atomic pointer, so a
// request reads one consistent set without a lock, and SetPrincipals
// replaces it at run time (a configuration reload). It is safe for
// concurrent use. The failure limit and each set's basic-auth cache are its
// only mutable state; the failure limit survives a reload.
type Authenticator struct {
	log       *slog.Logger
	cacheSize int
	dummySHA  []byte
	set       atomic.Pointer[PrincipalSet]
	bcryptF   func(hash, password []byte) error // bcrypt.CompareHashAndPassword; replaced in tests
	limit     *limiter                          // nil: no limit
	passwords *passwordGate
	flights   passwordFlights // identical concurrent password checks share one bcrypt
	metrics   *metrics
}

// PrincipalSet is a validated, immutable set of principals, built by
// Authenticator.NewPrincipalSet and put in use by SetPrincipals. It holds
// its own cache of basic credentials, so a principal removed or changed by a
// reload is never found in a cache again.
type PrincipalSet struct {
	configs []PrincipalConfig // as configured, for diffs; never logged whole
	byName  map[string]*principal
	byCert  certIndex
	tokens  []*principal // principals with a bearer token
	// dummy is a bcrypt hash (of the highest cost configured) that failed
	// basic checks are compared against, so that unknown users cost as much
	// as wrong passwords.
	dummy []byte
	cache *basicCache
}

// New validates principals and returns an Authenticator. Every problem is
// reported (joined), each wrapping ErrInvalidConfig and naming the
// principal, never a secret: empty or duplicate names, names containing
// ':', reserved names ("anonymous", "system"), no roles or unknown roles, no credential, both a bcrypt and a
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
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	dummySHA := sha256.Sum256([]byte("schemagate: no password hashes to this digest"))
	a := &Authenticator{
		log:       log,
		cacheSize: size,
		dummySHA:  dummySHA[:],
		bcryptF:   bcrypt.CompareHashAndPassword,
		limit:     newLimiter(opts),
		passwords: newPasswordGate(opts),
		metrics:   m,
	}
	set, err := a.NewPrincipalSet(principals)
	if err != nil {
		return nil, err
	}
	a.SetPrincipals(set)
	return a, nil
}

// NewPrincipalSet validates principals as New does (every problem joined,
// each wrapping ErrInvalidConfig, never quoting a secret) and returns them
// as a set for SetPrincipals; it changes nothing in use. It logs the same
// warnings as New: principals without subject grants, mixed bcrypt costs.
func (a *Authenticator) NewPrincipalSet(principals []PrincipalConfig) (*PrincipalSet, error) {
	s := &PrincipalSet{
		configs: slices.Clone(principals),
		byName:  make(map[string]*principal, len(principals)),
		byCert:  newCertIndex(),
		cache:   newBasicCache(a.cacheSize),
	}
	var errs []error
	tokenOwner := make(map[string]string)
	dummyCost := 0
	costs := map[int]bool{}
	for i, pc := range principals {
		p, err := parsePrincipal(i, pc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.byName[p.name]; dup {
			errs = append(errs, fmt.Errorf("%w: principal %q is defined more than once", ErrInvalidConfig, p.name))
			continue
		}
		if p.token != nil {
			if other, dup := tokenOwner[string(p.token)]; dup {
				errs = append(errs, fmt.Errorf("%w: principals %q and %q have the same token_sha256", ErrInvalidConfig, other, p.name))
				continue
			}
			tokenOwner[string(p.token)] = p.name
			s.tokens = append(s.tokens, p)
		}
		if err := s.byCert.add(p); err != nil {
			errs = append(errs, err)
			continue
		}
		if p.pwBcrypt != nil {
			cost, _ := bcrypt.Cost(p.pwBcrypt)
			costs[cost] = true
			if cost > dummyCost {
				// The dummy is compared only for its duration; its result
				// is ignored, so reusing a real hash grants nothing.
				dummyCost, s.dummy = cost, p.pwBcrypt
			}
		}
		s.byName[p.name] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, pc := range principals {
		p := s.byName[strings.TrimSpace(pc.Name)]
		if p.subjects == nil && !slices.Contains(p.roles, RoleAdmin) {
			a.log.Warn("principal has no subject grants (no `subjects` key): its roles apply to every subject", "principal", p.name, "roles", p.roles)
		}
	}
	if len(costs) > 1 {
		a.log.Warn("auth.principals use different bcrypt costs: a wrong password takes as long as its user's cost, so users of a lower cost can be told apart by timing; hash every password with one cost")
	}
	return s, nil
}

// SetPrincipals puts s in use: requests that start after it returns are
// authenticated against s, requests in flight finish with the set they
// began with. The failure limit keeps its state. A set that makes the
// Authenticator Open (no principals) opens it; the caller decides whether
// that is allowed (see Open).
func (a *Authenticator) SetPrincipals(s *PrincipalSet) { a.set.Store(s) }

// Principals returns the configuration of the principals in use, in their
// configured order, for comparing with a new configuration. The result
// holds hashes: never log it whole (PrincipalConfig's String and LogValue
// are safe).
func (a *Authenticator) Principals() []PrincipalConfig {
	return slices.Clone(a.set.Load().configs)
}

// reservedNames are the principal names no configured principal may take, in any letter case:
// AnonymousName is who every call runs as when authentication is off, and "system" is the
// actor of governance's automatic actions (governance.SystemActor) in the audit log.
var reservedNames = []string{AnonymousName, "system"}

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
	if slices.ContainsFunc(reservedNames, func(r string) bool { return strings.EqualFold(name, r) }) {
		return nil, fail("the name is reserved (reserved names: %s), so the audit log can tell its actions apart", strings.Join(reservedNames, ", "))
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
	p.cert = certMatch{
		cn:     strings.TrimSpace(pc.ClientCertCN),
		uri:    strings.TrimSpace(pc.ClientCertURISAN),
		dns:    strings.ToLower(strings.TrimSpace(pc.ClientCertDNSSAN)),
		issuer: strings.TrimSpace(pc.ClientCertIssuer),
	}
	if token == "" && bc == "" && sh == "" && !p.cert.any() {
		return nil, fail("no credential: set token_sha256, password_bcrypt, password_sha256, client_cert_cn, client_cert_uri_san or client_cert_dns_san")
	}
	if p.cert.issuer != "" && !p.cert.any() {
		return nil, fail("client_cert_issuer needs client_cert_cn, client_cert_uri_san or client_cert_dns_san")
	}
	if u, err := url.Parse(p.cert.uri); p.cert.uri != "" && (err != nil || !u.IsAbs()) {
		return nil, fail("client_cert_uri_san must be an absolute URI (spiffe://trust-domain/path)")
	}
	if bc != "" && sh != "" {
		return nil, fail("set only one of password_bcrypt and password_sha256")
	}
	if pc.Subjects != nil {
		p.subjects = make([]string, 0, len(pc.Subjects))
		for i, pattern := range pc.Subjects {
			if err := checkPattern(pattern); err != nil {
				return nil, fail("subjects[%d] %v", i, err)
			}
			p.subjects = append(p.subjects, pattern)
		}
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
func (a *Authenticator) Open() bool { return len(a.set.Load().byName) == 0 }

// Credentials are what one request presents.
type Credentials struct {
	// Authorization is the raw Authorization header, or the gRPC
	// "authorization" metadata value.
	Authorization string
	// ClientCert holds the names of the client certificate that the TLS
	// handshake verified against tls.client_ca_file, or nil without one.
	// It must come from the verified chain of the connection (or from the
	// gateway's own in-process metadata), never from anything a client
	// sends in a header.
	ClientCert *ClientCert
}

// AuthenticateCredentials authenticates one request. A non-empty
// Authorization value decides alone (see Authenticate), even when a client
// certificate was presented too; otherwise a verified client certificate
// authenticates the one principal it names (by common name, URI or DNS
// subject alternative name, within client_cert_issuer), and one that has
// several common names, or names no principal or more than one, fails
// with ErrBadCredentials saying which.
// Nothing at all gives ErrNoCredentials. When Open, it returns Anonymous
// and never fails. It knows no client, so the failure limit is the
// caller's (the interceptors and the HTTP middleware apply it); a password
// check is bounded in all (Options.MaxPasswordChecks) and may be refused
// with ErrBusy.
func (a *Authenticator) AuthenticateCredentials(ctx context.Context, c Credentials) (Principal, error) {
	p, pc, err := a.credentials(ctx, a.set.Load(), c)
	if pc != nil {
		return a.checkPassword(ctx, pc, "")
	}
	return p, err
}

// credentials is AuthenticateCredentials against set, the set in use when
// the request began, up to the password check: a basic credential that
// needs bcrypt is returned as a passwordCheck for the caller to run (under
// the limits of its choice) instead of an outcome.
func (a *Authenticator) credentials(ctx context.Context, set *PrincipalSet, c Credentials) (Principal, *passwordCheck, error) {
	if len(set.byName) == 0 {
		return Anonymous(), nil, nil
	}
	if strings.TrimSpace(c.Authorization) != "" || c.ClientCert == nil {
		return a.authenticate(ctx, set, c.Authorization)
	}
	p, err := set.byCert.match(c.ClientCert)
	if err != nil {
		a.log.DebugContext(ctx, "authentication failed", "scheme", "client_cert", "reason", err,
			"common_names", c.ClientCert.CommonNames, "uri_sans", c.ClientCert.URIs, "dns_sans", c.ClientCert.DNSNames, "issuer", c.ClientCert.Issuer)
		return Principal{}, nil, err
	}
	return p.public(), nil, nil
}

// Authenticate checks the raw value of an Authorization header (or the
// gRPC "authorization" metadata): "Bearer <token>", whose SHA-256 is
// compared in constant time with every principal's token hash, or
// "Basic <base64(user:password)>", checked against that user's bcrypt or
// SHA-256 password hash. Scheme names are case-insensitive. It returns
// ErrNoCredentials for an empty value and an error wrapping
// ErrBadCredentials for anything else that fails; when Open, it returns
// Anonymous and never fails. Successful bcrypt checks are cached (see
// Options.BasicCacheSize); one that is not may be refused with ErrBusy
// (see Options.MaxPasswordChecks).
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	return a.AuthenticateCredentials(ctx, Credentials{Authorization: authorization})
}

// authenticate is credentials for an Authorization value.
func (a *Authenticator) authenticate(ctx context.Context, set *PrincipalSet, authorization string) (Principal, *passwordCheck, error) {
	authorization = strings.TrimSpace(authorization)
	if authorization == "" {
		return Principal{}, nil, ErrNoCredentials
	}
	scheme, cred, _ := strings.Cut(authorization, " ")
	cred = strings.TrimSpace(cred)
	var (
		p   *principal
		pc  *passwordCheck
		err error
	)
	switch {
	case cred == "":
		err = errMalformedHeader
	case strings.EqualFold(scheme, "Bearer"):
		p, err = a.bearer(ctx, set, cred)
	case strings.EqualFold(scheme, "Basic"):
		p, pc, err = a.basic(ctx, set, cred)
	default:
		err = errMalformedHeader
	}
	if pc != nil || err != nil {
		return Principal{}, pc, err
	}
	return p.public(), nil, nil
}

// bearer finds the principal whose token hash matches token. Every hash is
// compared, so the time taken does not depend on which one matches.
func (a *Authenticator) bearer(ctx context.Context, set *PrincipalSet, token string) (*principal, error) {
	sum := sha256.Sum256([]byte(token))
	var found *principal
	for _, p := range set.tokens {
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

// basic checks base64(user:password) against the user's password hash, up
// to bcrypt: a cached credential or a right SHA-256 password succeeds at
// once, a malformed one fails at once, and every other one is returned as
// the passwordCheck that decides it.
//
// Every failure costs the same work whatever the user: one SHA-256 and a
// constant-time comparison, then one bcrypt comparison against the user's
// hash or, for an unknown user, a user without a password or a wrong
// SHA-256 password, against the dummy hash (when any principal has a
// bcrypt password), under the same bounds. So response times do not tell
// which user names exist.
func (a *Authenticator) basic(ctx context.Context, set *PrincipalSet, cred string) (*principal, *passwordCheck, error) {
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return nil, nil, errMalformedBasic
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, nil, errMalformedBasic
	}
	key := cacheKey(user, password)
	if p := set.cache.get(key); p != nil {
		return p, nil, nil
	}
	p := set.byName[user]
	known := p != nil && (p.pwBcrypt != nil || p.pwSHA256 != nil)
	shaWant := a.dummySHA
	if known && p.pwSHA256 != nil {
		shaWant = p.pwSHA256
	}
	sum := sha256.Sum256([]byte(password))
	shaOK := subtle.ConstantTimeCompare(sum[:], shaWant) == 1
	reason := "unknown user or no password configured"
	if known {
		reason = "wrong password"
	}
	switch {
	case known && p.pwSHA256 != nil && shaOK:
		return p, nil, nil
	case known && p.pwBcrypt != nil:
		return nil, &passwordCheck{set: set, p: p, hash: p.pwBcrypt, user: user, password: password, cacheKey: key, reason: reason}, nil
	case set.dummy != nil:
		return nil, &passwordCheck{set: set, hash: set.dummy, user: user, password: password, reason: reason}, nil
	}
	a.log.DebugContext(ctx, "authentication failed", "scheme", "basic", "user", user, "reason", reason)
	return nil, nil, ErrBadCredentials
}

// passwordCheck is the bcrypt comparison that decides a basic credential,
// left by basic for its caller to run with checkPassword.
type passwordCheck struct {
	set      *PrincipalSet
	p        *principal // the user whose hash is compared; nil: the dummy is, and the check fails
	hash     []byte
	user     string
	password string
	cacheKey [32]byte
	reason   string // logged when the check fails
}

// checkPassword runs pc within the password gate, for the client key (""
// when the caller names none: bounded in all only). It returns the
// principal, ErrBadCredentials, or the gate's refusal (ErrBusy or
// ErrTooManyFailures) without running bcrypt. A success is cached.
func (a *Authenticator) checkPassword(ctx context.Context, pc *passwordCheck, key string) (Principal, error) {
	if err := a.passwords.acquire(key); err != nil {
		result := passwordClientBusy
		if errors.Is(err, ErrBusy) {
			result = passwordBusy
		}
		a.metrics.passwordChecks.WithLabelValues(result).Inc()
		return Principal{}, err
	}
	err := a.bcryptF(pc.hash, []byte(pc.password))
	a.passwords.release(key)
	if err != nil || pc.p == nil {
		a.metrics.passwordChecks.WithLabelValues(passwordFailed).Inc()
		a.log.DebugContext(ctx, "authentication failed", "scheme", "basic", "user", pc.user, "reason", pc.reason)
		return Principal{}, ErrBadCredentials
	}
	a.metrics.passwordChecks.WithLabelValues(passwordOK).Inc()
	pc.set.cache.put(pc.cacheKey, pc.p)
	return pc.p.public(), nil
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
