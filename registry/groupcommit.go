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
//   - A registration queues. The first to find no leader waiting becomes the leader: it begins
//     a transaction and takes the registry's write lock (waiting, on SQLite, for the write turn
//     of the process, and on PostgreSQL for the lock, while the batch before it commits). Once
//     it holds the lock it takes the queue, at most maxGroupCommit registrations in the order
//     they queued, itself first; the next registration to queue becomes the next leader and
//     waits for the lock in turn. So a process normally has at most two registration
//     transactions open, one running and one waiting, however many callers wait.
//   - The leader runs its batch in order in its transaction, each registration behind a
//     SAVEPOINT of its own: a refused one (incompatible, read-only subject, a reference gone, a
//     failing OnWrite hook) is rolled back to its savepoint, so it changes nothing and its
//     neighbours go on. Savepoints are not released (the commit ends them all): a RELEASE would
//     cost every registration one more round trip to the database. Later registrations see the earlier ones of their batch, as they
//     would after their commit. The leader commits and hands every registration its answer.
//   - If the shared transaction fails as a whole (a lost connection, a failed commit), each of
//     its registrations runs again in a transaction of its own, so none is given a failure
//     that was not its own.
//   - A caller whose context ends while it is queued leaves the queue. Once its batch is taken
//     it waits for its answer, which the batch decides (a registration whose context ended
//     before its turn in the batch is refused with the context's error and changes nothing).
//     The batch's transaction ends when every caller in it has gone.

// maxGroupCommit bounds how many registrations one transaction commits, so a batch's answers
// come within a bounded time. It stays at most 64: a PostgreSQL backend keeps the IDs of up to
// 64 subtransactions (savepoints that wrote) in shared memory, and a transaction with more makes
// every other session's snapshots slower until it ends.
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

	// The answer: out and what was written (nil when the subject had the schema already), or
	// err.
	out   SubjectVersion
	wrote *written
	err   error

	leads bool          // set (under groupCommit.mu) when the registration is to lead a batch
	wake  chan struct{} // closed when the answer is set, or when leads is set
}

// groupCommit is the queue of registrations waiting for the write turn.
type groupCommit struct {
	max int // registrations per batch

	mu      sync.Mutex
	leading bool // a leader waits for the write lock; it is queue[0]
	queue   []*registration

	// beforeBatch, when set (by tests), is called by a leader before it begins its transaction.
	beforeBatch func()
}

