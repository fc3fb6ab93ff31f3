package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/schemagate/schemagate/store"
)

// FeedTopic is the change feed topic of registry writes; the key is the subject written ("" for
// the global config or mode).
const FeedTopic = "registry"

// SchemaFeedTopic is the change feed topic of schema IDs whose content was replaced (see
// Change.ReusedSchemaID); the key is the ID in decimal. Its notice comes before the FeedTopic
// notice of the same registration.
const SchemaFeedTopic = "registry.schema"

// reusedSchemaNotice returns the schema ID that n says holds other content now (a
// SchemaFeedTopic notice), and whether n is one.
func reusedSchemaNotice(n store.Notice) (int, bool) {
	if n.Resync || n.Topic != SchemaFeedTopic {
		return 0, false
	}
	id, err := strconv.Atoi(n.Key)
	return id, err == nil && id > 0
}

// index is the registry held in memory: every subject's version rows, the schemas they hold,
// the configs and the access modes. Reads are served from it (see ServeFromMemory); writes go
// to the database and then reload what they changed here before they return.
//
// Everything stored in the maps is immutable once stored: a reload replaces a subject's slice,
// never edits it, so a reader may keep what it got after releasing mu.
type index struct {
	mu       sync.RWMutex
	ok       bool                    // loaded, and no reload failed since: reads may use it
	subjects map[string][]versionRow // by subject, ascending by version
	changes  map[string]int64        // by subject: the change counter its rows were read with
	schemas  map[int]Schema
	byFP     map[string]int // fingerprint -> schema ID
	configs  map[string]Config
	modes    map[string]AccessMode

	// loadMu serialises loads: a load reads the database and installs what it read while
	// holding it, so a load that started later (and read later data) always installs last.
	loadMu sync.Mutex

	// queuedMu guards queued: per subject, the reload waiting for loadMu, not started yet.
	// Whoever wants the subject reloaded after its write joins that one: it reads the
	// database after the joiner's commit, so it serves the joiner as well as a load of its
	// own would. A burst of writes to one subject then costs one reload each time loadMu
	// frees, not one per write.
	queuedMu sync.Mutex
	queued   map[string]*subjectLoad

	// batchReads counts the subjects whose rows a batch's transaction read from the database
	// because memory's change counter was not the database's (see readBatchView), and
	// subjectLoads the subjects reloaded (loadSubject): what tests observe of the index.
	batchReads, subjectLoads atomic.Int64
}

// subjectLoad is one reload of a subject that callers wait for: done closes when it is over
// (failed or not; a failure has made the index stop serving by then).
type subjectLoad struct {
	done chan struct{}
}

// ServeFromMemory loads the registry into memory and serves its reads from there from then on:
// SubjectVersion (latest and by number), Subjects/ListSubjects, Versions/ListVersions,
// Schemas, LookupSchema, Config and AccessMode, soft-deleted data included, with no query per
// request. Call it once, before serving.
//
// A write through this Registry updates the memory before it returns, so this replica never
// reads older data than it wrote. With feed (nil: none), every write is also published in its
// transaction, and the writes of other replicas reach this one through feed's notices (a
// Resync notice reloads everything). When a reload fails, reads go to the database until a
// later load succeeds.
func (r *Registry) ServeFromMemory(ctx context.Context, feed *store.Feed) error {
	if r.idx != nil {
		return errors.New("registry: ServeFromMemory called twice")
	}
	idx := &index{}
	if err := r.loadAll(ctx, idx); err != nil {
		return r.storeErr("loading the registry into memory", err)
	}
	r.idx = idx
	r.hooks.AddChange(func(ctx context.Context, c Change) {
		if s, ok := ctx.Value(indexCurrentKey{}).(string); ok && s == c.Subject {
			return // Register has put its version in memory already
		}
		r.reloadSubject(context.WithoutCancel(ctx), c.Subject)
	})
	if feed == nil {
		return nil
	}
	r.hooks.AddJournal(func(ctx context.Context, tx *sql.Tx, c Change) error {
		if id := c.ReusedSchemaID(); id != 0 {
			if err := feed.Publish(ctx, tx, SchemaFeedTopic, strconv.Itoa(id)); err != nil {
				return err
			}
		}
		return feed.Publish(ctx, tx, FeedTopic, c.Subject)
	})
	feed.Subscribe(func(ctx context.Context, n store.Notice) {
		if id, ok := reusedSchemaNotice(n); ok {
			r.forgetContent(id)
			return
		}
		switch {
		case n.Resync:
			if err := r.loadAll(ctx, r.idx); err != nil && ctx.Err() == nil {
				r.log.Error("registry: reloading the registry into memory failed; reads go to the database", "err", err)
			}
		case n.Topic == FeedTopic:
			r.reloadSubject(ctx, n.Key)
		}
	})
	return nil
}

