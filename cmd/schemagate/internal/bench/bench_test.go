package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The go test -bench view of `schemagate bench`: the same server, corpora and workloads.
// Compare ns/op across paths within one run:
//
//	go test -run '^$' -bench 'Validate' -count 3 ./cmd/schemagate/internal/bench/
//
// errNotApplicable is what a workload returns for a corpus it does not apply to; the corpus is
// skipped.
var errNotApplicable = errors.New("workload does not apply to this corpus")

func benchWorkload(b *testing.B, run func(e *env, c corpus, n int) error) {
	ctx := context.Background()
	e, cleanup, err := newEnv(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer cleanup()
	for _, c := range e.corpora {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(c.size))
			b.ResetTimer()
			if err := run(e, c, b.N); errors.Is(err, errNotApplicable) {
				b.Skip(err)
			} else if err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkValidateEngine(b *testing.B) {
	benchWorkload(b, func(e *env, c corpus, n int) error { return e.engine(context.Background(), c, n) })
}

func BenchmarkValidateEvidenceRecord(b *testing.B) {
	benchWorkload(b, func(e *env, c corpus, n int) error { return e.evidence(context.Background(), c, n) })
}

func BenchmarkValidateStream(b *testing.B) {
	benchWorkload(b, func(e *env, c corpus, n int) error { return e.stream(context.Background(), c, n) })
}

func BenchmarkValidateBatch100(b *testing.B) {
	benchWorkload(b, func(e *env, c corpus, n int) error { return e.batch(context.Background(), c, n) })
}

func BenchmarkValidateUnary(b *testing.B) {
	benchWorkload(b, func(e *env, c corpus, n int) error {
		_, err := e.unary(context.Background(), c.req, n)
		return err
	})
}

// BenchmarkValidateUnaryJSONText is BenchmarkValidateUnary with each JSON corpus's payload sent
// as json_text instead of a Value (Avro corpora have no text form and are skipped).
func BenchmarkValidateUnaryJSONText(b *testing.B) {
	benchWorkload(b, func(e *env, c corpus, n int) error {
		if c.textReq == nil {
			return errNotApplicable
		}
		_, err := e.unary(context.Background(), c.textReq, n)
		return err
	})
}

func BenchmarkNoopUnaryRPC(b *testing.B) {
	ctx := context.Background()
	e, cleanup, err := newEnv(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer cleanup()
	b.ResetTimer()
	if _, err := e.noop(ctx, b.N); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkValidateHTTP(b *testing.B) {
	benchWorkload(b, func(e *env, c corpus, n int) error { return e.httpValidate(context.Background(), c, n) })
}

// TestRunBench runs every bench path briefly: each corpus gets every row, in order, the
// stream and batch beside their transport floor and the client's protobuf cost, the corpora have the
// sizes the bench promises, and every workload validated its payloads as valid (a workload
// fails on any other outcome). It asserts no speed.
func TestRunBench(t *testing.T) {
	rows, err := Run(context.Background(), Options{Duration: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range rows {
		got[r.Corpus] = append(got[r.Corpus], r.Path)
		if r.PerSecond <= 0 || r.Ratio <= 0 {
			t.Errorf("row %+v has no rate or ratio", r)
		}
		if (r.Path == "ValidateStream" || r.Path == "ValidateBatch x100") && !strings.Contains(r.Note, "less the client's protobuf too") {
			t.Errorf("row %+v does not say what a payload costs over the floor", r)
		}
		if r.Path == "engine (baseline)" {
			var size int
			if _, err := fmt.Sscanf(r.Note, "%d-byte payload", &size); err != nil {
				t.Fatal(err)
			}
			lo, hi := 150, 300
			if strings.HasSuffix(r.Corpus, "medium") {
				lo, hi = 3500, 4700
			}
			if size < lo || size > hi {
				t.Errorf("%s payload is %d bytes; want %d to %d", r.Corpus, size, lo, hi)
			}
		}
	}
	paths := []string{"engine (baseline)", "evidence record", "stream floor", "stream client protobuf", "ValidateStream",
		"batch x100 floor", "batch client protobuf", "ValidateBatch x100", "HTTP validate", "unary Validate p50"}
	want := map[string][]string{}
	for _, c := range []string{"avro-small", "avro-medium", "json-small", "json-medium", "proto-small", "proto-medium"} {
		want[c] = paths
		if strings.HasPrefix(c, "json") { // JSON corpora have a row more: unary json_text
			want[c] = append(slices.Clone(paths), "unary json_text p50")
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows per corpus (-want +got):\n%s", diff)
	}
}
