package upstream

import (
	"cmp"
	"context"
	"net/http"
	"time"
)

// maxAliasEntries bounds the alias answers kept; past it the cache starts again empty.
const maxAliasEntries = 10_000

// aliasEntry is the upstream's answer for one subject's alias, and when it was read.
type aliasEntry struct {
	target string
	read   time.Time
}

// OwnAlias returns the alias set on the subject itself ("" when none):
// GET /config/{subject}?defaultToGlobal=false, a 404 answer meaning no configuration at all.
func (c *Client) OwnAlias(ctx context.Context, subject string) (string, error) {
	var r struct {
		Alias string `json:"alias"`
	}
	err := c.call(ctx, "config", http.MethodGet, settingPath("config", subject)+"?defaultToGlobal=false", nil, &r)
	alias, _, err := ownSetting(r.Alias, err)
	return alias, err
}

// SubjectAlias returns the subject that the upstream registry answers requests addressed to
// subject from: the alias in subject's own configuration (Confluent follows it, one hop), else
// subject itself. The gateway checks subject grants on that subject, so a principal granted only
// an alias cannot read the subject behind it through the upstream. An answer is kept for one
// poll interval; when the upstream cannot be asked, the last answer is used, and with none the
// request fails with the upstream's error rather than guess.
func (r *Registry) SubjectAlias(ctx context.Context, subject string) (string, error) {
	now := r.clock()
	r.mu.Lock()
	e, ok := r.aliases[subject]
	r.mu.Unlock()
	if ok && now.Sub(e.read) < r.interval {
		return e.target, nil
	}
	alias, err := r.c.OwnAlias(ctx, subject)
	if err != nil {
		if ok {
			return e.target, nil
		}
		return "", err
	}
	target := cmp.Or(alias, subject)
	r.mu.Lock()
	if len(r.aliases) >= maxAliasEntries {
		clear(r.aliases)
	}
	r.aliases[subject] = aliasEntry{target: target, read: now}
	r.mu.Unlock()
	return target, nil
}
