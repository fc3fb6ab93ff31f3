package registry

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// batchView is what a batch's transaction reads once for all its registrations, instead of
// each registration reading it again (each read is a round trip to the database): the version
// rows of the batch's subjects with their change counters, the IDs of its schemas already
// stored, and per subject the access mode and configuration. It is read after the write lock
// is taken, and every registry write takes that lock, so only the batch's own registrations
// change what it holds while the transaction runs; record adds each one that is kept.
// Registrations change no mode and no configuration.
type batchView struct {
	rows    map[string][]versionRow // by subject; shared slices (memory's too) are never modified
	changes map[string]int64        // by subject: the change counter of rows (0: never written)
	ids     map[string]int          // schema ID by fingerprint, of stored schemas
	modes   map[string]checkedMode
	configs map[string]Config
}

// checkedMode is checkWritable's answer for a subject.
type checkedMode struct {
	mode AccessMode
	err  error
}

// readBatchView reads, in tx, the version rows of the subjects of batch with their change
// counters, and the IDs of its schemas already stored: two or three queries for the whole
// batch. When the registry serves from memory, it reads the subjects' counters first and takes
// from memory the rows of each subject whose counter memory holds too (they are the rows the
// database holds: see subject_changes); it reads the others' rows (another replica wrote, a
// reload is pending or failed), which costs more the more versions they have.
func (r *Registry) readBatchView(ctx context.Context, tx *sql.Tx, batch []*registration) (*batchView, error) {
	v := &batchView{rows: map[string][]versionRow{}, changes: map[string]int64{}, ids: map[string]int{},
		modes: map[string]checkedMode{}, configs: map[string]Config{}}
	var subjects, fps []any
	seenS, seenF := map[string]bool{}, map[string]bool{}
	for _, w := range batch {
		if s := w.sv.Subject; !seenS[s] {
			seenS[s] = true
			subjects = append(subjects, s)
		}
		if fp := schemaFingerprint(w.sv.Schema); !seenF[fp] {
			seenF[fp] = true
			fps = append(fps, fp)
		}
	}
	others := subjects // the subjects whose rows are read from the database
	if idx := r.idx; idx != nil {
		changes, err := r.q.subjectChanges(ctx, tx, subjects)
		if err != nil {
			return nil, err
		}
		v.changes = changes
		v.rows, others = idx.rowsAt(changes, subjects)
	}
	if len(others) > 0 {
		in := placeholders(len(others))
		all, changes, err := r.q.countedVersions(ctx, tx, r.q.d.Rebind(countedSelect(`subject IN (`+in+`)`)),
			append(others, others...)...)
		if err != nil {
			return nil, err
		}
		for _, s := range others {
			v.changes[s.(string)] = changes[s.(string)]
		}
		for _, row := range all {
			v.rows[row.subject] = append(v.rows[row.subject], row)
		}
	}
	rows, err := tx.QueryContext(ctx, r.q.d.Rebind(
		`SELECT fingerprint, id FROM schemas WHERE fingerprint IN (`+placeholders(len(fps))+`)`), fps...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var fp string
		var id int
		if err := rows.Scan(&fp, &id); err != nil {
			return nil, err
		}
		v.ids[fp] = id
	}
	return v, rows.Err()
}

// placeholders is n comma-separated question marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// versions returns subject's version rows, ascending (shared: do not modify).
func (v *batchView) versions(subject string) []versionRow {
	return v.rows[subject]
}

// schemaID finds a stored schema by fingerprint.
func (v *batchView) schemaID(fp string) (int, bool) {
	id, ok := v.ids[fp]
	return id, ok
}

// checkWritable is Registry.checkWritable, read once per subject.
func (v *batchView) checkWritable(ctx context.Context, r *Registry, tx *sql.Tx, subject string) (AccessMode, error) {
	if m, ok := v.modes[subject]; ok {
		return m.mode, m.err
	}
	mode, err := r.checkWritable(ctx, tx, subject)
	if err == nil || asRegistryError(err) { // a database failure fails the batch: not kept
		v.modes[subject] = checkedMode{mode, err}
	}
	return mode, err
}

// effectiveConfig is Registry.effectiveConfig, read once per subject.
func (v *batchView) effectiveConfig(ctx context.Context, r *Registry, tx *sql.Tx, subject string) (Config, error) {
	if c, ok := v.configs[subject]; ok {
		return c, nil
	}
	c, err := r.effectiveConfig(ctx, tx, subject)
	if err == nil {
		v.configs[subject] = c
	}
	return c, err
}

// record adds what a kept registration wrote: sv's version row and its schema's ID, fp. stale
// (when not "") is the fingerprint of the schema whose ID sv's schema took over: no schema has
// it any more. It returns the subject's change counter after the write: the write inserted
// one row of subject_versions, which the trigger counted once.
func (v *batchView) record(sv SubjectVersion, fp, stale string) int64 {
	v.rows[sv.Subject] = withVersion(v.rows[sv.Subject], sv)
	v.changes[sv.Subject]++
	if stale != "" {
		delete(v.ids, stale)
	}
	v.ids[fp] = sv.Schema.ID
	return v.changes[sv.Subject]
}

// withVersion returns a new slice of rows (ascending by version) and sv's new, live row, in its
// place: IMPORT mode may give any version.
func withVersion(rows []versionRow, sv SubjectVersion) []versionRow {
	out := make([]versionRow, 0, len(rows)+1)
	out = append(out, rows...)
	out = append(out, versionRow{subject: sv.Subject, version: sv.Version, schemaID: sv.Schema.ID})
	slices.SortFunc(out, func(a, b versionRow) int { return a.version - b.version })
	return out
}
