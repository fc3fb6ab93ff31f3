package upstream

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/schemagate/schemagate/registry"
)

// Origins of the rows of upstream_versions.
const (
	originSchemagate = "schemagate" // registered through schemagate
	originObserved   = "observed"   // found by a poll
	originBaseline   = "baseline"   // held by the upstream when schemagate was first pointed at it
)

// baselineKey is the row of upstream_versions that marks the baseline as taken (subject names
// are never empty).
var baselineKey = versionKey{"", 0}

// index is what the polls know of the upstream's live versions.
type index struct {
	live map[string]map[int]int // subject → version → schema ID
	// seen holds the live versions not known to be in upstream_versions: when they were first
	// seen, and in which poll.
	seen map[versionKey]sighting
	// recorded holds the rows of upstream_versions known to this process (schema IDs by
	// version); loaded is false until the first poll that reached the store read them.
	recorded map[versionKey]int
	loaded   bool
	gen      uint64 // polls started
}

// sighting is the first sighting of a version.
type sighting struct {
	id  int
	at  time.Time
	gen uint64 // the poll under way (or the last one) then
}

func newIndex() index {
	return index{live: map[string]map[int]int{}, seen: map[versionKey]sighting{}, recorded: map[versionKey]int{}}
}

// Run polls the upstream every PollInterval until ctx is done. Failures are logged (once per
// outage) and reported by Degraded.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
				r.log.Debug("upstream registry poll failed", "error", err)
			}
		}
	}
}

// Sync polls the upstream once: GET /subjects, each subject's versions, and each version not
// known yet; it updates the index, drops cached versions that are gone, and records in the
// store the versions seen for the second time (see Registry). A poll that does not reach the
// upstream leaves the index as it was and makes the Registry degraded.
func (r *Registry) Sync(ctx context.Context) error {
	r.mu.Lock()
	r.idx.gen++
	gen := r.idx.gen
	r.mu.Unlock()
	var subjects []string
	err := r.c.call(ctx, "subjects", http.MethodGet, "/subjects", nil, &subjects)
	var changed []registry.Change
	if err == nil {
		changed, err = r.refreshAll(ctx, subjects)
	}
	if err != nil {
		r.setDegraded(err)
		return err
	}
	r.setDegraded(nil)
	for _, c := range changed {
		r.hooks.Notify(ctx, c)
	}
	recorded, err := r.record(ctx, gen)
	for _, c := range recorded {
		r.hooks.Notify(ctx, c)
	}
	if err != nil {
		r.log.Error("upstream registry: recording the versions seen failed; the next poll retries", "error", err)
		return fmt.Errorf("%w: record the upstream's versions: %w", registry.ErrStore, err)
	}
	return nil
}

// setDegraded records the outcome of a poll (err nil: it succeeded).
func (r *Registry) setDegraded(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil && r.degraded.reason == "":
		r.degraded = degradation{reason: "the last poll of the upstream registry failed: " + err.Error(), since: r.clock()}
		r.log.Warn("upstream registry poll failed: serving from the cache", "error", err)
	case err != nil:
		r.degraded.reason = "the last poll of the upstream registry failed: " + err.Error()
	case r.degraded.reason != "":
		r.log.Info("upstream registry reachable again", "degraded_since", r.degraded.since)
		r.degraded = degradation{}
	}
}

// refreshAll refreshes every subject of subjects, and drops the indexed subjects no longer
// listed; it returns a change per subject whose live versions changed.
func (r *Registry) refreshAll(ctx context.Context, subjects []string) ([]registry.Change, error) {
	var changed []registry.Change
	listed := map[string]bool{}
	for _, s := range subjects {
		listed[s] = true
		_, c, err := r.refreshSubject(ctx, s)
		if err != nil {
			return nil, err
		}
		if c != nil {
			changed = append(changed, *c)
		}
	}
	r.mu.Lock()
	var gone []string
	for s := range r.idx.live {
		if !listed[s] {
			gone = append(gone, s)
		}
	}
	r.mu.Unlock()
	sort.Strings(gone)
	for _, s := range gone {
		if c := r.setLive(s, nil); c != nil {
			changed = append(changed, *c)
		}
	}
	return changed, nil
}

