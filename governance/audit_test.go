package governance

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/schemagate/schemagate/store"
)

var (
	auditKeyA = []byte("0123456789abcdef0123456789abcdef")
	auditKeyB = []byte("fedcba9876543210fedcba9876543210")
)

// newAudit returns an Audit on db with key and clock, or fails the test.
func newAudit(t testing.TB, db *store.DB, key []byte, clock *fakeClock) *Audit {
	t.Helper()
	a, err := NewAudit(db, AuditOptions{HMACKey: key, Clock: clock.Now})
	if err != nil {
		t.Fatalf("NewAudit: %v", err)
	}
	return a
}

// mustExec runs a statement on db or fails the test.
func mustExec(t testing.TB, db *store.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.SQL().ExecContext(context.Background(), db.Dialect().Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// auditSample returns a varied entry, the i-th of a test log.
func auditSample(i int) Entry {
	subjects := []string{"orders-value", "payments-value", ""}
	actions := []Action{ActionPromotionRequested, ActionPromotionApproved, ActionModePromoted, ActionSchemaRegistered, ActionModeRolledBack}
	e := Entry{
		Actor:   fmt.Sprintf("user%d", i%4),
		Role:    "governance-lead",
		Action:  actions[i%len(actions)],
		Subject: subjects[i%len(subjects)],
		Reason:  fmt.Sprintf("reason %d", i),
	}
	switch e.Action {
	case ActionModePromoted:
		e.Ticket, e.PromotionID, e.FromMode, e.ToMode = fmt.Sprintf("GOV-%d", i), fmt.Sprintf("p%d", i), "canary", "strict"
		e.Evidence = &EvidenceSnapshot{
			WindowStart: t0.Add(time.Duration(i) * time.Hour), WindowEnd: t0.Add(time.Duration(i+50) * time.Hour),
			Clean: 50 * time.Hour, Required: 48 * time.Hour, Validations: int64(1000 + i), Violations: 0,
		}
	case ActionModeRolledBack:
		e.Incident, e.FromMode, e.ToMode = fmt.Sprintf("INC-%d", i), "strict", "canary"
	case ActionSchemaRegistered:
		e.Details = map[string]string{"schema_id": strconv.Itoa(i), "version": "1"}
	}
	return e
}

// appendSamples appends auditSample(1..n), moving clock a second before each.
func appendSamples(t testing.TB, a *Audit, clock *fakeClock, n int) []Entry {
	t.Helper()
	var out []Entry
	for i := 1; i <= n; i++ {
		clock.Advance(time.Second + 1234*time.Nanosecond)
		e, err := a.Append(context.Background(), auditSample(i))
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func TestNewAuditOptions(t *testing.T) {
	db, _ := openDB(t)
	if _, err := NewAudit(nil, AuditOptions{}); err == nil {
		t.Error("NewAudit(nil) succeeded")
	}
	if _, err := NewAudit(db, AuditOptions{HMACKey: []byte("short")}); err == nil {
		t.Error("NewAudit with a 5-byte key succeeded")
	}
	if _, err := NewAudit(db, AuditOptions{HMACKey: auditKeyA[:31]}); err == nil {
		t.Error("NewAudit with a 31-byte key succeeded")
	}
	a, err := NewAudit(db, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	e, err := a.Append(t.Context(), Entry{Actor: "system", Action: ActionConfigChanged})
	if err != nil {
		t.Fatal(err)
	}
	if e.Time.Before(before) || e.Time.Location() != time.UTC || e.Time.Nanosecond()%1000 != 0 {
		t.Errorf("default clock stamped %v, want now in UTC, whole microseconds", e.Time)
	}
}

func TestAuditAppendFillsAndRoundTrips(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0.Add(123456789 * time.Nanosecond))
	a := newAudit(t, db, nil, clock)

	zone := time.FixedZone("CEST", 2*3600)
	details := map[string]string{"b": "2", "a": "1"}
	in := []Entry{
		{Actor: "alice", Role: "author", Action: ActionSchemaRegistered, Subject: "orders-value",
			Details: details, Seq: 99, PrevHash: "junk", Hash: "junk"},
		{Time: time.Date(2026, 2, 3, 4, 5, 6, 7008009, zone), Actor: "bob", Role: "governance-lead",
			Action: ActionModePromoted, Subject: "orders-value", Ticket: "GOV-1", PromotionID: "p1",
			FromMode: "canary", ToMode: "strict", Reason: "48h clean",
			Evidence: &EvidenceSnapshot{WindowStart: time.Date(2026, 1, 1, 0, 0, 0, 1, zone),
				WindowEnd: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), Clean: 48 * time.Hour,
				Required: 48 * time.Hour, Validations: 5000, Violations: 0}},
		{Actor: "system", Action: ActionModeRolledBack, Incident: "INC-7", Details: map[string]string{}},
	}
	var got []Entry
	for _, e := range in {
		out, err := a.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out)
	}
	details["c"] = "3" // the entry holds a copy

	if got[0].Seq != 1 || got[1].Seq != 2 || got[2].Seq != 3 {
		t.Errorf("seqs = %d, %d, %d; want 1, 2, 3", got[0].Seq, got[1].Seq, got[2].Seq)
	}
	if want := t0.Add(123456 * time.Microsecond); !got[0].Time.Equal(want) || got[0].Time.Location() != time.UTC {
		t.Errorf("stamped time = %v, want %v (clock, UTC, truncated to µs)", got[0].Time, want)
	}
	if want := time.Date(2026, 2, 3, 2, 5, 6, 7008000, time.UTC); !got[1].Time.Equal(want) || got[1].Time.Location() != time.UTC {
		t.Errorf("given time stored as %v, want %v", got[1].Time, want)
	}
	if got[1].Evidence.WindowStart.Location() != time.UTC {
		t.Errorf("evidence window start %v not in UTC", got[1].Evidence.WindowStart)
	}
	if got[0].PrevHash != "" || got[1].PrevHash != got[0].Hash || got[2].PrevHash != got[1].Hash {
		t.Error("PrevHash does not link the entries")
	}
	for _, e := range got {
		if len(e.Hash) != 64 || strings.ToLower(e.Hash) != e.Hash {
			t.Errorf("entry %d hash %q is not lowercase hex SHA-256", e.Seq, e.Hash)
		}
	}
	if got[2].Details != nil {
		t.Errorf("empty details returned as %#v, want nil", got[2].Details)
	}
	all, err := a.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, all); diff != "" {
		t.Errorf("All differs from what Append returned (-append +all):\n%s", diff)
	}
}

func TestAuditAppendRejectsInvalidEntries(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	a := newAudit(t, db, nil, newClock(t0))
	ok := Entry{Actor: "alice", Action: ActionConfigChanged}
	tests := []struct {
		name   string
		modify func(*Entry)
	}{
		{"no actor", func(e *Entry) { e.Actor = "" }},
		{"no action", func(e *Entry) { e.Action = "" }},
		{"invalid UTF-8", func(e *Entry) { e.Reason = "bad \xff" }},
		{"NUL", func(e *Entry) { e.Subject = "a\x00b" }},
		{"bad details key", func(e *Entry) { e.Details = map[string]string{"\xfe": "x"} }},
		{"bad details value", func(e *Entry) { e.Details = map[string]string{"k": "\x00"} }},
		{"time out of range", func(e *Entry) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"evidence time out of range", func(e *Entry) {
			e.Evidence = &EvidenceSnapshot{WindowStart: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ok
			tc.modify(&e)
			if _, err := a.Append(ctx, e); !errors.Is(err, ErrInvalidAuditEntry) {
				t.Errorf("Append err = %v, want ErrInvalidAuditEntry", err)
			}
		})
	}
	if all, err := a.All(ctx); err != nil || len(all) != 0 {
		t.Errorf("All = %d entries, %v; want none", len(all), err)
	}
	if _, err := a.AppendTx(ctx, nil, ok); err == nil {
		t.Error("AppendTx without a transaction succeeded")
	}
}

func TestAuditListFilterAndPaging(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	a := newAudit(t, db, nil, clock)
	entries := appendSamples(t, a, clock, 30)
	where := func(keep func(Entry) bool) []Entry {
		var out []Entry
		for _, e := range entries {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	tests := []struct {
		name   string
		filter AuditFilter
		want   []Entry
	}{
		{"everything", AuditFilter{}, entries},
		{"subject", AuditFilter{Subject: "orders-value"}, where(func(e Entry) bool { return e.Subject == "orders-value" })},
		{"action", AuditFilter{Action: ActionModePromoted}, where(func(e Entry) bool { return e.Action == ActionModePromoted })},
		{"subject and action", AuditFilter{Subject: "payments-value", Action: ActionModePromoted},
			where(func(e Entry) bool { return e.Subject == "payments-value" && e.Action == ActionModePromoted })},
		{"after", AuditFilter{AfterSeq: 25}, entries[25:]},
		{"limit", AuditFilter{AfterSeq: 3, Limit: 4}, entries[3:7]},
		{"no match", AuditFilter{Subject: "nope"}, nil},
		{"past the end", AuditFilter{AfterSeq: 30}, nil},
		{"before", AuditFilter{BeforeSeq: 5}, entries[:4]},
		{"between", AuditFilter{AfterSeq: 3, BeforeSeq: 7}, entries[3:6]},
		{"newest first", AuditFilter{NewestFirst: true}, reversed(entries)},
		{"newest first, limit", AuditFilter{NewestFirst: true, Limit: 2}, reversed(entries[28:])},
		{"newest first before", AuditFilter{NewestFirst: true, BeforeSeq: 10, Limit: 3}, reversed(entries[6:9])},
		{"newest first after", AuditFilter{NewestFirst: true, AfterSeq: 27}, reversed(entries[27:])},
		{"newest first, subject", AuditFilter{NewestFirst: true, Subject: "orders-value"},
			reversed(where(func(e Entry) bool { return e.Subject == "orders-value" }))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.List(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List(%+v) (-want +got):\n%s", tc.filter, diff)
			}
		})
	}

	// Paging with Continue visits every entry once, in order, either way.
	orders := where(func(e Entry) bool { return e.Subject == "orders-value" })
	for _, tc := range []struct {
		newestFirst bool
		want        []Entry
	}{{false, orders}, {true, reversed(orders)}} {
		var paged []Entry
		for f := (AuditFilter{Subject: "orders-value", NewestFirst: tc.newestFirst, Limit: 3}); ; {
			page, err := a.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			f = f.Continue(page[len(page)-1].Seq)
		}
		if diff := cmp.Diff(tc.want, paged); diff != "" {
			t.Errorf("paged, newest first %v (-want +got):\n%s", tc.newestFirst, diff)
		}
	}
}

// reversed returns a reversed copy of entries.
func reversed(entries []Entry) []Entry {
	out := slices.Clone(entries)
	slices.Reverse(out)
	return out
}

func TestAuditListLimits(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	a := newAudit(t, db, nil, newClock(t0))
	const n = MaxAuditListLimit + 5
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for i := range n {
			if _, err := a.AppendTx(ctx, tx, auditSample(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		filter AuditFilter
		want   int
	}{
		{AuditFilter{}, DefaultAuditListLimit},
		{AuditFilter{Limit: -1}, DefaultAuditListLimit},
		{AuditFilter{Limit: 5000}, MaxAuditListLimit},
		{AuditFilter{Limit: 5000, AfterSeq: MaxAuditListLimit}, 5},
	} {
		got, err := a.List(ctx, tc.filter)
		if err != nil || len(got) != tc.want {
			t.Errorf("List(%+v) = %d entries, %v; want %d", tc.filter, len(got), err, tc.want)
		}
	}
	all, err := a.All(ctx)
	if err != nil || len(all) != n || all[n-1].Seq != n {
		t.Errorf("All = %d entries, %v; want %d", len(all), err, n)
	}
	if res, err := a.Verify(ctx); err != nil || !res.OK || res.Checked != n {
		t.Errorf("Verify = %+v, %v; want OK with %d checked", res, err, n)
	}
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	const n = 50
	tests := []struct {
		name                string
		writeKey, verifyKey []byte
		tamper              func(t *testing.T, db *store.DB)
		want                VerifyResult
	}{
		{name: "untouched", want: VerifyResult{OK: true, Checked: n}},
		{name: "untouched with key", writeKey: auditKeyA, verifyKey: auditKeyA, want: VerifyResult{OK: true, Checked: n}},
		{
			name: "reason of 7 modified",
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 7`)
			},
			want: VerifyResult{Checked: 6, FirstBroken: 7, Problem: "entry 7: hash does not match its contents (modified, or written with an HMAC key?)"},
		},
		{
			name: "reason of 7 modified, with key", writeKey: auditKeyA, verifyKey: auditKeyA,
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 7`)
			},
			want: VerifyResult{Checked: 6, FirstBroken: 7, Problem: "entry 7: hash does not match its contents under the configured HMAC key (modified, or written with a different key?)"},
		},
		{
			name: "time of 1 modified",
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_entries SET time_us = time_us + 1 WHERE seq = 1`)
			},
			want: VerifyResult{Checked: 0, FirstBroken: 1, Problem: "entry 1: hash does not match its contents (modified, or written with an HMAC key?)"},
		},
		{
			name: "details of 13 modified",
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_entries SET details = '{"schema_id":"1","version":"1"}' WHERE seq = 13`)
			},
			want: VerifyResult{Checked: 12, FirstBroken: 13, Problem: "entry 13: hash does not match its contents (modified, or written with an HMAC key?)"},
		},
		{
			name: "evidence of 20 garbled",
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_entries SET evidence = 'garbage' WHERE seq = 20`)
			},
			want: VerifyResult{Checked: 19, FirstBroken: 20, Problem: "entry 20: evidence is not valid JSON: invalid character 'g' looking for beginning of value (modified?)"},
		},
		{
			name:   "entry 5 deleted",
			tamper: func(t *testing.T, db *store.DB) { mustExec(t, db, `DELETE FROM audit_entries WHERE seq = 5`) },
			want:   VerifyResult{Checked: 4, FirstBroken: 5, Problem: "entry 5 is missing: sequence jumps from 4 to 6"},
		},
		{
			name:   "entry 1 deleted",
			tamper: func(t *testing.T, db *store.DB) { mustExec(t, db, `DELETE FROM audit_entries WHERE seq = 1`) },
			want:   VerifyResult{Checked: 0, FirstBroken: 1, Problem: "entry 1 is missing: the log starts at entry 2"},
		},
		{
			name: "entries 10 and 30 swapped",
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_entries SET seq = -1 WHERE seq = 10`)
				mustExec(t, db, `UPDATE audit_entries SET seq = 10 WHERE seq = 30`)
				mustExec(t, db, `UPDATE audit_entries SET seq = 30 WHERE seq = -1`)
			},
			want: VerifyResult{Checked: 9, FirstBroken: 10, Problem: "entry 10: its previous hash does not match the hash of entry 9 (reordered, inserted or replaced?)"},
		},
		{
			name: "entries 1 and 2 swapped",
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `UPDATE audit_entries SET seq = -1 WHERE seq = 1`)
				mustExec(t, db, `UPDATE audit_entries SET seq = 1 WHERE seq = 2`)
				mustExec(t, db, `UPDATE audit_entries SET seq = 2 WHERE seq = -1`)
			},
			want: VerifyResult{Checked: 0, FirstBroken: 1, Problem: "entry 1: its previous hash is not empty, as the first entry's must be (replaced or reordered?)"},
		},
		{
			name:   "an entry numbered 0 inserted",
			tamper: func(t *testing.T, db *store.DB) { copyEntry(t, db, 1, 0) },
			want:   VerifyResult{Checked: 0, FirstBroken: 1, Problem: "an entry numbered 0 precedes entry 1 (inserted?)"},
		},
		{
			name:   "last entry deleted",
			tamper: func(t *testing.T, db *store.DB) { mustExec(t, db, `DELETE FROM audit_entries WHERE seq = 50`) },
			want:   VerifyResult{Checked: 49, FirstBroken: 50, Problem: "entry 50 is missing: the log ends at entry 49 but its head records entry 50 (deleted at the tail?)"},
		},
		{
			name: "last entry deleted and head rewound, with key", writeKey: auditKeyA, verifyKey: auditKeyA,
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `DELETE FROM audit_entries WHERE seq = 50`)
				// Without the key the forger can only put a plain SHA-256 in mac.
				plain := &Audit{}
				var h49 string
				if err := db.SQL().QueryRow(`SELECT hash FROM audit_entries WHERE seq = 49`).Scan(&h49); err != nil {
					t.Fatal(err)
				}
				mustExec(t, db, `UPDATE audit_head SET seq = 49, hash = ?, mac = ?`, h49, plain.headMAC(49, h49))
			},
			want: VerifyResult{Checked: 49, FirstBroken: 50, Problem: "the audit head (entry 49) fails its check: the head was rewritten, and entries after 49 may have been deleted"},
		},
		{
			// The documented limit: without a key, a writer who rewrites the head as well
			// leaves a consistent, shorter log.
			name: "last entry deleted and head rewritten consistently, no key",
			tamper: func(t *testing.T, db *store.DB) {
				mustExec(t, db, `DELETE FROM audit_entries WHERE seq = 50`)
				var h49 string
				if err := db.SQL().QueryRow(`SELECT hash FROM audit_entries WHERE seq = 49`).Scan(&h49); err != nil {
					t.Fatal(err)
				}
				mustExec(t, db, `UPDATE audit_head SET seq = 49, hash = ?, mac = ?`, h49, (&Audit{}).headMAC(49, h49))
			},
			want: VerifyResult{OK: true, Checked: 49},
		},
		{
			name: "last entry replaced with a recomputed hash, no key",
			tamper: func(t *testing.T, db *store.DB) {
				a := &Audit{db: db}
				e := readEntry(t, a, 50)
				e.Reason = "rewritten"
				mustExec(t, db, `UPDATE audit_entries SET reason = ?, hash = ? WHERE seq = 50`, e.Reason, a.sum(canonicalEntry(&e)))
			},
			want: VerifyResult{Checked: 49, FirstBroken: 50, Problem: "entry 50: its hash is not the one the head records (replaced?)"},
		},
		{
			name: "entry 51 added behind the log's back, no key",
			tamper: func(t *testing.T, db *store.DB) {
				a := &Audit{db: db}
				e := readEntry(t, a, 50)
				e.Seq, e.PrevHash = 51, e.Hash
				e.Hash = a.sum(canonicalEntry(&e))
				copyEntry(t, db, 50, 51)
				mustExec(t, db, `UPDATE audit_entries SET prev_hash = ?, hash = ? WHERE seq = 51`, e.PrevHash, e.Hash)
			},
			want: VerifyResult{Checked: 50, FirstBroken: 51, Problem: "entry 51 is not recorded in the head, which records entry 50 as the latest (added behind the log's back, or the head rolled back?)"},
		},
		{
			name:   "head row deleted",
			tamper: func(t *testing.T, db *store.DB) { mustExec(t, db, `DELETE FROM audit_head`) },
			want:   VerifyResult{Checked: 50, FirstBroken: 51, Problem: "the audit head row is missing (deleted?): entries after 50 may have been deleted"},
		},
		{
			name: "wrong HMAC key", writeKey: auditKeyA, verifyKey: auditKeyB,
			want: VerifyResult{Checked: 0, FirstBroken: 1, Problem: "entry 1: hash does not match its contents under the configured HMAC key (modified, or written with a different key?)"},
		},
		{
			name: "written with a key, verified without", writeKey: auditKeyA,
			want: VerifyResult{Checked: 0, FirstBroken: 1, Problem: "entry 1: hash does not match its contents (modified, or written with an HMAC key?)"},
		},
		{
			name: "written without a key, verified with one", verifyKey: auditKeyA,
			want: VerifyResult{Checked: 0, FirstBroken: 1, Problem: "entry 1: hash is a plain SHA-256, not an HMAC under the configured key (written without the key, or forged by someone without it?)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openDB(t)
			clock := newClock(t0)
			appendSamples(t, newAudit(t, db, tc.writeKey, clock), clock, n)
			if tc.tamper != nil {
				tc.tamper(t, db)
			}
			got, err := newAudit(t, db, tc.verifyKey, clock).Verify(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// The head fields are what the head row holds; TestVerifyReportsTheHead checks them.
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(VerifyResult{}, "HeadSeq", "HeadHash")); diff != "" {
				t.Errorf("Verify (-want +got):\n%s", diff)
			}
		})
	}
}

