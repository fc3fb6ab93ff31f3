package gateway

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/schemagate/schemagate/gateway/auth"
)

// Config keys that Reload applies at run time; every other key needs a restart.
const (
	reloadPrincipals = "auth.principals"
	reloadAlerting   = "alerting."
)

// Reload applies the settings of cfg that may change while the gateway runs: auth.principals
// (with their roles and subject grants) and the alert receivers (alerting.*). It is what serve
// does on SIGHUP, with cfg loaded as at startup (file, environment, flags).
//
// Nothing is applied unless everything is valid: an invalid cfg (Config.Validate), a principal
// with an unknown role or a bad hash, an invalid receiver, or no principals at all while a
// listener is not on loopback is returned as an error and the running configuration stays as
// it was. On success Reload logs what changed: principals added, removed and changed by name,
// and the alerting keys that changed, never a hash, a token, a webhook URL or a routing key.
// Keys that differ from the running configuration but cannot change at run time (listen
// addresses, storage, TLS, governance, limits…) are named in a warning, "restart to apply",
// and ignored. Console sessions of principals removed or changed are revoked. Requests in flight finish with the principals they started with. Reload calls
// are serialized.
func (g *Gateway) Reload(ctx context.Context, cfg Config) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	if err := cfg.Validate(); err != nil {
		return err
	}
	set, err := g.authn.NewPrincipalSet(cfg.Auth.Principals)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if len(cfg.Auth.Principals) == 0 {
		if err := checkOpenListen(g.cfg.Server.HTTPAddr, g.cfg.Server.GRPCAddr); err != nil {
			return err
		}
	}
	alerting := changedKeys(reflect.ValueOf(g.cfg.Alerting), reflect.ValueOf(cfg.Alerting), strings.TrimSuffix(reloadAlerting, "."))
	if len(alerting) > 0 {
		if err := g.gate.SetReceivers(cfg.Alerting); err != nil {
			return err
		}
	}
	added, removed, changed := diffPrincipals(g.authn.Principals(), cfg.Auth.Principals)
	g.authn.SetPrincipals(set)
	// A console session holds the principal as it signed in: end those whose principal is gone
	// or whose roles, grants or credentials changed; they sign in again under the new set.
	g.console.RevokePrincipals(ctx, append(removed, changed...))

	var restart []string
	for _, k := range changedKeys(reflect.ValueOf(g.cfg), reflect.ValueOf(cfg), "") {
		if k != reloadPrincipals && !strings.HasPrefix(k, reloadAlerting) {
			restart = append(restart, k)
		}
	}
	g.cfg.Auth.Principals, g.cfg.Alerting = cfg.Auth.Principals, cfg.Alerting
	g.log.InfoContext(ctx, "config reloaded", "principals_added", added, "principals_removed", removed,
		"principals_changed", changed, "alerting_changed", alerting)
	if len(cfg.Auth.Principals) == 0 && len(removed) > 0 {
		g.log.WarnContext(ctx, "no auth.principals configured any more: the gateway is open to every local caller")
	}
	if len(restart) > 0 {
		g.log.WarnContext(ctx, "config keys changed that cannot change at run time: restart to apply", "keys", restart)
	}
	return nil
}

// diffPrincipals names the principals of next that are not in prev (added), those of prev not
// in next (removed), and those in both whose configuration differs (changed), each sorted.
func diffPrincipals(prev, next []auth.PrincipalConfig) (added, removed, changed []string) {
	byName := make(map[string]auth.PrincipalConfig, len(prev))
	for _, p := range prev {
		byName[strings.TrimSpace(p.Name)] = p
	}
	for _, p := range next {
		name := strings.TrimSpace(p.Name)
		old, ok := byName[name]
		switch {
		case !ok:
			added = append(added, name)
		case !reflect.DeepEqual(old, p):
			changed = append(changed, name)
		}
		delete(byName, name)
	}
	for name := range byName {
		removed = append(removed, name)
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return added, removed, changed
}

// changedKeys returns the dotted config keys (key as the prefix of a) whose values differ
// between a and b, two values of one struct type, in field order. A list (auth.principals) is
// one key.
func changedKeys(a, b reflect.Value, key string) []string {
	if a.Kind() != reflect.Struct {
		if reflect.DeepEqual(a.Interface(), b.Interface()) {
			return nil
		}
		return []string{key}
	}
	var keys []string
	for i := range a.NumField() {
		k := yamlKey(a.Type().Field(i))
		if key != "" {
			k = key + "." + k
		}
		keys = append(keys, changedKeys(a.Field(i), b.Field(i), k)...)
	}
	return keys
}
