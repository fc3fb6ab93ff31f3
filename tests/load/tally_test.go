package load_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Request kinds, one per client call the load makes. Every kind is counted on its own so a
// failure report says which path broke.
const (
	kindGRPCValidate    = "grpc Validate"
	kindGRPCBatch       = "grpc ValidateBatch"
	kindGRPCStream      = "grpc ValidateStream message"
	kindHTTPValidate    = "http POST /v1/.../validate"
	kindHTTPBatch       = "http POST /v1/.../validate:batch"
	kindConfluentLookup = "confluent POST /subjects/{s}"
	kindConfluentByID   = "confluent GET /schemas/ids/{id}"
	kindConfluentCompat = "confluent POST /compatibility/..."
	kindConfluentLatest = "confluent GET /subjects/{s}/versions/latest"
	kindRegisterVersion = "grpc RegisterSchema (new version)"
	kindRegisterSubject = "confluent POST /subjects/{s}/versions (new subject)"
	kindGovStatus       = "grpc GetSubjectStatus"
	kindGovStatuses     = "grpc ListSubjectStatuses"
	kindGovAudit        = "grpc ListAuditEntries"
	kindGovDrift        = "grpc GetDriftReport"
	kindHTTPGovStatus   = "http GET /v1/subjects/{s}/governance"
	kindHTTPGovAudit    = "http GET /v1/audit"
	kindHTTPGovDrift    = "http GET /v1/subjects/{s}/drift"
)

// The outcome labels of schemagate_validations_total, and how a subject and a label are joined
// in the tally's keys.
const (
	outcomeLabelValid     = "valid"
	outcomeLabelFlagged   = "flagged"
	outcomeLabelRejected  = "rejected"
	subjectOutcomeDivider = "|"
)

// maxRecordedFailures is how many failure messages the tally keeps for the report.
const maxRecordedFailures = 10

var allKinds = []string{
	kindGRPCValidate, kindGRPCBatch, kindGRPCStream, kindHTTPValidate, kindHTTPBatch,
	kindConfluentLookup, kindConfluentByID, kindConfluentCompat, kindConfluentLatest,
	kindRegisterVersion, kindRegisterSubject,
	kindGovStatus, kindGovStatuses, kindGovAudit, kindGovDrift, kindHTTPGovStatus, kindHTTPGovAudit, kindHTTPGovDrift,
}

// kindStats counts one kind of request. A request is one RPC, one stream message or one HTTP
// call; payloads counts the payloads it validated (a batch validates many).
type kindStats struct {
	requests, payloads, failures atomic.Int64
}

// tally collects the outcome of every request the load makes. It is safe for concurrent use;
// the map is filled once by newTally and only read afterwards.
type tally struct {
	kinds map[string]*kindStats
	// validations counts accepted validation results by subject and outcome label, to be
	// compared with the gateway's schemagate_validations_total.
	validations map[string]*atomic.Int64

	mu       sync.Mutex
	failures []string // the first maxRecordedFailures, in order
}

func newTally(c *corpus) *tally {
	t := &tally{kinds: map[string]*kindStats{}, validations: map[string]*atomic.Int64{}}
	for _, k := range allKinds {
		t.kinds[k] = &kindStats{}
	}
	for _, subject := range c.subjects() {
		for _, label := range []string{outcomeLabelValid, outcomeLabelFlagged, outcomeLabelRejected} {
			t.validations[subject+subjectOutcomeDivider+label] = &atomic.Int64{}
		}
	}
	return t
}

// ok counts a request that answered as expected, with the payloads it validated.
func (t *tally) ok(kind string, payloads int) {
	s := t.kinds[kind]
	s.requests.Add(1)
	s.payloads.Add(int64(payloads))
}

// fail counts a request that did not answer as expected and keeps the first few messages.
func (t *tally) fail(kind string, format string, args ...any) {
	s := t.kinds[kind]
	s.requests.Add(1)
	s.failures.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failures) < maxRecordedFailures {
		t.failures = append(t.failures, kind+": "+fmt.Sprintf(format, args...))
	}
}

// validated counts one payload the gateway answered with the expected outcome.
func (t *tally) validated(c *validationCase) {
	t.validations[c.subject+subjectOutcomeDivider+c.metricLabel()].Add(1)
}

func (t *tally) totalFailures() int64 {
	var n int64
	for _, s := range t.kinds {
		n += s.failures.Load()
	}
	return n
}

func (t *tally) firstFailures() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.failures)
}

// report renders the counts per kind and the rates over elapsed.
func (t *tally) report(elapsed time.Duration) string {
	var b strings.Builder
	var reqs, payloads int64
	fmt.Fprintf(&b, "%-52s %9s %9s %9s %10s\n", "KIND", "REQUESTS", "PER SEC", "PAYLOADS", "FAILURES")
	for _, k := range allKinds {
		s := t.kinds[k]
		r, p := s.requests.Load(), s.payloads.Load()
		reqs += r
		payloads += p
		fmt.Fprintf(&b, "%-52s %9d %9.1f %9d %10d\n", k, r, float64(r)/elapsed.Seconds(), p, s.failures.Load())
	}
	fmt.Fprintf(&b, "%-52s %9d %9.1f %9d %10d\n", "total", reqs, float64(reqs)/elapsed.Seconds(), payloads, t.totalFailures())
	fmt.Fprintf(&b, "payloads validated per second: %.1f", float64(payloads)/elapsed.Seconds())
	return b.String()
}

// payloadsValidated is the number of payloads validated so far, over every path.
func (t *tally) payloadsValidated() int64 {
	var n int64
	for _, s := range t.kinds {
		n += s.payloads.Load()
	}
	return n
}

// memSample is the live heap and goroutine count at one moment, taken after a full GC so the
// heap figures hold live objects only.
type memSample struct {
	at                   time.Duration // since the load started
	heapAlloc, heapInuse uint64
	goroutines           int
	payloads             int64 // validated by then
}

func takeSample(start time.Time, t *tally) memSample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{at: time.Since(start), heapAlloc: ms.HeapAlloc, heapInuse: ms.HeapInuse,
		goroutines: runtime.NumGoroutine(), payloads: t.payloadsValidated()}
}

func (s memSample) String() string {
	return fmt.Sprintf("t=%5.1fs heap_alloc=%6.1f MiB heap_inuse=%6.1f MiB goroutines=%d", s.at.Seconds(), mib(s.heapAlloc), mib(s.heapInuse), s.goroutines)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// sampleMemory takes a sample every interval until stop is closed, and returns them.
func sampleMemory(start time.Time, interval time.Duration, t *tally, stop <-chan struct{}) []memSample {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var samples []memSample
	for {
		select {
		case <-stop:
			return samples
		case <-tick.C:
			samples = append(samples, takeSample(start, t))
		}
	}
}