// readEntry reads entry seq through a's List.
func readEntry(t *testing.T, a *Audit, seq int64) Entry {
	t.Helper()
	es, err := a.List(t.Context(), AuditFilter{AfterSeq: seq - 1, Limit: 1})
	if err != nil || len(es) != 1 || es[0].Seq != seq {
		t.Fatalf("read entry %d: %v, %v", seq, es, err)
	}
	return es[0]
}

// copyEntry inserts a copy of row from as seq to.
func copyEntry(t *testing.T, db *store.DB, from, to int64) {
	t.Helper()
	mustExec(t, db, `INSERT INTO audit_entries (`+auditColumns+`) SELECT ?, time_us, actor, role,
		action, subject, ticket, incident, reason, promotion_id, from_mode, to_mode, evidence,
		details, prev_hash, hash FROM audit_entries WHERE seq = ?`, to, from)
}

// An append after a deletion at the tail follows the head, so the gap stays visible instead of
// being filled by a new entry that would make the chain whole again. (Only a rollback may
// append there: the head check refuses everything else.)
func TestAuditAppendAfterTailDeletionKeepsGap(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	a := newAudit(t, db, nil, clock)
	appendSamples(t, a, clock, 5)
	mustExec(t, db, `DELETE FROM audit_entries WHERE seq = 5`)
	e, err := a.Append(ctx, auditSample(9)) // a rollback
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 6 {
		t.Errorf("appended as %d, want 6", e.Seq)
	}
	got, err := a.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The rollback recorded what the head check found when it was appended.
	want := VerifyResult{Checked: 4, FirstBroken: 5, Problem: "entry 5 is missing: the log ends at entry 4 but its head records entry 5 (deleted at the tail?)" +
		" (recorded by entry 6, a rollback appended while the head failed its check)", HeadSeq: 6, HeadHash: e.Hash}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}
}

