// Package governance is schemagate's gate: it owns validation modes (canary, strict) and the
// decision they make over a validation result, clean-window evidence, promotion requests and
// approvals, rollback, the hash-chained audit log, the generated governance document, subject
// owners, the alert policy and the metrics of all these. It depends on validate, registry and
// store, never on transport.
//
// The transport uses one entry point, [Gate], built by [New] from one [Options]:
//   - [Gate.Decide]: the validation hot path. It turns the engine's result into valid, flagged
//     or rejected by the subject's mode, counts it, records it as evidence and raises Schema
//     Drift alerts (notify delivers them on its own goroutines). It never touches the database.
//   - The actions and reports: [Gate.Status], [Gate.Request], [Gate.Approve], [Gate.Reject],
//     [Gate.Rollback], [Gate.Override], [Gate.SetOwner], [Gate.Drill], [Gate.DriftReport],
//     [Gate.AuditEntries], [Gate.VerifyAudit], [Gate.Document]; every one commits with its
//     audit entry or not at all. Errors wrap the sentinels of errors.go ([ErrStore] for a
//     failed database).
//   - [Gate.Run]: evidence flushes, mode refresh, the tick (automatic requests and rollbacks,
//     owners, the governance gauges) and alert delivery, until shutdown.
//
// What it holds:
//   - [Modes]: the global default mode and per-subject overrides, stored so that every replica
//     sees them, with an in-memory snapshot ([Modes.ModeOf]) for the validation hot path.
//   - [Evidence]: per-subject validation counters kept in memory by [Evidence.Record] and
//     flushed to the store in time buckets per replica, with a heartbeat per replica and
//     bucket, and drift samples ([Evidence.DriftReport]).
//   - [Assess]: a subject's clean window measured against the [Policy], a pure function of
//     stored facts and the injected clock.
//   - [Governor]: promotion requests, two-person approval, rejection, rollback and the
//     break-glass override, each committed together with its [Audit] entry.
//   - [Audit]: the hash-chained (optionally HMAC-keyed) audit log, verifiable offline.
//   - [RenderDocument]: the governance document, rendered from audit entries; [StreamDocument]
//     renders it from the log page by page, to a writer.
package governance
