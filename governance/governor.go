package governance

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
)

// DefaultTicketPattern is governance.ticket_pattern's default.
const DefaultTicketPattern = `^[A-Z][A-Z0-9]+-[0-9]+$`

// SystemActor is the actor of automatic actions.
const SystemActor = "system"

// Actor is who takes a governance action: a principal's name and the role it acts in.
type Actor struct {
	Name, Role string
}

// VersionClock tells when a subject's latest live schema version was registered (zero when
// unknown); a new version restarts the clean window.
type VersionClock interface {
	LatestVersionTime(ctx context.Context, subject string) (time.Time, error)
}

// GovernorOptions configures a Governor. DB, Modes, Evidence, Audit and Versions are required.
type GovernorOptions struct {
	DB       *store.DB
	Modes    *Modes
	Evidence *Evidence
	Audit    *Audit
	Versions VersionClock
	// Policy is the clean-window rule (defaults: 48h, 1000 validations).
	Policy Policy
	// BucketWidth is governance.evidence_bucket (default 5m).
	BucketWidth time.Duration
	// ReplicaTimeout is how long a replica that stopped reporting evidence still holds up
	// promotions (governance.replica_timeout, default 2m); see awaitCoverage.
	ReplicaTimeout time.Duration
	// TicketPattern is governance.ticket_pattern (default DefaultTicketPattern).
	TicketPattern string
	// RequireApproval false promotes a subject as soon as it is eligible (governance.require_approval,
	// default true). NoApproval is its negation, so the zero value requires approval.
	NoApproval bool
	// AutoRequest opens a promotion request as SystemActor when a subject becomes eligible
	// (governance.auto_request).
	AutoRequest bool
	// AutoTicket is the ticket automatic requests and promotions cite (governance.auto_ticket).
	AutoTicket string
	// AutoRollback, when Ratio is above zero, demotes a strict subject to canary by itself
	// (actor SystemActor) once more than Ratio of its validations in the last Period were
	// rejected, over at least MinValidations validations (governance.auto_rollback_*). Off by
	// default.
	AutoRollback AutoRollback
	// DocPath is where the governance document is written after every action
	// (governance.doc_path); empty: not written.
	DocPath string
	// TicketURL links tickets in the document (governance.ticket_url).
	TicketURL string
	// Clock is the injected clock (default time.Now).
	Clock func() time.Time
	// Logger is optional.
	Logger *slog.Logger
}

// AutoRollback is the automatic demotion rule of GovernorOptions.
type AutoRollback struct {
	Ratio          float64
	Period         time.Duration // default 5m
	MinValidations int64         // default 100
}

// Governor runs the promotion workflow: evidence-gated requests, two-person approval,
// rejection, rollback and the break-glass override. Every action and its audit entry commit in
// one transaction (if the entry cannot be written, nothing changes), and the governance
// document is rewritten afterwards.
type Governor struct {
	opts   GovernorOptions
	ticket *regexp.Regexp
	clock  func() time.Time
	log    *slog.Logger
	// docMu orders document rewrites: each one renders the log and renames its file while
	// holding it, so an older rendering never replaces a newer one.
	docMu sync.Mutex
}

