package governance

import (
	"fmt"
	"sync/atomic"

	"github.com/schemagate/schemagate/governance/notify"
	"github.com/schemagate/schemagate/validate"
)

// runbookURL is where the alerts' runbook sections live.
const runbookURL = "https://github.com/schemagate/schemagate/blob/main/docs/operations/runbook.md"

// The alerts governance raises itself (the rules in docs/operations/alerts raise the others
// from metrics).
const (
	// AlertSchemaDrift: a finding on a strict subject; it pages.
	AlertSchemaDrift = "SchemaDrift"
	// AlertSchemaDriftCanary: a finding on a canary subject; it opens a ticket.
	AlertSchemaDriftCanary = "SchemaDriftCanary"
	// AlertSchemaDriftDrill: a staged drill (schemagate drift inject), never a real finding.
	AlertSchemaDriftDrill = "SchemaDriftDrill"
	// AlertAutoRollback: a strict subject was demoted to canary by the automatic rollback.
	AlertAutoRollback = "SchemaGateAutoRollback"
)

// alerts is the alert policy: which alert a finding, a drill or an automatic rollback raises,
// at which severity, labelled with the subject's owner. Raising is a deduplicating map update;
// delivery happens on the notifier's own goroutines, never on the validation path.
type alerts struct {
	notifier *notify.Notifier
	owners   atomic.Pointer[map[string]Owner]
}

func newAlerts(n *notify.Notifier) *alerts {
	a := &alerts{notifier: n}
	a.setOwners(nil)
	return a
}

// setOwners replaces the owners that label alerts.
func (a *alerts) setOwners(owners []Owner) {
	m := make(map[string]Owner, len(owners))
	for _, o := range owners {
		m[o.Subject] = o
	}
	a.owners.Store(&m)
}

// owner returns subject's team ("unowned" when none) and escalation entry.
func (a *alerts) owner(subject string) (team, escalation string) {
	if o, ok := (*a.owners.Load())[subject]; ok {
		return o.Team, o.Escalation
	}
	return "unowned", ""
}

// driftSeverity is the severity of drift on a subject in mode: a strict subject's pages.
func driftSeverity(mode ValidationMode) notify.Severity {
	if mode == ModeStrict {
		return notify.SeverityCritical
	}
	return notify.SeverityWarning
}

// drift raises the Schema Drift alert of one finding: SchemaDrift (critical, pages) on a
// strict subject, SchemaDriftCanary (warning) on a canary one. stale_schema_version is drift
// but not invalid, and pages nobody.
func (a *alerts) drift(subject string, mode ValidationMode, f validate.Finding) {
	if f.Kind == validate.KindStaleSchemaVersion {
		return
	}
	name, anchor := AlertSchemaDriftCanary, "schemadriftcanary"
	if mode == ModeStrict {
		name, anchor = AlertSchemaDrift, "schemadrift"
	}
	team, esc := a.owner(subject)
	a.notifier.Raise(notify.Alert{
		Name: name, Subject: subject, Kind: f.Kind.String(), Severity: driftSeverity(mode), Team: team, Escalation: esc,
		Summary:     fmt.Sprintf("Schema drift (%s) on %s subject %s", f.Kind, mode, subject),
		Description: f.Message, RunbookURL: runbookURL + "#" + anchor,
	})
}

// drill raises the staged drill alert with the severity a real finding would have, and returns
// the alert's name and severity.
func (a *alerts) drill(subject string, mode ValidationMode, kind validate.Kind) (name string, severity notify.Severity) {
	team, esc := a.owner(subject)
	severity = driftSeverity(mode)
	a.notifier.Raise(notify.Alert{
		Name: AlertSchemaDriftDrill, Subject: subject, Kind: kind.String(), Severity: severity, Team: team, Escalation: esc, Drill: true,
		Summary:     fmt.Sprintf("DRILL: staged schema drift (%s) on %s subject %s", kind, mode, subject),
		Description: "A staged drill (schemagate drift inject) to confirm alert routing. Not a real violation.",
		RunbookURL:  runbookURL + "#schemadriftdrill",
	})
	return AlertSchemaDriftDrill, severity
}

// rolledBack raises the automatic rollback alert.
func (a *alerts) rolledBack(e Entry) {
	team, esc := a.owner(e.Subject)
	a.notifier.Raise(notify.Alert{
		Name: AlertAutoRollback, Subject: e.Subject, Severity: notify.SeverityCritical, Team: team, Escalation: esc,
		Summary:     "Subject " + e.Subject + " was rolled back to canary automatically",
		Description: e.Reason, RunbookURL: runbookURL + "#schemagateautorollback",
	})
}
