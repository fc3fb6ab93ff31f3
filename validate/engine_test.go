package validate

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/schemagate/schemagate/registry"
)

// TestEngineTimesValidations: with a registerer the engine times every Validate call, served
// or not, in schemagate_validation_duration_seconds; without one it validates the same and
// keeps no figures.
func TestEngineTimesValidations(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	if _, err := reg.Register(ctx, "s", registry.SchemaInput{Type: registry.SchemaTypeAvro, Text: `"string"`}); err != nil {
		t.Fatal(err)
	}
	metrics := prometheus.NewPedanticRegistry()
	timed, err := NewEngine(Options{Source: reg, Registerer: metrics})
	if err != nil {
		t.Fatal(err)
	}
	untimed, err := NewEngine(Options{Source: reg})
	if err != nil {
		t.Fatal(err)
	}
	valid := Request{Subject: "s", Format: FormatAvroBinary, Data: []byte{2, 'a'}}
	for _, e := range []*Engine{timed, untimed} {
		if res, err := e.Validate(ctx, valid); err != nil || res.Invalid() {
			t.Fatalf("Validate = %+v, %v; want valid", res, err)
		}
	}
	if _, err := timed.Validate(ctx, Request{Subject: "nobody", Data: []byte{0}}); err == nil {
		t.Fatal("Validate of an unregistered subject succeeded")
	}
	if n := testutil.CollectAndCount(metrics, "schemagate_validation_duration_seconds"); n != 1 {
		t.Fatalf("schemagate_validation_duration_seconds series = %d; want 1", n)
	}
	if got := sampleCount(t, metrics); got != 2 {
		t.Errorf("timed validations = %d; want 2 (one served, one refused)", got)
	}
	if untimed.metrics != nil {
		t.Error("an engine without a registerer keeps metrics")
	}
}

// sampleCount is the observation count of the duration histogram in g.
func sampleCount(t *testing.T, g prometheus.Gatherer) uint64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "schemagate_validation_duration_seconds" {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

// BenchmarkEngineValidate is the engine's path for a small Avro record framed with its ID:
// the subject index, the cached validator and the binary check, without metrics.
func BenchmarkEngineValidate(b *testing.B) {
	ctx := b.Context()
	reg := newTestRegistry(b)
	sv, err := reg.Register(ctx, "s", registry.SchemaInput{Type: registry.SchemaTypeAvro,
		Text: `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"long"},{"name":"c","type":"string"},{"name":"d","type":"long"}]}`})
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(Options{Source: reg})
	if err != nil {
		b.Fatal(err)
	}
	data := append([]byte{0, 0, 0, 0, byte(sv.Schema.ID)}, 6, 'a', 'b', 'c', 2, 6, 'd', 'e', 'f', 4)
	req := Request{Subject: "s", Data: data}
	if res, err := e.Validate(ctx, req); err != nil || res.Invalid() {
		b.Fatalf("Validate = %+v, %v", res, err)
	}
	for b.Loop() {
		if _, err := e.Validate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
