package confluent

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/schemagate/schemagate/registry"
)

// aliasSource is what following subject aliases needs of the registry. Both registries offer it:
// the embedded one from its configuration, the upstream one by asking the upstream (which follows
// the alias itself), so that grants are checked on the subject the request reaches in both.
type aliasSource interface {
	SubjectAlias(ctx context.Context, subject string) (string, error)
}

// followAlias rewrites a request addressed to a subject whose configuration names an alias so
// that it reaches the alias instead, as Confluent's AliasFilter does before a request is
// routed: the {subject} of every /subjects/{subject}/... and /compatibility/subjects/{subject}/...
// route, whatever the method (Confluent rewrites registrations and deletes too), and the
// subject query parameter of /schemas/ids/.... /config and /mode keep the subject they name,
// so an alias can be read and removed. It runs before the grant check, so grants are checked
// on the subject the request reaches. One hop only, as in Confluent.
func (h *handler) followAlias(r *http.Request) error {
	src, ok := h.reg.(aliasSource)
	if !ok {
		return nil
	}
	switch {
	case strings.HasPrefix(r.Pattern, "/subjects/{subject}"), strings.HasPrefix(r.Pattern, "/compatibility/subjects/{subject}"):
		target, err := resolveAlias(r.Context(), src, r.PathValue("subject"))
		if err != nil {
			return err
		}
		r.SetPathValue("subject", target)
	case strings.HasPrefix(r.Pattern, "/schemas/ids/"):
		q := r.URL.Query()
		subject := q.Get("subject")
		if subject == "" {
			return nil
		}
		target, err := resolveAlias(r.Context(), src, subject)
		if err != nil || target == subject {
			return err
		}
		q.Set("subject", target)
		r.URL.RawQuery = q.Encode()
	}
	return nil
}

// resolveAlias returns the subject requests addressed to subject reach; an invalid subject name
// is left as it is, for the handler to refuse as usual.
func resolveAlias(ctx context.Context, src aliasSource, subject string) (string, error) {
	target, err := src.SubjectAlias(ctx, subject)
	if errors.Is(err, registry.ErrInvalidSubject) {
		return subject, nil
	}
	return target, err
}
