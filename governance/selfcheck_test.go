package governance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/validate"
)

// chainMetrics is the exposition of the chain gauge and the verification counter wanted.
func chainMetrics(intact, verifiedIntact, verifiedBroken int) string {
	return `# HELP schemagate_audit_chain_intact 1 when the last verification of the audit hash chain found it intact, 0 while it is broken (promotions are refused).
# TYPE schemagate_audit_chain_intact gauge
schemagate_audit_chain_intact ` + itoa(int64(intact)) + `
# HELP schemagate_audit_verifications_total Full verifications of the audit chain by result: intact, broken, or error (the store could not be read).
# TYPE schemagate_audit_verifications_total counter
schemagate_audit_verifications_total{result="broken"} ` + itoa(int64(verifiedBroken)) + `
schemagate_audit_verifications_total{result="error"} 0
schemagate_audit_verifications_total{result="intact"} ` + itoa(int64(verifiedIntact)) + `
`
}

// The gate verifies the chain at start and every governance.audit_verify_interval: a break
// sets schemagate_audit_chain_intact to 0, refuses promotion requests naming the first bad
// entry, and puts the banner on the document; a repair verified on demand lifts all of it.
func TestGateVerifiesTheChainContinuously(t *testing.T) {
	tg := newTestGateWith(t, func(c *Config) { c.AuditVerifyInterval = 10 * time.Millisecond })
	ctx := t.Context()
	if err := testutil.GatherAndCompare(tg.gatherer, strings.NewReader(chainMetrics(1, 1, 0)),
		"schemagate_audit_chain_intact", "schemagate_audit_verifications_total"); err != nil {
		t.Errorf("after New's verification: %v", err)
	}
	for _, team := range []string{"team-a", "team-b", "team-c"} {
		if _, err := tg.SetOwner(ctx, Actor{Name: "author"}, Owner{Subject: "orders-value", Team: team}); err != nil {
			t.Fatal(err)
		}
	}
	var original string
	if err := tg.db.SQL().QueryRowContext(ctx, `SELECT details FROM audit_entries WHERE seq = 2`).Scan(&original); err != nil {
		t.Fatal(err)
	}
	mustExec(t, tg.db, `UPDATE audit_entries SET details = '{"team":"team-x"}' WHERE seq = 2`)
	tg.run(t)
	for deadline := time.Now().Add(10 * time.Second); tg.audit.LastBreak() == nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no verification found the break within 10s")
		}
	}
	if got := testutil.ToFloat64(tg.metrics.verifications.WithLabelValues("broken")); got < 1 {
		t.Errorf(`schemagate_audit_verifications_total{result="broken"} = %v; want at least 1`, got)
	}
	if n, err := testutil.GatherAndCount(tg.gatherer, "schemagate_audit_chain_intact"); err != nil || n != 1 {
		t.Errorf("chain gauge series = %d, %v", n, err)
	}
	if err := testutil.GatherAndCompare(tg.gatherer, strings.NewReader(`# HELP schemagate_audit_chain_intact 1 when the last verification of the audit hash chain found it intact, 0 while it is broken (promotions are refused).
# TYPE schemagate_audit_chain_intact gauge
schemagate_audit_chain_intact 0
`), "schemagate_audit_chain_intact"); err != nil {
		t.Error(err)
	}
	_, err := tg.Request(ctx, Actor{Name: "alice", Role: "author"}, "orders-value", "CHG-1", "ready")
	if !errors.Is(err, ErrAuditChainBroken) || !strings.Contains(err.Error(), "audit chain broken at entry 2: entry 2: hash does not match") {
		t.Errorf("request while broken = %v; want ErrAuditChainBroken naming entry 2", err)
	}
	doc, err := tg.Document(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(doc), "# Schema registry governance\n\n> **Warning: the audit chain is broken at entry #2**") {
		t.Errorf("document while broken does not open with the banner:\n%s", doc)
	}

	mustExec(t, tg.db, `UPDATE audit_entries SET details = ? WHERE seq = 2`, original)
	r, err := tg.VerifyAudit(ctx)
	if err != nil || !r.OK {
		t.Fatalf("VerifyAudit after the repair = %+v, %v", r, err)
	}
	if err := tg.audit.Intact(); err != nil {
		t.Errorf("Intact after the repair = %v", err)
	}
	if doc, err := tg.Document(ctx); err != nil || strings.Contains(string(doc), "Warning") {
		t.Errorf("document after the repair still warns (%v):\n%s", err, doc)
	}
}

