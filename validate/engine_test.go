package validate

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/schemagate/schemagate/registry"
)

// TestEngineTimesValidations: with a registerer the engine times the first of every 8 Validate
// calls, served or not, in schemagate_validation_duration_seconds; without one it validates the
// same and keeps no figures.
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
	// The first call (timed) is refused; the ninth and the seventeenth (timed) are served.
	if _, err := timed.Validate(ctx, Request{Subject: "nobody", Data: []byte{0}}); err == nil {
		t.Fatal("Validate of an unregistered subject succeeded")
	}
	valid := Request{Subject: "s", Format: FormatAvroBinary, Data: []byte{2, 'a'}}
	for range 2 * sampleEvery {
		for _, e := range []*Engine{timed, untimed} {
			if res, err := e.Validate(ctx, valid); err != nil || res.Invalid() {
				t.Fatalf("Validate = %+v, %v; want valid", res, err)
			}
		}
	}
	if n := testutil.CollectAndCount(metrics, "schemagate_validation_duration_seconds"); n != 1 {
		t.Fatalf("schemagate_validation_duration_seconds series = %d; want 1", n)
	}
	if got := sampleCount(t, metrics); got != 3 {
		t.Errorf("timed validations = %d of %d; want 3 (the first of every %d: one refused, two served)", got, 2*sampleEvery+1, sampleEvery)
	}
	if untimed.metrics != nil {
		t.Error("an engine without a registerer keeps metrics")
	}
}

