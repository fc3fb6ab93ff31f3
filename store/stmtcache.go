package store

import (
	"context"
	"database/sql/driver"
)

// Prepared statements kept per connection, for SQLite. The SQLite driver compiles every
// statement it is given anew (parsing the SQL and planning it), and the registry's queries are
// a small fixed set run thousands of times a second under load: compiling was about a quarter
// of a registration's CPU. A connection opened through stmtCacheConnector keeps each statement
// it runs compiled, keyed by its text, and runs it again from there; SQLite recompiles a kept
// statement by itself when the schema has changed under it. PostgreSQL needs none of this: pgx
// keeps prepared statements per connection already.

// maxCachedStmts bounds the statements one connection keeps. The queries of schemagate are
// fewer; a connection that meets more (generated SQL) drops what it kept and starts again.
const maxCachedStmts = 256

// stmtCacheConnector opens connections of inner that keep their statements compiled.
type stmtCacheConnector struct {
	inner driver.Connector
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	full, ok := conn.(fullConn)
	if !ok {
		return conn, nil // not the driver this was written for: the connection as it is
	}
	return &stmtCacheConn{fullConn: full, stmts: map[string]*cachedStmt{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.inner.Driver() }

// fullConn is the SQLite driver's connection, with the optional interfaces database/sql uses
// (it has no NamedValueChecker: database/sql converts arguments by its defaults).
type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmtCacheConn is a connection that keeps its statements compiled. database/sql uses a
// connection from one goroutine at a time, so it needs no lock.
type stmtCacheConn struct {
	fullConn
	stmts map[string]*cachedStmt
}

// cachedStmt is a statement a connection keeps. A statement runs once at a time: while rows of
// it are open (busy), the same text runs compiled afresh.
type cachedStmt struct {
	exec  driver.StmtExecContext
	query driver.StmtQueryContext
	close func() error
	busy  bool
}

var _ fullConn = (*stmtCacheConn)(nil)

// stmt returns the kept statement of query, compiling and keeping it the first time; nil when
// it is busy or cannot be kept (the caller then runs query uncached).
func (c *stmtCacheConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	ds, err := c.fullConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	se, oke := ds.(driver.StmtExecContext)
	sq, okq := ds.(driver.StmtQueryContext)
	if !oke || !okq {
		return nil, ds.Close()
	}
	if len(c.stmts) >= maxCachedStmts {
		c.dropIdle()
	}
	s := &cachedStmt{exec: se, query: sq, close: ds.Close}
	c.stmts[query] = s
	return s, nil
}

// dropIdle closes and forgets every kept statement that is not running.
func (c *stmtCacheConn) dropIdle() {
	for q, s := range c.stmts {
		if !s.busy {
			_ = s.close()
			delete(c.stmts, q)
		}
	}
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.fullConn.ExecContext(ctx, query, args)
	}
	return s.exec.ExecContext(ctx, args)
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.fullConn.QueryContext(ctx, query, args)
	}
	rows, err := s.query.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, conn: c, text: query, stmt: s}, nil
}

// PrepareContext prepares query for database/sql's own statements (sql.Stmt), which keep it
// themselves: it is not kept here.
func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.fullConn.PrepareContext(ctx, query)
}

// Close closes the kept statements, then the connection.
func (c *stmtCacheConn) Close() error {
	for q, s := range c.stmts {
		_ = s.close()
		delete(c.stmts, q)
	}
	return c.fullConn.Close()
}

// cachedRows are the rows of a kept statement, which is free again once they are closed. A
// statement whose rows failed to close (so it may not have been reset) is not kept.
type cachedRows struct {
	driver.Rows
	conn *stmtCacheConn
	text string
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	if err != nil && r.conn.stmts[r.text] == r.stmt {
		delete(r.conn.stmts, r.text)
		_ = r.stmt.close()
	}
	return err
}
