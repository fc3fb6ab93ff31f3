package governance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// This file holds how the audit log checks itself: the head check of every append, what the
// Audit remembers of the last verification (so that promotions are refused while the chain is
// broken), and the start-up check that the configured HMAC key is the one the log was written
// with.

// Details keys of an entry appended over a head that failed its check (only a rollback is):
// the first bad entry the check found and its problem. They are reserved: AppendTx refuses
// them from callers.
const (
	chainDetailPrefix  = "chain."
	detailFirstBroken  = chainDetailPrefix + "first_broken"
	detailChainProblem = chainDetailPrefix + "problem"
)

// chainState is what an Audit knows of its chain: unknown until a verification finishes, then
// intact or broken, and broken as soon as an append's head check fails. Safe for concurrent
// use.
type chainState struct {
	mu     sync.Mutex
	known  bool
	broken *VerifyResult // nil while intact (or unknown)
	breaks uint64        // head checks that failed, so a verification that started before one cannot clear it
}

// breaksSoFar is the count of failed head checks, taken when a verification starts.
func (c *chainState) breaksSoFar() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.breaks
}

// verified records the outcome r of a verification that started when breaksSoFar was since.
// An intact outcome does not clear a break an append found after the verification started.
func (c *chainState) verified(r VerifyResult, since uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known = true
	switch {
	case !r.OK:
		c.broken = &r
	case c.breaks == since:
		c.broken = nil
	}
}

// headFailed records a break found by an append's head check.
func (c *chainState) headFailed(r VerifyResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known, c.broken = true, &r
	c.breaks++
}

// status returns the break (nil while intact) and whether the state is known at all.
func (c *chainState) status() (broken *VerifyResult, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		r := *c.broken
		return &r, true
	}
	return nil, c.known
}

// LastBreak returns the break the last verification, or a later append's head check, found;
// nil while the chain is intact or has not been verified yet.
func (a *Audit) LastBreak() *VerifyResult {
	r, _ := a.chain.status()
	return r
}

// Intact returns nil unless the chain is known to be broken (see [Audit.LastBreak]); then an
// error wrapping [ErrAuditChainBroken] that names the first bad entry and the problem. The
// promotion workflow calls it before every request and approval. Its message reaches clients.
func (a *Audit) Intact() error {
	if r := a.LastBreak(); r != nil {
		return r.brokenError("promotions are refused until `schemagate audit verify` finds the chain intact again")
	}
	return nil
}

// brokenError is ErrAuditChainBroken naming r's first bad entry and problem, and then what is
// refused.
func (r VerifyResult) brokenError(refused string) error {
	return fmt.Errorf("%w at entry %d: %s; %s", ErrAuditChainBroken, r.FirstBroken, r.Problem, refused)
}

// readHead reads the audit_head row (found false when it is missing).
func readHead(ctx context.Context, q querier) (auditHead, error) {
	var h auditHead
	err := q.QueryRowContext(ctx, `SELECT seq, hash, mac FROM audit_head WHERE id = 1`).Scan(&h.seq, &h.hash, &h.mac)
	if errors.Is(err, sql.ErrNoRows) {
		return auditHead{}, nil
	}
	h.found = err == nil
	return h, err
}

// readTip reads the head row and the last entry (as readHead and readLast) for an append, in
// one statement when it can: the head row joined with the last entry. The last entry must be
// read after the head's lock is held, and on PostgreSQL one statement that waited for that lock
// returns the head as its holder left it but the last entry as it was before the wait: so when
// the two disagree (or there is no head row) the last entry is read again, by a statement of its
// own, before anything is concluded from them. In the common case (no other appender, an intact
// chain) an append reads once instead of twice.
func readTip(ctx context.Context, q querier, forUpdate bool) (head auditHead, lastSeq int64, lastHash string, err error) {
	query := `SELECT h.seq, h.hash, h.mac, l.seq, l.hash FROM audit_head h
		LEFT JOIN (SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1) l ON 1 = 1
		WHERE h.id = 1`
	if forUpdate {
		query += ` FOR UPDATE OF h`
	}
	var seq sql.NullInt64
	var hash sql.NullString
	err = q.QueryRowContext(ctx, query).Scan(&head.seq, &head.hash, &head.mac, &seq, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		head = auditHead{}
	case err != nil:
		return auditHead{}, 0, "", err
	default:
		head.found = true
		if seq.Int64 == head.seq && hash.String == head.hash {
			return head, seq.Int64, hash.String, nil
		}
	}
	lastSeq, lastHash, err = readLast(ctx, q)
	return head, lastSeq, lastHash, err
}

// readLast reads the sequence and hash of the last entry, 0 and "" when the log is empty.
func readLast(ctx context.Context, q querier) (int64, string, error) {
	var seq int64
	var hash string
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return seq, hash, err
}

