package registry

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
)

// SubjectFilter selects subjects: those starting with Prefix; soft-deleted ones too with
// Deleted, or only them with DeletedOnly. Offset skips that many results; Limit caps them (0
// or less: no cap).
type SubjectFilter struct {
	Prefix        string
	Deleted       bool
	DeletedOnly   bool
	Offset, Limit int
}

// ListSubjects returns the subject names f selects, sorted by byte order. A subject is live
// while it has a live version; a soft-deleted subject has only soft-deleted versions.
func (r *Registry) ListSubjects(ctx context.Context, f SubjectFilter) ([]string, error) {
	var states map[string]bool
	var err error
	if idx := r.mem(); idx != nil {
		states = idx.subjectStates()
	} else if states, err = r.q.subjectStates(ctx, r.db.SQL()); err != nil {
		return nil, r.storeErr("listing subjects", err)
	}
	// Filtering and sorting happen here rather than in SQL: LIKE is case
	// insensitive on SQLite but not on PostgreSQL, and collations differ.
	out := []string{}
	for subject, live := range states {
		if !strings.HasPrefix(subject, f.Prefix) {
			continue
		}
		if (f.DeletedOnly && !live) || (!f.DeletedOnly && (live || f.Deleted)) {
			out = append(out, subject)
		}
	}
	sort.Strings(out)
	if out = page(out, f.Offset, f.Limit); out == nil {
		out = []string{}
	}
	return out, nil
}

// ListVersions returns the versions of subject, ascending: live ones, plus soft-deleted ones
// with deleted, or only soft-deleted ones with deletedOnly. A subject with no version at all
// (or only soft-deleted ones when they are not asked for) is not found.
func (r *Registry) ListVersions(ctx context.Context, subject string, deleted, deletedOnly bool) ([]int, error) {
	if err := validateSubject(subject); err != nil {
		return nil, err
	}
	rows, err := r.visibleVersions(ctx, subject, deleted || deletedOnly)
	if err != nil {
		return nil, err
	}
	out := []int{}
	for _, row := range rows {
		if !deletedOnly || row.deleted {
			out = append(out, row.version)
		}
	}
	return out, nil
}

// SchemaFilter selects subject versions for Schemas.
type SchemaFilter struct {
	// SubjectPrefix keeps versions of subjects starting with it.
	SubjectPrefix string
	// Deleted includes soft-deleted versions.
	Deleted bool
	// LatestOnly keeps only the latest (visible) version of each subject.
	LatestOnly bool
	// Offset skips that many results; Limit caps them (0 or less: no cap).
	Offset, Limit int
}

// Schemas returns the subject versions f selects with their schemas, ordered by subject and
// version.
func (r *Registry) Schemas(ctx context.Context, f SchemaFilter) ([]SubjectVersion, error) {
	var all []versionRow
	var err error
	if idx := r.mem(); idx != nil {
		all = idx.allVersions()
	} else if all, err = r.q.allVersions(ctx, r.db.SQL()); err != nil {
		return nil, r.storeErr("listing schemas", err)
	}
	var picked []versionRow
	for i, v := range all {
		if !strings.HasPrefix(v.subject, f.SubjectPrefix) || (v.deleted && !f.Deleted) {
			continue
		}
		if f.LatestOnly {
			// Keep v only if no later visible version of the same subject follows.
			later := false
			for _, w := range all[i+1:] {
				if w.subject != v.subject {
					break
				}
				if !w.deleted || f.Deleted {
					later = true
					break
				}
			}
			if later {
				continue
			}
		}
		picked = append(picked, v)
	}
	picked = page(picked, f.Offset, f.Limit)
	out := make([]SubjectVersion, 0, len(picked))
	for _, v := range picked {
		s, found, err := r.schemaRow(ctx, r.db.SQL(), v.schemaID)
		if err != nil {
			return nil, r.storeErr("listing schemas", err)
		}
		if found {
			out = append(out, SubjectVersion{Subject: v.subject, Version: v.version, Schema: s, Deleted: v.deleted})
		}
	}
	return out, nil
}

// page applies offset and limit (limit <= 0: no cap) to s.
func page[T any](s []T, offset, limit int) []T {
	if offset > 0 {
		if offset >= len(s) {
			return nil
		}
		s = s[offset:]
	}
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	return s
}

