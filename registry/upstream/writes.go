package upstream

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/schemagate/schemagate/registry"
)

// audit runs the OnWrite hooks on c in one store transaction, after also (nil: none) ran in
// it; also reports whether the hooks should run. It is called after the upstream accepted the
// write what: a failure says so and wraps registry.ErrStore.
func (r *Registry) audit(ctx context.Context, what string, c registry.Change, also func(tx *sql.Tx) (bool, error)) error {
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		if also != nil {
			run, err := also(tx)
			if err != nil || !run {
				return err
			}
		}
		return r.hooks.Journal(ctx, tx, c)
	})
	if err != nil {
		r.log.ErrorContext(ctx, "upstream registry write not audited", "write", what, "subject", c.Subject, "error", err)
		return fmt.Errorf("the upstream registry accepted the %s, but its audit entry could not be stored: %w: %w", what, registry.ErrStore, err)
	}
	return nil
}

// Register registers in under subject in the upstream (sent once, never retried) and returns
// the version holding it: the upstream's answer, and when it gives only the ID (Confluent
// does), one lookup for the version. A version new to schemagate is recorded (origin
// schemagate) with the OnWrite hooks in one store transaction. If that transaction fails, the
// registration stands upstream: the error says so and wraps registry.ErrStore, and the next
// poll but one records the version as observed.
func (r *Registry) Register(ctx context.Context, subject string, in registry.SchemaInput) (registry.SubjectVersion, error) {
	r.recordMu.RLock()
	defer r.recordMu.RUnlock()
	var reg Registered
	q := query{}.flag("normalize", in.Normalize).String()
	if err := r.c.call(ctx, "register", http.MethodPost, subjectPath(subject)+"/versions"+q, wireInput(in), &reg); err != nil {
		return registry.SubjectVersion{}, err
	}
	if reg.Version == 0 {
		var w wireSchema
		if err := r.c.call(ctx, "lookup", http.MethodPost, subjectPath(subject)+q, wireInput(in), &w); err != nil {
			return registry.SubjectVersion{}, fmt.Errorf("the upstream registry registered the schema as ID %d, but the lookup of its version failed: %w", reg.ID, err)
		}
		reg.Version = w.Version
	}
	w := wireInput(in)
	w.SchemaType = strings.ToUpper(string(in.Type))
	sv := registry.SubjectVersion{Subject: subject, Version: reg.Version, Schema: w.schema(reg.ID)}
	key := versionKey{subject, reg.Version}

	// Only a version recorded already is one this registration did not make. One a poll has
	// just seen (indexed, not recorded yet: the poll ran between the upstream's answer and
	// here) is this registration's, and is recorded with the caller; if another replica
	// recorded it meanwhile, the insert finds its row and no hook runs.
	r.mu.Lock()
	_, recorded := r.idx.recorded[key]
	r.mu.Unlock()
	if recorded {
		return sv, nil // the subject held the schema already: no version was made here
	}
	now := r.clock()
	c := registry.Change{Action: registry.ActionSchemaRegistered, Subject: subject, Details: map[string]string{
		"version": strconv.Itoa(reg.Version), "schema_id": strconv.Itoa(reg.ID), "type": string(sv.Schema.Type)}}
	inserted := false
	err := r.audit(ctx, fmt.Sprintf("registration (subject %q version %d, schema ID %d)", subject, reg.Version, reg.ID), c, func(tx *sql.Tx) (bool, error) {
		var err error
		inserted, err = r.insertVersion(ctx, tx, key, reg.ID, now.UnixMicro(), originSchemagate)
		return inserted, err
	})
	r.mu.Lock()
	live := maps.Clone(r.idx.live[subject])
	if live == nil {
		live = map[int]int{}
	}
	live[reg.Version] = reg.ID
	r.idx.live[subject] = live
	delete(r.ofSchema, reg.ID)
	if err == nil {
		r.markRecordedLocked(key, reg.ID)
	} else {
		r.noteSightingLocked(key, reg.ID)
	}
	r.mu.Unlock()
	if err != nil {
		return registry.SubjectVersion{}, err
	}
	if inserted {
		r.hooks.Notify(ctx, c)
	}
	return sv, nil
}

// deleteRows is the statement that forgets permanently deleted versions of a subject.
const deleteRows = `DELETE FROM upstream_versions WHERE subject = ?`

// DeleteSubject deletes subject's versions in the upstream (soft, or permanent), audits it,
// and forgets what is cached of the subject.
func (r *Registry) DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	r.recordMu.RLock()
	defer r.recordMu.RUnlock()
	var versions []int
	path := subjectPath(subject) + query{}.flag("permanent", permanent).String()
	if err := r.c.call(ctx, "delete_subject", http.MethodDelete, path, nil, &versions); err != nil {
		return nil, err
	}
	r.forget(subject, nil, permanent)
	c := registry.Change{Action: registry.ActionSchemaDeleted, Subject: subject, Details: map[string]string{
		"versions": fmt.Sprint(versions), "permanent": strconv.FormatBool(permanent)}}
	err := r.audit(ctx, fmt.Sprintf("deletion of subject %q", subject), c, func(tx *sql.Tx) (bool, error) {
		if permanent {
			_, err := tx.ExecContext(ctx, r.db.Dialect().Rebind(deleteRows), subject)
			return true, err
		}
		return true, nil
	})
	r.hooks.Notify(ctx, c)
	return versions, err
}