// NewGovernor returns a Governor.
func NewGovernor(opts GovernorOptions) (*Governor, error) {
	if opts.DB == nil || opts.Modes == nil || opts.Evidence == nil || opts.Audit == nil || opts.Versions == nil {
		return nil, errors.New("governance: NewGovernor: DB, Modes, Evidence, Audit and Versions are required")
	}
	if opts.TicketPattern == "" {
		opts.TicketPattern = DefaultTicketPattern
	}
	re, err := regexp.Compile(opts.TicketPattern)
	if err != nil {
		return nil, fmt.Errorf("governance: ticket pattern: %w", err)
	}
	if opts.BucketWidth <= 0 {
		opts.BucketWidth = DefaultEvidenceBucket
	}
	if opts.ReplicaTimeout <= 0 {
		opts.ReplicaTimeout = DefaultReplicaTimeout
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Policy = opts.Policy.WithDefaults()
	if opts.AutoRollback.Period <= 0 {
		opts.AutoRollback.Period = 5 * time.Minute
	}
	if opts.AutoRollback.MinValidations <= 0 {
		opts.AutoRollback.MinValidations = 100
	}
	if opts.DocPath != "" {
		if err := removeStaleDocumentTemps(opts.DocPath, opts.Clock()); err != nil {
			opts.Logger.Warn("stale governance document temp files not removed", "path", opts.DocPath, "error", err)
		}
	}
	return &Governor{opts: opts, ticket: re, clock: opts.Clock, log: opts.Logger}, nil
}

// Promotion is a request to move a subject to strict.
type Promotion struct {
	ID, Subject, State          string // State: pending, approved, rejected
	Ticket, Requester, Approver string
	Reason, Comment             string
	Evidence                    EvidenceSnapshot
	Created, Decided            time.Time
}

// Promotion states.
const (
	StatePending  = "pending"
	StateApproved = "approved"
	StateRejected = "rejected"
)

// Status is a subject's governance state.
type Status struct {
	Subject   string
	Mode      ValidationMode
	ModeSince time.Time
	Assessment
	Pending *Promotion
}

// Status reports subject's mode, evidence and eligibility from the store.
func (g *Governor) Status(ctx context.Context, subject string) (Status, error) {
	if subject == "" {
		return Status{}, fmt.Errorf("%w: subject is required", ErrBadRequest)
	}
	mode, since, err := g.opts.Modes.ModeSince(ctx, subject)
	if err != nil {
		return Status{}, err
	}
	a, err := g.assess(ctx, subject, since)
	if err != nil {
		return Status{}, err
	}
	st := Status{Subject: subject, Mode: mode, ModeSince: since, Assessment: a}
	if mode == ModeStrict {
		st.Eligible, st.Reasons = false, []string{"already strict"}
	}
	p, err := g.pending(ctx, g.opts.DB.SQL(), subject)
	if err != nil {
		return Status{}, err
	}
	st.Pending = p
	return st, nil
}

// assess reads the facts of subject's window from the store.
func (g *Governor) assess(ctx context.Context, subject string, canarySince time.Time) (Assessment, error) {
	now := g.clock().UTC()
	last, err := g.opts.Versions.LatestVersionTime(ctx, subject)
	if err != nil {
		return Assessment{}, storeErr("reading the last version of "+strconv.Quote(subject), err)
	}
	since := now.Add(-g.opts.Policy.CleanWindow - 24*time.Hour) // enough history to find the window
	for _, t := range []time.Time{canarySince, last} {
		if !t.IsZero() && t.Before(since) {
			since = t
		}
	}
	since = since.Truncate(g.opts.BucketWidth)
	buckets, err := g.opts.Evidence.Buckets(ctx, subject, since)
	if err != nil {
		return Assessment{}, err
	}
	beats, err := g.opts.Evidence.Heartbeats(ctx, since)
	if err != nil {
		return Assessment{}, err
	}
	start := canarySince
	if start.IsZero() {
		start = since
	}
	return Assess(WindowFacts{Now: now, CanarySince: start, LastVersion: last, Buckets: buckets,
		Heartbeats: beats, BucketWidth: g.opts.BucketWidth}, g.opts.Policy), nil
}

// principalDetails records in an audit entry's details who sent the validations a decision was
// made on, as "alice (700), bob (300)"; nil when none were recorded.
func principalDetails(ps []PrincipalValidations) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%s (%d)", p.Principal, p.Validations)
	}
	return map[string]string{"principals": strings.Join(parts, ", ")}
}

func snapshotOf(a Assessment, now time.Time) EvidenceSnapshot {
	return EvidenceSnapshot{WindowStart: a.WindowStart, WindowEnd: now, Clean: a.Clean, Required: a.Required,
		Validations: a.Validations, Violations: a.Violations}
}

