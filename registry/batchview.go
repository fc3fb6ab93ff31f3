package registry

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// batchView is what a batch's transaction reads once for all its registrations, instead of
// each registration reading it again (each read is a round trip to the database): the version
// rows of the batch's subjects, the IDs of its schemas already stored, and per subject the
// access mode and configuration. It is read after the write lock is taken, and every registry
// write takes that lock, so only the batch's own registrations change what it holds while the
// transaction runs; record adds each one that is kept. Registrations change no mode and no
// configuration. A nil *batchView reads the database on each call.
type batchView struct {
	rows    map[string][]versionRow // by subject; shared slices are never modified
	ids     map[string]int          // schema ID by fingerprint, of stored schemas
	modes   map[string]checkedMode
	configs map[string]Config
}

// checkedMode is checkWritable's answer for a subject.
type checkedMode struct {
	mode AccessMode
	err  error
}

// readBatchView reads, in tx, the version rows of the subjects of batch and the IDs of its
// schemas already stored: two queries for the whole batch.
func (r *Registry) readBatchView(ctx context.Context, tx *sql.Tx, batch []*registration) (*batchView, error) {
	v := &batchView{rows: map[string][]versionRow{}, ids: map[string]int{},
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
	all, err := r.q.versionRows(ctx, tx, r.q.d.Rebind(
		`SELECT subject, version, schema_id, deleted FROM subject_versions WHERE subject IN (`+placeholders(len(subjects))+`) ORDER BY subject, version`),
		subjects...)
	if err != nil {
		return nil, err
	}
	for _, row := range all {
		v.rows[row.subject] = append(v.rows[row.subject], row)
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
func (v *batchView) versions(ctx context.Context, r *Registry, tx *sql.Tx, subject string) ([]versionRow, error) {
	if v == nil {
		return r.q.subjectVersions(ctx, tx, subject)
	}
	return v.rows[subject], nil
}

// schemaID finds a stored schema by fingerprint.
func (v *batchView) schemaID(ctx context.Context, r *Registry, tx *sql.Tx, fp string) (int, bool, error) {
	if v == nil {
		return r.q.schemaIDByFingerprint(ctx, tx, fp)
	}
	id, ok := v.ids[fp]
	return id, ok, nil
}

// checkWritable is Registry.checkWritable, read once per subject.
func (v *batchView) checkWritable(ctx context.Context, r *Registry, tx *sql.Tx, subject string) (AccessMode, error) {
	if v == nil {
		return r.checkWritable(ctx, tx, subject)
	}
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
	if v == nil {
		return r.effectiveConfig(ctx, tx, subject)
	}
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
// it any more.
func (v *batchView) record(sv SubjectVersion, fp, stale string) {
	if v == nil {
		return
	}
	v.rows[sv.Subject] = withVersion(v.rows[sv.Subject], sv)
	if stale != "" {
		delete(v.ids, stale)
	}
	v.ids[fp] = sv.Schema.ID
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
