package governance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/validate"
)

// Defaults of [EvidenceOptions].
const (
	// DefaultEvidenceBucket is the default EvidenceOptions.Bucket (governance.evidence_bucket).
	DefaultEvidenceBucket = 5 * time.Minute
	// DefaultFlushInterval is the default EvidenceOptions.FlushInterval.
	DefaultFlushInterval = 5 * time.Second
	// DefaultMaxSamples is the default EvidenceOptions.MaxSamples.
	DefaultMaxSamples = 1000
	// DefaultMaxHeldBuckets is the default EvidenceOptions.MaxHeldBuckets: a week of 5-minute
	// buckets.
	DefaultMaxHeldBuckets = 2016
	// shutdownFlushTimeout bounds the last flush of [Evidence.Run].
	shutdownFlushTimeout = 5 * time.Second
	// maxReplicaBytes is the column width of replica.
	maxReplicaBytes = 255
	// maxPrincipalBytes is the column width of principal.
	maxPrincipalBytes = 255
)

// EvidenceOptions configure [NewEvidence].
type EvidenceOptions struct {
	// DB is where evidence is kept. Required.
	DB *store.DB
	// Replica names this gateway process among those sharing DB, e.g. hostname and pid; at
	// most 255 bytes. Required. Two processes must not share a name while both run, or their
	// heartbeats vouch for each other.
	Replica string
	// Bucket is the width of the time buckets evidence is stored in, a whole number of
	// seconds (config key governance.evidence_bucket). Default 5m.
	Bucket time.Duration
	// FlushInterval is how often [Evidence.Run] flushes; a crash loses at most this much
	// evidence. Default 5s.
	FlushInterval time.Duration
	// Clock tells the time. Default time.Now; tests inject their own. It must be safe for
	// concurrent use: Record calls it when it is given samples.
	Clock func() time.Time
	// Logger receives flush failures. Default: discard.
	Logger *slog.Logger
	// OnFlush, when set, is called after every flush Run makes with its error (nil on
	// success), for a flush-health metric.
	OnFlush func(err error)
	// MaxSamples bounds the drift sample entries (subject, kind, path) held in memory between
	// flushes, across all subjects. Findings for new entries beyond it are counted in
	// [Evidence.DroppedSamples] and not sampled; counters are never dropped. Default 1000.
	MaxSamples int
	// MaxHeldBuckets bounds the heartbeats held in memory while flushes fail (one per bucket
	// of the outage). Beyond it the oldest are dropped and counted in [Evidence.Lost]: their
	// buckets then count as downtime, which only lengthens a clean window. Default 2016.
	MaxHeldBuckets int
}

// Evidence counts validations per subject in memory and flushes the counts to the store in time
// buckets, per replica, together with drift samples and a heartbeat that says this replica was
// recording in the bucket. It is the clean-window evidence of DESIGN.md.
//
// [Evidence.Record] is the hot path: it takes no lock shared across subjects and does not touch
// the database. [Evidence.Flush] (run every FlushInterval by [Evidence.Run]) moves the counts to
// the store in one transaction; if it fails they go back into memory for the next flush, so
// nothing is lost or counted twice. A crash loses what was recorded since the last flush, never
// a stored bucket.
//
// Counts are stored in the bucket of the flush that stores them, not of the Record call: the
// hot path does not read the clock. Counts recorded just before a bucket boundary can therefore
// land in the next bucket, and counts held back by failing flushes land in the bucket of the
// first flush that succeeds. Evidence moves later, never earlier, so a violation can only start
// a clean window later than it happened, which is the safe side. Heartbeats are kept for every
// bucket in which a flush was attempted, so a replica that recorded through a database outage
// still vouches for those buckets once the evidence is stored.
type Evidence struct {
	db            *store.DB
	replica       string
	bucket        time.Duration
	flushInterval time.Duration
	clock         func() time.Time
	log           *slog.Logger
	flushHook     func(error)
	maxSamples    int64
	maxBeats      int

	subjects    sync.Map // subject string → *subjectState; entries are never removed
	sampleCount atomic.Int64
	dropped     atomic.Int64
	lostBeats   atomic.Int64

	// flushMu serialises flushes, and lets DriftReport see no evidence in flight.
	flushMu sync.Mutex
	// beats are the heartbeats not stored yet: bucket start → last seen, unix seconds.
	// Guarded by flushMu.
	beats map[int64]int64
}

