package governance

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// canaryStart is when the subject entered canary in these tests.
var canaryStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const width = 5 * time.Minute

// traffic builds buckets and heartbeats from canaryStart to end, one bucket every 5 minutes holding
// perBucket validations; buckets in down get neither traffic nor a heartbeat.
func traffic(end time.Time, perBucket int64, down ...[2]time.Duration) ([]Bucket, []time.Time) {
	var buckets []Bucket
	var beats []time.Time
	for at := canaryStart; at.Before(end); at = at.Add(width) {
		off := at.Sub(canaryStart)
		isDown := false
		for _, d := range down {
			isDown = isDown || (off >= d[0] && off < d[1])
		}
		if isDown {
			continue
		}
		beats = append(beats, at)
		if perBucket > 0 {
			buckets = append(buckets, Bucket{Start: at, Validations: perBucket})
		}
	}
	return buckets, beats
}

func facts(now time.Duration, perBucket int64, down ...[2]time.Duration) WindowFacts {
	b, h := traffic(canaryStart.Add(now), perBucket, down...)
	return WindowFacts{Now: canaryStart.Add(now), CanarySince: canaryStart, Buckets: b, Heartbeats: h, BucketWidth: width}
}

// withViolation marks the bucket at offset at as holding one violation.
func withViolation(f WindowFacts, at time.Duration) WindowFacts {
	for i := range f.Buckets {
		if f.Buckets[i].Start.Equal(canaryStart.Add(at)) {
			f.Buckets[i].Violations = 1
		}
	}
	return f
}

// withViolationAt marks the bucket at offset at as holding one violation recorded at offset
// recorded (which can be before the bucket: counts land in the bucket of their flush).
func withViolationAt(f WindowFacts, at, recorded time.Duration) WindowFacts {
	f = withViolation(f, at)
	for i := range f.Buckets {
		if f.Buckets[i].Start.Equal(canaryStart.Add(at)) {
			f.Buckets[i].LastViolation = canaryStart.Add(recorded)
		}
	}
	return f
}