// Request opens a promotion request for subject, refused while the subject is not eligible or
// a request is pending, and refused without a reason ([ErrBadRequest]). With NoApproval set,
// an eligible subject is promoted at once instead.
func (g *Governor) Request(ctx context.Context, actor Actor, subject, ticket, reason string) (Promotion, error) {
	if err := checkFields(textField{"ticket", ticket, MaxTicketBytes, true}, textField{"reason", reason, MaxReasonBytes, false}); err != nil {
		return Promotion{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return Promotion{}, fmt.Errorf("%w: a promotion request needs a reason", ErrBadRequest)
	}
	if err := g.opts.Audit.Intact(); err != nil {
		return Promotion{}, err
	}
	if !g.ticket.MatchString(ticket) {
		return Promotion{}, fmt.Errorf("%w %q: it must match %s", ErrBadTicket, ticket, g.ticket)
	}
	if err := g.requireLive(ctx, subject); err != nil {
		return Promotion{}, err
	}
	if g.opts.NoApproval {
		// The request promotes at once: decide it on evidence from every replica.
		if err := g.awaitCoverage(ctx, g.clock().UTC()); err != nil {
			return Promotion{}, err
		}
	}
	st, err := g.Status(ctx, subject)
	if err != nil {
		return Promotion{}, err
	}
	if st.Mode == ModeStrict {
		return Promotion{}, fmt.Errorf("%w: %q is already strict", ErrAlreadyInMode, subject)
	}
	if st.Pending != nil {
		return Promotion{}, fmt.Errorf("%w: %s (ticket %s, requested by %s)", ErrPendingPromotion, st.Pending.ID, st.Pending.Ticket, st.Pending.Requester)
	}
	if !st.Eligible {
		return Promotion{}, fmt.Errorf("%w: %s", ErrNotEligible, strings.Join(st.Reasons, "; "))
	}
	now := g.clock().UTC()
	p := Promotion{ID: newID(), Subject: subject, State: StatePending, Ticket: ticket, Requester: actor.Name,
		Reason: reason, Evidence: snapshotOf(st.Assessment, now), Created: now}
	var apply func()
	err = g.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := g.insertPromotion(ctx, tx, p); err != nil {
			return err
		}
		ev := p.Evidence
		if _, err := g.opts.Audit.AppendTx(ctx, tx, Entry{Time: now, Actor: actor.Name, Role: actor.Role, Action: ActionPromotionRequested,
			Subject: subject, Ticket: ticket, Reason: reason, PromotionID: p.ID, Evidence: &ev}); err != nil {
			return err
		}
		if !g.opts.NoApproval {
			return nil
		}
		apply, err = g.promoteTx(ctx, tx, &p, Actor{Name: SystemActor, Role: SystemActor}, "promoted without approval (governance.require_approval is false)", now)
		return err
	})
	if err != nil {
		return Promotion{}, storeErr("requesting a promotion", err)
	}
	if apply != nil {
		apply()
	}
	g.afterAction(ctx)
	return p, nil
}

