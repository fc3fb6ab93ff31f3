package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and stops the caller with a
// panic that expectFatal recovers, so that a helper's failure can be asserted.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r)
}

func expectFatal(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	r := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		fn(r)
	}()
	if r.msg == "" {
		t.Fatal("helper did not fail the test")
	}
	return r.msg
}

func TestBackend(t *testing.T) {
	for env, want := range map[string]string{"": "sqlite", "sqlite": "sqlite", "postgres": "postgres"} {
		t.Setenv(EnvStore, env)
		if got := Backend(); got != want {
			t.Errorf("%s=%q: Backend() = %q, want %q", EnvStore, env, got, want)
		}
	}
}

func TestPostgresWithoutURLFails(t *testing.T) {
	t.Setenv(EnvStore, "postgres")
	t.Setenv(EnvPostgresURL, "")
	msg := expectFatal(t, func(tb testing.TB) { Open(tb) })
	if !strings.Contains(msg, EnvPostgresURL) {
		t.Errorf("failure %q does not name %s", msg, EnvPostgresURL)
	}
	expectFatal(t, func(tb testing.TB) { URL(tb) })
}

func TestUnknownBackendFails(t *testing.T) {
	t.Setenv(EnvStore, "postgresql")
	msg := expectFatal(t, func(tb testing.TB) { URL(tb) })
	if !strings.Contains(msg, "want sqlite or postgres") {
		t.Errorf("failure = %q", msg)
	}
}

func TestDatabaseName(t *testing.T) {
	a, b := databaseName(t), databaseName(t)
	if a == b {
		t.Errorf("two names for one test are equal: %s", a)
	}
	if !strings.HasPrefix(a, "sgtest_testdatabasename_") || len(a) > 63 {
		t.Errorf("name %q: want sgtest_<test>_<random>, at most 63 bytes", a)
	}
	t.Run("Sub/Test With-Odd.Chars and a very long name that goes on and on", func(t *testing.T) {
		n := databaseName(t)
		if len(n) > 63 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("name %q: want at most 63 bytes of [a-z0-9_]", n)
		}
	})
}

// TestOpenGivesEachTestItsOwnDatabase runs on the selected backend: two stores do not share
// data, and on PostgreSQL the databases are dropped when their test ends.
func TestOpenGivesEachTestItsOwnDatabase(t *testing.T) {
	ctx := t.Context()
	var urls []string
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			urls = append(urls, URL(t))
			db := Open(t)
			if got := db.Dialect().Name(); got != Backend() {
				t.Errorf("dialect %s, want %s", got, Backend())
			}
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM id_counters`).Scan(&n); err != nil || n != 1 {
				t.Errorf("fresh store: id_counters rows = %d, %v; want 1", n, err)
			}
			if _, err := db.SQL().ExecContext(ctx, `INSERT INTO id_counters (name, value) VALUES ('mine', 1)`); err != nil {
				t.Fatal(err)
			}
		})
	}
	if urls[0] == urls[1] {
		t.Errorf("URL returned %s twice", urls[0])
	}
	if Backend() != "postgres" {
		return
	}
	// Both subtests' databases, from URL and from Open, are gone.
	admin, _ := adminDB(t)
	var left []string
	rows, err := admin.QueryContext(context.Background(), `SELECT datname FROM pg_database WHERE datname LIKE 'sgtest_testopengiveseach%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		left = append(left, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("databases left after their tests ended: %v", left)
	}
}
