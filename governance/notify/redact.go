package notify

import (
	"errors"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
)

const redacted = "[REDACTED]"

// redactor removes secrets (the Slack webhook URL, the PagerDuty routing
// key) from text before it reaches a log line or an error.
type redactor struct {
	secrets []string // longest first
}

func newRedactor(slackURL, routingKey string) redactor {
	var r redactor
	add := func(s string) {
		if len(s) < 8 || slices.Contains(r.secrets, s) {
			return // too short to be a secret (and redacting it would maul logs), or known
		}
		r.secrets = append(r.secrets, s)
		if q := strconv.Quote(s); q[1:len(q)-1] != s {
			r.secrets = append(r.secrets, q[1:len(q)-1])
		}
		if e := url.QueryEscape(s); e != s {
			r.secrets = append(r.secrets, e)
		}
	}
	add(slackURL)
	if u, err := url.Parse(slackURL); err == nil {
		// The token lives in the path (hooks.slack.com/services/T…/B…/…).
		add(strings.TrimPrefix(u.EscapedPath(), "/"))
		add(strings.TrimPrefix(u.Path, "/"))
		add(u.RawQuery)
		// The last segment alone is the part that must never leak.
		add(path.Base(u.Path))
	}
	add(routingKey)
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	return r
}

func (r redactor) string(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// error returns an error with err's message redacted. It does not wrap err,
// so unwrapping cannot bring the secret back.
func (r redactor) error(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(r.string(err.Error()))
}