// Approve approves a pending promotion: the approver must not be its requester, and the
// subject must still have a live version (else ErrSubjectNotFound: reject the request) and be
// eligible now. The subject is strict at once.
func (g *Governor) Approve(ctx context.Context, actor Actor, id, comment string) (Promotion, Entry, error) {
	if err := checkFields(textField{"comment", comment, MaxReasonBytes, false}); err != nil {
		return Promotion{}, Entry{}, err
	}
	if err := g.opts.Audit.Intact(); err != nil {
		return Promotion{}, Entry{}, err
	}
	p, err := g.promotion(ctx, id)
	if err != nil {
		return Promotion{}, Entry{}, err
	}
	if p.State != StatePending {
		return Promotion{}, Entry{}, fmt.Errorf("%w: %s is %s", ErrNotPending, id, p.State)
	}
	if p.Requester == actor.Name {
		return Promotion{}, Entry{}, fmt.Errorf("%w: %s requested %s; another governance lead must approve it", ErrSelfApproval, actor.Name, id)
	}
	if err := g.requireLive(ctx, p.Subject); err != nil {
		return Promotion{}, Entry{}, fmt.Errorf("%w; reject %s instead", err, id)
	}
	if err := g.awaitCoverage(ctx, g.clock().UTC()); err != nil {
		return Promotion{}, Entry{}, err
	}
	st, err := g.Status(ctx, p.Subject)
	if err != nil {
		return Promotion{}, Entry{}, err
	}
	if !st.Eligible {
		return Promotion{}, Entry{}, fmt.Errorf("%w any more: %s", ErrNotEligible, strings.Join(st.Reasons, "; "))
	}
	now := g.clock().UTC()
	p.Evidence = snapshotOf(st.Assessment, now)
	p.Comment = comment
	var entry Entry
	var apply func()
	err = g.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := g.decide(ctx, tx, &p, actor, StateApproved, now); err != nil {
			return err
		}
		ev := p.Evidence
		var err error
		if entry, err = g.opts.Audit.AppendTx(ctx, tx, Entry{Time: now, Actor: actor.Name, Role: actor.Role, Action: ActionPromotionApproved,
			Subject: p.Subject, Ticket: p.Ticket, Reason: comment, PromotionID: p.ID, Evidence: &ev,
			Details: principalDetails(st.Principals)}); err != nil {
			return err
		}
		apply, err = g.promoteTx(ctx, tx, &p, actor, comment, now)
		return err
	})
	if err != nil {
		return Promotion{}, Entry{}, storeErr("approving a promotion", err)
	}
	apply()
	g.afterAction(ctx)
	return p, entry, nil
}

// promoteTx sets the subject strict and audits it, in tx.
func (g *Governor) promoteTx(ctx context.Context, tx *sql.Tx, p *Promotion, actor Actor, reason string, now time.Time) (func(), error) {
	apply, err := g.opts.Modes.SetModeTx(ctx, tx, p.Subject, ModeStrict)
	if err != nil {
		return nil, err
	}
	if p.State == StatePending { // promoted without approval
		if err := g.decide(ctx, tx, p, actor, StateApproved, now); err != nil {
			return nil, err
		}
	}
	ev := p.Evidence
	_, err = g.opts.Audit.AppendTx(ctx, tx, Entry{Time: now, Actor: actor.Name, Role: actor.Role, Action: ActionModePromoted,
		Subject: p.Subject, Ticket: p.Ticket, Reason: reason, PromotionID: p.ID, FromMode: string(ModeCanary), ToMode: string(ModeStrict), Evidence: &ev})
	return apply, err
}

// Reject rejects a pending promotion with a reason. The subject need not have a live version
// any more: rejecting is how a request for a deleted subject is cleaned up.
func (g *Governor) Reject(ctx context.Context, actor Actor, id, reason string) (Promotion, Entry, error) {
	if err := checkFields(textField{"reason", reason, MaxReasonBytes, false}); err != nil {
		return Promotion{}, Entry{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return Promotion{}, Entry{}, fmt.Errorf("%w: a rejection needs a reason", ErrBadRequest)
	}
	p, err := g.promotion(ctx, id)
	if err != nil {
		return Promotion{}, Entry{}, err
	}
	if p.State != StatePending {
		return Promotion{}, Entry{}, fmt.Errorf("%w: %s is %s", ErrNotPending, id, p.State)
	}
	now := g.clock().UTC()
	p.Comment = reason
	var entry Entry
	err = g.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := g.decide(ctx, tx, &p, actor, StateRejected, now); err != nil {
			return err
		}
		var err error
		entry, err = g.opts.Audit.AppendTx(ctx, tx, Entry{Time: now, Actor: actor.Name, Role: actor.Role, Action: ActionPromotionRejected,
			Subject: p.Subject, Ticket: p.Ticket, Reason: reason, PromotionID: p.ID})
		return err
	})
	if err != nil {
		return Promotion{}, Entry{}, storeErr("rejecting a promotion", err)
	}
	g.afterAction(ctx)
	return p, entry, nil
}