// refreshSubject reads subject's live versions from the upstream (and each version not in the
// index) and puts them in the index. The change is nil when nothing changed.
func (r *Registry) refreshSubject(ctx context.Context, subject string) ([]registry.LiveVersion, *registry.Change, error) {
	var versions []int
	err := r.c.call(ctx, "versions", http.MethodGet, subjectPath(subject)+"/versions", nil, &versions)
	if errors.Is(err, registry.ErrSubjectNotFound) {
		versions, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	known := r.idx.live[subject]
	r.mu.Unlock()
	live := map[int]int{}
	for _, v := range versions {
		if id, ok := known[v]; ok {
			live[v] = id
			continue
		}
		sv, err := r.SubjectVersion(ctx, subject, v, false)
		if errors.Is(err, registry.ErrVersionNotFound) || errors.Is(err, registry.ErrSubjectNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, nil, err
		}
		live[v] = sv.Schema.ID
	}
	c := r.setLive(subject, live)
	return liveList(subject, live), c, nil
}

// setLive replaces subject's live versions in the index (nil or empty: none), forgets what is
// cached of the versions gone, and notes the first sighting of the new ones. It returns the
// change when there was one.
func (r *Registry) setLive(subject string, live map[int]int) *registry.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.idx.live[subject]
	added, removed := 0, 0
	for v, id := range old {
		if nid, ok := live[v]; ok && nid == id {
			continue
		}
		removed++
		key := versionKey{subject, v}
		delete(r.versions, key)
		delete(r.idx.seen, key)
		delete(r.ofSchema, id)
	}
	for v, id := range live {
		if oid, ok := old[v]; ok && oid == id {
			continue
		}
		added++
		r.noteSightingLocked(versionKey{subject, v}, id)
	}
	if len(live) == 0 {
		delete(r.idx.live, subject)
	} else {
		r.idx.live[subject] = live
	}
	switch {
	case added > 0:
		return &registry.Change{Action: registry.ActionSchemaRegistered, Subject: subject, Details: map[string]string{"observed": "true"}}
	case removed > 0:
		return &registry.Change{Action: registry.ActionSchemaDeleted, Subject: subject, Details: map[string]string{"observed": "true"}}
	}
	return nil
}

// noteSightingLocked notes that key holds schema id, for a version not recorded yet; r.mu is
// held.
func (r *Registry) noteSightingLocked(key versionKey, id int) {
	delete(r.ofSchema, id)
	if rid, ok := r.idx.recorded[key]; ok && rid == id {
		return
	}
	if s, ok := r.idx.seen[key]; !ok || s.id != id {
		r.idx.seen[key] = sighting{id: id, at: r.clock(), gen: r.idx.gen}
	}
}

