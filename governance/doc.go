// Package governance owns validation modes (canary, strict), clean-window evidence, promotion
// requests and approvals, rollback, the hash-chained audit log, the generated governance
// document and the alert notifier. It depends on registry and store only; drift kinds are
// plain strings (the values of validate.Kind), not an import of validate.
//
// Built so far:
//   - [Modes]: the global default mode and per-subject overrides, stored so that every replica
//     sees them, with an in-memory snapshot ([Modes.ModeOf]) for the validation hot path.
//   - [Evidence]: per-subject validation counters kept in memory by [Evidence.Record] and
//     flushed to the store in time buckets per replica, with a heartbeat per replica and
//     bucket, and drift samples ([Evidence.DriftReport]).
//
// Promotion, approvals, rollback, the audit log, the document and the notifier are built by the
// governance issue; until then the gateway's GovernanceService answers Unimplemented.
package governance