// SubjectVersionsOfSchema returns the subject versions that hold schema id, ordered by subject
// and version; soft-deleted ones only with deleted. An ID no version holds (visibly) wraps
// ErrSchemaNotFound.
func (r *Registry) SubjectVersionsOfSchema(ctx context.Context, id int, deleted bool) ([]SubjectVersion, error) {
	refs, err := r.q.versionsOfSchema(ctx, r.db.SQL(), id)
	if err != nil {
		return nil, r.storeErr("reading a schema", err)
	}
	var out []SubjectVersion
	for _, v := range refs {
		if !v.deleted || deleted {
			out = append(out, SubjectVersion{Subject: v.subject, Version: v.version, Schema: Schema{ID: id}, Deleted: v.deleted})
		}
	}
	if len(out) == 0 {
		return nil, errorf(ErrSchemaNotFound, "Schema %d not found", id)
	}
	return out, nil
}

// ReferencedBy returns the IDs of the schemas of live versions that reference subject/version,
// ascending.
func (r *Registry) ReferencedBy(ctx context.Context, subject string, version int) ([]int, error) {
	sv, err := r.SubjectVersion(ctx, subject, version, false)
	if err != nil {
		return nil, err
	}
	refs, err := r.q.referrers(ctx, r.db.SQL(), subject, sv.Version, true, "")
	if err != nil {
		return nil, r.storeErr("reading references", err)
	}
	seen := map[int]bool{}
	ids := []int{}
	for _, ref := range refs {
		v, err := r.SubjectVersion(ctx, ref.Subject, ref.Version, false)
		if err != nil {
			return nil, err
		}
		if !seen[v.Schema.ID] {
			seen[v.Schema.ID] = true
			ids = append(ids, v.Schema.ID)
		}
	}
	sort.Ints(ids)
	return ids, nil
}

// MaxSchemaID is the highest schema ID handed out so far (0 before the first).
func (r *Registry) MaxSchemaID(ctx context.Context) (int, error) {
	id, err := r.q.maxSchemaID(ctx, r.db.SQL())
	if err != nil {
		return 0, r.storeErr("reading the schema ID counter", err)
	}
	return id, nil
}

// LookupSchema finds the version of subject that holds in (parsed and canonicalized as for
// Register). The subject must exist (ErrSubjectNotFound); a schema it does not hold wraps
// ErrSchemaNotFound. With deleted, soft-deleted versions count too; the latest match wins. A
// lookup that brings no metadata and no rule set also finds a version holding the same schema
// with the metadata or rule set a registration gave it (from the configuration or an earlier
// version; see contract.go), as clients that serialize look up the bare schema.
func (r *Registry) LookupSchema(ctx context.Context, subject string, in SchemaInput, deleted bool) (SubjectVersion, error) {
	if err := validateSubject(subject); err != nil {
		return SubjectVersion{}, err
	}
	rows, err := r.visibleVersions(ctx, subject, deleted)
	if err != nil {
		return SubjectVersion{}, err
	}
	p, refs, err := r.prepare(ctx, subject, in)
	if err != nil {
		return SubjectVersion{}, err
	}
	id, found, err := r.schemaIDOf(ctx, r.db.SQL(), schemaFingerprint(p.schema(refs)))
	if err != nil {
		return SubjectVersion{}, r.storeErr("looking up a schema", err)
	}
	for i := len(rows) - 1; found && i >= 0; i-- {
		if rows[i].schemaID == id {
			return r.SubjectVersion(ctx, subject, rows[i].version, true)
		}
	}
	if in.Metadata == "" && in.RuleSet == "" {
		row, ok, err := r.sameContent(ctx, rows, p.schema(refs))
		if err != nil {
			return SubjectVersion{}, r.storeErr("looking up a schema", err)
		}
		if ok {
			return r.SubjectVersion(ctx, subject, row.version, true)
		}
	}
	return SubjectVersion{}, errorf(ErrSchemaNotFound, "Schema not found")
}

// ResolvedSchemaText returns schema id with referenced Avro named types written inline, where
// they are first used (Confluent's format=resolved), so a reader needs no other schema. JSON
// schemas and schemas without references are returned as stored.
func (r *Registry) ResolvedSchemaText(ctx context.Context, id int) (string, error) {
	s, err := r.SchemaByID(ctx, id)
	if err != nil {
		return "", err
	}
	if s.Type != SchemaTypeAvro || len(s.References) == 0 {
		return s.Text, nil
	}
	p, err := r.parsedByID(ctx, r.db.SQL(), id)
	if err != nil {
		return "", r.storeErr("resolving a schema", err)
	}
	b, err := json.Marshal(p.avro)
	if err != nil {
		return "", r.storeErr("resolving a schema", err)
	}
	return string(b), nil
}
