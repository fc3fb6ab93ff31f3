// Package registry keeps subjects, their versions and the global schema IDs,
// Confluent Schema Registry style, on top of the store package.
//
// Schemas are content-addressed: the same canonical schema (type, canonical
// text and references) has one global ID in every subject. IDs come from a
// counter in the database and are never reused, even after a hard delete,
// except by IMPORT mode, which may give the ID of a schema whose versions were
// all permanently deleted to other content, as Confluent does. Every error wraps one of the package's sentinel errors; messages are meant
// for clients.
package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/registry/compatbudget"
	"github.com/schemagate/schemagate/store"
)

// writeLock names the lock that serialises registry writes across replicas sharing one
// PostgreSQL database (SQLite write transactions are exclusive already): with it, two replicas
// registering the same new schema at once agree on one ID and never collide on a version.
const writeLock = "schemagate.registry"

// Registry is the schema registry. It is safe for concurrent use; writes are
// serialised by the database's transactions.
type Registry struct {
	db      *store.DB
	q       queries
	log     *slog.Logger
	lim     limits
	maxRefs int
	budget  int64 // work units per compatibility check
	// beforeCheck and afterCheck are Options.BeforeCheck and AfterCheck (nil: none).
	beforeCheck func(ctx context.Context) error
	afterCheck  func(ctx context.Context, units int64)
	metrics     *metrics
	clock       func() time.Time
	parsed      *lru[*parsedSchema]
	// visible caches schemas found by SchemaByID. A schema stops being found only when its
	// last version is permanently deleted; this replica then drops it (see forget). Every
	// replica drops it when IMPORT mode gives its ID to other content (see forgetContent).
	visible *lru[Schema]
	// group queues registrations for the write turn and commits them together; nil commits
	// each in a transaction of its own (benchmarks compare the two).
	group *groupCommit

	hooks Hooks // OnChange and OnWrite

	replacedMu sync.Mutex
	onReplaced []func(id int) // OnSchemaReplaced

	idx *index // reads served from memory (ServeFromMemory); nil: from the database
}

type metrics struct {
	registered     *prometheus.CounterVec
	checkUnits     prometheus.Counter
	budgetExceeded prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		registered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_schemas_registered_total",
			Help: "Subject versions created by schema registration, by schema type (AVRO, JSON, PROTOBUF).",
		}, []string{"type"}),
		checkUnits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "schemagate_compatibility_check_units_total",
			Help: "Work units spent by compatibility checks (see schema_registry.compatibility_budget).",
		}),
		budgetExceeded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "schemagate_compatibility_budget_exceeded_total",
			Help: "Compatibility checks stopped by schema_registry.compatibility_budget and reported incompatible.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.registered, err = registerShared(reg, m.registered); err != nil {
		return nil, err
	}
	if m.checkUnits, err = registerShared(reg, m.checkUnits); err != nil {
		return nil, err
	}
	if m.budgetExceeded, err = registerShared(reg, m.budgetExceeded); err != nil {
		return nil, err
	}
	return m, nil
}

// registerShared registers c, or returns the collector of the same name registered before: a
// second Registry on the same registerer shares its metrics.
func registerShared[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		return c, fmt.Errorf("registry: register metrics: %w", err)
	}
	existing, ok := are.ExistingCollector.(C)
	if !ok {
		return c, fmt.Errorf("registry: register metrics: %w", err)
	}
	return existing, nil
}

