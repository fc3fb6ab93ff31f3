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
