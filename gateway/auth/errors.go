package auth

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Refusals. Every error that Authenticate, AuthenticateCredentials, Require,
// the interceptors and the HTTP middleware return for a caller's request
// wraps exactly one of them (test with errors.Is); the transports map them
// to codes, each in its own table (gRPC: Unauthenticated, PermissionDenied,
// ResourceExhausted, Unavailable; the Confluent API: 40101, 40301, 42901,
// 50301). An error
// that wraps none of them is an internal failure, not the caller's fault,
// and its text must not reach clients.
//
// The messages of refusals reach clients as they are: they name the
// accepted schemes, the principal, its roles and the permission, never a
// credential.
var (
	// ErrNoCredentials means the request carried no Authorization value
	// (nor a verified client certificate). Its message names the accepted
	// schemes.
	ErrNoCredentials = errors.New(msgNoCredentials)
	// ErrBadCredentials means the credentials were malformed, unknown or
	// wrong. Unknown users and wrong passwords get the same error.
	ErrBadCredentials = errors.New("invalid credentials")
	// ErrPermissionDenied means the principal lacks the permission, or the
	// gRPC method has none defined (so a forgotten entry fails closed).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrTooManyFailures means the client is over the failure limit (see
	// Options.MaxFailures), or already runs as many password checks at once
	// as it may (Options.MaxClientPasswordChecks); RetryAfter reads how long
	// it must wait.
	ErrTooManyFailures = errors.New("too many failed authentication attempts")
	// ErrBusy means the gateway already runs as many password checks at
	// once as it may (Options.MaxPasswordChecks), so a basic credential
	// that is not cached could not be checked now; RetryAfter reads how
	// long to wait. It is the server's state, not the caller's fault.
	ErrBusy = errors.New("too many password checks in progress")
)

const msgNoCredentials = `authentication required: send "Authorization: Bearer <token>" or HTTP basic auth ("Authorization: Basic <base64(user:password)>")`

// authError is a client-facing message that wraps one sentinel.
type authError struct {
	msg      string
	sentinel error
}

func (e *authError) Error() string { return e.msg }

func (e *authError) Unwrap() error { return e.sentinel }

// errDenied refuses principal p the permission perm.
func errDenied(p Principal, perm Permission) error {
	return &authError{msg: fmt.Sprintf("principal %q (roles %v) lacks permission %q", p.Name, p.Roles, perm), sentinel: ErrPermissionDenied}
}

// errNoPermissionDefined refuses a gRPC method missing from the
// interceptor's table.
func errNoPermissionDefined(method string) error {
	return &authError{msg: "no permission is defined for method " + method, sentinel: ErrPermissionDenied}
}

// retryError refuses a request for now: a client over the failure limit
// or over its share of password checks (ErrTooManyFailures), or a gateway
// running all the password checks it may (ErrBusy). Its message, which
// reaches the client, ends with the wait.
type retryError struct {
	wait     time.Duration
	msg      string
	sentinel error
}

// errRateLimited refuses a client over the failure limit for wait.
func errRateLimited(wait time.Duration) *retryError {
	return &retryError{wait: wait, msg: "too many failed authentication attempts from this client", sentinel: ErrTooManyFailures}
}

func (e *retryError) Error() string {
	return fmt.Sprintf("%s; retry in %ds", e.msg, e.seconds())
}

func (e *retryError) Unwrap() error { return e.sentinel }

// seconds is the wait rounded up to whole seconds, at least 1.
func (e *retryError) seconds() int {
	return max(1, int(math.Ceil(e.wait.Seconds())))
}

// retryAfter is the value of a Retry-After header or trailer.
func (e *retryError) retryAfter() string { return strconv.Itoa(e.seconds()) }

// RetryAfter returns, for an error that refuses a request for now (one
// wrapping ErrTooManyFailures, or ErrBusy), how long the client must wait
// in whole seconds (at least 1, rounded up) as the value of an HTTP
// Retry-After header; ok is false for any other error. The interceptors
// and the HTTP middleware already send it (the trailer
// RetryAfterMetadataKey, the Retry-After header).
func RetryAfter(err error) (seconds string, ok bool) {
	var limited *retryError
	if !errors.As(err, &limited) {
		return "", false
	}
	return limited.retryAfter(), true
}
