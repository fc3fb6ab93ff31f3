package governance

import (
	"encoding/json"

	"github.com/schemagate/schemagate/validate"
)

// Outcome is what the gate did with a payload.
type Outcome int

// The outcomes.
const (
	// OutcomeValid: the payload matches its schema (stale_schema_version findings alone keep
	// it valid).
	OutcomeValid Outcome = iota + 1
	// OutcomeFlagged: the payload is invalid and was accepted, its subject being in canary.
	OutcomeFlagged
	// OutcomeRejected: the payload is invalid and was refused, its subject being strict.
	OutcomeRejected
)

// String returns the outcome's name, the outcome label of schemagate_validations_total.
func (o Outcome) String() string {
	switch o {
	case OutcomeValid:
		return "valid"
	case OutcomeFlagged:
		return "flagged"
	case OutcomeRejected:
		return "rejected"
	}
	return "unknown"
}

// Decision is the gate's answer for one payload.
type Decision struct {
	// Outcome is valid, flagged (canary) or rejected (strict).
	Outcome Outcome
	// Mode is the subject's validation mode that decided it.
	Mode ValidationMode
}

// Decide is the gate: it turns res, the validation engine's result for req, into the decision
// the subject's validation mode calls for (canary: an invalid payload is flagged and accepted;
// strict: it is rejected), counts it in the metrics, and, for a subject with a live version,
// records it as evidence sent by principal (the caller's name, see Policy.MinPrincipals), with
// a drift sample of each finding, and raises a Schema Drift alert per finding. Validations of names without a live version are counted under the subject label
// "_unregistered" and are no evidence, so callers cannot create series or evidence at will.
//
// Decide is the validation hot path: it never touches the database or blocks on delivery, and
// for a valid payload it does not allocate (the metrics' children are cached per subject after
// their first use).
func (g *Gate) Decide(principal string, req validate.Request, res validate.Result) Decision {
	d := Decision{Outcome: OutcomeValid, Mode: g.modes.ModeOf(req.Subject)}
	if res.Invalid() {
		d.Outcome = OutcomeFlagged
		if d.Mode == ModeStrict {
			d.Outcome = OutcomeRejected
		}
	}
	if !g.subjects.Known(req.Subject) {
		g.metrics.validated(unregisteredSubject, d, res.Findings)
		return d
	}
	g.metrics.validated(req.Subject, d, res.Findings)
	var payload []byte
	if len(res.Findings) > 0 {
		payload = samplePayload(req)
	}
	g.evidence.Record(req.Subject, principal, res.Findings, payload)
	for _, f := range res.Findings {
		g.alerts.drift(req.Subject, d.Mode, f)
	}
	return d
}

// samplePayload is the payload as a drift sample keeps it: binary data as sent, a JSON payload
// in its compact encoding.
func samplePayload(req validate.Request) []byte {
	if !req.HasJSON {
		return req.Data
	}
	b, err := json.Marshal(req.JSON)
	if err != nil {
		return nil
	}
	return b
}
