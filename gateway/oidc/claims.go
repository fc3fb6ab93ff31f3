package oidc

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/registry"
)

// maxNameBytes bounds a person's name (without NamePrefix): it is written into audit entries.
const maxNameBytes = 256

// principalFrom maps the verified claims of one person to a principal (see Config.Mappings):
// the name from the name claims, the roles and subject grants from every mapping that one of
// the role claim's values matches. Errors wrap ErrClaims or ErrNoMapping.
func principalFrom(cfg Config, claims map[string]any) (auth.Principal, error) {
	name, err := nameFrom(cfg, claims)
	if err != nil {
		return auth.Principal{}, err
	}
	values, err := roleValues(cfg.RoleClaim, claims)
	if err != nil {
		return auth.Principal{}, err
	}
	p := auth.Principal{Name: NamePrefix + name}
	matched, unrestricted := false, false
	var subjects []string
	for _, m := range cfg.Mappings {
		if !slices.Contains(values, m.ClaimValue) {
			continue
		}
		matched = true
		for _, r := range m.Roles {
			if role := auth.Role(r); !slices.Contains(p.Roles, role) {
				p.Roles = append(p.Roles, role)
			}
		}
		if m.Subjects == nil {
			unrestricted = true
		}
		for _, s := range m.Subjects {
			if !slices.Contains(subjects, s) {
				subjects = append(subjects, s)
			}
		}
	}
	if !matched {
		return auth.Principal{}, fmt.Errorf("%w: %q has %s %q, none of which auth.oidc.mappings lists", ErrNoMapping, p.Name, cfg.RoleClaim, values)
	}
	slices.SortFunc(p.Roles, func(a, b auth.Role) int { return slices.Index(auth.Roles(), a) - slices.Index(auth.Roles(), b) })
	if !unrestricted {
		p.Subjects = append([]string{}, subjects...) // non-nil: an empty union grants no subject
	}
	return p, nil
}

// nameFrom returns the first of the name claims present, checked to be a printable string.
func nameFrom(cfg Config, claims map[string]any) (string, error) {
	for _, c := range cfg.nameClaims() {
		v, ok := claims[c]
		if !ok {
			continue
		}
		s, ok := v.(string)
		switch {
		case !ok:
			return "", fmt.Errorf("%w: name claim %q is %s, want a string", ErrClaims, c, registry.DescribeJSON(v))
		case s == "":
			return "", fmt.Errorf("%w: name claim %q is empty", ErrClaims, c)
		case len(s) > maxNameBytes || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
			return "", fmt.Errorf("%w: name claim %q is not a printable UTF-8 name of at most %d bytes", ErrClaims, c, maxNameBytes)
		}
		return s, nil
	}
	return "", fmt.Errorf("%w: the ID token and userinfo have no name claim (%s)", ErrClaims, strings.Join(cfg.nameClaims(), " or "))
}

// roleValues returns the values of the role claim: one string or a list of strings. An absent
// claim has no values (the person then matches no mapping).
func roleValues(claim string, claims map[string]any) ([]string, error) {
	switch v := claims[claim].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: role claim %q holds %s, want strings only", ErrClaims, claim, registry.DescribeJSON(e))
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: role claim %q is %s, want a string or a list of strings", ErrClaims, claim, registry.DescribeJSON(v))
	}
}
