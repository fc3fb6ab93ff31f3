package governance

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/validate"
)

// unregisteredSubject is the subject label of validations for names that are not registered,
// so callers cannot create metric series at will.
const unregisteredSubject = "_unregistered"

// metrics are governance's metrics. The per-validation counters are updated on the hot path;
// the gauges and the audit counts are refreshed by the tick, never on a scrape, so a scrape
// never queries the store.
type metrics struct {
	validations   *prometheus.CounterVec
	findings      *prometheus.CounterVec
	drills        *prometheus.CounterVec
	flushes       *prometheus.CounterVec
	autoRollbacks *prometheus.CounterVec
	ownerInfo     *prometheus.GaugeVec
	clean         *prometheus.GaugeVec
	eligible      *prometheus.GaugeVec
	mode          *prometheus.GaugeVec
	verifications *prometheus.CounterVec

	// validationsBySubject caches validations' children: subject → *subjectValidations, so
	// the hot path does not hash three label values per payload. The vec is never reset or
	// pruned, so a cached child is always the one it would return.
	validationsBySubject sync.Map

	auditDesc *prometheus.Desc
	mu        sync.Mutex
	audit     map[string]int64 // entries per action, as of the last tick
}

// subjectValidations are one subject's validations children by mode (canary, strict) and
// outcome (valid, flagged, rejected), each made on its first use, so a scrape shows only the
// series that were counted, as with WithLabelValues.
type subjectValidations [2][3]atomic.Pointer[prometheus.Counter]

// newMetrics builds the metrics and registers them, with the evidence-lost counters read from
// ev and the chain gauge read from audit, in reg.
func newMetrics(reg prometheus.Registerer, ev *Evidence, audit *Audit) (*metrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	m := &metrics{
		validations: counter("schemagate_validations_total",
			"Payload validations by subject, validation mode and outcome (valid, flagged, rejected).", "subject", "mode", "outcome"),
		findings: counter("schemagate_drift_findings_total", "Schema drift findings by subject and drift kind.", "subject", "kind"),
		drills: counter("schemagate_drift_drills_total",
			"Staged drift drills (schemagate drift inject); never counted as findings.", "subject", "kind"),
		flushes: counter("schemagate_evidence_flushes_total", "Evidence flushes to the store by result (ok, error).", "result"),
		autoRollbacks: counter("schemagate_auto_rollbacks_total",
			"Strict subjects demoted to canary by the automatic rollback.", "subject"),
		ownerInfo: gauge("schemagate_subject_owner_info",
			"1 for each subject with a registered owner: its team (the escalation entry is free text: it is in the owners table and the gateway's alerts, never a label).", "subject", "team"),
		clean:    gauge("schemagate_clean_window_seconds", "Clean time in the subject's current window.", "subject"),
		eligible: gauge("schemagate_promotion_eligible", "1 when the subject may be promoted to strict.", "subject"),
		mode:     gauge("schemagate_subject_validation_mode", "1 for the subject's validation mode, 0 for the other.", "subject", "mode"),
		verifications: counter("schemagate_audit_verifications_total",
			"Full verifications of the audit chain by result: intact, broken, or error (the store could not be read).", "result"),
		auditDesc: prometheus.NewDesc("schemagate_audit_entries_total",
			"Audit log entries by action (all replicas, from the store).", []string{"action"}, nil),
		audit: map[string]int64{},
	}
	collectors := []prometheus.Collector{m.validations, m.findings, m.drills, m.flushes, m.autoRollbacks,
		m.ownerInfo, m.clean, m.eligible, m.mode, m.verifications, (*auditCollector)(m), newChainCollector(audit)}
	for what, lost := range map[string]func() int64{"drift_sample": ev.DroppedSamples, "heartbeat": ev.LostHeartbeats} {
		collectors = append(collectors, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "schemagate_evidence_lost_total",
			Help:        "Evidence dropped because the memory bound held while flushes fail was reached: drift samples (their counts are kept) and bucket heartbeats (those buckets count as downtime).",
			ConstLabels: prometheus.Labels{"what": what},
		}, func() float64 { return float64(lost()) }))
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("governance: register metrics: %w", err)
		}
	}
	// Present from the start, so "errors and no ok" rules see both series.
	m.flushes.WithLabelValues("ok")
	m.flushes.WithLabelValues("error")
	for _, result := range []string{"intact", "broken", "error"} {
		m.verifications.WithLabelValues(result)
	}
	return m, nil
}

