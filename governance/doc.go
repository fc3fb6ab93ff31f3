// Package governance owns validation modes (canary, strict), clean-window evidence, promotion
// requests and approvals, rollback, the hash-chained audit log, the generated governance
// document and the alert notifier. It depends on registry and store only.
//
// Governance is built by the governance issue; until then the gateway's GovernanceService
// answers Unimplemented.
package governance
