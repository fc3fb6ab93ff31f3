package registry

import (
	"context"
)

// SubjectVersion returns one version of subject; version -1 means the
// latest. Without includeDeleted, soft-deleted versions are invisible: a
// subject whose versions are all soft-deleted is not found
// (ErrSubjectNotFound), and a soft-deleted version is not found
// (ErrVersionNotFound). With includeDeleted, -1 means the highest version
// whether deleted or not.
func (r *Registry) SubjectVersion(ctx context.Context, subject string, version int, includeDeleted bool) (SubjectVersion, error) {
	if err := validateSubject(subject); err != nil {
		return SubjectVersion{}, err
	}
	if err := validateVersion(version, true); err != nil {
		return SubjectVersion{}, err
	}
	all, err := r.versionRows(ctx, r.db.SQL(), subject)
	if err != nil {
		return SubjectVersion{}, r.storeErr("reading a subject", err)
	}
	// From the newest down, without copying the rows: latest is the first visible one.
	var row versionRow
	ok, visible := false, false
	for i := len(all) - 1; i >= 0 && !ok; i-- {
		if all[i].deleted && !includeDeleted {
			continue
		}
		visible = true
		row, ok = all[i], version == -1 || all[i].version == version
	}
	switch {
	case !visible:
		return SubjectVersion{}, errorf(ErrSubjectNotFound, "subject %q not found", subject)
	case !ok:
		return SubjectVersion{}, errorf(ErrVersionNotFound, "version %d of subject %q not found", version, subject)
	}
	s, found, err := r.schemaRow(ctx, r.db.SQL(), row.schemaID)
	if err != nil {
		return SubjectVersion{}, r.storeErr("reading a subject version", err)
	}
	if !found { // schema rows are never deleted; this is a broken database
		return SubjectVersion{}, r.storeErr("reading a subject version", errorf(ErrSchemaNotFound, "schema %d not found", row.schemaID))
	}
	return SubjectVersion{Subject: subject, Version: row.version, Schema: s, Deleted: row.deleted}, nil
}

// versionRows returns subject's version rows, ascending: from memory when db is the pool and
// the registry serves reads from memory, else through db. The slice is shared: do not modify.
func (r *Registry) versionRows(ctx context.Context, db querier, subject string) ([]versionRow, error) {
	if idx := r.memFor(db); idx != nil {
		return idx.versions(subject), nil
	}
	return r.q.subjectVersions(ctx, db, subject)
}

// schemaIDOf returns the ID of the stored schema with fingerprint fp, from memory as
// versionRows does.
func (r *Registry) schemaIDOf(ctx context.Context, db querier, fp string) (int, bool, error) {
	if idx := r.memFor(db); idx != nil {
		id, found := idx.schemaID(fp)
		return id, found, nil
	}
	return r.q.schemaIDByFingerprint(ctx, db, fp)
}

// schemaRow returns schema id, from memory as versionRows does.
func (r *Registry) schemaRow(ctx context.Context, db querier, id int) (Schema, bool, error) {
	if idx := r.memFor(db); idx != nil {
		s, found := idx.schema(id)
		return s, found, nil
	}
	return r.q.schema(ctx, db, id)
}

