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

// migration is one embedded SQL file, named NNNN_description.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in version order. Versions
// must start at 1 and have no gaps or duplicates.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %q: name must look like 0001_description.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %q: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migration %q: expected version %d (versions start at 1, without gaps or duplicates)", m.name, i+1)
		}
	}
	return ms, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER     PRIMARY KEY,
    name       TEXT        NOT NULL,
    applied_at VARCHAR(40) NOT NULL
)`

// migrate applies the embedded migrations that the database has not seen,
// each in its own transaction together with its schema_migrations row.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	return db.applyMigrations(ctx, ms)
}

func (db *DB) applyMigrations(ctx context.Context, ms []migration) error {
	if _, err := db.sql.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("store: create schema_migrations table: %w", err)
	}
	known := len(ms)
	for _, m := range ms {
		err := db.InTx(ctx, func(tx *sql.Tx) error {
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
				return fmt.Errorf("store: apply migration %s: %w", m.name, err)
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
