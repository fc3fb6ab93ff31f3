package governance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/schemagate/schemagate/store"
)

// Limits of [AuditFilter.Limit].
const (
	// DefaultAuditListLimit is the number of entries [Audit.List] returns when Limit is 0.
	DefaultAuditListLimit = 100
	// MaxAuditListLimit caps Limit; larger values are lowered to it.
	MaxAuditListLimit = 1000
	// MaxAuditPageBytes bounds a page of entries by size (the sum of their [Entry.EncodedSize]):
	// a page stops early, with a cursor to the next one, once the next entry would pass it. A
	// page holds at least one entry, whatever its size.
	MaxAuditPageBytes = 1 << 20
	// minHMACKeyBytes is the shortest HMAC key accepted: a shorter one is almost certainly a
	// configuration mistake (an empty line, a stray character), not a secret.
	minHMACKeyBytes = 32
)

// AuditOptions configure [NewAudit].
type AuditOptions struct {
	// HMACKey, when set, makes each hash an HMAC-SHA-256 under this key (kept outside the
	// database: config key governance.audit_hmac_key_file), so write access to the database
	// alone cannot forge the chain. It is used byte for byte (a trailing newline is part of
	// it) and must be at least 32 bytes. Empty: plain SHA-256. Verify needs the key the log
	// was written with, and [Audit.CheckKey] tells when it is not.
	HMACKey []byte
	// Clock tells the time. Default time.Now; entries are stamped with Clock().UTC()
	// truncated to microseconds. It must be safe for concurrent use.
	Clock func() time.Time
}

// Audit is the append-only, hash-chained audit log of DESIGN.md, kept in the audit_entries
// table with its head (the seq and hash of the latest entry) in audit_head. Each entry's Hash
// covers its canonical encoding, which includes PrevHash, the Hash of the entry before it, so
// changing, deleting, inserting or reordering an entry breaks the chain at that entry; the head
// catches entries deleted at the end, which a chain alone cannot. [Audit.Verify] recomputes it
// all from the database and the key only, so it works on a store opened offline.
//
// Without an HMAC key the chain detects accidents and naive edits, not a writer who recomputes
// it: anyone who can write the database can then rewrite the log consistently. With a key
// (kept outside the database) entries cannot be forged, but a writer who saved an earlier
// head row can still put it back together with deleting the entries after it, and a writer
// can always empty the log entirely; publishing the latest seq and hash elsewhere (the
// governance document shows them) is what catches those.
//
// An Audit is safe for concurrent use.
type Audit struct {
	db    *store.DB
	key   []byte
	clock func() time.Time
	chain chainState // what the last verification or head check found
}

// NewAudit returns the audit log stored in db. db is required.
func NewAudit(db *store.DB, opts AuditOptions) (*Audit, error) {
	if db == nil {
		return nil, errors.New("governance: NewAudit: DB is required")
	}
	if n := len(opts.HMACKey); n > 0 && n < minHMACKeyBytes {
		return nil, fmt.Errorf("governance: NewAudit: HMACKey is %d bytes, want at least %d", n, minHMACKeyBytes)
	}
	a := &Audit{db: db, key: slices.Clone(opts.HMACKey), clock: opts.Clock}
	if a.clock == nil {
		a.clock = time.Now
	}
	return a, nil
}

// Append appends e in a transaction of its own; see [Audit.AppendTx].
func (a *Audit) Append(ctx context.Context, e Entry) (Entry, error) {
	var out Entry
	err := a.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = a.AppendTx(ctx, tx, e)
		return err
	})
	if err != nil {
		return Entry{}, storeErr("appending to the audit log", err)
	}
	return out, nil
}

