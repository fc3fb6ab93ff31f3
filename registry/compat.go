package registry

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/schemagate/schemagate/registry/avrocompat"
	"github.com/schemagate/schemagate/registry/compatbudget"
	"github.com/schemagate/schemagate/registry/jsoncompat"
	"github.com/schemagate/schemagate/registry/protocompat"
)

// incompatibility is one reason a reader schema cannot read what a writer schema allowed.
type incompatibility struct {
	typ, path, description string
}

// check returns why reader cannot read data written with writer; the labels ("new", "old")
// name the two in the descriptions. Schemas of different types are never compatible. The work
// is spent from m; when m stops the check, its error is returned (the reasons prove nothing).
func check(m *compatbudget.Meter, reader, writer *parsedSchema, readerLabel, writerLabel string) ([]incompatibility, error) {
	if reader.typ != writer.typ {
		return []incompatibility{{typ: "TYPE_MISMATCH", path: "/",
			description: fmt.Sprintf("Incompatible because of different schema type: %s and %s", reader.typ, writer.typ)}}, nil
	}
	var out []incompatibility
	switch reader.typ {
	case SchemaTypeAvro:
		found, err := avrocompat.CheckMetered(m, reader.avro, writer.avro, readerLabel, writerLabel)
		if err != nil {
			return nil, err
		}
		for _, in := range found {
			out = append(out, incompatibility{typ: in.Type, path: in.Path, description: in.Description})
		}
	case SchemaTypeJSON:
		r := jsoncompat.Schema{Root: reader.jsonRoot, Refs: reader.jsonRefs}
		w := jsoncompat.Schema{Root: writer.jsonRoot, Refs: writer.jsonRefs}
		found, err := jsoncompat.CheckMetered(m, r, w)
		if err != nil {
			return nil, err
		}
		for _, in := range found {
			out = append(out, incompatibility{typ: in.Type, path: in.Path, description: in.Description})
		}
	case SchemaTypeProtobuf:
		found, err := protocompat.CheckMeteredLabeled(m, reader.proto.File, writer.proto.File, readerLabel, writerLabel)
		if err != nil {
			return nil, err
		}
		for _, in := range found {
			out = append(out, incompatibility{typ: in.Type, path: in.Path, description: in.Description})
		}
	}
	return out, nil
}

// budgetExceeded is the errorType of the reason given when a check ran out of work units: the
// schema is then reported incompatible (fail closed).
const budgetExceeded = "COMPATIBILITY_BUDGET_EXCEEDED"

// compatMessages checks candidate against one earlier version in the directions level names
// and returns Confluent-style messages: one per reason, then the old version, the old schema
// and the level. Empty means compatible. A check that exceeds m's budget is one reason saying
// so; a check stopped by its context returns the context's error.
func compatMessages(m *compatbudget.Meter, level CompatibilityLevel, candidate, old *parsedSchema, oldVersion int) ([]string, error) {
	var reasons []incompatibility
	directions := []struct {
		on                    bool
		reader, writer        *parsedSchema
		readerLabel, wrtLabel string
	}{{level.backward(), candidate, old, "new", "old"}, {level.forward(), old, candidate, "old", "new"}}
	for _, d := range directions {
		if !d.on {
			continue
		}
		found, err := check(m, d.reader, d.writer, d.readerLabel, d.wrtLabel)
		if errors.Is(err, compatbudget.ErrExceeded) {
			reasons = []incompatibility{{typ: budgetExceeded, path: "/", description: err.Error()}}
			break
		}
		if err != nil {
			return nil, err
		}
		reasons = append(reasons, found...)
	}
	if len(reasons) == 0 {
		return nil, nil
	}
	msgs := make([]string, 0, len(reasons)+3)
	for _, in := range reasons {
		msgs = append(msgs, fmt.Sprintf("{errorType:'%s', description:'%s', additionalInfo:'%s'}", in.typ, in.description, in.path))
	}
	return append(msgs,
		fmt.Sprintf("{oldSchemaVersion: %d}", oldVersion),
		fmt.Sprintf("{oldSchema: '%s'}", old.canonical),
		fmt.Sprintf("{compatibility: '%s'}", level)), nil
}

// checkRegistration checks candidate against the live versions of subject that cfg's level
// names (the latest, or all for transitive levels, newest first) among those of its
// compatibility group, and against the reserved fields when cfg validates fields (see
// contract.go), and wraps ErrIncompatible with every reason when it is not compatible.
func (r *Registry) checkRegistration(ctx context.Context, db querier, subject string, cfg Config, rows []versionRow, candidate *parsedSchema) error {
	rows, msgs, err := r.contractCheck(ctx, db, cfg, rows, candidate)
	if err != nil {
		return err
	}
	found, err := r.checkAgainst(ctx, db, cfg.Compatibility, liveVersions(rows, cfg.Compatibility.transitive()), candidate)
	if err != nil {
		return err
	}
	msgs = append(msgs, found...)
	if len(msgs) > 0 {
		return errorf(ErrIncompatible, "Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s]",
			subject, strings.Join(msgs, ", "))
	}
	return nil
}

