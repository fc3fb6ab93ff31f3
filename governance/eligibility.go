package governance

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy is the promotion policy of DESIGN.md's clean-window rule.
type Policy struct {
	// CleanWindow is how much clean time a subject needs (governance.clean_window). Default 48h.
	CleanWindow time.Duration
	// MinValidations is how many validations the window needs (governance.min_validations).
	// Default 1000.
	MinValidations int64
	// MinPrincipals is how many different principals must have sent validations in the window
	// (governance.min_principals), so that one caller replaying valid payloads cannot make a
	// subject eligible on its own. Default 1: any traffic will do (evidence stored before
	// principals were recorded counts too).
	MinPrincipals int
}

// Default policy values.
const (
	DefaultCleanWindow    = 48 * time.Hour
	DefaultMinValidations = 1000
	DefaultMinPrincipals  = 1
)

// WithDefaults returns p with zero fields set to their defaults.
func (p Policy) WithDefaults() Policy {
	if p.CleanWindow <= 0 {
		p.CleanWindow = DefaultCleanWindow
	}
	if p.MinValidations <= 0 {
		p.MinValidations = DefaultMinValidations
	}
	if p.MinPrincipals <= 0 {
		p.MinPrincipals = DefaultMinPrincipals
	}
	return p
}

// WindowFacts are the stored facts a subject's clean window is computed from. Nothing in them
// depends on the process: a restart reads the same facts, so it neither resets nor fakes the
// clock.
type WindowFacts struct {
	// Now is the injected clock's reading.
	Now time.Time
	// CanarySince is when the subject entered canary (zero: it has always been on the default).
	CanarySince time.Time
	// LastVersion is when the subject's latest schema version was registered (zero: unknown).
	LastVersion time.Time
	// Buckets are the subject's evidence buckets, any order.
	Buckets []Bucket
	// Heartbeats are the starts of buckets in which some replica was recording, any order.
	Heartbeats []time.Time
	// BucketWidth is governance.evidence_bucket.
	BucketWidth time.Duration
}

// Assessment is a subject's clean-window evidence measured against the policy.
type Assessment struct {
	// WindowStart is the latest of: entering canary, the end of the last bucket with a
	// violation, the last new schema version.
	WindowStart time.Time
	// Clean counts only time inside the window covered by a heartbeat bucket (downtime is not
	// clean time); Required is the policy's clean window.
	Clean, Required time.Duration
	// Validations and Violations count the buckets that start inside the window (a bucket the
	// window starts in the middle of is left out: its traffic may predate the window).
	Validations, Violations int64
	// Principals are the principals whose validations are counted in Validations, most
	// validations first (ties by name). Evidence stored before principals were recorded has
	// none.
	Principals []PrincipalValidations
	// Eligible is true when Clean ≥ Required, Validations ≥ the policy's minimum and, when the
	// policy asks for more than one, enough Principals.
	Eligible bool
	// Reasons say, in plain words, every reason the subject is not eligible.
	Reasons []string
}

// PrincipalValidations is how many validations in a window one principal sent.
type PrincipalValidations struct {
	Principal   string
	Validations int64
}