// Rollback returns a strict subject to canary at once, citing an incident; the clean window
// restarts (entering canary starts it). A reason and an incident are required
// ([ErrBadRequest]): this is the caller's rollback; the automatic one (see [Governor.Tick])
// has no incident and does not come through here. A subject without a live version is
// ErrSubjectNotFound unless it keeps a mode of its own: a subject whose versions were deleted
// while strict may be rolled back, the safe direction, so that it comes back in canary if it is
// registered again.
func (g *Governor) Rollback(ctx context.Context, actor Actor, subject, reason, incident string) (Entry, error) {
	if err := checkFields(textField{"reason", reason, MaxReasonBytes, false}, textField{"incident", incident, MaxTicketBytes, true}); err != nil {
		return Entry{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return Entry{}, fmt.Errorf("%w: a rollback needs a reason", ErrBadRequest)
	}
	if strings.TrimSpace(incident) == "" {
		return Entry{}, fmt.Errorf("%w: a rollback needs an incident", ErrBadRequest)
	}
	if err := g.requireLive(ctx, subject); errors.Is(err, ErrSubjectNotFound) {
		if _, since, err2 := g.opts.Modes.ModeSince(ctx, subject); err2 != nil {
			return Entry{}, err2
		} else if since.IsZero() { // no mode of its own
			return Entry{}, err
		}
	} else if err != nil {
		return Entry{}, err
	}
	return g.changeMode(ctx, actor, ModeCanary, Entry{Action: ActionModeRolledBack, Subject: subject, Incident: incident, Reason: reason}, true)
}

// Override sets subject's mode without evidence (break glass), with a ticket and a
// justification; it is audited as an override. The subject must have a live version.
func (g *Governor) Override(ctx context.Context, actor Actor, subject string, mode ValidationMode, ticket, justification string) (Entry, error) {
	if err := checkFields(textField{"ticket", ticket, MaxTicketBytes, true}, textField{"justification", justification, MaxReasonBytes, false}); err != nil {
		return Entry{}, err
	}
	if err := g.requireLive(ctx, subject); err != nil {
		return Entry{}, err
	}
	if !mode.Valid() {
		return Entry{}, fmt.Errorf("%w: unknown mode %q", ErrBadRequest, mode)
	}
	if !g.ticket.MatchString(ticket) {
		return Entry{}, fmt.Errorf("%w %q: it must match %s", ErrBadTicket, ticket, g.ticket)
	}
	if strings.TrimSpace(justification) == "" {
		return Entry{}, fmt.Errorf("%w: an override needs a justification", ErrBadRequest)
	}
	return g.changeMode(ctx, actor, mode, Entry{Action: ActionModeOverridden, Subject: subject, Ticket: ticket, Reason: justification}, false)
}

// changeMode sets the mode of e.Subject to to and audits it as e (its action, ticket, incident
// and reason), in one transaction; with mustChange, a subject already in that mode is refused.
func (g *Governor) changeMode(ctx context.Context, actor Actor, to ValidationMode, e Entry, mustChange bool) (Entry, error) {
	subject := e.Subject
	if subject == "" {
		return Entry{}, fmt.Errorf("%w: subject is required", ErrBadRequest)
	}
	from, _, err := g.opts.Modes.ModeSince(ctx, subject)
	if err != nil {
		return Entry{}, err
	}
	if mustChange && from == to {
		return Entry{}, fmt.Errorf("%w: %q is already %s", ErrAlreadyInMode, subject, to)
	}
	now := g.clock().UTC()
	var entry Entry
	var apply func()
	err = g.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if apply, err = g.opts.Modes.SetModeTx(ctx, tx, subject, to); err != nil {
			return err
		}
		e.Time, e.Actor, e.Role, e.FromMode, e.ToMode = now, actor.Name, actor.Role, string(from), string(to)
		entry, err = g.opts.Audit.AppendTx(ctx, tx, e)
		return err
	})
	if err != nil {
		return Entry{}, storeErr("changing a validation mode", err)
	}
	apply()
	g.afterAction(ctx)
	return entry, nil
}

