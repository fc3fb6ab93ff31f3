package upstream

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
)

// DefaultPollInterval is the default RegistryOptions.PollInterval.
const DefaultPollInterval = 5 * time.Second

// RegistryOptions configures NewRegistry. Client and DB are required.
type RegistryOptions struct {
	// Client reaches the upstream registry (required).
	Client *Client
	// DB is schemagate's own store (required): the upstream versions it has recorded, and the
	// transactions of the OnWrite hooks (the audit log).
	DB *store.DB
	// PollInterval is the time between two polls of the upstream by Run; default
	// DefaultPollInterval.
	PollInterval time.Duration
	// Clock stamps first sightings of versions; default time.Now.
	Clock func() time.Time
	// Logger receives poll failures and recoveries, and audit failures; nil: discarded.
	Logger *slog.Logger
	// Registerer is accepted for symmetry with the other components; the upstream's metrics
	// are the Client's.
	Registerer prometheus.Registerer
}

// Registry is the schema registry of upstream mode: every read and write goes to an upstream
// Confluent-compatible registry through a Client, with these policies.
//
//   - Cached: a schema by ID (and its parsed form, Resolved) is fetched once and kept for the
//     life of the process (IDs are immutable); a numbered subject version is kept once read,
//     until a delete made here or a poll shows it gone. Concurrent misses for one ID or one
//     subject share one upstream call.
//   - Indexed: the live subject versions (subject → version → ID), refreshed by every poll
//     (Sync, Run) and by SubjectLiveVersions; LiveVersions answers from the index alone.
//   - Forwarded: everything else (latest versions, listings, lookups, reads of deleted
//     versions, configuration and mode, compatibility checks). The upstream's errors come back
//     as *APIError unchanged; no answer wraps ErrUnavailable.
//   - Writes (Register, deletes, configuration, mode) are sent once, then audited through the
//     OnWrite hooks in one transaction of schemagate's store, with the upstream's answer.
//   - Versions registered behind schemagate's back are recorded by the poll that sees them a
//     second time, with the OnWrite hooks (Details "observed": "true"); the first poll of an
//     empty store records what the upstream holds as a baseline, without hooks.
//
// When the upstream is unreachable, cached reads and the index keep answering, Degraded says
// why, and everything else wraps ErrUnavailable; the next successful poll ends it.
type Registry struct {
	c        *Client
	db       *store.DB
	interval time.Duration
	clock    func() time.Time
	log      *slog.Logger

	mu       sync.Mutex
	schemas  map[int]registry.Schema
	resolved map[int]registry.Resolved
	versions map[versionKey]registry.SubjectVersion // numbered versions read
	ofSchema map[int][]registry.SubjectVersion      // SchemaSubjects answers
	aliases  map[string]aliasEntry                  // SubjectAlias answers
	idx      index
	degraded degradation

	// recordMu orders this process's forwarded writes (read-locked, they run concurrently)
	// and the poller's recording of versions (locked), so that the poller never records as
	// observed a version this process is registering.
	recordMu sync.RWMutex

	schemaFlight   flight[int, registry.Schema]
	resolvedFlight flight[int, registry.Resolved]
	subjectFlight  flight[string, []registry.LiveVersion]

	hooks registry.Hooks // OnChange and OnWrite
}

// versionKey names one subject version.
type versionKey struct {
	subject string
	version int
}

// degradation is the state of the last poll.
type degradation struct {
	reason string
	since  time.Time
}