// verified counts a full verification of the audit chain: its result r, or err.
func (m *metrics) verified(r VerifyResult, err error) {
	result := "intact"
	switch {
	case err != nil:
		result = "error"
	case !r.OK:
		result = "broken"
	}
	m.verifications.WithLabelValues(result).Inc()
}

// validated counts one validation of subject (already replaced by unregisteredSubject when it
// is not registered) and its findings.
func (m *metrics) validated(subject string, d Decision, findings []validate.Finding) {
	m.validationCounter(subject, d).Inc()
	for _, f := range findings {
		m.findings.WithLabelValues(subject, f.Kind.String()).Inc()
	}
}

// validationCounter returns the validations child of subject and d, from the cache when it
// was used before.
func (m *metrics) validationCounter(subject string, d Decision) prometheus.Counter {
	mode, outcome := 0, int(d.Outcome)-int(OutcomeValid)
	if d.Mode == ModeStrict {
		mode = 1
	} else if d.Mode != ModeCanary {
		mode = -1
	}
	if mode < 0 || outcome < 0 || outcome > 2 {
		return m.validations.WithLabelValues(subject, d.Mode.String(), d.Outcome.String())
	}
	cached, ok := m.validationsBySubject.Load(subject)
	if !ok {
		cached, _ = m.validationsBySubject.LoadOrStore(subject, new(subjectValidations))
	}
	cell := &cached.(*subjectValidations)[mode][outcome]
	if c := cell.Load(); c != nil {
		return *c
	}
	c := m.validations.WithLabelValues(subject, d.Mode.String(), d.Outcome.String())
	cell.Store(&c)
	return c
}

// flushed counts an evidence flush.
func (m *metrics) flushed(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.flushes.WithLabelValues(result).Inc()
}

// setOwners replaces the owner info series.
func (m *metrics) setOwners(owners []Owner) {
	m.ownerInfo.Reset()
	for _, o := range owners {
		m.ownerInfo.WithLabelValues(o.Subject, o.Team).Set(1)
	}
}

// setStatus sets the clean-window gauges of one subject.
func (m *metrics) setStatus(st Status) {
	m.clean.WithLabelValues(st.Subject).Set(st.Clean.Seconds())
	m.eligible.WithLabelValues(st.Subject).Set(boolGauge(st.Eligible))
	for _, mode := range []ValidationMode{ModeCanary, ModeStrict} {
		m.mode.WithLabelValues(st.Subject, mode.String()).Set(boolGauge(st.Mode == mode))
	}
}

// setAuditCounts replaces the audit entry counts the collector reports.
func (m *metrics) setAuditCounts(counts map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = counts
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// auditCollector reports schemagate_audit_entries_total from the last tick's counts.
type auditCollector metrics

// Describe implements prometheus.Collector.
func (c *auditCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.auditDesc }

// Collect implements prometheus.Collector.
func (c *auditCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for action, n := range c.audit {
		ch <- prometheus.MustNewConstMetric(c.auditDesc, prometheus.CounterValue, float64(n), action)
	}
}

// chainCollector reports schemagate_audit_chain_intact from what the audit log knows of its
// chain: 1 when the last verification found it intact, 0 from the moment a verification or an
// append's head check found it broken; no sample before the first verification finished.
type chainCollector struct {
	audit *Audit
	desc  *prometheus.Desc
}

func newChainCollector(audit *Audit) *chainCollector {
	return &chainCollector{audit: audit, desc: prometheus.NewDesc("schemagate_audit_chain_intact",
		"1 when the last verification of the audit hash chain found it intact, 0 while it is broken (promotions are refused).", nil, nil)}
}

// Describe implements prometheus.Collector.
func (c *chainCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *chainCollector) Collect(ch chan<- prometheus.Metric) {
	broken, known := c.audit.chain.status()
	if known {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, boolGauge(broken == nil))
	}
}