func TestAssess(t *testing.T) {
	policy := Policy{CleanWindow: 48 * time.Hour, MinValidations: 1000}
	tests := []struct {
		name string
		f    WindowFacts
		want Assessment
	}{
		{"47h59m is not enough", facts(47*time.Hour+59*time.Minute, 10),
			Assessment{WindowStart: canaryStart, Clean: 47*time.Hour + 59*time.Minute, Required: 48 * time.Hour, Validations: 5760,
				Reasons: []string{"47h59m of 48h clean"}}},
		{"48h with enough traffic is eligible", facts(48*time.Hour, 10),
			Assessment{WindowStart: canaryStart, Clean: 48 * time.Hour, Required: 48 * time.Hour, Validations: 5760, Eligible: true}},
		{"48h with too little traffic is not", facts(48*time.Hour, 1),
			Assessment{WindowStart: canaryStart, Clean: 48 * time.Hour, Required: 48 * time.Hour, Validations: 576,
				Reasons: []string{"576 of 1000 validations"}}},
		{"a violation at hour 47 restarts the window", withViolation(facts(48*time.Hour, 10), 47*time.Hour),
			Assessment{WindowStart: canaryStart.Add(47*time.Hour + width), Clean: 55 * time.Minute, Required: 48 * time.Hour, Validations: 110,
				Reasons: []string{"55m of 48h clean", "110 of 1000 validations", "violation in the 5m bucket starting 2026-11-02T23:00:00Z restarted the window"}}},
		{"the recorded time of the violation is named; the window still starts after its bucket",
			withViolationAt(facts(48*time.Hour, 10), 47*time.Hour, 46*time.Hour+59*time.Minute+30*time.Second+123*time.Millisecond),
			Assessment{WindowStart: canaryStart.Add(47*time.Hour + width), Clean: 55 * time.Minute, Required: 48 * time.Hour, Validations: 110,
				Reasons: []string{"55m of 48h clean", "110 of 1000 validations", "violation at 2026-11-02T22:59:30.123Z restarted the window"}}},
		{"two hours of downtime add two hours", facts(50*time.Hour, 10, [2]time.Duration{10 * time.Hour, 12 * time.Hour}),
			Assessment{WindowStart: canaryStart, Clean: 48 * time.Hour, Required: 48 * time.Hour, Validations: 5760, Eligible: true}},
		{"downtime without the extra hours is not clean", facts(48*time.Hour, 10, [2]time.Duration{10 * time.Hour, 12 * time.Hour}),
			Assessment{WindowStart: canaryStart, Clean: 46 * time.Hour, Required: 48 * time.Hour, Validations: 5520,
				Reasons: []string{"46h of 48h clean"}}},
	}
	newVersion := facts(48*time.Hour, 10)
	newVersion.LastVersion = canaryStart.Add(24 * time.Hour)
	tests = append(tests, struct {
		name string
		f    WindowFacts
		want Assessment
	}{"a new schema version restarts the window", newVersion,
		Assessment{WindowStart: canaryStart.Add(24 * time.Hour), Clean: 24 * time.Hour, Required: 48 * time.Hour, Validations: 2880,
			Reasons: []string{"24h of 48h clean"}}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Assess(tt.f, policy)); diff != "" {
				t.Errorf("Assess (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAssessCleanReasonUnits: the clean-time reason is printed in units that fit the required
// window, truncated (never rounded up to the window), and a short window never reads as
// nothing.
func TestAssessCleanReasonUnits(t *testing.T) {
	tests := []struct {
		required, clean time.Duration
		want            string
	}{
		{3 * time.Second, 2400 * time.Millisecond, "2.4s of 3s clean"},
		{3 * time.Second, 2999 * time.Millisecond, "2.9s of 3s clean"},
		{3 * time.Second, 0, "0s of 3s clean"},
		{500 * time.Millisecond, 240*time.Millisecond + 700*time.Microsecond, "240ms of 500ms clean"},
		{time.Minute, 42*time.Second + 900*time.Millisecond, "42s of 1m clean"},
		{10 * time.Minute, 4*time.Minute + 30*time.Second + 500*time.Millisecond, "4m30s of 10m clean"},
		{2 * time.Hour, 12*time.Minute + 30*time.Second, "12m of 2h clean"},
		{48 * time.Hour, 31*time.Hour + 12*time.Minute + 59*time.Second, "31h12m of 48h clean"},
		{48 * time.Hour, 47*time.Hour + 59*time.Minute + 59*time.Second, "47h59m of 48h clean"},
		{48 * time.Hour, 0, "0m of 48h clean"},
		{90 * time.Minute, time.Hour, "1h of 1h30m clean"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			// One heartbeat bucket longer than any window: the clean time is Now - CanarySince.
			f := WindowFacts{Now: canaryStart.Add(tt.clean), CanarySince: canaryStart,
				Heartbeats: []time.Time{canaryStart}, BucketWidth: 100 * time.Hour}
			a := Assess(f, Policy{CleanWindow: tt.required, MinValidations: 1})
			want := []string{tt.want, "0 of 1 validations"}
			if diff := cmp.Diff(want, a.Reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAssessIsAFunctionOfStoredFacts: the same facts read after a restart give the same
// answer; heartbeats from several replicas for one bucket count once.
func TestAssessIsAFunctionOfStoredFacts(t *testing.T) {
	f := facts(48*time.Hour, 10)
	first := Assess(f, Policy{})
	f.Heartbeats = append(f.Heartbeats, f.Heartbeats...) // a second replica recording too
	if diff := cmp.Diff(first, Assess(f, Policy{})); diff != "" {
		t.Errorf("duplicate heartbeats changed the assessment (-first +second):\n%s", diff)
	}
	if !first.Eligible {
		t.Errorf("48h of clean traffic with the default policy is not eligible: %v", first.Reasons)
	}
}

// The window never reports eligible with a violation inside it, whatever the buckets.
func TestPropertyNoViolationInsideAnEligibleWindow(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 60).Draw(t, "buckets")
		f := WindowFacts{CanarySince: canaryStart, BucketWidth: time.Hour, Now: canaryStart.Add(time.Duration(n) * time.Hour)}
		for i := range n {
			start := canaryStart.Add(time.Duration(i) * time.Hour)
			if rapid.Bool().Draw(t, "up") {
				f.Heartbeats = append(f.Heartbeats, start)
			}
			f.Buckets = append(f.Buckets, Bucket{Start: start, Validations: rapid.Int64Range(0, 100).Draw(t, "validations"),
				Violations: rapid.Int64Range(0, 1).Draw(t, "violations")})
		}
		a := Assess(f, Policy{CleanWindow: 10 * time.Hour, MinValidations: 50})
		if !a.Eligible {
			return
		}
		for _, b := range f.Buckets {
			if b.Violations > 0 && b.Start.Add(f.BucketWidth).After(a.WindowStart) {
				t.Fatalf("eligible with a violation in the bucket at %s, inside the window from %s", b.Start, a.WindowStart)
			}
		}
		if a.Violations != 0 {
			t.Fatalf("eligible with %d violations counted in the window", a.Violations)
		}
	})
}

// withPrincipals spreads each bucket's validations over the principals, round robin, and keeps
// only the buckets that start at or after from for all but the first principal.
func withPrincipals(f WindowFacts, from time.Duration, names ...string) WindowFacts {
	for i := range f.Buckets {
		b := &f.Buckets[i]
		b.Principals = map[string]int64{}
		active := names[:1]
		if !b.Start.Before(canaryStart.Add(from)) {
			active = names
		}
		for j := range b.Validations {
			b.Principals[active[int(j)%len(active)]]++
		}
	}
	return f
}

func TestAssessMinPrincipals(t *testing.T) {
	tests := []struct {
		name          string
		f             WindowFacts
		minPrincipals int
		wantEligible  bool
		wantReasons   []string
		want          []PrincipalValidations
	}{
		{"one script alone is not enough when two are required", withPrincipals(facts(48*time.Hour, 10), 0, "replayer"), 2,
			false, []string{"validations from 1 of 2 principals (replayer)"}, []PrincipalValidations{{"replayer", 5760}}},
		{"two callers are", withPrincipals(facts(48*time.Hour, 10), 0, "orders-svc", "billing-svc"), 2,
			true, nil, []PrincipalValidations{{"billing-svc", 2880}, {"orders-svc", 2880}}},
		{"a second caller seen only in the last hour still counts", withPrincipals(facts(48*time.Hour, 2), 47*time.Hour, "a", "b"), 2,
			true, nil, []PrincipalValidations{{"a", 1140}, {"b", 12}}},
		{"the default of one needs no recorded principal (evidence from before they were recorded)", facts(48*time.Hour, 10), 1,
			true, nil, nil},
		{"a required second principal with none recorded", facts(48*time.Hour, 10), 2,
			false, []string{"validations from 0 of 2 principals"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Assess(tt.f, Policy{CleanWindow: 48 * time.Hour, MinValidations: 1000, MinPrincipals: tt.minPrincipals})
			if a.Eligible != tt.wantEligible {
				t.Errorf("Eligible = %v; want %v (reasons %q)", a.Eligible, tt.wantEligible, a.Reasons)
			}
			if diff := cmp.Diff(tt.wantReasons, a.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, a.Principals); diff != "" {
				t.Errorf("Principals (-want +got):\n%s", diff)
			}
		})
	}
}
