package registry

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/schemagate/schemagate/store"
)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries holds the registry's SQL. Every statement is portable between
// SQLite and PostgreSQL and goes through Dialect.Rebind. Booleans are stored
// as integers 0/1 for portability.
type queries struct {
	d store.Dialect
}

// versionRow is one row of subject_versions: a subject version and the schema it holds.
type versionRow struct {
	subject  string
	version  int
	schemaID int
	deleted  bool
}

// subjectVersions returns all version rows of subject, ascending.
func (q queries) subjectVersions(ctx context.Context, db querier, subject string) ([]versionRow, error) {
	return q.versionRows(ctx, db, q.d.Rebind(
		`SELECT subject, version, schema_id, deleted FROM subject_versions WHERE subject = ? ORDER BY version`), subject)
}

// subjectStates returns every subject with whether it has a live version.
func (q queries) subjectStates(ctx context.Context, db querier) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT subject, MIN(deleted) FROM subject_versions GROUP BY subject`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var subject string
		var minDeleted int
		if err := rows.Scan(&subject, &minDeleted); err != nil {
			return nil, err
		}
		out[subject] = minDeleted == 0
	}
	return out, rows.Err()
}

// schema loads a schema row and its references. found is false when there
// is no such row.
func (q queries) schema(ctx context.Context, db querier, id int) (s Schema, found bool, err error) {
	var typ string
	var metadata, ruleSet sql.NullString
	err = db.QueryRowContext(ctx, q.d.Rebind(
		`SELECT schema_type, canonical, metadata, rule_set FROM schemas WHERE id = ?`), id).Scan(&typ, &s.Text, &metadata, &ruleSet)
	if errors.Is(err, sql.ErrNoRows) {
		return Schema{}, false, nil
	}
	if err != nil {
		return Schema{}, false, err
	}
	s.ID, s.Type, s.Metadata, s.RuleSet = id, SchemaType(typ), metadata.String, ruleSet.String
	rows, err := db.QueryContext(ctx, q.d.Rebind(
		`SELECT name, subject, version FROM schema_references WHERE schema_id = ? ORDER BY position`), id)
	if err != nil {
		return Schema{}, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var r Reference
		if err := rows.Scan(&r.Name, &r.Subject, &r.Version); err != nil {
			return Schema{}, false, err
		}
		s.References = append(s.References, r)
	}
	return s, true, rows.Err()
}

// schemaInUse reports whether any subject version (soft-deleted included)
// refers to schema id.
func (q queries) schemaInUse(ctx context.Context, db querier, id int) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, q.d.Rebind(
		`SELECT COUNT(*) FROM subject_versions WHERE schema_id = ?`), id).Scan(&n)
	return n > 0, err
}

// schemaIDByFingerprint finds a stored schema by content.
func (q queries) schemaIDByFingerprint(ctx context.Context, db querier, fp string) (id int, found bool, err error) {
	err = db.QueryRowContext(ctx, q.d.Rebind(
		`SELECT id FROM schemas WHERE fingerprint = ?`), fp).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// nextSchemaID takes the next global schema ID from the counter row. The
// counter only grows, so IDs are never reused, whatever is deleted.
func (q queries) nextSchemaID(ctx context.Context, tx *sql.Tx) (int, error) {
	var id int
	err := tx.QueryRowContext(ctx, `UPDATE id_counters SET value = value + 1 WHERE name = 'schema_id' RETURNING value`).Scan(&id)
	return id, err
}

// insertNewSchemaVersion stores s (without its references), a schema not stored yet, under
// the next schema ID, and subject's version holding it, in one statement (PostgreSQL only:
// SQLite has no data-modifying WITH). It returns the ID; when no 32-bit ID is left it stores
// nothing and says so (the transaction, which took an ID from the counter, must not commit).
func (q queries) insertNewSchemaVersion(ctx context.Context, tx *sql.Tx, s Schema, fp, subject string, version int, createdAt int64) (int, error) {
	var id int
	err := tx.QueryRowContext(ctx, `WITH next AS (
			UPDATE id_counters SET value = value + 1 WHERE name = 'schema_id' RETURNING value
		), stored AS (
			INSERT INTO schemas (id, fingerprint, schema_type, canonical, metadata, rule_set)
			SELECT value, $1, $2, $3, $4, $5 FROM next WHERE value <= $6 RETURNING id
		)
		INSERT INTO subject_versions (subject, version, schema_id, deleted, created_at)
		SELECT $7, $8, id, 0, $9 FROM stored RETURNING schema_id`,
		fp, string(s.Type), s.Text, nullString(s.Metadata), nullString(s.RuleSet), math.MaxInt32,
		subject, version, createdAt).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNoSchemaIDLeft
	}
	return id, err
}

// insertSchema stores a new content-addressed schema with its references.
func (q queries) insertSchema(ctx context.Context, tx *sql.Tx, s Schema, fp string) error {
	if _, err := tx.ExecContext(ctx, q.d.Rebind(
		`INSERT INTO schemas (id, fingerprint, schema_type, canonical, metadata, rule_set) VALUES (?, ?, ?, ?, ?, ?)`),
		s.ID, fp, string(s.Type), s.Text, nullString(s.Metadata), nullString(s.RuleSet)); err != nil {
		return err
	}
	return q.insertReferences(ctx, tx, s)
}

// replaceSchema stores s under the ID of a schema row that no subject version holds any more
// (IMPORT mode reusing a permanently deleted schema's ID): content, type, metadata, rule set,
// fingerprint and references all become s's.
func (q queries) replaceSchema(ctx context.Context, tx *sql.Tx, s Schema, fp string) error {
	if _, err := tx.ExecContext(ctx, q.d.Rebind(
		`UPDATE schemas SET fingerprint = ?, schema_type = ?, canonical = ?, metadata = ?, rule_set = ? WHERE id = ?`),
		fp, string(s.Type), s.Text, nullString(s.Metadata), nullString(s.RuleSet), s.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, q.d.Rebind(`DELETE FROM schema_references WHERE schema_id = ?`), s.ID); err != nil {
		return err
	}
	return q.insertReferences(ctx, tx, s)
}

// insertReferences stores s's references, in order.
func (q queries) insertReferences(ctx context.Context, tx *sql.Tx, s Schema) error {
	for i, r := range s.References {
		if _, err := tx.ExecContext(ctx, q.d.Rebind(
			`INSERT INTO schema_references (schema_id, position, name, subject, version) VALUES (?, ?, ?, ?, ?)`),
			s.ID, i, r.Name, r.Subject, r.Version); err != nil {
			return err
		}
	}
	return nil
}

// insertVersion adds a live subject version, registered at createdAt (unix microseconds).
func (q queries) insertVersion(ctx context.Context, tx *sql.Tx, subject string, version, schemaID int, createdAt int64) error {
	_, err := tx.ExecContext(ctx, q.d.Rebind(
		`INSERT INTO subject_versions (subject, version, schema_id, deleted, created_at) VALUES (?, ?, ?, 0, ?)`),
		subject, version, schemaID, createdAt)
	return err
}

// latestVersionTime is when subject's highest live version was registered (0 when unknown).
func (q queries) latestVersionTime(ctx context.Context, db querier, subject string) (int64, error) {
	var at sql.NullInt64
	err := db.QueryRowContext(ctx, q.d.Rebind(
		`SELECT created_at FROM subject_versions WHERE subject = ? AND deleted = 0 ORDER BY version DESC LIMIT 1`), subject).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return at.Int64, err
}

// softDelete flags a version deleted.
func (q queries) softDelete(ctx context.Context, tx *sql.Tx, subject string, version int) error {
	_, err := tx.ExecContext(ctx, q.d.Rebind(
		`UPDATE subject_versions SET deleted = 1 WHERE subject = ? AND version = ?`), subject, version)
	return err
}

// hardDelete removes a version row. The schema row stays: it is
// content-addressed, so registering the same content again gets its ID back.
func (q queries) hardDelete(ctx context.Context, tx *sql.Tx, subject string, version int) error {
	_, err := tx.ExecContext(ctx, q.d.Rebind(
		`DELETE FROM subject_versions WHERE subject = ? AND version = ?`), subject, version)
	return err
}

// referrers returns the subject versions whose schema references
// subject/version; with liveOnly, only versions that are not soft-deleted.
// Versions of excludeSubject are left out (deleting a whole subject may
// delete its internal referrers with it).
func (q queries) referrers(ctx context.Context, db querier, subject string, version int, liveOnly bool, excludeSubject string) ([]Reference, error) {
	query := `SELECT sv.subject, sv.version FROM schema_references r
