package notify

import (
	"sync"
	"time"
)

type eventKind int

const (
	eventTrigger eventKind = iota
	eventResolve
	eventRefresh // Alertmanager only: re-send every active alert
)

// snapshot is an alert as it was when an event was queued.
type snapshot struct {
	Alert
	startsAt time.Time
}

type event struct {
	kind    eventKind
	alert   snapshot   // trigger and resolve
	refresh []snapshot // refresh
	at      time.Time  // when it was raised or resolved
}

// queue is a bounded FIFO of undelivered events for one receiver. The worker
// pins the head while its request is in flight; a full queue drops its
// oldest unpinned event, so at most size events wait besides the pinned one.
type queue struct {
	mu        sync.Mutex
	items     []event
	pinned    bool
	size      int
	refreshes int // refresh events waiting, so resends do not pile up

	wake chan struct{} // signalled on every push
}

func newQueue(size int) *queue {
	return &queue{size: size, wake: make(chan struct{}, 1)}
}

// push appends ev and reports whether an older event had to be dropped.
func (q *queue) push(ev event) (dropped bool) {
	q.mu.Lock()
	waiting := len(q.items)
	first := 0
	if q.pinned {
		waiting--
		first = 1
	}
	if waiting >= q.size {
		q.forget(q.items[first])
		q.items = append(q.items[:first], q.items[first+1:]...)
		dropped = true
	}
	q.items = append(q.items, ev)
	if ev.kind == eventRefresh {
		q.refreshes++
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return dropped
}

func (q *queue) forget(ev event) {
	if ev.kind == eventRefresh {
		q.refreshes--
	}
}

// pin returns the head and protects it from being dropped until unpin.
func (q *queue) pin() (event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return event{}, false
	}
	q.pinned = true
	return q.items[0], true
}

// unpin releases the head and, if done, removes it.
func (q *queue) unpin(done bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pinned = false
	if done {
		q.forget(q.items[0])
		q.items[0] = event{}
		q.items = q.items[1:]
	}
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *queue) hasRefresh() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.refreshes > 0
}

// clear empties the queue and returns how many events it held.
func (q *queue) clear() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := len(q.items)
	q.items, q.refreshes, q.pinned = nil, 0, false
	return k
}
