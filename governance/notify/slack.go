package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// slack posts one message per trigger and one per resolve to an incoming
// webhook: "text" (what notifications show) plus Block Kit blocks.
type slack struct {
	url string // secret
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks,omitempty"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Block Kit limits: section text 3000 characters, a field 2000.
const (
	slackMaxText  = 3000
	slackMaxField = 2000
)

func (*slack) name() string { return receiverSlack }

func (r *slack) send(ctx context.Context, c *http.Client, red redactor, ev event) error {
	if ev.kind == eventRefresh {
		return nil // Alertmanager only; never queued here
	}
	body, err := json.Marshal(slackPayload(ev))
	if err != nil {
		return &deliveryError{receiver: receiverSlack, msg: red.string(err.Error())}
	}
	return postJSON(ctx, c, red, receiverSlack, r.url, body)
}

func slackPayload(ev event) slackMessage {
	a := ev.alert.Alert
	resolved := ev.kind == eventResolve
	head := ":rotating_light: FIRING"
	if resolved {
		head = ":white_check_mark: RESOLVED"
	}
	if a.Drill {
		head = "[DRILL] " + head
	}
	head += " [" + strings.ToUpper(string(a.Severity)) + "] " + slackEscape(a.Name)

	where := "subject: " + slackEscape(a.Subject)
	if a.Kind != "" {
		where += " · kind: " + slackEscape(a.Kind)
	}
	where += " · team: " + slackEscape(a.Team)

	lines := []string{head, where}
	if a.Summary != "" {
		lines = append(lines, slackEscape(a.Summary))
	}
	var link string
	if a.RunbookURL != "" {
		link = "<" + slackEscape(a.RunbookURL) + "|runbook>"
		lines = append(lines, "Runbook: "+link)
	}
	msg := slackMessage{Text: truncate(strings.Join(lines, "\n"), slackMaxText)}

	title := "*" + head + "*"
	if a.Summary != "" {
		title += "\n" + slackEscape(a.Summary)
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: mrkdwn(truncate(title, slackMaxText))})
	fields := []slackText{
		*mrkdwn("*Subject*\n" + truncate(slackEscape(a.Subject), slackMaxField-20)),
		*mrkdwn("*Team*\n" + truncate(slackEscape(a.Team), slackMaxField-20)),
	}
	if a.Kind != "" {
		fields = append(fields, *mrkdwn("*Kind*\n" + slackEscape(a.Kind)))
	}
	if a.Escalation != "" && !resolved {
		fields = append(fields, *mrkdwn("*Escalation*\n" + truncate(slackEscape(a.Escalation), slackMaxField-20)))
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Fields: fields})
	if a.Description != "" && !resolved {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: mrkdwn(truncate(slackEscape(a.Description), slackMaxText))})
	}
	if link != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{*mrkdwn(link)}})
	}
	return msg
}

func mrkdwn(s string) *slackText { return &slackText{Type: "mrkdwn", Text: s} }

// slackEscape escapes the three characters Slack treats as markup, so a
// subject or summary cannot inject a link or an @channel mention.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
