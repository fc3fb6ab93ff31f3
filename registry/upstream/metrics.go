package upstream

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of the requests_total metric.
const (
	resultOK          = "ok"           // a 1xx–3xx answer
	resultClientError = "client_error" // a 4xx answer other than 401 and 403
	resultAuthRefused = "auth_refused" // 401 or 403: the upstream refused schemagate's credentials
	resultServerError = "server_error" // a 5xx answer (after the retries of a GET)
	resultUnavailable = "unavailable"  // no answer: transport failure or Options.Timeout
	resultCanceled    = "canceled"     // no answer, and the caller's context ended
)

// metrics are the client's collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	up       prometheus.Gauge
}

// newMetrics builds the collectors and registers them with reg when it is not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_upstream_requests_total",
			Help: "Calls to the upstream schema registry, by operation and result (ok, client_error, auth_refused, server_error, unavailable, canceled); a call counts once whatever its retries.",
		}, []string{"op", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "schemagate_upstream_request_duration_seconds",
			Help:    "Duration of calls to the upstream schema registry, retries included, by operation.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"op"}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "schemagate_upstream_up",
			Help: "1 when the last call to the upstream schema registry got an answer below 500, 0 when it got none (transport failure, timeout), a 5xx, or a refusal of schemagate's credentials (401, 403).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.up} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("upstream: register metrics: %w", err)
		}
	}
	return m, nil
}

// observe records a call of op that started at start, got status (0 for none) and err, under
// the caller's context parent.
func (c *Client) observe(parent context.Context, op string, start time.Time, status int, err error) {
	c.metrics.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	result := resultOK
	switch {
	case err != nil && parent.Err() != nil:
		// The caller's context ended (cancelled, or its own deadline shorter than
		// Options.Timeout): this says too little about the upstream to change schemagate_upstream_up.
		result = resultCanceled
	case err != nil:
		result = resultUnavailable
		c.metrics.up.Set(0)
		c.logger.Warn("upstream registry unreachable", "op", op, "error", err)
	case status >= 500:
		result = resultServerError
		c.metrics.up.Set(0)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// schemagate's own credentials: every call will fail alike until an operator acts.
		result = resultAuthRefused
		c.metrics.up.Set(0)
		c.logger.Error("upstream registry refused schemagate's credentials (schema_registry.upstream)", "op", op, "status", status)
	case status >= 400:
		result = resultClientError
		c.metrics.up.Set(1)
	default:
		c.metrics.up.Set(1)
	}
	c.metrics.requests.WithLabelValues(op, result).Inc()
}
