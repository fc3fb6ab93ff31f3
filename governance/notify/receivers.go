package notify

// receiverSet is the workers of one configuration of receivers; New builds
// it and SetReceivers replaces it whole. It is never changed once stored.
type receiverSet struct {
	workers []*worker
	am      *worker // nil when Alertmanager is disabled
}

// SetReceivers replaces where alerts go, for a configuration reload. The new
// receivers are checked as New checks them; on error nothing changes and
// the error names no secret. On success, events raised from now on go to
// the new receivers; events already queued for the old ones get up to
// Options.FlushTimeout to be delivered (Run stops the old workers in the
// background), then are counted as dropped. Alerts active at the swap are
// not sent again to Slack or PagerDuty (Alertmanager gets them with its next
// resend); their resolve goes to the new receivers. Raise stays lock-free
// until its usual mutex: it reads the set through an atomic pointer.
func (n *Notifier) SetReceivers(r Receivers) error {
	opts := n.opts // never written after New
	opts.Receivers = r
	opts.metrics = n.metrics
	built, err := New(opts)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.rcv.Store(built.rcv.Load())
	n.mu.Unlock()
	select {
	case n.swapped <- struct{}{}:
	default: // Run has a signal pending already; it reads the latest set
	}
	return nil
}
