package storefault

import (
	"context"
	"database/sql/driver"
	"errors"
)

// connector opens connections of the wrapped driver through the injector.
type connector struct {
	inner driver.Connector
	inj   *Injector
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := c.inj.check(ctx, Connect, ""); err != nil {
		return nil, err
	}
	inner, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{inner: inner, inj: c.inj}, nil
}

func (c *connector) Driver() driver.Driver { return c.inner.Driver() }

// conn is one wrapped connection. It implements the optional interfaces database/sql uses, and
// passes each to the wrapped connection when that implements it too.
type conn struct {
	inner driver.Conn
	inj   *Injector
}

var (
	_ driver.Connector          = (*connector)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.StmtExecContext    = (*stmt)(nil)
	_ driver.StmtQueryContext   = (*stmt)(nil)
	_ driver.NamedValueChecker  = (*stmt)(nil)
)

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if p, ok := c.inner.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, query)
	} else {
		s, err = c.inner.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{inner: s, query: query, inj: c.inj}, nil
}

func (c *conn) Close() error { return c.inner.Close() }

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.inj.check(ctx, Begin, "BEGIN"); err != nil {
		return nil, err
	}
	var (
		t   driver.Tx
		err error
	)
	if b, ok := c.inner.(driver.ConnBeginTx); ok {
		t, err = b.BeginTx(ctx, opts)
	} else {
		t, err = c.inner.Begin() //nolint:staticcheck // the fallback database/sql itself uses
	}
	if err != nil {
		return nil, err
	}
	return &tx{inner: t, ctx: ctx, inj: c.inj}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares the statement instead
	}
	if err := c.inj.check(ctx, Exec, query); err != nil {
		return nil, err
	}
	return e.ExecContext(ctx, query, args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.inj.check(ctx, Query, query); err != nil {
		return nil, err
	}
	return q.QueryContext(ctx, query, args)
}

func (c *conn) Ping(ctx context.Context) error {
	if err := c.inj.check(ctx, Ping, "PING"); err != nil {
		return err
	}
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession tells the pool to drop connections while the database is down, as it would
// after a real outage.
func (c *conn) ResetSession(ctx context.Context) error {
	if !c.inj.healthy() {
		return driver.ErrBadConn
	}
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip // database/sql's default conversion
}

// tx is a wrapped transaction; its commit can be failed or delayed.
type tx struct {
	inner driver.Tx
	ctx   context.Context
	inj   *Injector
}

func (t *tx) Commit() error {
	if err := t.inj.check(t.ctx, Commit, "COMMIT"); err != nil {
		// A commit that fails rolls back, as a real database does when the connection breaks
		// before COMMIT reaches it.
		return errors.Join(err, t.inner.Rollback())
	}
	return t.inner.Commit()
}

func (t *tx) Rollback() error { return t.inner.Rollback() }

// stmt is a wrapped prepared statement.
type stmt struct {
	inner driver.Stmt
	query string
	inj   *Injector
}

func (s *stmt) Close() error  { return s.inner.Close() }
func (s *stmt) NumInput() int { return s.inner.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	if err := s.inj.check(context.Background(), Exec, s.query); err != nil {
		return nil, err
	}
	return s.inner.Exec(args) //nolint:staticcheck // only reached for drivers without contexts
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	if err := s.inj.check(context.Background(), Query, s.query); err != nil {
		return nil, err
	}
	return s.inner.Query(args) //nolint:staticcheck // only reached for drivers without contexts
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.inj.check(ctx, Exec, s.query); err != nil {
		return nil, err
	}
	if e, ok := s.inner.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.inner.Exec(vals) //nolint:staticcheck // the fallback database/sql itself uses
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.inj.check(ctx, Query, s.query); err != nil {
		return nil, err
	}
	if q, ok := s.inner.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.inner.Query(vals) //nolint:staticcheck // the fallback database/sql itself uses
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// values turns named arguments into positional ones for drivers without context methods.
func values(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("storefault: named arguments need a driver with context methods")
		}
		out[i] = a.Value
	}
	return out, nil
}