// While the chain is broken, requests, approvals and automatic promotions are refused; manual
// and automatic rollbacks still work and are audited; a repair lets the approval through.
func TestPromotionsRefusedWhileTheChainIsBroken(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: time.Hour, MinValidations: 10}, AutoRequest: true,
		AutoRollback: AutoRollback{Ratio: 0.1, Period: 10 * time.Minute, MinValidations: 5}})
	for _, s := range []string{"payments", "refunds"} {
		if _, err := e.reg.Register(ctx, s, registry.SchemaInput{Text: `"string"`}); err != nil {
			t.Fatal(err)
		}
	}
	e.run(t, time.Hour, 1, false)
	p, err := e.gov.Request(ctx, alice, "orders", "CHG-1", "ready")
	if err != nil {
		t.Fatal(err)
	}
	root := Actor{Name: "root", Role: "admin"}
	for _, s := range []string{"payments", "refunds"} {
		if _, err := e.gov.Override(ctx, root, s, ModeStrict, "CHG-2", "test"); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, e.db, `UPDATE audit_entries SET reason = 'forged' WHERE seq = 1`)
	if r, err := e.audit.Verify(ctx); err != nil || r.FirstBroken != 1 {
		t.Fatalf("Verify = %+v, %v; want broken at 1", r, err)
	}

	const named = "audit chain broken at entry 1: entry 1: hash does not match its contents"
	if _, _, err := e.gov.Approve(ctx, lead, p.ID, "ok"); !errors.Is(err, ErrAuditChainBroken) || !strings.Contains(err.Error(), named) {
		t.Errorf("approve while broken = %v; want ErrAuditChainBroken: %s", err, named)
	}
	if _, err := e.gov.Request(ctx, alice, "payments", "CHG-3", "again"); !errors.Is(err, ErrAuditChainBroken) {
		t.Errorf("request while broken = %v; want ErrAuditChainBroken", err)
	}
	if _, err := e.gov.Rollback(ctx, pager, "payments", "drift", "INC-1"); err != nil {
		t.Errorf("rollback while broken: %v", err)
	}
	// refunds rejects too much: the tick rolls it back, and opens no request for anything.
	for range 10 {
		e.evidence.Record("refunds", "producer", findings(validate.KindTypeMismatch), nil)
	}
	mustFlush(t, e.evidence)
	opened, rolledBack, err := e.gov.Tick(ctx, []string{"orders", "payments", "refunds"})
	if err != nil || len(opened) != 0 || len(rolledBack) != 1 || rolledBack[0].Subject != "refunds" {
		t.Errorf("tick while broken = %+v, %+v, %v; want no request and refunds rolled back", opened, rolledBack, err)
	}
	entries, err := e.audit.List(ctx, AuditFilter{Action: ActionModeRolledBack})
	if err != nil || len(entries) != 2 {
		t.Errorf("rollbacks audited: %+v, %v; want 2", entries, err)
	}
	if e.modes.ModeOf("orders") != ModeCanary || e.modes.ModeOf("payments") != ModeCanary || e.modes.ModeOf("refunds") != ModeCanary {
		t.Errorf("modes: orders %s, payments %s, refunds %s; want all canary", e.modes.ModeOf("orders"), e.modes.ModeOf("payments"), e.modes.ModeOf("refunds"))
	}
	doc, err := os.ReadFile(e.docPath)
	if err != nil || !strings.Contains(string(doc), "the audit chain is broken at entry #1") {
		t.Errorf("document after the rollback lacks the banner (%v):\n%s", err, doc)
	}

	mustExec(t, e.db, `UPDATE audit_entries SET reason = 'ready' WHERE seq = 1`)
	if r, err := e.audit.Verify(ctx); err != nil || !r.OK {
		t.Fatalf("Verify after the repair = %+v, %v", r, err)
	}
	if _, _, err := e.gov.Approve(ctx, lead, p.ID, "ok"); err != nil {
		t.Errorf("approve after the repair: %v", err)
	}
}

// With governance.require_approval false, an eligible subject is not promoted by the tick while
// the chain is broken, and the tick reports no error for it (it goes on with the others).
func TestNoAutomaticPromotionWhileTheChainIsBroken(t *testing.T) {
	ctx := context.Background()
	e := newGovEnv(t, GovernorOptions{Policy: Policy{CleanWindow: time.Hour, MinValidations: 10}, NoApproval: true, AutoTicket: "GOV-1"})
	if _, err := e.reg.Register(ctx, "payments", registry.SchemaInput{Text: `"string"`}); err != nil {
		t.Fatal(err)
	}
	e.run(t, time.Hour, 1, false)
	if _, err := e.gov.Override(ctx, Actor{Name: "root", Role: "admin"}, "payments", ModeStrict, "CHG-2", "test"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, e.db, `UPDATE audit_entries SET reason = 'forged' WHERE seq = 1`)
	if r, err := e.audit.Verify(ctx); err != nil || r.OK {
		t.Fatalf("Verify = %+v, %v; want broken", r, err)
	}
	opened, _, err := e.gov.Tick(ctx, []string{"orders"})
	if err != nil || len(opened) != 0 || e.modes.ModeOf("orders") != ModeCanary {
		t.Errorf("tick while broken = %+v, %v, orders %s; want nothing promoted, no error", opened, err, e.modes.ModeOf("orders"))
	}
}

// New refuses an HMAC key file that is empty or short, and a key the log was not written with.
func TestNewRefusesABadAuditKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, contents string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keyA := write("a.key", string(auditKeyA)+"\n")
	tests := []struct {
		name, keyFile string
		wantErr       string
	}{
		{"right key", keyA, ""},
		{"empty file", write("empty.key", "\n"), "governance.audit_hmac_key_file: " + dir + "/empty.key is empty"},
		{"short key", write("short.key", "0123456789abcdef\n"), "governance.audit_hmac_key_file: " + dir + "/short.key holds a 16-byte key"},
		{"another key", write("b.key", string(auditKeyB)), "written with a different HMAC key than governance.audit_hmac_key_file holds"},
		{"no key", "", "governance.audit_hmac_key_file is not set, but the audit log was written with an HMAC key"},
	}
	db, _ := openDB(t)
	clock := newClock(t0)
	appendSamples(t, newAudit(t, db, auditKeyA, clock), clock, 3)
	reg, err := registry.New(db, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := validate.NewEngine(validate.Options{Source: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DocPath, cfg.AuditHMACKeyFile = "", tc.keyFile
			_, err := New(t.Context(), Options{DB: db, Registry: reg, Subjects: engine, Registerer: prometheus.NewRegistry(), Config: cfg, Clock: clock.Now})
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("New = %v; want it to start", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New = %v; want %q", err, tc.wantErr)
			}
		})
	}
}