// liveList is a subject's live versions, ascending.
func liveList(subject string, live map[int]int) []registry.LiveVersion {
	out := make([]registry.LiveVersion, 0, len(live))
	for v, id := range live {
		out = append(out, registry.LiveVersion{Subject: subject, Version: v, SchemaID: id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// LiveVersions returns every live subject version the index holds, ordered by subject and
// version, without calling the upstream.
func (r *Registry) LiveVersions(context.Context) ([]registry.LiveVersion, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	subjects := make([]string, 0, len(r.idx.live))
	for s := range r.idx.live {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	var out []registry.LiveVersion
	for _, s := range subjects {
		out = append(out, liveList(s, r.idx.live[s])...)
	}
	return out, nil
}

// SubjectLiveVersions reads subject's live versions from the upstream at once (the validation
// engine calls it on a miss: a subject or version it does not know) and updates the index;
// concurrent calls for one subject share one read. When the upstream is unreachable, the
// index answers for a subject it holds.
func (r *Registry) SubjectLiveVersions(ctx context.Context, subject string) ([]registry.LiveVersion, error) {
	live, err := r.subjectFlight.do(ctx, subject, func(ctx context.Context) ([]registry.LiveVersion, error) {
		live, _, err := r.refreshSubject(ctx, subject)
		return live, err
	})
	if err == nil || !errors.Is(err, ErrUnavailable) {
		return live, err
	}
	r.mu.Lock()
	known, ok := r.idx.live[subject]
	r.mu.Unlock()
	if !ok {
		return nil, neverFetched(fmt.Sprintf("subject %q", subject), err)
	}
	return liveList(subject, known), nil
}

// LatestVersionTime is when subject's latest live version was first seen: registered through
// schemagate or observed in the upstream (the zero time for the baseline, and for a subject
// without live versions).
func (r *Registry) LatestVersionTime(ctx context.Context, subject string) (time.Time, error) {
	r.mu.Lock()
	latest := 0
	for v := range r.idx.live[subject] {
		latest = max(latest, v)
	}
	s, pending := r.idx.seen[versionKey{subject, latest}]
	r.mu.Unlock()
	if latest == 0 {
		return time.Time{}, nil
	}
	var seenUs int64
	err := r.db.SQL().QueryRowContext(ctx, r.db.Dialect().Rebind(
		`SELECT seen_us FROM upstream_versions WHERE subject = ? AND version = ?`), subject, latest).Scan(&seenUs)
	switch {
	case errors.Is(err, sql.ErrNoRows) && pending:
		return s.at.UTC(), nil
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("%w: read when %q/%d was first seen: %w", registry.ErrStore, subject, latest, err)
	case seenUs == 0:
		return time.Time{}, nil
	}
	return time.UnixMicro(seenUs).UTC(), nil
}

// record stores in upstream_versions what poll gen saw: the whole index as the baseline when
// the store has none yet, else each version seen in an earlier poll and still absent (or
// holding another schema: a number reused after a permanent delete), with the OnWrite hooks.
// It returns the changes recorded.
func (r *Registry) record(ctx context.Context, gen uint64) ([]registry.Change, error) {
	r.recordMu.Lock()
	defer r.recordMu.Unlock()
	if err := r.loadRecorded(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	_, baselined := r.idx.recorded[baselineKey]
	pending := make(map[versionKey]sighting, len(r.idx.seen))
	for k, s := range r.idx.seen {
		pending[k] = s
	}
	r.mu.Unlock()
	if !baselined {
		return nil, r.recordBaseline(ctx, pending)
	}
	keys := make([]versionKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].subject < keys[j].subject || keys[i].subject == keys[j].subject && keys[i].version < keys[j].version
	})
	var changes []registry.Change
	for _, k := range keys {
		c, err := r.recordObserved(ctx, k, pending[k], gen)
		if err != nil {
			return changes, err
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	return changes, nil
}

// loadRecorded reads upstream_versions into the index once.
func (r *Registry) loadRecorded(ctx context.Context) error {
	r.mu.Lock()
	loaded := r.idx.loaded
	r.mu.Unlock()
	if loaded {
		return nil
	}
	rows, err := r.db.SQL().QueryContext(ctx, `SELECT subject, version, schema_id FROM upstream_versions`)
	if err != nil {
		return err
	}
	defer rows.Close()
	recorded := map[versionKey]int{}
	for rows.Next() {
		var k versionKey
		var id int
		if err := rows.Scan(&k.subject, &k.version, &id); err != nil {
			return err
		}
		recorded[k] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, id := range recorded {
		r.markRecordedLocked(k, id)
	}
	r.idx.loaded = true
	return nil
}

// markRecordedLocked notes that upstream_versions holds key with schema id; r.mu is held.
func (r *Registry) markRecordedLocked(k versionKey, id int) {
	r.idx.recorded[k] = id
	if s, ok := r.idx.seen[k]; ok && s.id == id {
		delete(r.idx.seen, k)
	}
}

// recordBaseline records every version of pending (the whole index of a first poll) as the
// baseline, and the baseline's mark, in one transaction without hooks.
func (r *Registry) recordBaseline(ctx context.Context, pending map[versionKey]sighting) error {
	pending[baselineKey] = sighting{}
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		for k, s := range pending {
			if _, err := r.insertVersion(ctx, tx, k, s.id, 0, originBaseline); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, s := range pending {
		r.markRecordedLocked(k, s.id)
	}
	return nil
}

// recordObserved records k, first seen as s, if it was seen before poll gen and upstream_versions
// does not hold it (another replica may have recorded it, with its principal); the OnWrite
// hooks run in the same transaction. It returns the change when this call recorded it.
func (r *Registry) recordObserved(ctx context.Context, k versionKey, s sighting, gen uint64) (*registry.Change, error) {
	var change *registry.Change
	recordedID := 0
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		var id int
		err := tx.QueryRowContext(ctx, r.db.Dialect().Rebind(
			`SELECT schema_id FROM upstream_versions WHERE subject = ? AND version = ?`), k.subject, k.version).Scan(&id)
		found := err == nil
		switch {
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		case found && id == s.id:
			recordedID = id // recorded elsewhere
			return nil
		case s.gen >= gen:
			return nil // first sighting: give a replica that registered it time to record it
		}
		var inserted bool
		if found { // a version number reused after a permanent delete
			inserted, err = execOne(ctx, tx, r.db.Dialect().Rebind(
				`UPDATE upstream_versions SET schema_id = ?, seen_us = ?, origin = ? WHERE subject = ? AND version = ? AND schema_id = ?`),
				s.id, s.at.UnixMicro(), originObserved, k.subject, k.version, id)
		} else {
			inserted, err = r.insertVersion(ctx, tx, k, s.id, s.at.UnixMicro(), originObserved)
		}
		if err != nil || !inserted {
			return err
		}
		c := registry.Change{Action: registry.ActionSchemaRegistered, Subject: k.subject, Details: map[string]string{
			"observed": "true", "version": strconv.Itoa(k.version), "schema_id": strconv.Itoa(s.id)}}
		if err := r.hooks.Journal(ctx, tx, c); err != nil {
			return err
		}
		change, recordedID = &c, s.id
		return nil
	})
	if err != nil {
		change = nil
		return nil, err
	}
	if recordedID != 0 {
		r.mu.Lock()
		r.markRecordedLocked(k, recordedID)
		r.mu.Unlock()
	}
	return change, nil
}

// insertVersion inserts a row of upstream_versions unless it exists, and reports whether it
// did.
func (r *Registry) insertVersion(ctx context.Context, tx *sql.Tx, k versionKey, id int, seenUs int64, origin string) (bool, error) {
	return execOne(ctx, tx, r.db.Dialect().Rebind(
		`INSERT INTO upstream_versions (subject, version, schema_id, seen_us, origin) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (subject, version) DO NOTHING`), k.subject, k.version, id, seenUs, origin)
}

// execOne runs a statement and reports whether it changed a row.
func execOne(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
