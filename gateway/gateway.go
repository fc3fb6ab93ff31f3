// Package gateway wires schemagate together: it opens the store, builds the registry, serves the
// gRPC services and their HTTP/JSON mapping (grpc-gateway, reaching the gRPC server in-process),
// authenticates callers and exposes /metrics, /healthz and /readyz.
package gateway

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/confluent"
	"github.com/schemagate/schemagate/gateway/console"
	"github.com/schemagate/schemagate/gateway/oidc"
	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/internal/buildinfo"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/validate"
)

// Options configures a Gateway.
type Options struct {
	// Config is required; New validates it (Config.Validate) and refuses an invalid one.
	Config Config
	// Logger is required.
	Logger *slog.Logger
	// Metrics receives every schemagate metric and is served on /metrics. Optional: nil means a
	// new private registry with the Go and process collectors. Nothing is ever registered in
	// the global Prometheus registry.
	Metrics MetricsRegistry
	// StoreOptions are passed to store.Open after those built from Config.Storage. Tests use
	// them to put a fault-injecting driver under the store; serve never sets them.
	StoreOptions []store.Option
	// Now is the clock of console session expiry (console.session_idle, console.session_max).
	// Nil means time.Now; tests move it instead of waiting.
	Now func() time.Time
}

// MetricsRegistry is where the gateway registers its metrics and what /metrics gathers; a
// *prometheus.Registry is one.
type MetricsRegistry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// registerBuildInfo registers schemagate_build_info{version,commit,goversion}, always 1: which
// binary a replica runs, for dashboards and for spotting a fleet on mixed versions.
func registerBuildInfo(r prometheus.Registerer) error {
	info := buildinfo.Read()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "schemagate_build_info",
		Help:        "Always 1; the labels say which schemagate build this replica runs.",
		ConstLabels: prometheus.Labels{"version": info.Version, "commit": info.Commit, "goversion": info.GoVersion},
	})
	g.Set(1)
	if err := r.Register(g); err != nil {
		return fmt.Errorf("metrics: schemagate_build_info: %w", err)
	}
	return nil
}

// Gateway is a running schemagate server: listeners are bound by New, served by Run.
type Gateway struct {
	log     *slog.Logger
	cfg     Config
	db      *store.DB
	feed    *store.Feed // changes between replicas
	health  *health.Server
	grpcSrv *grpc.Server
	httpSrv *http.Server

	grpcLis, httpLis net.Listener
	inproc           *bufconn.Listener
	conn             *grpc.ClientConn

	gate       *governance.Gate
	validation *validationService
	console    *console.Console
	authn      *auth.Authenticator
	// bodyBudget bounds the request bytes read and decoded at once, /v1 and gRPC
	// (server.max_inflight_body_bytes).
	bodyBudget *byteBudget

	// reloadMu serializes Reload, the only writer of cfg.Auth.Principals and cfg.Alerting
	// after New.
	reloadMu sync.Mutex

	// background loops (the validator index refresh and the gate: evidence flusher, mode
	// refresh, tick, alert delivery) run from Run until shutdown; the gate's last evidence flush
	// happens before the store closes.
	background []func(context.Context)
	// degraded, in upstream mode, reports the upstream registry unreachable (on /readyz).
	degraded degradedFunc

	closeOnce sync.Once
	cleanups  []func() error // run in reverse order by close
}

