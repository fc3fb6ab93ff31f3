package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"
)

// pagerDuty sends Events API v2 alert events: trigger on raise, resolve on
// resolve, correlated by a dedup_key stable per (name, subject, kind,
// drill), so a re-trigger after a restart joins the open incident.
type pagerDuty struct {
	url        string
	routingKey string
	clientURL  string
}

type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Client      string     `json:"client,omitempty"`
	ClientURL   string     `json:"client_url,omitempty"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

type pdPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     time.Time      `json:"timestamp,omitzero"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

const (
	pdMaxSummary  = 1024
	pdMaxDedupKey = 255
)

func (*pagerDuty) name() string { return receiverPagerDuty }

func (r *pagerDuty) send(ctx context.Context, c *http.Client, red redactor, ev event) error {
	if ev.kind == eventRefresh {
		return nil // Alertmanager only; never queued here
	}
	body, err := json.Marshal(r.payload(ev))
	if err != nil {
		return &deliveryError{receiver: receiverPagerDuty, msg: red.string(err.Error())}
	}
	return postJSON(ctx, c, red, receiverPagerDuty, r.url, body)
}

func (r *pagerDuty) payload(ev event) pdEvent {
	s := ev.alert
	out := pdEvent{
		RoutingKey:  r.routingKey,
		EventAction: "trigger",
		DedupKey:    dedupKey(s.Alert),
	}
	if ev.kind == eventResolve {
		out.EventAction = "resolve"
		return out
	}
	details := map[string]any{
		"alertname": s.Name,
		"subject":   s.Subject,
		"team":      s.Team,
		"drill":     s.Drill,
	}
	for k, v := range map[string]string{
		"kind":        s.Kind,
		"escalation":  s.Escalation,
		"description": s.Description,
		"runbook_url": s.RunbookURL,
	} {
		if v != "" {
			details[k] = v
		}
	}
	class := s.Kind
	if class == "" {
		class = s.Name
	}
	out.Client = "schemagate"
	out.ClientURL = r.clientURL
	out.Payload = &pdPayload{
		Summary:       truncate(pdSummary(s.Alert), pdMaxSummary),
		Source:        "schemagate",
		Severity:      pdSeverity(s.Severity),
		Timestamp:     s.startsAt.UTC(),
		Component:     s.Subject,
		Group:         s.Team,
		Class:         class,
		CustomDetails: details,
	}
	if s.RunbookURL != "" {
		out.Links = []pdLink{{Href: s.RunbookURL, Text: "Runbook"}}
	}
	return out
}

func pdSummary(a Alert) string {
	s := a.Name + " " + a.Subject
	if a.Drill {
		s = "[DRILL] " + s
	}
	if a.Kind != "" {
		s += " (" + a.Kind + ")"
	}
	if a.Summary != "" {
		s += ": " + a.Summary
	}
	return s
}

// pdSeverity maps our severities onto PagerDuty's. Anything unknown becomes
// "error": it still pages, without claiming to be critical.
func pdSeverity(s Severity) string {
	switch s {
	case SeverityCritical, SeverityWarning, SeverityInfo:
		return string(s)
	default:
		return "error"
	}
}

// dedupKey is readable and unambiguous (each part path-escaped); one longer
// than PagerDuty's 255 characters is replaced by its SHA-256.
func dedupKey(a Alert) string {
	k := "schemagate/" + url.PathEscape(a.Name) + "/" + url.PathEscape(a.Subject) + "/" + url.PathEscape(a.Kind)
	if a.Drill {
		k += "/drill"
	}
	if len(k) > pdMaxDedupKey {
		sum := sha256.Sum256([]byte(k))
		k = "schemagate/sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}
