package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Subject grants.
//
// A principal's roles say what it may do; its subject grants (the `subjects` key of
// auth.principals) say on which subjects. Grants are glob patterns matched against the whole
// subject name:
//   - `*` matches any run of characters, the empty run and `/` included;
//   - `?` matches exactly one character (one Unicode code point);
//   - every other character matches itself, case-sensitively; there is no escape, no
//     character class and no brace expansion.
//
// A principal whose `subjects` key is absent (or null) is unrestricted: its roles apply to
// every subject, and to the global operations that name no subject. An empty list
// (`subjects: []`) grants no subject at all. The empty subject ("", the global configuration)
// is never granted by a pattern, so a restricted principal cannot reach a global operation by
// leaving the subject out.

// checkPattern validates one subject pattern of a principal's configuration.
func checkPattern(p string) error {
	switch {
	case p == "":
		return errors.New("is empty")
	case !utf8.ValidString(p):
		return errors.New("is not valid UTF-8")
	}
	return nil
}

// matchGlob reports whether subject matches pattern (see the syntax above). It backtracks only
// to the last `*` seen, so it runs in O(len(pattern) × len(subject)) at worst.
func matchGlob(pattern, subject string) bool {
	p, s := []rune(pattern), []rune(subject)
	pi, si := 0, 0
	star, starSi := -1, 0 // the last '*' in p, and the position in s it is matched up to
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, starSi = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			// Let the last '*' swallow one more character and retry after it.
			starSi++
			pi, si = star+1, starSi
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// Unrestricted reports whether ctx carries a principal without subject grants (see
// Principal.Unrestricted); false when it carries none.
func Unrestricted(ctx context.Context) bool {
	p, ok := FromContext(ctx)
	return ok && p.Unrestricted()
}

// Unrestricted reports whether the principal holds no subject grants (its `subjects` key is
// absent), so its roles apply to every subject and to global operations.
func (p Principal) Unrestricted() bool { return p.Subjects == nil }

// Granted reports whether the principal's roles apply to subject: always for an unrestricted
// principal; otherwise when subject is not empty and matches one of its patterns.
func (p Principal) Granted(subject string) bool {
	if p.Unrestricted() {
		return true
	}
	if subject == "" {
		return false
	}
	return slices.ContainsFunc(p.Subjects, func(pattern string) bool { return matchGlob(pattern, subject) })
}

// RequireSubject checks, before an operation on subject is carried out (and before a payload
// is validated, so a refused one is never evidence), that the caller's grants cover subject.
// It returns nil when they do, ErrNoCredentials when ctx carries no principal, and an error
// wrapping ErrPermissionDenied otherwise, whose message (it reaches the client) names the
// principal, the subject and the principal's own patterns, never a credential. The role was
// checked already, by the interceptor or the middleware.
func RequireSubject(ctx context.Context, subject string) error {
	p, ok := FromContext(ctx)
	if !ok {
		return ErrNoCredentials
	}
	if !p.Granted(subject) {
		return &authError{msg: fmt.Sprintf("principal %q is not granted subject %q (its subjects: %q)", p.Name, subject, p.Subjects),
			sentinel: ErrPermissionDenied}
	}
	return nil
}

// RequireUnrestricted checks that the caller holds no subject grants, for an operation that is
// not about one subject (operation names it in the refusal: "changing the global
// compatibility"). Errors are those of RequireSubject.
func RequireUnrestricted(ctx context.Context, operation string) error {
	p, ok := FromContext(ctx)
	if !ok {
		return ErrNoCredentials
	}
	if !p.Unrestricted() {
		return &authError{msg: fmt.Sprintf("principal %q is limited to subjects %q; %s needs a principal without subject grants", p.Name, p.Subjects, operation),
			sentinel: ErrPermissionDenied}
	}
	return nil
}

// RequireSchema checks that the caller may read schema id: an unrestricted principal always;
// any other when at least one of the subjects that use the schema (soft-deleted versions
// included), as users reads them, is granted to it, as Confluent's SCHEMA_READ needs
// SUBJECT_READ on one of the schema's subjects. users is called only for a restricted
// principal, and its error (an unknown ID) is returned as it is. Refusals are those of
// RequireSubject; the message names the schema ID, not the subjects that use it.
func RequireSchema(ctx context.Context, id int, users func(context.Context) ([]string, error)) error {
	p, ok := FromContext(ctx)
	if !ok {
		return ErrNoCredentials
	}
	if p.Unrestricted() {
		return nil
	}
	subjects, err := users(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(subjects, p.Granted) {
		return &authError{msg: fmt.Sprintf("principal %q is granted no subject that uses schema %d (its subjects: %q)", p.Name, id, p.Subjects),
			sentinel: ErrPermissionDenied}
	}
	return nil
}

// Visible returns the items whose subject (as subject reads it) the caller is granted, in
// their order; items about no subject ("") are kept, since they belong to nobody in
// particular. It returns items itself when the caller is unrestricted, and none when ctx
// carries no principal.
func Visible[T any](ctx context.Context, items []T, subject func(T) string) []T {
	p, ok := FromContext(ctx)
	if !ok {
		return nil
	}
	if p.Unrestricted() {
		return items
	}
	return slices.DeleteFunc(slices.Clone(items), func(item T) bool {
		s := subject(item)
		return s != "" && !p.Granted(s)
	})
}