// New opens the store (applying migrations), builds every service and binds both listeners, so
// HTTPAddr and GRPCAddr are known before Run. Without auth.principals it refuses any
// non-loopback address. A New that fails undoes what it did.
func New(ctx context.Context, opts Options) (_ *Gateway, err error) {
	if opts.Logger == nil {
		return nil, errors.New("gateway: Options.Logger is required")
	}
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	metrics := opts.Metrics
	if metrics == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		metrics = r
	}
	if err := registerBuildInfo(metrics); err != nil {
		return nil, err
	}
	authn, err := auth.New(cfg.Auth.Principals, auth.Options{Logger: opts.Logger, Registerer: metrics,
		MaxFailures: cfg.Auth.MaxFailures, FailureWindow: cfg.Auth.FailureWindow, MaxPasswordChecks: cfg.Auth.MaxConcurrentPasswordChecks})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if authn.Open() {
		if err := checkOpenListen(cfg.Server.HTTPAddr, cfg.Server.GRPCAddr); err != nil {
			return nil, err
		}
		opts.Logger.Warn("no auth.principals configured: the gateway is open to every local caller")
	}
	g := &Gateway{log: opts.Logger, cfg: cfg, authn: authn}
	defer func() {
		if err != nil {
			_ = g.close()
		}
	}()
	if err := g.openStore(ctx, opts, metrics); err != nil {
		return nil, err
	}
	reg, err := g.openBackend(ctx, metrics)
	if err != nil {
		return nil, err
	}
	if embedded, ok := reg.(*registry.Registry); ok {
		if err := embedded.ServeFromMemory(ctx, g.feed); err != nil {
			return nil, err
		}
	}
	if err := g.newGate(ctx, reg, metrics); err != nil {
		return nil, err
	}
	g.health = health.NewServer()
	tlsCfg, err := serverTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	g.bodyBudget = newByteBudget(cfg.Server.MaxInflightBodyBytes)
	g.grpcSrv = newGRPCServer(opts.Logger, cfg.Server, auth.ServerCredentials(grpcTLS(tlsCfg)), authn, g.bodyBudget, newValidationCodec(g.validation.payloads), []serviceRegistration{
		func(s *grpc.Server) { pb.RegisterRegistryServiceServer(s, &registryService{reg: reg}) },
		func(s *grpc.Server) { pb.RegisterValidationServiceServer(s, g.validation) },
		func(s *grpc.Server) { pb.RegisterGovernanceServiceServer(s, &governanceService{gate: g.gate}) },
		func(s *grpc.Server) { healthpb.RegisterHealthServer(s, g.health) },
	})
	g.cleanups = append(g.cleanups, func() error { g.grpcSrv.Stop(); return nil })
	if err := g.newHTTPServer(ctx, reg, authn, metrics, opts.Now); err != nil {
		return nil, err
	}
	if err := g.listen(ctx, tlsCfg); err != nil {
		return nil, err
	}
	return g, nil
}

// openStore opens the store, applying migrations, and the change feed, whose metrics it
// registers on metrics.
func (g *Gateway) openStore(ctx context.Context, opts Options, metrics prometheus.Registerer) error {
	sc := g.cfg.Storage
	storeOpts := []store.Option{store.WithLogger(opts.Logger)}
	if n := sc.MaxOpenConns; n > 0 {
		storeOpts = append(storeOpts, store.WithMaxOpenConns(n))
	}
	if n := sc.MaxIdleConns; n > 0 {
		storeOpts = append(storeOpts, store.WithMaxIdleConns(n))
	}
	if d := sc.ConnMaxLifetime; d > 0 {
		storeOpts = append(storeOpts, store.WithConnMaxLifetime(d))
	}
	db, err := store.Open(ctx, g.cfg.StorageURL(), append(storeOpts, opts.StoreOptions...)...)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	g.db = db
	g.cleanups = append(g.cleanups, db.Close)
	// The feed is opened before anything loads from the store: it delivers every change
	// committed after this point.
	feedMetrics, err := newFeedMetrics(metrics)
	if err != nil {
		return err
	}
	g.feed, err = store.NewFeed(ctx, db, g.cfg.StorageURL(), store.FeedOptions{Logger: g.log,
		PollInterval: sc.ChangePollInterval, ResyncInterval: sc.ResyncInterval, Observer: feedMetrics})
	if err != nil {
		return err
	}
	g.background = append(g.background, g.feed.Run)
	return nil
}

// observedActor is the audit log's actor of versions registered in the upstream registry
// directly (upstream mode): observed by schemagate, not made through it.
var observedActor = governance.Actor{Name: "upstream-registry", Role: "observed"}

