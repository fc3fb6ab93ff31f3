package governance

import (
	"context"
	"database/sql"
	"time"

	"github.com/schemagate/schemagate/governance/notify"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/validate"
)

// This file holds the gate's actions and reports, as the transport calls them. The promotion
// workflow itself is the Governor's.

// Status reports subject's mode, evidence and eligibility from the store; a subject without a
// live version is ErrSubjectNotFound.
func (g *Gate) Status(ctx context.Context, subject string) (Status, error) {
	if err := g.gov.requireLive(ctx, subject); err != nil {
		return Status{}, err
	}
	return g.gov.Status(ctx, subject)
}

// Statuses reports the status of every subject with a live version, in the registry's order.
func (g *Gate) Statuses(ctx context.Context) ([]Status, error) {
	subjects, err := g.reg.Subjects(ctx, "", false)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(subjects))
	for _, s := range subjects {
		st, err := g.gov.Status(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// defaultHistoryBuckets is how far back EvidenceHistory reads without a since, in buckets.
const defaultHistoryBuckets = 48

// EvidenceHistory is a subject's stored evidence over time, for charts.
type EvidenceHistory struct {
	// BucketWidth is governance.evidence_bucket.
	BucketWidth time.Duration
	// Since and Until are the starts of the first and the current bucket of the history.
	Since, Until time.Time
	// Buckets are the subject's buckets that hold evidence, oldest first.
	Buckets []Bucket
	// Recorded are the starts of the buckets in which some replica was recording, oldest first.
	Recorded []time.Time
	// Stale: no replica recorded in the two buckets before the current one (nor since), so the
	// subject's counts have stopped growing and its status describes the past (no replica is
	// validating, or none can reach the store).
	Stale bool
}

// staleEvidence reports whether recorded (bucket starts, oldest first) holds none at or after
// two buckets before until, the current bucket's start.
func staleEvidence(recorded []time.Time, until time.Time, width time.Duration) bool {
	return len(recorded) == 0 || recorded[len(recorded)-1].Before(until.Add(-2*width))
}

// EvidenceHistory returns subject's stored evidence in the buckets from since (zero: 48
// buckets back) to now, and the buckets any replica recorded in; a subject without a live
// version is ErrSubjectNotFound.
func (g *Gate) EvidenceHistory(ctx context.Context, subject string, since time.Time) (EvidenceHistory, error) {
	if err := g.gov.requireLive(ctx, subject); err != nil {
		return EvidenceHistory{}, err
	}
	width := g.evidence.bucket
	until := g.gov.clock().UTC().Truncate(width)
	if since.IsZero() {
		since = until.Add(-defaultHistoryBuckets * width)
	}
	since = since.UTC().Truncate(width)
	buckets, err := g.evidence.Buckets(ctx, subject, since)
	if err != nil {
		return EvidenceHistory{}, err
	}
	recorded, err := g.evidence.Heartbeats(ctx, since)
	if err != nil {
		return EvidenceHistory{}, err
	}
	return EvidenceHistory{BucketWidth: width, Since: since, Until: until, Buckets: buckets, Recorded: recorded,
		Stale: staleEvidence(recorded, until, width)}, nil
}

// Request opens a promotion request for an eligible subject; see [Governor.Request].
func (g *Gate) Request(ctx context.Context, actor Actor, subject, ticket, reason string) (Promotion, error) {
	return g.gov.Request(ctx, actor, subject, ticket, reason)
}

// Approve approves a pending promotion by a second governance lead; see [Governor.Approve].
func (g *Gate) Approve(ctx context.Context, actor Actor, id, comment string) (Promotion, Entry, error) {
	return g.gov.Approve(ctx, actor, id, comment)
}

// Reject rejects a pending promotion with a reason.
func (g *Gate) Reject(ctx context.Context, actor Actor, id, reason string) (Promotion, Entry, error) {
	return g.gov.Reject(ctx, actor, id, reason)
}

// Rollback returns a strict subject to canary at once, citing an incident, and reports its
// status afterwards.
func (g *Gate) Rollback(ctx context.Context, actor Actor, subject, reason, incident string) (Entry, Status, error) {
	e, err := g.gov.Rollback(ctx, actor, subject, reason, incident)
	if err != nil {
		return Entry{}, Status{}, err
	}
	st, err := g.gov.Status(ctx, subject)
	return e, st, err
}

// Override sets subject's mode without evidence (break glass), audited as an override, and
// reports its status afterwards.
func (g *Gate) Override(ctx context.Context, actor Actor, subject string, mode ValidationMode, ticket, justification string) (Entry, Status, error) {
	e, err := g.gov.Override(ctx, actor, subject, mode, ticket, justification)
	if err != nil {
		return Entry{}, Status{}, err
	}
	st, err := g.gov.Status(ctx, subject)
	return e, st, err
}

// AuditEntries returns the page of audit entries f selects (see [AuditFilter] and
// [Audit.Page]): bounded in count and in bytes.
func (g *Gate) AuditEntries(ctx context.Context, f AuditFilter) (AuditPage, error) {
	return g.audit.Page(ctx, f)
}

// VerifyAudit recomputes the audit chain (see [Audit.Verify]) as the periodic verification
// does: it is counted, and its verdict is what promotions are checked against, so a chain
// repaired from a backup lets them through again at once.
func (g *Gate) VerifyAudit(ctx context.Context) (VerifyResult, error) { return g.verifyChain(ctx) }

// Document renders the governance document from the audit log.
func (g *Gate) Document(ctx context.Context) ([]byte, error) { return g.gov.Document(ctx) }

// SetOwner records subject's owner, audited; alerts about the subject carry it from now on.
func (g *Gate) SetOwner(ctx context.Context, actor Actor, o Owner) (Entry, error) {
	e, err := g.gov.SetOwner(ctx, actor, o)
	if err != nil {
		return Entry{}, err
	}
	if err := g.refreshOwners(ctx); err != nil {
		g.log.Warn("owners not reloaded after a change; the next tick reloads them", "error", err)
	}
	return e, nil
}

// Owners lists every subject owner, by subject.
func (g *Gate) Owners(ctx context.Context) ([]Owner, error) { return g.gov.Owners(ctx) }

// Drill is the alert a staged drill raised.
type Drill struct {
	// Alert is the alert's name, Severity the one a real finding would have.
	Alert    string
	Severity notify.Severity
	// Entry is the drill's audit entry.
	Entry Entry
}

// DefaultDrillKind is the drift kind of a drill that names none.
const DefaultDrillKind = validate.KindTypeMismatch

// Drill stages a drift drill on subject, which must have a live version: it audits the drill
// and raises a clearly marked alert (drill="true") with the severity a real finding of kind
// (DefaultDrillKind when "") would have. A drill is never recorded as evidence.
func (g *Gate) Drill(ctx context.Context, actor Actor, subject string, kind validate.Kind) (Drill, error) {
	if err := g.gov.requireLive(ctx, subject); err != nil {
		return Drill{}, err
	}
	if kind == "" {
		kind = DefaultDrillKind
	}
	e, err := g.gov.RecordDrill(ctx, actor, subject, kind)
	if err != nil {
		return Drill{}, err
	}
	g.metrics.drills.WithLabelValues(subject, kind.String()).Inc()
	name, severity := g.alerts.drill(subject, g.modes.ModeOf(subject), kind)
	return Drill{Alert: name, Severity: severity, Entry: e}, nil
}

// DriftReport returns subject's aggregated findings, from every replica.
func (g *Gate) DriftReport(ctx context.Context, subject string) (Report, error) {
	return g.evidence.DriftReport(ctx, subject)
}

// AuditRegistryWriteTx audits c, a registry write by actor, in the write's own transaction;
// see [Governor.AuditRegistryWriteTx].
func (g *Gate) AuditRegistryWriteTx(ctx context.Context, tx *sql.Tx, actor Actor, c registry.Change) error {
	return g.gov.AuditRegistryWriteTx(ctx, tx, actor, c)
}
