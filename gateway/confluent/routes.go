package confluent

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/internal/buildinfo"
	"github.com/schemagate/schemagate/registry"
)

// Route is one method of one path of the Confluent REST API and the permission it needs.
type Route struct {
	// Method is the HTTP method (HEAD is served wherever GET is).
	Method string
	// Pattern is the net/http pattern of the path, e.g. /subjects/{subject}/versions.
	Pattern string
	// Permission is what the caller needs; permanent deletes need schemas.hard_delete on top,
	// checked in their handlers.
	Permission auth.Permission
}

// Routes lists every route NewHandler serves, sorted by pattern and method, from the same table
// the handler is built from; tests walk it so a new route cannot go unchecked.
func Routes() []Route {
	var rec routeRecorder
	(&handler{}).routes(&rec)
	slices.SortFunc(rec, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Method, b.Method))
	})
	return rec
}

// registrar is what routes registers endpoints with: the router, or a routeRecorder.
type registrar interface {
	handle(h *handler, pattern string, methods map[string]endpoint)
}

// routeRecorder collects the routes instead of serving them.
type routeRecorder []Route

func (r *routeRecorder) handle(_ *handler, pattern string, methods map[string]endpoint) {
	for method, ep := range methods {
		*r = append(*r, Route{Method: method, Pattern: pattern, Permission: ep.perm})
	}
}

// routes registers every endpoint with the permission it needs and how it is checked against
// the caller's subject grants (see scope). Permanent deletes also need schemas.hard_delete,
// checked in their handlers; /mode writes and global /config writes change what the whole
// registry accepts, so they are admin-only, and global /config and /mode writes also need a
// principal without subject grants. A subject's own /config stays an author's.
func (h *handler) routes(rt registrar) {
	read, write, admin := auth.PermSchemasRead, auth.PermSchemasWrite, auth.PermAdmin
	rt.handle(h, "/{$}", map[string]endpoint{"GET": {read, scopeNone, func(*http.Request) (any, error) { return struct{}{}, nil }}})
	rt.handle(h, "/schemas", map[string]endpoint{"GET": {read, scopeFiltered, h.listSchemas}})
	rt.handle(h, "/schemas/types", map[string]endpoint{"GET": {read, scopeNone, func(*http.Request) (any, error) {
		return []string{string(registry.SchemaTypeAvro), string(registry.SchemaTypeJSON), string(registry.SchemaTypeProtobuf)}, nil
	}}})
	rt.handle(h, "/schemas/ids/{id}", map[string]endpoint{"GET": {read, scopeSchemaID, h.schemaByID}})
	rt.handle(h, "/schemas/ids/{id}/schema", map[string]endpoint{"GET": {read, scopeSchemaID, h.rawSchemaByID}})
	rt.handle(h, "/schemas/ids/{id}/subjects", map[string]endpoint{"GET": {read, scopeSchemaID, h.subjectsOfSchema}})
	rt.handle(h, "/schemas/ids/{id}/versions", map[string]endpoint{"GET": {read, scopeSchemaID, h.versionsOfSchema}})

	rt.handle(h, "/subjects", map[string]endpoint{"GET": {read, scopeFiltered, h.listSubjects}})
	rt.handle(h, "/subjects/{subject}", map[string]endpoint{
		"POST":   {read, scopeSubject, h.lookup},
		"DELETE": {write, scopeSubject, h.deleteSubject},
	})
	rt.handle(h, "/subjects/{subject}/versions", map[string]endpoint{
		"GET":  {read, scopeSubject, h.listVersions},
		"POST": {write, scopeSubject, h.register},
	})
	rt.handle(h, "/subjects/{subject}/versions/{version}", map[string]endpoint{
		"GET":    {read, scopeSubject, h.getVersion},
		"DELETE": {write, scopeSubject, h.deleteVersion},
	})
	rt.handle(h, "/subjects/{subject}/versions/{version}/schema", map[string]endpoint{"GET": {read, scopeSubject, h.rawVersionSchema}})
	// The IDs of the schemas that reference the version, as Confluent answers; reading one of
	// them needs a grant on a subject that uses it.
	rt.handle(h, "/subjects/{subject}/versions/{version}/referencedby", map[string]endpoint{"GET": {read, scopeSubject, h.referencedBy}})

	rt.handle(h, "/compatibility/subjects/{subject}/versions", map[string]endpoint{"POST": {read, scopeSubject, h.compatibility}})
	rt.handle(h, "/compatibility/subjects/{subject}/versions/{version}", map[string]endpoint{"POST": {read, scopeSubject, h.compatibility}})

	rt.handle(h, "/config", map[string]endpoint{
		"GET":    {read, scopeNone, h.getConfig},
		"PUT":    {admin, scopeUnrestricted, h.putConfig},
		"DELETE": {admin, scopeUnrestricted, h.deleteConfig},
	})
	rt.handle(h, "/config/{subject}", map[string]endpoint{
		"GET":    {read, scopeSubject, h.getConfig},
		"PUT":    {write, scopeSubject, h.putConfig},
		"DELETE": {write, scopeSubject, h.deleteConfig},
	})
	rt.handle(h, "/mode", map[string]endpoint{
		"GET":    {read, scopeNone, h.getMode},
		"PUT":    {admin, scopeUnrestricted, h.putMode},
		"DELETE": {admin, scopeUnrestricted, h.deleteMode},
	})
	rt.handle(h, "/mode/{subject}", map[string]endpoint{
		"GET":    {read, scopeSubject, h.getMode},
		"PUT":    {admin, scopeSubject, h.putMode},
		"DELETE": {admin, scopeSubject, h.deleteMode},
	})
	rt.handle(h, "/contexts", map[string]endpoint{"GET": {read, scopeNone, func(*http.Request) (any, error) { return []string{"."}, nil }}})
	// The running binary's version and commit, in Confluent's ServerMetadataResource shape.
	rt.handle(h, "/v1/metadata/version", map[string]endpoint{"GET": {read, scopeNone, func(*http.Request) (any, error) {
		info := buildinfo.Read()
		return serverVersion{Version: info.Version, CommitID: info.Commit}, nil
	}}})
	rt.handle(h, "/v1/metadata/id", map[string]endpoint{"GET": {read, scopeNone, func(*http.Request) (any, error) {
		return map[string]any{"scope": map[string]any{
			"path":     []string{},
			"clusters": map[string]string{"kafka-cluster": "schemagate", "schema-registry-cluster": "schemagate"},
		}}, nil
	}}})
}

