package confluent

import (
	"context"
	"net/http"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/registry"
)

// scope says how a route is checked against the caller's subject grants
// (auth.principals[].subjects), after the middleware has checked its role. The check runs
// before the handler reads the body or touches the registry.
type scope int

const (
	// scopeNone: the route is about no subject (types, contexts, global reads).
	scopeNone scope = iota + 1
	// scopeSubject: the {subject} path value must be granted.
	scopeSubject
	// scopeUnrestricted: a global write; it needs a principal without subject grants.
	scopeUnrestricted
	// scopeSchemaID: at least one subject that uses the {id} schema (soft-deleted versions
	// included) must be granted; a listing of its subjects or versions is filtered too.
	scopeSchemaID
	// scopeFiltered: a listing the handler filters to the granted subjects.
	scopeFiltered
)

// checkScope refuses r when the caller's subject grants do not cover it (see scope).
func (h *handler) checkScope(r *http.Request, s scope) error {
	ctx := r.Context()
	switch s {
	case scopeSubject:
		return auth.RequireSubject(ctx, r.PathValue("subject"))
	case scopeUnrestricted:
		return auth.RequireUnrestricted(ctx, r.Method+" "+r.URL.Path)
	case scopeSchemaID:
		id, err := parseID(r.PathValue("id"))
		if err != nil {
			return err
		}
		return auth.RequireSchema(ctx, id, SchemaUsers(h.reg, id))
	}
	return nil
}

// SchemaUsersSource is what SchemaUsers needs of the registry.
type SchemaUsersSource interface {
	SubjectVersionsOfSchema(ctx context.Context, id int, deleted bool) ([]registry.SubjectVersion, error)
}

// liveMembership is what a registry may offer besides: the live subject versions of a schema
// from memory (upstream mode's registry caches them).
type liveMembership interface {
	SchemaSubjects(ctx context.Context, id int) ([]registry.SubjectVersion, error)
}

// SchemaUsers returns, for auth.RequireSchema, the subjects that use schema id, soft-deleted
// versions included. When reg also keeps live membership in memory and a live subject of the
// schema is granted to the caller, that answers it without asking reg for the full list, so
// that a principal with subject grants reads a cached schema without a call to the upstream.
func SchemaUsers(reg SchemaUsersSource, id int) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		if m, ok := reg.(liveMembership); ok {
			if live, err := m.SchemaSubjects(ctx, id); err == nil {
				if granted := auth.Visible(ctx, live, versionSubject); len(granted) > 0 {
					return []string{granted[0].Subject}, nil
				}
			}
		}
		svs, err := reg.SubjectVersionsOfSchema(ctx, id, true)
		subjects := make([]string, len(svs))
		for i, sv := range svs {
			subjects[i] = versionSubject(sv)
		}
		return subjects, err
	}
}

// grantedPage returns the page (offset, limit; limit <= 0: no cap) of what list answers that
// the caller may see. An unrestricted caller's page is list's own; for any other, everything is
// listed, filtered to the granted subjects (subject names an item's), then paged here, so pages
// hold granted items only.
func grantedPage[T any](ctx context.Context, offset, limit int, subject func(T) string, list func(offset, limit int) ([]T, error)) ([]T, error) {
	if auth.Unrestricted(ctx) {
		return list(offset, limit)
	}
	all, err := list(0, 0)
	if err != nil {
		return nil, err
	}
	return pageOf(auth.Visible(ctx, all, subject), offset, limit), nil
}

// pageOf returns the page of s that offset and limit select, as Confluent pages a listing:
// offset items skipped (a negative offset counts as 0), then at most limit items (limit <= 0:
// all of them; Confluent replaces a limit that is not positive with its default, which holds
// the whole listing).
func pageOf[T any](s []T, offset, limit int) []T {
	s = s[min(max(offset, 0), len(s)):]
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	return s
}

// versionSubject is the subject of a subject version.
func versionSubject(sv registry.SubjectVersion) string { return sv.Subject }
