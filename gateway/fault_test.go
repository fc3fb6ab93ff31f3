package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storefault"
)

// faultGateway is an in-process gateway whose store runs through a fault injector.
type faultGateway struct {
	*testGateway
	inj *storefault.Injector
}

// startFaultGateway starts an open gateway (no principals) on a fresh SQLite store behind a
// fault injector, with edit applied to its configuration.
func startFaultGateway(t *testing.T, edit func(*Config)) *faultGateway {
	t.Helper()
	inj := storefault.New()
	tg := startGatewayOpts(t, edit, Options{StoreOptions: []store.Option{inj.Option()}})
	return &faultGateway{testGateway: tg, inj: inj}
}

// counter reads one counter of the gateway's registry; absent series read as 0.
func (tg *testGateway) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	return tg.sample(t, name, labels).GetCounter().GetValue()
}

// sample is the first series of the gateway's registry named name whose labels include
// labels; nil when there is none.
func (tg *testGateway) sample(t *testing.T, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	families, err := tg.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

// waitFor polls cond every 20 ms until it holds; the deadline is a safety net, not a measure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStoreDown proves what a producer and an operator see while the database is unreachable:
// validation keeps working from the cache (canary accepts and flags, strict rejects drift and
// accepts valid payloads), /readyz is not ready, writes fail with 50001 (REST) or Unavailable
// (gRPC) and a clear message, and evidence recorded meanwhile is held and stored once the
// database returns.
func TestStoreDown(t *testing.T) {
	fg := startFaultGateway(t, func(c *Config) {
		c.Governance.EvidenceBucket = time.Second
		c.Governance.EvidenceFlushInterval = 50 * time.Millisecond
	})
	setupValidation(t, fg.testGateway)
	ctx := context.Background()
	if err := fg.g.gate.Modes().SetMode(ctx, "events-value", governance.ModeStrict); err != nil {
		t.Fatal(err)
	}
	if err := fg.g.gate.Modes().Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	validate := func(subject, doc string) (*pb.ValidateResponse, error) {
		return pb.NewValidationServiceClient(fg.conn).Validate(withToken(""), &pb.ValidateRequest{Subject: subject, Json: jsonPayload(t, doc)})
	}
	// Warm the caches, as traffic before an outage does.
	for _, s := range []string{"orders-value", "events-value"} {
		if _, err := validate(s, `{"id":"w"}`); err != nil && status.Code(err) != codes.InvalidArgument {
			t.Fatal(err)
		}
	}
	stored := func() int64 {
		var n int64
		if err := fg.g.db.SQL().QueryRowContext(ctx, `SELECT COALESCE(SUM(validations), 0) FROM evidence_buckets WHERE subject = 'events-value'`).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	waitFor(t, "the warm-up evidence to be flushed", func() bool { return stored() == 1 })

	fg.inj.Down()
	waitFor(t, "a failed evidence flush", func() bool {
		return fg.counter(t, "schemagate_evidence_flushes_total", map[string]string{"result": "error"}) > 0
	})

	// Validation from the cache.
	const outage = 5
	for range outage {
		resp, err := validate("orders-value", `{"id":"o"}`)
		if err != nil || resp.GetOutcome() != pb.Outcome_OUTCOME_FLAGGED {
			t.Fatalf("canary drift with the store down = %v, %v; want accepted and flagged", resp, err)
		}
		if _, err := validate("events-value", `{"id":5}`); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("strict drift with the store down = %v; want InvalidArgument (rejected)", err)
		}
		resp, err = validate("events-value", `{"id":"e"}`)
		if err != nil || resp.GetOutcome() != pb.Outcome_OUTCOME_VALID {
			t.Fatalf("strict valid payload with the store down = %v, %v; want accepted", resp, err)
		}
	}

	// Readiness and writes.
	if code, body := fg.httpDo(t, "GET", "/readyz", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable") {
		t.Errorf("/readyz with the store down = %d %s; want 503 store unreachable", code, body)
	}
	code, body := fg.httpDo(t, "POST", "/subjects/new-value/versions", "", registerBody(`"string"`))
	var confluentErr struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	_ = json.Unmarshal([]byte(body), &confluentErr)
	if code != http.StatusInternalServerError || confluentErr.ErrorCode != 50001 || !strings.HasPrefix(confluentErr.Message, "storage failure while ") {
		t.Errorf("REST register with the store down = %d %s; want 500, error_code 50001, storage failure while ...", code, body)
	}
	_, err := pb.NewRegistryServiceClient(fg.conn).RegisterSchema(withToken(""), &pb.RegisterSchemaRequest{Subject: "new-value", Schema: `"string"`})
	if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "store unavailable; retry later" {
		t.Errorf("gRPC register with the store down = %v; want Unavailable, store unavailable; retry later", err)
	}
	_, err = pb.NewGovernanceServiceClient(fg.conn).SetValidationMode(withToken(""), &pb.SetValidationModeRequest{
		Subject: "orders-value", Mode: pb.ValidationMode_VALIDATION_MODE_STRICT, Ticket: "OPS-1", Justification: "outage drill"})
	if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "store unavailable; retry later" {
		t.Errorf("governance action with the store down = %v; want Unavailable, store unavailable; retry later", err)
	}

	// The store returns: readiness, writes and the held evidence come back.
	fg.inj.Up()
	waitFor(t, "the held evidence to be flushed", func() bool { return stored() == 1+2*outage })
	if code, _ := fg.httpDo(t, "GET", "/readyz", "", ""); code != http.StatusOK {
		t.Errorf("/readyz after the store returned = %d; want 200", code)
	}
	if code, body := fg.httpDo(t, "POST", "/subjects/new-value/versions", "", registerBody(`"string"`)); code != http.StatusOK {
		t.Errorf("REST register after the store returned = %d %s", code, body)
	}
	var violations int64
	if err := fg.g.db.SQL().QueryRowContext(ctx, `SELECT SUM(violations) FROM evidence_buckets WHERE subject = 'events-value'`).Scan(&violations); err != nil || violations != outage {
		t.Errorf("stored violations of the strict subject = %d, %v; want %d (every rejection during the outage)", violations, err, outage)
	}
	if n := fg.g.gate.Modes().ModeOf("orders-value"); n != governance.ModeCanary {
		t.Errorf("orders-value mode after the failed governance action = %s; want canary", n)
	}
}

// TestEvidenceLossIsCounted: drift samples beyond governance.evidence_max_samples while the store
// is down are counted in schemagate_evidence_lost_total, and their findings still are not lost.
func TestEvidenceLossIsCounted(t *testing.T) {
	fg := startFaultGateway(t, func(c *Config) {
		c.Governance.EvidenceFlushInterval = 50 * time.Millisecond
		c.Governance.EvidenceMaxSamples = 2
	})
	setupValidation(t, fg.testGateway)
	client := pb.NewValidationServiceClient(fg.conn)
	if _, err := client.Validate(withToken(""), &pb.ValidateRequest{Subject: "events-value", Json: jsonPayload(t, `{"id":"warm"}`)}); err != nil {
		t.Fatal(err) // compiles the validator: the cache is what serves during the outage
	}
	fg.inj.Down()
	// Four distinct unknown fields: four sample entries for a bound of two.
	for _, field := range []string{"a", "b", "c", "d"} {
		if _, err := client.Validate(withToken(""), &pb.ValidateRequest{Subject: "events-value", Json: jsonPayload(t, `{"id":"x","`+field+`":1}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if lost := fg.counter(t, "schemagate_evidence_lost_total", map[string]string{"what": "drift_sample"}); lost != 2 {
		t.Errorf(`schemagate_evidence_lost_total{what="drift_sample"} = %v, want 2`, lost)
	}
	fg.inj.Up()
	ctx := context.Background()
	waitFor(t, "the held findings to be flushed", func() bool {
		var n int64
		err := fg.g.db.SQL().QueryRowContext(ctx, `SELECT COALESCE(SUM(unknown_field), 0) FROM evidence_buckets WHERE subject = 'events-value'`).Scan(&n)
		return err == nil && n == 4
	})
}

// TestFailedAuditWriteChangesNothing: when the audit entry of a governance action or of a
// registry write cannot be stored, the action fails and nothing it would have changed is
// changed.
func TestFailedAuditWriteChangesNothing(t *testing.T) {
	fg := startFaultGateway(t, nil)
	setupValidation(t, fg.testGateway)
	ctx := context.Background()
	auditCount := func() int {
		var n int
		if err := fg.g.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_entries`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := auditCount()
	remove := fg.inj.Fail(storefault.Exec, "INSERT INTO audit_entries", nil)

	_, err := pb.NewGovernanceServiceClient(fg.conn).SetValidationMode(withToken(""), &pb.SetValidationModeRequest{
		Subject: "orders-value", Mode: pb.ValidationMode_VALIDATION_MODE_STRICT, Ticket: "OPS-1", Justification: "audit outage"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("override with the audit log failing = %v; want Unavailable", err)
	}
	if err := fg.g.gate.Modes().Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if m := fg.g.gate.Modes().ModeOf("orders-value"); m != governance.ModeCanary {
		t.Errorf("mode after the failed override = %s; want canary", m)
	}
	code, body := fg.httpDo(t, "POST", "/subjects/unaudited-value/versions", "", registerBody(`"string"`))
	if code != http.StatusInternalServerError || !strings.Contains(body, `"error_code":50001`) {
		t.Errorf("register with the audit log failing = %d %s; want 500 / 50001", code, body)
	}
	if code, body := fg.httpDo(t, "PUT", "/config/orders-value", "", `{"compatibility":"NONE"}`); code != http.StatusInternalServerError {
		t.Errorf("config change with the audit log failing = %d %s; want 500", code, body)
	}
	remove()

	if got := auditCount(); got != before {
		t.Errorf("audit entries = %d, want %d: nothing was appended", got, before)
	}
	if diff := cmp.Diff([]string{"events-value", "orders-value"}, fg.subjects(t)); diff != "" {
		t.Errorf("subjects after the failed registration (-want +got):\n%s", diff)
	}
	if code, body := fg.httpDo(t, "GET", "/config/orders-value", "", ""); code != http.StatusNotFound {
		t.Errorf("orders-value config after the failed change = %d %s; want 404 (never configured)", code, body)
	}
	// With the audit log back, the same actions succeed and are audited.
	if code, body := fg.httpDo(t, "POST", "/subjects/unaudited-value/versions", "", registerBody(`"string"`)); code != http.StatusOK {
		t.Errorf("register after the audit log returned = %d %s", code, body)
	}
	if got := auditCount(); got != before+1 {
		t.Errorf("audit entries after the registration = %d, want %d", got, before+1)
	}
}

// TestStalledStoreHonoursDeadlines: a query that hangs in the database ends with the caller's
// deadline (DeadlineExceeded), and the gateway keeps serving other requests. (Reads are served
// from memory; a registration still queries the database.)
func TestStalledStoreHonoursDeadlines(t *testing.T) {
	fg := startFaultGateway(t, nil)
	setupValidation(t, fg.testGateway)
	validate := func() (*pb.ValidateResponse, error) {
		return pb.NewValidationServiceClient(fg.conn).Validate(withToken(""), &pb.ValidateRequest{Subject: "events-value", Json: jsonPayload(t, `{"id":"e"}`)})
	}
	if _, err := validate(); err != nil {
		t.Fatal(err)
	}
	remove := fg.inj.Stall(storefault.Query, "subject_versions")
	defer remove()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := pb.NewRegistryServiceClient(fg.conn).RegisterSchema(ctx, &pb.RegisterSchemaRequest{Subject: "orders-value", Schema: `"string"`})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("RegisterSchema on a stalled store = %v; want DeadlineExceeded", err)
	}
	if fg.inj.Hits(storefault.Query) == 0 {
		t.Error("the stalled query was never reached: the test proves nothing")
	}
	resp, err := validate()
	if err != nil || resp.GetOutcome() != pb.Outcome_OUTCOME_VALID {
		t.Errorf("validation while a query stalls = %v, %v; want valid", resp, err)
	}
}

// TestGovernanceBadInputIsNotAStoreFailure: input the audit log refuses (a NUL byte) is
// InvalidArgument, not the Unavailable of a storage failure, so clients do not retry it.
func TestGovernanceBadInputIsNotAStoreFailure(t *testing.T) {
	tg := startGateway(t, nil)
	setupValidation(t, tg)
	_, err := pb.NewGovernanceServiceClient(tg.conn).SetValidationMode(withToken(""), &pb.SetValidationModeRequest{
		Subject: "orders-value", Mode: pb.ValidationMode_VALIDATION_MODE_STRICT, Ticket: "OPS-1", Justification: "nul\x00byte"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "invalid audit entry") {
		t.Errorf("override with a NUL in the justification = %v; want InvalidArgument, invalid audit entry", err)
	}
}
