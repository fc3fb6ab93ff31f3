package console

import (
	"fmt"
	"time"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// Chart geometry, in SVG user units; the CSS scales it to the page.
const (
	chartWidth  = 720.0
	chartHeight = 160.0
	chartTop    = 10.0 // room above the highest bar
	chartBottom = 20.0 // room for the time labels
)

// chart is the evidence chart of the subject page: one column per bucket.
type chart struct {
	Width, Height, Base float64
	Bars                []bar
	WindowX             float64 // the window start's x; negative: before the chart or none
	First, Last         string  // labels of the first and last bucket
	Max                 int64   // validations of the highest bar
	Summary             string  // what the chart shows, for screen readers
	Stale               bool
	LastRecorded        string
}

// bar is one bucket: validations (height V) with its violations (height X) drawn over it, or
// a gap when no replica was recording.
type bar struct {
	X, W   float64
	VY, V  float64
	XY, X2 float64
	Gap    bool
	Title  string
}

// newChart lays out the buckets of ev, marking windowStart (nil: none).
func newChart(ev *pb.GetSubjectEvidenceResponse, windowStart time.Time) chart {
	buckets := ev.GetBuckets()
	c := chart{Width: chartWidth, Height: chartHeight, Base: chartHeight - chartBottom, WindowX: -1, Stale: evidenceStale(ev)}
	if ev.GetLastRecorded() != nil {
		c.LastRecorded = formatTime(ev.GetLastRecorded())
	}
	if len(buckets) == 0 {
		return c
	}
	var total, violations int64
	for _, b := range buckets {
		c.Max = max(c.Max, b.GetValidations())
		total += b.GetValidations()
		violations += b.GetViolations()
	}
	w := chartWidth / float64(len(buckets))
	scale := 0.0
	if c.Max > 0 {
		scale = (c.Base - chartTop) / float64(c.Max)
	}
	width := ev.GetBucketWidth().AsDuration()
	for i, b := range buckets {
		x := float64(i) * w
		start := b.GetStart().AsTime()
		br := bar{X: x, W: max(w-1, 1), Gap: !b.GetRecorded()}
		switch {
		case br.Gap:
			br.VY, br.V = chartTop, c.Base-chartTop
			br.Title = fmt.Sprintf("%s: no replica recording", start.UTC().Format("Jan 2 15:04"))
		default:
			br.V = float64(b.GetValidations()) * scale
			br.VY = c.Base - br.V
			br.X2 = float64(b.GetViolations()) * scale
			br.XY = c.Base - br.X2
			br.Title = fmt.Sprintf("%s: %d validations, %d violations", start.UTC().Format("Jan 2 15:04"), b.GetValidations(), b.GetViolations())
		}
		c.Bars = append(c.Bars, br)
		if !windowStart.IsZero() && !windowStart.Before(start) && windowStart.Before(start.Add(width)) {
			c.WindowX = x + w*float64(windowStart.Sub(start))/float64(width)
		}
	}
	c.First = buckets[0].GetStart().AsTime().UTC().Format("Jan 2 15:04")
	c.Last = buckets[len(buckets)-1].GetStart().AsTime().UTC().Format("Jan 2 15:04")
	c.Summary = fmt.Sprintf("%d buckets of %s from %s to %s: %d validations, %d violations.", len(buckets), width, c.First, c.Last, total, violations)
	return c
}

// evidenceStale reports governance's verdict that the subject's evidence is stale: no replica
// has recorded in the last two buckets before the current one.
func evidenceStale(ev *pb.GetSubjectEvidenceResponse) bool { return ev.GetStale() }
