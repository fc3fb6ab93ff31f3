package governance

import (
	"errors"
	"slices"
)

// Errors of governance. Every error a governance method returns wraps one of them (test with
// errors.Is), or a context error. Messages reach clients, except ErrStore's: the edge reports a
// storage failure without its text and logs it.
var (
	// ErrNotEligible: the subject's evidence does not allow promotion; the message lists why.
	ErrNotEligible = errors.New("not eligible for promotion")
	// ErrPendingPromotion: the subject already has a pending promotion request.
	ErrPendingPromotion = errors.New("promotion already pending")
	// ErrPromotionNotFound: no promotion has that ID.
	ErrPromotionNotFound = errors.New("promotion not found")
	// ErrNotPending: the promotion was already approved or rejected.
	ErrNotPending = errors.New("promotion not pending")
	// ErrSelfApproval: the requester may not approve their own request (two-person rule).
	ErrSelfApproval = errors.New("requester cannot approve")
	// ErrBadTicket: the ticket does not match governance.ticket_pattern.
	ErrBadTicket = errors.New("invalid ticket")
	// ErrBadRequest: a required field is missing, a mode is unknown, or a text field is longer
	// than its bound (MaxReasonBytes, MaxTicketBytes, MaxOwnerBytes) or not one line.
	ErrBadRequest = errors.New("invalid governance request")
	// ErrAlreadyInMode: a rollback of a canary subject, or a promotion of a strict one.
	ErrAlreadyInMode = errors.New("subject already in that mode")
	// ErrEvidenceIncomplete: a promotion was not decided because a running replica has not
	// stored its evidence up to the decision's instant in time; the message names it. Retry
	// shortly.
	ErrEvidenceIncomplete = errors.New("evidence incomplete")
	// ErrSubjectNotFound: the subject has no live version: it was never registered, or all its
	// versions were deleted. Status, promotion requests and approvals, overrides, owners and
	// drills need one; a rollback needs one unless the subject keeps a mode of its own (see
	// [Governor.Rollback]); a rejection does not.
	ErrSubjectNotFound = errors.New("subject not found")
	// ErrUnknownMode is returned (wrapped) by [ParseValidationMode] for a string that names no
	// mode.
	ErrUnknownMode = errors.New("unknown validation mode")
	// ErrInvalidAuditEntry: an entry that the audit log refuses to store (a NUL byte or invalid
	// UTF-8 in a field, a time out of range). Nothing is written.
	ErrInvalidAuditEntry = errors.New("invalid audit entry")
	// ErrAuditChainBroken: the audit chain was found broken, by the last full verification or by
	// the check an append makes of the head it builds on. While it is, promotion requests and
	// approvals (and automatic promotions) are refused and every append but a rollback's fails;
	// the message names the first bad entry and the problem.
	ErrAuditChainBroken = errors.New("audit chain broken")
	// ErrAuditKeyMismatch: the audit log in the database was written with another HMAC key than
	// governance.audit_hmac_key_file gives (or none): the gate refuses to start.
	ErrAuditKeyMismatch = errors.New("audit HMAC key does not match the log")
	// ErrStore: the database failed (unreachable, a query or a commit failed). Nothing the action
	// would have changed is changed; the call may be retried.
	ErrStore = errors.New("storage failure")
)

// domainErrors are the sentinels of errors that are not storage failures.
var domainErrors = []error{ErrNotEligible, ErrPendingPromotion, ErrPromotionNotFound, ErrNotPending,
	ErrSelfApproval, ErrBadTicket, ErrBadRequest, ErrAlreadyInMode, ErrSubjectNotFound, ErrUnknownMode,
	ErrEvidenceIncomplete, ErrInvalidAuditEntry, ErrAuditChainBroken, ErrAuditKeyMismatch, ErrStore}

// storeError is a failure of the database during op; Error includes the cause, for the log.
type storeError struct {
	op    string
	cause error
}

func (e *storeError) Error() string {
	return "governance: storage failure while " + e.op + ": " + e.cause.Error()
}

func (e *storeError) Unwrap() []error { return []error{ErrStore, e.cause} }

// storeErr classifies err, returned by work on the database during op, as ErrStore, unless it
// already wraps one of governance's errors (a domain error returned from inside a transaction
// passes through unchanged). It returns nil for nil.
func storeErr(op string, err error) error {
	if err == nil || slices.ContainsFunc(domainErrors, func(s error) bool { return errors.Is(err, s) }) {
		return err
	}
	return &storeError{op: op, cause: err}
}