// checkHead is the check an append makes of the head it builds on: the head row exists, its
// MAC verifies under the key, and the last entry (lastSeq, lastHash) is the one it records. It
// is [Audit.Verify]'s head check made against the last row, without recomputing the chain.
//
// When the check passes it returns e unchanged. When it fails it records the break (see
// [Audit.Intact]) and refuses e with [ErrAuditChainBroken], unless e is a rollback: the safe
// direction stays open. The rollback is then appended onto the head as stored, like every entry,
// and carries the failed check in its Details (chain.first_broken, chain.problem), covered by
// its hash; Verify reports such an entry as a break at the recorded entry. That keeps a break
// only the head showed (a head rewritten after deleting the entries behind it) from being
// erased by the new head the rollback writes, so Verify keeps naming the original first bad
// entry.
func (a *Audit) checkHead(e Entry, head auditHead, lastSeq int64, lastHash string) (Entry, error) {
	seq, problem := a.headProblem(head, lastSeq, lastHash)
	if problem == "" {
		return e, nil
	}
	r := VerifyResult{FirstBroken: seq, Problem: problem, HeadSeq: head.seq, HeadHash: head.hash}
	a.chain.headFailed(r)
	if e.Action != ActionModeRolledBack {
		return Entry{}, r.brokenError("only rollbacks are recorded until it is repaired (runbook: SchemaGateAuditChainBroken)")
	}
	details := make(map[string]string, len(e.Details)+2)
	for k, v := range e.Details {
		details[k] = v
	}
	details[detailFirstBroken] = strconv.FormatInt(seq, 10)
	details[detailChainProblem] = problem
	e.Details = details
	return e, nil
}

// recordedBreak returns the break recorded by the entry in r, if it is one appended over a failed
// head check (see checkHead) and its own hash verifies: the first bad entry and the problem. It
// returns 0 and "" for any other entry. Verify asks before it checks the entry's link, which a
// rollback onto a replaced head's hash would fail at the rollback instead of the recorded entry.
func (a *Audit) recordedBreak(r auditRow) (int64, string) {
	e, err := r.entry()
	if err != nil {
		return 0, ""
	}
	at, ok := e.Details[detailFirstBroken]
	if !ok || a.sum(canonicalEntry(&e)) != e.Hash {
		return 0, ""
	}
	seq, err := strconv.ParseInt(at, 10, 64)
	if err != nil || seq < 1 || seq > e.Seq {
		seq = e.Seq
	}
	return seq, fmt.Sprintf("%s (recorded by entry %d, a rollback appended while the head failed its check)", e.Details[detailChainProblem], e.Seq)
}

// CheckKey tells whether the configured HMAC key (governance.audit_hmac_key_file) is the one the
// log in the database was written with, from the head's MAC and the last entry's hash: when
// neither verifies under the configured key (or, without one, as plain SHA-256), the error
// wraps [ErrAuditKeyMismatch] and says which case it is: the log was written with a key and
// none is configured, with a different key, or without a key while one is now configured (a
// log cannot be keyed in place: every existing hash would stop verifying). When one of the two
// verifies, the key is right and anything else wrong is tampering, for Verify to report. An
// empty log accepts any key. Messages name the config key, never the key.
func (a *Audit) CheckKey(ctx context.Context) error {
	head, err := readHead(ctx, a.db.SQL())
	if err != nil {
		return storeErr("checking the audit HMAC key: reading the head", err)
	}
	last, found, err := a.lastEntry(ctx)
	if err != nil {
		return err
	}
	if !found && (!head.found || head.seq == 0) {
		return nil // an empty log
	}
	fits := func(with *Audit) bool {
		return head.found && head.seq > 0 && head.mac == with.headMAC(head.seq, head.hash) ||
			found && with.sum(canonicalEntry(&last)) == last.Hash
	}
	plain := &Audit{}
	switch {
	case fits(a):
		return nil
	case len(a.key) == 0:
		return fmt.Errorf("%w: governance.audit_hmac_key_file is not set, but the audit log was written with an HMAC key "+
			"(or its head and last entry were both altered): configure the key file it was written with", ErrAuditKeyMismatch)
	case fits(plain):
		return fmt.Errorf("%w: governance.audit_hmac_key_file is set, but the audit log was written without an HMAC key: "+
			"an existing log cannot be keyed in place (its hashes would no longer verify); remove the setting, or start a new database with the key", ErrAuditKeyMismatch)
	default:
		return fmt.Errorf("%w: the audit log was written with a different HMAC key than governance.audit_hmac_key_file holds "+
			"(or its head and last entry were both altered): configure the key file it was written with", ErrAuditKeyMismatch)
	}
}

// lastEntry reads the last entry; found is false when the log is empty or the entry's stored
// JSON no longer decodes (then no key can verify it).
func (a *Audit) lastEntry(ctx context.Context) (e Entry, found bool, err error) {
	rows, err := a.db.SQL().QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_entries ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return Entry{}, false, storeErr("checking the audit HMAC key: reading the last entry", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return Entry{}, false, storeErr("checking the audit HMAC key: reading the last entry", rows.Err())
	}
	var r auditRow
	if err := r.scan(rows); err != nil {
		return Entry{}, false, storeErr("checking the audit HMAC key: reading the last entry", err)
	}
	e, err = r.entry()
	return e, err == nil, nil
}
