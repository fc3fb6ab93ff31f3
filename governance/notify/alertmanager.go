package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// alertmanager posts to Alertmanager's API v2 (POST /api/v2/alerts, a JSON
// array of postableAlert). A firing alert has no endsAt, so Alertmanager
// keeps it for its resolve_timeout; the Notifier re-sends it before that.
type alertmanager struct {
	url          string // …/api/v2/alerts
	generatorURL string
}

type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func (*alertmanager) name() string { return receiverAlertmanager }

func (r *alertmanager) send(ctx context.Context, c *http.Client, red redactor, ev event) error {
	body, err := json.Marshal(r.payload(ev))
	if err != nil {
		return &deliveryError{receiver: receiverAlertmanager, msg: err.Error()}
	}
	return postJSON(ctx, c, red, receiverAlertmanager, r.url, body)
}

func (r *alertmanager) payload(ev event) []amAlert {
	switch ev.kind {
	case eventRefresh:
		out := make([]amAlert, len(ev.refresh))
		for i, s := range ev.refresh {
			out[i] = r.alert(s, time.Time{})
		}
		return out
	case eventResolve:
		return []amAlert{r.alert(ev.alert, ev.at)}
	default:
		return []amAlert{r.alert(ev.alert, time.Time{})}
	}
}

func (r *alertmanager) alert(s snapshot, endsAt time.Time) amAlert {
	labels := map[string]string{
		"alertname": s.Name,
		"severity":  string(s.Severity),
		"team":      s.Team,
	}
	putNonEmpty(labels, "subject", s.Subject)
	putNonEmpty(labels, "kind", s.Kind)
	// The labels are those of the Prometheus rules (docs/operations/alerts), so Alertmanager
	// merges the gateway's alert with the rule's one for the same subject. The escalation entry
	// is free text, so it is an annotation: no metric carries it as a label.
	if s.Drill {
		labels["drill"] = "true"
	}
	ann := map[string]string{}
	putNonEmpty(ann, "summary", s.Summary)
	putNonEmpty(ann, "description", s.Description)
	putNonEmpty(ann, "runbook_url", s.RunbookURL)
	putNonEmpty(ann, "escalation", s.Escalation)
	a := amAlert{
		Labels:       labels,
		Annotations:  ann,
		StartsAt:     s.startsAt.UTC(),
		GeneratorURL: r.generatorURL,
	}
	if !endsAt.IsZero() {
		a.EndsAt = endsAt.UTC()
	}
	return a
}

// putNonEmpty sets m[k] = v unless v is empty: Alertmanager treats an empty
// label as an absent one, and empty annotations are noise.
func putNonEmpty(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}
