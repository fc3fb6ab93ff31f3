// Package storefault is a test fixture: a database/sql driver wrapper that fails, delays or
// stalls chosen store operations, so tests can prove what schemagate does when its database
// misbehaves. It is enabled only by tests, through [Injector.Option] passed to store.Open (or
// gateway.Options.StoreOptions); nothing in the product imports it.
//
// Operations are named by [Op]. A rule matches an operation kind and, for statements, a
// fragment of the SQL text, so a test can fail "INSERT INTO audit_log" while everything else
// works. [Injector.Down] makes every operation fail, new connections and pings included, as a
// database server that is unreachable.
package storefault

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/schemagate/schemagate/store"
)

// Op is a kind of database operation.
type Op string

// The operations a rule can match.
const (
	Connect Op = "connect" // opening a connection
	Ping    Op = "ping"
	Begin   Op = "begin"
	Commit  Op = "commit"
	Exec    Op = "exec"  // a statement that returns no rows (INSERT, UPDATE, DELETE, ...)
	Query   Op = "query" // a statement that returns rows
	Any     Op = ""      // every operation
)

// ErrDown is the error of every operation while the injector is [Injector.Down].
var ErrDown = errors.New("storefault: database unreachable (injected)")

// ErrInjected is the default error of a [Injector.Fail] rule.
var ErrInjected = errors.New("storefault: operation failed (injected)")

// Injector decides, for every operation of the databases opened with its Option, whether it
// runs, fails, waits first or stalls until its context ends. It is safe for concurrent use.
type Injector struct {
	mu     sync.Mutex
	down   bool
	rules  []*rule
	nextID int
	hits   map[Op]int
}

type rule struct {
	id    int
	op    Op
	sql   string // fragment of the statement text; "" matches every statement
	err   error  // fail with err
	delay time.Duration
	stall bool // block until the operation's context is done
}

// New returns an injector that lets every operation through.
func New() *Injector { return &Injector{hits: make(map[Op]int)} }

// Option is the store.Open option that routes the store's connections through i.
func (i *Injector) Option() store.Option {
	return store.WithConnectorWrapper(func(c driver.Connector) driver.Connector { return &connector{inner: c, inj: i} })
}

// Down makes every operation fail with ErrDown until Up: the database is unreachable.
func (i *Injector) Down() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.down = true
}

// Up ends Down.
func (i *Injector) Up() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.down = false
}

// Fail makes operations of kind op whose SQL contains fragment fail with err (ErrInjected if
// nil) until the returned function is called.
func (i *Injector) Fail(op Op, fragment string, err error) (remove func()) {
	if err == nil {
		err = ErrInjected
	}
	return i.add(&rule{op: op, sql: fragment, err: err})
}

// Delay makes operations of kind op whose SQL contains fragment wait d (or until their
// context ends, which fails them) before running, until the returned function is called.
func (i *Injector) Delay(op Op, fragment string, d time.Duration) (remove func()) {
	return i.add(&rule{op: op, sql: fragment, delay: d})
}

// Stall makes operations of kind op whose SQL contains fragment block until their context
// ends, and fail with its error: a timeout. It lasts until the returned function is called.
func (i *Injector) Stall(op Op, fragment string) (remove func()) {
	return i.add(&rule{op: op, sql: fragment, stall: true})
}

// Hits returns how many operations of kind op a rule (or Down) acted on.
func (i *Injector) Hits(op Op) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.hits[op]
}

func (i *Injector) add(r *rule) func() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.nextID++
	r.id = i.nextID
	i.rules = append(i.rules, r)
	return func() {
		i.mu.Lock()
		defer i.mu.Unlock()
		for k, x := range i.rules {
			if x.id == r.id {
				i.rules = append(i.rules[:k], i.rules[k+1:]...)
				return
			}
		}
	}
}

// check applies the first matching rule to an operation: it returns the error the operation
// fails with, after waiting as the rule says, or nil to let it run.
func (i *Injector) check(ctx context.Context, op Op, query string) error {
	i.mu.Lock()
	if i.down {
		i.hits[op]++
		i.mu.Unlock()
		return fmt.Errorf("%s: %w", op, ErrDown)
	}
	var match *rule
	for _, r := range i.rules {
		if (r.op == Any || r.op == op) && strings.Contains(query, r.sql) {
			match = r
			break
		}
	}
	if match != nil {
		i.hits[op]++
	}
	i.mu.Unlock()
	switch {
	case match == nil:
		return nil
	case match.err != nil:
		return fmt.Errorf("%s: %w", op, match.err)
	case match.stall:
		<-ctx.Done()
		return fmt.Errorf("%s stalled (injected): %w", op, ctx.Err())
	default:
		t := time.NewTimer(match.delay)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%s delayed (injected): %w", op, ctx.Err())
		}
	}
}

// healthy reports whether the database is reachable, for the pool's connection checks.
func (i *Injector) healthy() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return !i.down
}
