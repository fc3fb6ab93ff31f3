package load_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// Run length: 60s by default, 5s with -short; SCHEMAGATE_LOAD_DURATION overrides both
// (`10s` for a quick local run, `10m` for a soak).
const (
	defaultDuration = 60 * time.Second
	shortDuration   = 5 * time.Second
	durationEnv     = "SCHEMAGATE_LOAD_DURATION"
)

// The heap check. After a full GC the live heap of a gateway under steady traffic levels off
// once its bounded state is warm: compiled validators and parsed schemas (a few dozen here),
// connection buffers, metric series, drift samples (bounded per subject, kind and path). What
// legitimately grows with the run is small: the subjects and versions the registrations add
// (a few KiB each, at most 10 a second). So the heap after the load may exceed the heap sampled
// at the end of the warm-up (the first 1/warmupFraction of the run) by at most heapSlack or
// half the warm-up heap, whichever is larger.
//
// Why 16 MiB: the live heap here is about 5-15 MiB. Samples taken under load swing by up to
// ~7 MiB with the requests in flight, and the sample after the load, with nothing in flight,
// has always come out below the warm-up sample (which includes requests in flight), so noise
// stays far from the bound. A leak grows with the traffic instead: keeping the bytes of every
// validated payload (about 850 on average here; a leak that keeps the decoded request keeps
// several times that) at the 400-1000 payloads a second this test reaches under -race on two
// cores adds 16-40 MiB in the 48 seconds after the warm-up of a default run. Tried: a gateway
// made to keep every payload's bytes failed a 60s -race run at 430 payloads a second (on a
// machine busy with other test runs) with 30.7 MiB against a bound of 24.7 MiB. Each run logs
// its own sensitivity, the bytes per validated payload a leak would have to keep to fail it,
// which is coarser when a busy machine lowers the achieved rate.
const (
	warmupFraction = 5 // the warm-up is the first 1/warmupFraction of the run
	heapSlack      = 16 << 20
)

func loadDuration(t *testing.T) time.Duration {
	if v := os.Getenv(durationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration such as 10s or 10m", durationEnv, v)
		}
		return d
	}
	if testing.Short() {
		return shortDuration
	}
	return defaultDuration
}

