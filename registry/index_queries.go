package registry

import (
	"context"
	"database/sql"
)

// The queries that load the whole registry into memory (index.go).

// allSchemas returns every schema row with its references, by ID, and the IDs by fingerprint.
func (q queries) allSchemas(ctx context.Context, db querier) (map[int]Schema, map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, fingerprint, schema_type, canonical, metadata, rule_set FROM schemas`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	schemas, byFP := map[int]Schema{}, map[string]int{}
	for rows.Next() {
		var s Schema
		var fp, typ string
		var metadata, ruleSet sql.NullString
		if err := rows.Scan(&s.ID, &fp, &typ, &s.Text, &metadata, &ruleSet); err != nil {
			return nil, nil, err
		}
		s.Type, s.Metadata, s.RuleSet = SchemaType(typ), metadata.String, ruleSet.String
		schemas[s.ID], byFP[fp] = s, s.ID
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	refs, err := db.QueryContext(ctx, `SELECT schema_id, name, subject, version FROM schema_references ORDER BY schema_id, position`)
	if err != nil {
		return nil, nil, err
	}
	defer refs.Close()
	for refs.Next() {
		var id int
		var r Reference
		if err := refs.Scan(&id, &r.Name, &r.Subject, &r.Version); err != nil {
			return nil, nil, err
		}
		if s, ok := schemas[id]; ok {
			s.References = append(s.References, r)
			schemas[id] = s
		}
	}
	return schemas, byFP, refs.Err()
}

// allConfigs returns every stored compatibility configuration ("" : the global one).
func (q queries) allConfigs(ctx context.Context, db querier) (map[string]Config, error) {
	rows, err := db.QueryContext(ctx, `SELECT subject, `+configSelect+` FROM subject_configs`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Config{}
	for rows.Next() {
		var subject string
		var row configColumns
		if err := rows.Scan(append([]any{&subject}, row.dest()...)...); err != nil {
			return nil, err
		}
		out[subject] = row.config()
	}
	return out, rows.Err()
}

// allModes returns every stored access mode ("" : the global one).
func (q queries) allModes(ctx context.Context, db querier) (map[string]AccessMode, error) {
	rows, err := db.QueryContext(ctx, `SELECT subject, mode FROM subject_modes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]AccessMode{}
	for rows.Next() {
		var subject, m string
		if err := rows.Scan(&subject, &m); err != nil {
			return nil, err
		}
		out[subject] = AccessMode(m)
	}
	return out, rows.Err()
}

// countedVersions runs, as ONE statement, a query whose rows are either a subject's change
// counter (counter = 1; the counter in the schema_id column) or one of its version rows
// (counter = 0), and returns the version rows (in the query's order) and the counters by
// subject. One statement reads one snapshot of the database on SQLite and PostgreSQL, so each
// counter is exactly the one of the rows read with it.
func (q queries) countedVersions(ctx context.Context, db querier, query string, args ...any) ([]versionRow, map[string]int64, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []versionRow
	changes := map[string]int64{}
	for rows.Next() {
		var counter, deleted int
		var v versionRow
		var n int64
		if err := rows.Scan(&counter, &v.subject, &v.version, &n, &deleted); err != nil {
			return nil, nil, err
		}
		if counter == 1 {
			changes[v.subject] = n
			continue
		}
		v.schemaID, v.deleted = int(n), deleted != 0
		out = append(out, v)
	}
	return out, changes, rows.Err()
}

// countedSelect is countedVersions' query over subject_changes and subject_versions; where (a
// condition on subject, or "") selects the subjects.
func countedSelect(where string) string {
	if where != "" {
		where = " WHERE " + where
	}
	return `SELECT 1, subject, 0, changes, 0 FROM subject_changes` + where + `
UNION ALL SELECT 0, subject, version, schema_id, deleted FROM subject_versions` + where + `
ORDER BY 2, 1 DESC, 3`
}

// allVersionsCounted returns every subject version row, ordered by subject and version, and
// every subject's change counter, read together (see countedVersions).
func (q queries) allVersionsCounted(ctx context.Context, db querier) ([]versionRow, map[string]int64, error) {
	return q.countedVersions(ctx, db, countedSelect(""))
}

// subjectVersionsCounted returns subject's version rows, ascending, and its change counter (0:
// none, the subject never had a version), read together (see countedVersions).
func (q queries) subjectVersionsCounted(ctx context.Context, db querier, subject string) ([]versionRow, int64, error) {
	rows, changes, err := q.countedVersions(ctx, db, q.d.Rebind(countedSelect("subject = ?")), subject, subject)
	return rows, changes[subject], err
}

// subjectChanges returns the change counters of subjects (absent: 0, never written).
func (q queries) subjectChanges(ctx context.Context, db querier, subjects []any) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, q.d.Rebind(
		`SELECT subject, changes FROM subject_changes WHERE subject IN (`+placeholders(len(subjects))+`)`), subjects...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]int64, len(subjects))
	for rows.Next() {
		var subject string
		var n int64
		if err := rows.Scan(&subject, &n); err != nil {
			return nil, err
		}
		out[subject] = n
	}
	return out, rows.Err()
}