JOIN subject_versions sv ON sv.schema_id = r.schema_id
WHERE r.subject = ? AND r.version = ? AND sv.subject <> ?`
	if liveOnly {
		query += ` AND sv.deleted = 0`
	}
	query += ` ORDER BY sv.subject, sv.version`
	rows, err := db.QueryContext(ctx, q.d.Rebind(query), subject, version, excludeSubject)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Reference
	for rows.Next() {
		var r Reference
		if err := rows.Scan(&r.Subject, &r.Version); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// raiseSchemaID makes sure the ID counter is at least id, so an ID imported from another
// registry is never handed out again.
func (q queries) raiseSchemaID(ctx context.Context, tx *sql.Tx, id int) error {
	_, err := tx.ExecContext(ctx, q.d.Rebind(
		`UPDATE id_counters SET value = ? WHERE name = 'schema_id' AND value < ?`), id, id)
	return err
}

// maxSchemaID is the highest schema ID handed out so far.
func (q queries) maxSchemaID(ctx context.Context, db querier) (int, error) {
	var id int
	err := db.QueryRowContext(ctx, `SELECT value FROM id_counters WHERE name = 'schema_id'`).Scan(&id)
	return id, err
}

// storedFingerprint returns the fingerprint of schema row id (referred to or not); found is
// false when there is no such row.
func (q queries) storedFingerprint(ctx context.Context, db querier, id int) (fp string, found bool, err error) {
	err = db.QueryRowContext(ctx, q.d.Rebind(`SELECT fingerprint FROM schemas WHERE id = ?`), id).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return fp, err == nil, err
}

// allVersions returns every subject version row, ordered by subject and version.
func (q queries) allVersions(ctx context.Context, db querier) ([]versionRow, error) {
	return q.versionRows(ctx, db, `SELECT subject, version, schema_id, deleted FROM subject_versions ORDER BY subject, version`)
}

// versionsOfSchema returns the subject versions holding schema id.
func (q queries) versionsOfSchema(ctx context.Context, db querier, id int) ([]versionRow, error) {
	return q.versionRows(ctx, db, q.d.Rebind(
		`SELECT subject, version, schema_id, deleted FROM subject_versions WHERE schema_id = ? ORDER BY subject, version`), id)
}

// versionRows runs a query selecting subject, version, schema_id and deleted from
// subject_versions.
func (q queries) versionRows(ctx context.Context, db querier, query string, args ...any) ([]versionRow, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []versionRow
	for rows.Next() {
		var v versionRow
		var deleted int
		if err := rows.Scan(&v.subject, &v.version, &v.schemaID, &deleted); err != nil {
			return nil, err
		}
		v.deleted = deleted != 0
		out = append(out, v)
	}
	return out, rows.Err()
}

// deleteSubjectSettings removes a subject's config and mode (after a permanent delete).
func (q queries) deleteSubjectSettings(ctx context.Context, tx *sql.Tx, subject string) error {
	if err := q.deleteConfig(ctx, tx, subject); err != nil {
		return err
	}
	return q.deleteMode(ctx, tx, subject)
}