// visibleVersions returns the version rows of subject that the caller may
// see, ascending, or ErrSubjectNotFound when there are none.
func (r *Registry) visibleVersions(ctx context.Context, subject string, includeDeleted bool) ([]versionRow, error) {
	all, err := r.versionRows(ctx, r.db.SQL(), subject)
	if err != nil {
		return nil, r.storeErr("reading a subject", err)
	}
	rows := all[:0:0]
	for _, row := range all {
		if includeDeleted || !row.deleted {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return nil, errorf(ErrSubjectNotFound, "subject %q not found", subject)
	}
	return rows, nil
}

// Subjects returns the names of the subjects starting with prefix (all
// subjects for ""), sorted by byte order. A subject is listed when it has a
// live version, or any version with includeDeleted.
func (r *Registry) Subjects(ctx context.Context, prefix string, includeDeleted bool) ([]string, error) {
	return r.ListSubjects(ctx, SubjectFilter{Prefix: prefix, Deleted: includeDeleted})
}

// Versions returns the versions of subject, ascending; soft-deleted ones
// only with includeDeleted. A subject with no visible version is not found.
func (r *Registry) Versions(ctx context.Context, subject string, includeDeleted bool) ([]int, error) {
	return r.ListVersions(ctx, subject, includeDeleted, false)
}

// validateReferences checks the shape of references and returns a copy.
func validateReferences(refs []Reference) ([]Reference, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	out := make([]Reference, len(refs))
	names := map[string]bool{}
	for i, ref := range refs {
		switch {
		case ref.Name == "":
			return nil, errorf(ErrInvalidSchema, "invalid schema reference #%d: name is empty", i+1)
		case names[ref.Name]:
			return nil, errorf(ErrInvalidSchema, "invalid schema reference %q: the name is used twice", ref.Name)
		case ref.Version <= 0:
			return nil, errorf(ErrInvalidSchema, "invalid schema reference %q: version %d is not a positive integer", ref.Name, ref.Version)
		}
		if err := validateSubject(ref.Subject); err != nil {
			return nil, errorf(ErrInvalidSchema, "invalid schema reference %q: %s", ref.Name, err.Error())
		}
		names[ref.Name] = true
		out[i] = ref
	}
	return out, nil
}

// checkLiveReference checks that ref names an existing, live subject version.
func (r *Registry) checkLiveReference(ctx context.Context, db querier, ref Reference) error {
	_, err := r.liveReference(ctx, db, ref)
	return err
}

func (r *Registry) liveReference(ctx context.Context, db querier, ref Reference) (versionRow, error) {
	return r.referencedRow(ctx, db, ref, true)
}

// referencedRow finds the version row ref points to; with liveOnly, soft-deleted versions do
// not count.
func (r *Registry) referencedRow(ctx context.Context, db querier, ref Reference, liveOnly bool) (versionRow, error) {
	rows, err := r.versionRows(ctx, db, ref.Subject)
	if err != nil {
		return versionRow{}, err
	}
	for _, row := range rows {
		if row.version == ref.Version && (!row.deleted || !liveOnly) {
			return row, nil
		}
	}
	return versionRow{}, errorf(ErrReferenceNotFound, "schema reference %q: subject %q version %d not found", ref.Name, ref.Subject, ref.Version)
}

// resolveDependencies loads the live schemas refs point to, and the schemas
// those reference, in an order where each comes after its own references.
func (r *Registry) resolveDependencies(ctx context.Context, refs []Reference) ([]dependency, error) {
	return r.dependencies(ctx, r.db.SQL(), refs, true)
}

// resolveDependenciesIn loads the dependencies of a stored schema through db, soft-deleted
// referenced versions included (a stored schema keeps what it was registered with).
func (r *Registry) resolveDependenciesIn(ctx context.Context, db querier, refs []Reference) ([]dependency, error) {
	return r.dependencies(ctx, db, refs, false)
}

func (r *Registry) dependencies(ctx context.Context, db querier, refs []Reference, liveOnly bool) ([]dependency, error) {
	var deps []dependency
	seen := map[Reference]bool{}
	var visit func(ref Reference, depth int) error
	visit = func(ref Reference, depth int) error {
		if seen[ref] {
			return nil
		}
		seen[ref] = true
		if len(seen) > r.maxRefs || depth > r.maxRefs {
			return errorf(ErrInvalidSchema, "invalid schema: more than %d references, counting references of references", r.maxRefs)
		}
		row, err := r.referencedRow(ctx, db, ref, liveOnly)
		if err != nil {
			return r.storeErr("reading a schema reference", err)
		}
		s, found, err := r.schemaRow(ctx, db, row.schemaID)
		if err != nil {
			return r.storeErr("reading a schema reference", err)
		}
		if !found {
			return errorf(ErrReferenceNotFound, "schema reference %q: schema %d not found", ref.Name, row.schemaID)
		}
		for _, sub := range s.References {
			if err := visit(sub, depth+1); err != nil {
				return err
			}
		}
		deps = append(deps, dependency{name: ref.Name, ref: ref, typ: s.Type, text: s.Text})
		return nil
	}
	for _, ref := range refs {
		if err := visit(ref, 0); err != nil {
			return nil, err
		}
	}
	return deps, nil
}