// AppendTx appends e inside the caller's transaction, so that a governance action and its
// entry commit together or not at all (fail closed): when AppendTx returns an error the caller
// must roll tx back ([store.DB.InTx] does when its function returns the error). tx must belong
// to the Audit's database.
//
// AppendTx fills Seq, Time (Clock's time if zero; any time is kept in UTC truncated to
// microseconds), PrevHash and Hash, ignoring what e held in them, and returns the entry as
// stored: Details and Evidence are copies (Evidence times in UTC), Details nil when empty.
// Actor and Action are required; every string must be valid UTF-8 without NUL bytes, Details
// keys must not start with "chain." (reserved), and times must lie in the years 1 to 9999, or
// the error wraps [ErrInvalidAuditEntry].
//
// It checks the head it builds on first (one row read more than the append needs): the head's
// MAC, and that the last entry is the one the head records. When the check fails the append
// fails with [ErrAuditChainBroken], naming the first bad entry, and the Audit remembers the
// break ([Audit.Intact]); except a rollback (Action [ActionModeRolledBack]), which is still
// appended, onto the head as stored, and records the failed check in its Details (see
// checkHead), so that [Audit.Verify] keeps reporting the original first bad entry.
func (a *Audit) AppendTx(ctx context.Context, tx *sql.Tx, e Entry) (Entry, error) {
	if tx == nil {
		return Entry{}, errors.New("governance: append audit entry: no transaction")
	}
	e, err := a.normalize(e)
	if err != nil {
		return Entry{}, fmt.Errorf("governance: append audit entry: %w", err)
	}
	d := a.db.Dialect()
	// Reading the head row locks the log for the rest of tx. On SQLite every write transaction
	// holds the database's write lock from its start (BEGIN IMMEDIATE), so appenders already run
	// one at a time; PostgreSQL needs the row lock of FOR UPDATE, which makes the next appender
	// wait for this transaction to end and then read the head it wrote.
	head, lastSeq, lastHash, err := readTip(ctx, tx, d == store.Postgres)
	if err != nil {
		return Entry{}, storeErr("appending to the audit log: reading its head and last entry", err)
	}
	// Before building on the head, check it (its MAC, and that the last entry is the one it
	// records): a broken head refuses every append but a rollback's; see checkHead.
	if e, err = a.checkHead(e, head, lastSeq, lastHash); err != nil {
		return Entry{}, fmt.Errorf("governance: append audit entry: %w", err)
	}
	var evidence sql.NullString
	if e.Evidence != nil {
		b, err := json.Marshal(e.Evidence)
		if err != nil {
			return Entry{}, fmt.Errorf("governance: append audit entry: %w: evidence: %v", ErrInvalidAuditEntry, err)
		}
		evidence = sql.NullString{String: string(b), Valid: true}
	}
	details, err := json.Marshal(e.Details) // sorted by key; nil is "null", read back as empty
	if err != nil {
		return Entry{}, fmt.Errorf("governance: append audit entry: %w: details: %v", ErrInvalidAuditEntry, err)
	}
	// The new entry follows the head, not the last row: if entries were deleted at the end,
	// MAX(seq)+1 and the last row's hash would reuse their numbers and hide the deletion,
	// while following the head leaves the gap for Verify to report. Rows beyond the head (an
	// insertion behind our back) only move seq on, so the insert cannot collide with them, and
	// the new entry's PrevHash then does not match them, which Verify reports too. Without a
	// head row (deleted; only a rollback gets here) the entry follows the last row.
	e.Seq = max(head.seq, lastSeq) + 1
	e.PrevHash = head.hash
	if !head.found {
		e.PrevHash = lastHash
	}
	e.Hash = a.sum(canonicalEntry(&e))

	insert := `INSERT INTO audit_entries (` + auditColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{e.Seq, e.Time.UnixMicro(), e.Actor, e.Role, string(e.Action), e.Subject, e.Ticket, e.Incident,
		e.Reason, e.PromotionID, e.FromMode, e.ToMode, evidence, string(details), e.PrevHash, e.Hash}
	moveHead := `UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1`
	if !head.found {
		moveHead = `INSERT INTO audit_head (seq, hash, mac, id) VALUES (?, ?, ?, 1)`
	}
	headArgs := []any{e.Seq, e.Hash, a.headMAC(e.Seq, e.Hash)}
	if d == store.Postgres {
		// One statement (a round trip each on PostgreSQL): the entry is inserted by a
		// data-modifying WITH, which runs to completion with the head's update or fails it.
		_, err = tx.ExecContext(ctx, d.Rebind(`WITH entry AS (`+insert+`) `+moveHead), append(args, headArgs...)...)
		if err != nil {
			return Entry{}, storeErr(fmt.Sprintf("appending audit entry %d", e.Seq), err)
		}
		return e, nil
	}
	if _, err = tx.ExecContext(ctx, d.Rebind(insert), args...); err != nil {
		return Entry{}, storeErr(fmt.Sprintf("appending audit entry %d", e.Seq), err)
	}
	if _, err = tx.ExecContext(ctx, d.Rebind(moveHead), headArgs...); err != nil {
		return Entry{}, storeErr(fmt.Sprintf("appending audit entry %d: updating the head", e.Seq), err)
	}
	return e, nil
}

