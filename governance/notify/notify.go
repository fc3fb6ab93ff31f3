// Package notify delivers schemagate's alerts (schema drift, drills, automatic
// rollbacks) to on-call: Prometheus Alertmanager (API v2), a Slack incoming
// webhook and the PagerDuty Events API v2.
//
// Policy, in one place:
//
//   - Raise never blocks and never does I/O on the caller's goroutine: it is a
//     map lookup under a mutex and, for a new alert, an append to one bounded
//     in-memory queue per receiver. Run does the delivering.
//   - Alerts are deduplicated per (Name, Subject, Kind, Drill). Raising an
//     active alert again only refreshes it; it pages nobody.
//   - An alert not raised again within Options.ResolveAfter is resolved.
//     Resolve resolves one at once.
//   - Alertmanager gets every active alert re-sent every
//     Options.ResendInterval so that it does not resolve it on its own
//     (its resolve_timeout defaults to 5m). Slack and PagerDuty get exactly
//     one message on trigger and one on resolve.
//   - Each receiver has its own queue and goroutine, so a slow receiver never
//     holds up another, and events of one receiver are delivered in order.
//   - Network errors, 5xx and 429 are retried with exponential backoff and
//     jitter (Retry-After honoured up to MaxBackoff) for as long as Run runs.
//     Any other non-2xx status (400, 403, 404, ...) means the request itself is
//     wrong: it is counted as an error, logged, and not retried.
//   - A full queue drops its oldest undelivered event (not one whose request
//     is in flight) and counts it as result="dropped".
//   - The Slack webhook URL and the PagerDuty routing key are secrets: they
//     are redacted from every log line and every error this package returns.
//
// State is in memory only: after a restart, alerts that are still true are
// raised again (Alertmanager and PagerDuty deduplicate them by labels and
// dedup_key; Slack gets a new message).
package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Alert is one alert about one subject.
type Alert struct {
	Name        string // alert name, e.g. SchemaDrift, SchemaDriftCanary, SchemaDriftDrill, SchemaGateAutoRollback; required
	Subject     string
	Kind        string   // drift kind, "" when not about one
	Severity    Severity // "" means SeverityWarning
	Team        string   // owning team; "" means "unowned"
	Escalation  string   // the owner's escalation entry (free text), may be empty
	Drill       bool     // a staged drill: label drill="true", text says DRILL
	Summary     string
	Description string
	RunbookURL  string
}

// Receivers names where alerts go: the configuration section alerting. Each is optional: a
// receiver whose setting is empty is disabled. The Slack webhook URL and the PagerDuty routing
// key are secrets, never logged.
type Receivers struct {
	// AlertmanagerURL is Alertmanager's base URL, e.g. http://127.0.0.1:9093
	// (alerts are posted to {base}/api/v2/alerts). "" disables it.
	AlertmanagerURL string `yaml:"alertmanager_url"`
	// SlackWebhookURL is a Slack incoming webhook URL (a secret). "" disables it.
	SlackWebhookURL string `yaml:"slack_webhook_url"`
	// PagerDutyRoutingKey is an Events API v2 integration key (a secret).
	// "" disables PagerDuty.
	PagerDutyRoutingKey string `yaml:"pagerduty_routing_key"`
	// PagerDutyURL is the Events API endpoint. Default DefaultPagerDutyURL.
	PagerDutyURL string `yaml:"pagerduty_url"`
	// PagerDutyMinSeverity is the least severe alert sent to PagerDuty: critical, warning or
	// info. Default critical: only what should page (drift on a strict subject, automatic
	// rollbacks) does; warnings such as canary drift go to Alertmanager and Slack only.
	PagerDutyMinSeverity Severity `yaml:"pagerduty_min_severity"`
}

