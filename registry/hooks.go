package registry

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Hooks holds the listeners of a registry's writes, for the registries that record their
// writes in schemagate's store: the embedded Registry and upstream mode's. The zero value has
// none and is ready to use; it is safe for concurrent use.
type Hooks struct {
	mu       sync.Mutex
	changes  []func(ctx context.Context, c Change)
	journals []func(ctx context.Context, tx *sql.Tx, c Change) error
}

// AddChange registers fn to be called by Notify.
func (h *Hooks) AddChange(fn func(ctx context.Context, c Change)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, fn)
}

// AddJournal registers fn to be called by Journal.
func (h *Hooks) AddJournal(fn func(ctx context.Context, tx *sql.Tx, c Change) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.journals = append(h.journals, fn)
}

// Journal runs the journal hooks in tx, in the order they were added, and stops at the first
// error, which it returns naming the change.
func (h *Hooks) Journal(ctx context.Context, tx *sql.Tx, c Change) error {
	h.mu.Lock()
	fns := h.journals
	h.mu.Unlock()
	for _, fn := range fns {
		if err := fn(ctx, tx, c); err != nil {
			return fmt.Errorf("record %s of %q: %w", c.Action, c.Subject, err)
		}
	}
	return nil
}

// Notify runs the change listeners, in the order they were added.
func (h *Hooks) Notify(ctx context.Context, c Change) {
	h.mu.Lock()
	fns := h.changes
	h.mu.Unlock()
	for _, fn := range fns {
		fn(ctx, c)
	}
}
