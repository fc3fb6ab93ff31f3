package console

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// evidence builds a response of buckets an hour wide from t0, each given as validations,
// violations and whether a replica recorded; lastRecorded is its index (-1: none).
func evidence(t0 time.Time, lastRecorded int, buckets ...[3]int64) *pb.GetSubjectEvidenceResponse {
	ev := &pb.GetSubjectEvidenceResponse{BucketWidth: durationpb.New(time.Hour)}
	for i, b := range buckets {
		ev.Buckets = append(ev.Buckets, &pb.EvidenceBucket{Start: timestamppb.New(t0.Add(time.Duration(i) * time.Hour)),
			Validations: b[0], Violations: b[1], Recorded: b[2] == 1})
	}
	if lastRecorded >= 0 {
		ev.LastRecorded = timestamppb.New(t0.Add(time.Duration(lastRecorded) * time.Hour))
	}
	return ev
}

// stale marks ev as governance marks evidence that has stopped growing.
func stale(ev *pb.GetSubjectEvidenceResponse) *pb.GetSubjectEvidenceResponse {
	ev.Stale = true
	return ev
}

func TestNewChart(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	type shape struct {
		Gaps    []bool
		Heights []float64 // validations
		Viol    []float64
		WindowX float64
		Stale   bool
		Summary string
	}
	tests := []struct {
		name   string
		ev     *pb.GetSubjectEvidenceResponse
		window time.Time
		want   shape
	}{
		{"recording, window in the second bucket", evidence(t0, 3, [3]int64{10, 0, 1}, [3]int64{5, 5, 1}, [3]int64{0, 0, 1}, [3]int64{10, 0, 1}), t0.Add(90 * time.Minute),
			shape{Gaps: []bool{false, false, false, false}, Heights: []float64{130, 65, 0, 130}, Viol: []float64{0, 65, 0, 0}, WindowX: 270,
				Summary: "4 buckets of 1h0m0s from Dec 1 00:00 to Dec 1 03:00: 25 validations, 5 violations."}},
		{"downtime is a gap, and stale as governance says", stale(evidence(t0, 0, [3]int64{4, 0, 1}, [3]int64{0, 0, 0}, [3]int64{0, 0, 0}, [3]int64{0, 0, 0})), time.Time{},
			shape{Gaps: []bool{false, true, true, true}, Heights: []float64{130, 130, 130, 130}, Viol: []float64{0, 0, 0, 0}, WindowX: -1, Stale: true,
				Summary: "4 buckets of 1h0m0s from Dec 1 00:00 to Dec 1 03:00: 4 validations, 0 violations."}},
		{"nothing recorded at all", stale(evidence(t0, -1, [3]int64{0, 0, 0})), time.Time{},
			shape{Gaps: []bool{true}, Heights: []float64{130}, Viol: []float64{0}, WindowX: -1, Stale: true,
				Summary: "1 buckets of 1h0m0s from Dec 1 00:00 to Dec 1 00:00: 0 validations, 0 violations."}},
	}
	for _, tt := range tests {
		c := newChart(tt.ev, tt.window)
		got := shape{WindowX: c.WindowX, Stale: c.Stale, Summary: c.Summary}
		for _, b := range c.Bars {
			got.Gaps, got.Heights, got.Viol = append(got.Gaps, b.Gap), append(got.Heights, b.V), append(got.Viol, b.X2)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestLineDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want []diffLine
	}{
		{"equal", "x\ny", "x\ny", []diffLine{{Op: "same", Left: "x", Right: "x", LeftN: 1, RightN: 1}, {Op: "same", Left: "y", Right: "y", LeftN: 2, RightN: 2}}},
		{"a line added", "{\n}", "{\n  f\n}", []diffLine{
			{Op: "same", Left: "{", Right: "{", LeftN: 1, RightN: 1}, {Op: "add", Right: "  f", RightN: 2}, {Op: "same", Left: "}", Right: "}", LeftN: 2, RightN: 3}}},
		{"a line changed", "a\nb\nc", "a\nB\nc", []diffLine{
			{Op: "same", Left: "a", Right: "a", LeftN: 1, RightN: 1}, {Op: "del", Left: "b", LeftN: 2}, {Op: "add", Right: "B", RightN: 2},
			{Op: "same", Left: "c", Right: "c", LeftN: 3, RightN: 3}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, lineDiff(tt.a, tt.b)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// FuzzLineDiff: the diff of any two texts never panics, and its left and right sides, read in
// order, are the two texts.
func FuzzLineDiff(f *testing.F) {
	f.Add("a\nb\nc", "a\nB\nc")
	f.Add("", "x")
	f.Add("{\n  \"type\": \"record\"\n}", "{\n  \"type\": \"record\",\n  \"name\": \"R\"\n}")
	f.Fuzz(func(t *testing.T, a, b string) {
		var left, right []string
		for _, l := range lineDiff(a, b) {
			if l.LeftN > 0 {
				left = append(left, l.Left)
			}
			if l.RightN > 0 {
				right = append(right, l.Right)
			}
		}
		if diff := cmp.Diff([]string{a, b}, []string{strings.Join(left, "\n"), strings.Join(right, "\n")}); diff != "" {
			t.Errorf("sides (-want +got):\n%s", diff)
		}
	})
}
