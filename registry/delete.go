package registry

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// DeleteSubject deletes every version of subject and returns the versions
// deleted, ascending.
//
// A soft delete (permanent false) flags the live versions deleted; IDs and
// rows are kept and stay visible with includeDeleted. It fails with
// ErrSubjectSoftDeleted when the subject has only soft-deleted versions.
//
// A permanent delete removes the version rows and requires the subject to
// be soft-deleted first (ErrSubjectNotSoftDeleted). The schemas themselves
// are kept, so their IDs are never reused outside IMPORT mode (see Register).
//
// Either way it fails with ErrReferenceInUse while a version of another
// subject references one of the versions (for a soft delete, a live
// version; for a permanent delete, any version).
func (r *Registry) DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	if err := validateSubject(subject); err != nil {
		return nil, err
	}
	var deleted, schemaIDs []int
	var change Change
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := r.db.Dialect().LockWrites(ctx, tx, writeLock); err != nil {
			return err
		}
		deleted, schemaIDs = nil, nil
		if _, err := r.checkWritable(ctx, tx, subject); err != nil {
			return err
		}
		rows, err := r.q.subjectVersions(ctx, tx, subject)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return errorf(ErrSubjectNotFound, "subject %q not found", subject)
		}
		var targets []int
		for _, row := range rows {
			if !permanent && !row.deleted {
				targets = append(targets, row.version)
			}
			if permanent && !row.deleted {
				return errorf(ErrSubjectNotSoftDeleted, "subject %q was not soft-deleted first: soft-delete it before deleting it permanently", subject)
			}
			if permanent {
				targets = append(targets, row.version)
				schemaIDs = append(schemaIDs, row.schemaID)
			}
		}
		if len(targets) == 0 {
			return errorf(ErrSubjectSoftDeleted, "subject %q was soft-deleted; delete it permanently or register a new version", subject)
		}
		for _, v := range targets {
			if err := r.checkNotReferenced(ctx, tx, subject, v, !permanent, subject); err != nil {
				return err
			}
			if permanent {
				err = r.q.hardDelete(ctx, tx, subject, v)
			} else {
				err = r.q.softDelete(ctx, tx, subject, v)
			}
			if err != nil {
				return err
			}
		}
		deleted = targets
		if permanent {
			// A permanently deleted subject starts afresh: versions from 1, no settings.
			if err := r.q.deleteSubjectSettings(ctx, tx, subject); err != nil {
				return err
			}
		}
		change = Change{Action: ActionSchemaDeleted, Subject: subject, Details: map[string]string{
			"versions": fmt.Sprint(deleted), "permanent": strconv.FormatBool(permanent)}}
		return r.hooks.Journal(ctx, tx, change)
	})
	if err != nil {
		return nil, r.storeErr("deleting a subject", err)
	}
	r.forget(schemaIDs...)
	r.hooks.Notify(ctx, change)
	r.log.InfoContext(ctx, "subject deleted", "subject", subject, "versions", deleted, "permanent", permanent)
	return deleted, nil
}

// DeleteVersion deletes one version of subject (-1: the latest) and returns
// it.
//
// A soft delete flags the version deleted; -1 means the latest live version.
// It fails with ErrSubjectNotFound when the subject has no live version,
// ErrVersionNotFound for a version that does not exist and
// ErrVersionSoftDeleted for one already soft-deleted.
//
// A permanent delete removes the row and requires the version to be
// soft-deleted first (ErrVersionNotSoftDeleted); -1 means the highest
// version, soft-deleted or not. Its schema is kept, so the ID is never
// reused outside IMPORT mode.
//
// Either way it fails with ErrReferenceInUse while another schema references
// the version (for a soft delete, a live version; for a permanent delete,
// any version).
func (r *Registry) DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error) {
	if err := validateSubject(subject); err != nil {
		return 0, err
	}
	if err := validateVersion(version, true); err != nil {
		return 0, err
	}
	var deleted, schemaID int
	var change Change
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := r.db.Dialect().LockWrites(ctx, tx, writeLock); err != nil {
			return err
		}
		if _, err := r.checkWritable(ctx, tx, subject); err != nil {
			return err
		}
		all, err := r.q.subjectVersions(ctx, tx, subject)
		if err != nil {
			return err
		}
		rows := all
		if !permanent { // soft-deleted versions are invisible to a soft delete
			rows = nil
			for _, row := range all {
				if !row.deleted {
					rows = append(rows, row)
				}
			}
		}
		if len(rows) == 0 {
			return errorf(ErrSubjectNotFound, "subject %q not found", subject)
		}
		row, ok := rows[len(rows)-1], version == -1
		for _, candidate := range all {
			if candidate.version == version {
				row, ok = candidate, true
			}
		}
		switch {
		case !ok:
			return errorf(ErrVersionNotFound, "version %d of subject %q not found", version, subject)
		case !permanent && row.deleted:
			return errorf(ErrVersionSoftDeleted, "version %d of subject %q was soft-deleted; delete it permanently instead", row.version, subject)
		case permanent && !row.deleted:
			return errorf(ErrVersionNotSoftDeleted, "version %d of subject %q was not soft-deleted first: soft-delete it before deleting it permanently", row.version, subject)
		}
		if err := r.checkNotReferenced(ctx, tx, subject, row.version, !permanent, ""); err != nil {
			return err
		}
		deleted, schemaID = row.version, 0
		if permanent {
			schemaID = row.schemaID
			err = r.q.hardDelete(ctx, tx, subject, row.version)
		} else {
			err = r.q.softDelete(ctx, tx, subject, row.version)
		}
		if err != nil {
			return err
		}
		change = Change{Action: ActionSchemaDeleted, Subject: subject, Details: map[string]string{
			"versions": fmt.Sprint([]int{deleted}), "permanent": strconv.FormatBool(permanent)}}
		return r.hooks.Journal(ctx, tx, change)
	})
	if err != nil {
		return 0, r.storeErr("deleting a subject version", err)
	}
	if schemaID != 0 {
		r.forget(schemaID)
	}
	r.hooks.Notify(ctx, change)
	r.log.InfoContext(ctx, "subject version deleted", "subject", subject, "version", deleted, "permanent", permanent)
	return deleted, nil
}

// checkNotReferenced fails with ErrReferenceInUse when a version (a live
// one, with liveOnly) outside excludeSubject references subject/version.
func (r *Registry) checkNotReferenced(ctx context.Context, db querier, subject string, version int, liveOnly bool, excludeSubject string) error {
	refs, err := r.q.referrers(ctx, db, subject, version, liveOnly, excludeSubject)
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return nil
	}
	names := make([]string, 0, min(len(refs), 5))
	for _, ref := range refs[:min(len(refs), 5)] {
		names = append(names, fmt.Sprintf("%q version %d", ref.Subject, ref.Version))
	}
	more := ""
	if len(refs) > 5 {
		more = fmt.Sprintf(" and %d more", len(refs)-5)
	}
	return errorf(ErrReferenceInUse, "version %d of subject %q is referenced by subject %s%s", version, subject, strings.Join(names, ", subject "), more)
}

// forget drops permanently deleted schemas from the SchemaByID cache, so the next lookup asks
// the database whether another version still holds them. (Other replicas keep serving a
// cached schema by ID after a permanent delete here: a schema that this replica would no
// longer list, never wrong content, since an IMPORT that gives the ID to other content makes
// every replica forget the old; see forgetContent.)
func (r *Registry) forget(ids ...int) {
	for _, id := range ids {
		r.visible.remove(id)
	}
}
