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
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/confluent"
	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/validate"
)

// Options configures a Gateway.
type Options struct {
	// Config is required; New validates it and fills derived values.
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
}

// MetricsRegistry is where the gateway registers its metrics and what /metrics gathers; a
// *prometheus.Registry is one.
type MetricsRegistry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Gateway is a running schemagate server: listeners are bound by New, served by Run.
type Gateway struct {
	log     *slog.Logger
	cfg     Config
	db      *store.DB
	health  *health.Server
	grpcSrv *grpc.Server
	httpSrv *http.Server

	grpcLis, httpLis net.Listener
	inproc           *bufconn.Listener
	conn             *grpc.ClientConn

	validation *validationService

	// background loops (validator index refresh, mode refresh, evidence flusher) run from Run
	// until shutdown; the evidence flusher's last flush happens before the store closes.
	background []func(context.Context)

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
	authn, err := auth.New(cfg.Auth.Principals, auth.Options{Logger: opts.Logger, Registerer: metrics,
		MaxFailures: cfg.Auth.MaxFailures, FailureWindow: cfg.Auth.FailureWindow})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	tlsCfg, err := serverTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	if authn.Open() {
		if err := checkOpenListen(cfg.Server.HTTPAddr, cfg.Server.GRPCAddr); err != nil {
			return nil, err
		}
		opts.Logger.Warn("no auth.principals configured: the gateway is open to every local caller")
	}

	g := &Gateway{log: opts.Logger, cfg: cfg}
	defer func() {
		if err != nil {
			_ = g.close()
		}
	}()

	var storeOpts []store.Option
	if n := cfg.Storage.MaxOpenConns; n > 0 {
		storeOpts = append(storeOpts, store.WithMaxOpenConns(n))
	}
	if n := cfg.Storage.MaxIdleConns; n > 0 {
		storeOpts = append(storeOpts, store.WithMaxIdleConns(n))
	}
	if d := cfg.Storage.ConnMaxLifetime; d > 0 {
		storeOpts = append(storeOpts, store.WithConnMaxLifetime(d))
	}
	storeOpts = append(storeOpts, opts.StoreOptions...)
	g.db, err = store.Open(ctx, cfg.Storage.URL, storeOpts...)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	g.cleanups = append(g.cleanups, g.db.Close)
	reg, err := registry.New(g.db, registry.Options{Registerer: metrics, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}

	al, err := newAlerting(cfg.Alerting, metrics, g)
	if err != nil {
		return nil, err
	}
	vs, err := g.newValidationService(ctx, cfg, reg, metrics, al)
	if err != nil {
		return nil, err
	}
	g.validation = vs
	gs, err := g.newGovernanceService(cfg, reg, vs, metrics, al)
	if err != nil {
		return nil, err
	}
	vs.gov = gs.gov
	g.health = health.NewServer()
	g.grpcSrv = newGRPCServer(opts.Logger, auth.ServerCredentials(grpcTLS(tlsCfg)), authn, reg, vs, gs, g.health)
	g.cleanups = append(g.cleanups, func() error { g.grpcSrv.Stop(); return nil })

	// The HTTP/JSON mapping reaches the gRPC server through an in-memory listener: interceptors
	// (auth, logging) run once, in the gRPC server, and no loopback TCP hop is paid.
	g.inproc = bufconn.Listen(1 << 20)
	g.conn, err = grpc.NewClient("passthrough:///schemagate-inprocess",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return g.inproc.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
	)
	if err != nil {
		return nil, fmt.Errorf("in-process gRPC client: %w", err)
	}
	g.cleanups = append(g.cleanups, g.conn.Close)

	confluentAPI, err := confluent.NewHandler(confluent.Options{Registry: reg, Auth: authn, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	handler, err := newHTTPHandler(ctx, g.conn, confluentAPI, metrics, g.db.Ping)
	if err != nil {
		return nil, err
	}
	g.httpSrv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}

	var lc net.ListenConfig
	if g.grpcLis, err = lc.Listen(ctx, "tcp", cfg.Server.GRPCAddr); err != nil {
		return nil, fmt.Errorf("listen gRPC: %w", err)
	}
	g.cleanups = append(g.cleanups, ignoreClosed(g.grpcLis.Close))
	if g.httpLis, err = lc.Listen(ctx, "tcp", cfg.Server.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listen HTTP: %w", err)
	}
	g.cleanups = append(g.cleanups, ignoreClosed(g.httpLis.Close))
	if tlsCfg != nil {
		// gRPC does its handshake in its credentials; HTTP gets a TLS listener. TLSConfig on the
		// server too, so Serve offers HTTP/2 over it.
		g.httpSrv.TLSConfig = tlsCfg
		g.httpLis = tls.NewListener(g.httpLis, tlsCfg)
		opts.Logger.Info("TLS on both listeners", "client_certificates", cfg.TLS.ClientCAFile != "")
	}
	return g, nil
}

// newValidationService builds the validation engine, the validation modes and the evidence
// recorder, and registers their background loops.
func (g *Gateway) newValidationService(ctx context.Context, cfg Config, reg *registry.Registry, metrics prometheus.Registerer, al *alerting) (*validationService, error) {
	defaultMode, err := governance.ParseMode(cfg.SchemaRegistry.ValidationMode)
	if err != nil {
		return nil, err
	}
	modes, err := governance.NewModes(g.db, defaultMode)
	if err != nil {
		return nil, fmt.Errorf("validation modes: %w", err)
	}
	if err := modes.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("validation modes: %w", err)
	}
	engine, err := validate.NewEngine(validate.Options{
		Source:        reg,
		MaxCacheBytes: cfg.SchemaRegistry.ValidatorCacheBytes,
		Limits:        validate.Limits{MaxPayloadBytes: cfg.SchemaRegistry.MaxPayloadBytes, MaxDepth: cfg.SchemaRegistry.MaxJSONDepth},
		Logger:        g.log,
	})
	if err != nil {
		return nil, err
	}
	if err := engine.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("validation engine: %w", err)
	}
	reg.OnChange(func(_ context.Context, c registry.Change) {
		if c.Subject != "" {
			engine.InvalidateSubject(c.Subject)
		}
	})
	evidence, err := governance.NewEvidence(governance.EvidenceOptions{
		DB: g.db, Replica: replicaName(), Bucket: cfg.Governance.EvidenceBucket,
		FlushInterval: cfg.Governance.EvidenceFlushInterval, Logger: g.log, OnFlush: al.onFlush,
		MaxSamples: cfg.Governance.EvidenceMaxSamples, MaxHeldBuckets: cfg.Governance.EvidenceMaxHeldBuckets,
	})
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	for what, lost := range map[string]func() int64{"drift_sample": evidence.DroppedSamples, "heartbeat": evidence.LostHeartbeats} {
		if err := metrics.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "schemagate_evidence_lost_total",
			Help:        "Evidence dropped because the memory bound held while flushes fail was reached: drift samples (their counts are kept) and bucket heartbeats (those buckets count as downtime).",
			ConstLabels: prometheus.Labels{"what": what},
		}, func() float64 { return float64(lost()) })); err != nil {
			return nil, fmt.Errorf("evidence metrics: %w", err)
		}
	}
	vm, err := newValidationMetrics(metrics)
	if err != nil {
		return nil, err
	}
	g.background = append(g.background, engine.Run, func(ctx context.Context) {
		if err := evidence.Run(ctx); err != nil {
			g.log.Error("evidence flush at shutdown failed: counts since the last flush are lost", "error", err)
		}
	}, func(ctx context.Context) {
		every(ctx, modeRefreshInterval, func() {
			if err := modes.Refresh(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("validation mode refresh failed", "error", err)
			}
		})
	})
	return &validationService{engine: engine, modes: modes, evidence: evidence, metrics: vm, alerts: al, maxBatch: cfg.SchemaRegistry.MaxBatchSize}, nil
}

