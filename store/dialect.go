package store

import (
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
// comments becomes `$1`, `$2`, ... in order; for SQLite the query is
// returned unchanged.
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
