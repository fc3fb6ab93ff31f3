package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/gateway/compatlimit"
	"github.com/schemagate/schemagate/gateway/confluent"
	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/upstream"
	"github.com/schemagate/schemagate/validate"
)

// defaultUpstreamPollInterval is schema_registry.upstream.poll_interval's default.
const defaultUpstreamPollInterval = 5 * time.Second

// registryBackend is the schema registry the gateway serves the Confluent API, /v1, validation
// and governance over: the embedded *registry.Registry, or in upstream mode
// (schema_registry.upstream.url) an *upstream.Registry in front of an existing registry.
type registryBackend interface {
	confluent.Registry
	validate.Source
	governance.Registry
	registryServiceBackend
	// OnChange registers fn to be called after every write made through the backend.
	OnChange(fn func(ctx context.Context, c registry.Change))
	// OnWrite registers fn to be called in the store transaction that records each write, so
	// its audit entry commits with it.
	OnWrite(fn func(ctx context.Context, tx *sql.Tx, c registry.Change) error)
}

// degradedFunc reports a part of the gateway that works in a reduced way (the upstream
// registry unreachable): why (for the log), and since when.
type degradedFunc func() (reason string, since time.Time, degraded bool)

// openBackend returns the embedded registry over the store, or in upstream mode the upstream
// registry, whose poll loop joins the background loops and whose state /readyz reports.
func (g *Gateway) openBackend(ctx context.Context, metrics prometheus.Registerer) (registryBackend, error) {
	sr := g.cfg.SchemaRegistry
	if !sr.Upstream.Enabled() {
		// Compatibility work is metered per principal: the registry asks before each check and
		// reports the units it spent after.
		limit := compatlimit.New(sr.CompatibilityUnitsPerSecond, sr.CompatibilityUnitBurst, nil)
		reg, err := registry.New(g.db, registry.Options{Registerer: metrics, Logger: g.log,
			CompatibilityBudget: sr.CompatibilityBudget, MaxUnionBranches: sr.MaxUnionBranches, MaxCombinatorItems: sr.MaxJSONSchemaCombinatorItems,
			BeforeCheck: limit.Allow, AfterCheck: limit.Charge})
		if err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		return reg, nil
	}
	u := sr.Upstream
	client, err := upstream.New(upstream.Options{URL: u.URL, Username: u.Username, PasswordFile: u.PasswordFile,
		BearerTokenFile: u.BearerTokenFile, Timeout: u.Timeout, MaxConns: u.MaxConns, Registerer: metrics, Logger: g.log,
		TLS: upstream.TLSOptions{CAFile: u.TLS.CAFile, CertFile: u.TLS.CertFile, KeyFile: u.TLS.KeyFile}})
	if err != nil {
		return nil, fmt.Errorf("config: schema_registry.upstream: %w", err)
	}
	g.cleanups = append(g.cleanups, func() error { client.Close(); return nil })
	reg, err := upstream.NewRegistry(ctx, upstream.RegistryOptions{Client: client, DB: g.db, PollInterval: u.PollInterval,
		Logger: g.log, Registerer: metrics})
	if err != nil {
		return nil, fmt.Errorf("upstream registry: %w", err)
	}
	g.background = append(g.background, reg.Run)
	g.degraded = reg.Degraded
	g.log.Info("upstream mode: serving the registry at schema_registry.upstream.url", "upstream", u.URL, "poll_interval", u.PollInterval)
	return reg, nil
}
