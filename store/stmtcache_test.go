package store

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKeptStatements runs the same statements over and over on one SQLite connection, as the
// registry does, in the ways that could trip a kept statement: a query run again while its
// rows are still open, a statement that fails and is run again, a table dropped and created
// again with other columns under a kept statement, and a multi-statement script.
func TestKeptStatements(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t, WithMaxOpenConns(1)) // one connection: every statement meets the kept ones
	sqldb := db.SQL()
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := sqldb.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const selectAll = `SELECT k, v FROM kept ORDER BY k`
	readAll := func(q querier) []string {
		t.Helper()
		rows, err := q.QueryContext(ctx, selectAll)
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatalf("scan: %v", err)
			}
			out = append(out, k+"="+v)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("rows: %v", err)
		}
		return out
	}

	mustExec(`CREATE TABLE kept (k TEXT PRIMARY KEY, v TEXT NOT NULL)`)
	for _, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}} {
		mustExec(`INSERT INTO kept (k, v) VALUES (?, ?)`, kv[0], kv[1])
	}
	// The same insert again fails on the key, and the kept statement still works after it.
	if _, err := sqldb.ExecContext(ctx, `INSERT INTO kept (k, v) VALUES (?, ?)`, "a", "9"); err == nil {
		t.Fatal("a duplicate key was inserted")
	}
	mustExec(`INSERT INTO kept (k, v) VALUES (?, ?)`, "d", "4")

	// The same query inside its own open rows, in a transaction (one connection for both).
	var nested [][]string
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		nested = nil
		rows, err := tx.QueryContext(ctx, selectAll)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			nested = append(nested, readAll(tx))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("nested queries: %v", err)
	}
	all := []string{"a=1", "b=2", "c=3", "d=4"}
	if diff := cmp.Diff([][]string{all, all, all, all}, nested); diff != "" {
		t.Errorf("nested queries (-want +got):\n%s", diff)
	}

	// A table dropped and made again differently under the kept SELECT.
	mustExec(`DROP TABLE kept; CREATE TABLE kept (v TEXT NOT NULL, k TEXT PRIMARY KEY); INSERT INTO kept (k, v) VALUES ('x', '7')`)
	if diff := cmp.Diff([]string{"x=7"}, readAll(sqldb)); diff != "" {
		t.Errorf("after the table changed (-want +got):\n%s", diff)
	}

	// A cancelled context ends a kept statement's run, and the statement works afterwards.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sqldb.QueryContext(cancelled, selectAll); err == nil {
		t.Error("a query ran under a cancelled context")
	}
	if diff := cmp.Diff([]string{"x=7"}, readAll(sqldb)); diff != "" {
		t.Errorf("after a cancelled run (-want +got):\n%s", diff)
	}
}

// querier is what both *sql.DB and *sql.Tx offer for reading.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
