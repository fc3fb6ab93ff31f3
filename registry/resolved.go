package registry

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/schemagate/schemagate/registry/protoschema"
)

// Resolved is a stored schema parsed with its references resolved, ready to compile a payload
// validator from. It is shared: callers must not modify it.
type Resolved struct {
	Schema Schema
	// Avro is the parsed schema (AVRO only), named types of references included.
	Avro avro.Schema
	// JSONRoot is the JSON Schema document (JSON only), numbers as json.Number.
	JSONRoot any
	// JSONRefs holds the referenced documents by reference name (JSON only).
	JSONRefs map[string]any
	// Proto is the compiled schema (PROTOBUF only), its imports linked.
	Proto *protoschema.Schema
}

// resolved wraps s and its parsed form.
func resolved(s Schema, p *parsedSchema) Resolved {
	return Resolved{Schema: s, Avro: p.avro, JSONRoot: p.jsonRoot, JSONRefs: p.jsonRefs, Proto: p.proto}
}

// Resolved returns schema id parsed with its references resolved. Parsed schemas are cached by
// ID, so after the first call for an ID this makes at most the SchemaByID visibility check.
func (r *Registry) Resolved(ctx context.Context, id int) (Resolved, error) {
	s, err := r.SchemaByID(ctx, id)
	if err != nil {
		return Resolved{}, err
	}
	p, err := r.parsedByID(ctx, r.db.SQL(), id)
	if err != nil {
		return Resolved{}, r.storeErr("resolving a schema", err)
	}
	return resolved(s, p), nil
}

// LiveVersion is a live subject version and the ID of its schema.
type LiveVersion struct {
	Subject  string
	Version  int
	SchemaID int
}

// LiveVersions returns every live subject version, ordered by subject and version: the index
// a payload validator keeps in memory so its hot path needs no database.
func (r *Registry) LiveVersions(ctx context.Context) ([]LiveVersion, error) {
	all, err := r.q.allVersions(ctx, r.db.SQL())
	if err != nil {
		return nil, r.storeErr("listing subject versions", err)
	}
	out := make([]LiveVersion, 0, len(all))
	for _, v := range all {
		if !v.deleted {
			out = append(out, LiveVersion{Subject: v.subject, Version: v.version, SchemaID: v.schemaID})
		}
	}
	return out, nil
}

// SubjectLiveVersions returns the live versions of one subject, ascending (none when the
// subject has no live version).
func (r *Registry) SubjectLiveVersions(ctx context.Context, subject string) ([]LiveVersion, error) {
	rows, err := r.q.subjectVersions(ctx, r.db.SQL(), subject)
	if err != nil {
		return nil, r.storeErr("reading a subject", err)
	}
	var out []LiveVersion
	for _, row := range rows {
		if !row.deleted {
			out = append(out, LiveVersion{Subject: subject, Version: row.version, SchemaID: row.schemaID})
		}
	}
	return out, nil
}

// Action names a kind of write as the audit log records it. The registry names its own writes
// here; governance names its actions with the same type (governance.Action is this type), so
// every action name is defined once.
type Action string

// The registry's writes.
const (
	// ActionSchemaRegistered: a schema version was registered (or imported).
	ActionSchemaRegistered Action = "schema.registered"
	// ActionSchemaDeleted: a version or a subject was deleted, soft or permanently.
	ActionSchemaDeleted Action = "schema.deleted"
	// ActionConfigChanged: a compatibility configuration was set or deleted.
	ActionConfigChanged Action = "config.changed"
	// ActionAccessModeChanged: an access mode (READWRITE, READONLY, IMPORT) was set or deleted.
	ActionAccessModeChanged Action = "registry_mode.changed"
)

// Change describes a committed write to the registry.
type Change struct {
	// Action is one of the registry's actions: ActionSchemaRegistered, ActionSchemaDeleted,
	// ActionConfigChanged or ActionAccessModeChanged.
	Action Action
	// Subject written ("" for the global config or mode).
	Subject string
	// Details of the write (version, schema ID, permanent, level, mode…).
	Details map[string]string
}

// detailIDReused is the Change detail ("true") of an IMPORT registration that gave the ID of a
// schema whose versions were all permanently deleted to other content.
const detailIDReused = "id_reused"

// ReusedSchemaID returns the schema ID whose stored content c replaced, 0 for none: an IMPORT
// registration reusing the ID of a schema whose versions were all permanently deleted (Confluent
// allows it; outside IMPORT IDs are never reused). Whatever keeps a schema by ID must forget
// that ID's content: Registry.OnSchemaReplaced tells it, on this replica and on the others.
func (c Change) ReusedSchemaID() int {
	if c.Action != ActionSchemaRegistered || c.Details[detailIDReused] != "true" {
		return 0
	}
	id, err := strconv.Atoi(c.Details["schema_id"])
	if err != nil {
		return 0
	}
	return id
}

// OnChange registers fn to be called after every committed write made through this Registry,
// with the context of the call that made it (so a listener can tell who did it). Other
// replicas' writes are not seen here; readers that cache subjects also refresh on a timer.
func (r *Registry) OnChange(fn func(ctx context.Context, c Change)) { r.hooks.AddChange(fn) }

// OnWrite registers fn to be called inside the transaction of every write made through this
// Registry, after the write and before the commit, with the context of the call. A non-nil
// error from fn rolls the write back and fails it (as a storage error), so what fn stores in tx
// (an audit entry) commits together with the write or not at all. fn may be called more than
// once for one write, when its transaction is tried again (a batch of registrations that runs
// again with savepoints, a serialization failure): only what the committed call stored in tx
// remains, so fn keeps no effect outside tx. fn must not use another connection for the same
// rows, and must not take the registry's write lock.
func (r *Registry) OnWrite(fn func(ctx context.Context, tx *sql.Tx, c Change) error) {
	r.hooks.AddJournal(fn)
}

// LatestVersionTime is when subject's latest live version was registered (zero for versions
// registered before schemagate recorded the time, and for a subject without live versions).
// A new version restarts the subject's clean window.
func (r *Registry) LatestVersionTime(ctx context.Context, subject string) (time.Time, error) {
	at, err := r.q.latestVersionTime(ctx, r.db.SQL(), subject)
	if err != nil {
		return time.Time{}, r.storeErr("reading a subject", err)
	}
	if at == 0 {
		return time.Time{}, nil
	}
	return time.UnixMicro(at).UTC(), nil
}

// SerializedSchemaText returns schema id as Confluent's format=serialized does: a Protobuf
// schema as the standard base64 of its FileDescriptorProto (protoschema.Schema.Serialized);
// other schemas as stored, since Confluent's Avro and JSON Schema formats ignore the format.
func (r *Registry) SerializedSchemaText(ctx context.Context, id int) (string, error) {
	res, err := r.Resolved(ctx, id)
	if err != nil {
		return "", err
	}
	return SerializedText(res), nil
}

// SerializedText is res as format=serialized returns it (see Registry.SerializedSchemaText).
func SerializedText(res Resolved) string {
	if res.Proto == nil {
		return res.Schema.Text
	}
	return res.Proto.Serialized()
}
