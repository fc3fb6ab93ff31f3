package confluent

import (
	"net/http"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/registry"
)

// GET /subjects: granted subjects only.
func (h *handler) listSubjects(r *http.Request) (any, error) {
	offset, limit, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	return grantedPage(r.Context(), offset, limit, func(s string) string { return s }, func(offset, limit int) ([]string, error) {
		return h.reg.ListSubjects(r.Context(), registry.SubjectFilter{
			Prefix:      r.URL.Query().Get("subjectPrefix"),
			Deleted:     queryBool(r, "deleted"),
			DeletedOnly: queryBool(r, "deletedOnly"),
			Offset:      offset,
			Limit:       limit,
		})
	})
}

// POST /subjects/{subject}: which version of the subject holds this schema.
func (h *handler) lookup(r *http.Request) (any, error) {
	in, err := readSchemaRequest(r)
	if err != nil {
		return nil, err
	}
	sv, err := h.reg.LookupSchema(r.Context(), r.PathValue("subject"), in, queryBool(r, "deleted"))
	if err != nil {
		return nil, err
	}
	return toVersionBody(sv), nil
}

// DELETE /subjects/{subject}
func (h *handler) deleteSubject(r *http.Request) (any, error) {
	permanent := queryBool(r, "permanent")
	if permanent {
		if err := auth.Require(r.Context(), auth.PermSchemasHardDelete); err != nil {
			return nil, err
		}
	}
	return h.reg.DeleteSubject(r.Context(), r.PathValue("subject"), permanent)
}

// GET /subjects/{subject}/versions, paged by offset and limit.
func (h *handler) listVersions(r *http.Request) (any, error) {
	offset, limit, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	versions, err := h.reg.ListVersions(r.Context(), r.PathValue("subject"), queryBool(r, "deleted"), queryBool(r, "deletedOnly"))
	if err != nil {
		return nil, err
	}
	return pageOf(versions, offset, limit), nil
}

// POST /subjects/{subject}/versions: register; answers the ID, and the version and schema as
// newer Confluent releases do.
func (h *handler) register(r *http.Request) (any, error) {
	in, err := readSchemaRequest(r)
	if err != nil {
		return nil, err
	}
	sv, err := h.reg.Register(r.Context(), r.PathValue("subject"), in)
	if err != nil {
		return nil, err
	}
	b := toVersionBody(sv)
	b.Subject = ""
	return b, nil
}

// GET /subjects/{subject}/versions/{version}
func (h *handler) getVersion(r *http.Request) (any, error) {
	sv, err := h.versionForRequest(r)
	if err != nil {
		return nil, err
	}
	return toVersionBody(sv), nil
}

// GET /subjects/{subject}/versions/{version}/schema
func (h *handler) rawVersionSchema(r *http.Request) (any, error) {
	sv, err := h.versionForRequest(r)
	if err != nil {
		return nil, err
	}
	return rawJSON(sv.Schema.Text), nil
}

func (h *handler) versionForRequest(r *http.Request) (registry.SubjectVersion, error) {
	v, err := parseVersion(r.PathValue("version"))
	if err != nil {
		return registry.SubjectVersion{}, err
	}
	sv, err := h.reg.SubjectVersion(r.Context(), r.PathValue("subject"), v, queryBool(r, "deleted"))
	if err != nil {
		return registry.SubjectVersion{}, err
	}
	sv.Schema.Text, err = h.formatted(r, sv.Schema)
	return sv, err
}

// GET /subjects/{subject}/versions/{version}/referencedby
func (h *handler) referencedBy(r *http.Request) (any, error) {
	v, err := parseVersion(r.PathValue("version"))
	if err != nil {
		return nil, err
	}
	return h.reg.ReferencedBy(r.Context(), r.PathValue("subject"), v)
}

// DELETE /subjects/{subject}/versions/{version}
func (h *handler) deleteVersion(r *http.Request) (any, error) {
	v, err := parseVersion(r.PathValue("version"))
	if err != nil {
		return nil, err
	}
	permanent := queryBool(r, "permanent")
	if permanent {
		if err := auth.Require(r.Context(), auth.PermSchemasHardDelete); err != nil {
			return nil, err
		}
	}
	return h.reg.DeleteVersion(r.Context(), r.PathValue("subject"), v, permanent)
}
