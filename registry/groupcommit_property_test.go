package registry

import (
	"context"
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// poolSchema is schema i of a pool of records compatible with each other: each adds its own
// optional field.
func poolSchema(i int) string {
	return fmt.Sprintf(`{"type":"record","name":"P","fields":[{"name":"f%d","type":["null","int"],"default":null}]}`, i)
}

// TestPropertyGroupCommit registers random sets of schemas concurrently, in random
// interleavings, gathered into one batch or not: whatever the order, every call gets the
// answer it would get alone — a schema of the pool succeeds (the pool's schemas are
// compatible with each other), a subject whose audit hook fails refuses it, a subject turned
// READONLY after the calls queued refuses them — each subject's versions are 1, 2, 3…, one per
// distinct schema, each content keeps one ID across subjects and calls, and the journal holds
// one entry per version. One registry serves every run; each run has subjects of its own.
func TestPropertyGroupCommit(t *testing.T) {
	db := openLimited(t, 4)
	r, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	j := newJournal(t, r, db)
	ids := map[string]int{} // schema text → ID, over every run
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		prefix := fmt.Sprintf("run%d/", run)
		gather := rapid.Bool().Draw(rt, "gather")
		n := rapid.IntRange(2, 16).Draw(rt, "calls")
		calls := make([]*call, n)
		for i := range calls {
			subject := rapid.SampledFrom([]string{"a", "b", "c", "turns-read-only", hookFails}).Draw(rt, "subject")
			c := &call{subject: prefix + subject, in: avroIn(poolSchema(rapid.IntRange(0, 5).Draw(rt, "schema")))}
			switch {
			case subject == hookFails:
				c.want = ErrStore
			case subject == "turns-read-only" && gather:
				c.want = ErrOperationNotPermitted
			}
			calls[i] = c
		}
		r.group.beforeBatch = nil
		if gather {
			gatherBatch(t, r, n, func() {
				if _, err := other.SetAccessMode(context.Background(), prefix+"turns-read-only", ModeReadOnly, false); err != nil {
					t.Error(err)
				}
			})
		}
		registerAll(context.Background(), r, calls)
		checkOutcomes(rt, r, j, prefix, calls, ids)
	})
}