// NewRegistry returns a Registry over opts.Client, and polls the upstream once: a failed poll
// is logged and leaves the Registry empty and degraded until a poll succeeds (NewRegistry does
// not fail when the upstream is down). Call Run to keep polling.
func NewRegistry(ctx context.Context, opts RegistryOptions) (*Registry, error) {
	if opts.Client == nil || opts.DB == nil {
		return nil, errors.New("upstream: NewRegistry: RegistryOptions.Client and DB are required")
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{
		c: opts.Client, db: opts.DB, interval: opts.PollInterval, clock: opts.Clock, log: opts.Logger,
		schemas:  map[int]registry.Schema{},
		resolved: map[int]registry.Resolved{},
		versions: map[versionKey]registry.SubjectVersion{},
		ofSchema: map[int][]registry.SubjectVersion{},
		aliases:  map[string]aliasEntry{},
		idx:      newIndex(),
	}
	if err := r.Sync(ctx); err != nil {
		r.log.Warn("upstream registry: first poll failed; serving degraded until a poll succeeds", "error", err)
	}
	return r, nil
}

// Degraded reports whether the last poll of the upstream failed, why, and since when polls
// have been failing.
func (r *Registry) Degraded() (reason string, since time.Time, degraded bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.degraded.reason, r.degraded.since, r.degraded.reason != ""
}

// OnChange registers fn to be called after every change this Registry makes or notices: a
// write forwarded (register, delete, configuration, mode) and a version a poll finds or finds
// gone, with the context of the call (a poll's for the versions it notices).
func (r *Registry) OnChange(fn func(ctx context.Context, c registry.Change)) { r.hooks.AddChange(fn) }

// OnWrite registers fn to be called inside the store transaction that records a write the
// upstream accepted (forwarded through this Registry, with the caller's context) or a version
// a poll observed (with the poll's context). An error from fn rolls the transaction back; the
// write stays done upstream (see Register).
func (r *Registry) OnWrite(fn func(ctx context.Context, tx *sql.Tx, c registry.Change) error) {
	r.hooks.AddJournal(fn)
}

// neverFetched is the error of a read the cache cannot answer while the upstream is
// unreachable.
func neverFetched(what string, err error) error {
	var ue *unavailableError
	if errors.As(err, &ue) {
		err = ue.cause
	}
	return fmt.Errorf("%w: %s was never fetched: %w", ErrUnavailable, what, err)
}

// SchemaByID returns the schema with that ID, from the cache after the first fetch.
func (r *Registry) SchemaByID(ctx context.Context, id int) (registry.Schema, error) {
	r.mu.Lock()
	s, ok := r.schemas[id]
	r.mu.Unlock()
	if ok {
		return cloneSchema(s), nil
	}
	s, err := r.schemaFlight.do(ctx, id, func(ctx context.Context) (registry.Schema, error) {
		var w wireSchema
		if err := r.c.call(ctx, "schema_by_id", http.MethodGet, "/schemas/ids/"+itoa(id), nil, &w); err != nil {
			return registry.Schema{}, err
		}
		s := w.schema(id)
		r.mu.Lock()
		r.schemas[id] = s
		r.mu.Unlock()
		return s, nil
	})
	if errors.Is(err, ErrUnavailable) {
		return registry.Schema{}, neverFetched(fmt.Sprintf("schema %d", id), err)
	}
	return cloneSchema(s), err
}

// cloneSchema returns s with its own References, so cached schemas are never shared.
func cloneSchema(s registry.Schema) registry.Schema {
	s.References = append([]registry.Reference(nil), s.References...)
	return s
}

// Resolved returns schema id parsed with its references resolved (transitively, through the
// upstream's subject versions), from the cache after the first call.
func (r *Registry) Resolved(ctx context.Context, id int) (registry.Resolved, error) {
	r.mu.Lock()
	res, ok := r.resolved[id]
	r.mu.Unlock()
	if ok {
		return res, nil
	}
	return r.resolvedFlight.do(ctx, id, func(ctx context.Context) (registry.Resolved, error) {
		s, err := r.SchemaByID(ctx, id)
		if err != nil {
			return registry.Resolved{}, err
		}
		deps, err := r.dependencies(ctx, s.References)
		if err != nil {
			return registry.Resolved{}, err
		}
		res, err := registry.ResolveSchema(ctx, s, deps)
		if err != nil {
			return registry.Resolved{}, fmt.Errorf("schema %d of the upstream registry: %w", id, err)
		}
		r.mu.Lock()
		r.resolved[id] = res
		r.mu.Unlock()
		return res, nil
	})
}

// maxReferences bounds the schemas one schema references, directly or transitively.
const maxReferences = registry.DefaultMaxReferences

// dependencies returns the schemas refs point to and those they reference, each after the
// schemas it references.
func (r *Registry) dependencies(ctx context.Context, refs []registry.Reference) ([]registry.ResolvedReference, error) {
	var deps []registry.ResolvedReference
	seen := map[registry.Reference]bool{}
	var visit func(ref registry.Reference, depth int) error
	visit = func(ref registry.Reference, depth int) error {
		if seen[ref] {
			return nil
		}
		seen[ref] = true
		if len(seen) > maxReferences || depth > maxReferences {
			return fmt.Errorf("%w: more than %d references, counting references of references", registry.ErrInvalidSchema, maxReferences)
		}
		sv, err := r.SubjectVersion(ctx, ref.Subject, ref.Version, false)
		if err != nil {
			return err
		}
		for _, sub := range sv.Schema.References {
			if err := visit(sub, depth+1); err != nil {
				return err
			}
		}
		deps = append(deps, registry.ResolvedReference{Reference: ref, Type: sv.Schema.Type, Text: sv.Schema.Text})
		return nil
	}
	for _, ref := range refs {
		if err := visit(ref, 0); err != nil {
			return nil, err
		}
	}
	return deps, nil
}

// ResolvedSchemaText returns schema id with referenced Avro named types written inline
// (Confluent's format=resolved); other schemas as the upstream holds them.
func (r *Registry) ResolvedSchemaText(ctx context.Context, id int) (string, error) {
	s, err := r.SchemaByID(ctx, id)
	if err != nil {
		return "", err
	}
	if s.Type != registry.SchemaTypeAvro || len(s.References) == 0 {
		return s.Text, nil
	}
	res, err := r.Resolved(ctx, id)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(res.Avro)
	if err != nil {
		return "", fmt.Errorf("schema %d of the upstream registry: %w", id, err)
	}
	return string(b), nil
}

// SerializedSchemaText returns schema id as Confluent's format=serialized does: a Protobuf
// schema as its base64 FileDescriptorProto, compiled here from the upstream's text; other
// schemas as the upstream holds them.
func (r *Registry) SerializedSchemaText(ctx context.Context, id int) (string, error) {
	res, err := r.Resolved(ctx, id)
	if err != nil {
		return "", err
	}
	return registry.SerializedText(res), nil
}

// SubjectVersion returns a version of subject (-1 for the latest). A numbered live version is
// served from the cache once read; the latest, and reads with includeDeleted, are forwarded.
func (r *Registry) SubjectVersion(ctx context.Context, subject string, version int, includeDeleted bool) (registry.SubjectVersion, error) {
	key := versionKey{subject, version}
	cacheable := version > 0 && !includeDeleted
	if cacheable {
		r.mu.Lock()
		sv, ok := r.versions[key]
		r.mu.Unlock()
		if ok {
			sv.Schema = cloneSchema(sv.Schema)
			return sv, nil
		}
	}
	var w wireSchema
	path := versionPath(subject, version) + query{}.flag("deleted", includeDeleted).String()
	if err := r.c.call(ctx, "subject_version", http.MethodGet, path, nil, &w); err != nil {
		return registry.SubjectVersion{}, err
	}
	sv := w.subjectVersion()
	r.mu.Lock()
	if _, ok := r.schemas[sv.Schema.ID]; !ok && sv.Schema.ID > 0 {
		r.schemas[sv.Schema.ID] = cloneSchema(sv.Schema)
	}
	if cacheable {
		r.versions[key] = sv
	}
	r.mu.Unlock()
	sv.Schema = cloneSchema(sv.Schema)
	return sv, nil
}

// ListSubjects returns the subjects f selects (forwarded; sorted, prefix and page applied here
// too, since not every upstream applies them).
func (r *Registry) ListSubjects(ctx context.Context, f registry.SubjectFilter) ([]string, error) {
	var subjects []string
	q := query{}.str("subjectPrefix", f.Prefix).flag("deleted", f.Deleted).flag("deletedOnly", f.DeletedOnly)
	if err := r.c.call(ctx, "subjects", http.MethodGet, "/subjects"+q.String(), nil, &subjects); err != nil {
		return nil, err
	}
	out := []string{}
	for _, s := range subjects {
		if strings.HasPrefix(s, f.Prefix) {
			out = append(out, s)
		}
	}
	sortStrings(out)
	return pageOf(out, f.Offset, f.Limit), nil
}

// Subjects returns the subjects starting with prefix; soft-deleted ones too with
// includeDeleted.
func (r *Registry) Subjects(ctx context.Context, prefix string, includeDeleted bool) ([]string, error) {
	return r.ListSubjects(ctx, registry.SubjectFilter{Prefix: prefix, Deleted: includeDeleted})
}

// ListVersions returns the versions of subject (forwarded with Confluent's deleted and
// deletedOnly).
func (r *Registry) ListVersions(ctx context.Context, subject string, deleted, deletedOnly bool) ([]int, error) {
	versions := []int{}
	q := query{}.flag("deleted", deleted).flag("deletedOnly", deletedOnly)
	if err := r.c.call(ctx, "versions", http.MethodGet, subjectPath(subject)+"/versions"+q.String(), nil, &versions); err != nil {
		return nil, err
	}
	return versions, nil
}

// Versions returns the versions of subject; soft-deleted ones only with includeDeleted.
func (r *Registry) Versions(ctx context.Context, subject string, includeDeleted bool) ([]int, error) {
	return r.ListVersions(ctx, subject, includeDeleted, false)
}

// Schemas returns the subject versions f selects with their schemas (forwarded; ordered and
// paged here).
func (r *Registry) Schemas(ctx context.Context, f registry.SchemaFilter) ([]registry.SubjectVersion, error) {
	var ws []wireSchema
	q := query{}.str("subjectPrefix", f.SubjectPrefix).flag("deleted", f.Deleted).flag("latestOnly", f.LatestOnly)
	if err := r.c.call(ctx, "schemas", http.MethodGet, "/schemas"+q.String(), nil, &ws); err != nil {
		return nil, err
	}
	out := []registry.SubjectVersion{}
	for _, w := range ws {
		if strings.HasPrefix(w.Subject, f.SubjectPrefix) {
			out = append(out, w.subjectVersion())
		}
	}
	sortVersions(out)
	return pageOf(out, f.Offset, f.Limit), nil
}

// SubjectVersionsOfSchema returns the subject versions that hold schema id (forwarded);
// soft-deleted ones only with deleted.
func (r *Registry) SubjectVersionsOfSchema(ctx context.Context, id int, deleted bool) ([]registry.SubjectVersion, error) {
	var vs []SubjectVersion
	path := "/schemas/ids/" + itoa(id) + "/versions" + query{}.flag("deleted", deleted).String()
	if err := r.c.call(ctx, "subject_versions_of_schema", http.MethodGet, path, nil, &vs); err != nil {
		return nil, err
	}
	out := make([]registry.SubjectVersion, len(vs))
	for i, v := range vs {
		out[i] = registry.SubjectVersion{Subject: v.Subject, Version: v.Version, Schema: registry.Schema{ID: id}}
	}
	sortVersions(out)
	return out, nil
}

// SchemaSubjects returns the live subject versions that hold schema id, for the
// Confluent-framed membership check: GET /schemas/ids/{id}/versions, cached until a poll or a
// write through this Registry shows a version of that schema appear or go. An ID the upstream
// does not hold has none (and that is cached too).
func (r *Registry) SchemaSubjects(ctx context.Context, id int) ([]registry.SubjectVersion, error) {
	r.mu.Lock()
	svs, ok := r.ofSchema[id]
	r.mu.Unlock()
	if ok {
		return append([]registry.SubjectVersion(nil), svs...), nil
	}
	svs, err := r.SubjectVersionsOfSchema(ctx, id, false)
	if errors.Is(err, registry.ErrSchemaNotFound) {
		// Kept too, so that payloads naming IDs the upstream does not have cost one call each
		// per poll at most; the poll that sees a version of id appear forgets it.
		svs, err = []registry.SubjectVersion{}, nil
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.ofSchema) >= maxSchemaSubjects {
		clear(r.ofSchema) // bounded: a flood of made-up IDs cannot grow it without end
	}
	r.ofSchema[id] = svs
	r.mu.Unlock()
	return append([]registry.SubjectVersion(nil), svs...), nil
}

// maxSchemaSubjects bounds the SchemaSubjects answers kept.
const maxSchemaSubjects = 100_000

// ReferencedBy returns the IDs of the schemas that reference subject/version (forwarded).
func (r *Registry) ReferencedBy(ctx context.Context, subject string, version int) ([]int, error) {
	ids := []int{}
	if err := r.c.call(ctx, "referenced_by", http.MethodGet, versionPath(subject, version)+"/referencedby", nil, &ids); err != nil {
		return nil, err
	}
	sortInts(ids)
	return ids, nil
}

// MaxSchemaID is the highest schema ID of the upstream: its fetchMaxId answer when it gives
// one, else the highest ID it lists (soft-deleted versions included); 0 when it holds none.
func (r *Registry) MaxSchemaID(ctx context.Context) (int, error) {
	var ws []wireSchema
	if err := r.c.call(ctx, "schemas", http.MethodGet, "/schemas?deleted=true", nil, &ws); err != nil {
		return 0, err
	}
	highest := 0
	for _, w := range ws {
		highest = max(highest, w.ID)
	}
	if highest == 0 {
		return 0, nil
	}
	var withMax struct {
		MaxID int `json:"maxId"`
	}
	if err := r.c.call(ctx, "schema_by_id", http.MethodGet, "/schemas/ids/"+itoa(highest)+"?fetchMaxId=true", nil, &withMax); err != nil {
		return 0, err
	}
	return max(highest, withMax.MaxID), nil
}

// LookupSchema finds the version of subject that holds in (forwarded: POST /subjects/{s},
// with Confluent's deleted and normalize).
func (r *Registry) LookupSchema(ctx context.Context, subject string, in registry.SchemaInput, deleted bool) (registry.SubjectVersion, error) {
	var w wireSchema
	q := query{}.flag("deleted", deleted).flag("normalize", in.Normalize)
	if err := r.c.call(ctx, "lookup", http.MethodPost, subjectPath(subject)+q.String(), wireInput(in), &w); err != nil {
		return registry.SubjectVersion{}, err
	}
	if w.Subject == "" {
		w.Subject = subject
	}
	return w.subjectVersion(), nil
}

// incompatibleWithoutReasons is the reason given when the upstream says incompatible without
// saying why.
const incompatibleWithoutReasons = "the upstream registry reports the schema incompatible without giving reasons"

// CheckCompatibility asks the upstream whether in is compatible with subject's version (-1 the
// latest, 0 every version its level names), verbosely; empty means compatible.
func (r *Registry) CheckCompatibility(ctx context.Context, subject string, version int, in registry.SchemaInput) ([]string, error) {
	path := "/compatibility" + subjectPath(subject) + "/versions"
	if version != 0 {
		path += "/" + versionSegment(version)
	}
	var out struct {
		IsCompatible bool     `json:"is_compatible"`
		Messages     []string `json:"messages"`
	}
	q := query{}.flag("verbose", true).flag("normalize", in.Normalize)
	if err := r.c.call(ctx, "check_compatibility", http.MethodPost, path+q.String(), wireInput(in), &out); err != nil {
		return nil, err
	}
	if out.IsCompatible {
		return nil, nil
	}
	if len(out.Messages) == 0 {
		return []string{incompatibleWithoutReasons}, nil
	}
	return out.Messages, nil
}

// Config returns the compatibility configuration of subject ("" for the global one), with
// Confluent's defaultToGlobal (forwarded).
func (r *Registry) Config(ctx context.Context, subject string, defaultToGlobal bool) (registry.Config, error) {
	var w wireConfig
	q := query{}.flag("defaultToGlobal", defaultToGlobal)
	if err := r.c.call(ctx, "config", http.MethodGet, settingPath("config", subject)+q.String(), nil, &w); err != nil {
		return registry.Config{}, err
	}
	return w.config(), nil
}

// AccessMode returns the mode of subject ("" for the global one), with Confluent's
// defaultToGlobal (forwarded).
func (r *Registry) AccessMode(ctx context.Context, subject string, defaultToGlobal bool) (registry.AccessMode, error) {
	var w wireMode
	q := query{}.flag("defaultToGlobal", defaultToGlobal)
	if err := r.c.call(ctx, "mode", http.MethodGet, settingPath("mode", subject)+q.String(), nil, &w); err != nil {
		return "", err
	}
	return registry.AccessMode(w.Mode), nil
}
