package gateway

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/governance/notify"
	"github.com/schemagate/schemagate/validate"
)

// runbookURL is where the alerts' runbook sections live.
const runbookURL = "https://github.com/schemagate/schemagate/blob/main/docs/operations/runbook.md"

// alerting raises Schema Drift alerts directly (Alertmanager, Slack, PagerDuty) and keeps the
// subject owners that label them. Raising is a deduplicating map update; delivery happens on
// the notifier's own goroutines, never on the validation path.
type alerting struct {
	notifier *notify.Notifier
	owners   atomic.Pointer[map[string]governance.Owner]

	drills       *prometheus.CounterVec
	flushes      *prometheus.CounterVec
	autoRollback *prometheus.CounterVec
	ownerInfo    *prometheus.GaugeVec
}

func newAlerting(cfg AlertingConfig, reg prometheus.Registerer, g *Gateway) (*alerting, error) {
	n, err := notify.New(notify.Options{
		AlertmanagerURL: cfg.AlertmanagerURL, SlackWebhookURL: cfg.SlackWebhookURL,
		PagerDutyRoutingKey: cfg.PagerDutyRoutingKey, PagerDutyURL: cfg.PagerDutyURL,
		Registerer: reg, Logger: g.log,
	})
	if err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	a := &alerting{
		notifier: n,
		drills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_drift_drills_total", Help: "Staged drift drills (schemagate drift inject); never counted as findings.",
		}, []string{"subject", "kind"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_evidence_flushes_total", Help: "Evidence flushes to the store by result (ok, error).",
		}, []string{"result"}),
		autoRollback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_auto_rollbacks_total", Help: "Strict subjects demoted to canary by the automatic rollback.",
		}, []string{"subject"}),
		ownerInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "schemagate_subject_owner_info", Help: "1 for each subject with a registered owner: its team and escalation entry.",
		}, []string{"subject", "team", "escalation"}),
	}
	for _, c := range []prometheus.Collector{a.drills, a.flushes, a.autoRollback, a.ownerInfo} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register alerting metrics: %w", err)
		}
	}
	// Present from the start, so "errors and no ok" rules see both series.
	a.flushes.WithLabelValues("ok")
	a.flushes.WithLabelValues("error")
	empty := map[string]governance.Owner{}
	a.owners.Store(&empty)
	g.background = append(g.background, func(ctx context.Context) {
		if err := n.Run(ctx); err != nil {
			g.log.Error("alert delivery stopped", "error", err)
		}
	})
	return a, nil
}

// onFlush counts an evidence flush.
func (a *alerting) onFlush(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	a.flushes.WithLabelValues(result).Inc()
}

// setOwners replaces the owners that label alerts and the owner info metric.
func (a *alerting) setOwners(owners []governance.Owner) {
	m := make(map[string]governance.Owner, len(owners))
	a.ownerInfo.Reset()
	for _, o := range owners {
		m[o.Subject] = o
		a.ownerInfo.WithLabelValues(o.Subject, o.Team, o.Escalation).Set(1)
	}
	a.owners.Store(&m)
}

// owner returns subject's team ("unowned" when none) and escalation entry.
func (a *alerting) owner(subject string) (team, escalation string) {
	if o, ok := (*a.owners.Load())[subject]; ok {
		return o.Team, o.Escalation
	}
	return "unowned", ""
}

// drift raises the Schema Drift alert of one finding kind: SchemaDrift (critical, pages) on a
// strict subject, SchemaDriftCanary (warning) on a canary one. stale_schema_version is drift
// but not invalid, and pages nobody.
func (a *alerting) drift(subject string, mode governance.Mode, kind validate.Kind, message string) {
	if kind == validate.KindStaleSchemaVersion {
		return
	}
	name, severity, anchor := "SchemaDriftCanary", "warning", "schemadriftcanary"
	if mode == governance.ModeStrict {
		name, severity, anchor = "SchemaDrift", "critical", "schemadrift"
	}
	team, esc := a.owner(subject)
	a.notifier.Raise(notify.Alert{
		Name: name, Subject: subject, Kind: string(kind), Severity: severity, Team: team, Escalation: esc,
		Summary:     fmt.Sprintf("Schema drift (%s) on %s subject %s", kind, mode, subject),
		Description: message, RunbookURL: runbookURL + "#" + anchor,
	})
}

// drill raises the staged drill alert with the severity a real finding would have.
func (a *alerting) drill(subject string, mode governance.Mode, kind string) (name, severity string) {
	severity = "warning"
	if mode == governance.ModeStrict {
		severity = "critical"
	}
	team, esc := a.owner(subject)
	a.drills.WithLabelValues(subject, kind).Inc()
	a.notifier.Raise(notify.Alert{
		Name: "SchemaDriftDrill", Subject: subject, Kind: kind, Severity: severity, Team: team, Escalation: esc, Drill: true,
		Summary:     fmt.Sprintf("DRILL: staged schema drift (%s) on %s subject %s", kind, mode, subject),
		Description: "A staged drill (schemagate drift inject) to confirm alert routing. Not a real violation.",
		RunbookURL:  runbookURL + "#schemadriftdrill",
	})
	return "SchemaDriftDrill", severity
}

// rolledBack raises the automatic rollback alert.
func (a *alerting) rolledBack(e governance.Entry) {
	a.autoRollback.WithLabelValues(e.Subject).Inc()
	team, esc := a.owner(e.Subject)
	a.notifier.Raise(notify.Alert{
		Name: "SchemaGateAutoRollback", Subject: e.Subject, Severity: "critical", Team: team, Escalation: esc,
		Summary:     "Subject " + e.Subject + " was rolled back to canary automatically",
		Description: e.Reason, RunbookURL: runbookURL + "#schemagateautorollback",
	})
}