// Assess measures a subject's clean window. It is a pure function of the facts, so every
// replica and every restart computes the same answer from the same store.
func Assess(f WindowFacts, p Policy) Assessment {
	p = p.WithDefaults()
	a := Assessment{Required: p.CleanWindow, WindowStart: f.CanarySince}
	if f.LastVersion.After(a.WindowStart) {
		a.WindowStart = f.LastVersion
	}
	// The window restarts at the end of the bucket holding the last violation, not at the
	// violation's recorded time (Bucket.LastViolation), although that is usually earlier:
	// counts land in the bucket of the flush that stores them, so a bucket starting after the
	// recorded time can hold the violation, and a window starting at that time would count it
	// as clean traffic; the recorded time is read from the recording replica's clock, which
	// may be ahead of the others'; and a bucket written by an older replica during an upgrade
	// holds violations without a time. The bucket's end is after all of them: the safe side.
	// The recorded time is only what the reason names.
	var lastViolation time.Time
	var violationBucket Bucket
	for _, b := range f.Buckets {
		if end := b.Start.Add(f.BucketWidth); b.Violations > 0 && end.After(lastViolation) {
			lastViolation, violationBucket = end, b
		}
	}
	if lastViolation.After(a.WindowStart) {
		a.WindowStart = lastViolation
	}
	if a.WindowStart.IsZero() {
		// Nothing started a window: it starts with the first evidence there is.
		for _, hb := range f.Heartbeats {
			if a.WindowStart.IsZero() || hb.Before(a.WindowStart) {
				a.WindowStart = hb
			}
		}
	}
	seen := map[time.Time]bool{}
	for _, hb := range f.Heartbeats {
		if seen[hb] {
			continue
		}
		seen[hb] = true
		a.Clean += overlap(hb, hb.Add(f.BucketWidth), a.WindowStart, f.Now)
	}
	byPrincipal := map[string]int64{}
	for _, b := range f.Buckets {
		if !b.Start.Before(a.WindowStart) && b.Start.Before(f.Now) {
			a.Validations += b.Validations
			a.Violations += b.Violations
			for name, n := range b.Principals {
				byPrincipal[name] += n
			}
		}
	}
	a.Principals = sortedPrincipals(byPrincipal)
	if a.Clean < a.Required {
		p := reasonPrecision(a.Required)
		a.Reasons = append(a.Reasons, fmt.Sprintf("%s of %s clean", formatDuration(a.Clean, p), formatDuration(a.Required, p)))
	}
	if a.Validations < p.MinValidations {
		a.Reasons = append(a.Reasons, fmt.Sprintf("%d of %d validations", a.Validations, p.MinValidations))
	}
	if !lastViolation.IsZero() && lastViolation.Equal(a.WindowStart) {
		a.Reasons = append(a.Reasons, violationReason(violationBucket, f.BucketWidth))
	}
	enoughPrincipals := p.MinPrincipals <= 1 || len(a.Principals) >= p.MinPrincipals
	if !enoughPrincipals {
		a.Reasons = append(a.Reasons, fmt.Sprintf("validations from %d of %d principals%s", len(a.Principals), p.MinPrincipals, principalNames(a.Principals)))
	}
	a.Eligible = a.Clean >= a.Required && a.Validations >= p.MinValidations && enoughPrincipals
	if a.Eligible {
		a.Reasons = nil
	}
	return a
}

// overlap is the length of [aStart, aEnd) ∩ [bStart, bEnd).
func overlap(aStart, aEnd, bStart, bEnd time.Time) time.Duration {
	start, end := aStart, aEnd
	if bStart.After(start) {
		start = bStart
	}
	if bEnd.Before(end) {
		end = bEnd
	}
	if !end.After(start) {
		return 0
	}
	return end.Sub(start)
}

// violationReason says which violation restarted the window: its recorded time to the
// millisecond, or, for a bucket stored without it, the bucket it was counted in.
func violationReason(b Bucket, width time.Duration) string {
	if !b.LastViolation.IsZero() {
		return fmt.Sprintf("violation at %s restarted the window", b.LastViolation.UTC().Format(violationTimeLayout))
	}
	return fmt.Sprintf("violation in the %s bucket starting %s restarted the window",
		formatDuration(width, reasonPrecision(width)), b.Start.UTC().Format(time.RFC3339))
}

// violationTimeLayout is RFC 3339 in UTC with milliseconds, as 2026-12-06T08:14:11.123Z.
const violationTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// reasonPrecision is the precision clean time is reported in for a window of required: the
// coarsest of a minute, a second, a tenth of a second, a millisecond or a nanosecond that is
// at most a twentieth of it, so that the figures move in steps of 5% of the window or finer
// and a short window never prints as nothing ("2.4s of 3s", "12m of 2h", "31h12m of 48h").
func reasonPrecision(required time.Duration) time.Duration {
	for _, p := range []time.Duration{time.Minute, time.Second, 100 * time.Millisecond, time.Millisecond} {
		if p <= required/20 {
			return p
		}
	}
	return time.Nanosecond
}

// formatDuration prints d truncated to precision (never rounded up: clean time just short of
// the window must not read as the whole window). From a second up it names hours, minutes and
// seconds, leaving out those that are zero ("31h12m", "48h", "4m30s", "0m"); below a second it
// prints as time.Duration does ("2.4s", "240ms").
func formatDuration(d, precision time.Duration) string {
	d = d.Truncate(precision)
	if precision < time.Second {
		return d.String()
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	if h == 0 && m == 0 && s == 0 {
		if precision >= time.Minute {
			return "0m"
		}
		return "0s"
	}
	return b.String()
}

// sortedPrincipals lists counts by principal, most validations first, ties by name.
func sortedPrincipals(counts map[string]int64) []PrincipalValidations {
	var out []PrincipalValidations
	for name, n := range counts {
		out = append(out, PrincipalValidations{Principal: name, Validations: n})
	}
	slices.SortFunc(out, func(a, b PrincipalValidations) int {
		return cmp.Or(cmp.Compare(b.Validations, a.Validations), cmp.Compare(a.Principal, b.Principal))
	})
	return out
}

// principalNames is " (alice, bob)" for the principals, "" for none.
func principalNames(ps []PrincipalValidations) string {
	if len(ps) == 0 {
		return ""
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Principal
	}
	return " (" + strings.Join(names, ", ") + ")"
}