// normalize fills Time, copies Details and Evidence, clears the chain fields and checks what
// the store and the canonical encoding need.
func (a *Audit) normalize(e Entry) (Entry, error) {
	if e.Time.IsZero() {
		e.Time = a.clock()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Seq, e.PrevHash, e.Hash = 0, "", ""
	if e.Actor == "" {
		return Entry{}, fmt.Errorf("%w: actor is required", ErrInvalidAuditEntry)
	}
	if e.Action == "" {
		return Entry{}, fmt.Errorf("%w: action is required", ErrInvalidAuditEntry)
	}
	if err := checkAuditTime("time", e.Time); err != nil {
		return Entry{}, err
	}
	for _, f := range []struct{ name, value string }{
		{"actor", e.Actor}, {"role", e.Role}, {"action", string(e.Action)}, {"subject", e.Subject},
		{"ticket", e.Ticket}, {"incident", e.Incident}, {"reason", e.Reason},
		{"promotion ID", e.PromotionID}, {"from mode", e.FromMode}, {"to mode", e.ToMode},
	} {
		if err := checkAuditString(f.name, f.value); err != nil {
			return Entry{}, err
		}
	}
	if e.Evidence != nil {
		ev := *e.Evidence
		ev.WindowStart, ev.WindowEnd = ev.WindowStart.UTC(), ev.WindowEnd.UTC()
		if err := checkAuditTime("evidence window start", ev.WindowStart); err != nil {
			return Entry{}, err
		}
		if err := checkAuditTime("evidence window end", ev.WindowEnd); err != nil {
			return Entry{}, err
		}
		e.Evidence = &ev
	}
	if len(e.Details) == 0 {
		e.Details = nil
	} else {
		e.Details = maps.Clone(e.Details)
		for k, v := range e.Details {
			if err := checkAuditString("details key", k); err != nil {
				return Entry{}, err
			}
			if strings.HasPrefix(k, chainDetailPrefix) {
				return Entry{}, fmt.Errorf("%w: details key %q is reserved for the audit log's own use", ErrInvalidAuditEntry, k)
			}
			if err := checkAuditString("details["+strconv.Quote(k)+"]", v); err != nil {
				return Entry{}, err
			}
		}
	}
	return e, nil
}

// checkAuditString refuses what would not survive the store unchanged: invalid UTF-8 (JSON
// replaces it) and NUL bytes (PostgreSQL text cannot hold them).
func checkAuditString(name, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidAuditEntry, name)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalidAuditEntry, name)
	}
	return nil
}

// checkAuditTime keeps times within four-digit years, where RFC 3339 is fixed width and JSON
// can encode them.
func checkAuditTime(name string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%w: %s %v is outside the years 1 to 9999", ErrInvalidAuditEntry, name, t)
	}
	return nil
}

