package oidc

import "errors"

// The refusals of Callback. Every error it returns wraps exactly one of them, so the console
// can tell "start again" (the sign-in cookie or state) from "the provider said no" and from
// "signed in but not allowed here". Messages may be shown to the person signing in: they name
// claims, claim values and the provider's own error, never a token, code or secret.
var (
	// ErrNoSignIn: the callback came without a sign-in cookie (none was started in this
	// browser, it expired, or it was already used).
	ErrNoSignIn = errors.New("no sign-in in progress")
	// ErrBadCookie: the sign-in cookie does not decrypt or authenticate (tampered with,
	// expired, or sealed by another replica with its own key: see Config.CookieKeyFile).
	ErrBadCookie = errors.New("sign-in cookie is not valid")
	// ErrState: the state the provider sent back is not the one this browser's sign-in
	// started with.
	ErrState = errors.New("sign-in state does not match")
	// ErrProvider: the provider answered the callback with an error (the person declined,
	// the client is not allowed, …) or without a code.
	ErrProvider = errors.New("the identity provider refused the sign-in")
	// ErrExchange: the token endpoint did not exchange the code (already used, expired, or
	// issued to another client) or could not be reached.
	ErrExchange = errors.New("code exchange failed")
	// ErrIDToken: the ID token failed verification: signature, issuer, audience, expiry,
	// nonce or access token hash.
	ErrIDToken = errors.New("ID token is not valid")
	// ErrClaims: a claim needed for the principal has the wrong type or no value.
	ErrClaims = errors.New("claims cannot be mapped")
	// ErrNoMapping: none of the person's role claim values is in auth.oidc.mappings, so
	// they get no role.
	ErrNoMapping = errors.New("no role for this person")
)
