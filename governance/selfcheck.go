package governance

import (
	"context"
	"time"
)

// This file holds the gate's side of the audit log's self-check: the full verification at
// start and every governance.audit_verify_interval, its metrics, and the governance document's
// banner kept in step with the verdict.

// startVerifyTimeout bounds the verification New runs before the gate serves. A log of a few
// hundred thousand entries verifies well within it; a larger one (or a slow store) lets start
// go on, and Run verifies again at once, without the bound. Meanwhile every append still checks
// the head it builds on.
const startVerifyTimeout = 10 * time.Second

// verifyChain verifies the whole chain, counts the outcome
// (schemagate_audit_verifications_total), logs a break, and rewrites the governance document
// when the verdict changed, so its banner appears and goes with the break. A read failure is
// returned and counted as result="error"; the verdict stays what it was.
func (g *Gate) verifyChain(ctx context.Context) (VerifyResult, error) {
	before := g.audit.LastBreak()
	r, err := g.audit.Verify(ctx)
	if err != nil {
		if ctx.Err() == nil {
			g.metrics.verified(r, err)
			g.log.Warn("audit chain verification failed", "error", err)
		}
		return r, err
	}
	g.metrics.verified(r, nil)
	if !r.OK {
		g.log.Error("audit chain broken: promotion requests and approvals are refused, rollbacks still work; run `schemagate audit verify`",
			"first_broken", r.FirstBroken, "problem", r.Problem, "head_seq", r.HeadSeq)
	}
	if after := g.audit.LastBreak(); !sameBreak(before, after) {
		g.gov.afterAction(ctx)
	}
	return r, nil
}

// sameBreak reports whether a and b are the same verdict: both intact (nil), or broken at the
// same entry for the same reason.
func sameBreak(a, b *VerifyResult) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.FirstBroken == b.FirstBroken && a.Problem == b.Problem
}

// verifyAtStart runs the first full verification, bounded by startVerifyTimeout, and reports
// whether it finished.
func (g *Gate) verifyAtStart(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, startVerifyTimeout)
	defer cancel()
	if _, err := g.verifyChain(ctx); err != nil {
		g.log.Warn("the start-up verification of the audit chain did not finish; it runs again in the background", "error", err)
		return false
	}
	return true
}

// runVerification verifies the chain every interval until ctx is done, and at once when the
// start-up verification did not finish.
func (g *Gate) runVerification(ctx context.Context) {
	if !g.verifiedAtStart {
		_, _ = g.verifyChain(ctx)
	}
	every(ctx, g.verifyInterval, func() { _, _ = g.verifyChain(ctx) })
}
