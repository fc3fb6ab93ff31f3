// Package registryload is the load generator `schemagate bench registry` runs against any
// Confluent-compatible schema registry: concurrent HTTP clients register a bounded number of
// distinct Avro schemas, then run each lookup workload for a bounded time, and the report gives
// per workload the 2xx answers a second, p50 and p99 latency, and every other answer counted by
// status. It speaks only the Confluent REST API, so the same run measures schemagate, another
// registry, or two builds of schemagate side by side (scripts/compare-registry.sh).
package registryload

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The workloads of a run, in the order they run.
const (
	// WorkloadRegister is POST /subjects/{s}/versions of a new schema.
	WorkloadRegister = "register"
	// WorkloadByID is GET /schemas/ids/{id}.
	WorkloadByID = "by-id"
	// WorkloadLatest is GET /subjects/{s}/versions/latest.
	WorkloadLatest = "latest"
	// WorkloadVersion is GET /subjects/{s}/versions/{n}.
	WorkloadVersion = "version"
	// WorkloadLookup is POST /subjects/{s}: is this schema registered under the subject.
	WorkloadLookup = "lookup"
)

// Options configures Run. Every count and duration has a default; URL is required.
type Options struct {
	// URL is the base URL of the registry's Confluent API, e.g. http://127.0.0.1:8081.
	URL string
	// AllowRemote lets URL name a host that is not a loopback address. Without it Run refuses
	// such a URL before sending anything: this is a load test that sends thousands of requests
	// a second and leaves Schemas versions behind, which nobody should do by mistake to a
	// shared or production registry.
	AllowRemote bool
	// Clients is how many clients send requests concurrently, each one request at a time.
	// Default 16.
	Clients int
	// Schemas is how many distinct schemas are registered. Default 500.
	Schemas int
	// Subjects is how many subjects the schemas are spread over (schema i goes to subject
	// i mod Subjects). Default 10.
	Subjects int
	// Duration is how long each lookup workload runs. Default 5s.
	Duration time.Duration
	// RequestTimeout bounds one request; a request that takes longer counts as an error.
	// Default 10s.
	RequestTimeout time.Duration
	// RunID makes this run's subjects (load-RUNID-k) and schemas (namespace load.rRUNID) its
	// own, so that a second run against the same registry registers new schemas instead of
	// finding the first run's. Lower-case letters and digits; default 8 random hex digits.
	RunID string
	// Token, when set, is sent as a bearer token. Username and Password, when Username is set,
	// are sent as basic credentials instead.
	Token, Username, Password string
}

// Report is the outcome of a run.
type Report struct {
	URL      string     `json:"url"`
	RunID    string     `json:"run_id"`
	Clients  int        `json:"clients"`
	Schemas  int        `json:"schemas"`
	Subjects int        `json:"subjects"`
	Duration float64    `json:"duration_seconds"` // of each lookup workload
	Results  []Workload `json:"workloads"`
}

// Workload is what one workload measured. Requests = OK + the sum of NonOK + Errors.
type Workload struct {
	Name string `json:"name"`
	// Requests is how many requests were sent; OK how many were answered 2xx.
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	// PerSecond is 2xx answers a second over the workload's wall time: a failed request is
	// counted in NonOK or Errors, never in the rate.
	PerSecond float64 `json:"per_second"`
	Seconds   float64 `json:"seconds"`
	// P50 and P99 are latencies of all answered requests, in milliseconds.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	// NonOK counts the answers that were not 2xx, by HTTP status.
	NonOK map[int]int `json:"non_2xx,omitempty"`
	// Errors counts requests that got no answer (refused connection, timeout); FirstError is
	// the first of them.
	Errors     int    `json:"errors,omitempty"`
	FirstError string `json:"first_error,omitempty"`
}

// ErrNothingRegistered is returned, with a report of the registration, when no schema was
// registered: the lookup workloads need registered schemas to look up.
var ErrNothingRegistered = errors.New("no schema was registered; the lookup workloads did not run")