// checkedState is what a compatibility check made before the write transaction saw: the
// subject's version rows and its level. The transaction reuses the check when both are still
// the same.
type checkedState struct {
	passed bool // a check ran against rows under level and passed
	rows   []versionRow
	level  CompatibilityLevel
	rules  contractRules
}

// precheck runs the compatibility check of a registration before its write transaction, so
// that slow checks never hold the write lock. It returns what the check saw (passed false
// when no check was needed: IMPORT mode, or the subject already has the schema) or the
// refusal, with the errors the transaction would give first (read-only subject, a schema ID
// given outside IMPORT mode) before ErrIncompatible.
//
// It reads from memory when the registry serves reads from there (this replica's own writes
// are in memory when they return): the transaction compares what the check saw with the
// database and has it checked again when they differ. A refusal for incompatibility is only
// given from the database's state: one found in memory is checked again on the database.
func (r *Registry) precheck(ctx context.Context, subject string, s Schema, givenID int, candidate *parsedSchema) (checkedState, error) {
	pre, err := r.precheckOn(ctx, r.db.SQL(), subject, s, givenID, candidate)
	if errors.Is(err, ErrIncompatible) && r.memFor(r.db.SQL()) != nil {
		return r.precheckOn(ctx, noMemory{r.db.SQL()}, subject, s, givenID, candidate)
	}
	return pre, err
}

// noMemory is the connection pool, read as such even when the registry serves reads from
// memory.
type noMemory struct{ *sql.DB }

func (r *Registry) precheckOn(ctx context.Context, db querier, subject string, s Schema, givenID int, candidate *parsedSchema) (checkedState, error) {
	mode, err := r.checkWritable(ctx, db, subject)
	if err != nil {
		return checkedState{}, err
	}
	id, found, err := r.schemaIDOf(ctx, db, schemaFingerprint(s))
	if err != nil {
		return checkedState{}, err
	}
	if err := checkGivenSchemaID(subject, mode, givenID, id, found); err != nil || mode == ModeImport {
		return checkedState{}, err
	}
	cfg, err := r.effectiveConfig(ctx, db, subject)
	if err != nil {
		return checkedState{}, err
	}
	rows, err := r.versionRows(ctx, db, subject)
	if err != nil {
		return checkedState{}, err
	}
	if _, live := liveVersionOf(rows, id); found && live {
		return checkedState{}, nil
	}
	if err := r.checkRegistration(ctx, db, subject, cfg, rows, candidate); err != nil {
		return checkedState{}, err
	}
	return checkedState{passed: true, rows: rows, level: cfg.Compatibility, rules: rulesOf(cfg)}, nil
}

// recheck is the compatibility check inside the write transaction, on the rows and the
// configuration it read. It costs nothing when the check before the transaction (pre) saw the same versions
// and level. Otherwise the check is redone here when last is set, else errVersionsChanged asks
// the caller to check again outside the transaction.
func (r *Registry) recheck(ctx context.Context, tx querier, subject string, cfg Config, rows []versionRow, pre checkedState, last bool, candidate *parsedSchema) error {
	if pre.passed && pre.level == cfg.Compatibility && pre.rules == rulesOf(cfg) && slices.Equal(pre.rows, rows) {
		return nil
	}
	if !last {
		return errVersionsChanged
	}
	return r.checkRegistration(ctx, tx, subject, cfg, rows, candidate)
}

// errVersionsChanged: the subject's versions or level changed between the compatibility check
// and the write transaction. Register checks again; it never reaches clients.
var errVersionsChanged = errors.New("registry: subject changed during the compatibility check")

// maxCheckAttempts is how many times Register checks compatibility outside the write
// transaction before it checks inside it (still within the work budget).
const maxCheckAttempts = 3

// liveVersions returns the live rows to check, newest first: all of them, or the latest.
func liveVersions(rows []versionRow, all bool) []versionRow {
	var out []versionRow
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].deleted {
			continue
		}
		out = append(out, rows[i])
		if !all {
			break
		}
	}
	return out
}

// checkAgainst checks candidate against each row under level and returns the messages of
// every incompatible version. The whole check spends one budget of work units
// (Options.CompatibilityBudget); once it is exceeded the remaining versions are not checked
// and the messages say so. The context is checked between versions and inside the checkers.
func (r *Registry) checkAgainst(ctx context.Context, db querier, level CompatibilityLevel, rows []versionRow, candidate *parsedSchema) ([]string, error) {
	if level == CompatNone || len(rows) == 0 {
		return nil, nil
	}
	if r.beforeCheck != nil {
		if err := r.beforeCheck(ctx); err != nil {
			return nil, &registryError{msg: err.Error(), sentinel: ErrTooManyChecks, cause: err}
		}
	}
	m := compatbudget.New(ctx, r.budget)
	defer func() {
		r.metrics.checkUnits.Add(float64(m.Used()))
		if r.afterCheck != nil {
			r.afterCheck(ctx, m.Used())
		}
	}()
	var msgs []string
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		old, err := r.parsedByID(ctx, db, row.schemaID)
		if err != nil {
			return nil, err
		}
		found, err := compatMessages(m, level, candidate, old, row.version)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, found...)
		if m.Err() != nil {
			break // budget exceeded: reported in found
		}
	}
	if errors.Is(m.Err(), compatbudget.ErrExceeded) {
		r.metrics.budgetExceeded.Inc()
	}
	return msgs, nil
}

