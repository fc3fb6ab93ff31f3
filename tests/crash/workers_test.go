package crash_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/schemagate/schemagate/governance"
)

// round is one life of the server: workers run against srv until they are stopped.
type round struct {
	t    *testing.T
	n    int
	seed uint64
	srv  *server
	led  *ledger
}

// rng returns the random source of one worker in this round, derived from the test's seed.
func (r *round) rng(worker int) *rand.Rand {
	return rand.New(rand.NewPCG(r.seed, uint64(r.n)<<16|uint64(worker)))
}

// The workers of a round. Each stops at its first transport error (the server is gone) or when
// ctx is done.
const registrars, validators = 5, 3

func (r *round) runWorkers(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	w := 0
	for i := range registrars {
		rng := r.rng(w)
		wg.Go(func() { r.registrar(ctx, rng, i) })
		w++
	}
	for range validators {
		rng := r.rng(w)
		wg.Go(func() { r.validator(ctx, rng) })
		w++
	}
	for _, s := range govSubjectNames {
		rng, st := r.rng(w), r.led.govSubjects[s]
		wg.Go(func() { r.governor(ctx, rng, st) })
		w++
	}
	cfgRNG, delRNG := r.rng(w), r.rng(w+1)
	wg.Go(func() { r.configurer(ctx, cfgRNG, r.led.cfg) })
	wg.Go(func() { r.deleter(ctx, delRNG) })
	return &wg
}

// schemaAnswer is the Confluent answer to a registration.
type schemaAnswer struct {
	ID      int    `json:"id"`
	Version int    `json:"version"`
	Schema  string `json:"schema"`
}

// register posts text to subject over the Confluent API. A transport error is recorded as an
// unanswered registration. A success whose answer does not decode is reported and returned
// with code 0, so that callers treat it as a failure.
func (r *round) register(ctx context.Context, subject, text string) (reply, schemaAnswer, error) {
	resp, err := r.srv.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(subject)+"/versions", author, map[string]string{"schema": text})
	if err != nil {
		r.led.unansweredRegistration(subject, logicalKey(text))
		return reply{}, schemaAnswer{}, err
	}
	var out schemaAnswer
	if resp.ok() && !resp.decode(r.t, "register in "+subject, &out) {
		return reply{code: 0, body: resp.body}, out, nil
	}
	return resp, out, nil
}

// registrar registers ladder schemas into two subjects of its own and two subjects every
// registrar shares (concurrent registrations into one subject, the same schema in several
// subjects), and now and then a schema nobody else registers (a new ID).
func (r *round) registrar(ctx context.Context, rng *rand.Rand, w int) {
	own := []string{fmt.Sprintf("reg-%d-0", w), fmt.Sprintf("reg-%d-1", w)}
	shared := []string{"shared-0", "shared-1"}
	for n := 0; ctx.Err() == nil; n++ {
		subject := own[rng.IntN(len(own))]
		if rng.IntN(5) < 2 {
			subject = shared[rng.IntN(len(shared))]
		}
		extra := ""
		if rng.IntN(5) == 0 {
			extra = fmt.Sprintf("u_%d_%d_%d", r.n, w, n)
		}
		text := ladderSchema(rng.IntN(ladderSize), extra)
		resp, out, err := r.register(ctx, subject, text)
		if err != nil {
			return
		}
		if !resp.ok() {
			r.t.Errorf("register %s in %s: %s", logicalKey(text), subject, resp)
			continue
		}
		r.led.ackRegistration(subject, logicalKey(text), out.Version, out.ID, out.Schema, true)
	}
}

// validator validates payloads: valid ones on every value subject, invalid ones (one type
// mismatch each) on the val-* subjects only, so that the gov-* subjects keep a clean window.
func (r *round) validator(ctx context.Context, rng *rand.Rand) {
	subjects := append(slices.Clone(valSubjectNames), govSubjectNames...)
	for n := 0; ctx.Err() == nil; n++ {
		subject := subjects[rng.IntN(len(subjects))]
		valid := strings.HasPrefix(subject, "gov-") || rng.IntN(10) < 7
		var payload any = map[string]any{"json": map[string]any{"id": fmt.Sprintf("o-%d", n)}}
		if !valid {
			payload = map[string]any{"json": map[string]any{"id": n}}
		}
		counts := r.led.validationCounts(r.srv.replica, subject)
		r.led.countValidation(counts, valid, false)
		resp, err := r.srv.do(ctx, http.MethodPost, "/v1/subjects/"+subject+"/validate", author, payload)
		if err != nil {
			return
		}
		if resp.code != http.StatusOK {
			r.t.Errorf("validate on %s: %s", subject, resp)
			continue
		}
		var out struct {
			Outcome  string
			Findings []struct{ Kind, Path string }
		}
		if !resp.decode(r.t, "validate on "+subject, &out) {
			continue
		}
		type finding struct{ Kind, Path string }
		var got []finding
		for _, f := range out.Findings {
			got = append(got, finding(f))
		}
		want := struct {
			Outcome  string
			Findings []finding
		}{"OUTCOME_VALID", nil}
		if !valid {
			want.Outcome, want.Findings = "OUTCOME_FLAGGED", []finding{{"DRIFT_KIND_TYPE_MISMATCH", "/id"}}
		}
		if out.Outcome != want.Outcome || !slices.Equal(got, want.Findings) {
			r.t.Errorf("validate %v on %s: outcome %s, findings %v; want %s, %v", valid, subject, out.Outcome, got, want.Outcome, want.Findings)
			continue
		}
		r.led.countValidation(counts, valid, true)
	}
}