// subjectState is one subject's evidence since the last flush. The counters are atomics so that
// Record on different subjects shares nothing and Record on one subject takes no lock.
//
// Validations are counted per principal only: the subject's count is their sum, taken at flush,
// so that a validation costs one counter, as it did before principals were recorded.
type subjectState struct {
	violations atomic.Int64
	// lastViolation is when the latest violation was recorded, unix microseconds (0: none
	// yet). It only grows and is not swapped out by a flush: Record sets it before counting
	// the violation, so whatever flush stores a violation also sees a time at least as late.
	lastViolation atomic.Int64
	findings      [validate.NumKinds]atomic.Int64

	// lastPrincipal is the counter of the principal seen last, so that a run of validations
	// from one caller takes no lock.
	lastPrincipal atomic.Pointer[principalCount]

	mu         sync.Mutex // guards samples and principals
	samples    map[sampleKey]*sampleEntry
	principals map[string]*principalCount // by name; "" counts validations without a principal
}

// principalCount counts one principal's validations of a subject between flushes.
type principalCount struct {
	name string
	n    atomic.Int64
}

// countPrincipal counts one validation by the principal name.
func (st *subjectState) countPrincipal(name string) {
	if pc := st.lastPrincipal.Load(); pc != nil && pc.name == name {
		pc.n.Add(1)
		return
	}
	st.mu.Lock()
	pc := st.principals[name]
	if pc == nil {
		if st.principals == nil {
			st.principals = make(map[string]*principalCount)
		}
		pc = &principalCount{name: strings.Clone(name)}
		st.principals[pc.name] = pc
	}
	st.mu.Unlock()
	st.lastPrincipal.Store(pc)
	pc.n.Add(1)
}

// takePrincipals swaps the principals' counts out, the non-zero ones by name, and returns them
// with their sum: the subject's validations.
func (st *subjectState) takePrincipals() (map[string]int64, int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out map[string]int64
	var sum int64
	for name, pc := range st.principals {
		if n := pc.n.Swap(0); n != 0 {
			if out == nil {
				out = make(map[string]int64)
			}
			out[name] = n
			sum += n
		}
	}
	return out, sum
}

// restorePrincipals adds the counts of a failed flush back.
func (st *subjectState) restorePrincipals(counts map[string]int64) {
	if len(counts) == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for name, n := range counts {
		pc := st.principals[name] // takePrincipals only returns names it found
		pc.n.Add(n)
	}
}

