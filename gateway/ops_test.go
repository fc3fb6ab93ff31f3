package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// describingRegistry records the name of every metric registered, series or not.
type describingRegistry struct {
	*prometheus.Registry
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *describingRegistry) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.Registry.Register(c)
}

func (r *describingRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// exportedMetrics starts a gateway in each mode and returns the names of every schemagate metric it
// registers.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	// Both modes: upstream mode adds the upstream client's metrics (schemagate_upstream_*).
	// Nothing listens at the upstream URL; the gateway starts degraded, as it does in
	// production when the upstream is down.
	for _, upstreamURL := range []string{"", "http://127.0.0.1:9"} {
		cfg := DefaultConfig()
		cfg.Server.HTTPAddr, cfg.Server.GRPCAddr, cfg.Server.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
		cfg.SchemaRegistry.Upstream.URL = upstreamURL
		cfg.SchemaRegistry.Upstream.Timeout = 100 * time.Millisecond
		each := &describingRegistry{Registry: prometheus.NewRegistry(), names: names}
		g, err := New(context.Background(), Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Metrics: each})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := g.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

var metricRef = regexp.MustCompile(`\bschemagate_[a-z_]+\b`)

// referencedMetrics returns the schemagate metric names in text, with histogram suffixes
// mapped to the histogram.
func referencedMetrics(text string, exported map[string]bool) []string {
	seen := map[string]bool{}
	for _, m := range metricRef.FindAllString(text, -1) {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base, ok := strings.CutSuffix(m, suffix); ok && exported[base] {
				m = base
			}
		}
		seen[m] = true
	}
	var out []string
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// TestDashboardAndRulesUseExportedMetrics parses the Grafana dashboard and the alert rules and
// fails when an expression names a metric the gateway does not export.
func TestDashboardAndRulesUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	for _, want := range []string{"schemagate_validations_total", "schemagate_drift_findings_total", "schemagate_alert_deliveries_total"} {
		if !exported[want] {
			t.Fatalf("gateway does not register %s; exported: %v", want, exported)
		}
	}
	raw, err := os.ReadFile("../docs/operations/dashboards/schemagate.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	var exprs int
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			exprs++
			for _, m := range referencedMetrics(target.Expr, exported) {
				if !exported[m] {
					t.Errorf("dashboard panel %q uses %s, which the gateway does not export", p.Title, m)
				}
			}
		}
	}
	if exprs < 8 {
		t.Errorf("dashboard has %d expressions; want the panels of the operations bundle", exprs)
	}
	rules, err := os.ReadFile("../docs/operations/alerts/schemagate.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range referencedMetrics(string(rules), exported) {
		if !exported[m] {
			t.Errorf("alert rules use %s, which the gateway does not export", m)
		}
	}
}
