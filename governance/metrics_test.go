package governance

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestValidationCountersCached: validations counted through the per-subject cache of
// children reach the series their subject, mode and outcome name, repeated validations add up
// on the same series, and only series that were counted appear, as with WithLabelValues.
func TestValidationCountersCached(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		subject string
		d       Decision
		times   int
	}{
		{"orders-value", Decision{Outcome: OutcomeValid, Mode: ModeCanary}, 3},
		{"orders-value", Decision{Outcome: OutcomeFlagged, Mode: ModeCanary}, 2},
		{"orders-value", Decision{Outcome: OutcomeRejected, Mode: ModeStrict}, 1},
		{"events-value", Decision{Outcome: OutcomeValid, Mode: ModeStrict}, 4},
		{unregisteredSubject, Decision{Outcome: OutcomeValid, Mode: ModeCanary}, 1},
		{"odd-value", Decision{Outcome: 0, Mode: "other"}, 1}, // outside the cache: still counted
	} {
		for range v.times {
			m.validated(v.subject, v.d, nil)
		}
	}
	want := `
# HELP schemagate_validations_total Payload validations by subject, validation mode and outcome (valid, flagged, rejected).
# TYPE schemagate_validations_total counter
schemagate_validations_total{mode="canary",outcome="flagged",subject="orders-value"} 2
schemagate_validations_total{mode="canary",outcome="valid",subject="_unregistered"} 1
schemagate_validations_total{mode="canary",outcome="valid",subject="orders-value"} 3
schemagate_validations_total{mode="other",outcome="unknown",subject="odd-value"} 1
schemagate_validations_total{mode="strict",outcome="rejected",subject="orders-value"} 1
schemagate_validations_total{mode="strict",outcome="valid",subject="events-value"} 4
`
	if err := testutil.CollectAndCompare(m.validations, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if diff := cmp.Diff(6, testutil.CollectAndCount(m.validations)); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}