// NewEvidence returns an Evidence with opts, failing when a required option is missing.
func NewEvidence(opts EvidenceOptions) (*Evidence, error) {
	if opts.DB == nil {
		return nil, errors.New("governance: NewEvidence: DB is required")
	}
	if opts.Replica == "" {
		return nil, errors.New("governance: NewEvidence: Replica is required")
	}
	if len(opts.Replica) > maxReplicaBytes || sanitizeText(opts.Replica, maxReplicaBytes) != opts.Replica {
		return nil, fmt.Errorf("governance: NewEvidence: Replica %q must be valid UTF-8 of at most %d bytes", opts.Replica, maxReplicaBytes)
	}
	if opts.Bucket == 0 {
		opts.Bucket = DefaultEvidenceBucket
	}
	if opts.Bucket < time.Second || opts.Bucket%time.Second != 0 {
		return nil, fmt.Errorf("governance: NewEvidence: Bucket %v must be a whole number of seconds", opts.Bucket)
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.FlushInterval < 0 {
		return nil, fmt.Errorf("governance: NewEvidence: FlushInterval %v must be positive", opts.FlushInterval)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxSamples == 0 {
		opts.MaxSamples = DefaultMaxSamples
	}
	if opts.MaxSamples < 0 {
		return nil, fmt.Errorf("governance: NewEvidence: MaxSamples %d must be positive", opts.MaxSamples)
	}
	if opts.MaxHeldBuckets == 0 {
		opts.MaxHeldBuckets = DefaultMaxHeldBuckets
	}
	if opts.MaxHeldBuckets < 0 {
		return nil, fmt.Errorf("governance: NewEvidence: MaxHeldBuckets %d must be positive", opts.MaxHeldBuckets)
	}
	return &Evidence{
		db:            opts.DB,
		replica:       opts.Replica,
		bucket:        opts.Bucket,
		flushInterval: opts.FlushInterval,
		clock:         opts.Clock,
		flushHook:     opts.OnFlush,
		log:           opts.Logger,
		maxSamples:    int64(opts.MaxSamples),
		maxBeats:      opts.MaxHeldBuckets,
		beats:         make(map[int64]int64),
	}, nil
}

// state returns subject's state, creating it on first use.
func (e *Evidence) state(subject string) *subjectState {
	if v, ok := e.subjects.Load(subject); ok {
		return v.(*subjectState)
	}
	v, _ := e.subjects.LoadOrStore(strings.Clone(subject), new(subjectState))
	return v.(*subjectState)
}

// Record counts one validation of a payload for subject, sent by principal (the caller's name;
// "" counts no principal), with its findings: the payload is a violation when a finding makes it
// invalid (validate.Invalid: a payload with only stale_schema_version findings is valid), each
// finding is counted under its drift kind (an unknown kind as other), and a drift sample is kept
// of each (see recordSamples), with payload (may be nil). Only a payload with findings reads the
// clock: for the drift samples' times and the time of a violation, which is stored with the
// bucket (evidence_buckets.last_violation_us) so that a status can name it. Record is safe for concurrent use,
// never touches the database, and for a subject and principal seen before without findings it
// does not allocate. It keeps no reference to findings or payload.
func (e *Evidence) Record(subject, principal string, findings []validate.Finding, payload []byte) {
	st := e.state(subject)
	// Flush swaps these out in the reverse order, so a flush never stores a violation or a
	// finding without the validation it belongs to.
	st.countPrincipal(principal)
	if len(findings) == 0 {
		return // the common path: no clock read, no lock
	}
	now := e.clock().UTC()
	if validate.Invalid(findings) {
		st.noteViolation(now.UnixMicro())
		st.violations.Add(1)
	}
	for _, f := range findings {
		st.findings[f.Kind.Index()].Add(1)
	}
	e.recordSamples(st, findings, payload, now)
}

// noteViolation raises st's last violation time to us (unix microseconds).
func (st *subjectState) noteViolation(us int64) {
	for {
		old := st.lastViolation.Load()
		if us <= old || st.lastViolation.CompareAndSwap(old, us) {
			return
		}
	}
}

// DroppedSamples returns how many findings were not sampled since the Evidence was made, because
// MaxSamples entries were already held in memory.
func (e *Evidence) DroppedSamples() int64 { return e.dropped.Load() }

// LostHeartbeats returns how many bucket heartbeats were dropped since the Evidence was made,
// because flushes kept failing for more than MaxHeldBuckets buckets.
func (e *Evidence) LostHeartbeats() int64 { return e.lostBeats.Load() }

// Replica returns the replica name evidence is stored under.
func (e *Evidence) Replica() string { return e.replica }

// bucketOf returns the start of t's bucket, in unix seconds.
func (e *Evidence) bucketOf(t time.Time) int64 {
	return t.UTC().Truncate(e.bucket).Unix()
}

// Run flushes every FlushInterval until ctx is done, then flushes once more with a fresh
// context of at most 5s (shutdown), and returns that last flush's error. Failed periodic
// flushes are logged and retried by the next one; their counts stay in memory meanwhile.
func (e *Evidence) Run(ctx context.Context) error {
	t := time.NewTicker(e.flushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownFlushTimeout)
			defer cancel()
			err := e.flush(fctx, true)
			e.onFlush(err)
			if err != nil {
				e.log.Error("governance: last evidence flush failed; evidence since the previous flush is lost",
					"replica", e.replica, "err", err)
				return err
			}
			return nil
		case <-t.C:
			err := e.Flush(ctx)
			if ctx.Err() == nil {
				e.onFlush(err)
			}
			if err != nil && ctx.Err() == nil {
				e.log.Warn("governance: evidence flush failed; keeping the counts for the next flush",
					"replica", e.replica, "err", err)
			}
		}
	}
}

