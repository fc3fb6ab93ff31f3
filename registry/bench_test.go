package registry

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchSchema is a record with fields f0..f(n-1), each optional with a default, so every
// version is fully compatible with every other: the checks run to the end instead of
// stopping at the first problem.
func benchSchema(n int) string {
	fields := make([]string, n)
	for i := range fields {
		fields[i] = fmt.Sprintf(`{"name":"f%d","type":["null","string"],"default":null}`, i)
	}
	return `{"type":"record","name":"Bench","namespace":"bench","fields":[` + strings.Join(fields, ",") + `]}`
}

// fillSubject registers versions 1..n of subject under NONE, then sets FULL_TRANSITIVE.
func fillSubject(b *testing.B, r *Registry, subject string, n int) {
	b.Helper()
	ctx := context.Background()
	if _, err := r.SetConfig(ctx, subject, Config{Compatibility: CompatNone}); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := r.Register(ctx, subject, avroIn(benchSchema(i))); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.SetConfig(ctx, subject, Config{Compatibility: CompatFullTransitive}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkParseBaseline parses and canonicalizes one candidate schema: the in-process
// baseline the figures below are divided by.
func BenchmarkParseBaseline(b *testing.B) {
	text := benchSchema(20)
	for b.Loop() {
		if _, err := parse(SchemaTypeAvro, text, nil, testLimits, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckFullTransitive checks a new version against a subject holding 1, 10, 100 and
// 1,000 versions under FULL_TRANSITIVE (both directions against every version). Earlier
// versions come parsed from the cache, so the cost per version is the check itself.
func BenchmarkCheckFullTransitive(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("versions=%d", n), func(b *testing.B) {
			r, _ := newTestRegistry(b)
			fillSubject(b, r, "s", n)
			candidate := avroIn(benchSchema(20))
			ctx := context.Background()
			for b.Loop() {
				msgs, err := r.CheckCompatibility(ctx, "s", 0, candidate)
				if err != nil || len(msgs) > 0 {
					b.Fatalf("check: %v %q", err, msgs)
				}
			}
		})
	}
}

// BenchmarkRegisterFullTransitive registers new versions in a subject that holds 1, 10, 100
// and 1,000 versions under FULL_TRANSITIVE. Each iteration adds a version, so the subject
// grows by b.N during the run (small next to n for the larger sizes).
func BenchmarkRegisterFullTransitive(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("versions=%d", n), func(b *testing.B) {
			r, _ := newTestRegistry(b)
			fillSubject(b, r, "s", n)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				i++
				text := benchSchema(1) // a distinct schema each time: one more optional field named after i
				text = strings.Replace(text, `"f0"`, fmt.Sprintf(`"g%d"`, i), 1)
				if _, err := r.Register(ctx, "s", avroIn(text)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSchemaByID reads one schema by ID, the call serializers make on every new ID.
func BenchmarkSchemaByID(b *testing.B) {
	r, _ := newTestRegistry(b)
	sv, err := r.Register(context.Background(), "s", avroIn(benchSchema(20)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.SchemaByID(ctx, sv.Schema.ID); err != nil {
			b.Fatal(err)
		}
	}
}