// errBatchFailed is the answer of a registration whose batch's transaction failed as a whole:
// it runs again alone. It never reaches callers.
var errBatchFailed = errors.New("registry: the batch's transaction failed")

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
	if !g.leading {
		g.leading, w.leads = true, true
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
			<-w.wake // taken into a batch, or made leader, just now
		}
	}
	if w.leads {
		r.lead(w)
	}
	if errors.Is(w.err, errBatchFailed) {
		r.writeAlone(w)
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

// queued is how many registrations wait in the queue, the waiting leader included.
func (g *groupCommit) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// take removes the batch from the head of the queue and makes the next registration in the
// queue, or the next to queue, the next leader.
func (g *groupCommit) take() []*registration {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(len(g.queue), g.max)
	batch := make([]*registration, n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.passLead()
	return batch
}

// passLead makes queue[0] the leader, or lets the next registration to queue lead. g.mu is held.
func (g *groupCommit) passLead() {
	if len(g.queue) == 0 {
		g.leading = false
		return
	}
	next := g.queue[0]
	next.leads = true
	close(next.wake)
}

// resign takes leader, which has not taken its batch, out of the queue and passes the lead on.
func (g *groupCommit) resign(leader *registration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queue = g.queue[1:] // the waiting leader is queue[0]
	g.passLead()
}

// lead is the work of leader (the head of the queue): it runs a batch in one transaction and
// sets the answer of every registration in it, its own included.
func (r *Registry) lead(leader *registration) {
	g := r.group
	var batch []*registration // nil until taken
	answered := false
	defer func() {
		if batch == nil { // failed (or panicked) before taking the batch: nobody else waits on it
			g.resign(leader)
			return
		}
		if !answered { // a panic: the followers must not wait for ever
			for _, w := range batch[1:] {
				w.err = errors.New("registry: the registration's transaction failed")
				close(w.wake)
			}
		}
	}()
	if g.beforeBatch != nil {
		g.beforeBatch()
	}
	bc := newBatchContext(leader.ctx)
	defer bc.stop()
	// The batch runs without savepoints first: a savepoint is a round trip per registration
	// on PostgreSQL, and most refusals (incompatible, a mode, a reference) come before a
	// registration writes anything. One refused after it wrote ends that attempt, and the
	// batch runs again with a savepoint for each registration.
	savepoints := false
	attempt := func(tx *sql.Tx) error {
		if err := r.db.Dialect().LockWrites(bc.ctx, tx, writeLock); err != nil {
			return err
		}
		if batch == nil {
			batch = g.take()
			for _, w := range batch[1:] {
				bc.watch(w.ctx)
			}
		} else {
			// InTx runs this again after a serialization failure or a deadlock (PostgreSQL):
			// the same batch, from scratch.
			r.forgetAttempt(batch)
		}
		view, err := r.readBatchView(bc.ctx, tx, batch)
		if err != nil {
			return err
		}
		if len(batch) == 1 { // alone: the transaction is the registration's
			sv := leader.sv
			leader.wrote, err = r.registerInTx(leader.ctx, tx, view, &sv, leader.in, leader.p, leader.refs, leader.pre, leader.last, nil)
			leader.out = sv
			return err
		}
		for _, w := range batch {
			if err := w.ctx.Err(); err != nil {
				w.err = err
				continue
			}
			write := r.writeSavepoint
			if !savepoints {
				write = r.writeUnguarded
			}
			if err := write(bc.ctx, tx, view, w); err != nil {
				return err
			}
		}
		return nil
	}
	err := r.db.InTx(bc.ctx, attempt)
	if errors.Is(err, errNeedSavepoints) {
		savepoints = true
		err = r.db.InTx(bc.ctx, attempt)
	}
	if err == nil {
		r.forgetReused(batch)
		r.applyCommitted(batch)
	}
	if len(batch) <= 1 { // the transaction was the leader's alone, or never began its work
		if err != nil {
			if cerr := leader.ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				err = cerr // the leader's own deadline or cancellation, not its batch context's
			}
			leader.out, leader.wrote = SubjectVersion{}, nil
		}
		leader.err = err
		answered = true
		return
	}
	if err != nil {
		// Nothing of the batch was committed: the registrations run again one by one.
		r.forgetAttempt(batch)
		for _, w := range batch {
			w.err = errBatchFailed
		}
	}
	answered = true
	for _, w := range batch[1:] { // batch[0] is the leader: it reads its answer on return
		close(w.wake)
	}
}

// forgetAttempt clears the answers of an attempt at batch that was not committed. A later
// registration may have read a schema an earlier one stored (a check redone in the
// transaction) and cached it parsed by its ID, which is free again: those are forgotten too.
func (r *Registry) forgetAttempt(batch []*registration) {
	for _, w := range batch {
		if w.wrote != nil {
			r.parsed.remove(w.out.Schema.ID)
		}
		w.out, w.wrote, w.err = SubjectVersion{}, nil, nil
	}
}

// savepoint names the savepoint each registration of a batch runs behind.
const savepoint = "schemagate_registration"

// writeSavepoint runs w in tx behind a savepoint and sets its answer: a registration refused
// (its own error) is rolled back to the savepoint and leaves tx as it found it. The error
// returned is one tx cannot go on after: the batch fails. The savepoint stays, nested in the
// ones before it (at most maxGroupCommit deep), until the transaction ends.
func (r *Registry) writeSavepoint(ctx context.Context, tx *sql.Tx, view *batchView, w *registration) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
		return err
	}
	sv := w.sv
	wrote, err := r.registerInTx(valuesOf{ctx, w.ctx}, tx, view, &sv, w.in, w.p, w.refs, w.pre, w.last, nil)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+savepoint); rerr != nil {
			return errors.Join(err, rerr)
		}
		w.err = err
		return nil
	}
	w.out, w.wrote = sv, wrote
	return nil
}