func (e *Evidence) onFlush(err error) {
	if e.flushHook != nil {
		e.flushHook(err)
	}
}

// subjectBatch is what one flush takes out of one subject's state.
type subjectBatch struct {
	subject     string
	st          *subjectState
	validations int64
	violations  int64
	findings    [validate.NumKinds]int64
	// lastViolation is the subject's latest violation time known at the swap, unix
	// microseconds; it is stored only with a batch that holds violations.
	lastViolation int64
	samples       map[sampleKey]*sampleEntry
	principals    map[string]int64 // validations by principal; their sum is validations
}

func (b *subjectBatch) empty() bool {
	if b.validations != 0 || b.violations != 0 || len(b.samples) != 0 {
		return false
	}
	for _, n := range b.findings {
		if n != 0 {
			return false
		}
	}
	return true
}

// Flush adds the counts and drift samples recorded since the last flush to the store, in the
// bucket of the current time, with a heartbeat for this replica, all in one transaction. It
// writes the heartbeat even when nothing was recorded. If the transaction fails, the counts and
// samples go back into memory and the heartbeats are kept, for the next flush.
//
// A commit whose outcome is unknown (the connection broke after COMMIT was sent) is treated as
// failed, so its counts could be stored twice; SQLite does not have that case.
func (e *Evidence) Flush(ctx context.Context) error {
	return e.flush(ctx, false)
}

// flush is Flush; stopping also marks the replica stopped, for the last flush at shutdown.
func (e *Evidence) flush(ctx context.Context, stopping bool) error {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	// now is read before the counts are swapped out, so every validation answered before it is
	// in this flush: the replica's stored last_seen_us vouches for that (see Covering).
	now := e.clock().UTC()
	bucket := e.bucketOf(now)
	if last, ok := e.beats[bucket]; !ok || now.Unix() > last {
		e.beats[bucket] = now.Unix()
	}
	e.boundBeats()
	batch := e.swapOut()
	err := e.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := e.write(ctx, tx, bucket, batch); err != nil {
			return err
		}
		return e.writeReplica(ctx, tx, now, stopping)
	})
	if err != nil {
		e.putBack(batch)
		return storeErr("flushing evidence", err)
	}
	e.releaseSamples(batch)
	clear(e.beats)
	return nil
}

// boundBeats drops the oldest held heartbeats beyond maxBeats, counting them lost. Called with
// flushMu held.
func (e *Evidence) boundBeats() {
	for len(e.beats) > e.maxBeats {
		oldest := int64(math.MaxInt64)
		for start := range e.beats {
			oldest = min(oldest, start)
		}
		delete(e.beats, oldest)
		e.lostBeats.Add(1)
	}
}

// swapOut takes every subject's counts and samples out of memory.
func (e *Evidence) swapOut() []subjectBatch {
	var batch []subjectBatch
	e.subjects.Range(func(k, v any) bool {
		st := v.(*subjectState)
		b := subjectBatch{subject: k.(string), st: st}
		for i := range st.findings {
			b.findings[i] = st.findings[i].Swap(0)
		}
		b.violations = st.violations.Swap(0)
		b.lastViolation = st.lastViolation.Load() // after the violations: see subjectState
		b.principals, b.validations = st.takePrincipals()
		b.samples = e.takeSamples(st)
		if !b.empty() {
			batch = append(batch, b)
		}
		return true
	})
	return batch
}

