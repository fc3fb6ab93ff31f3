package registry

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// Group commit. Every registration's transaction ends in a commit that waits for the disk
// (SQLite runs with synchronous=FULL; PostgreSQL flushes its WAL), and registrations take the
// write turn one at a time, so under a burst most of a registration's time is spent waiting
// for other registrations' flushes. Registrations that wait for the turn at the same time
// therefore share one transaction, one write lock and one flush:
//
//   - A registration queues. The first to find no batch running leads: it takes the queue (at
//     most maxGroupCommit registrations, in the order they queued), runs them one after the
//     other in one transaction, commits, and hands every registration its answer. Then it
//     passes the lead to the first registration that queued meanwhile, and returns with its
//     own answer.
//   - Each registration runs between a SAVEPOINT and its RELEASE; a refused one (incompatible,
//     read-only subject, a reference gone, a failing OnWrite hook) is rolled back to its
//     savepoint, so it changes nothing and its neighbours go on. Later registrations see the
//     earlier ones of their batch, as they would after their commit.
//   - If the shared transaction fails as a whole (a lost connection, a failed commit), its
//     registrations run again, each in a transaction of its own, so no registration is given
//     a failure that was not its own.
//   - A caller whose context ends while it is queued leaves the queue. Once its turn has come
//     it waits for its answer, which its batch decides (a registration whose context ended
//     before it started is refused with the context's error, and changes nothing).

// maxGroupCommit bounds how many registrations one transaction commits.
const maxGroupCommit = 64

// registration is one attempt of a Register call at the write transaction: its input, and the
// answer the group commit gives it.
type registration struct {
	ctx  context.Context
	sv   SubjectVersion // subject and schema; the answer is out
	in   SchemaInput
	p    *parsedSchema
	refs []Reference
	pre  checkedState // what the compatibility check before the transaction saw
	last bool         // no other attempt follows: a stale check is redone in the transaction

	// The answer: out and change (nil when the subject had the schema already), or err.
	out    SubjectVersion
	change *Change
	err    error

	leads bool          // set (under groupCommit.mu) when the registration is to lead a batch
	wake  chan struct{} // closed when the answer is set, or when leads is set
}

// groupCommit is the queue of registrations waiting for the write turn.
type groupCommit struct {
	max int // registrations per batch

	mu    sync.Mutex
	busy  bool // a leader is running a batch; while it is not, queue is empty
	queue []*registration

	// beforeBatch, when set (by tests), is called by a leader before it takes its batch.
	beforeBatch func()
}

// write gives w its answer: through the group commit, or in a transaction of its own when the
// registry has none.
func (r *Registry) write(w *registration) {
	g := r.group
	if g == nil {
		r.writeAlone(w)
		return
	}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	if !g.busy {
		g.busy, w.leads = true, true
	}
	leads := w.leads // read under mu: a leader may set it once w waits
	g.mu.Unlock()
	if !leads {
		select {
		case <-w.wake:
		case <-w.ctx.Done():
			if g.leave(w) {
				w.err = w.ctx.Err()
				return
			}
			<-w.wake // taken into a batch, or made its leader, just now
		}
	}
	if w.leads {
		r.lead()
	}
}

// leave takes w out of the queue and reports whether it was still waiting there.
func (g *groupCommit) leave(w *registration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.leads {
		return false
	}
	for i, q := range g.queue {
		if q == w {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return true
		}
	}
	return false
}

// queued is how many registrations wait in the queue, the leader's own included until it takes
// its batch.
func (g *groupCommit) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// lead runs one batch: the registrations at the head of the queue, the leader's own first. It
// answers every one of them, then passes the lead on or marks the group idle.
func (r *Registry) lead() {
	g := r.group
	if g.beforeBatch != nil {
		g.beforeBatch()
	}
	g.mu.Lock()
	n := min(len(g.queue), g.max)
	batch := make([]*registration, n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.mu.Unlock()

	answered := false
	defer func() {
		if !answered { // a panic: the followers must not wait for ever
			for _, w := range batch[1:] {
				w.err = errors.New("registry: the registration's transaction failed")
				close(w.wake)
			}
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.queue) == 0 {
			g.busy = false
			return
		}
		next := g.queue[0]
		next.leads = true
		close(next.wake)
	}()
	r.writeBatch(batch)
	answered = true
	for _, w := range batch[1:] { // batch[0] is the leader: it reads its answer on return
		close(w.wake)
	}
}

// writeBatch sets the answer of every registration in batch, committed together.
func (r *Registry) writeBatch(batch []*registration) {
	if len(batch) == 1 {
		r.writeAlone(batch[0])
		return
	}
	ctx, stop := batchContext(batch)
	defer stop()
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := r.db.Dialect().LockWrites(ctx, tx, writeLock); err != nil {
			return err
		}
		for _, w := range batch {
			if err := w.ctx.Err(); err != nil {
				w.err = err
				continue
			}
			if err := r.writeSavepoint(ctx, tx, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	// Nothing of the batch was committed. A later registration may have read a schema an
	// earlier one stored (a check redone in the transaction) and cached it parsed by its ID,
	// which is free again: forget those before the registrations run again one by one.
	for _, w := range batch {
		if w.change != nil {
			r.parsed.remove(w.out.Schema.ID)
		}
		w.out, w.change, w.err = SubjectVersion{}, nil, nil
		r.writeAlone(w)
	}
}

// savepoint names the savepoint each registration of a batch runs behind.
const savepoint = "schemagate_registration"

// writeSavepoint runs w in tx behind a savepoint and sets its answer: a registration refused
// (its own error) is rolled back to the savepoint and leaves tx as it found it. The error
// returned is one tx cannot go on after: the batch fails.
func (r *Registry) writeSavepoint(ctx context.Context, tx *sql.Tx, w *registration) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
		return err
	}
	sv := w.sv
	change, err := r.registerInTx(valuesOf{ctx, w.ctx}, tx, &sv, w.in, w.p, w.refs, w.pre, w.last)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+savepoint); rerr != nil {
			return errors.Join(err, rerr)
		}
		w.err = err
	} else {
		w.out, w.change = sv, change
	}
	_, err = tx.ExecContext(ctx, "RELEASE SAVEPOINT "+savepoint)
	return err
}

// writeAlone sets w's answer from a transaction of its own.
func (r *Registry) writeAlone(w *registration) {
	sv := w.sv
	w.err = r.db.InTx(w.ctx, func(tx *sql.Tx) (err error) {
		if err := r.db.Dialect().LockWrites(w.ctx, tx, writeLock); err != nil {
			return err
		}
		w.change, err = r.registerInTx(w.ctx, tx, &sv, w.in, w.p, w.refs, w.pre, w.last)
		return err
	})
	if w.err != nil {
		w.change = nil
		return
	}
	w.out = sv
}

// batchContext is the context a batch's transaction runs in: the leader's values, ended when
// the context of every registration in the batch has ended. One caller leaving does not stop
// its neighbours; a batch nobody waits for any more stops. stop releases it.
func batchContext(batch []*registration) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	var waiting atomic.Int64
	waiting.Store(int64(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, w := range batch {
		stops[i] = context.AfterFunc(w.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

// valuesOf is a context that ends with its Context and carries the values of vals: a
// registration's work in its batch's transaction sees its own caller's values (who registers,
// for the audit entry) but not the caller's cancellation, which would break the connection the
// whole batch shares.
type valuesOf struct {
	context.Context
	vals context.Context
}

// Value returns vals' value for key.
func (c valuesOf) Value(key any) any { return c.vals.Value(key) }
