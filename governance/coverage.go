package governance

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// coveragePoll is how often an approval re-reads the replicas it waits for.
const coveragePoll = 50 * time.Millisecond

// awaitCoverage makes the evidence in the store cover instant on every live replica, so that a
// promotion decided next sees every validation answered before instant, wherever it was
// answered. It flushes this replica's evidence, then waits until every other replica that is
// still running has stored a flush that began at or after instant. A replica counts as running
// unless it shut down gracefully (its last flush said so) or has been silent for longer than
// GovernorOptions.ReplicaTimeout, after which it is presumed gone: its time without a heartbeat
// is downtime, never clean time, and whatever it held unflushed is stored, late, if it returns.
//
// The wait is bounded by about two evidence flush intervals (every running replica flushes once
// per interval) and by ctx. If a replica has not covered instant by then, the error wraps
// ErrEvidenceIncomplete and names each such replica with the time it last reported.
func (g *Governor) awaitCoverage(ctx context.Context, instant time.Time) error {
	ev := g.opts.Evidence
	if err := ev.Flush(ctx); err != nil {
		return err
	}
	wait := time.NewTimer(max(2*ev.flushInterval, time.Second))
	defer wait.Stop()
	poll := time.NewTicker(coveragePoll)
	defer poll.Stop()
	var behind []ReplicaState
	for {
		now, err := g.uncovered(ctx, instant)
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for the evidence of %s: %w", replicaNames(behind), ctx.Err())
		}
		if err != nil || len(now) == 0 {
			return err
		}
		behind = now
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the evidence of %s: %w", replicaNames(behind), ctx.Err())
		case <-wait.C:
			return g.incomplete(instant, behind)
		case <-poll.C:
		}
	}
}

// uncovered returns the running replicas whose stored evidence ends before instant.
func (g *Governor) uncovered(ctx context.Context, instant time.Time) ([]ReplicaState, error) {
	replicas, err := g.opts.Evidence.Replicas(ctx)
	if err != nil {
		return nil, err
	}
	gone := instant.Add(-g.opts.ReplicaTimeout)
	var behind []ReplicaState
	for _, r := range replicas {
		if r.Stopped.IsZero() && r.LastSeen.Before(instant) && !r.LastSeen.Before(gone) {
			behind = append(behind, r)
		}
	}
	return behind, nil
}

// incomplete is the refusal of a promotion whose evidence the replicas behind have not covered.
func (g *Governor) incomplete(instant time.Time, behind []ReplicaState) error {
	parts := make([]string, len(behind))
	for i, r := range behind {
		parts[i] = fmt.Sprintf("replica %q last stored its evidence at %s (%s before); it counts until %s",
			r.Name, r.LastSeen.Format(time.RFC3339Nano), instant.Sub(r.LastSeen).Round(time.Millisecond),
			r.LastSeen.Add(g.opts.ReplicaTimeout).Format(time.RFC3339))
	}
	return fmt.Errorf("%w at %s: %s; retry once it reports, or after governance.replica_timeout (%s) if it is gone",
		ErrEvidenceIncomplete, instant.Format(time.RFC3339Nano), strings.Join(parts, "; "), g.opts.ReplicaTimeout)
}

// replicaNames lists the replicas' names, quoted.
func replicaNames(rs []ReplicaState) string {
	if len(rs) == 0 {
		return "the other replicas"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = fmt.Sprintf("%q", r.Name)
	}
	return "replica " + strings.Join(names, ", ")
}