// requireLive returns ErrSubjectNotFound unless subject has a live version in the registry
// (ErrBadRequest for ""). It asks the registry, not the validation engine's in-memory index
// (which another replica's deletion reaches only at its next refresh): governance actions are
// rare, and one indexed query is cheap next to what they write.
func (g *Governor) requireLive(ctx context.Context, subject string) error {
	if subject == "" {
		return fmt.Errorf("%w: subject is required", ErrBadRequest)
	}
	last, err := g.opts.Versions.LatestVersionTime(ctx, subject)
	if err != nil {
		return storeErr("reading the last version of "+strconv.Quote(subject), err)
	}
	if last.IsZero() {
		return fmt.Errorf("%w: subject %q has no live version", ErrSubjectNotFound, subject)
	}
	return nil
}

// AuditRegistryWriteTx audits c, a write to the registry (register, delete, config or access
// mode change) by actor, inside the write's own transaction (a registry OnWrite hook): the
// write and its audit entry commit together, and a failed append fails the write.
func (g *Governor) AuditRegistryWriteTx(ctx context.Context, tx *sql.Tx, actor Actor, c registry.Change) error {
	_, err := g.opts.Audit.AppendTx(ctx, tx, Entry{Time: g.clock().UTC(), Actor: actor.Name, Role: actor.Role,
		Action: c.Action, Subject: c.Subject, Details: c.Details})
	return err
}

// Document renders the governance document from the audit log, paging through it (see
// [StreamDocument]).
func (g *Governor) Document(ctx context.Context) ([]byte, error) {
	var b bytes.Buffer
	opts := DocumentOptions{TicketURL: g.opts.TicketURL, Generated: g.clock().UTC(), ChainBroken: g.opts.Audit.LastBreak()}
	if err := StreamDocument(ctx, &b, g.opts.Audit, opts); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// afterAction rewrites the governance document. A failure is logged, not returned: the
// action is committed and audited, and the document can be regenerated from the log.
func (g *Governor) afterAction(ctx context.Context) {
	if g.opts.DocPath == "" {
		return
	}
	g.docMu.Lock()
	defer g.docMu.Unlock()
	doc, err := g.Document(ctx)
	if err == nil {
		err = WriteDocument(g.opts.DocPath, doc)
	}
	if err != nil {
		g.log.Error("governance document not rewritten; run `schemagate governance doc`", "path", g.opts.DocPath, "error", err)
	}
}

// Tick is the periodic step over subjects. With AutoRequest or NoApproval, eligible canary
// subjects without a pending request get one (or are promoted) as SystemActor. With
// AutoRollback, strict subjects rejecting too much are demoted to canary. It returns the
// requests opened and the rollbacks made.
func (g *Governor) Tick(ctx context.Context, subjects []string) ([]Promotion, []Entry, error) {
	var opened []Promotion
	var rolledBack []Entry
	for _, s := range subjects {
		if g.opts.AutoRollback.Ratio > 0 && g.opts.Modes.ModeOf(s) == ModeStrict {
			e, err := g.autoRollback(ctx, s)
			if err != nil {
				return opened, rolledBack, err
			}
			if e != nil {
				rolledBack = append(rolledBack, *e)
				continue
			}
		}
		if !g.opts.AutoRequest && !g.opts.NoApproval {
			continue
		}
		if g.opts.Audit.Intact() != nil { // no automatic request or promotion while the chain is broken
			continue
		}
		st, err := g.Status(ctx, s)
		if err != nil {
			return opened, rolledBack, err
		}
		if st.Mode != ModeCanary || st.Pending != nil || !st.Eligible {
			continue
		}
		p, err := g.Request(ctx, Actor{Name: SystemActor, Role: SystemActor}, s, g.opts.AutoTicket, "opened automatically: the subject is eligible")
		if errors.Is(err, ErrSubjectNotFound) {
			continue // deleted since the registry listed it
		}
		if err != nil {
			return opened, rolledBack, err
		}
		opened = append(opened, p)
	}
	return opened, rolledBack, nil
}

// autoRollback demotes subject when its rejections in the last period exceed the ratio.
func (g *Governor) autoRollback(ctx context.Context, subject string) (*Entry, error) {
	rule := g.opts.AutoRollback
	now := g.clock().UTC()
	buckets, err := g.opts.Evidence.Buckets(ctx, subject, now.Add(-rule.Period).Truncate(g.opts.BucketWidth))
	if err != nil {
		return nil, err
	}
	var validations, violations int64
	for _, b := range buckets {
		validations += b.Validations
		violations += b.Violations
	}
	if validations < rule.MinValidations || float64(violations) <= rule.Ratio*float64(validations) {
		return nil, nil
	}
	reason := fmt.Sprintf("automatic rollback: %d of %d validations (%.1f%%) rejected since %s, above the %.1f%% threshold",
		violations, validations, 100*float64(violations)/float64(validations), now.Add(-rule.Period).Format(time.RFC3339), 100*rule.Ratio)
	e, err := g.changeMode(ctx, Actor{Name: SystemActor, Role: SystemActor}, ModeCanary, Entry{Action: ActionModeRolledBack, Subject: subject, Reason: reason}, true)
	if err != nil {
		return nil, err
	}
	g.log.Error("subject rolled back to canary automatically", "subject", subject, "reason", reason, "audit_seq", e.Seq)
	return &e, nil
}

// Promotion storage.

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "p-" + hex.EncodeToString(b)
}