// Verify needs only the database file and the key: a store opened afresh, with no appender
// running, verifies.
func TestAuditVerifyOffline(t *testing.T) {
	ctx := t.Context()
	db, path := openDB(t)
	clock := newClock(t0)
	appendSamples(t, newAudit(t, db, auditKeyA, clock), clock, 10)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	offline, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer offline.Close()
	a, err := NewAudit(offline, AuditOptions{HMACKey: auditKeyA})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Verify(ctx); err != nil || !got.OK || got.Checked != 10 {
		t.Errorf("offline Verify = %+v, %v; want OK with 10 checked", got, err)
	}
}

func TestAuditVerifyEmptyLog(t *testing.T) {
	db, _ := openDB(t)
	got, err := newAudit(t, db, auditKeyA, newClock(t0)).Verify(t.Context())
	if err != nil || got != (VerifyResult{OK: true}) {
		t.Errorf("Verify of an empty log = %+v, %v; want OK", got, err)
	}
}

// A governance write and its audit entry commit together or not at all: when the append fails,
// the caller's transaction rolls back and leaves neither.
func TestAuditAppendTxFailsClosed(t *testing.T) {
	tests := []struct{ name, event, table, condition string }{
		{"entry insert fails", "INSERT", "audit_entries", "NEW.reason = 'refuse'"},
		{"head update fails", "UPDATE", "audit_head", "NEW.seq = 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			db, _ := openDB(t)
			clock := newClock(t0)
			a := newAudit(t, db, auditKeyA, clock)
			appendSamples(t, a, clock, 1)
			failWrites(t, db, "audit_refuse", tc.event, tc.table, tc.condition)
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO subject_validation_modes (subject, mode, changed_at) VALUES ('orders-value', 'strict', 1)`); err != nil {
					return err
				}
				_, err := a.AppendTx(ctx, tx, Entry{Actor: "alice", Action: ActionModePromoted, Subject: "orders-value", Reason: "refuse"})
				return err
			})
			if err == nil || !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("InTx err = %v, want the trigger's refusal", err)
			}
			var modes, entries int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM subject_validation_modes`).Scan(&modes); err != nil {
				t.Fatal(err)
			}
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_entries`).Scan(&entries); err != nil {
				t.Fatal(err)
			}
			if modes != 0 || entries != 1 {
				t.Errorf("after the failed append: %d mode rows, %d entries; want 0 and 1", modes, entries)
			}
			if got, err := a.Verify(ctx); err != nil || !got.OK || got.Checked != 1 {
				t.Errorf("Verify = %+v, %v; want OK with 1 checked", got, err)
			}
		})
	}
}

func TestAuditConcurrentAppends(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	clock := newClock(t0)
	a := newAudit(t, db, auditKeyA, clock)
	const writers, each = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				clock.Advance(time.Millisecond)
				if _, err := a.Append(ctx, Entry{Actor: fmt.Sprintf("w%d", w), Action: ActionConfigChanged, Reason: strconv.Itoa(i)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := a.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*each {
		t.Fatalf("%d entries, want %d", len(all), writers*each)
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i+1, e.Seq)
		}
	}
	if got, err := a.Verify(ctx); err != nil || !got.OK || got.Checked != writers*each {
		t.Errorf("Verify = %+v, %v; want OK with %d checked", got, err, writers*each)
	}
}

// TestPropertyAuditChain: any sequence of appends verifies, and changing any one stored field of
// any one entry is reported at exactly that entry.
func TestPropertyAuditChain(t *testing.T) {
	db, _ := openDB(t)
	text := rapid.StringOf(rapid.Rune().Filter(func(r rune) bool { return r != 0 }))
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		mustExec(t, db, `DELETE FROM audit_entries`)
		mustExec(t, db, `UPDATE audit_head SET seq = 0, hash = '', mac = ''`)
		var key []byte
		if rapid.Bool().Draw(rt, "keyed") {
			key = auditKeyA
		}
		clock := newClock(t0)
		a := newAudit(t, db, key, clock)
		n := rapid.IntRange(1, 12).Draw(rt, "n")
		var appended []Entry
		for i := range n {
			clock.Advance(time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(rt, "advance")))
			e := Entry{
				Actor: "a" + text.Draw(rt, "actor"), Role: text.Draw(rt, "role"),
				Action: Action("x" + text.Draw(rt, "action")), Subject: text.Draw(rt, "subject"),
				Ticket: text.Draw(rt, "ticket"), Reason: text.Draw(rt, "reason"),
				FromMode: text.Draw(rt, "from"), ToMode: text.Draw(rt, "to"),
				Details: rapid.MapOf(text, text).Draw(rt, "details"),
			}
			if rapid.Bool().Draw(rt, "evidence") {
				e.Evidence = &EvidenceSnapshot{
					WindowStart: t0.Add(time.Duration(rapid.Int64().Draw(rt, "start") % int64(1e18))),
					WindowEnd:   clock.Now(), Clean: time.Duration(rapid.Int64().Draw(rt, "clean")),
					Validations: rapid.Int64().Draw(rt, "validations"), Violations: int64(i),
				}
			}
			out, err := a.Append(ctx, e)
			if err != nil {
				rt.Fatalf("Append: %v", err)
			}
			appended = append(appended, out)
		}
		all, err := a.All(ctx)
		if err != nil {
			rt.Fatal(err)
		}
		if diff := cmp.Diff(appended, all); diff != "" {
			rt.Fatalf("All differs from what Append returned (-append +all):\n%s", diff)
		}
		if got, err := a.Verify(ctx); err != nil || !got.OK || got.Checked != int64(n) {
			rt.Fatalf("Verify of an untouched log = %+v, %v", got, err)
		}

		k := rapid.IntRange(1, n).Draw(rt, "k")
		e := appended[k-1]
		column := rapid.SampledFrom([]string{"seq", "time_us", "actor", "role", "action", "subject",
			"ticket", "incident", "reason", "promotion_id", "from_mode", "to_mode", "evidence",
			"details", "prev_hash", "hash"}).Draw(rt, "column")
		var value any
		switch column {
		case "seq":
			value = int64(n + 100)
		case "time_us":
			value = e.Time.UnixMicro() + rapid.Int64Range(1, 1e12).Draw(rt, "dt")
		case "evidence":
			ev := EvidenceSnapshot{Validations: 1}
			if e.Evidence != nil {
				ev = *e.Evidence
				ev.Violations++
			}
			b, _ := json.Marshal(ev)
			value = string(b)
		case "details":
			d := map[string]string{}
			for k, v := range e.Details {
				d[k] = v
			}
			k := text.Draw(rt, "detail")
			d[k] += "!"
			b, _ := json.Marshal(d)
			value = string(b)
		default: // the string columns, the hashes among them
			var old string
			if err := db.SQL().QueryRow(db.Dialect().Rebind(`SELECT `+column+` FROM audit_entries WHERE seq = ?`), k).Scan(&old); err != nil {
				rt.Fatal(err)
			}
			value = old + "!"
			if n := len(old); n > 0 && (column == "hash" || column == "prev_hash") {
				// Change the last hex digit rather than append one: the hash columns are
				// VARCHAR(64), which PostgreSQL enforces.
				last := "0"
				if old[n-1] == '0' {
					last = "1"
				}
				value = old[:n-1] + last
			}
		}
		mustExec(t, db, `UPDATE audit_entries SET `+column+` = ? WHERE seq = ?`, value, k)
		got, err := a.Verify(ctx)
		if err != nil {
			rt.Fatal(err)
		}
		if got.OK || got.FirstBroken != int64(k) || got.Checked != int64(k-1) {
			rt.Fatalf("after changing %s of entry %d: Verify = %+v", column, k, got)
		}
	})
}

// TestAuditCanonicalGolden pins the stored format: if this test fails, existing logs no longer
// verify. Do not update the expectation; version the encoding instead.
func TestAuditCanonicalGolden(t *testing.T) {
	e := Entry{
		Seq: 2, Time: time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC),
		Actor: "alice", Role: "governance-lead", Action: ActionModePromoted, Subject: "orders-value",
		Ticket: "GOV-12", Reason: "clean for 48h", PromotionID: "p-1", FromMode: "canary", ToMode: "strict",
		Evidence: &EvidenceSnapshot{WindowStart: time.Date(2026, 2, 27, 10, 0, 0, 1, time.UTC),
			WindowEnd: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Clean: 48 * time.Hour,
			Required: 48 * time.Hour, Validations: 1500, Violations: 0},
		Details:  map[string]string{"z": "last", "a": "first"},
		PrevHash: strings.Repeat("ab", 32),
	}
	want := "schemagate.audit.v1\n" +
		"seq 1:2\n" +
		"time 27:2026-03-01T10:00:00.123456Z\n" +
		"actor 5:alice\n" +
		"role 15:governance-lead\n" +
		"action 13:mode.promoted\n" +
		"subject 12:orders-value\n" +
		"ticket 6:GOV-12\n" +
		"incident 0:\n" +
		"reason 13:clean for 48h\n" +
		"promotion_id 3:p-1\n" +
		"from_mode 6:canary\n" +
		"to_mode 6:strict\n" +
		"evidence 7:present\n" +
		"evidence.window_start 30:2026-02-27T10:00:00.000000001Z\n" +
		"evidence.window_end 30:2026-03-01T10:00:00.000000000Z\n" +
		"evidence.clean_ns 15:172800000000000\n" +
		"evidence.required_ns 15:172800000000000\n" +
		"evidence.validations 4:1500\n" +
		"evidence.violations 1:0\n" +
		"details 1:2\n" +
		"details.key 1:a\n" +
		"details.value 5:first\n" +
		"details.key 1:z\n" +
		"details.value 4:last\n" +
		"prev_hash 64:" + strings.Repeat("ab", 32) + "\n"
	if diff := cmp.Diff(want, string(canonicalEntry(&e))); diff != "" {
		t.Errorf("canonical encoding changed (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		key  []byte
		want string
	}{
		{nil, "9ada5eb1f6a1af30e7a4ebea6a50c825b233ae8831a07d76aa9104810497a1a3"},
		{auditKeyA, "c8cb1c9b2f9bd60974fb57f9983825d720757280be4e16fb114f68648f6b2221"},
	} {
		if got := (&Audit{key: tc.key}).sum(canonicalEntry(&e)); got != tc.want {
			t.Errorf("hash with key %q = %s, want %s", tc.key, got, tc.want)
		}
	}
}

// FuzzAuditEntryCanonical: the canonical encoding never panics and is injective: it decodes
// back to the entry it came from, and entries built from the same strings cut or placed
// differently never encode alike.
func FuzzAuditEntryCanonical(f *testing.F) {
	f.Add("alice", "governance-lead", "orders-value", "GOV-1", "why", "schema_id", "42", int64(7), int64(1772359200000000), true)
	f.Add("a 1:b", "", "\n", "x\ny 3:", "", "", "", int64(-1), int64(0), false)
	f.Add("ab", "c", "", "", "details 1:1", "k", "", int64(1), int64(-62135596800000000), true)
	f.Fuzz(func(t *testing.T, actor, role, subject, ticket, reason, key, value string, seq, us int64, evidence bool) {
		const minUS, maxUS = -62135596800000000, 253402300799999999 // years 1 and 9999
		span := int64(maxUS - minUS + 1)
		us = minUS + (us%span+span)%span
		e := Entry{
			Seq: seq, Time: time.UnixMicro(us).UTC(), Actor: actor, Role: role, Action: ActionModePromoted,
			Subject: subject, Ticket: ticket, Reason: reason, PromotionID: value,
			Details: map[string]string{key: value}, PrevHash: reason,
		}
		if evidence {
			e.Evidence = &EvidenceSnapshot{WindowStart: e.Time.Add(-time.Duration(seq % 1e9)), WindowEnd: e.Time,
				Clean: time.Duration(seq), Required: time.Duration(us), Validations: seq, Violations: int64(len(key))}
		}
		enc := canonicalEntry(&e)
		back, err := parseCanonical(enc)
		if err != nil {
			t.Fatalf("parse %q: %v", enc, err)
		}
		if diff := cmp.Diff(e, back); diff != "" {
			t.Fatalf("decode(encode(e)) != e (-e +decoded):\n%s", diff)
		}

		// Variants made of the same bytes: boundaries moved, fields swapped, details moved.
		cut := len(actor) / 2
		variants := []Entry{e, e, e, e, e, e, e}
		variants[0].Actor, variants[0].Role = actor[:cut], actor[cut:]+role
		variants[1].Actor, variants[1].Role = role, actor
		variants[2].Details = map[string]string{value: key}
		variants[3].Details = map[string]string{key + value: ""}
		variants[4].Details, variants[4].Reason = nil, reason+key+value
		variants[5].Evidence = nil
		if e.Evidence == nil {
			variants[5].Evidence = &EvidenceSnapshot{}
		}
		variants[6].Subject, variants[6].Ticket = subject+ticket, ""
		for i, v := range variants {
			if cmp.Equal(e, v) {
				continue
			}
			if bytes.Equal(enc, canonicalEntry(&v)) {
				t.Fatalf("variant %d differs from the entry but encodes the same:\n%+v\n%+v", i, e, v)
			}
		}
	})
}

// parseCanonical decodes canonicalEntry's output, checking that every byte is accounted for.
// That it inverts canonicalEntry is what shows the encoding injective.
func parseCanonical(b []byte) (Entry, error) {
	const header = "schemagate.audit.v1\n"
	if !bytes.HasPrefix(b, []byte(header)) {
		return Entry{}, errors.New("no header")
	}
	rest := b[len(header):]
	field := func(name string) (string, error) {
		if !bytes.HasPrefix(rest, []byte(name+" ")) {
			return "", fmt.Errorf("want field %s at %q", name, rest)
		}
		rest = rest[len(name)+1:]
		colon := bytes.IndexByte(rest, ':')
		if colon < 0 {
			return "", fmt.Errorf("field %s: no length", name)
		}
		n, err := strconv.Atoi(string(rest[:colon]))
		if err != nil || n < 0 || n >= len(rest) || colon+1+n >= len(rest) || rest[colon+1+n] != '\n' {
			return "", fmt.Errorf("field %s: bad length", name)
		}
		v := string(rest[colon+1 : colon+1+n])
		rest = rest[colon+2+n:]
		return v, nil
	}
	var e Entry
	var errs []error
	str := func(name string, dst *string) {
		v, err := field(name)
		errs = append(errs, err)
		*dst = v
	}
	num := func(name string) int64 {
		var s string
		str(name, &s)
		n, err := strconv.ParseInt(s, 10, 64)
		errs = append(errs, err)
		return n
	}
	tm := func(name string) time.Time {
		var s string
		str(name, &s)
		t, err := time.Parse(time.RFC3339Nano, s)
		errs = append(errs, err)
		return t
	}
	e.Seq = num("seq")
	e.Time = tm("time")
	var action string
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"actor", &e.Actor}, {"role", &e.Role}, {"action", &action}, {"subject", &e.Subject},
		{"ticket", &e.Ticket}, {"incident", &e.Incident}, {"reason", &e.Reason},
		{"promotion_id", &e.PromotionID}, {"from_mode", &e.FromMode}, {"to_mode", &e.ToMode},
	} {
		str(f.name, f.dst)
	}
	e.Action = Action(action)
	var present string
	str("evidence", &present)
	if present == "present" {
		e.Evidence = &EvidenceSnapshot{
			WindowStart: tm("evidence.window_start"), WindowEnd: tm("evidence.window_end"),
			Clean: time.Duration(num("evidence.clean_ns")), Required: time.Duration(num("evidence.required_ns")),
			Validations: num("evidence.validations"), Violations: num("evidence.violations"),
		}
	} else if present != "none" {
		return Entry{}, fmt.Errorf("evidence %q", present)
	}
	if n := num("details"); n > 0 {
		e.Details = map[string]string{}
		for range n {
			var k, v string
			str("details.key", &k)
			str("details.value", &v)
			e.Details[k] = v
		}
	}
	str("prev_hash", &e.PrevHash)
	if err := errors.Join(errs...); err != nil {
		return Entry{}, err
	}
	if len(rest) != 0 {
		return Entry{}, fmt.Errorf("%d trailing bytes", len(rest))
	}
	return e, nil
}

// TestAuditAppendAfterWaitingForTheHead: on PostgreSQL an append that waits for another
// transaction's lock on the head reads the head and the last entry that transaction wrote, and
// builds on them, instead of taking the wait for a broken chain. (SQLite runs one write
// transaction at a time: an append never waits inside its transaction there.)
func TestAuditAppendAfterWaitingForTheHead(t *testing.T) {
	ctx := t.Context()
	db, _ := openDB(t)
	if db.Dialect() != store.Postgres {
		t.Skip("SQLite write transactions are exclusive: an append never waits for the head inside one")
	}
	clock := newClock(t0)
	a := newAudit(t, db, auditKeyA, clock)
	appendSamples(t, a, clock, 1)
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := a.AppendTx(ctx, tx, Entry{Actor: "alice", Action: ActionConfigChanged, Reason: "holds the head"}); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := a.Append(ctx, Entry{Actor: "bob", Action: ActionConfigChanged, Reason: "waits for the head"})
		waited <- err
	}()
	for { // until bob's append waits for the head's row lock
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-waited:
			t.Fatalf("the second append did not wait for the first's transaction: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("append after the wait: %v", err)
	}
	if r := a.LastBreak(); r != nil {
		t.Fatalf("LastBreak = %+v; want none", r)
	}
	var got []string
	all, err := a.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		got = append(got, fmt.Sprintf("%d %s", e.Seq, e.Actor))
	}
	if diff := cmp.Diff([]string{"1 " + all[0].Actor, "2 alice", "3 bob"}, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if r, err := a.Verify(ctx); err != nil || !r.OK || r.Checked != 3 {
		t.Errorf("Verify = %+v, %v; want OK with 3 checked", r, err)
	}
}