// errNeedSavepoints ends an attempt at a batch without savepoints: a registration was refused
// after it had written in the transaction, which must not commit what it wrote.
var errNeedSavepoints = errors.New("registry: a registration of the batch was refused after it wrote; running the batch again with savepoints")

// writeUnguarded runs w in tx without a savepoint and sets its answer. A refusal that came
// before w wrote anything (its own error, not the database's: on PostgreSQL a failed statement
// aborts the transaction), or the news that w's compatibility check no longer holds, leaves tx
// as it found it and is w's answer; any other error is
// errNeedSavepoints, so that the batch runs again with savepoints, where w's error is its own
// and its neighbours commit.
func (r *Registry) writeUnguarded(ctx context.Context, tx *sql.Tx, view *batchView, w *registration) error {
	sv := w.sv
	writing := false
	wrote, err := r.registerInTx(valuesOf{ctx, w.ctx}, tx, view, &sv, w.in, w.p, w.refs, w.pre, w.last, &writing)
	switch {
	case err == nil:
		w.out, w.wrote = sv, wrote
		return nil
	case !writing && (asRegistryError(err) && !errors.Is(err, ErrStore) || errors.Is(err, errVersionsChanged)):
		w.err = err // a refusal, or a check to make again (errVersionsChanged): tx is untouched
		return nil
	}
	return errNeedSavepoints
}

// writeAlone sets w's answer from a transaction of its own.
func (r *Registry) writeAlone(w *registration) {
	sv := w.sv
	w.err = r.db.InTx(w.ctx, func(tx *sql.Tx) (err error) {
		if err := r.db.Dialect().LockWrites(w.ctx, tx, writeLock); err != nil {
			return err
		}
		view, err := r.readBatchView(w.ctx, tx, []*registration{w})
		if err != nil {
			return err
		}
		w.wrote, err = r.registerInTx(w.ctx, tx, view, &sv, w.in, w.p, w.refs, w.pre, w.last, nil)
		return err
	})
	if w.err != nil {
		w.wrote = nil
		return
	}
	w.out = sv
	r.forgetReused([]*registration{w})
	r.applyCommitted([]*registration{w})
}

// forgetReused drops from this replica's caches the old content of every schema ID that a
// committed registration of batch reused (see Change.ReusedSchemaID), before any of them is
// answered: a registration of the same batch that found the new content by its fingerprint
// must not put the ID in memory with the old.
func (r *Registry) forgetReused(batch []*registration) {
	for _, w := range batch {
		if w.wrote == nil {
			continue
		}
		if id := w.wrote.change.ReusedSchemaID(); id != 0 {
			r.forgetContent(id)
		}
	}
}

// batchContext is the context a leader's transaction runs in: the leader's values, ended when
// the context of every registration watched (the leader's, then its batch's) has ended. One
// caller leaving does not stop its neighbours; a batch nobody waits for any more stops.
type batchContext struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiting atomic.Int64
	stops   []func() bool
}

func newBatchContext(leader context.Context) *batchContext {
	bc := &batchContext{}
	bc.ctx, bc.cancel = context.WithCancel(context.WithoutCancel(leader))
	bc.watch(leader)
	return bc
}

// watch keeps bc's context alive while ctx is.
func (bc *batchContext) watch(ctx context.Context) {
	bc.waiting.Add(1)
	bc.stops = append(bc.stops, context.AfterFunc(ctx, func() {
		if bc.waiting.Add(-1) == 0 {
			bc.cancel()
		}
	}))
}

// stop releases bc.
func (bc *batchContext) stop() {
	for _, s := range bc.stops {
		s()
	}
	bc.cancel()
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
