package governance

import (
	"time"

	"github.com/schemagate/schemagate/registry"
)

// Action names what an audit entry records. It is registry.Action: the registry names its own
// writes there, governance names its actions here, and each name is defined once.
type Action = registry.Action

// Audit actions. Governance actions change a subject's validation mode, a promotion, an owner or
// stage a drill; registry actions record writes to schemas and their settings.
const (
	ActionPromotionRequested Action = "promotion.requested"
	ActionPromotionApproved  Action = "promotion.approved"
	ActionPromotionRejected  Action = "promotion.rejected"
	ActionModePromoted       Action = "mode.promoted" // canary → strict after an approved (or automatic) promotion
	ActionModeRolledBack     Action = "mode.rolled_back"
	ActionModeOverridden     Action = "mode.overridden" // break glass: an admin set a mode without evidence
	ActionOwnerSet           Action = "owner.set"
	ActionDrillInjected      Action = "drift.drill"

	ActionSchemaRegistered  = registry.ActionSchemaRegistered
	ActionSchemaDeleted     = registry.ActionSchemaDeleted
	ActionConfigChanged     = registry.ActionConfigChanged
	ActionAccessModeChanged = registry.ActionAccessModeChanged
)

// EvidenceSnapshot is the clean-window evidence behind a promotion, as it stood when the
// action was taken.
type EvidenceSnapshot struct {
	WindowStart time.Time     `json:"window_start"`
	WindowEnd   time.Time     `json:"window_end"`
	Clean       time.Duration `json:"clean_ns"`
	Required    time.Duration `json:"required_ns"`
	Validations int64         `json:"validations"`
	Violations  int64         `json:"violations"`
}

// Entry is one audit log entry. Entries are append-only and hash-chained: Hash covers the
// entry's canonical encoding and PrevHash, the Hash of the entry before it ("" for the first).
type Entry struct {
	// Seq numbers entries from 1, without gaps.
	Seq int64
	// Time of the action, UTC, truncated to microseconds (what the store keeps).
	Time time.Time
	// Actor is the principal who acted ("system" for automatic actions); Role the role it
	// acted in.
	Actor, Role string
	// Action is one of the Action constants.
	Action Action
	// Subject acted on ("" for global actions).
	Subject string
	// Ticket is the change-request ticket, Incident the incident a rollback cites.
	Ticket, Incident string
	// Reason given by the actor.
	Reason string
	// PromotionID names the promotion the entry is about, if any.
	PromotionID string
	// FromMode and ToMode record a validation mode change ("" when the mode did not change).
	FromMode, ToMode string
	// Evidence is the snapshot behind a promotion (nil for other actions).
	Evidence *EvidenceSnapshot
	// Details holds further facts (schema ID and version, compatibility level…), sorted by key
	// in the canonical encoding.
	Details map[string]string
	// PrevHash and Hash are lowercase hex SHA-256 (or HMAC-SHA-256 when a key is configured).
	PrevHash, Hash string
}

// entryOverhead is what an encoded entry takes besides its strings: field names, the sequence,
// times, the evidence's numbers and the punctuation of JSON or protobuf, rounded up.
const entryOverhead = 512

// EncodedSize estimates the bytes e takes encoded as JSON or protobuf: its strings and details
// plus a fixed overhead (JSON escapes of control characters are not counted). It bounds audit pages by size (see [MaxAuditPageBytes]).
func (e Entry) EncodedSize() int {
	n := entryOverhead + len(e.Actor) + len(e.Role) + len(e.Action) + len(e.Subject) + len(e.Ticket) +
		len(e.Incident) + len(e.Reason) + len(e.PromotionID) + len(e.FromMode) + len(e.ToMode) + len(e.PrevHash) + len(e.Hash)
	for k, v := range e.Details {
		n += len(k) + len(v) + 8
	}
	return n
}
