// Package governance owns validation modes (canary, strict), clean-window evidence, promotion
// requests and approvals, rollback, the hash-chained audit log, the generated governance
// document and the alert notifier. It depends on registry and store only; drift kinds are
// plain strings (the values of validate.Kind), not an import of validate.
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
//   - [RenderDocument]: the governance document, rendered from the audit log.
//
// The alert notifier is built by the alerting issue.
package governance