// newGate builds the validation engine and the governance gate, and wires them to the
// registry: the engine forgets a subject written on this replica (and a schema ID the embedded
// registry says holds other content now), and every registry write is
// audited in its own transaction with the principal of the call (a write whose audit entry
// cannot be stored fails and changes nothing).
func (g *Gateway) newGate(ctx context.Context, reg registryBackend, metrics prometheus.Registerer) error {
	sr := g.cfg.SchemaRegistry
	engine, err := validate.NewEngine(validate.Options{
		Source:        reg,
		MaxCacheBytes: sr.ValidatorCacheBytes,
		Limits:        validate.Limits{MaxPayloadBytes: sr.MaxPayloadBytes, MaxDepth: sr.MaxJSONDepth},
		Logger:        g.log,
		// Fixed for the engine's lifetime: Reload names a changed value "restart to apply".
		JSONSchemaFormat: sr.JSONSchema.Format,
		Registerer:       metrics,
		// Changes arrive through the feed; the timer is only its safety net.
		RefreshInterval: g.cfg.Storage.ResyncInterval,
	})
	if err != nil {
		return err
	}
	g.feed.Subscribe(func(ctx context.Context, n store.Notice) {
		switch {
		case n.Resync:
			if err := engine.Refresh(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("validation engine refresh failed", "error", err)
			}
		case n.Topic == registry.FeedTopic && n.Key != "":
			engine.InvalidateSubject(n.Key)
		}
	})
	if err := engine.Refresh(ctx); err != nil {
		return fmt.Errorf("validation engine: %w", err)
	}
	gate, err := governance.New(ctx, governance.Options{
		DB: g.db, Registry: reg, Subjects: engine, Registerer: metrics, Logger: g.log,
		Config: g.cfg.Governance, DefaultMode: sr.ValidationMode, Receivers: g.cfg.Alerting, Feed: g.feed,
	})
	if err != nil {
		return err
	}
	if embedded, ok := reg.(*registry.Registry); ok {
		embedded.OnSchemaReplaced(engine.InvalidateSchema)
	}
	reg.OnChange(func(_ context.Context, c registry.Change) {
		if c.Subject != "" {
			engine.InvalidateSubject(c.Subject)
		}
	})
	reg.OnWrite(func(ctx context.Context, tx *sql.Tx, c registry.Change) error {
		actor := actorOf(ctx)
		if c.Details["observed"] == "true" {
			// Upstream mode: a version registered in the upstream registry directly, noticed by
			// the poll; nobody made it through schemagate.
			actor = observedActor
		}
		return gate.AuditRegistryWriteTx(ctx, tx, actor, c)
	})
	g.gate = gate
	g.validation = &validationService{engine: engine, gate: gate, maxBatch: sr.MaxBatchSize, payloads: newDecodedPayloads()}
	g.background = append(g.background, engine.Run, func(ctx context.Context) {
		if err := gate.Run(ctx); err != nil {
			g.log.Error("evidence flush at shutdown failed: counts since the last flush are lost", "error", err)
		}
	})
	return nil
}

// oidcCallbackPath is where the console finishes an OIDC sign-in: auth.oidc.redirect_url must
// name it (Config.Validate checks).
const oidcCallbackPath = "/ui/oidc/callback"

