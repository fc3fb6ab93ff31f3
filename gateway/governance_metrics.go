package gateway

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/governance"
)

// governanceMetrics are refreshed by the governance tick, not on the scrape, so a scrape never
// queries the store: the clean-window gauges per subject and the audit entries per action.
type governanceMetrics struct {
	clean    *prometheus.GaugeVec
	eligible *prometheus.GaugeVec
	mode     *prometheus.GaugeVec
	audit    *governance.Audit

	mu      sync.Mutex
	entries map[string]int64
	desc    *prometheus.Desc
}

func newGovernanceMetrics(reg prometheus.Registerer, audit *governance.Audit) (*governanceMetrics, error) {
	m := &governanceMetrics{
		clean: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "schemagate_clean_window_seconds", Help: "Clean time in the subject's current window.",
		}, []string{"subject"}),
		eligible: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "schemagate_promotion_eligible", Help: "1 when the subject may be promoted to strict.",
		}, []string{"subject"}),
		mode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "schemagate_subject_validation_mode", Help: "1 for the subject's validation mode, 0 for the other.",
		}, []string{"subject", "mode"}),
		audit:   audit,
		entries: map[string]int64{},
		desc:    prometheus.NewDesc("schemagate_audit_entries_total", "Audit log entries by action (all replicas, from the store).", []string{"action"}, nil),
	}
	for _, c := range []prometheus.Collector{m.clean, m.eligible, m.mode, m} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register governance metrics: %w", err)
		}
	}
	return m, nil
}

// Describe implements prometheus.Collector for the audit counter.
func (m *governanceMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.desc }

// Collect implements prometheus.Collector for the audit counter, from the last tick's counts.
func (m *governanceMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for action, n := range m.entries {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(n), action)
	}
}

// update recomputes the gauges of subjects and the audit counts.
func (m *governanceMetrics) update(ctx context.Context, gov *governance.Governor, subjects []string) error {
	for _, s := range subjects {
		st, err := gov.Status(ctx, s)
		if err != nil {
			return err
		}
		m.clean.WithLabelValues(s).Set(st.Clean.Seconds())
		eligible := 0.0
		if st.Eligible {
			eligible = 1
		}
		m.eligible.WithLabelValues(s).Set(eligible)
		for _, mode := range []governance.Mode{governance.ModeCanary, governance.ModeStrict} {
			v := 0.0
			if st.Mode == mode {
				v = 1
			}
			m.mode.WithLabelValues(s, string(mode)).Set(v)
		}
	}
	counts, err := m.audit.CountByAction(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.entries = counts
	m.mu.Unlock()
	return nil
}