// DeleteVersion deletes a version of subject in the upstream (-1 the latest; soft, or
// permanent), audits it, and forgets what is cached of it.
func (r *Registry) DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error) {
	r.recordMu.RLock()
	defer r.recordMu.RUnlock()
	var deleted int
	path := versionPath(subject, version) + query{}.flag("permanent", permanent).String()
	if err := r.c.call(ctx, "delete_version", http.MethodDelete, path, nil, &deleted); err != nil {
		return 0, err
	}
	r.forget(subject, []int{deleted}, permanent)
	c := registry.Change{Action: registry.ActionSchemaDeleted, Subject: subject, Details: map[string]string{
		"versions": fmt.Sprint([]int{deleted}), "permanent": strconv.FormatBool(permanent)}}
	err := r.audit(ctx, fmt.Sprintf("deletion of version %d of subject %q", deleted, subject), c, func(tx *sql.Tx) (bool, error) {
		if permanent {
			_, err := tx.ExecContext(ctx, r.db.Dialect().Rebind(deleteRows+` AND version = ?`), subject, deleted)
			return true, err
		}
		return true, nil
	})
	r.hooks.Notify(ctx, c)
	return deleted, err
}

// forget drops versions of subject (nil: all) from the index and the caches; permanent also
// forgets that they were recorded (their numbers may be used again).
func (r *Registry) forget(subject string, versions []int, permanent bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	live := maps.Clone(r.idx.live[subject])
	gone := func(v int) bool { return versions == nil || contains(versions, v) }
	for v, id := range live {
		if gone(v) {
			delete(live, v)
			delete(r.ofSchema, id)
		}
	}
	if len(live) == 0 {
		delete(r.idx.live, subject)
	} else {
		r.idx.live[subject] = live
	}
	for k := range r.versions {
		if k.subject == subject && gone(k.version) {
			delete(r.versions, k)
		}
	}
	for k := range r.idx.seen {
		if k.subject == subject && gone(k.version) {
			delete(r.idx.seen, k)
		}
	}
	if permanent {
		for k := range r.idx.recorded {
			if k.subject == subject && gone(k.version) {
				delete(r.idx.recorded, k)
			}
		}
	}
}

// contains reports whether vs holds v.
func contains(vs []int, v int) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// SetConfig sets subject's compatibility configuration ("" for the global one) in the
// upstream, audits it and returns the upstream's answer. A JSONSchemaFormat is refused
// (registry.ErrInvalidCompatibility): the upstream keeps no such setting, so in upstream mode
// it is gateway-wide only (schema_registry.json_schema.format).
func (r *Registry) SetConfig(ctx context.Context, subject string, cfg registry.Config) (registry.Config, error) {
	if cfg.JSONSchemaFormat != "" {
		return registry.Config{}, fmt.Errorf("%w: JSON Schema format settings per subject are not available in upstream mode; "+
			"set schema_registry.json_schema.format for the whole gateway", registry.ErrInvalidCompatibility)
	}
	in := wireConfigOf(cfg)
	var out wireConfig
	if err := r.c.call(ctx, "set_config", http.MethodPut, settingPath("config", subject), in, &out); err != nil {
		return registry.Config{}, err
	}
	got := out.config()
	return got, r.auditSetting(ctx, "compatibility configuration", registry.Change{Action: registry.ActionConfigChanged, Subject: subject,
		Details: map[string]string{"compatibility": string(got.Compatibility)}})
}

// DeleteConfig removes subject's compatibility configuration ("" resets the global one) in the
// upstream, audits it and returns the upstream's answer.
func (r *Registry) DeleteConfig(ctx context.Context, subject string) (registry.Config, error) {
	var out wireConfig
	if err := r.c.call(ctx, "delete_config", http.MethodDelete, settingPath("config", subject), nil, &out); err != nil {
		return registry.Config{}, err
	}
	got := out.config()
	return got, r.auditSetting(ctx, "compatibility configuration deletion", registry.Change{Action: registry.ActionConfigChanged, Subject: subject,
		Details: map[string]string{"deleted": string(got.Compatibility)}})
}

// SetAccessMode sets subject's mode ("" for the global one) in the upstream, with Confluent's
// force, audits it and returns the upstream's answer.
func (r *Registry) SetAccessMode(ctx context.Context, subject string, m registry.AccessMode, force bool) (registry.AccessMode, error) {
	var out wireMode
	path := settingPath("mode", subject) + query{}.flag("force", force).String()
	if err := r.c.call(ctx, "set_mode", http.MethodPut, path, wireMode{Mode: string(m)}, &out); err != nil {
		return "", err
	}
	return registry.AccessMode(out.Mode), r.auditSetting(ctx, "mode", registry.Change{Action: registry.ActionAccessModeChanged, Subject: subject,
		Details: map[string]string{"mode": out.Mode}})
}

// DeleteAccessMode removes subject's mode ("" resets the global one) in the upstream, audits
// it and returns the upstream's answer.
func (r *Registry) DeleteAccessMode(ctx context.Context, subject string) (registry.AccessMode, error) {
	var out wireMode
	if err := r.c.call(ctx, "delete_mode", http.MethodDelete, settingPath("mode", subject), nil, &out); err != nil {
		return "", err
	}
	return registry.AccessMode(out.Mode), r.auditSetting(ctx, "mode deletion", registry.Change{Action: registry.ActionAccessModeChanged, Subject: subject,
		Details: map[string]string{"deleted": out.Mode}})
}

// auditSetting audits a configuration or mode write the upstream accepted, and notifies the
// listeners.
func (r *Registry) auditSetting(ctx context.Context, what string, c registry.Change) error {
	err := r.audit(ctx, what+" write", c, nil)
	r.hooks.Notify(ctx, c)
	return err
}