// govRequest is one governance action.
type govRequest struct {
	method, path, principal string
	body                    any
	action                  governance.Action // the audit action of the entry the answer names
	toMode, team            string            // the validation mode or owner it sets, "" when none
	promotion               string            // the promotion it acts on, if any
}

// governor drives one gov-* subject through the promotion workflow: request when eligible,
// approve or reject, roll back, break-glass overrides and owner changes.
func (r *round) governor(ctx context.Context, rng *rand.Rand, st *govSubject) {
	base := "/v1/subjects/" + st.name
	for n := 0; ctx.Err() == nil; n++ {
		resp, err := r.srv.do(ctx, http.MethodGet, base+"/governance", author, nil)
		if err != nil {
			return
		}
		var status struct {
			Mode             string
			Eligible         bool
			PendingPromotion *struct{ ID string }
		}
		if !resp.ok() || !resp.decode(r.t, "status of "+st.name, &status) {
			r.t.Errorf("status of %s: %s", st.name, resp)
			return
		}
		ticket := fmt.Sprintf("CHG-%d%04d", r.n, n)
		team := fmt.Sprintf("team-%d", rng.IntN(4))
		owner := govRequest{method: http.MethodPut, path: base + "/owner", principal: lead, action: "owner.set", team: team,
			body: map[string]string{"team": team, "escalation": "page the on-call"}}
		rollback := govRequest{method: http.MethodPost, path: base + ":rollback", principal: lead, action: "mode.rolled_back", toMode: "canary",
			body: map[string]string{"reason": "drift seen", "incident": fmt.Sprintf("INC-%d", n)}}
		override := func(mode string) govRequest {
			return govRequest{method: http.MethodPut, path: base + "/validation-mode", principal: admin, action: "mode.overridden", toMode: mode,
				body: map[string]string{"mode": "VALIDATION_MODE_" + strings.ToUpper(mode), "ticket": ticket, "justification": "break glass in the crash test"}}
		}
		var req govRequest
		switch {
		case modeName(status.Mode) == "strict":
			req = []govRequest{rollback, rollback, override("canary"), owner}[rng.IntN(4)]
		case status.PendingPromotion != nil:
			id := status.PendingPromotion.ID
			req = govRequest{method: http.MethodPost, path: "/v1/promotions/" + id + ":approve", principal: lead, action: "promotion.approved",
				toMode: "strict", promotion: id, body: map[string]string{"comment": "evidence looks good"}}
			if rng.IntN(4) == 0 {
				req = govRequest{method: http.MethodPost, path: "/v1/promotions/" + id + ":reject", principal: lead, action: "promotion.rejected",
					promotion: id, body: map[string]string{"reason": "not this week"}}
			}
		case status.Eligible:
			req = govRequest{method: http.MethodPost, path: base + "/promotions", principal: author, action: "promotion.requested",
				body: map[string]string{"ticket": ticket, "reason": "clean window"}}
		default:
			switch rng.IntN(3) {
			case 0:
				req = override("strict")
			case 1:
				req = owner
			default:
				time.Sleep(20 * time.Millisecond) // let evidence accumulate
				continue
			}
		}
		if !r.govAction(ctx, st, req) {
			return
		}
	}
}