// CheckCompatibility reports why in could not be registered in subject under the subject's
// compatibility level; empty means compatible. version -1 checks against the latest live
// version, a positive version against that version only, and 0 against every live version
// the level names (the latest, or all for transitive levels); a subject without versions is
// then compatible. The versions compared are narrowed to the candidate's compatibility group,
// and reserved fields are checked when the configuration validates fields (see contract.go).
// The schema must parse (ErrInvalidSchema).
func (r *Registry) CheckCompatibility(ctx context.Context, subject string, version int, in SchemaInput) ([]string, error) {
	if err := validateSubject(subject); err != nil {
		return nil, err
	}
	if version != 0 {
		if err := validateVersion(version, true); err != nil {
			return nil, err
		}
	}
	candidate, _, err := r.prepare(ctx, subject, in)
	if err != nil {
		return nil, err
	}
	db := r.db.SQL()
	cfg, err := r.effectiveConfig(ctx, db, subject)
	if err != nil {
		return nil, r.storeErr("reading a compatibility configuration", err)
	}
	all, err := r.q.subjectVersions(ctx, db, subject)
	if err != nil {
		return nil, r.storeErr("reading a subject", err)
	}
	var rows []versionRow
	switch {
	case version == 0:
		rows = all // narrowed to the level's after the group filter
	default:
		live, err := r.visibleVersions(ctx, subject, false)
		if err != nil {
			return nil, err
		}
		rows = live[len(live)-1:]
		if version > 0 {
			rows = nil
			for _, row := range live {
				if row.version == version {
					rows = []versionRow{row}
				}
			}
			if rows == nil {
				return nil, errorf(ErrVersionNotFound, "version %d of subject %q not found", version, subject)
			}
		}
	}
	rows, msgs, err := r.contractCheck(ctx, db, cfg, rows, candidate)
	if err != nil {
		return nil, r.storeErr("checking compatibility", err)
	}
	if version == 0 {
		rows = liveVersions(rows, cfg.Compatibility.transitive())
	}
	found, err := r.checkAgainst(ctx, db, cfg.Compatibility, rows, candidate)
	if err != nil {
		return nil, r.storeErr("checking compatibility", err)
	}
	return append(msgs, found...), nil
}

// parsedByID returns a stored schema parsed, from the cache when it was parsed before. An entry
// goes stale only when IMPORT mode gives its ID to other content, and forgetContent drops it
// then.
func (r *Registry) parsedByID(ctx context.Context, db querier, id int) (*parsedSchema, error) {
	if p, ok := r.parsed.get(id); ok {
		return p, nil
	}
	at := r.parsed.stamp()
	s, found, err := r.q.schema(ctx, db, id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errorf(ErrSchemaNotFound, "schema %d not found", id)
	}
	deps, err := r.resolveDependenciesIn(ctx, db, s.References)
	if err != nil {
		return nil, err
	}
	// Stored text is canonical already; the limits were checked when it was registered.
	p, err := parse(ctx, s.Type, s.Text, deps, storedLimits, false)
	if err != nil {
		return nil, fmt.Errorf("stored schema %d no longer parses: %w", id, err)
	}
	// The stored text is what messages quote: a normalized Protobuf schema printed again
	// without normalizing would differ from it (a proto2 file's syntax line).
	p.canonical = s.Text
	r.parsed.putAt(at, id, p)
	return p, nil
}

// lru is a bounded least-recently-used cache by schema ID, safe for concurrent use. Entries are
// evicted, and removed when what they hold goes away (a schema hidden by a permanent delete, its
// ID given to other content in IMPORT mode).
type lru[V any] struct {
	mu      sync.Mutex
	max     int
	order   *list.List // front = most recently used; values are *lruEntry[V]
	byID    map[int]*list.Element
	removed uint64 // how many remove calls there have been: see putAt
}

type lruEntry[V any] struct {
	id int
	v  V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), byID: map[int]*list.Element{}}
}

func (c *lru[V]) get(id int) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[id]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).v, true
}

func (c *lru[V]) put(id int, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.insert(id, v)
}

// insert is put's work; c.mu is held.
func (c *lru[V]) insert(id int, v V) {
	if e, ok := c.byID[id]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byID[id] = c.order.PushFront(&lruEntry[V]{id: id, v: v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*lruEntry[V]).id)
	}
}

// stamp returns the cache's state for putAt: take it before reading what is to be put.
func (c *lru[V]) stamp() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removed
}

// putAt is put, unless something was removed since stamp returned at: v was read before that
// removal and may be the very content it dropped (a replica told that an ID holds other
// content now, while a read of the old content was under way). Skipping costs a read later.
func (c *lru[V]) putAt(at uint64, id int, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed == at {
		c.insert(id, v)
	}
}

func (c *lru[V]) remove(id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed++
	if e, ok := c.byID[id]; ok {
		c.order.Remove(e)
		delete(c.byID, id)
	}
}