// Options configures a Notifier. No field is required: a Notifier with no receiver is a no-op.
type Options struct {
	// Receivers are where alerts are delivered.
	Receivers
	// GeneratorURL, when set, is sent as Alertmanager's generatorURL and
	// PagerDuty's client_url (e.g. the schemagate console).
	GeneratorURL string

	// ResolveAfter: an alert not raised again within it is resolved. Default 5m.
	ResolveAfter time.Duration
	// ResendInterval: how often active alerts are re-sent to Alertmanager.
	// Default 1m; keep it well below Alertmanager's resolve_timeout.
	ResendInterval time.Duration
	// QueueSize bounds each receiver's queue of undelivered events. Default
	// 1000. When full, the oldest undelivered event is dropped and counted.
	QueueSize int
	// Backoff is the first retry delay, doubling up to MaxBackoff, each with
	// jitter (a random delay in [d/2, d]). Defaults 1s and 1m.
	Backoff, MaxBackoff time.Duration
	// FlushTimeout bounds how long Run keeps delivering queued events after
	// its context is cancelled. Default 10s.
	FlushTimeout time.Duration

	// Client sends the requests. Default: an http.Client with a 10s timeout
	// and a connection pool of its own, whose idle keep-alive connections
	// Run closes when it returns. A Client passed in is left as it is.
	Client *http.Client
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Registerer receives schemagate_alert_deliveries_total{receiver,result}
	// (result ok|error|dropped; error counts failed attempts, so a receiver
	// that is down keeps counting). nil registers nothing.
	Registerer prometheus.Registerer
	// Logger defaults to a logger that discards everything.
	Logger *slog.Logger

	// sweepEvery is how often Run looks for expired alerts and due resends.
	// Default 1s; tests shorten it.
	sweepEvery time.Duration
	// metrics, when set, are the metrics of the Notifier whose receivers
	// SetReceivers replaces: New counts into them instead of registering.
	metrics *metrics
}

// DefaultPagerDutyURL is the PagerDuty Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

const (
	receiverAlertmanager = "alertmanager"
	receiverSlack        = "slack"
	receiverPagerDuty    = "pagerduty"
)

// Notifier deduplicates alerts and delivers them. Create one with New.
type Notifier struct {
	opts    Options
	log     *slog.Logger
	clock   func() time.Time
	red     redactor
	metrics *metrics
	// rcv holds the receivers' workers; SetReceivers swaps it (under mu, so
	// an event is queued to one set or the other) and signals swapped.
	rcv     atomic.Pointer[receiverSet]
	swapped chan struct{}

	mu         sync.Mutex
	active     map[alertKey]*activeAlert
	lastResend time.Time

	running   atomic.Bool
	ownClient bool // opts.Client was made by New: Run closes its idle connections
}

type alertKey struct {
	name, subject, kind string
	drill               bool
}

// activeAlert is an alert that was triggered and not yet resolved.
type activeAlert struct {
	alert    Alert // normalized
	startsAt time.Time
	lastSeen time.Time
}

// New validates opts, fills in defaults and registers the metrics. It does
// no I/O; call Run to deliver. Errors never contain the secrets.
func New(opts Options) (*Notifier, error) {
	red := newRedactor(opts.SlackWebhookURL, opts.PagerDutyRoutingKey)
	ownClient := opts.Client == nil
	if err := setDefaults(&opts); err != nil {
		return nil, err
	}
	n := &Notifier{
		opts:   opts,
		log:    opts.Logger,
		clock:  opts.Clock,
		red:    red,
		active: make(map[alertKey]*activeAlert),
		// The first resend is one interval after New.
		lastResend: opts.Clock(),
		ownClient:  ownClient,
		swapped:    make(chan struct{}, 1),
	}
	var receivers []receiver
	if opts.AlertmanagerURL != "" {
		u, err := checkURL(opts.AlertmanagerURL, red)
		if err != nil {
			return nil, fmt.Errorf("notify: alertmanager URL: %w", err)
		}
		receivers = append(receivers, &alertmanager{
			url:          u.JoinPath("api", "v2", "alerts").String(),
			generatorURL: opts.GeneratorURL,
		})
	}
	if opts.SlackWebhookURL != "" {
		if _, err := checkURL(opts.SlackWebhookURL, red); err != nil {
			return nil, fmt.Errorf("notify: slack webhook URL: %w", err)
		}
		receivers = append(receivers, &slack{url: opts.SlackWebhookURL})
	}
	if opts.PagerDutyRoutingKey != "" {
		if _, err := checkURL(opts.PagerDutyURL, red); err != nil {
			return nil, fmt.Errorf("notify: pagerduty URL: %w", err)
		}
		receivers = append(receivers, &pagerDuty{
			url:        opts.PagerDutyURL,
			routingKey: opts.PagerDutyRoutingKey,
			clientURL:  opts.GeneratorURL,
		})
	}
	names := make([]string, len(receivers))
	for i, r := range receivers {
		names[i] = r.name()
	}
	m := opts.metrics
	if m == nil {
		var err error
		if m, err = newMetrics(opts.Registerer); err != nil {
			return nil, err
		}
	}
	m.init(names)
	n.metrics = m
	set := &receiverSet{}
	for _, r := range receivers {
		w := &worker{
			rcv:         r,
			q:           newQueue(opts.QueueSize),
			ok:          m.deliveries.WithLabelValues(r.name(), "ok"),
			failed:      m.deliveries.WithLabelValues(r.name(), "error"),
			dropped:     m.deliveries.WithLabelValues(r.name(), "dropped"),
			minSeverity: minSeverityOf(r, opts.Receivers),
			client:      opts.Client,
			red:         red,
			log:         opts.Logger.With("receiver", r.name()),
			backoff:     opts.Backoff,
			maxBackoff:  opts.MaxBackoff,
		}
		set.workers = append(set.workers, w)
		if r.name() == receiverAlertmanager {
			set.am = w
		}
	}
	n.rcv.Store(set)
	return n, nil
}