// AuditFilter selects entries for [Audit.List]. Empty fields match everything.
type AuditFilter struct {
	// Subject and Action, when set, must match exactly.
	Subject string
	Action  Action
	// AfterSeq returns only entries with a larger Seq: pass the last Seq of an ascending page
	// to get the next one (see [AuditFilter.Continue]).
	AfterSeq int64
	// BeforeSeq, when above 0, returns only entries with a smaller Seq: pass the last Seq of a
	// NewestFirst page to get the next one.
	BeforeSeq int64
	// NewestFirst lists in descending Seq order; the default is ascending.
	NewestFirst bool
	// Limit is the most entries returned: default 100 (when 0 or negative), at most 1000.
	Limit int
	// MaxBytes is the most bytes (their EncodedSize summed) a page holds: MaxAuditPageBytes
	// when 0 or negative, at most that. A page holds at least one entry.
	MaxBytes int
}

// Continue returns the filter of the page after one whose last entry has Seq next (an
// [AuditPage]'s Next): AfterSeq moves forward when ascending, BeforeSeq back when NewestFirst.
func (f AuditFilter) Continue(next int64) AuditFilter {
	if f.NewestFirst {
		f.BeforeSeq = next
	} else {
		f.AfterSeq = next
	}
	return f
}

// limit is the page size f asks for: Limit, or the default when 0 or negative, at most the
// maximum.
func (f AuditFilter) limit() int {
	if f.Limit <= 0 {
		return DefaultAuditListLimit
	}
	return min(f.Limit, MaxAuditListLimit)
}

// maxBytes is the page size in bytes f asks for: MaxBytes, or MaxAuditPageBytes when 0 or
// negative, at most MaxAuditPageBytes.
func (f AuditFilter) maxBytes() int {
	if f.MaxBytes <= 0 {
		return MaxAuditPageBytes
	}
	return min(f.MaxBytes, MaxAuditPageBytes)
}

// List returns the entries f selects in ascending Seq order (descending with f.NewestFirst),
// at most f.Limit of them and at most f.MaxBytes (see [Audit.Page], which also says where the
// next page starts).
func (a *Audit) List(ctx context.Context, f AuditFilter) ([]Entry, error) {
	p, err := a.Page(ctx, f)
	return p.Entries, err
}

// AuditPage is one page of audit entries.
type AuditPage struct {
	Entries []Entry
	// Next is the Seq to continue after (see [AuditFilter.Continue]), 0 when this page is the
	// last.
	Next int64
}

// Page returns the page of entries f selects: in ascending Seq order (descending with
// f.NewestFirst), at most f.Limit entries, and stopped early before the entry that would take
// it past f.MaxBytes. Rows are read one by one and reading stops there, so a page never holds
// more than its bound in memory (beyond one entry). Next is set when the page is full (by count
// or by size), even if it happens to end the log.
func (a *Audit) Page(ctx context.Context, f AuditFilter) (AuditPage, error) {
	limit := f.limit()
	q := `SELECT ` + auditColumns + ` FROM audit_entries WHERE seq > ?`
	args := []any{f.AfterSeq}
	if f.BeforeSeq > 0 {
		q += ` AND seq < ?`
		args = append(args, f.BeforeSeq)
	}
	if f.Subject != "" {
		q += ` AND subject = ?`
		args = append(args, f.Subject)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, string(f.Action))
	}
	q += ` ORDER BY seq`
	if f.NewestFirst {
		q += ` DESC`
	}
	q += ` LIMIT ?`
	args = append(args, limit)
	entries, cut, err := a.query(ctx, f.maxBytes(), q, args...)
	if err != nil {
		return AuditPage{}, err
	}
	p := AuditPage{Entries: entries}
	if n := len(entries); n > 0 && (cut || n == limit) {
		p.Next = entries[n-1].Seq
	}
	return p, nil
}

