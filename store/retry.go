package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL error codes (SQLSTATE) the store retries: they say "not now", never "not this".
const (
	sqlstateTooManyConnections  = "53300" // too_many_connections: max_connections or a role's or database's limit
	sqlstateCannotConnectNow    = "57P03" // cannot_connect_now: the server is starting up or shutting down
	sqlstateSerializationFailed = "40001" // serialization_failure
	sqlstateDeadlockDetected    = "40P01" // deadlock_detected: the server rolled this transaction back to break one
)

// Bounds of the backoff between two attempts: the first waits about minBackoff, each next one
// up to twice as long, at most maxBackoff; every wait is drawn between half and all of its bound
// (jitter), so that callers refused together do not come back together.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = 250 * time.Millisecond
)

// sqlstate returns the PostgreSQL error code err carries, "" when it carries none.
func sqlstate(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// capacityRefused reports whether err is a connection the server refused for now: too many
// connections, or a server starting up or shutting down. It returns the code.
func capacityRefused(err error) (string, bool) {
	switch code := sqlstate(err); code {
	case sqlstateTooManyConnections, sqlstateCannotConnectNow:
		return code, true
	default:
		return "", false
	}
}

// txRetryable reports whether a transaction that failed with err may simply run again: its
// connection was refused for capacity, or the server rolled it back for a serialization
// failure or a deadlock. It returns the code.
func txRetryable(err error) (string, bool) {
	switch code := sqlstate(err); code {
	case sqlstateSerializationFailed, sqlstateDeadlockDetected:
		return code, true
	default:
		return capacityRefused(err)
	}
}

// retrier runs an operation again while it fails with an error its classifier calls
// retryable, with jittered exponential backoff, for as long as both ctx and budget allow. An
// attempt whose wait would end after either gives up at once with the operation's error, not
// ctx's, and so does a retry that ctx ends while it runs: the caller learns why the database
// refused.
type retrier struct {
	budget time.Duration
	log    *slog.Logger
}

func (r retrier) do(ctx context.Context, what string, retryable func(error) (string, bool), op func() error) error {
	giveUp := time.Now().Add(r.budget)
	if d, ok := ctx.Deadline(); ok && d.Before(giveUp) {
		giveUp = d
	}
	bound := minBackoff
	var refused error // the last retryable error
	for attempt := 1; ; attempt++ {
		err := op()
		code, ok := retryable(err)
		if !ok {
			if refused != nil && ctx.Err() != nil {
				// The caller's deadline cut a retry short (a connection still being opened on
				// a loaded machine): the refusal that made it retry says more than the deadline.
				return refused
			}
			return err
		}
		refused = err
		wait := bound/2 + rand.N(bound/2+1)
		bound = min(2*bound, maxBackoff)
		if time.Now().Add(wait).After(giveUp) {
			return err
		}
		r.log.DebugContext(ctx, "store: retrying", "op", what, "sqlstate", code, "attempt", attempt, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryConnector opens connections of the wrapped connector, retrying one the server refuses
// for capacity (see [capacityRefused]). database/sql opens a connection with the context of the
// call that needs it, so every query (and every transaction's BEGIN) waits for a connection
// within its caller's deadline instead of failing.
type retryConnector struct {
	driver.Connector
	retry retrier
}

func (c retryConnector) Connect(ctx context.Context) (conn driver.Conn, err error) {
	err = c.retry.do(ctx, "connect", capacityRefused, func() (err error) {
		conn, err = c.Connector.Connect(ctx)
		return err
	})
	return conn, err
}
