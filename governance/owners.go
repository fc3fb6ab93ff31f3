package governance

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/schemagate/schemagate/validate"
)

// Owner is the team that owns a subject and its escalation entry.
type Owner struct {
	Subject, Team, Escalation string
}

// SetOwner records subject's owner and audits it, in one transaction. The subject must have a
// live version; team and escalation are one line each, at most MaxOwnerBytes.
func (g *Governor) SetOwner(ctx context.Context, actor Actor, o Owner) (Entry, error) {
	o.Team, o.Escalation = strings.TrimSpace(o.Team), strings.TrimSpace(o.Escalation)
	if err := checkFields(textField{"team", o.Team, MaxOwnerBytes, true}, textField{"escalation", o.Escalation, MaxOwnerBytes, true}); err != nil {
		return Entry{}, err
	}
	if o.Subject == "" || o.Team == "" {
		return Entry{}, fmt.Errorf("%w: subject and team are required", ErrBadRequest)
	}
	if err := g.requireLive(ctx, o.Subject); err != nil {
		return Entry{}, err
	}
	now := g.clock().UTC()
	var entry Entry
	err := g.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, g.opts.DB.Dialect().Rebind(
			`INSERT INTO subject_owners (subject, team, escalation, changed_at) VALUES (?, ?, ?, ?)
ON CONFLICT (subject) DO UPDATE SET team = excluded.team, escalation = excluded.escalation, changed_at = excluded.changed_at`),
			o.Subject, o.Team, o.Escalation, now.UnixMicro()); err != nil {
			return err
		}
		var err error
		entry, err = g.opts.Audit.AppendTx(ctx, tx, Entry{Time: now, Actor: actor.Name, Role: actor.Role, Action: ActionOwnerSet,
			Subject: o.Subject, Details: map[string]string{"team": o.Team, "escalation": o.Escalation}})
		return err
	})
	return entry, storeErr("setting an owner", err)
}

// Owners lists every subject owner, by subject.
func (g *Governor) Owners(ctx context.Context) ([]Owner, error) {
	rows, err := g.opts.DB.SQL().QueryContext(ctx, `SELECT subject, team, escalation FROM subject_owners ORDER BY subject`)
	if err != nil {
		return nil, storeErr("listing owners", err)
	}
	defer rows.Close()
	var out []Owner
	for rows.Next() {
		var o Owner
		if err := rows.Scan(&o.Subject, &o.Team, &o.Escalation); err != nil {
			return nil, storeErr("listing owners", err)
		}
		out = append(out, o)
	}
	return out, storeErr("listing owners", rows.Err())
}

// RecordDrill audits a staged drift drill on subject. A drill is never recorded as evidence.
func (g *Governor) RecordDrill(ctx context.Context, actor Actor, subject string, kind validate.Kind) (Entry, error) {
	return g.opts.Audit.Append(ctx, Entry{Time: g.clock().UTC(), Actor: actor.Name, Role: actor.Role, Action: ActionDrillInjected,
		Subject: subject, Reason: "staged drift drill: confirms alert routing; not a real violation", Details: map[string]string{"kind": kind.String()}})
}