var runIDPattern = regexp.MustCompile(`^[a-z0-9]{1,32}$`)

// withDefaults fills the zero fields of o and checks the others.
func (o Options) withDefaults() (Options, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Clients, 16)
	def(&o.Schemas, 500)
	def(&o.Subjects, 10)
	if o.Duration == 0 {
		o.Duration = 5 * time.Second
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.RunID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.RunID = hex.EncodeToString(b)
	}
	switch {
	case o.Clients < 0 || o.Schemas < 0 || o.Subjects < 0 || o.Duration < 0 || o.RequestTimeout < 0:
		return o, errors.New("clients, schemas, subjects and durations must be positive")
	case o.Subjects > o.Schemas:
		return o, fmt.Errorf("%d subjects for %d schemas: want at least one schema a subject", o.Subjects, o.Schemas)
	case !runIDPattern.MatchString(o.RunID):
		return o, fmt.Errorf("run ID %q: want 1 to 32 lower-case letters and digits", o.RunID)
	}
	return o, nil
}

// CheckLoopback returns nil when rawURL is an http or https URL whose host is a loopback
// address, or a name that resolves only to loopback addresses (localhost); otherwise an error
// that says why and how to allow it.
func CheckLoopback(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
		return fmt.Errorf("%q: want an http or https URL with a host", rawURL)
	}
	refuse := fmt.Errorf("refusing to load %s: it is not a loopback address, and this is a load test "+
		"(thousands of requests a second, and versions left behind in the registry); "+
		"pass --allow-remote for a registry you own", u.Host)
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		if !ip.IsLoopback() {
			return refuse
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil {
		return fmt.Errorf("%s: %w", u.Host, err)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return refuse
		}
	}
	return nil
}

