package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded SQL file, named NNNN_description.sql, with the
// text to run on one dialect.
//
// A migration may differ per database: NNNN_description.postgres.sql (or
// .sqlite.sql), next to NNNN_description.sql, replaces its text on that
// dialect. The migration keeps its version and name, NNNN_description.sql,
// which is what schema_migrations records on every database; recorded
// versions and names are a contract with existing databases, so a migration
// is never renumbered or renamed once released.
type migration struct {
	version int
	name    string // recorded in schema_migrations
	file    string // the file whose text is sql: name or its override
	sql     string
}

// dialects are the dialects whose names may mark an override file.
var dialects = []Dialect{SQLite, Postgres}

// loadMigrations reads the migrations for dialect d in version order.
// Versions must start at 1 and have no gaps or duplicates, and every
// override file needs its base file.
func loadMigrations(fsys fs.FS, d Dialect) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []migration
	overrides := map[string]string{} // base name -> override file for d
	var overrideFiles []string       // every override file, checked against the base names below
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		if base, of, ok := overrideOf(e.Name()); ok {
			if of == d {
				overrides[base] = e.Name()
			}
			overrideFiles = append(overrideFiles, e.Name())
			continue
		}
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %q: name must look like 0001_description.sql", e.Name())
		}
		ms = append(ms, migration{version: v, name: e.Name(), file: e.Name()})
	}
	names := map[string]bool{}
	for _, m := range ms {
		names[m.name] = true
	}
	for _, o := range overrideFiles {
		if base, _, _ := overrideOf(o); !names[base] {
			return nil, fmt.Errorf("store: migration override %q has no base migration %q", o, base)
		}
	}
	for i := range ms {
		if o, ok := overrides[ms[i].name]; ok {
			ms[i].file = o
		}
		body, err := fs.ReadFile(fsys, path.Join("migrations", ms[i].file))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %q: %w", ms[i].file, err)
		}
		ms[i].sql = string(body)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migration %q: expected version %d (versions start at 1, without gaps or duplicates)", m.name, i+1)
		}
	}
	return ms, nil
}

// overrideOf reports whether file is a per-dialect override such as
// 0003_evidence.postgres.sql, and returns its base name (0003_evidence.sql)
// and dialect.
func overrideOf(file string) (base string, d Dialect, ok bool) {
	for _, d := range dialects {
		if stem, found := strings.CutSuffix(file, "."+d.name+".sql"); found {
			return stem + ".sql", d, true
		}
	}
	return "", Dialect{}, false
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER     PRIMARY KEY,
    name       TEXT        NOT NULL,
    applied_at VARCHAR(40) NOT NULL
)`

// migrationLock is the [Dialect.LockWrites] name that serialises migration
// runs, so that replicas starting together against one PostgreSQL database
// neither race to create the same tables nor apply a migration twice.
const migrationLock = "schema_migrations"

// migrate applies the embedded migrations that the database has not seen,
// each in its own transaction together with its schema_migrations row.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFS, db.dialect)
	if err != nil {
		return err
	}
	return db.applyMigrations(ctx, ms)
}

// applyMigrations applies the migrations of ms that the database has not
// seen. Every step runs in a transaction that first takes the migration
// lock: on PostgreSQL DDL is transactional, so a migration and its
// schema_migrations row commit together, and a process that waited for the
// lock finds the migration applied and skips it. On SQLite the immediate
// write transaction is the lock.
func (db *DB) applyMigrations(ctx context.Context, ms []migration) error {
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		// Even CREATE TABLE IF NOT EXISTS needs the lock: on PostgreSQL two
		// concurrent ones can both miss the table, and the second then fails
		// on a unique index of the catalog.
		if err := db.dialect.LockWrites(ctx, tx, migrationLock); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, createMigrationsTable)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create schema_migrations table: %w", err)
	}
	known := len(ms)
	for _, m := range ms {
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if err := db.dialect.LockWrites(ctx, tx, migrationLock); err != nil {
				return err
			}
			current, err := currentVersion(ctx, tx)
			if err != nil {
				return err
			}
			if current > known {
				return fmt.Errorf("store: database schema version %d is newer than this binary supports (%d); upgrade schemagate", current, known)
			}
			if current >= m.version {
				return nil // applied earlier, possibly by another process
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("store: apply migration %s: %w", m.file, err)
			}
			_, err = tx.ExecContext(ctx, db.dialect.Rebind(
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				m.version, m.name, time.Now().UTC().Format(time.RFC3339Nano))
			if err != nil {
				return fmt.Errorf("store: record migration %s: %w", m.name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// currentVersion reads the highest applied migration version. Every
// migration run checks it first, so a database newer than the binary is
// refused before anything is applied.
func currentVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// SchemaVersion returns the highest migration version applied to the
// database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	return currentVersion(ctx, db.sql)
}
