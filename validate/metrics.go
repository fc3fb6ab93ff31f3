package validate

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// sampleEvery is how many validations share one timing: the engine times the first of every
// sampleEvery validations, so the clock is read twice per sampleEvery payloads rather than twice
// per payload (about 70 ns, most of what a small Avro payload costs the engine beyond its check).
const sampleEvery = 8

// metrics are the engine's own: how long validations take, timed on a sample.
type metrics struct {
	duration prometheus.Histogram
	// calls counts Validate calls, to pick the ones timed.
	calls atomic.Uint64
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
			Help:    "Time to validate one payload, in the engine; one validation in 8 is timed (the count is an eighth of the validations, quantiles and the mean hold).",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1},
		}),
	}
	if err := reg.Register(m.duration); err != nil {
		return nil, fmt.Errorf("validate: register metrics: %w", err)
	}
	return m, nil
}

// sampled reports whether this validation is one of the timed: the first of every sampleEvery
// calls, so the histogram holds a uniform sample whose quantiles and mean are those of all
// validations, and whose count is 1/sampleEvery of theirs (schemagate_validations_total counts
// them all).
func (m *metrics) sampled() bool {
	return (m.calls.Add(1)-1)%sampleEvery == 0
}

// observe records a validation that started at start. (Validate defers it: a wrapper that
// copies the request and the result costs more than the timing itself.)
func (m *metrics) observe(start time.Time) {
	m.duration.Observe(time.Since(start).Seconds())
}