// govAction sends req and records its outcome; false after a transport error.
func (r *round) govAction(ctx context.Context, st *govSubject, req govRequest) bool {
	resp, err := r.srv.do(ctx, req.method, req.path, req.principal, req.body)
	if err != nil {
		if req.toMode != "" {
			st.modes[req.toMode] = true
		}
		if req.team != "" {
			st.teams[req.team] = true
		}
		return false
	}
	var refusal struct {
		Code    int
		Message string
	}
	switch {
	case resp.code == http.StatusBadRequest && json.Unmarshal(resp.body, &refusal) == nil && codes.Code(refusal.Code) == codes.FailedPrecondition:
		// Refused (no longer eligible, already decided…): nothing changed.
		return true
	case resp.code == http.StatusServiceUnavailable && json.Unmarshal(resp.body, &refusal) == nil &&
		strings.HasPrefix(refusal.Message, "evidence incomplete"):
		// An approval right after a kill: the killed process still counts as a replica whose
		// evidence is unknown until governance.replica_timeout passes. Nothing changed.
		return true
	case !resp.ok():
		r.t.Errorf("%s %s as %s: %s", req.method, req.path, req.principal, resp)
		return true
	}
	var out struct {
		ID            string // a request answers the promotion itself
		Promotion     *struct{ ID string }
		AuditEntry    *struct{ Sequence jsonInt }
		AuditSequence jsonInt
	}
	if !resp.decode(r.t, req.method+" "+req.path, &out) {
		return true
	}
	a := govAck{action: req.action, subject: st.name, actor: req.principal, promotion: req.promotion, seq: int64(out.AuditSequence)}
	if out.AuditEntry != nil {
		a.seq = int64(out.AuditEntry.Sequence)
	}
	if out.Promotion != nil {
		a.promotion = out.Promotion.ID
	}
	if req.action == "promotion.requested" {
		a.promotion = out.ID
	}
	if a.seq == 0 && req.action != "promotion.requested" || a.promotion == "" && strings.HasPrefix(string(req.action), "promotion.") {
		r.t.Errorf("%s %s: the answer names no audit entry or promotion: %s", req.method, req.path, resp)
	}
	r.led.ackGovernance(a)
	if req.toMode != "" {
		st.modes = only(req.toMode)
	}
	if req.team != "" {
		st.teams = only(req.team)
	}
	return true
}

// modeName turns VALIDATION_MODE_STRICT into strict.
func modeName(proto string) string {
	return strings.ToLower(strings.TrimPrefix(proto, "VALIDATION_MODE_"))
}

// configurer changes the compatibility level and the registry mode of its subject and
// registers into it: registrations and level changes are refused exactly when the subject may
// be read-only.
func (r *round) configurer(ctx context.Context, rng *rand.Rand, st *cfgSubject) {
	levels := []string{"BACKWARD", "FORWARD", "FULL", "NONE", "BACKWARD_TRANSITIVE", "FULL_TRANSITIVE"}
	modes := []string{"READONLY", "READWRITE"}
	for ctx.Err() == nil {
		var path, principal, value string
		var possible map[string]bool
		var body map[string]string
		switch rng.IntN(3) {
		case 0:
			path, principal, value, possible = "/config/"+st.name, author, levels[rng.IntN(len(levels))], st.compat
			body = map[string]string{"compatibility": value}
		case 1:
			path, principal, value, possible = "/mode/"+st.name, admin, modes[rng.IntN(len(modes))], st.mode
			body = map[string]string{"mode": value}
		default:
			if !r.registerConfigured(ctx, rng, st) {
				return
			}
			continue
		}
		resp, err := r.srv.do(ctx, http.MethodPut, path, principal, body)
		if err != nil {
			possible[value] = true
			return
		}
		if !resp.ok() {
			// As in Confluent, a read-only subject refuses config changes too (42205); mode
			// changes are always allowed.
			if !readOnlyRefusal(resp) || path != "/config/"+st.name || !st.mode["READONLY"] {
				r.t.Errorf("PUT %s %v while its mode is one of %s: %s", path, body, setString(st.mode), resp)
			}
			continue
		}
		r.led.acked.config.Add(1)
		clear(possible)
		possible[value] = true
	}
}

// readOnlyRefusal reports whether resp is Confluent's refusal of a write to a read-only subject
// (422, error code 42205).
func readOnlyRefusal(resp reply) bool {
	var refusal struct {
		ErrorCode int `json:"error_code"`
	}
	return resp.code == http.StatusUnprocessableEntity && json.Unmarshal(resp.body, &refusal) == nil && refusal.ErrorCode == 42205
}

// registerConfigured registers a ladder schema into the config worker's subject.
func (r *round) registerConfigured(ctx context.Context, rng *rand.Rand, st *cfgSubject) bool {
	text := ladderSchema(rng.IntN(ladderSize), "")
	resp, out, err := r.register(ctx, st.name, text)
	if err != nil {
		return false
	}
	writable := st.mode[""] || st.mode["READWRITE"]
	switch {
	case resp.ok() && writable:
		r.led.ackRegistration(st.name, logicalKey(text), out.Version, out.ID, out.Schema, true)
	case resp.ok():
		r.t.Errorf("register in %s succeeded while its mode is one of %s", st.name, setString(st.mode))
	case readOnlyRefusal(resp):
		if !st.mode["READONLY"] {
			r.t.Errorf("register in %s refused as read-only while its mode is one of %s: %s", st.name, setString(st.mode), resp)
		}
	default:
		r.t.Errorf("register in %s: %s", st.name, resp)
	}
	return true
}