// New returns a Registry on db, which is required (an opened, migrated
// store). Zero Options fields take the defaults documented on Options.
func New(db *store.DB, opts Options) (*Registry, error) {
	if db == nil {
		return nil, errors.New("registry: New: a *store.DB is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxSchemaBytes <= 0 {
		opts.MaxSchemaBytes = DefaultMaxSchemaBytes
	}
	if opts.MaxNestingDepth <= 0 {
		opts.MaxNestingDepth = DefaultMaxNestingDepth
	}
	if opts.MaxReferences <= 0 {
		opts.MaxReferences = DefaultMaxReferences
	}
	if opts.CompatibilityBudget <= 0 {
		opts.CompatibilityBudget = compatbudget.DefaultUnits
	}
	if opts.MaxUnionBranches <= 0 {
		opts.MaxUnionBranches = DefaultMaxUnionBranches
	}
	if opts.MaxCombinatorItems <= 0 {
		opts.MaxCombinatorItems = DefaultMaxCombinatorItems
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.ParsedCacheEntries <= 0 {
		opts.ParsedCacheEntries = DefaultParsedCacheEntries
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Registry{
		db:  db,
		q:   queries{d: db.Dialect()},
		log: opts.Logger,
		lim: limits{maxBytes: opts.MaxSchemaBytes, maxDepth: opts.MaxNestingDepth,
			maxUnionBranches: opts.MaxUnionBranches, maxCombinatorItems: opts.MaxCombinatorItems},
		maxRefs: opts.MaxReferences,
		budget:  opts.CompatibilityBudget,

		beforeCheck: opts.BeforeCheck,
		afterCheck:  opts.AfterCheck,
		metrics:     m,
		clock:       opts.Clock,
		parsed:      newLRU[*parsedSchema](opts.ParsedCacheEntries),
		visible:     newLRU[Schema](opts.ParsedCacheEntries),
		group:       &groupCommit{max: maxGroupCommit},
	}, nil
}

// Ping checks that the registry's database answers.
func (r *Registry) Ping(ctx context.Context) error {
	if err := r.db.Ping(ctx); err != nil {
		return r.storeErr("checking the database", err)
	}
	return nil
}

// storeErr passes our own errors through and wraps anything else (a
// database failure) in ErrStore, logging the cause, which clients never see.
func (r *Registry) storeErr(op string, err error) error {
	if err == nil || asRegistryError(err) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		r.log.Debug("registry operation ended by its context", "op", op, "err", err)
	} else {
		r.log.Error("registry storage failure", "op", op, "err", err)
	}
	return storeError(op, err)
}

// Register adds a schema to subject and returns the subject version holding
// it.
//
// The text is parsed (Avro with hamba/avro, JSON Schema with
// santhosh-tekuri/jsonschema) with the referenced schemas available, and
// refused with ErrInvalidSchema, saying what is wrong and where, if it does
// not parse, is larger than Options.MaxSchemaBytes or nested deeper than
// Options.MaxNestingDepth. References must name existing, live subject
// versions (ErrReferenceNotFound). Nothing is stored for a refused schema.
//
// The schema is stored in canonical form (see Schema.Text): for Avro the
// parsed schema written back in a fixed layout, for JSON Schema the compact
// document (with keys sorted when normalizing). If the subject already has a
// live version with the same canonical schema, that version is returned and
// nothing is created. Otherwise the schema must be compatible with the
// subject's versions under its compatibility level (ErrIncompatible, with
// every reason), the subject must be writable (ErrOperationNotPermitted in
// READONLY), and a new version (one more than the highest, soft-deleted ones
// included) is created with the schema's global ID: the ID the same content
// had before, in any subject and even after a hard delete, or a fresh one. In
// IMPORT mode the given ID and version are kept and compatibility is not
// checked; a registration without an ID is refused there (ErrOperationNotPermitted,
// as Confluent), unless the subject already has the schema. A given ID that holds
// other content is refused (ErrOperationNotPermitted) while a version, live or
// soft-deleted, holds that content; once none does, the new content takes the ID
// over (see Change.ReusedSchemaID).
//
// Registrations that wait for the write turn at the same time commit together, in one
// transaction and one flush to disk; each still gets its own answer and audit entry, in the
// order they queued, and a refused one changes nothing and fails no other. A caller whose ctx
// ends while it waits leaves the queue; once its turn has come, its registration is decided
// with the others in the transaction.
func (r *Registry) Register(ctx context.Context, subject string, in SchemaInput) (SubjectVersion, error) {
	if err := validateNewSubject(subject); err != nil {
		return SubjectVersion{}, err
	}
	p, refs, err := r.prepare(ctx, subject, in)
	if err != nil {
		return SubjectVersion{}, err
	}
	sv := SubjectVersion{Subject: subject}
	var wrote *written
	metadata, ruleSet := p.metadata, p.ruleSet
	for attempt := 1; ; attempt++ {
		// The configuration's metadata and rule sets, and the previous version's, go into the
		// schema before its identity is decided (see contract.go); again on every attempt, as
		// the previous version may have changed.
		if err = r.applyContract(ctx, subject, p, metadata, ruleSet); err != nil {
			break
		}
		sv.Schema = p.schema(refs)
		// The compatibility check runs before the write transaction; inside it, a cheap
		// comparison of the subject's versions tells whether the check still holds.
		var pre checkedState
		if pre, err = r.precheck(ctx, subject, sv.Schema, in.ID, p); err != nil {
			break
		}
		w := &registration{ctx: ctx, sv: sv, in: in, p: p, refs: refs, pre: pre,
			last: attempt == maxCheckAttempts, wake: make(chan struct{})}
		r.write(w)
		if err = w.err; !errors.Is(err, errVersionsChanged) {
			sv, wrote = w.out, w.wrote
			break
		}
	}
	if err != nil {
		return SubjectVersion{}, r.storeErr("registering a schema", err)
	}
	if wrote != nil {
		// The next registration in the subject checks compatibility against this version:
		// keep it parsed under its ID rather than parse its stored text again (the stored text
		// is p's canonical form, which parses to the same schema). Parsing is most of a
		// registration's CPU.
		r.parsed.put(sv.Schema.ID, p)
		r.hooks.Notify(r.applyRegistered(ctx, sv, wrote), wrote.change)
		r.metrics.registered.WithLabelValues(string(sv.Schema.Type)).Inc()
		r.log.InfoContext(ctx, "schema registered", "subject", subject, "version", sv.Version, "id", sv.Schema.ID, "type", string(sv.Schema.Type))
	}
	return sv, nil
}

// registerInTx is Register's work in its transaction, on sv (subject and schema set): it sets
// sv's version and schema ID, and returns what it wrote when it created a version, nil when
// the subject already had the schema. The caller holds the registry's write lock
// (writeLock) in tx. view is what tx read for the batch sv is in.
// pre is what the compatibility check before the transaction saw; last says no other attempt
// follows, so a check that no longer holds is redone here rather than retried. writing (nil:
// not wanted) is set when it starts to write: a refusal before that has written nothing.
func (r *Registry) registerInTx(ctx context.Context, tx *sql.Tx, view *batchView, sv *SubjectVersion, in SchemaInput, p *parsedSchema, refs []Reference, pre checkedState, last bool, writing *bool) (*written, error) {
	subject := sv.Subject
	mode, err := view.checkWritable(ctx, r, tx, subject)
	if err != nil {
		return nil, err
	}
	// The references were checked outside the transaction; check that
	// they are still live now that writes are excluded.
	for _, ref := range refs {
		if err := r.checkLiveReference(ctx, tx, ref); err != nil {
			return nil, err
		}
	}
	fp := schemaFingerprint(sv.Schema)
	id, found := view.schemaID(fp)
	if err := checkGivenSchemaID(subject, mode, in.ID, id, found); err != nil {
		return nil, err
	}
	rows := view.versions(subject)
	if found {
		if version, ok := liveVersionOf(rows, id); ok {
			sv.Version, sv.Schema.ID = version, id
			return nil, nil
		}
	}
	if mode == ModeImport && in.ID == 0 {
		// As Confluent: an import keeps the source registry's IDs, so it must name them.
		return nil, errorf(ErrOperationNotPermitted, "Subject %s is not in read-write mode: in IMPORT mode a registration must give the schema's id", subject)
	}
	if mode != ModeImport {
		cfg, err := view.effectiveConfig(ctx, r, tx, subject)
		if err != nil {
			return nil, err
		}
		if err := r.recheck(ctx, tx, subject, cfg, rows, pre, last, p); err != nil {
			return nil, err
		}
	}
	if writing != nil {
		*writing = true // from here on a refusal may leave writes behind in tx
	}
	stale := "" // the fingerprint of the schema whose row this registration takes over
	if !found && in.ID == 0 && r.q.d == store.Postgres {
		// A new schema under the next ID with its version: one statement (a round trip) on
		// PostgreSQL, not three.
		if sv.Version, err = nextVersion(subject, rows, mode, in.Version); err != nil {
			return nil, err
		}
		if id, err = r.q.insertNewSchemaVersion(ctx, tx, sv.Schema, fp, subject, sv.Version, r.clock().UnixMicro()); err != nil {
			return nil, err
		}
		sv.Schema.ID = id
		if err := r.q.insertReferences(ctx, tx, sv.Schema); err != nil {
			return nil, err
		}
	} else if stale, err = r.storeVersion(ctx, tx, sv, in, rows, mode, fp, id, found); err != nil {
		return nil, err
	}
	change := Change{Action: ActionSchemaRegistered, Subject: subject, Details: map[string]string{
		"version": strconv.Itoa(sv.Version), "schema_id": strconv.Itoa(sv.Schema.ID), "type": string(sv.Schema.Type)}}
	if stale != "" {
		change.Details[detailIDReused] = "true"
	}
	if err := r.hooks.Journal(ctx, tx, change); err != nil {
		return nil, err
	}
	changes := view.record(*sv, fp, stale)
	return &written{change: change, prior: rows, changes: changes}, nil
}

// storeVersion stores sv (its schema too, unless found under id) as registerInTx does outside
// PostgreSQL's one-statement path: the schema under a new, imported or reused ID (stale is then
// the fingerprint of the schema whose row it takes over), then the version.
func (r *Registry) storeVersion(ctx context.Context, tx *sql.Tx, sv *SubjectVersion, in SchemaInput, rows []versionRow, mode AccessMode, fp string, id int, found bool) (stale string, err error) {
	if !found {
		if id, stale, err = r.newSchemaID(ctx, tx, in.ID); err != nil {
			return "", err
		}
		sv.Schema.ID = id
		store := r.q.insertSchema
		if stale != "" {
			store = r.q.replaceSchema
		}
		if err := store(ctx, tx, sv.Schema, fp); err != nil {
			return "", err
		}
	}
	sv.Schema.ID = id
	if sv.Version, err = nextVersion(sv.Subject, rows, mode, in.Version); err != nil {
		return "", err
	}
	return stale, r.q.insertVersion(ctx, tx, sv.Subject, sv.Version, id, r.clock().UnixMicro())
}

// written is what a registration wrote: the change it journaled, the subject's version rows
// as its transaction found them before the write, and the subject's change counter after the
// write.
type written struct {
	change  Change
	prior   []versionRow
	changes int64
}

// checkGivenSchemaID refuses a schema ID given with a registration (given != 0) outside IMPORT
// mode, or one that differs from the ID the same schema already has (id, when found).
func checkGivenSchemaID(subject string, mode AccessMode, given, id int, found bool) error {
	if given != 0 && (found && id != given || !found && mode != ModeImport) {
		if mode != ModeImport {
			return errorf(ErrOperationNotPermitted, "Subject %s is not in import mode: a schema ID can be given only in IMPORT mode", subject)
		}
		return errorf(ErrOperationNotPermitted, "Overwrite new schema with id %d is not permitted: the schema is registered with id %d", given, id)
	}
	return nil
}

// liveVersionOf returns the live version among rows that holds schema id.
func liveVersionOf(rows []versionRow, id int) (int, bool) {
	for _, row := range rows {
		if row.schemaID == id && !row.deleted {
			return row.version, true
		}
	}
	return 0, false
}

// prepare validates and parses an input schema for subject, normalizing it when the input or
// the subject's configuration asks.
func (r *Registry) prepare(ctx context.Context, subject string, in SchemaInput) (*parsedSchema, []Reference, error) {
	typ, err := parseSchemaType(string(in.Type))
	if err != nil {
		return nil, nil, err
	}
	refs, err := validateReferences(in.References)
	if err != nil {
		return nil, nil, err
	}
	metadata, err := compactObject("metadata", in.Metadata)
	if err != nil {
		return nil, nil, err
	}
	ruleSet, err := compactObject("ruleSet", in.RuleSet)
	if err != nil {
		return nil, nil, err
	}
	normalize := in.Normalize
	if !normalize {
		cfg, err := r.effectiveConfig(ctx, r.db.SQL(), subject)
		if err != nil {
			return nil, nil, r.storeErr("reading a compatibility configuration", err)
		}
		normalize = cfg.Normalize != nil && *cfg.Normalize
	}
	deps, err := r.resolveDependencies(ctx, refs)
	if err != nil {
		return nil, nil, err
	}
	p, err := parse(ctx, typ, in.Text, deps, r.lim, normalize)
	if err != nil {
		return nil, nil, err
	}
	p.metadata, p.ruleSet = metadata, ruleSet
	return p, refs, nil
}

// newSchemaID returns the ID for a schema not stored yet: the imported one (IMPORT mode; the
// counter is raised past it) or the next from the counter.
//
// An imported ID must not hold another schema that a subject version, live or soft-deleted,
// still holds (ErrOperationNotPermitted, Confluent's "Overwrite new schema with id … is not
// permitted"). An ID whose schema lost its last version to a permanent delete is free to
// import, as in Confluent: stale is then that schema's fingerprint, and the caller replaces
// the row (see Change.ReusedSchemaID). Outside IMPORT mode IDs are never reused.
func (r *Registry) newSchemaID(ctx context.Context, tx *sql.Tx, imported int) (id int, stale string, err error) {
	if imported == 0 {
		id, err := r.q.nextSchemaID(ctx, tx)
		if err == nil && id > math.MaxInt32 {
			return 0, "", errNoSchemaIDLeft
		}
		return id, "", err
	}
	if imported < 0 || imported > math.MaxInt32 {
		return 0, "", errorf(ErrInvalidSchema, "invalid schema id %d: IDs are positive 32-bit integers (at most %d)", imported, math.MaxInt32)
	}
	stale, stored, err := r.q.storedFingerprint(ctx, tx, imported)
	if err != nil {
		return 0, "", err
	}
	if !stored {
		return imported, "", r.q.raiseSchemaID(ctx, tx, imported)
	}
	inUse, err := r.q.schemaInUse(ctx, tx, imported)
	if err != nil {
		return 0, "", err
	}
	if inUse {
		return 0, "", errorf(ErrOperationNotPermitted, "Overwrite new schema with id %d is not permitted: the id holds another schema", imported)
	}
	return imported, stale, nil
}

// errNoSchemaIDLeft refuses a new schema once every 32-bit schema ID has been handed out.
var errNoSchemaIDLeft = errorf(ErrOperationNotPermitted, "no schema id left: ids are 32-bit and %d was the last", math.MaxInt32)

// nextVersion is the version a new registration gets: the imported one (IMPORT mode, must be
// free) or one more than the highest, soft-deleted versions included.
func nextVersion(subject string, rows []versionRow, mode AccessMode, imported int) (int, error) {
	next := 1
	if len(rows) > 0 {
		next = rows[len(rows)-1].version + 1
	}
	if imported == 0 || imported == -1 {
		return next, nil
	}
	if mode != ModeImport {
		if imported == next {
			return next, nil
		}
		return 0, errorf(ErrInvalidVersion, "invalid version %d for subject %q: the next version is %d; other versions can be given only in IMPORT mode", imported, subject, next)
	}
	if imported < 1 || imported > math.MaxInt32 {
		return 0, errorf(ErrInvalidVersion, "invalid version %d: versions are positive 32-bit integers (at most %d)", imported, math.MaxInt32)
	}
	for _, row := range rows {
		if row.version == imported {
			return 0, errorf(ErrOperationNotPermitted, "version %d of subject %q already exists", imported, subject)
		}
	}
	return imported, nil
}

// SchemaByID returns the schema with the given global ID. A schema is found
// while at least one subject version (soft-deleted ones included) refers to
// it; otherwise the error wraps ErrSchemaNotFound.
func (r *Registry) SchemaByID(ctx context.Context, id int) (Schema, error) {
	notFound := errorf(ErrSchemaNotFound, "schema %d not found", id)
	if id <= 0 {
		return Schema{}, notFound
	}
	if s, ok := r.visible.get(id); ok {
		return s.clone(), nil
	}
	at := r.visible.stamp()
	inUse, err := r.q.schemaInUse(ctx, r.db.SQL(), id)
	if err != nil {
		return Schema{}, r.storeErr("reading a schema", err)
	}
	if !inUse {
		return Schema{}, notFound
	}
	s, found, err := r.q.schema(ctx, r.db.SQL(), id)
	if err != nil {
		return Schema{}, r.storeErr("reading a schema", err)
	}
	if !found {
		return Schema{}, notFound
	}
	r.visible.putAt(at, id, s.clone())
	return s, nil
}