// indexCurrentKey marks the context of a registration's change notice when the index holds
// the registration already (see applyRegistered); its value is the subject.
type indexCurrentKey struct{}

// applyCommitted puts the versions that the registrations of batch wrote in memory, in the
// order they were written, as soon as their transaction has committed: the next batch, which
// may take the write lock at once, then finds memory holding the database's counters and takes
// the rows from memory. (The leader calls it before it answers anyone; each Register then finds
// its version in memory already: see applyRegistered.)
func (r *Registry) applyCommitted(batch []*registration) {
	idx := r.idx
	if idx == nil {
		return
	}
	for _, w := range batch {
		if w.wrote != nil {
			idx.applyRegistered(w.out, w.wrote)
		}
	}
}

// applyRegistered puts sv, a version this replica has just committed, in memory without reading
// the database again, when the index holds the subject exactly as the registration's
// transaction found it before its write (w.prior, at change counter w.changes-1): the
// subject's rows in the database are then prior and sv's row, at counter w.changes, which is
// what a reload would read. (A registration changes no config or mode, and changes a stored
// schema only when it reuses its ID.) It returns ctx marked so that the change notice does not
// reload the subject, also when memory holds the subject at w.changes or a later counter
// already (applyCommitted, or a reload, did it); when the index holds anything else (an older
// state, a failed load), it returns ctx as it is and the notice reloads the subject. (A schema
// whose ID a registration reused was dropped from memory before: see forgetContent.)
func (r *Registry) applyRegistered(ctx context.Context, sv SubjectVersion, w *written) context.Context {
	idx := r.idx
	if idx == nil || !idx.applyRegistered(sv, w) {
		return ctx
	}
	return context.WithValue(ctx, indexCurrentKey{}, sv.Subject)
}

// applyRegistered adds sv's row (and schema, if new) when the subject's rows are w.prior at the
// counter before w's write, and reports whether memory holds the subject with sv's write: it
// did so now, or memory holds a counter at least w.changes, read after w's commit (committed
// counters only grow). The counter decides: the rows a counter value was read with are the
// only rows the database held at that value, so equal rows at another counter (a version
// deleted and registered again since) are not enough. It holds loadMu, so it comes before or
// after any load as a whole.
func (idx *index) applyRegistered(sv SubjectVersion, w *written) bool {
	idx.loadMu.Lock()
	defer idx.loadMu.Unlock()
	idx.mu.Lock()
	defer idx.mu.Unlock()
	held := idx.changes[sv.Subject]
	if !idx.ok || held < w.changes-1 {
		return false
	}
	if held >= w.changes {
		return true
	}
	if !slices.Equal(idx.subjects[sv.Subject], w.prior) {
		return false
	}
	if _, ok := idx.schemas[sv.Schema.ID]; !ok {
		s := sv.Schema.clone()
		if len(s.References) == 0 {
			s.References = nil // as read from the database
		}
		idx.schemas[s.ID] = s
		idx.byFP[schemaFingerprint(s)] = s.ID
	}
	idx.subjects[sv.Subject] = withVersion(w.prior, sv)
	idx.changes[sv.Subject] = w.changes
	return true
}

// rowsAt returns, of the subjects whose database change counters are changes, the rows memory
// holds at the same counter (when it may serve), and the others, which the caller reads from
// the database (counted in batchReads).
func (idx *index) rowsAt(changes map[string]int64, subjects []any) (held map[string][]versionRow, others []any) {
	held = make(map[string][]versionRow, len(subjects))
	idx.mu.RLock()
	for _, s := range subjects {
		subject := s.(string)
		if idx.ok && idx.changes[subject] == changes[subject] { // 0: never written, no rows
			held[subject] = idx.subjects[subject]
		} else {
			others = append(others, s)
		}
	}
	idx.mu.RUnlock()
	idx.batchReads.Add(int64(len(others)))
	return held, others
}