// deleter cycles the del-* subjects through registrations (some re-registering a schema the
// subject held before), soft deletes and permanent deletes, and keeps an exact model of their
// rows.
func (r *round) deleter(ctx context.Context, rng *rand.Rand) {
	for n := 0; ctx.Err() == nil; n++ {
		d := r.led.dels[delSubjectNames[rng.IntN(len(delSubjectNames))]]
		var live, all []int
		for _, row := range d.rows {
			all = append(all, row.Version)
			if !row.Deleted {
				live = append(live, row.Version)
			}
		}
		switch {
		case len(live) >= 2 || len(live) == 1 && rng.IntN(3) == 0:
			if !r.deleteSubject(ctx, d, &delOp{kind: "soft"}, author, "", live) {
				return
			}
		case len(live) == 0 && len(all) > 0 && rng.IntN(2) == 0:
			if !r.deleteSubject(ctx, d, &delOp{kind: "permanent"}, admin, "?permanent=true", all) {
				return
			}
		default:
			text := ladderSchema(rng.IntN(ladderSize), fmt.Sprintf("%s%s_%d_%d", deletedSchemaPrefix, strings.TrimPrefix(d.name, "del-"), r.n, n))
			if len(d.history) > 0 && rng.IntN(3) == 0 {
				text = d.history[rng.IntN(len(d.history))]
			}
			if !r.registerDeletable(ctx, d, text) {
				return
			}
		}
	}
}

func (r *round) deleteSubject(ctx context.Context, d *delSubject, op *delOp, principal, query string, want []int) bool {
	resp, err := r.srv.do(ctx, http.MethodDelete, "/subjects/"+d.name+query, principal, nil)
	if err != nil {
		d.pending = op
		return false
	}
	var got []int
	if !resp.ok() || !resp.decode(r.t, "delete "+d.name, &got) {
		r.t.Errorf("%s delete of %s: %s", op.kind, d.name, resp)
		return true
	}
	if !slices.Equal(got, want) {
		r.t.Errorf("%s delete of %s deleted versions %v; want %v", op.kind, d.name, got, want)
	}
	r.led.acked.deletes.Add(1)
	d.rows = applyDelOp(d.rows, op, delRow{})
	return true
}

func (r *round) registerDeletable(ctx context.Context, d *delSubject, text string) bool {
	key := logicalKey(text)
	resp, out, err := r.register(ctx, d.name, text)
	if err != nil {
		d.pending = &delOp{kind: "register", key: key}
		return false
	}
	if !resp.ok() {
		r.t.Errorf("register %s in %s: %s", key, d.name, resp)
		return true
	}
	r.led.ackRegistration(d.name, key, out.Version, out.ID, out.Schema, false)
	next := applyDelOp(d.rows, &delOp{kind: "register", key: key}, delRow{Version: out.Version, ID: out.ID, Key: key})
	if len(next) == len(d.rows) {
		// The subject held the schema already: the answer is that version.
		for _, row := range d.rows {
			if !row.Deleted && row.Key == key && (row.Version != out.Version || row.ID != out.ID) {
				r.t.Errorf("register %s in %s again: answered version %d ID %d; it is version %d ID %d", key, d.name, out.Version, out.ID, row.Version, row.ID)
			}
		}
	} else if last := next[len(next)-1]; last.Version != nextVersion(d.rows) {
		r.t.Errorf("register %s in %s: answered version %d; the next version is %d", key, d.name, last.Version, nextVersion(d.rows))
	}
	d.rows = next
	if !slices.Contains(d.history, text) {
		d.history = append(d.history, text)
	}
	return true
}

// applyDelOp returns rows after op. For a registration, added is the row the registration
// creates when the subject does not hold the schema live already.
func applyDelOp(rows []delRow, op *delOp, added delRow) []delRow {
	out := slices.Clone(rows)
	switch op.kind {
	case "soft":
		for i := range out {
			out[i].Deleted = true
		}
	case "permanent":
		out = nil
	case "register":
		for _, row := range rows {
			if !row.Deleted && row.Key == op.key {
				return out
			}
		}
		out = append(out, added)
	}
	return out
}

// nextVersion is the version the next new schema gets: one more than the highest, soft-deleted
// versions included, or 1.
func nextVersion(rows []delRow) int {
	if len(rows) == 0 {
		return 1
	}
	return rows[len(rows)-1].Version + 1
}
