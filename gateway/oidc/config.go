// Package oidc signs people in to the console with OpenID Connect: it is the relying party of
// an OpenID Provider (Keycloak, Okta, Entra ID, Dex, ZITADEL, …), runs the authorization code
// flow with PKCE (S256), state and nonce, verifies the ID token and maps its claims to an
// auth.Principal through the configured mapping table. It decides who a person is and what
// they hold; the console turns the principal into its own session.
package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/schemagate/schemagate/gateway/auth"
)

// NamePrefix starts the name of every principal signed in with OIDC: the user "alice" is the
// principal "oidc:alice" in audit entries, logs and approvals. Configured principals cannot
// contain ':', so the two kinds never share a name, and an IdP user named like a configured
// principal does not act as it (nor count as the same person under the two-person rule).
const NamePrefix = "oidc:"

// defaultScopes are requested when auth.oidc.scopes is empty.
var defaultScopes = []string{"openid", "profile", "email"}

// defaultNameClaims are tried in order when auth.oidc.name_claim is empty.
var defaultNameClaims = []string{"preferred_username", "sub"}

// Config is the `auth.oidc` configuration key. OIDC sign-in is off while Issuer is empty; with
// Issuer set, ClientID, ClientSecretFile, RedirectURL, RoleClaim and at least one mapping are
// required. Validate checks the shape without reading files or calling the issuer; New does
// both.
type Config struct {
	// Issuer is the OpenID Provider's issuer URL, exactly as its discovery document states it
	// (https://idp.example/realms/main); https, or http on a loopback host for development.
	// Discovery runs against it at start-up. Default empty: OIDC sign-in off.
	Issuer string `yaml:"issuer"`
	// ClientID is schemagate's client ID at the provider; ID tokens must name it in their
	// audience.
	ClientID string `yaml:"client_id"`
	// ClientSecretFile holds the client secret (surrounding white space is ignored); it is read
	// at start-up and never logged.
	ClientSecretFile string `yaml:"client_secret_file"`
	// RedirectURL is the console's callback as registered at the provider
	// (https://schemagate.example/ui/oidc/callback); https, or http on a loopback host. The
	// sign-in cookie is Secure when it is https.
	RedirectURL string `yaml:"redirect_url"`
	// Scopes are requested from the provider; they must include openid. Default openid,
	// profile, email.
	Scopes []string `yaml:"scopes"`
	// RoleClaim names the claim whose values (a string or a list of strings, such as the
	// "groups" claim) are looked up in Mappings. Required: nobody gets a role implicitly.
	RoleClaim string `yaml:"role_claim"`
	// NameClaim names the claim that holds the person's name (the principal is NamePrefix +
	// its value). Default empty: preferred_username, else sub. A claim named here must be
	// present.
	NameClaim string `yaml:"name_claim"`
	// Mappings give roles and subject grants to the values of RoleClaim. A person holds the
	// union of every entry their values match; a person matching none is refused.
	Mappings []Mapping `yaml:"mappings"`
	// CookieKeyFile holds a secret (at least 32 bytes) the sign-in cookie's encryption and
	// authentication keys are derived from. Default empty: a random key per process, so a
	// sign-in must finish on the replica that started it; replicas behind a load balancer
	// without sticky sessions need the same file.
	CookieKeyFile string `yaml:"cookie_key_file"`
}

// Mapping is one entry of auth.oidc.mappings.
type Mapping struct {
	// ClaimValue is matched exactly against each value of the role claim.
	ClaimValue string `yaml:"claim_value" json:"claim_value"`
	// Roles are the role names (see auth.Role) a match gives; at least one, all known.
	Roles []string `yaml:"roles" json:"roles"`
	// Subjects are the subject grants a match gives, with the semantics of a configured
	// principal's `subjects`: glob patterns; absent (null) means every subject and the global
	// operations; an empty list means no subject. The union over matches is unrestricted when
	// any matching entry is.
	Subjects []string `yaml:"subjects" json:"subjects"`
}

// Enabled reports whether OIDC sign-in is configured.
func (c Config) Enabled() bool { return c.Issuer != "" }

// Validate checks the configuration and changes nothing. It is nil when OIDC is off and no
// auth.oidc key is set. Errors name the key, as auth.oidc.KEY.
func (c Config) Validate() error {
	if !c.Enabled() {
		if c.ClientID != "" || c.ClientSecretFile != "" || c.RedirectURL != "" || c.RoleClaim != "" || len(c.Mappings) > 0 {
			return errors.New("auth.oidc.issuer is required when other auth.oidc keys are set")
		}
		return nil
	}
	if err := checkURL("issuer", c.Issuer); err != nil {
		return err
	}
	if err := checkURL("redirect_url", c.RedirectURL); err != nil {
		return err
	}
	for _, k := range []struct{ key, v string }{{"client_id", c.ClientID}, {"client_secret_file", c.ClientSecretFile}, {"role_claim", c.RoleClaim}} {
		if strings.TrimSpace(k.v) == "" {
			return fmt.Errorf("auth.oidc.%s is required with auth.oidc.issuer", k.key)
		}
	}
	if len(c.Scopes) > 0 && !slices.Contains(c.Scopes, "openid") {
		return fmt.Errorf("auth.oidc.scopes %q: must include openid", c.Scopes)
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("auth.oidc.scopes: %q is not a scope (one word each)", s)
		}
	}
	if len(c.Mappings) == 0 {
		return errors.New("auth.oidc.mappings: at least one entry is required (a person matching none is refused)")
	}
	for i, m := range c.Mappings {
		if err := m.validate(); err != nil {
			return fmt.Errorf("auth.oidc.mappings[%d]: %w", i, err)
		}
	}
	return nil
}

func (m Mapping) validate() error {
	if m.ClaimValue == "" {
		return errors.New("claim_value is required")
	}
	if len(m.Roles) == 0 {
		return fmt.Errorf("claim_value %q: at least one role is required", m.ClaimValue)
	}
	for _, r := range m.Roles {
		if _, err := auth.ParseRole(r); err != nil {
			return fmt.Errorf("claim_value %q: %w", m.ClaimValue, err)
		}
	}
	for _, p := range m.Subjects {
		if p == "" || !utf8.ValidString(p) {
			return fmt.Errorf("claim_value %q: subject pattern %q must be non-empty UTF-8", m.ClaimValue, p)
		}
	}
	return nil
}

// checkURL refuses a URL that is not absolute http(s), that carries a fragment, or that is
// plain http to a host other than loopback.
func checkURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("auth.oidc.%s %q: want an absolute https URL", key, raw)
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("auth.oidc.%s %q: must have no fragment and no user info", key, raw)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return fmt.Errorf("auth.oidc.%s %q: plain http is allowed on a loopback host only", key, raw)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// scopes returns the scopes to request.
func (c Config) scopes() []string {
	if len(c.Scopes) == 0 {
		return slices.Clone(defaultScopes)
	}
	return slices.Clone(c.Scopes)
}

// nameClaims returns the claims tried, in order, for the person's name.
func (c Config) nameClaims() []string {
	if c.NameClaim == "" {
		return defaultNameClaims
	}
	return []string{c.NameClaim}
}
