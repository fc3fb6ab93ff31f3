package store

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct {
		name    string
		dialect Dialect
		in      string
		want    string
	}{
		{"sqlite unchanged", SQLite, `SELECT * FROM t WHERE a = ? AND b = ?`, `SELECT * FROM t WHERE a = ? AND b = ?`},
		{"postgres numbered", Postgres, `SELECT * FROM t WHERE a = ? AND b = ?`, `SELECT * FROM t WHERE a = $1 AND b = $2`},
		{"no placeholders", Postgres, `SELECT 1`, `SELECT 1`},
		{"string literal kept", Postgres, `SELECT '?', a FROM t WHERE b = ?`, `SELECT '?', a FROM t WHERE b = $1`},
		{"escaped quote", Postgres, `SELECT 'it''s ?' WHERE x = ?`, `SELECT 'it''s ?' WHERE x = $1`},
		{"quoted identifier", Postgres, `SELECT "a?" FROM t WHERE x = ?`, `SELECT "a?" FROM t WHERE x = $1`},
		{"comment", Postgres, "SELECT 1 -- why?\nWHERE x = ?", "SELECT 1 -- why?\nWHERE x = $1"},
		{"unterminated literal", Postgres, `SELECT '?`, `SELECT '?`},
		{"insert", Postgres, `INSERT INTO t (a, b, c) VALUES (?, ?, ?)`, `INSERT INTO t (a, b, c) VALUES ($1, $2, $3)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.dialect.Rebind(tc.in); got != tc.want {
				t.Errorf("Rebind(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if SQLite.Name() != "sqlite" || Postgres.String() != "postgres" {
		t.Error("dialect names")
	}
}
