package crash_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/validate"
)

// storeState is the whole store as read directly from the database while no server runs.
type storeState struct {
	versions   map[svKey]versionRow
	schemas    map[int]schemaRow
	counter    int // id_counters.schema_id: the highest schema ID handed out
	entries    []governance.Entry
	verify     governance.VerifyResult
	headSeq    int64
	headHash   string
	configs    map[string]string // subject → compatibility
	regModes   map[string]string // subject → registry mode
	valModes   map[string]string // subject → validation mode
	owners     map[string]string // subject → team
	promotions map[string]promotionRow
	evidence   []evidenceRow // ordered by subject, replica, bucket
	heartbeats map[beatKey]int64
	samples    []sampleRow
}

type versionRow struct {
	ID      int
	Deleted bool
}

type schemaRow struct {
	Fingerprint, Canonical string
}

type promotionRow struct {
	Subject, State string
}

// kindColumns are the finding columns of evidence_buckets, in the order evidenceRow.Findings
// holds them (a fixed table, never modified).
var kindColumns = func() (cols []string) {
	for _, k := range validate.Kinds() {
		cols = append(cols, k.String())
	}
	return cols
}()

type evidenceRow struct {
	Subject     string
	Bucket      int64
	Replica     string
	Validations int64
	Violations  int64
	Findings    []int64 // per kindColumns
}

type beatKey struct {
	bucket  int64
	replica string
}

type sampleRow struct {
	Subject, Kind, Path string
	Occurrences         int64
	FirstSeen, LastSeen int64
}

// readStore reads every table the checks look at, and verifies the audit chain with the
// setup's HMAC key. store.Open applies no migration to a store the gateway already migrated;
// the checks only read.
func readStore(t *testing.T, set *setup) *storeState {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, set.storageURL)
	if err != nil {
		t.Fatalf("open the store after the crash: %v", err)
	}
	defer db.Close()
	st := &storeState{
		versions: map[svKey]versionRow{}, schemas: map[int]schemaRow{}, configs: map[string]string{},
		regModes: map[string]string{}, valModes: map[string]string{}, owners: map[string]string{},
		promotions: map[string]promotionRow{}, heartbeats: map[beatKey]int64{},
	}
	q := func(query string, scan func(*sql.Rows) error) {
		t.Helper()
		if err := queryRows(ctx, db.SQL(), query, scan); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	q(`SELECT subject, version, schema_id, deleted FROM subject_versions`, func(rows *sql.Rows) error {
		var k svKey
		var v versionRow
		var deleted int
		err := rows.Scan(&k.subject, &k.version, &v.ID, &deleted)
		v.Deleted = deleted != 0
		st.versions[k] = v
		return err
	})
	q(`SELECT id, fingerprint, canonical FROM schemas`, func(rows *sql.Rows) error {
		var id int
		var s schemaRow
		err := rows.Scan(&id, &s.Fingerprint, &s.Canonical)
		st.schemas[id] = s
		return err
	})
	q(`SELECT value FROM id_counters WHERE name = 'schema_id'`, func(rows *sql.Rows) error {
		return rows.Scan(&st.counter)
	})
	q(`SELECT seq, hash FROM audit_head WHERE id = 1`, func(rows *sql.Rows) error {
		return rows.Scan(&st.headSeq, &st.headHash)
	})
	q(`SELECT subject, compatibility FROM subject_configs`, func(rows *sql.Rows) error {
		var subject string
		var level sql.NullString
		err := rows.Scan(&subject, &level)
		st.configs[subject] = level.String
		return err
	})
	q(`SELECT subject, mode FROM subject_modes`, scanPair(st.regModes))
	q(`SELECT subject, mode FROM subject_validation_modes`, scanPair(st.valModes))
	q(`SELECT subject, team FROM subject_owners`, scanPair(st.owners))
	q(`SELECT id, subject, state FROM promotions`, func(rows *sql.Rows) error {
		var id string
		var p promotionRow
		err := rows.Scan(&id, &p.Subject, &p.State)
		st.promotions[id] = p
		return err
	})
	q(`SELECT subject, bucket_start, replica, validations, violations, `+strings.Join(kindColumns, ", ")+
		` FROM evidence_buckets ORDER BY subject, replica, bucket_start`, func(rows *sql.Rows) error {
		r := evidenceRow{Findings: make([]int64, len(kindColumns))}
		dest := []any{&r.Subject, &r.Bucket, &r.Replica, &r.Validations, &r.Violations}
		for i := range r.Findings {
			dest = append(dest, &r.Findings[i])
		}
		err := rows.Scan(dest...)
		st.evidence = append(st.evidence, r)
		return err
	})
	q(`SELECT bucket_start, replica, last_seen FROM evidence_heartbeats`, func(rows *sql.Rows) error {
		var k beatKey
		var seen int64
		err := rows.Scan(&k.bucket, &k.replica, &seen)
		st.heartbeats[k] = seen
		return err
	})
	q(`SELECT subject, kind, path, occurrences, first_seen, last_seen FROM drift_samples`, func(rows *sql.Rows) error {
		var s sampleRow
		err := rows.Scan(&s.Subject, &s.Kind, &s.Path, &s.Occurrences, &s.FirstSeen, &s.LastSeen)
		st.samples = append(st.samples, s)
		return err
	})

	audit, err := governance.NewAudit(db, governance.AuditOptions{HMACKey: set.key})
	if err != nil {
		t.Fatal(err)
	}
	if st.entries, err = audit.All(ctx); err != nil {
		t.Fatalf("read the audit log: %v", err)
	}
	if st.verify, err = audit.Verify(ctx); err != nil {
		t.Fatalf("verify the audit log: %v", err)
	}
	return st
}

func queryRows(ctx context.Context, db *sql.DB, query string, scan func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func scanPair(into map[string]string) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		var k, v string
		err := rows.Scan(&k, &v)
		into[k] = v
		return err
	}
}

// subjectVersions returns each subject's version numbers, ascending.
func (st *storeState) subjectVersions() map[string][]int {
	out := map[string][]int{}
	for k := range st.versions {
		out[k.subject] = append(out[k.subject], k.version)
	}
	for _, vs := range out {
		slices.Sort(vs)
	}
	return out
}

// validationMode is subject's stored validation mode (canary, the default, without a row).
func (st *storeState) validationMode(subject string) string {
	if m, ok := st.valModes[subject]; ok {
		return m
	}
	return "canary"
}

func (st *storeState) summary() string {
	var validations, violations int64
	for _, r := range st.evidence {
		validations += r.Validations
		violations += r.Violations
	}
	return fmt.Sprintf("%d versions in %d subjects, %d schemas, %d audit entries (chain intact: %v), %d promotions, evidence %d validations / %d violations in %d rows",
		len(st.versions), len(st.subjectVersions()), len(st.schemas), len(st.entries), st.verify.OK, len(st.promotions), validations, violations, len(st.evidence))
}
