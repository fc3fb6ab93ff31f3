package store

import (
	"context"
	"fmt"
)

// MigrationNames returns the names of the embedded migrations for d, in version order.
func MigrationNames(d Dialect) ([]string, error) {
	ms, err := loadMigrations(migrationFS, d)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.name
	}
	return names, nil
}

// ApplyMigrationsWithExtra applies the embedded migrations followed by one migration per
// extra SQL text, numbered after them.
func ApplyMigrationsWithExtra(ctx context.Context, db *DB, extra ...string) error {
	ms, err := loadMigrations(migrationFS, db.dialect)
	if err != nil {
		return err
	}
	for _, text := range extra {
		v := len(ms) + 1
		name := fmt.Sprintf("%04d_extra.sql", v)
		ms = append(ms, migration{version: v, name: name, file: name, sql: text})
	}
	return db.applyMigrations(ctx, ms)
}