// newOIDC is the console's OIDC sign-in when auth.oidc is configured (discovery runs now), else
// nil.
func newOIDC(ctx context.Context, cfg oidc.Config, log *slog.Logger) (console.OIDCSignIn, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	p, err := oidc.New(ctx, cfg, oidc.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// newHTTPServer builds the HTTP server: the Confluent REST API, and the HTTP/JSON mapping that
// reaches the gRPC server through an in-memory listener, so interceptors (auth, logging) run
// once, in the gRPC server, and no loopback TCP hop is paid.
func (g *Gateway) newHTTPServer(ctx context.Context, reg registryBackend, authn *auth.Authenticator, metrics MetricsRegistry, now func() time.Time) error {
	g.inproc = bufconn.Listen(1 << 20)
	var err error
	g.conn, err = grpc.NewClient("passthrough:///schemagate-inprocess",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return g.inproc.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
	)
	if err != nil {
		return fmt.Errorf("in-process gRPC client: %w", err)
	}
	g.cleanups = append(g.cleanups, g.conn.Close)
	confluentAPI, err := confluent.NewHandler(confluent.Options{Registry: reg, Auth: authn, Logger: g.log})
	if err != nil {
		return err
	}
	var metricsAPI http.Handler = promhttp.HandlerFor(metrics, promhttp.HandlerOpts{Registry: metrics})
	if g.cfg.Metrics.RequireAuth {
		metricsAPI = authn.HTTPAuthenticated(metricsAPI, writeMetricsError)
	}
	copts := console.Options{Conn: g.conn, Authenticator: authn, Logger: g.log, Now: now,
		SessionIdle: g.cfg.Console.SessionIdle, SessionMax: g.cfg.Console.SessionMax, MinValidations: g.cfg.Governance.MinValidations}
	if copts.OIDC, err = newOIDC(ctx, g.cfg.Auth.OIDC, g.log); err != nil {
		return err
	}
	g.console, err = console.New(copts)
	if err != nil {
		return err
	}
	handler, err := newHTTPHandler(ctx, g.conn, authn, newBodyLimits(g.cfg), g.bodyBudget, confluentAPI, metricsAPI, g.console.Handler(),
		readiness{ping: g.db.Ping, degraded: g.degraded})
	if err != nil {
		return err
	}
	sc := g.cfg.Server
	g.httpSrv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: sc.ReadHeaderTimeout,
		ReadTimeout:       sc.ReadTimeout,
		WriteTimeout:      sc.WriteTimeout,
		IdleTimeout:       sc.IdleTimeout,
		MaxHeaderBytes:    sc.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// listen binds both listeners, the HTTP one with TLS when tlsCfg is set (gRPC does its
// handshake in its credentials).
func (g *Gateway) listen(ctx context.Context, tlsCfg *tls.Config) error {
	var lc net.ListenConfig
	var err error
	if g.grpcLis, err = lc.Listen(ctx, "tcp", g.cfg.Server.GRPCAddr); err != nil {
		return fmt.Errorf("listen gRPC: %w", err)
	}
	g.cleanups = append(g.cleanups, ignoreClosed(g.grpcLis.Close))
	g.grpcLis = limitPerIP(g.grpcLis, g.cfg.Server.GRPCMaxConnsPerIP)
	if g.httpLis, err = lc.Listen(ctx, "tcp", g.cfg.Server.HTTPAddr); err != nil {
		return fmt.Errorf("listen HTTP: %w", err)
	}
	g.cleanups = append(g.cleanups, ignoreClosed(g.httpLis.Close))
	if tlsCfg != nil {
		// TLSConfig on the server too, so Serve offers HTTP/2 over it.
		g.httpSrv.TLSConfig = tlsCfg
		g.httpLis = tls.NewListener(g.httpLis, tlsCfg)
		g.log.Info("TLS on both listeners", "client_certificates", g.cfg.TLS.ClientCAFile != "")
	}
	return nil
}

// HTTPAddr is the bound HTTP address (useful when the configured port was 0).
func (g *Gateway) HTTPAddr() string { return g.httpLis.Addr().String() }

// GRPCAddr is the bound gRPC address (useful when the configured port was 0).
func (g *Gateway) GRPCAddr() string { return g.grpcLis.Addr().String() }

// Run serves until ctx is cancelled or a server fails, then shuts down gracefully: health turns
// NOT_SERVING, in-flight HTTP and gRPC requests get up to server.shutdown_timeout to finish,
// and the store is closed last. It returns nil after a clean shutdown on cancellation.
func (g *Gateway) Run(ctx context.Context) error {
	// Read before serving: once requests are served, Reload may write g.cfg.Auth.
	storage := store.Redacted(g.cfg.StorageURL())
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	for _, loop := range g.background {
		bg.Go(func() { loop(bgCtx) })
	}
	errc := make(chan error, 3)
	go func() { errc <- serveErr("gRPC", g.grpcSrv.Serve(g.grpcLis)) }()
	go func() { errc <- serveErr("in-process gRPC", g.grpcSrv.Serve(auth.InProcessListener(g.inproc))) }()
	go func() { errc <- serveErr("HTTP", g.httpSrv.Serve(g.httpLis)) }()
	g.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	info := buildinfo.Read()
	g.log.Info("schemagate serving", "http", g.HTTPAddr(), "grpc", g.GRPCAddr(), "storage", storage,
		"version", info.Version, "commit", info.Commit, "go", info.GoVersion)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	g.log.Info("shutting down", "timeout", g.cfg.Server.ShutdownTimeout)
	if err := g.shutdown(func() { stopBackground(); bg.Wait() }); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// shutdown stops serving, then stops the background loops (the evidence flusher flushes one
// last time), then closes the store.
func (g *Gateway) shutdown(stopBackground func()) error {
	g.health.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Server.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := g.httpSrv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("HTTP shutdown: %w", err))
	}
	stopped := make(chan struct{})
	go func() { g.grpcSrv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		g.grpcSrv.Stop()
		<-stopped
		errs = append(errs, errors.New("gRPC shutdown: in-flight calls cut after the shutdown timeout"))
	}
	stopBackground()
	if err := g.close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// close runs the cleanup stack once, newest first.
func (g *Gateway) close() error {
	var errs []error
	g.closeOnce.Do(func() {
		for i := len(g.cleanups) - 1; i >= 0; i-- {
			if err := g.cleanups[i](); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

func serveErr(what string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return fmt.Errorf("%s server: %w", what, err)
}

func ignoreClosed(close func() error) func() error {
	return func() error {
		if err := close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
}
