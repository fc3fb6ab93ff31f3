// Package compatbudget bounds the work of one compatibility check. A Meter counts work units
// (a pair of schemas compared, a field matched, a JSON value visited, ...) against a fixed
// budget and notices when the caller's context ends; the checkers (avrocompat, jsoncompat)
// stop as soon as Spend says no, and their callers fail closed: a check that did not finish
// is reported incompatible.
package compatbudget

import (
	"context"
	"errors"
	"fmt"
)

// DefaultUnits is the default budget of one compatibility check, in work units. Every
// compatibility test vector needs a few thousand at most; hostile schemas (unions of
// thousands of branches, anyOf of thousands of objects) reach it in well under a second.
const DefaultUnits = 2_000_000

// ConfigKey is the configuration key that sets the budget, named in the message of
// ErrExceeded so an operator knows what to raise.
const ConfigKey = "schema_registry.compatibility_budget"

// ErrExceeded: a check needed more work units than its budget allows.
var ErrExceeded = errors.New("compatibility budget exceeded")

// ctxEvery is how many units are spent between two looks at the context.
const ctxEvery = 1024

// Meter counts the work of one check. It is not safe for concurrent use; a check runs in one
// goroutine. A nil *Meter allows everything.
type Meter struct {
	ctx   context.Context
	limit int64
	used  int64
	err   error
}

// New returns a meter of limit units (DefaultUnits when limit <= 0) that also stops when ctx
// ends.
func New(ctx context.Context, limit int64) *Meter {
	if limit <= 0 {
		limit = DefaultUnits
	}
	return &Meter{ctx: ctx, limit: limit}
}

// Spend counts n units and reports whether the check may go on. Once it said no it always
// says no; Err tells why.
func (m *Meter) Spend(n int) bool {
	if m == nil {
		return true
	}
	if m.err != nil {
		return false
	}
	before := m.used
	m.used += int64(n)
	if m.used > m.limit {
		m.used = m.limit
		m.err = fmt.Errorf("%w: the schema is too complex to prove compatible within %d work units (%s)", ErrExceeded, m.limit, ConfigKey)
		return false
	}
	if before/ctxEvery != m.used/ctxEvery {
		if err := m.ctx.Err(); err != nil {
			m.err = err
			return false
		}
	}
	return true
}

// Err is nil while the check may go on, then wraps ErrExceeded or is the context's error.
func (m *Meter) Err() error {
	if m == nil {
		return nil
	}
	return m.err
}

// Used is the number of units spent so far; it never passes the limit.
func (m *Meter) Used() int64 {
	if m == nil {
		return 0
	}
	return m.used
}

// Limit is the budget in work units.
func (m *Meter) Limit() int64 {
	if m == nil {
		return 0
	}
	return m.limit
}
