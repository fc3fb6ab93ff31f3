package governance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/governance/notify"
	"github.com/schemagate/schemagate/store"
)

// Registry is what the gate needs of the schema registry: when a subject's latest live version
// was registered (a new version restarts the clean window) and which subjects there are (the
// tick walks them). *registry.Registry is one.
type Registry interface {
	VersionClock
	Subjects(ctx context.Context, prefix string, includeDeleted bool) ([]string, error)
}

// Subjects tells, from memory, which subjects have a live version; Refresh reloads what it
// knows from the registry. The validation engine (*validate.Engine) is one.
type Subjects interface {
	Known(subject string) bool
	Refresh(ctx context.Context) error
}

// AlertReceivers are where drift alerts are delivered: Alertmanager, a Slack webhook,
// PagerDuty (the configuration section alerting). The notifier is governance's own; this name
// lets its callers configure it without reaching into it.
type AlertReceivers = notify.Receivers

// Options configures [New]. DB, Registry, Subjects and Registerer are required; New fails
// without them. Every other field has the default its comment names.
type Options struct {
	// DB stores modes, evidence, promotions, owners and the audit log. Required.
	DB *store.DB
	// Registry is the schema registry whose subjects are governed. Required.
	Registry Registry
	// Subjects tells which subjects are registered, on the validation path. Required.
	Subjects Subjects
	// Registerer receives governance's metrics and the notifier's. Required.
	Registerer prometheus.Registerer
	// Config holds the governance settings. Default: DefaultConfig() (the zero Config is not
	// valid: pass DefaultConfig() with changes).
	Config Config
	// DefaultMode is the validation mode of subjects without their own
	// (schema_registry.validation_mode). Default DefaultMode, canary.
	DefaultMode ValidationMode
	// Receivers are where drift alerts are delivered (alerting.*). Default: none.
	Receivers AlertReceivers
	// Replica names this process in evidence heartbeats. Default host name and process ID.
	Replica string
	// Clock is the injected clock of windows and audit entries. Default time.Now.
	Clock func() time.Time
	// Feed carries mode changes and approvals between replicas: with it, a change made on
	// another replica is in force here as soon as its notice arrives, and the 2s mode refresh
	// timer gives way to the feed's resync. Default: none (the timer).
	Feed *store.Feed
	// Logger is optional.
	Logger *slog.Logger
}

// Timings of the gate's background work.
const (
	// tickInterval is how often automatic requests, the automatic rollback, owners and the
	// governance gauges are updated.
	tickInterval = 5 * time.Second
	// modeRefreshInterval is how soon a mode changed on another replica takes effect here.
	modeRefreshInterval = 2 * time.Second
)

// Gate is schemagate's governance: the validation modes and the canary/strict decision
// ([Gate.Decide]), clean-window evidence, promotions with two-person approval, rollback, the
// hash-chained audit log, the governance document, subject owners, the alert policy and their
// metrics. It is the one entry point the transport uses; every method is safe for concurrent
// use. Errors wrap the sentinels of errors.go.
type Gate struct {
	log      *slog.Logger
	reg      Registry
	subjects Subjects
	modes    *Modes
	evidence *Evidence
	audit    *Audit
	gov      *Governor
	notifier *notify.Notifier
	alerts   *alerts
	metrics  *metrics

	verifyInterval  time.Duration // governance.audit_verify_interval
	verifiedAtStart bool          // New's verification of the audit chain finished
}

