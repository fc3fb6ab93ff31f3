package governance

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store"
)

// rollbackEntry is a manual rollback as the governor audits it.
func rollbackEntry(incident string) Entry {
	return Entry{Actor: "pager", Role: "oncall", Action: ActionModeRolledBack, Subject: "orders-value",
		Incident: incident, Reason: "drift", FromMode: "strict", ToMode: "canary"}
}

// headHashOf reads the hash of entry seq.
func headHashOf(t *testing.T, db *store.DB, seq int64) string {
	t.Helper()
	var h string
	if err := db.SQL().QueryRow(db.Dialect().Rebind(`SELECT hash FROM audit_entries WHERE seq = ?`), seq).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// When the head an append builds on fails its check, every append but a rollback's fails with
// ErrAuditChainBroken naming the first bad entry, which is the one Verify names; a rollback is
// appended and audited, and Verify still names the same entry afterwards, also after a second
// rollback and a fresh Audit (a restart).
func TestAppendChecksTheHead(t *testing.T) {
	const n = 10
	tests := []struct {
		name   string
		key    []byte
		tamper func(t *testing.T, db *store.DB)
		want   int64 // the first bad entry
	}{
		{
			name:   "last entry deleted",
			tamper: func(t *testing.T, db *store.DB) { mustExec(t, db, `DELETE FROM audit_entries WHERE seq = 10`) },
			want:   10,
		},
		{
			name: "last two entries deleted and head rewound, with key", key: auditKeyA,
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `DELETE FROM audit_entries WHERE seq >= 9`)
				h8 := headHashOf(t, db, 8)
				mustExec(t, db, `UPDATE audit_head SET seq = 8, hash = ?, mac = ?`, h8, (&Audit{}).headMAC(8, h8))
			},
			want: 9,
		},
		{
			name: "head MAC garbled",
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_head SET mac = '0000000000000000000000000000000000000000000000000000000000000000'`)
			},
			want: 11,
		},
		{
			name: "last entry replaced with a recomputed hash, no key",
			tamper: func(t *testing.T, db *store.DB) {
				a := &Audit{db: db}
				e := readEntry(t, a, 10)
				e.Reason = "rewritten"
				mustExec(t, db, `UPDATE audit_entries SET reason = ?, hash = ? WHERE seq = 10`, e.Reason, a.sum(canonicalEntry(&e)))
			},
			want: 10,
		},
		{
			name:   "entry added behind the head",
			tamper: func(t *testing.T, db *store.DB) { copyEntry(t, db, 10, 11) },
			want:   11,
		},
		{
			name:   "head row deleted",
			tamper: func(t *testing.T, db *store.DB) { mustExec(t, db, `DELETE FROM audit_head`) },
			want:   11,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			db, _ := openDB(t)
			clock := newClock(t0)
			a := newAudit(t, db, tc.key, clock)
			appendSamples(t, a, clock, n)
			tc.tamper(t, db)
			before, err := newAudit(t, db, tc.key, clock).Verify(ctx)
			if err != nil || before.OK || before.FirstBroken != tc.want {
				t.Fatalf("Verify before any append = %+v, %v; want broken at %d", before, err, tc.want)
			}

			_, err = a.Append(ctx, Entry{Actor: "alice", Action: ActionSchemaRegistered, Subject: "orders-value"})
			if !errors.Is(err, ErrAuditChainBroken) || !strings.Contains(err.Error(), "audit chain broken at entry "+itoa(tc.want)+":") {
				t.Fatalf("append of a registration = %v; want ErrAuditChainBroken at entry %d", err, tc.want)
			}
			if b := a.LastBreak(); b == nil || b.FirstBroken != tc.want {
				t.Errorf("LastBreak after the refused append = %+v; want entry %d", b, tc.want)
			}
			if err := a.Intact(); !errors.Is(err, ErrAuditChainBroken) {
				t.Errorf("Intact = %v; want ErrAuditChainBroken", err)
			}

			for i, incident := range []string{"INC-1", "INC-2"} {
				clock.Advance(time.Second)
				e, err := a.Append(ctx, rollbackEntry(incident))
				if err != nil {
					t.Fatalf("rollback %d: %v", i+1, err)
				}
				if i == 0 && (e.Details[detailFirstBroken] != itoa(tc.want) || e.Details[detailChainProblem] == "") {
					t.Errorf("the first rollback records %v; want the failed head check (entry %d)", e.Details, tc.want)
				}
				after, err := newAudit(t, db, tc.key, clock).Verify(ctx)
				if err != nil || after.OK || after.FirstBroken != tc.want {
					t.Errorf("Verify after rollback %d = %+v, %v; want still broken at %d", i+1, after, err, tc.want)
				}
				if got := readEntry(t, a, e.Seq); got.Incident != incident {
					t.Errorf("rollback %d stored as %+v", i+1, got)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A break inside the chain (an entry modified) leaves the head intact: appends go on, linked
// onto the head, and Verify keeps naming the modified entry; putting the original row back
// (from a backup) makes the whole chain verify again, with the entries appended meanwhile.
func TestBreakInsideTheChainHealsWhenRepaired(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	a := newAudit(t, db, auditKeyA, clock)
	appendSamples(t, a, clock, 8)
	original := readEntry(t, a, 3).Reason
	mustExec(t, db, `UPDATE audit_entries SET reason = 'forged' WHERE seq = 3`)
	if r, err := a.Verify(ctx); err != nil || r.FirstBroken != 3 {
		t.Fatalf("Verify after the edit = %+v, %v; want broken at 3", r, err)
	}
	if err := a.Intact(); !errors.Is(err, ErrAuditChainBroken) || !strings.Contains(err.Error(), "at entry 3: entry 3: hash does not match") {
		t.Errorf("Intact = %v; want ErrAuditChainBroken naming entry 3", err)
	}
	for _, e := range []Entry{rollbackEntry("INC-1"), {Actor: "alice", Action: ActionSchemaRegistered, Subject: "orders-value"}} {
		if _, err := a.Append(ctx, e); err != nil {
			t.Fatalf("append %s over an intact head: %v", e.Action, err)
		}
	}
	if r, err := a.Verify(ctx); err != nil || r.FirstBroken != 3 {
		t.Errorf("Verify after the appends = %+v, %v; want still broken at 3", r, err)
	}
	mustExec(t, db, `UPDATE audit_entries SET reason = ? WHERE seq = 3`, original)
	r, err := a.Verify(ctx)
	if err != nil || !r.OK || r.Checked != 10 {
		t.Errorf("Verify after the repair = %+v, %v; want OK with 10 entries", r, err)
	}
	if err := a.Intact(); err != nil {
		t.Errorf("Intact after the repair = %v; want nil", err)
	}
}

// A verification that started before an append found the head broken does not clear that
// break when it comes back intact.
func TestOlderVerificationDoesNotClearANewerBreak(t *testing.T) {
	var c chainState
	if b, known := c.status(); b != nil || known {
		t.Fatalf("fresh state = %v, %v; want unknown", b, known)
	}
	since := c.breaksSoFar()
	c.headFailed(VerifyResult{FirstBroken: 4, Problem: "p"})
	c.verified(VerifyResult{OK: true, Checked: 9}, since)
	if b, _ := c.status(); b == nil || b.FirstBroken != 4 {
		t.Errorf("after a stale intact verdict: %+v; want the break at 4", b)
	}
	c.verified(VerifyResult{OK: true, Checked: 9}, c.breaksSoFar())
	if b, known := c.status(); b != nil || !known {
		t.Errorf("after a fresh intact verdict: %+v, %v; want intact", b, known)
	}
}

func TestVerifyReportsTheHead(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	a := newAudit(t, db, nil, clock)
	if r, err := a.Verify(ctx); err != nil || r != (VerifyResult{OK: true}) {
		t.Errorf("empty log: %+v, %v", r, err)
	}
	es := appendSamples(t, a, clock, 4)
	r, err := a.Verify(ctx)
	want := VerifyResult{OK: true, Checked: 4, HeadSeq: 4, HeadHash: es[3].Hash}
	if err != nil || r != want {
		t.Errorf("Verify = %+v, %v; want %+v", r, err, want)
	}
	mustExec(t, db, `DELETE FROM audit_entries WHERE seq = 4`)
	r, err = a.Verify(ctx)
	want = VerifyResult{Checked: 3, FirstBroken: 4, Problem: "entry 4 is missing: the log ends at entry 3 but its head records entry 4 (deleted at the tail?)", HeadSeq: 4, HeadHash: es[3].Hash}
	if err != nil || r != want {
		t.Errorf("Verify after a tail deletion = %+v, %v; want %+v", r, err, want)
	}
}

func TestAppendRefusesReservedDetails(t *testing.T) {
	db, _ := openDB(t)
	a := newAudit(t, db, nil, newClock(t0))
	_, err := a.Append(t.Context(), Entry{Actor: "alice", Action: ActionSchemaRegistered, Details: map[string]string{"chain.first_broken": "1"}})
	if !errors.Is(err, ErrInvalidAuditEntry) {
		t.Errorf("append with a chain.* detail = %v; want ErrInvalidAuditEntry", err)
	}
}

// CheckKey tells a missing, different or superfluous key from the right one, from the head's
// MAC and the last entry's hash; tampering with one of the two is not a key problem.
func TestCheckKey(t *testing.T) {
	tests := []struct {
		name               string
		writeKey, checkKey []byte
		entries            int
		tamper             func(t *testing.T, db *store.DB)
		wantErr            string // "" for no error
	}{
		{name: "empty log, any key", checkKey: auditKeyA},
		{name: "empty log, no key"},
		{name: "no key either time", entries: 3},
		{name: "same key", writeKey: auditKeyA, checkKey: auditKeyA, entries: 3},
		{name: "keyed log, no key configured", writeKey: auditKeyA, entries: 3,
			wantErr: "governance.audit_hmac_key_file is not set, but the audit log was written with an HMAC key"},
		{name: "keyed log, other key configured", writeKey: auditKeyA, checkKey: auditKeyB, entries: 3,
			wantErr: "the audit log was written with a different HMAC key than governance.audit_hmac_key_file holds"},
		{name: "plain log, key configured", checkKey: auditKeyA, entries: 3,
			wantErr: "governance.audit_hmac_key_file is set, but the audit log was written without an HMAC key"},
		{name: "same key, last entry modified (tampering, for Verify)", writeKey: auditKeyA, checkKey: auditKeyA, entries: 3,
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_entries SET reason = 'x' WHERE seq = 3`)
			}},
		{name: "same key, head MAC garbled (tampering, for Verify)", writeKey: auditKeyA, checkKey: auditKeyA, entries: 3,
			tamper: func(t *testing.T, db *store.DB) { mustExec(t, db, `UPDATE audit_head SET mac = 'x'`) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openDB(t)
			clock := newClock(t0)
			appendSamples(t, newAudit(t, db, tc.writeKey, clock), clock, tc.entries)
			if tc.tamper != nil {
				tc.tamper(t, db)
			}
			err := newAudit(t, db, tc.checkKey, clock).CheckKey(t.Context())
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("CheckKey = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrAuditKeyMismatch) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("CheckKey = %v; want ErrAuditKeyMismatch: %s", err, tc.wantErr)
			}
			for _, key := range [][]byte{auditKeyA, auditKeyB} {
				if strings.Contains(err.Error(), string(key)) {
					t.Errorf("the error prints a key: %v", err)
				}
			}
		})
	}
}