// TestEngineJSONTextInData validates JSON and AVRO_JSON payloads sent as text in Data: numbers
// stay exactly as written (2^53+1 is over a maximum of 2^53, 1e400 is a number and is out of
// range for an Avro double), malformed text is a refused request as json_text is, nesting past
// the limit is a finding, the size limit counts Data's bytes, and a request may carry one
// payload only.
func TestEngineJSONTextInData(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	for _, s := range []struct {
		subject string
		in      registry.SchemaInput
	}{
		{"max", registry.SchemaInput{Type: registry.SchemaTypeJSON, Text: `{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740992}}}`}},
		{"num", registry.SchemaInput{Type: registry.SchemaTypeJSON, Text: `{"type":"number"}`}},
		{"avro", registry.SchemaInput{Type: registry.SchemaTypeAvro, Text: `{"type":"record","name":"R","fields":[{"name":"l","type":"long"},{"name":"d","type":"double"}]}`}},
	} {
		if _, err := reg.Register(ctx, s.subject, s.in); err != nil {
			t.Fatal(err)
		}
	}
	e, err := NewEngine(Options{Source: reg, Limits: Limits{MaxPayloadBytes: 200}})
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		Findings []Finding
		Err      string // "" when served; else the error's text, wrapping ErrBadRequest or ErrTooLarge
	}
	served := func(f ...Finding) outcome { return outcome{Findings: f} }
	tests := []struct {
		name string
		req  Request
		want outcome
	}{
		{"2^53 at a maximum of 2^53", Request{Subject: "max", Format: FormatJSON, Data: []byte(`{"n":9007199254740992}`)}, served()},
		{"2^53+1 over a maximum of 2^53", Request{Subject: "max", Format: FormatJSON, Data: []byte(` {"n": 9007199254740993}` + "\n")},
			served(Finding{Kind: KindConstraintViolation, Path: "/n", Message: "must be <= 9007199254740992 but found 9007199254740993"})},
		{"1e400 is a number", Request{Subject: "num", Format: FormatJSON, Data: []byte(`1e400`)}, served()},
		{"a string is not a number", Request{Subject: "num", Format: FormatJSON, Data: []byte(`"1"`)},
			served(Finding{Kind: KindTypeMismatch, Message: "want number, got string"})},
		{"Avro JSON: 2^53+1 as a long", Request{Subject: "avro", Format: FormatAvroJSON, Data: []byte(`{"l":9007199254740993,"d":1.5}`)}, served()},
		{"Avro JSON: 1e400 as a double", Request{Subject: "avro", Format: FormatAvroJSON, Data: []byte(`{"l":1,"d":1e400}`)},
			served(Finding{Kind: KindConstraintViolation, Path: "/d", Message: "1e400 is out of range for double"})},
		{"nested past the limit", Request{Subject: "num", Format: FormatJSON, Data: []byte(strings.Repeat("[", 70) + strings.Repeat("]", 70))},
			served(Finding{Kind: KindDecodeError, Message: "payload nested too deeply: nesting deeper than the limit of 64 at byte offset 64"})},

		{"invalid UTF-8", Request{Subject: "num", Format: FormatJSON, Data: []byte("\"a\xffb\"")},
			outcome{Err: "bad validation request: data: malformed JSON: invalid UTF-8 at byte offset 2"}},
		{"two JSON values", Request{Subject: "num", Format: FormatJSON, Data: []byte(`1 2`)},
			outcome{Err: "bad validation request: data: malformed JSON: data after the JSON value at byte offset 2"}},
		{"no JSON value", Request{Subject: "num", Format: FormatJSON, Data: []byte{}},
			outcome{Err: "bad validation request: data: malformed JSON: empty payload at byte offset 0"}},
		{"over the size limit in bytes", Request{Subject: "num", Format: FormatJSON, Data: []byte("1" + strings.Repeat(" ", 200))},
			outcome{Err: "payload too large: payload is 201 bytes, the limit is 200"}},
		{"JSON for an Avro schema", Request{Subject: "avro", Format: FormatJSON, Data: []byte(`{}`)},
			outcome{Err: "bad validation request: schema 3 is an Avro schema; use AVRO_JSON for JSON payloads"}},
		{"data and json", Request{Subject: "num", Format: FormatJSON, Data: []byte(`1`), JSON: "1", HasJSON: true},
			outcome{Err: "bad validation request: set one payload: json, json_text or data"}},
		{"data and json_text", Request{Subject: "num", Format: FormatJSON, Data: []byte(`1`), JSONText: []byte(`1`)},
			outcome{Err: "bad validation request: set one payload: json, json_text or data"}},
		{"json as CONFLUENT", Request{Subject: "num", Format: FormatConfluent, JSONText: []byte(`1`)},
			outcome{Err: "bad validation request: CONFLUENT, AVRO_BINARY and PROTOBUF payloads go in data, not in json or json_text"}},
		{"data without a format is Confluent-framed", Request{Subject: "num", Data: []byte(`1`)},
			served(Finding{Kind: KindDecodeError, Message: "not a Confluent-framed payload: 1 bytes, need at least 5 (magic byte 0 and a 4-byte schema ID)"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Validate(ctx, tc.req)
			got := outcome{Findings: res.Findings}
			if err != nil {
				got.Err = err.Error()
				if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrTooLarge) {
					t.Errorf("Validate error %v wraps neither ErrBadRequest nor ErrTooLarge", err)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
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

// TestEngineForgetsReusedSchemaID: a payload framed with a schema ID that IMPORT mode gave to
// other content (its old schema permanently deleted) validates against the new schema once the
// registry's change reaches the engine, as the gateway wires it, though the engine had compiled
// the old schema under that ID.
func TestEngineForgetsReusedSchemaID(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	e, err := NewEngine(Options{Source: reg})
	if err != nil {
		t.Fatal(err)
	}
	reg.OnSchemaReplaced(e.InvalidateSchema)
	reg.OnChange(func(_ context.Context, c registry.Change) { e.InvalidateSubject(c.Subject) })
	record := func(name, typ string) registry.SchemaInput {
		return registry.SchemaInput{Type: registry.SchemaTypeAvro,
			Text: `{"name":"` + name + `","type":"record","fields":[{"name":"f","type":"` + typ + `"}]}`}
	}
	old, err := reg.Register(ctx, "old", record("Old", "int"))
	if err != nil {
		t.Fatal(err)
	}
	framed := func(body ...byte) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(old.Schema.ID)), body...)
	}
	intOne, stringHi := framed(2), framed(4, 'h', 'i')
	// The engine compiles the old schema under the ID.
	if res, err := e.Validate(ctx, Request{Subject: "old", Data: intOne}); err != nil || res.Invalid() {
		t.Fatalf("before: Validate = %+v, %v; want valid", res, err)
	}
	for _, permanent := range []bool{false, true} {
		if _, err := reg.DeleteSubject(ctx, "old", permanent); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.SetAccessMode(ctx, "imported", registry.ModeImport, false); err != nil {
		t.Fatal(err)
	}
	in := record("New", "string")
	in.ID = old.Schema.ID
	if _, err := reg.Register(ctx, "imported", in); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		SchemaID int
		Kinds    []Kind
	}
	tests := []struct {
		name string
		data []byte
		want outcome
	}{
		{"a string, as the new schema has it", stringHi, outcome{SchemaID: old.Schema.ID}},
		{"an int, as the old schema had it", intOne, outcome{SchemaID: old.Schema.ID, Kinds: []Kind{KindDecodeError}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Validate(ctx, Request{Subject: "imported", Data: tc.data})
			if err != nil {
				t.Fatal(err)
			}
			got := outcome{SchemaID: res.SchemaID}
			for _, f := range res.Findings {
				got.Kinds = append(got.Kinds, f.Kind)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}
