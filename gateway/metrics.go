package gateway

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/store"
)

// feedMetrics are the change feed's metrics (store.FeedObserver): what reaches this replica of
// other replicas' changes, how late, and whether it listens or polls.
type feedMetrics struct {
	notices   *prometheus.CounterVec
	lag       prometheus.Histogram
	resyncs   *prometheus.CounterVec
	listening prometheus.Gauge
}

// newFeedMetrics registers the change feed's metrics on r.
func newFeedMetrics(r prometheus.Registerer) (*feedMetrics, error) {
	m := &feedMetrics{
		notices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_change_feed_notices_total",
			Help: "Notices of other replicas' changes this replica has applied, by topic (registry, registry.schema, governance.mode).",
		}, []string{"topic"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "schemagate_change_feed_delivery_lag_seconds",
			Help: "Time from another replica's publication of a change (its clock) to this replica having applied it.",
			// From a NOTIFY on one host (milliseconds) to polling after a lost connection (seconds).
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_change_feed_resyncs_total",
			Help: "Full reloads of what this replica holds: reason interval (the periodic safety net) or reconnect (the listening connection came back).",
		}, []string{"reason"}),
		listening: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "schemagate_change_feed_listening",
			Help: "1 while the change feed listens for PostgreSQL notifications, 0 while it polls the change table (always 0 on SQLite).",
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.notices, m.lag, m.resyncs, m.listening} {
		errs = append(errs, r.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("metrics: change feed: %w", err)
	}
	for _, reason := range []string{store.ResyncInterval, store.ResyncReconnect} {
		m.resyncs.WithLabelValues(reason) // both series exist from the start, at 0
	}
	return m, nil
}

// Delivered counts a notice applied and observes its lag, when its change carried a time (one
// written before migration 0014 did not).
func (m *feedMetrics) Delivered(topic string, lag time.Duration, known bool) {
	m.notices.WithLabelValues(topic).Inc()
	if known {
		m.lag.Observe(lag.Seconds())
	}
}

// Resynced counts a resync.
func (m *feedMetrics) Resynced(reason string) { m.resyncs.WithLabelValues(reason).Inc() }

// Listening sets the listening gauge.
func (m *feedMetrics) Listening(listening bool) {
	if listening {
		m.listening.Set(1)
	} else {
		m.listening.Set(0)
	}
}