// newGovernanceService builds the audit log and the governor, audits every registry write and
// registers the governance tick (automatic requests, governance metrics).
func (g *Gateway) newGovernanceService(cfg Config, reg *registry.Registry, vs *validationService, metrics prometheus.Registerer, al *alerting) (*governanceService, error) {
	key, err := readHMACKey(cfg.Governance.AuditHMACKeyFile)
	if err != nil {
		return nil, fmt.Errorf("governance.audit_hmac_key_file: %w", err)
	}
	audit, err := governance.NewAudit(g.db, governance.AuditOptions{HMACKey: key})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	gc := cfg.Governance
	gov, err := governance.NewGovernor(governance.GovernorOptions{
		DB: g.db, Modes: vs.modes, Evidence: vs.evidence, Audit: audit, Versions: reg,
		Policy:      governance.Policy{CleanWindow: gc.CleanWindow, MinValidations: gc.MinValidations},
		BucketWidth: gc.EvidenceBucket, TicketPattern: gc.TicketPattern, NoApproval: !gc.RequireApproval,
		AutoRequest: gc.AutoRequest, AutoTicket: gc.AutoTicket, DocPath: gc.DocPath, TicketURL: gc.TicketURL,
		AutoRollback: governance.AutoRollback{Ratio: gc.AutoRollbackRatio, Period: gc.AutoRollbackPeriod, MinValidations: gc.AutoRollbackMinValidations},
		Logger:       g.log,
	})
	if err != nil {
		return nil, err
	}
	gm, err := newGovernanceMetrics(metrics, audit)
	if err != nil {
		return nil, err
	}
	// Registry writes are audited in their own transaction, with the principal of the call: a
	// write whose audit entry cannot be stored fails and changes nothing.
	reg.OnWrite(func(ctx context.Context, tx *sql.Tx, c registry.Change) error {
		return gov.RecordRegistryWriteTx(ctx, tx, actorOf(ctx), string(c.Action), c.Subject, c.Details)
	})
	g.background = append(g.background, func(ctx context.Context) {
		every(ctx, governanceTickInterval, func() {
			subjects, err := reg.Subjects(ctx, "", false)
			var rolledBack []governance.Entry
			if err == nil {
				_, rolledBack, err = gov.Tick(ctx, subjects)
			}
			for _, e := range rolledBack {
				al.rolledBack(e)
			}
			if err == nil {
				var owners []governance.Owner
				if owners, err = gov.Owners(ctx); err == nil {
					al.setOwners(owners)
				}
			}
			if err == nil {
				err = gm.update(ctx, gov, subjects)
			}
			if err != nil && ctx.Err() == nil {
				g.log.Warn("governance tick failed", "error", err)
			}
		})
	})
	owners, err := gov.Owners(context.Background())
	if err != nil {
		return nil, err
	}
	al.setOwners(owners)
	return &governanceService{gov: gov, audit: audit, reg: reg, alerts: al}, nil
}

// governanceTickInterval is how often automatic requests and the governance gauges are updated.
const governanceTickInterval = 5 * time.Second

// modeRefreshInterval is how soon a mode changed on another replica takes effect here.
const modeRefreshInterval = 2 * time.Second

// every runs fn every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// replicaName identifies this process in evidence heartbeats: host name and process ID.
func replicaName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// HTTPAddr is the bound HTTP address (useful when the configured port was 0).
func (g *Gateway) HTTPAddr() string { return g.httpLis.Addr().String() }

// GRPCAddr is the bound gRPC address (useful when the configured port was 0).
func (g *Gateway) GRPCAddr() string { return g.grpcLis.Addr().String() }

// Run serves until ctx is cancelled or a server fails, then shuts down gracefully: health turns
// NOT_SERVING, in-flight HTTP and gRPC requests get up to server.shutdown_timeout to finish,
// and the store is closed last. It returns nil after a clean shutdown on cancellation.
func (g *Gateway) Run(ctx context.Context) error {
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
	g.log.Info("schemagate serving", "http", g.HTTPAddr(), "grpc", g.GRPCAddr(), "storage", redactURL(g.cfg.Storage.URL))

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