// reloadSubject reloads subject's versions, config and mode ("" : the global config and mode).
// On failure the index stops serving until a full load succeeds; one is tried at once.
func (r *Registry) reloadSubject(ctx context.Context, subject string) {
	idx := r.idx
	idx.queuedMu.Lock()
	if l, ok := idx.queued[subject]; ok { // a reload not started yet: it reads after our commit
		idx.queuedMu.Unlock()
		<-l.done
		return
	}
	l := &subjectLoad{done: make(chan struct{})}
	if idx.queued == nil {
		idx.queued = map[string]*subjectLoad{}
	}
	idx.queued[subject] = l
	idx.queuedMu.Unlock()
	err := r.loadSubject(ctx, idx, subject, func() {
		idx.queuedMu.Lock()
		delete(idx.queued, subject) // started: later writes queue a reload of their own
		idx.queuedMu.Unlock()
	})
	if err != nil {
		// Before the joiners go on: they must not read what this load failed to refresh.
		idx.mu.Lock()
		idx.ok = false
		idx.mu.Unlock()
	}
	close(l.done)
	if err == nil {
		return
	}
	r.log.Warn("registry: reloading a subject into memory failed; reloading everything", "subject", subject, "err", err)
	if err := r.loadAll(ctx, idx); err != nil {
		r.log.Error("registry: reloading the registry into memory failed; reads go to the database until the next resync", "err", err)
	}
}

// forgetContent drops what this replica keeps of schema id's content (in memory with its
// fingerprint, and see contentReplaced), because id holds other content now: the next read
// loads the new. See Change.ReusedSchemaID.
func (r *Registry) forgetContent(id int) {
	if r.idx != nil {
		r.idx.dropSchema(id)
	}
	r.contentReplaced(id)
}

// contentReplaced drops schema id from the caches by ID (SchemaByID's and the parsed schemas)
// and tells the OnSchemaReplaced listeners.
func (r *Registry) contentReplaced(id int) {
	r.visible.remove(id)
	r.parsed.remove(id)
	r.replacedMu.Lock()
	fns := r.onReplaced
	r.replacedMu.Unlock()
	for _, fn := range fns {
		fn(id)
	}
}

// OnSchemaReplaced registers fn to be called with every schema ID whose content was replaced
// (IMPORT mode reusing the ID of a schema whose versions were all permanently deleted; see
// Change.ReusedSchemaID), once this replica has forgotten the old content: after a registration
// through this Registry commits, before it returns; for another replica's, when the feed given
// to ServeFromMemory brings its notice; for a writer that does not publish (an offline
// import), at the next full load (a Resync notice). Whatever caches by schema ID what it got
// from this Registry (compiled validators) forgets that ID in fn.
func (r *Registry) OnSchemaReplaced(fn func(id int)) {
	r.replacedMu.Lock()
	defer r.replacedMu.Unlock()
	r.onReplaced = append(r.onReplaced, fn)
}

// dropSchema removes schema id and its fingerprint, so the next load of a subject holding id
// reads it again (loads read only the schemas the index lacks). It holds loadMu, so it comes
// before or after any load as a whole: a load that read the old content installs it before.
func (idx *index) dropSchema(id int) {
	idx.loadMu.Lock()
	defer idx.loadMu.Unlock()
	idx.mu.Lock()
	defer idx.mu.Unlock()
	s, ok := idx.schemas[id]
	if !ok {
		return
	}
	delete(idx.schemas, id)
	if fp := schemaFingerprint(s); idx.byFP[fp] == id {
		delete(idx.byFP, fp)
	}
}

// mem returns the index when reads may be served from it.
func (r *Registry) mem() *index {
	idx := r.idx
	if idx == nil {
		return nil
	}
	idx.mu.RLock()
	ok := idx.ok
	idx.mu.RUnlock()
	if !ok {
		return nil
	}
	return idx
}

// loadAll reads the whole registry into idx. A schema ID that idx held with other content
// was reused by a writer that does not publish on the feed (an offline import): this replica
// forgets the old content (see contentReplaced).
func (r *Registry) loadAll(ctx context.Context, idx *index) error {
	replaced, err := r.load(ctx, idx)
	for _, id := range replaced {
		r.contentReplaced(id)
	}
	return err
}