// TestLoad runs mixed traffic against an in-process gateway over loopback gRPC and HTTP for the
// run length, then shuts it down, and checks what a producer team and an operator rely on:
// every request answered as expected (a strict subject's drift is an expected rejection), the
// gateway counted every validation, the audit chain still verifies, strict drift paged, the heap
// stopped growing after the warm-up, and shutdown left no goroutine behind.
func TestLoad(t *testing.T) {
	duration := loadDuration(t)
	// The Alertmanager is another service: it runs before the gateway starts and after it stops,
	// so its server goroutine is part of the baseline; its per-connection goroutines are not.
	am := newFakeAlertmanager()
	t.Cleanup(am.srv.Close)
	baseline := goleak.IgnoreCurrent()
	goroutinesBefore := runtime.NumGoroutine()

	logs := newLogRecorder()
	metrics := prometheus.NewRegistry()
	cfg := gateway.DefaultConfig()
	cfg.Server.HTTPAddr, cfg.Server.GRPCAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Server.DataDir = t.TempDir()
	cfg.Governance.DocPath = filepath.Join(t.TempDir(), "schema_registry_governance.md")
	cfg.Alerting.AlertmanagerURL = am.srv.URL
	cfg.Auth.Principals = []auth.PrincipalConfig{
		{Name: "load-producer", Roles: []string{"producer"}, TokenSHA256: sha(tokenProducer)},
		{Name: "load-author", Roles: []string{"author"}, TokenSHA256: sha(tokenAuthor)},
		{Name: "load-admin", Roles: []string{"admin"}, TokenSHA256: sha(tokenAdmin)},
	}
	ctx := context.Background()
	g, err := gateway.New(ctx, gateway.Options{Config: cfg, Logger: slog.New(logs), Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopGateway := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- g.Run(runCtx) }()
	shutdown := sync.OnceValue(func() error {
		stopGateway()
		return <-runErr
	})
	t.Cleanup(func() { _ = shutdown() }) // on a t.Fatal before the end

	conn, err := grpc.NewClient(g.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: 16}
	defer transport.CloseIdleConnections()
	cl := &clients{conn: conn, http: &http.Client{Transport: transport}, httpBase: "http://" + g.HTTPAddr()}
	corpus, err := setupCorpus(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}

	// The load: twelve client goroutines on two cores, each looping until stop.
	tl := newTally(corpus)
	stop := make(chan struct{})
	l := &load{cl: cl, corpus: corpus, tally: tl, stop: stop}
	start := time.Now()
	var samples []memSample
	var sampler, workers sync.WaitGroup
	sampler.Go(func() { samples = sampleMemory(start, sampleInterval(duration), tl, stop) })
	for i := range 4 {
		workers.Go(func() { l.grpcUnary(i * 5) })
	}
	workers.Go(l.grpcBatch)
	for i := range 2 {
		workers.Go(func() { l.grpcStream(i * 7) })
	}
	for i := range 2 {
		workers.Go(func() { l.httpValidate(i*3 + 1) })
	}
	workers.Go(l.confluentReads)
	workers.Go(l.registrations)
	workers.Go(l.governanceReads)
	time.Sleep(duration)
	close(stop)
	workers.Wait()
	elapsed := time.Since(start)
	sampler.Wait()
	final := takeSample(start, tl) // the load is over: what is left is what the gateway keeps

	t.Logf("load ran %s with 12 client goroutines on %d CPUs, %d payload cases of %d bytes on average:\n%s",
		elapsed.Round(time.Millisecond), runtime.NumCPU(), len(corpus.cases), corpus.meanPayloadSize(), tl.report(elapsed))
	failures := tl.totalFailures()
	if failures > 0 {
		t.Errorf("%d requests did not answer as expected; the first:\n  %s", failures, strings.Join(tl.firstFailures(), "\n  "))
	}

	// Every validation the clients saw answered was counted once, by subject and outcome.
	if failures == 0 {
		if diff := cmp.Diff(tl.expectedValidationMetrics(), validationMetrics(t, metrics)); diff != "" {
			t.Errorf("schemagate_validations_total does not match the validations answered (-answered +counted):\n%s", diff)
		}
	}
	verify, err := rpc(cl, tokenProducer, func(ctx context.Context) (*pb.VerifyAuditChainResponse, error) {
		return pb.NewGovernanceServiceClient(conn).VerifyAuditChain(ctx, &pb.VerifyAuditChainRequest{})
	})
	if err != nil || !verify.GetOk() {
		t.Errorf("audit chain after the load: %v, %v; want it verified", verify, err)
	} else {
		t.Logf("audit chain verified: %d entries", verify.GetEntriesChecked())
	}

	// Graceful shutdown: clients first, then the gateway, which flushes evidence and alerts.
	conn.Close()
	transport.CloseIdleConnections()
	if err := shutdown(); err != nil {
		t.Errorf("Run after shutdown = %v; want a clean shutdown", err)
	}
	for _, a := range []struct{ alert, subject string }{
		{"SchemaDrift", subjectPayments}, {"SchemaDrift", subjectAudits},
		{"SchemaDriftCanary", subjectOrders}, {"SchemaDriftCanary", subjectEvents},
	} {
		if !am.received(a.alert, a.subject) {
			t.Errorf("Alertmanager never received %s for %s (%d posts)", a.alert, a.subject, am.postCount())
		}
	}
	warnings, errorLogs, firstLogs := logs.counts()
	t.Logf("gateway logged %d warnings and %d errors", warnings, errorLogs)
	if errorLogs > 0 {
		t.Errorf("the gateway logged %d errors under load; the first warnings and errors:\n  %s", errorLogs, strings.Join(firstLogs, "\n  "))
	}

	// No goroutine outlives the gateway and its clients, with the Alertmanager still up: the
	// gateway must not keep connections to it (or anything else) open after Run returns.
	goleak.VerifyNone(t, baseline)
	goroutinesAfter := runtime.NumGoroutine()
	t.Logf("goroutines: %d before the gateway started, %d under load (last sample), %d after shutdown",
		goroutinesBefore, lastGoroutines(samples, final), goroutinesAfter)
	if goroutinesAfter > goroutinesBefore {
		t.Errorf("%d goroutines after shutdown; want at most the %d before the gateway started", goroutinesAfter, goroutinesBefore)
	}

	checkHeap(t, duration, samples, final)
}

// sampleInterval is every few seconds: about fifteen samples a run, at least 250ms and at most
// 5s apart.
func sampleInterval(d time.Duration) time.Duration {
	return min(max(d/15, 250*time.Millisecond), 5*time.Second)
}

func lastGoroutines(samples []memSample, final memSample) int {
	if len(samples) == 0 {
		return final.goroutines
	}
	return samples[len(samples)-1].goroutines
}

// checkHeap logs the heap samples and fails when the heap after the load exceeds the warm-up
// heap by more than the bound explained at heapSlack.
func checkHeap(t *testing.T, duration time.Duration, samples []memSample, final memSample) {
	var lines []string
	warm, haveWarm := memSample{}, false
	for _, s := range samples {
		lines = append(lines, s.String())
		if !haveWarm && s.at >= duration/warmupFraction {
			warm, haveWarm = s, true
		}
	}
	lines = append(lines, final.String()+" (after the load)")
	t.Logf("heap samples (after a full GC):\n  %s", strings.Join(lines, "\n  "))
	if !haveWarm {
		t.Logf("no sample after the warm-up (%s); the heap bound is not checked on so short a run", duration/warmupFraction)
		return
	}
	limit := warm.heapAlloc + max(warm.heapAlloc/2, heapSlack)
	if payloads := final.payloads - warm.payloads; payloads > 0 {
		t.Logf("heap bound %.1f MiB (warm-up %.1f MiB at %s): a leak keeping %d bytes per validated payload (%d payloads since the warm-up) would fail this run",
			mib(limit), mib(warm.heapAlloc), warm.at.Round(time.Millisecond), (limit-warm.heapAlloc)/uint64(payloads), payloads)
	}
	if final.heapAlloc > limit {
		t.Errorf("live heap grew from %.1f MiB after the warm-up to %.1f MiB after the load; the bound is %.1f MiB: something keeps what it served",
			mib(warm.heapAlloc), mib(final.heapAlloc), mib(limit))
	}
}

// validationMetrics reads schemagate_validations_total by "subject|outcome" for the subjects
// the load validated.
func validationMetrics(t *testing.T, reg *prometheus.Registry) map[string]int64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range families {
		if f.GetName() != "schemagate_validations_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if v := int64(m.GetCounter().GetValue()); v > 0 {
				out[labels["subject"]+subjectOutcomeDivider+labels["outcome"]] = v
			}
		}
	}
	return out
}

// expectedValidationMetrics is the validations answered by "subject|outcome", non-zero only.
func (t *tally) expectedValidationMetrics() map[string]int64 {
	out := map[string]int64{}
	for k, n := range t.validations {
		if v := n.Load(); v > 0 {
			out[k] = v
		}
	}
	return out
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
