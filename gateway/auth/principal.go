package auth

import (
	"context"
	"fmt"
	"slices"
)

// AnonymousName is the name of the principal used when no principals are
// configured (see Authenticator.Open).
const AnonymousName = "anonymous"

// Principal is an authenticated caller. It carries no credentials, so it is
// safe to log and to put in error messages.
type Principal struct {
	// Name is the configured name (AnonymousName when authentication is off).
	Name string
	// Roles say what the principal may do.
	Roles []Role
	// Subjects are the glob patterns of the subjects the roles apply to (see
	// Granted). Nil means unrestricted: every subject and the global
	// operations; an empty, non-nil list grants no subject.
	Subjects []string
}

// Anonymous returns the principal every request runs as when authentication
// is not configured: named "anonymous", holding every permission, on every
// subject.
func Anonymous() Principal {
	return Principal{Name: AnonymousName, Roles: []Role{RoleAdmin}}
}

// Can reports whether any of the principal's roles grants p.
func (p Principal) Can(perm Permission) bool {
	return slices.ContainsFunc(p.Roles, func(r Role) bool { return r.Has(perm) })
}

// String returns the principal's name only.
func (p Principal) String() string { return p.Name }

// GoString returns the principal's name only, so %#v shows no more than %v.
func (p Principal) GoString() string { return fmt.Sprintf("auth.Principal(%q)", p.Name) }

type principalKey struct{}

// NewContext returns a copy of ctx carrying p. The interceptors and the HTTP
// middleware call it; handlers read it back with FromContext.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal stored in ctx by NewContext, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Require checks, inside a handler, that the caller may use perm; for
// operations whose permission depends on the request (a permanent delete
// needs PermSchemasHardDelete on top of the method's PermSchemasWrite).
// It returns nil when allowed, ErrNoCredentials when ctx carries no
// principal, and an error wrapping ErrPermissionDenied when the principal
// lacks perm; handlers return it as it is, and the transport maps it. The
// message reaches clients; it names the principal, its roles and the
// missing permission, never a credential.
func Require(ctx context.Context, perm Permission) error {
	p, ok := FromContext(ctx)
	if !ok {
		return ErrNoCredentials
	}
	if !p.Can(perm) {
		return errDenied(p, perm)
	}
	return nil
}
