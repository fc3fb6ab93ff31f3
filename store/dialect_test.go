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
		{"block comment", Postgres, "SELECT /* a ? b */ x FROM t WHERE y = ?", "SELECT /* a ? b */ x FROM t WHERE y = $1"},
		{"multi-line block comment", Postgres, "/* why?\n */ UPDATE t SET a = ? WHERE b = ?", "/* why?\n */ UPDATE t SET a = $1 WHERE b = $2"},
		{"unterminated block comment", Postgres, "SELECT ? /* ?", "SELECT $1 /* ?"},
		{"division is not a comment", Postgres, "SELECT a / ? * ? FROM t", "SELECT a / $1 * $2 FROM t"},
		{"upsert", Postgres, `INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = t.n + excluded.n WHERE t.k <> '?'`,
			`INSERT INTO t (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET n = t.n + excluded.n WHERE t.k <> '?'`},
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

// TestLockKeyIsStable pins the advisory lock keys: replicas of different releases must agree on
// them during a rolling upgrade, so the hash must never change.
func TestLockKeyIsStable(t *testing.T) {
	for name, want := range map[string]int64{
		"schema_migrations": -5490468940468141482, // FNV-1a 64 of "schemagate:schema_migrations"
		"audit":             5524395870299332892,
	} {
		if got := lockKey(name); got != want {
			t.Errorf("lockKey(%q) = %d, want %d", name, got, want)
		}
	}
}