// putBack returns a failed flush's batch to memory.
func (e *Evidence) putBack(batch []subjectBatch) {
	for _, b := range batch {
		b.st.violations.Add(b.violations)
		for i, n := range b.findings {
			b.st.findings[i].Add(n)
		}
		b.st.restorePrincipals(b.principals)
		e.restoreSamples(b.st, b.samples)
	}
}

// The upserts add to existing rows. Columns of the target table are qualified with its name:
// PostgreSQL would find an unqualified one ambiguous next to excluded.
var (
	upsertBucketSQL    = buildUpsertBucket()
	upsertPrincipalSQL = `INSERT INTO evidence_principals (subject, bucket_start, principal, validations) VALUES (?, ?, ?, ?)
ON CONFLICT (subject, bucket_start, principal) DO UPDATE SET
    validations = evidence_principals.validations + excluded.validations`
	upsertReplicaSQL = `INSERT INTO evidence_replicas (replica, last_seen_us, stopped_us) VALUES (?, ?, ?)
ON CONFLICT (replica) DO UPDATE SET
    last_seen_us = CASE WHEN excluded.last_seen_us > evidence_replicas.last_seen_us
        THEN excluded.last_seen_us ELSE evidence_replicas.last_seen_us END,
    stopped_us = excluded.stopped_us`
	upsertHeartbeatSQL = `INSERT INTO evidence_heartbeats (bucket_start, replica, last_seen) VALUES (?, ?, ?)
ON CONFLICT (bucket_start, replica) DO UPDATE SET
    last_seen = CASE WHEN excluded.last_seen > evidence_heartbeats.last_seen
        THEN excluded.last_seen ELSE evidence_heartbeats.last_seen END`
)

// evidenceColumns are the counter columns of evidence_buckets: validations, violations, then
// one column per drift kind, named after it, in validate.Kinds order.
func evidenceColumns() []string {
	cols := []string{"validations", "violations"}
	for _, k := range validate.Kinds() {
		cols = append(cols, k.String())
	}
	return cols
}

func buildUpsertBucket() string {
	cols := evidenceColumns()
	var b strings.Builder
	b.WriteString("INSERT INTO evidence_buckets (subject, bucket_start, replica, ")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(", last_violation_us) VALUES (?, ?, ?")
	b.WriteString(strings.Repeat(", ?", len(cols)+1))
	b.WriteString(")\nON CONFLICT (subject, bucket_start, replica) DO UPDATE SET")
	for _, c := range cols {
		fmt.Fprintf(&b, "\n    %s = evidence_buckets.%s + excluded.%s,", c, c, c)
	}
	b.WriteString(`
    last_violation_us = CASE WHEN excluded.last_violation_us > evidence_buckets.last_violation_us
        THEN excluded.last_violation_us ELSE evidence_buckets.last_violation_us END`)
	return b.String()
}

// write stores a batch and the pending heartbeats in tx.
func (e *Evidence) write(ctx context.Context, tx *sql.Tx, bucket int64, batch []subjectBatch) error {
	d := e.db.Dialect()
	if len(batch) > 0 {
		stmt, err := tx.PrepareContext(ctx, d.Rebind(upsertBucketSQL))
		if err != nil {
			return fmt.Errorf("prepare evidence upsert: %w", err)
		}
		defer stmt.Close()
		args := make([]any, 0, 6+validate.NumKinds)
		for _, b := range batch {
			if b.validations == 0 && b.violations == 0 && b.findings == [validate.NumKinds]int64{} {
				continue // samples only
			}
			args = append(args[:0], sanitizeText(b.subject, registry.MaxSubjectBytes), bucket, e.replica,
				b.validations, b.violations)
			for _, n := range b.findings {
				args = append(args, n)
			}
			var lastViolation int64
			if b.violations > 0 {
				lastViolation = b.lastViolation
			}
			args = append(args, lastViolation)
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("store evidence of %q: %w", b.subject, err)
			}
		}
		if err := e.writePrincipals(ctx, tx, bucket, batch); err != nil {
			return err
		}
		if err := e.writeSamples(ctx, tx, batch); err != nil {
			return err
		}
	}
	for start, seen := range e.beats {
		if _, err := tx.ExecContext(ctx, d.Rebind(upsertHeartbeatSQL), start, e.replica, seen); err != nil {
			return fmt.Errorf("store heartbeat: %w", err)
		}
	}
	return nil
}

