package validate

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's own: how long validations take.
type metrics struct {
	duration prometheus.Histogram
}

// newMetrics builds the engine's metrics and registers them with reg. Without a registerer
// (engines built outside a server, such as benchmarks) there are none, and validations are not
// timed: nobody could read the figures.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "schemagate_validation_duration_seconds",
			Help:    "Time to validate one payload, in the engine.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1},
		}),
	}
	if err := reg.Register(m.duration); err != nil {
		return nil, fmt.Errorf("validate: register metrics: %w", err)
	}
	return m, nil
}

// observe records a validation that started at start. (Validate defers it: a wrapper that
// copies the request and the result costs more than the timing itself.)
func (m *metrics) observe(start time.Time) {
	m.duration.Observe(time.Since(start).Seconds())
}
