package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// receiver turns an event into one HTTP request.
type receiver interface {
	name() string
	// send delivers ev; a non-nil error is a *deliveryError.
	send(ctx context.Context, c *http.Client, red redactor, ev event) error
}

// worker owns one receiver's queue and delivers it in order.
type worker struct {
	rcv                 receiver
	q                   *queue
	ok, failed, dropped prometheus.Counter
	client              *http.Client
	red                 redactor
	log                 *slog.Logger
	backoff, maxBackoff time.Duration
	// minSeverity is the least severe alert this receiver gets; "" means every alert. Its
	// triggers and resolves are both left out, so a receiver never sees a resolve alone.
	minSeverity Severity

	drops, reportedDrops atomic.Int64
}

func (w *worker) enqueue(ev event) {
	if w.minSeverity != "" && ev.kind != eventRefresh && !ev.alert.Severity.atLeast(w.minSeverity) {
		return
	}
	if w.q.push(ev) {
		w.dropped.Inc()
		w.drops.Add(1)
	}
}

// reportDrops logs queue overflows since the last call. Raise cannot log
// (no I/O on the caller's goroutine), so Run does it.
func (w *worker) reportDrops() {
	total := w.drops.Load()
	if d := total - w.reportedDrops.Swap(total); d > 0 {
		w.log.Warn("alert queue full, dropped oldest undelivered events", "dropped", d)
	}
}

// abandon counts whatever is left in the queue as dropped.
func (w *worker) abandon() int {
	k := w.q.clear()
	w.dropped.Add(float64(k))
	return k
}

// run delivers until the queue is empty after stopping is closed, or ctx
// is done.
func (w *worker) run(ctx context.Context, stopping <-chan struct{}) {
	var delay time.Duration
	for {
		ev, ok := w.q.pin()
		if !ok {
			select {
			case <-w.q.wake:
			case <-stopping:
				if w.q.len() == 0 {
					return
				}
			case <-ctx.Done():
				return
			}
			continue
		}
		err := w.rcv.send(ctx, w.client, w.red, ev)
		if err == nil {
			w.q.unpin(true)
			w.ok.Inc()
			delay = 0
			continue
		}
		if ctx.Err() != nil { // flush timeout: leave it for abandon
			w.q.unpin(false)
			return
		}
		w.failed.Inc()
		de := asDeliveryError(err)
		if !de.retryable {
			w.q.unpin(true)
			delay = 0
			w.log.Error("alert delivery failed, not retrying", append(ev.logAttrs(), "error", de.Error())...)
			continue
		}
		w.q.unpin(false)
		delay = nextBackoff(delay, w.backoff, w.maxBackoff)
		wait := jitter(delay)
		if de.retryAfter > wait {
			wait = min(de.retryAfter, w.maxBackoff)
		}
		w.log.Warn("alert delivery failed, will retry", append(ev.logAttrs(), "error", de.Error(), "retry_in", wait)...)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

func (ev event) logAttrs() []any {
	switch ev.kind {
	case eventRefresh:
		return []any{"event", "resend", "alerts", len(ev.refresh)}
	case eventResolve:
		return []any{"event", "resolve", "alertname", ev.alert.Name, "subject", ev.alert.Subject, "kind", ev.alert.Kind}
	default:
		return []any{"event", "trigger", "alertname", ev.alert.Name, "subject", ev.alert.Subject, "kind", ev.alert.Kind}
	}
}

func nextBackoff(cur, first, max time.Duration) time.Duration {
	if cur == 0 {
		return first
	}
	return min(2*cur, max)
}

// jitter returns a random duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
}

// deliveryError is a failed delivery. Its message is already redacted.
type deliveryError struct {
	receiver   string
	status     int // 0 when no response was received
	retryable  bool
	retryAfter time.Duration
	msg        string
}

func (e *deliveryError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("%s: HTTP %d: %s", e.receiver, e.status, e.msg)
	}
	return e.receiver + ": " + e.msg
}

func asDeliveryError(err error) *deliveryError {
	var de *deliveryError
	if errors.As(err, &de) {
		return de
	}
	return &deliveryError{retryable: true, msg: err.Error()}
}

// postJSON posts body to target and classifies the outcome: nil on 2xx;
// retryable on network errors, 5xx and 429; permanent otherwise.
func postJSON(ctx context.Context, c *http.Client, red redactor, rcv, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return &deliveryError{receiver: rcv, msg: red.string(err.Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "schemagate-notifier")
	resp, err := c.Do(req)
	if err != nil {
		// A *url.Error repeats the URL, which for Slack is the secret;
		// keep only the cause (and redact that too, to be sure).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &deliveryError{receiver: rcv, retryable: true, msg: red.string("POST: " + err.Error())}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	de := &deliveryError{
		receiver:  rcv,
		status:    resp.StatusCode,
		retryable: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		msg:       red.string(string(bytes.TrimSpace(snippet))),
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		de.retryAfter = time.Duration(s) * time.Second
	}
	return de
}