// writePrincipals stores the batch's validation counts per principal in bucket.
func (e *Evidence) writePrincipals(ctx context.Context, tx *sql.Tx, bucket int64, batch []subjectBatch) error {
	for _, b := range batch {
		for name, n := range b.principals {
			if name == "" {
				continue // validations without a principal: counted in evidence_buckets only
			}
			if _, err := tx.ExecContext(ctx, e.db.Dialect().Rebind(upsertPrincipalSQL),
				sanitizeText(b.subject, registry.MaxSubjectBytes), bucket, sanitizeText(name, maxPrincipalBytes), n); err != nil {
				return fmt.Errorf("store the principals of %q: %w", b.subject, err)
			}
		}
	}
	return nil
}

// writeReplica records that this replica's evidence up to now is stored, and whether it stopped.
func (e *Evidence) writeReplica(ctx context.Context, tx *sql.Tx, now time.Time, stopping bool) error {
	var stopped int64
	if stopping {
		stopped = now.UnixMicro()
	}
	if _, err := tx.ExecContext(ctx, e.db.Dialect().Rebind(upsertReplicaSQL), e.replica, now.UnixMicro(), stopped); err != nil {
		return fmt.Errorf("store the replica's heartbeat: %w", err)
	}
	return nil
}

// Bucket is the evidence of one time bucket for one subject, summed over replicas.
type Bucket struct {
	// Start is when the bucket begins (UTC).
	Start time.Time
	// Validations counts payloads validated; Violations those that were invalid.
	Validations, Violations int64
	// Findings counts findings per drift kind; kinds without findings are absent.
	Findings map[validate.Kind]int64
	// Principals counts validations per principal who sent them; nil when none were recorded
	// (evidence stored before principals were).
	Principals map[string]int64
	// LastViolation is when the latest of the Violations was recorded, by the recording
	// replica's clock. It can be before Start: counts land in the bucket of the flush that
	// stores them. Zero when there are no violations, or when one of them was stored without
	// its time (before migration 0008, or by an older replica).
	LastViolation time.Time
}