func setDefaults(o *Options) error {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ResolveAfter", &o.ResolveAfter, 5 * time.Minute},
		{"ResendInterval", &o.ResendInterval, time.Minute},
		{"Backoff", &o.Backoff, time.Second},
		{"MaxBackoff", &o.MaxBackoff, time.Minute},
		{"FlushTimeout", &o.FlushTimeout, 10 * time.Second},
		{"sweepEvery", &o.sweepEvery, time.Second},
	} {
		if *d.v < 0 {
			return fmt.Errorf("notify: %s must not be negative, got %s", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = o.Backoff
	}
	if o.QueueSize < 0 {
		return fmt.Errorf("notify: QueueSize must not be negative, got %d", o.QueueSize)
	}
	if o.QueueSize == 0 {
		o.QueueSize = 1000
	}
	if o.PagerDutyURL == "" {
		o.PagerDutyURL = DefaultPagerDutyURL
	}
	if o.PagerDutyMinSeverity == "" {
		o.PagerDutyMinSeverity = SeverityCritical
	}
	if _, err := ParseSeverity(string(o.PagerDutyMinSeverity)); err != nil {
		return fmt.Errorf("notify: PagerDutyMinSeverity: %w", err)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// minSeverityOf is the least severe alert receiver r gets: PagerDutyMinSeverity for
// PagerDuty, every alert ("") for the others.
func minSeverityOf(r receiver, rs Receivers) Severity {
	if r.name() == receiverPagerDuty {
		return rs.PagerDutyMinSeverity
	}
	return ""
}

func checkURL(raw string, red redactor) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, red.error(err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, red.error(fmt.Errorf("%q is not an absolute http(s) URL", raw))
	}
	return u, nil
}

// Enabled reports whether at least one receiver is configured.
func (n *Notifier) Enabled() bool { return len(n.rcv.Load().workers) > 0 }

// Raise triggers a, or refreshes it when it is already active (same Name,
// Subject, Kind and Drill): a refresh pages nobody and keeps the alert from
// being resolved for another ResolveAfter. It never blocks on delivery and
// does no I/O, so the validation hot path may call it on every finding.
// An alert without a Name is ignored.
func (n *Notifier) Raise(a Alert) {
	if !n.Enabled() || a.Name == "" {
		return
	}
	k := alertKey{a.Name, a.Subject, a.Kind, a.Drill}
	now := n.clock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if st, ok := n.active[k]; ok {
		st.lastSeen = now
		return
	}
	st := &activeAlert{alert: normalize(a), startsAt: now, lastSeen: now}
	n.active[k] = st
	n.enqueueLocked(event{kind: eventTrigger, alert: st.snapshot(), at: now})
}

// Resolve resolves the (non-drill) alert now, if it is active; otherwise it
// does nothing. Drills resolve by expiry.
func (n *Notifier) Resolve(name, subject, kind string) {
	if !n.Enabled() {
		return
	}
	k := alertKey{name, subject, kind, false}
	now := n.clock()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.resolveLocked(k, now)
}

func (n *Notifier) resolveLocked(k alertKey, now time.Time) {
	st, ok := n.active[k]
	if !ok {
		return
	}
	delete(n.active, k)
	n.enqueueLocked(event{kind: eventResolve, alert: st.snapshot(), at: now})
}

func (n *Notifier) enqueueLocked(ev event) {
	for _, w := range n.rcv.Load().workers {
		w.enqueue(ev)
	}
}

func normalize(a Alert) Alert {
	if a.Team == "" {
		a.Team = "unowned"
	}
	if a.Severity == "" {
		a.Severity = SeverityWarning
	}
	return a
}

func (st *activeAlert) snapshot() snapshot {
	return snapshot{Alert: st.alert, startsAt: st.startsAt}
}

func compareKeys(a, b alertKey) int {
	return cmp.Or(
		cmp.Compare(a.name, b.name),
		cmp.Compare(a.subject, b.subject),
		cmp.Compare(a.kind, b.kind),
		compareBool(a.drill, b.drill),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}

// sweep resolves expired alerts and, when due, queues a resend of every
// active alert to Alertmanager (unless one is still waiting in its queue).
func (n *Notifier) sweep(now time.Time) {
	n.mu.Lock()
	var expired []alertKey
	for k, st := range n.active {
		if now.Sub(st.lastSeen) >= n.opts.ResolveAfter {
			expired = append(expired, k)
		}
	}
	slices.SortFunc(expired, compareKeys)
	for _, k := range expired {
		n.resolveLocked(k, now)
	}
	set := n.rcv.Load()
	if set.am != nil && now.Sub(n.lastResend) >= n.opts.ResendInterval {
		n.lastResend = now
		if len(n.active) > 0 && !set.am.q.hasRefresh() {
			keys := make([]alertKey, 0, len(n.active))
			for k := range n.active {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, compareKeys)
			ev := event{kind: eventRefresh, at: now}
			for _, k := range keys {
				ev.refresh = append(ev.refresh, n.active[k].snapshot())
			}
			set.am.enqueue(ev)
		}
	}
	n.mu.Unlock()
	for _, w := range set.workers {
		w.reportDrops()
	}
}

// Run delivers queued events until ctx is cancelled, resolving expired
// alerts and re-sending active ones to Alertmanager as it goes. On
// cancellation it resolves what has expired and keeps delivering for up to
// Options.FlushTimeout; events still undelivered then are counted as
// dropped and reported in the returned error. Receivers replaced by
// SetReceivers are stopped the same way, in the background. Run may be
// called once.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("notify: Run called more than once")
	}
	if n.ownClient {
		// Keep-alive connections to the receivers would otherwise outlive Run
		// (with a reader and a writer goroutine each) until they time out.
		defer n.opts.Client.CloseIdleConnections()
	}
	var (
		lost    atomic.Int64
		retired sync.WaitGroup // stopping sets that SetReceivers replaced
	)
	cur := n.rcv.Load()
	stop := n.start(ctx, cur)
	tick := time.NewTicker(n.opts.sweepEvery)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			n.sweep(n.clock())
		case <-n.swapped:
			if next := n.rcv.Load(); next != cur {
				old := stop
				retired.Go(func() { lost.Add(int64(old())) })
				cur, stop = next, n.start(ctx, next)
			}
		}
	}
	n.sweep(n.clock())
	lost.Add(int64(stop()))
	retired.Wait()
	if k := lost.Load(); k > 0 {
		return fmt.Errorf("notify: %d alert events undelivered after the %s flush timeout", k, n.opts.FlushTimeout)
	}
	return nil
}