// New builds the gate over opts.DB: it reads the modes and owners, so the gate decides with
// them from its first call, refuses an audit HMAC key the log was not written with
// ([Audit.CheckKey]) and verifies the audit chain (for at most 10s; Run finishes a longer
// one). Call [Gate.Run] to keep it up to date.
func New(ctx context.Context, opts Options) (*Gate, error) {
	if opts.DB == nil || opts.Registry == nil || opts.Subjects == nil || opts.Registerer == nil {
		return nil, errors.New("governance: New: DB, Registry, Subjects and Registerer are required")
	}
	opts = withDefaults(opts)
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	g := &Gate{log: opts.Logger, reg: opts.Registry, subjects: opts.Subjects, verifyInterval: opts.Config.AuditVerifyInterval}
	var err error
	if g.modes, err = NewModes(opts.DB, opts.DefaultMode); err != nil {
		return nil, err
	}
	g.modes.SetClock(opts.Clock)
	if opts.Feed != nil {
		g.modes.UseFeed(opts.Feed, opts.Logger)
	}
	if err := g.modes.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("validation modes: %w", err)
	}
	c := opts.Config
	if g.evidence, err = NewEvidence(EvidenceOptions{DB: opts.DB, Replica: opts.Replica, Bucket: c.EvidenceBucket,
		FlushInterval: c.EvidenceFlushInterval, Clock: opts.Clock, Logger: opts.Logger,
		MaxSamples: c.EvidenceMaxSamples, MaxHeldBuckets: c.EvidenceMaxHeldBuckets,
		OnFlush: func(err error) { g.metrics.flushed(err) }}); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if err := g.newWorkflow(ctx, opts); err != nil {
		return nil, err
	}
	if g.metrics, err = newMetrics(opts.Registerer, g.evidence, g.audit); err != nil {
		return nil, err
	}
	g.verifiedAtStart = g.verifyAtStart(ctx)
	if g.notifier, err = notify.New(notify.Options{Receivers: opts.Receivers, Registerer: opts.Registerer, Logger: opts.Logger}); err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	g.alerts = newAlerts(g.notifier)
	if err := g.refreshOwners(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// newWorkflow builds the audit log, refusing a key the log was not written with, and the
// promotion workflow.
func (g *Gate) newWorkflow(ctx context.Context, opts Options) error {
	c := opts.Config
	key, err := ReadHMACKey(c.AuditHMACKeyFile)
	if err != nil {
		return fmt.Errorf("governance.audit_hmac_key_file: %w", err)
	}
	if g.audit, err = NewAudit(opts.DB, AuditOptions{HMACKey: key, Clock: opts.Clock}); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if err := g.audit.CheckKey(ctx); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	g.gov, err = NewGovernor(GovernorOptions{
		DB: opts.DB, Modes: g.modes, Evidence: g.evidence, Audit: g.audit, Versions: opts.Registry,
		Policy:         Policy{CleanWindow: c.CleanWindow, MinValidations: c.MinValidations, MinPrincipals: c.MinPrincipals},
		ReplicaTimeout: c.ReplicaTimeout,
		BucketWidth:    c.EvidenceBucket, TicketPattern: c.TicketPattern, NoApproval: !c.RequireApproval,
		AutoRequest: c.AutoRequest, AutoTicket: c.AutoTicket, DocPath: c.DocPath, TicketURL: c.TicketURL,
		AutoRollback: AutoRollback{Ratio: c.AutoRollbackRatio, Period: c.AutoRollbackPeriod, MinValidations: c.AutoRollbackMinValidations},
		Clock:        opts.Clock, Logger: opts.Logger,
	})
	return err
}

// withDefaults fills the optional fields of opts.
func withDefaults(opts Options) Options {
	if opts.Config == (Config{}) {
		opts.Config = DefaultConfig()
	}
	if opts.DefaultMode == "" {
		opts.DefaultMode = DefaultMode
	}
	if opts.Replica == "" {
		opts.Replica = replicaName()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return opts
}

// replicaName identifies this process in evidence heartbeats: host name and process ID.
func replicaName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Run keeps the gate up to date until ctx is done: it flushes evidence every
// governance.evidence_flush_interval, reloads modes changed on other replicas every 2s, runs
// the tick (automatic requests and rollbacks, owners, the governance gauges) every 5s,
// verifies the audit chain every governance.audit_verify_interval (at once if New's
// verification did not finish) and delivers alerts. When ctx is done it flushes evidence a last time (the caller keeps the store
// open until Run returns) and returns that flush's error.
func (g *Gate) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := g.notifier.Run(ctx); err != nil {
			g.log.Error("alert delivery stopped", "error", err)
		}
	})
	wg.Go(func() {
		if g.modes.pushed() {
			return // the feed refreshes the modes
		}
		every(ctx, modeRefreshInterval, func() {
			if err := g.modes.Refresh(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("validation mode refresh failed", "error", err)
			}
		})
	})
	wg.Go(func() { every(ctx, tickInterval, func() { g.tick(ctx) }) })
	wg.Go(func() { g.runVerification(ctx) })
	err := g.evidence.Run(ctx)
	wg.Wait()
	return err
}

// SetReceivers replaces where drift alerts are delivered (alerting.*), for a configuration
// reload; an invalid set changes nothing and its error names no secret. See
// notify.Notifier.SetReceivers for what happens to alerts already queued or active.
func (g *Gate) SetReceivers(r AlertReceivers) error {
	if err := g.notifier.SetReceivers(r); err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	return nil
}

// every runs fn every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// tick is the periodic step: automatic requests and rollbacks over every subject (an automatic
// rollback raises its alert), then the owners that label alerts, then the gauges.
func (g *Gate) tick(ctx context.Context) {
	subjects, err := g.reg.Subjects(ctx, "", false)
	if err == nil {
		var rolledBack []Entry
		_, rolledBack, err = g.gov.Tick(ctx, subjects)
		for _, e := range rolledBack {
			g.metrics.autoRollbacks.WithLabelValues(e.Subject).Inc()
			g.alerts.rolledBack(e)
		}
	}
	if err == nil {
		err = g.refreshOwners(ctx)
	}
	if err == nil {
		err = g.updateGauges(ctx, subjects)
	}
	if err != nil && ctx.Err() == nil {
		g.log.Warn("governance tick failed", "error", err)
	}
}

// refreshOwners reloads the owners that label alerts and the owner info metric.
func (g *Gate) refreshOwners(ctx context.Context) error {
	owners, err := g.gov.Owners(ctx)
	if err != nil {
		return err
	}
	g.alerts.setOwners(owners)
	g.metrics.setOwners(owners)
	return nil
}

// updateGauges recomputes the clean-window gauges of subjects and the audit counts.
func (g *Gate) updateGauges(ctx context.Context, subjects []string) error {
	for _, s := range subjects {
		st, err := g.gov.Status(ctx, s)
		if err != nil {
			return err
		}
		g.metrics.setStatus(st)
	}
	counts, err := g.audit.CountByAction(ctx)
	if err != nil {
		return err
	}
	g.metrics.setAuditCounts(counts)
	return nil
}

// Modes returns the validation modes the gate decides with (tests set modes through it).
func (g *Gate) Modes() *Modes { return g.modes }