func TestReadHMACKey(t *testing.T) {
	dir := t.TempDir()
	key32 := "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, contents string
		want           string // the key read; "" when an error is wanted
		wantErr        string
	}{
		{name: "32 bytes and a line break", contents: key32 + "\n", want: key32},
		{name: "32 bytes, CRLF", contents: key32 + "\r\n", want: key32},
		{name: "empty", contents: "", wantErr: "is empty; want a key of at least 32 bytes"},
		{name: "only a line break", contents: "\n", wantErr: "is empty"},
		{name: "31 bytes", contents: key32[:31] + "\n", wantErr: "holds a 31-byte key; want at least 32 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(path, []byte(tc.contents), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadHMACKey(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Errorf("ReadHMACKey = %q, %v; want an error naming the file: %s", got, err, tc.wantErr)
				}
				if err != nil && len(tc.contents) > 2 && strings.Contains(err.Error(), strings.TrimSpace(tc.contents)) {
					t.Errorf("the error prints the key: %v", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("ReadHMACKey = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if key, err := ReadHMACKey(""); err != nil || key != nil {
		t.Errorf(`ReadHMACKey("") = %q, %v; want no key`, key, err)
	}
	if _, err := ReadHMACKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("ReadHMACKey of a missing file succeeded")
	}
}