// Buckets returns subject's stored evidence in the buckets that start at or after since, summed
// over replicas, oldest first. Counts not flushed yet are not included.
func (e *Evidence) Buckets(ctx context.Context, subject string, since time.Time) ([]Bucket, error) {
	var q strings.Builder
	// PostgreSQL's SUM of BIGINT is NUMERIC; cast it back.
	q.WriteString("SELECT bucket_start")
	for _, c := range evidenceColumns() {
		fmt.Fprintf(&q, ", CAST(SUM(%s) AS BIGINT)", c)
	}
	// The latest violation time, unless a row holds violations without one: that violation
	// may be the latest.
	q.WriteString(`, CASE WHEN MAX(CASE WHEN violations > 0 AND last_violation_us = 0 THEN 1 ELSE 0 END) = 1
    THEN 0 ELSE MAX(CASE WHEN violations > 0 THEN last_violation_us ELSE 0 END) END`)
	q.WriteString(" FROM evidence_buckets WHERE subject = ? AND bucket_start >= ? GROUP BY bucket_start ORDER BY bucket_start")
	rows, err := e.db.SQL().QueryContext(ctx, e.db.Dialect().Rebind(q.String()), subject, since.UTC().Unix())
	if err != nil {
		return nil, storeErr("reading the evidence of "+strconv.Quote(subject), err)
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		var (
			start, lastViolation int64
			b                    Bucket
			findings             [validate.NumKinds]int64
		)
		dest := []any{&start, &b.Validations, &b.Violations}
		for i := range findings {
			dest = append(dest, &findings[i])
		}
		dest = append(dest, &lastViolation)
		if err := rows.Scan(dest...); err != nil {
			return nil, storeErr("reading the evidence of "+strconv.Quote(subject), err)
		}
		b.Start = time.Unix(start, 0).UTC()
		if lastViolation != 0 {
			b.LastViolation = time.UnixMicro(lastViolation).UTC()
		}
		for i, n := range findings {
			if n != 0 {
				if b.Findings == nil {
					b.Findings = make(map[validate.Kind]int64)
				}
				b.Findings[validate.Kinds()[i]] = n
			}
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("reading the evidence of "+strconv.Quote(subject), err)
	}
	if err := e.addPrincipals(ctx, subject, since, out); err != nil {
		return nil, err
	}
	return out, nil
}

// addPrincipals fills the Principals of buckets (subject's, oldest first, from since).
func (e *Evidence) addPrincipals(ctx context.Context, subject string, since time.Time, buckets []Bucket) error {
	rows, err := e.db.SQL().QueryContext(ctx, e.db.Dialect().Rebind(
		`SELECT bucket_start, principal, validations FROM evidence_principals WHERE subject = ? AND bucket_start >= ?`),
		subject, since.UTC().Unix())
	if err != nil {
		return storeErr("reading the principals of "+strconv.Quote(subject), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			start int64
			name  string
			n     int64
		)
		if err := rows.Scan(&start, &name, &n); err != nil {
			return storeErr("reading the principals of "+strconv.Quote(subject), err)
		}
		t := time.Unix(start, 0).UTC()
		i, found := slices.BinarySearchFunc(buckets, t, func(b Bucket, t time.Time) int { return b.Start.Compare(t) })
		if !found {
			continue // written in the same transaction as its bucket: only a hand edit gets here
		}
		if buckets[i].Principals == nil {
			buckets[i].Principals = make(map[string]int64)
		}
		buckets[i].Principals[name] += n
	}
	if err := rows.Err(); err != nil {
		return storeErr("reading the principals of "+strconv.Quote(subject), err)
	}
	return nil
}

// ReplicaState is what the store knows of one replica's evidence.
type ReplicaState struct {
	// Name is the replica's name (EvidenceOptions.Replica).
	Name string
	// LastSeen is the clock reading before its latest stored flush: every validation it
	// answered before LastSeen is in the store.
	LastSeen time.Time
	// Stopped is when it shut down after its last flush; zero while it runs (or if it crashed).
	Stopped time.Time
}

// Replicas returns every replica that ever stored evidence in the store, by name.
func (e *Evidence) Replicas(ctx context.Context) ([]ReplicaState, error) {
	rows, err := e.db.SQL().QueryContext(ctx, `SELECT replica, last_seen_us, stopped_us FROM evidence_replicas ORDER BY replica`)
	if err != nil {
		return nil, storeErr("reading the replicas", err)
	}
	defer rows.Close()
	var out []ReplicaState
	for rows.Next() {
		var r ReplicaState
		var seen, stopped int64
		if err := rows.Scan(&r.Name, &seen, &stopped); err != nil {
			return nil, storeErr("reading the replicas", err)
		}
		r.LastSeen = time.UnixMicro(seen).UTC()
		if stopped != 0 {
			r.Stopped = time.UnixMicro(stopped).UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("reading the replicas", err)
	}
	return out, nil
}

// Heartbeats returns the starts (UTC) of the stored buckets, starting at or after since, in
// which any replica was recording, oldest first. A bucket without a heartbeat is downtime.
func (e *Evidence) Heartbeats(ctx context.Context, since time.Time) ([]time.Time, error) {
	rows, err := e.db.SQL().QueryContext(ctx, e.db.Dialect().Rebind(
		`SELECT DISTINCT bucket_start FROM evidence_heartbeats WHERE bucket_start >= ? ORDER BY bucket_start`),
		since.UTC().Unix())
	if err != nil {
		return nil, storeErr("reading heartbeats", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var start int64
		if err := rows.Scan(&start); err != nil {
			return nil, storeErr("reading heartbeats", err)
		}
		out = append(out, time.Unix(start, 0).UTC())
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("reading heartbeats", err)
	}
	return out, nil
}
