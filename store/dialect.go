package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Dialect captures the few SQL differences between the databases schemagate
// supports, so that the packages above keep one set of portable queries.
//
// Queries are written with `?` placeholders and standard SQL; Rebind turns
// them into the form the database expects. Only differences that a caller
// actually needs live here.
type Dialect struct {
	name string
}

var (
	// SQLite is the dialect of modernc.org/sqlite: `?` placeholders as written.
	SQLite = Dialect{name: "sqlite"}
	// Postgres is the dialect of PostgreSQL: `$1..$n` placeholders.
	Postgres = Dialect{name: "postgres"}
)

// Name returns the dialect's name, "sqlite" or "postgres".
func (d Dialect) Name() string { return d.name }

// String returns the dialect's name.
func (d Dialect) String() string { return d.name }

// Rebind rewrites the `?` placeholders of query for the dialect. For
// PostgreSQL each `?` outside string literals, quoted identifiers and
// comments (`--` and `/* */`) becomes `$1`, `$2`, ... in order; for SQLite
// the query is returned unchanged. Dollar-quoted strings and PostgreSQL's
// jsonb `?` operators are not recognised: portable queries use neither.
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			// Copy a quoted literal or identifier verbatim; a doubled quote
			// inside it is an escaped quote and keeps us inside.
			j := i + 1
			for j < len(query) {
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(query))
			b.WriteString(query[i:end])
			i = end - 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				end = len(query)
			} else {
				end += i + 4
			}
			b.WriteString(query[i:end])
			i = end - 1
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// LockWrites serialises the transactions that write name, across goroutines
// and processes: it waits until no other transaction holds the lock for name
// and then holds it until tx commits or rolls back. Call it first in a
// transaction that reads and then writes data other writers of the same kind
// also change (a counter, the head of a chain), so that no update is lost.
//
// On PostgreSQL it takes the transaction-level advisory lock
// pg_advisory_xact_lock(k), where k is the 64-bit FNV-1a hash of
// "schemagate:" + name as a signed integer (in pg_locks, classid and objid
// are its high and low 32 bits); it waits as long as ctx allows. On SQLite
// it does nothing: write transactions there take the database's write lock
// when they begin (BEGIN IMMEDIATE), so they already run one at a time.
func (d Dialect) LockWrites(ctx context.Context, tx *sql.Tx, name string) error {
	if d != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(name)); err != nil {
		return fmt.Errorf("store: lock writes of %q: %w", name, err)
	}
	return nil
}

// lockKey returns the PostgreSQL advisory lock key of name. It must never
// change: replicas of different releases share locks during a rolling
// upgrade.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("schemagate:"))
	h.Write([]byte(name))
	return int64(h.Sum64())
}