// load is loadAll's work; it returns the IDs whose content changed.
func (r *Registry) load(ctx context.Context, idx *index) ([]int, error) {
	idx.loadMu.Lock()
	defer idx.loadMu.Unlock()
	db := r.db.SQL()
	// Versions first: the schemas read after them include every schema they hold (a schema
	// row commits with or before the first version holding it, and is never deleted). The
	// change counters come in the same statement: exactly those of the rows.
	all, changes, err := r.q.allVersionsCounted(ctx, db)
	if err != nil {
		return nil, err
	}
	schemas, byFP, err := r.q.allSchemas(ctx, db)
	if err != nil {
		return nil, err
	}
	configs, err := r.q.allConfigs(ctx, db)
	if err != nil {
		return nil, err
	}
	modes, err := r.q.allModes(ctx, db)
	if err != nil {
		return nil, err
	}
	subjects := map[string][]versionRow{}
	for _, v := range all {
		subjects[v.subject] = append(subjects[v.subject], v)
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	var replaced []int
	for fp, id := range byFP {
		if _, held := idx.schemas[id]; held && idx.byFP[fp] != id {
			replaced = append(replaced, id)
		}
	}
	idx.subjects, idx.changes, idx.schemas, idx.byFP, idx.configs, idx.modes = subjects, changes, schemas, byFP, configs, modes
	idx.ok = true
	return replaced, nil
}

// loadSubject reloads one subject into idx; started (nil: nothing) runs once loadMu is held,
// before anything is read.
func (r *Registry) loadSubject(ctx context.Context, idx *index, subject string, started func()) error {
	idx.loadMu.Lock()
	defer idx.loadMu.Unlock()
	if started != nil {
		started()
	}
	idx.subjectLoads.Add(1)
	db := r.db.SQL()
	var rows []versionRow
	var changes int64
	if subject != globalKey {
		var err error
		if rows, changes, err = r.q.subjectVersionsCounted(ctx, db, subject); err != nil {
			return err
		}
	}
	idx.mu.RLock()
	var missing []int
	for _, row := range rows {
		if _, ok := idx.schemas[row.schemaID]; !ok {
			missing = append(missing, row.schemaID)
		}
	}
	idx.mu.RUnlock()
	type loaded struct {
		s  Schema
		fp string
	}
	var got []loaded
	for _, id := range missing {
		s, found, err := r.q.schema(ctx, db, id)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("schema %d of subject %q not found", id, subject)
		}
		got = append(got, loaded{s, schemaFingerprint(s)})
	}
	c, cfgFound, err := r.q.config(ctx, db, subject)
	if err != nil {
		return err
	}
	m, modeFound, err := r.q.mode(ctx, db, subject)
	if err != nil {
		return err
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	for _, l := range got {
		idx.schemas[l.s.ID] = l.s
		idx.byFP[l.fp] = l.s.ID
	}
	if len(rows) == 0 {
		delete(idx.subjects, subject)
	} else {
		idx.subjects[subject] = rows
	}
	if changes == 0 {
		delete(idx.changes, subject)
	} else {
		idx.changes[subject] = changes
	}
	if cfgFound {
		idx.configs[subject] = c
	} else {
		delete(idx.configs, subject)
	}
	if modeFound {
		idx.modes[subject] = m
	} else {
		delete(idx.modes, subject)
	}
	return nil
}

// versions returns subject's rows (shared: do not modify).
func (idx *index) versions(subject string) []versionRow {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.subjects[subject]
}

// schema returns schema id, with its own References slice.
func (idx *index) schema(id int) (Schema, bool) {
	idx.mu.RLock()
	s, ok := idx.schemas[id]
	idx.mu.RUnlock()
	return s.clone(), ok
}

// schemaID returns the ID of the schema with fingerprint fp.
func (idx *index) schemaID(fp string) (int, bool) {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	id, ok := idx.byFP[fp]
	return id, ok
}

// subjectStates returns every subject with whether it has a live version.
func (idx *index) subjectStates() map[string]bool {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	out := make(map[string]bool, len(idx.subjects))
	for subject, rows := range idx.subjects {
		live := false
		for _, row := range rows {
			live = live || !row.deleted
		}
		out[subject] = live
	}
	return out
}

// allVersions returns every version row, ordered by subject and version.
func (idx *index) allVersions() []versionRow {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	names := make([]string, 0, len(idx.subjects))
	n := 0
	for subject, rows := range idx.subjects {
		names = append(names, subject)
		n += len(rows)
	}
	sort.Strings(names)
	out := make([]versionRow, 0, n)
	for _, subject := range names {
		out = append(out, idx.subjects[subject]...)
	}
	return out
}

// config returns subject's stored config row.
func (idx *index) config(subject string) (Config, bool) {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	c, ok := idx.configs[subject]
	c.Normalize, c.ValidateFields = copyBool(c.Normalize), copyBool(c.ValidateFields)
	return c, ok
}

// copyBool returns a pointer to a copy of *b (nil for nil), so callers never share the index's.
func copyBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

// mode returns subject's stored access mode row.
func (idx *index) mode(subject string) (AccessMode, bool) {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	m, ok := idx.modes[subject]
	return m, ok
}