// Run registers opts.Schemas distinct schemas into opts.Subjects subjects from opts.Clients
// concurrent clients, then runs each lookup workload (by ID, latest, a version, lookup) for
// opts.Duration, and reports each workload. It refuses a non-loopback URL unless
// opts.AllowRemote; a cancelled ctx stops it with ctx's error. When nothing could be
// registered it returns the report so far with ErrNothingRegistered.
func Run(ctx context.Context, opts Options) (*Report, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if !opts.AllowRemote {
		if err := CheckLoopback(ctx, opts.URL); err != nil {
			return nil, err
		}
	}
	transport := &http.Transport{
		Proxy:               nil, // a proxy would measure the proxy, and could leave loopback
		DialContext:         (&net.Dialer{Timeout: opts.RequestTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        opts.Clients,
		MaxIdleConnsPerHost: opts.Clients,
		IdleConnTimeout:     90 * time.Second,
	}
	defer transport.CloseIdleConnections()
	l := &loader{opts: opts, base: strings.TrimRight(opts.URL, "/"),
		client: &http.Client{Transport: transport, Timeout: opts.RequestTimeout}}
	switch {
	case opts.Token != "":
		l.auth = "Bearer " + opts.Token
	case opts.Username != "":
		l.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(opts.Username+":"+opts.Password))
	}
	report := &Report{URL: opts.URL, RunID: opts.RunID, Clients: opts.Clients, Schemas: opts.Schemas,
		Subjects: opts.Subjects, Duration: opts.Duration.Seconds()}
	reg, err := l.register(ctx)
	report.Results = append(report.Results, reg)
	if err != nil {
		return report, err
	}
	if len(l.registered) == 0 {
		return report, ErrNothingRegistered
	}
	for _, w := range []struct {
		name string
		req  func(s schema, rnd *mrand.Rand) (method, path string, body []byte)
	}{
		{WorkloadByID, func(s schema, _ *mrand.Rand) (string, string, []byte) {
			return "GET", "/schemas/ids/" + strconv.Itoa(s.id), nil
		}},
		{WorkloadLatest, func(s schema, _ *mrand.Rand) (string, string, []byte) {
			return "GET", "/subjects/" + s.subject + "/versions/latest", nil
		}},
		{WorkloadVersion, func(s schema, rnd *mrand.Rand) (string, string, []byte) {
			return "GET", "/subjects/" + s.subject + "/versions/" + strconv.Itoa(1+rnd.IntN(l.versions[s.subject])), nil
		}},
		{WorkloadLookup, func(s schema, _ *mrand.Rand) (string, string, []byte) {
			return "POST", "/subjects/" + s.subject, s.body
		}},
	} {
		res, err := l.lookups(ctx, w.name, w.req)
		report.Results = append(report.Results, res)
		if err != nil {
			return report, err
		}
	}
	return report, nil
}

// loader is one run's client and what its registration left to look up.
type loader struct {
	opts   Options
	base   string
	auth   string
	client *http.Client

	registered []schema       // the schemas answered 2xx, with their IDs
	versions   map[string]int // subject → how many versions this run registered in it
}

// schema is one of the run's schemas: its subject, its registration body and, once
// registered, its ID.
type schema struct {
	subject string
	body    []byte
	id      int
}

// subjectName is the k-th subject of run runID.
func subjectName(runID string, k int) string { return fmt.Sprintf("load-%s-%d", runID, k) }

// schemaText is the i-th schema of run runID: a record with a field of its own, which has a
// default, so that any two of a run's schemas are compatible both ways under every
// compatibility level, in whatever order concurrent clients register them.
func schemaText(runID string, i int) string {
	return fmt.Sprintf(`{"type":"record","name":"Load","namespace":"load.r%s","fields":[{"name":"id","type":"long"},`+
		`{"name":"f%d","type":"string","default":""}]}`, runID, i)
}

// newSchema is the i-th schema of the run, unregistered.
func (l *loader) newSchema(i int) schema {
	body, _ := json.Marshal(map[string]string{"schema": schemaText(l.opts.RunID, i)})
	return schema{subject: subjectName(l.opts.RunID, i%l.opts.Subjects), body: body}
}

// register registers the run's schemas, each once, from the clients concurrently.
func (l *loader) register(ctx context.Context) (Workload, error) {
	schemas := make([]schema, l.opts.Schemas)
	for i := range schemas {
		schemas[i] = l.newSchema(i)
	}
	var next atomic.Int64
	w, err := l.workload(ctx, WorkloadRegister, func(rec *recorder, _ *mrand.Rand) bool {
		i := int(next.Add(1) - 1)
		if i >= len(schemas) {
			return false
		}
		s := &schemas[i]
		status, body, ok := l.do(ctx, rec, "POST", "/subjects/"+s.subject+"/versions", s.body)
		if ok && status/100 == 2 {
			var answer struct {
				ID int `json:"id"`
			}
			if err := json.Unmarshal(body, &answer); err == nil {
				s.id = answer.ID
			}
		}
		return true
	})
	l.versions = map[string]int{}
	for _, s := range schemas {
		if s.id != 0 {
			l.registered = append(l.registered, s)
			l.versions[s.subject]++
		}
	}
	return w, err
}

// lookups runs one lookup workload for the run's duration: every client sends request after
// request for a registered schema picked at random.
func (l *loader) lookups(ctx context.Context, name string, req func(schema, *mrand.Rand) (string, string, []byte)) (Workload, error) {
	end := time.Now().Add(l.opts.Duration)
	return l.workload(ctx, name, func(rec *recorder, rnd *mrand.Rand) bool {
		if !time.Now().Before(end) {
			return false
		}
		method, path, body := req(l.registered[rnd.IntN(len(l.registered))], rnd)
		l.do(ctx, rec, method, path, body)
		return true
	})
}

// workload runs step on every client until it returns false or ctx ends, and sums up what the
// clients recorded over the workload's wall time.
func (l *loader) workload(ctx context.Context, name string, step func(*recorder, *mrand.Rand) bool) (Workload, error) {
	recs := make([]*recorder, l.opts.Clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range recs {
		recs[c] = &recorder{nonOK: map[int]int{}}
		rnd := mrand.New(mrand.NewPCG(uint64(c), uint64(start.UnixNano())))
		wg.Go(func() {
			for ctx.Err() == nil && step(recs[c], rnd) {
			}
		})
	}
	wg.Wait()
	return summarize(name, time.Since(start), recs), ctx.Err()
}

// do sends one request and records its latency and status; it returns the status and body of
// an answer, and ok false when there was none.
func (l *loader) do(ctx context.Context, rec *recorder, method, path string, body []byte) (status int, answer []byte, ok bool) {
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, bytes.NewReader(body))
	if err != nil {
		rec.fail(err)
		return 0, nil, false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	if l.auth != "" {
		req.Header.Set("Authorization", l.auth)
	}
	start := time.Now()
	resp, err := l.client.Do(req)
	if err == nil {
		answer, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() == nil { // a cancelled run is not the registry's error
			rec.fail(err)
		}
		return 0, nil, false
	}
	rec.answer(resp.StatusCode, time.Since(start))
	return resp.StatusCode, answer, true
}

// recorder is what one client saw during one workload.
type recorder struct {
	latencies  []time.Duration
	ok         int
	nonOK      map[int]int
	errors     int
	firstError string
}

func (r *recorder) answer(status int, d time.Duration) {
	r.latencies = append(r.latencies, d)
	if status/100 == 2 {
		r.ok++
	} else {
		r.nonOK[status]++
	}
}

func (r *recorder) fail(err error) {
	if r.errors == 0 {
		r.firstError = err.Error()
	}
	r.errors++
}

// summarize adds up the clients' recorders.
func summarize(name string, elapsed time.Duration, recs []*recorder) Workload {
	w := Workload{Name: name, Seconds: elapsed.Seconds()}
	var lat []time.Duration
	for _, r := range recs {
		lat = append(lat, r.latencies...)
		w.OK += r.ok
		w.Errors += r.errors
		if w.FirstError == "" {
			w.FirstError = r.firstError
		}
		for status, n := range r.nonOK {
			if w.NonOK == nil {
				w.NonOK = map[int]int{}
			}
			w.NonOK[status] += n
		}
	}
	w.Requests = len(lat) + w.Errors
	if elapsed > 0 {
		w.PerSecond = float64(w.OK) / elapsed.Seconds()
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		ms := func(q float64) float64 {
			return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Millisecond)
		}
		w.P50, w.P99 = ms(0.50), ms(0.99)
	}
	return w
}

// WriteTable prints the report as an aligned table, one workload a row.
func WriteTable(w io.Writer, r *Report) error {
	if _, err := fmt.Fprintf(w, "%s, run %s: %d clients, %d schemas in %d subjects, then %gs of each lookup\n",
		r.URL, r.RunID, r.Clients, r.Schemas, r.Subjects, r.Duration); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "%-10s %9s %9s %11s %9s %9s  %s\n", "WORKLOAD", "REQUESTS", "OK", "OK/S", "P50 MS", "P99 MS", "NOT OK"); err != nil {
		return err
	}
	for _, x := range r.Results {
		if _, err := fmt.Fprintf(w, "%-10s %9d %9d %11.0f %9.2f %9.2f  %s\n", x.Name, x.Requests, x.OK, x.PerSecond, x.P50, x.P99, x.notOK()); err != nil {
			return err
		}
	}
	return nil
}

// notOK renders the failed requests: "503: 12, no answer: 1 (first: …)", or "-".
func (w Workload) notOK() string {
	var parts []string
	for _, status := range slices.Sorted(maps.Keys(w.NonOK)) {
		parts = append(parts, fmt.Sprintf("%d: %d", status, w.NonOK[status]))
	}
	if w.Errors > 0 {
		parts = append(parts, fmt.Sprintf("no answer: %d (first: %s)", w.Errors, w.FirstError))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// WriteJSON prints the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