// GET /schemas: the versions of granted subjects only.
func (h *handler) listSchemas(r *http.Request) (any, error) {
	offset, limit, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	svs, err := grantedPage(r.Context(), offset, limit, versionSubject, func(offset, limit int) ([]registry.SubjectVersion, error) {
		return h.reg.Schemas(r.Context(), registry.SchemaFilter{
			SubjectPrefix: r.URL.Query().Get("subjectPrefix"),
			Deleted:       queryBool(r, "deleted"),
			LatestOnly:    queryBool(r, "latestOnly"),
			Offset:        offset, Limit: limit,
		})
	})
	if err != nil {
		return nil, err
	}
	out := make([]schemaBody, len(svs))
	for i, sv := range svs {
		out[i] = toVersionBody(sv)
	}
	return out, nil
}

// GET /schemas/ids/{id}: subject limits the lookup to that subject; format (see formatted)
// picks the text's form; fetchMaxId adds the highest ID handed out.
func (h *handler) schemaByID(r *http.Request) (any, error) {
	s, err := h.schemaForRequest(r)
	if err != nil {
		return nil, err
	}
	b := toSchemaBody(s)
	b.ID = 0 // Confluent does not repeat the ID it was asked for
	if queryBool(r, "fetchMaxId") {
		if b.MaxID, err = h.reg.MaxSchemaID(r.Context()); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// GET /schemas/ids/{id}/schema
func (h *handler) rawSchemaByID(r *http.Request) (any, error) {
	s, err := h.schemaForRequest(r)
	if err != nil {
		return nil, err
	}
	return rawJSON(s.Text), nil
}

func (h *handler) schemaForRequest(r *http.Request) (registry.Schema, error) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return registry.Schema{}, err
	}
	s, err := h.reg.SchemaByID(r.Context(), id)
	if err != nil {
		return registry.Schema{}, err
	}
	if subject := r.URL.Query().Get("subject"); subject != "" {
		svs, err := h.reg.SubjectVersionsOfSchema(r.Context(), id, true)
		if err != nil {
			return registry.Schema{}, err
		}
		found := false
		for _, sv := range svs {
			found = found || sv.Subject == subject
		}
		if !found {
			return registry.Schema{}, apiError{status: 404, code: 40403, msg: "Schema " + r.PathValue("id") + " not found in subject " + subject}
		}
	}
	if s.Text, err = h.formatted(r, s); err != nil {
		return registry.Schema{}, err
	}
	return s, nil
}

// formatted is the text of s in the request's format, as Confluent 8 answers it: "resolved"
// inlines referenced Avro types, "serialized" is a Protobuf schema's base64
// FileDescriptorProto; any other format, and these where they do not apply, is the stored text
// (Confluent ignores formats it does not know, for forward compatibility).
func (h *handler) formatted(r *http.Request, s registry.Schema) (string, error) {
	switch r.URL.Query().Get("format") {
	case "resolved":
		return h.reg.ResolvedSchemaText(r.Context(), s.ID)
	case "serialized":
		if s.Type == registry.SchemaTypeProtobuf {
			return h.reg.SerializedSchemaText(r.Context(), s.ID)
		}
	}
	return s.Text, nil
}

// GET /schemas/ids/{id}/subjects, paged by offset and limit (over the subjects).
func (h *handler) subjectsOfSchema(r *http.Request) (any, error) {
	svs, offset, limit, err := h.versionsForID(r)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, sv := range svs {
		if len(out) == 0 || out[len(out)-1] != sv.Subject {
			out = append(out, sv.Subject)
		}
	}
	return pageOf(out, offset, limit), nil
}

// GET /schemas/ids/{id}/versions, paged by offset and limit.
func (h *handler) versionsOfSchema(r *http.Request) (any, error) {
	svs, offset, limit, err := h.versionsForID(r)
	if err != nil {
		return nil, err
	}
	svs = pageOf(svs, offset, limit)
	out := make([]subjectVersion, len(svs))
	for i, sv := range svs {
		out[i] = subjectVersion{Subject: sv.Subject, Version: sv.Version}
	}
	return out, nil
}

// versionsForID reads the versions that use the {id} schema, of granted subjects only, and the
// page the request asks for.
func (h *handler) versionsForID(r *http.Request) (svs []registry.SubjectVersion, offset, limit int, err error) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return nil, 0, 0, err
	}
	if offset, limit, err = pageParams(r); err != nil {
		return nil, 0, 0, err
	}
	if svs, err = h.reg.SubjectVersionsOfSchema(r.Context(), id, queryBool(r, "deleted")); err != nil {
		return nil, 0, 0, err
	}
	return auth.Visible(r.Context(), svs, versionSubject), offset, limit, nil
}

// readSchemaRequest decodes a register/lookup/compatibility body.
func readSchemaRequest(r *http.Request) (registry.SchemaInput, error) {
	var req schemaRequest
	if err := decodeBody(r, &req); err != nil {
		return registry.SchemaInput{}, err
	}
	return req.input(queryBool(r, "normalize"))
}