// start runs the workers of set until the returned stop is called. stop
// lets them deliver what is queued for up to Options.FlushTimeout, then
// cuts them off, counts what is left as dropped and returns how many
// events that was.
func (n *Notifier) start(ctx context.Context, set *receiverSet) (stop func() int) {
	// Deliveries run on their own context so that cancelling ctx starts the
	// flush instead of aborting requests in flight.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	stopping := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range set.workers {
		wg.Go(func() { w.run(hard, stopping) })
	}
	return func() int {
		defer cancelHard()
		close(stopping)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		flush := time.NewTimer(n.opts.FlushTimeout)
		defer flush.Stop()
		select {
		case <-done:
		case <-flush.C:
			cancelHard()
			<-done
		}
		lost := 0
		for _, w := range set.workers {
			if k := w.abandon(); k > 0 {
				lost += k
				w.log.Warn("alert events undelivered at shutdown", "events", k, "flush_timeout", n.opts.FlushTimeout)
			}
		}
		return lost
	}
}

type metrics struct {
	deliveries *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "schemagate",
			Name:      "alert_deliveries_total",
			Help:      "Alert deliveries by receiver and result: ok (event delivered), error (failed attempt), dropped (event evicted from a full queue or undelivered at shutdown).",
		}, []string{"receiver", "result"}),
	}
	if reg != nil {
		if err := reg.Register(m.deliveries); err != nil {
			return nil, fmt.Errorf("notify: registering metrics: %w", err)
		}
	}
	return m, nil
}

// init makes every result of each receiver a series, at 0, before the
// first delivery.
func (m *metrics) init(receivers []string) {
	for _, r := range receivers {
		for _, res := range []string{"ok", "error", "dropped"} {
			m.deliveries.WithLabelValues(r, res)
		}
	}
}