func (g *Governor) insertPromotion(ctx context.Context, tx *sql.Tx, p Promotion) error {
	ev, err := json.Marshal(p.Evidence)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, g.opts.DB.Dialect().Rebind(
		`INSERT INTO promotions (id, subject, state, ticket, requester, approver, reason, comment, evidence, created_at, decided_at)
VALUES (?, ?, ?, ?, ?, '', ?, '', ?, ?, 0)`),
		p.ID, p.Subject, p.State, p.Ticket, p.Requester, p.Reason, string(ev), p.Created.UnixMicro())
	return err
}

func (g *Governor) decide(ctx context.Context, tx *sql.Tx, p *Promotion, actor Actor, state string, now time.Time) error {
	ev, err := json.Marshal(p.Evidence)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, g.opts.DB.Dialect().Rebind(
		`UPDATE promotions SET state = ?, approver = ?, comment = ?, evidence = ?, decided_at = ? WHERE id = ? AND state = ?`),
		state, actor.Name, p.Comment, string(ev), now.UnixMicro(), p.ID, StatePending)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: %s was decided meanwhile", ErrNotPending, p.ID)
	}
	p.State, p.Approver, p.Decided = state, actor.Name, now
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const promotionColumns = `id, subject, state, ticket, requester, approver, reason, comment, evidence, created_at, decided_at`

func scanPromotion(row *sql.Row) (*Promotion, error) {
	var p Promotion
	var ev string
	var created, decided int64
	if err := row.Scan(&p.ID, &p.Subject, &p.State, &p.Ticket, &p.Requester, &p.Approver, &p.Reason, &p.Comment, &ev, &created, &decided); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ev), &p.Evidence); err != nil {
		return nil, fmt.Errorf("stored evidence of %s: %w", p.ID, err)
	}
	p.Created = time.UnixMicro(created).UTC()
	if decided != 0 {
		p.Decided = time.UnixMicro(decided).UTC()
	}
	return &p, nil
}

// promotion reads one promotion by ID.
func (g *Governor) promotion(ctx context.Context, id string) (Promotion, error) {
	p, err := scanPromotion(g.opts.DB.SQL().QueryRowContext(ctx, g.opts.DB.Dialect().Rebind(
		`SELECT `+promotionColumns+` FROM promotions WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Promotion{}, fmt.Errorf("%w: %s", ErrPromotionNotFound, id)
	}
	if err != nil {
		return Promotion{}, storeErr("reading promotion "+id, err)
	}
	return *p, nil
}

// pending reads subject's pending promotion, nil when there is none.
func (g *Governor) pending(ctx context.Context, db querier, subject string) (*Promotion, error) {
	p, err := scanPromotion(db.QueryRowContext(ctx, g.opts.DB.Dialect().Rebind(
		`SELECT `+promotionColumns+` FROM promotions WHERE subject = ? AND state = ?`), subject, StatePending))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return p, storeErr("reading the pending promotion of "+strconv.Quote(subject), err)
}