// All returns every entry in ascending Seq order, in memory: for tests and tools over small
// logs. The governance document and the listings page through the log instead.
func (a *Audit) All(ctx context.Context) ([]Entry, error) {
	entries, _, err := a.query(ctx, 0, `SELECT `+auditColumns+` FROM audit_entries ORDER BY seq`)
	return entries, err
}

// query reads the entries q selects. With maxBytes above 0 it stops before the entry that
// would take the entries' EncodedSize past maxBytes (after the first entry), and reports that
// it did (cut).
func (a *Audit) query(ctx context.Context, maxBytes int, q string, args ...any) (entries []Entry, cut bool, err error) {
	rows, err := a.db.SQL().QueryContext(ctx, a.db.Dialect().Rebind(q), args...)
	if err != nil {
		return nil, false, storeErr("reading the audit log", err)
	}
	defer rows.Close()
	var out []Entry
	size := 0
	for rows.Next() {
		var r auditRow
		if err := r.scan(rows); err != nil {
			return nil, false, storeErr("reading the audit log", err)
		}
		e, err := r.entry()
		if err != nil {
			return nil, false, storeErr("reading the audit log", fmt.Errorf("entry %d: %w", r.seq, err))
		}
		if size += e.EncodedSize(); maxBytes > 0 && size > maxBytes && len(out) > 0 {
			return out, true, nil
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, storeErr("reading the audit log", err)
	}
	return out, false, nil
}

// auditColumns are the columns of audit_entries in the order auditRow.scan reads them.
const auditColumns = `seq, time_us, actor, role, action, subject, ticket, incident, reason,
	promotion_id, from_mode, to_mode, evidence, details, prev_hash, hash`

// auditRow is one row of audit_entries as stored.
type auditRow struct {
	seq, timeUS int64
	e           Entry // the string fields
	evidence    sql.NullString
	details     string
}

func (r *auditRow) scan(rows *sql.Rows) error {
	e := &r.e
	return rows.Scan(&r.seq, &r.timeUS, &e.Actor, &e.Role, &e.Action, &e.Subject, &e.Ticket,
		&e.Incident, &e.Reason, &e.PromotionID, &e.FromMode, &e.ToMode, &r.evidence, &r.details,
		&e.PrevHash, &e.Hash)
}

// entry decodes the row. An error means the JSON columns were altered: AppendTx never
// writes what does not decode.
func (r *auditRow) entry() (Entry, error) {
	e := r.e
	e.Seq = r.seq
	e.Time = time.UnixMicro(r.timeUS).UTC()
	if r.evidence.Valid {
		var ev EvidenceSnapshot
		if err := json.Unmarshal([]byte(r.evidence.String), &ev); err != nil {
			return Entry{}, fmt.Errorf("evidence is not valid JSON: %w", err)
		}
		ev.WindowStart, ev.WindowEnd = ev.WindowStart.UTC(), ev.WindowEnd.UTC()
		e.Evidence = &ev
	}
	if err := json.Unmarshal([]byte(r.details), &e.Details); err != nil {
		return Entry{}, fmt.Errorf("details are not a valid JSON object of strings: %w", err)
	}
	if len(e.Details) == 0 {
		e.Details = nil
	}
	return e, nil
}

// VerifyResult is the outcome of [Audit.Verify].
type VerifyResult struct {
	// OK is true when every entry and the head check out.
	OK bool
	// Checked counts the entries that checked out before the first broken one (all of them
	// when OK).
	Checked int64
	// FirstBroken is the Seq of the first broken entry, 0 when OK. For a missing entry it is
	// the Seq the entry should have had.
	FirstBroken int64
	// Problem says in plain words what is wrong with FirstBroken; "" when OK.
	Problem string
	// HeadSeq and HeadHash are the head as stored (the latest entry's sequence and hash, 0 and
	// "" for an empty log or a missing head row), as read in the verification's snapshot:
	// compare them with the head the governance document publishes.
	HeadSeq  int64
	HeadHash string
}

// Verify recomputes the whole chain in Seq order from the database (in one read-only
// snapshot) and reports the first broken entry: one whose contents no longer match its hash
// (modified, or hashed under another key), one missing (a gap in Seq), one whose PrevHash is
// not the previous entry's hash (reordered, inserted or replaced), or a head that disagrees
// with the last entry (entries deleted at the end, or added behind the log's back). The error
// is for failures to read the database, not for a broken chain.
//
// The outcome is remembered: while it is broken, [Audit.Intact] refuses promotions.
func (a *Audit) Verify(ctx context.Context) (VerifyResult, error) {
	since := a.chain.breaksSoFar()
	r, err := a.verify(ctx)
	if err == nil {
		a.chain.verified(r, since)
	}
	return r, err
}

// verify is Verify without remembering the outcome.
func (a *Audit) verify(ctx context.Context) (VerifyResult, error) {
	opts := &sql.TxOptions{ReadOnly: true} // SQLite: a deferred transaction, one WAL snapshot
	if a.db.Dialect() == store.Postgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for the head and every entry
	}
	tx, err := a.db.SQL().BeginTx(ctx, opts)
	if err != nil {
		return VerifyResult{}, storeErr("verifying the audit log", err)
	}
	defer func() { _ = tx.Rollback() }()

	head, err := readHead(ctx, tx)
	if err != nil {
		return VerifyResult{}, storeErr("verifying the audit log: reading its head", err)
	}
	withHead := func(r VerifyResult) VerifyResult {
		r.HeadSeq, r.HeadHash = head.seq, head.hash
		return r
	}

	rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_entries ORDER BY seq`)
	if err != nil {
		return VerifyResult{}, storeErr("verifying the audit log", err)
	}
	defer rows.Close()
	var last int64 // Seq of the last entry that checked out
	var lastHash string
	for rows.Next() {
		var r auditRow
		if err := r.scan(rows); err != nil {
			return VerifyResult{}, storeErr(fmt.Sprintf("verifying the audit log after entry %d", last), err)
		}
		if seq, problem := a.recordedBreak(r); problem != "" {
			return withHead(brokenAt(last, seq, problem)), nil
		}
		e, problem := a.checkEntry(r, last, lastHash)
		if problem != "" {
			return withHead(brokenAt(last, e.Seq, problem)), nil
		}
		last, lastHash = e.Seq, e.Hash
	}
	if err := rows.Err(); err != nil {
		return VerifyResult{}, storeErr(fmt.Sprintf("verifying the audit log after entry %d", last), err)
	}
	if seq, problem := a.headProblem(head, last, lastHash); problem != "" {
		return withHead(brokenAt(last, seq, problem)), nil
	}
	return withHead(VerifyResult{OK: true, Checked: last}), nil
}

// brokenAt is the result of a chain whose first broken entry is seq, with the entries up to
// last checked.
func brokenAt(last, seq int64, problem string) VerifyResult {
	return VerifyResult{Checked: min(last, seq-1), FirstBroken: seq, Problem: problem}
}

// checkEntry checks the entry read in r, which must follow entry last (hash lastHash). It
// returns the entry, and a problem ("" when none) whose entry number is the returned Seq.
func (a *Audit) checkEntry(r auditRow, last int64, lastHash string) (Entry, string) {
	want := last + 1
	switch {
	case r.seq > want && last == 0:
		return Entry{Seq: want}, fmt.Sprintf("entry %d is missing: the log starts at entry %d", want, r.seq)
	case r.seq > want:
		return Entry{Seq: want}, fmt.Sprintf("entry %d is missing: sequence jumps from %d to %d", want, last, r.seq)
	case r.seq < want: // only seq < 1 can sort before entry 1
		return Entry{Seq: want}, fmt.Sprintf("an entry numbered %d precedes entry 1 (inserted?)", r.seq)
	}
	e, err := r.entry()
	switch {
	case err != nil:
		return Entry{Seq: r.seq}, fmt.Sprintf("entry %d: %v (modified?)", r.seq, err)
	case e.PrevHash != lastHash && r.seq == 1:
		return e, "entry 1: its previous hash is not empty, as the first entry's must be (replaced or reordered?)"
	case e.PrevHash != lastHash:
		return e, fmt.Sprintf("entry %d: its previous hash does not match the hash of entry %d (reordered, inserted or replaced?)", r.seq, last)
	case a.sum(canonicalEntry(&e)) != e.Hash:
		return e, fmt.Sprintf("entry %d: %s", r.seq, a.hashProblem(&e))
	}
	return e, ""
}

// auditHead is the audit_head row: the last entry's sequence and hash, and their MAC.
type auditHead struct {
	seq       int64
	hash, mac string
	found     bool
}

// headProblem checks the head against the chain read up to entry last (hash lastHash), and
// returns the first broken entry and the problem ("" when the head agrees).
func (a *Audit) headProblem(head auditHead, last int64, lastHash string) (int64, string) {
	initial := head.seq == 0 && head.hash == "" && head.mac == "" // as the migration created it
	switch {
	case !head.found:
		return last + 1, fmt.Sprintf("the audit head row is missing (deleted?): entries after %d may have been deleted", last)
	case !initial && head.mac != a.headMAC(head.seq, head.hash):
		return head.seq + 1, fmt.Sprintf("the audit head (entry %d) fails its check: the head was rewritten, and entries after %d may have been deleted", head.seq, head.seq)
	case head.seq > last:
		return last + 1, fmt.Sprintf("entry %d is missing: the log ends at entry %d but its head records entry %d (deleted at the tail?)", last+1, last, head.seq)
	case head.seq < last:
		return head.seq + 1, fmt.Sprintf("entry %d is not recorded in the head, which records entry %d as the latest (added behind the log's back, or the head rolled back?)", head.seq+1, head.seq)
	case head.hash != lastHash:
		return last, fmt.Sprintf("entry %d: its hash is not the one the head records (replaced?)", last)
	}
	return 0, ""
}

// hashProblem explains a hash mismatch, telling a missing or different key from a change
// where it can.
func (a *Audit) hashProblem(e *Entry) string {
	if len(a.key) == 0 {
		return "hash does not match its contents (modified, or written with an HMAC key?)"
	}
	plain := sha256.Sum256(canonicalEntry(e))
	if hex.EncodeToString(plain[:]) == e.Hash {
		return "hash is a plain SHA-256, not an HMAC under the configured key (written without the key, or forged by someone without it?)"
	}
	return "hash does not match its contents under the configured HMAC key (modified, or written with a different key?)"
}

// sum is the lowercase hex SHA-256 of data, or its HMAC-SHA-256 under the key.
func (a *Audit) sum(data []byte) string {
	if len(a.key) > 0 {
		m := hmac.New(sha256.New, a.key)
		m.Write(data)
		return hex.EncodeToString(m.Sum(nil))
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// headMAC is the check value of the head row: sum of "schemagate.audit.head.v1\n" followed by
// the fields seq and hash, encoded as in canonicalEntry.
func (a *Audit) headMAC(seq int64, hash string) string {
	b := []byte("schemagate.audit.head.v1\n")
	b = appendCanonicalField(b, "seq", strconv.FormatInt(seq, 10))
	b = appendCanonicalField(b, "hash", hash)
	return a.sum(b)
}

// Layouts of times in the canonical encoding: RFC 3339 in UTC ("Z"), fixed width.
const (
	canonicalTimeLayout     = "2006-01-02T15:04:05.000000Z07:00"    // entry time, microseconds
	canonicalEvidenceLayout = "2006-01-02T15:04:05.000000000Z07:00" // evidence window, nanoseconds
)

// canonicalEntry is the byte string an entry's Hash is computed over: Hash =
// hex(SHA-256(canonicalEntry(e))), or hex(HMAC-SHA-256(key, canonicalEntry(e))).
//
// THIS IS A STORED FORMAT: every hash in every audit log depends on it, so changing anything
// here breaks verification of existing logs. A new encoding needs a new version line and a way
// to tell which entries use which.
//
// It is the line "schemagate.audit.v1\n" followed by fields, each written as
//
//	<name> SP <length of value in bytes, decimal> ":" <value> "\n"
//
// in this fixed order (every field always present):
//
//	seq            decimal
//	time           RFC 3339 in UTC with exactly 6 fractional digits, 2026-03-01T10:00:00.000000Z
//	actor, role, action, subject, ticket, incident, reason, promotion_id, from_mode, to_mode
//	evidence       "none" when Evidence is nil, else "present" followed by
//	  evidence.window_start, evidence.window_end   RFC 3339 in UTC with exactly 9 fractional digits
//	  evidence.clean_ns, evidence.required_ns       decimal nanoseconds
//	  evidence.validations, evidence.violations     decimal
//	details        the number of Details entries, decimal, followed for each key in ascending
//	               byte order by details.key and details.value
//	prev_hash      PrevHash, "" for entry 1
//
// The length prefix makes every value's end unambiguous whatever bytes it holds, so two
// different entries never encode the same (with times normalized as the store keeps them: UTC,
// microseconds for Time). Seq and PrevHash are covered, so an entry cannot be moved or relinked
// without changing its hash; Hash itself is not.
func canonicalEntry(e *Entry) []byte {
	b := make([]byte, 0, 512)
	b = append(b, "schemagate.audit.v1\n"...)
	b = appendCanonicalField(b, "seq", strconv.FormatInt(e.Seq, 10))
	b = appendCanonicalField(b, "time", e.Time.UTC().Format(canonicalTimeLayout))
	b = appendCanonicalField(b, "actor", e.Actor)
	b = appendCanonicalField(b, "role", e.Role)
	b = appendCanonicalField(b, "action", string(e.Action))
	b = appendCanonicalField(b, "subject", e.Subject)
	b = appendCanonicalField(b, "ticket", e.Ticket)
	b = appendCanonicalField(b, "incident", e.Incident)
	b = appendCanonicalField(b, "reason", e.Reason)
	b = appendCanonicalField(b, "promotion_id", e.PromotionID)
	b = appendCanonicalField(b, "from_mode", e.FromMode)
	b = appendCanonicalField(b, "to_mode", e.ToMode)
	if ev := e.Evidence; ev == nil {
		b = appendCanonicalField(b, "evidence", "none")
	} else {
		b = appendCanonicalField(b, "evidence", "present")
		b = appendCanonicalField(b, "evidence.window_start", ev.WindowStart.UTC().Format(canonicalEvidenceLayout))
		b = appendCanonicalField(b, "evidence.window_end", ev.WindowEnd.UTC().Format(canonicalEvidenceLayout))
		b = appendCanonicalField(b, "evidence.clean_ns", strconv.FormatInt(int64(ev.Clean), 10))
		b = appendCanonicalField(b, "evidence.required_ns", strconv.FormatInt(int64(ev.Required), 10))
		b = appendCanonicalField(b, "evidence.validations", strconv.FormatInt(ev.Validations, 10))
		b = appendCanonicalField(b, "evidence.violations", strconv.FormatInt(ev.Violations, 10))
	}
	b = appendCanonicalField(b, "details", strconv.Itoa(len(e.Details)))
	for _, k := range slices.Sorted(maps.Keys(e.Details)) {
		b = appendCanonicalField(b, "details.key", k)
		b = appendCanonicalField(b, "details.value", e.Details[k])
	}
	b = appendCanonicalField(b, "prev_hash", e.PrevHash)
	return b
}

// appendCanonicalField appends `name SP len ":" value "\n"` to b.
func appendCanonicalField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(value)), 10)
	b = append(b, ':')
	b = append(b, value...)
	return append(b, '\n')
}
