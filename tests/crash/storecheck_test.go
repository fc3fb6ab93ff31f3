package crash_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/tests/harness"
	"github.com/schemagate/schemagate/validate"
)

// checkStore checks the store after a crash, with no server running, against the ledger and
// against prev, the store after the previous crash (nil after the first), and brings the
// single-owner workers' models up to what was stored. It returns the store as read.
func checkStore(t *testing.T, set *setup, prev *storeState, led *ledger) *storeState {
	t.Helper()
	cli := offlineVerify(t, set)
	st := readStore(t, set)
	checkAuditChain(t, st, cli)
	checkAppendOnly(t, st, prev)
	checkRegistry(t, st, led)
	checkAuditReplay(t, st, led)
	checkGovernanceAcks(t, st, led)
	checkEvidence(t, st, led)
	checkDocument(t, set.docPath, st, led)
	reconcile(t, st, led)
	return st
}

// offlineVerify runs `schemagate audit verify` against the store while the server is down, as an
// operator would after a crash, and returns its output.
func offlineVerify(t *testing.T, set *setup) string {
	t.Helper()
	args := []string{"audit", "verify", "--hmac-key-file", set.keyFile, "--storage-url", set.storageURL}
	if path, ok := strings.CutPrefix(set.storageURL, "sqlite://"); ok {
		args = []string{"audit", "verify", "--hmac-key-file", set.keyFile, "--data-dir", filepath.Dir(path)}
	}
	stdout, stderr, code := harness.Run(t, nil, args...)
	if code != 0 {
		t.Errorf("schemagate %s: exit code %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout + stderr
}

// checkAuditChain: the chain verifies (offline CLI and in-process), its entries are numbered
// 1..n without a gap, and the head row records the last entry: no half-written append.
func checkAuditChain(t *testing.T, st *storeState, cli string) {
	t.Helper()
	n := int64(len(st.entries))
	wantHash := ""
	head := "(none: the log is empty)"
	if n > 0 {
		wantHash = st.entries[n-1].Hash
		head = fmt.Sprintf("entry #%d with hash %s", n, wantHash)
	}
	want := fmt.Sprintf("audit chain intact: %d entries verified\nhead: %s\n", n, head)
	if !strings.HasPrefix(cli, want) {
		t.Errorf("schemagate audit verify after the crash said %q; want it to start %q", cli, want)
	}
	if diff := cmp.Diff(governance.VerifyResult{OK: true, Checked: n, HeadSeq: n, HeadHash: wantHash}, st.verify); diff != "" {
		t.Errorf("audit verify after the crash (-want +got):\n%s", diff)
	}
	for i, e := range st.entries {
		if e.Seq != int64(i+1) {
			t.Errorf("audit entry %d is numbered %d: the sequence has a gap", i+1, e.Seq)
			break
		}
	}
	if st.headSeq != n || st.headHash != wantHash {
		t.Errorf("audit head records entry %d (%.12s); the log ends at entry %d (%.12s)", st.headSeq, st.headHash, n, wantHash)
	}
}

// checkAppendOnly: what was stored before the previous crash is unchanged. Audit entries keep
// their hashes, schema rows keep their content, the ID counter never goes back, and an ID that
// appeared since is above the counter as it was: no ID is ever handed out twice.
func checkAppendOnly(t *testing.T, st, prev *storeState) {
	t.Helper()
	if prev == nil {
		return
	}
	for i, e := range prev.entries {
		if i >= len(st.entries) || st.entries[i].Hash != e.Hash {
			t.Errorf("audit entry %d changed or vanished since the previous crash", e.Seq)
			break
		}
	}
	for id, row := range prev.schemas {
		if got, ok := st.schemas[id]; !ok || got != row {
			t.Errorf("schema ID %d held %q before the previous crash and now holds %q (present %v)", id, row.Canonical, got.Canonical, ok)
		}
	}
	if st.counter < prev.counter {
		t.Errorf("schema ID counter went back from %d to %d", prev.counter, st.counter)
	}
	for id := range st.schemas {
		if _, old := prev.schemas[id]; !old && id <= prev.counter {
			t.Errorf("schema ID %d is new since the previous crash but not above the counter %d then: an ID was reused", id, prev.counter)
		}
	}
}

// checkRegistry: every version references a stored schema, versions run 1..n in every subject,
// a schema without versions is one whose subject was deleted permanently, no two schemas share
// content, the counter covers every ID, every acknowledged registration is stored as answered,
// and every stored version is one a client registered.
func checkRegistry(t *testing.T, st *storeState, led *ledger) {
	t.Helper()
	type subjectID struct {
		subject string
		id      int
	}
	used := map[int]bool{}
	liveIDs := map[subjectID]int{} // → the version holding the schema
	for k, v := range st.versions {
		used[v.ID] = true
		if _, ok := st.schemas[v.ID]; !ok {
			t.Errorf("version %d of %s references schema ID %d, which is not stored: a version without its schema", k.version, k.subject, v.ID)
		}
		if v.Deleted {
			continue
		}
		id := subjectID{k.subject, v.ID}
		if other, dup := liveIDs[id]; dup {
			t.Errorf("%s holds schema ID %d twice, as versions %d and %d", k.subject, v.ID, other, k.version)
		}
		liveIDs[id] = k.version
	}
	for subject, versions := range st.subjectVersions() {
		for i, v := range versions {
			if v != i+1 {
				t.Errorf("versions of %s are %v: not 1..%d", subject, versions, len(versions))
				break
			}
		}
	}
	byText := map[string]int{}
	for id, s := range st.schemas {
		if other, dup := byText[s.Canonical]; dup {
			t.Errorf("schema IDs %d and %d hold the same schema %s", other, id, s.Canonical)
		}
		byText[s.Canonical] = id
		if id > st.counter {
			t.Errorf("schema ID %d is above the ID counter %d", id, st.counter)
		}
		if !used[id] && !inDeletedSubject(s.Canonical) {
			t.Errorf("schema ID %d (%s) has no version and was never in a deleted subject: an orphan schema", id, logicalKey(s.Canonical))
		}
	}
	for id, text := range led.idText {
		if got := st.schemas[id].Canonical; got != text {
			t.Errorf("schema ID %d was answered as %s and is stored as %q", id, text, got)
		}
	}
	for k, id := range led.versions {
		if got, ok := st.versions[k]; !ok || got != (versionRow{ID: id}) {
			t.Errorf("acknowledged version %d of %s (schema ID %d) is stored as %+v (present %v)", k.version, k.subject, id, got, ok)
		}
	}
	for k, v := range st.versions {
		if led.dels[k.subject] != nil || led.versions[k] == v.ID {
			continue
		}
		if key := logicalKey(st.schemas[v.ID].Canonical); !led.unanswered[k.subject][key] {
			t.Errorf("version %d of %s holds %s (ID %d), which no client registered there", k.version, k.subject, key, v.ID)
		}
	}
}

// replayed is the registry and governance state the audit log describes.
type replayed struct {
	versions   map[svKey]versionRow
	configs    map[string]string
	regModes   map[string]string
	valModes   map[string]string
	owners     map[string]string
	promotions map[string]promotionRow
}

// replayAudit replays the audit log. Registry writes and governance actions append their entry
// in their own transaction, so the log replayed must give exactly the stored state.
func replayAudit(t *testing.T, entries []governance.Entry) replayed {
	t.Helper()
	r := replayed{versions: map[svKey]versionRow{}, configs: map[string]string{}, regModes: map[string]string{},
		valModes: map[string]string{}, owners: map[string]string{}, promotions: map[string]promotionRow{}}
	for i, e := range entries {
		switch e.Action {
		case governance.ActionSchemaRegistered:
			k := svKey{e.Subject, atoi(e.Details["version"])}
			if _, dup := r.versions[k]; dup {
				t.Errorf("audit entry %d registers version %d of %s, which the log already holds", e.Seq, k.version, k.subject)
			}
			r.versions[k] = versionRow{ID: atoi(e.Details["schema_id"])}
		case governance.ActionSchemaDeleted:
			// A permanent subject delete also clears the subject's config and registry mode;
			// the test never sets those on the subjects it deletes.
			for _, v := range strings.Fields(strings.Trim(e.Details["versions"], "[]")) {
				k := svKey{e.Subject, atoi(v)}
				row, ok := r.versions[k]
				switch {
				case !ok:
					t.Errorf("audit entry %d deletes version %d of %s, which the log does not hold", e.Seq, k.version, k.subject)
				case e.Details["permanent"] == "true":
					delete(r.versions, k)
				default:
					row.Deleted = true
					r.versions[k] = row
				}
			}
		case governance.ActionConfigChanged:
			setOrDelete(r.configs, e.Subject, e.Details, "compatibility")
		case governance.ActionAccessModeChanged:
			setOrDelete(r.regModes, e.Subject, e.Details, "mode")
		case governance.ActionModePromoted, governance.ActionModeRolledBack, governance.ActionModeOverridden:
			r.valModes[e.Subject] = e.ToMode
		case governance.ActionOwnerSet:
			r.owners[e.Subject] = e.Details["team"]
		case governance.ActionPromotionRequested:
			r.promotions[e.PromotionID] = promotionRow{Subject: e.Subject, State: governance.StatePending}
		case governance.ActionPromotionApproved, governance.ActionPromotionRejected:
			if p := r.promotions[e.PromotionID]; p.State != governance.StatePending {
				t.Errorf("audit entry %d decides promotion %s, which is %q in the log", e.Seq, e.PromotionID, p.State)
			}
			state := governance.StateRejected
			if e.Action == governance.ActionPromotionApproved {
				state = governance.StateApproved
				// The approval and the promotion commit in one transaction, one entry after
				// the other.
				if i+1 >= len(entries) || entries[i+1].Action != governance.ActionModePromoted || entries[i+1].PromotionID != e.PromotionID {
					t.Errorf("audit entry %d approves promotion %s but the next entry does not promote it: half an approval", e.Seq, e.PromotionID)
				}
			}
			r.promotions[e.PromotionID] = promotionRow{Subject: e.Subject, State: state}
		default:
			t.Errorf("audit entry %d has action %q, which the test never takes", e.Seq, e.Action)
		}
	}
	return r
}

func setOrDelete(m map[string]string, subject string, details map[string]string, key string) {
	if v, ok := details[key]; ok {
		m[subject] = v
	} else {
		delete(m, subject)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// checkAuditReplay: every acknowledged registration has its schema.registered entry, every
// schema.registered entry names a version that exists (unless its subject was deleted
// permanently since), and the whole log replayed gives exactly the stored registry versions,
// compatibility levels, registry modes, validation modes, owners and promotions: no write
// committed without its audit entry, and no entry without its write.
func checkAuditReplay(t *testing.T, st *storeState, led *ledger) {
	t.Helper()
	registered := map[svKey][]int{} // (subject, version) → schema IDs of its entries
	lastPermanent := map[string]int64{}
	for _, e := range st.entries {
		switch {
		case e.Action == governance.ActionSchemaRegistered:
			k := svKey{e.Subject, atoi(e.Details["version"])}
			registered[k] = append(registered[k], atoi(e.Details["schema_id"]))
		case e.Action == governance.ActionSchemaDeleted && e.Details["permanent"] == "true":
			lastPermanent[e.Subject] = e.Seq
		}
	}
	for k, id := range led.versions {
		if !slices.Contains(registered[k], id) {
			t.Errorf("acknowledged version %d of %s (schema ID %d) has no schema.registered audit entry", k.version, k.subject, id)
		}
	}
	for _, e := range st.entries {
		if e.Action != governance.ActionSchemaRegistered || e.Seq < lastPermanent[e.Subject] {
			continue
		}
		k := svKey{e.Subject, atoi(e.Details["version"])}
		if got, ok := st.versions[k]; !ok || got.ID != atoi(e.Details["schema_id"]) {
			t.Errorf("audit entry %d registers version %d of %s with schema ID %s, which is not stored (stored: %+v, present %v)",
				e.Seq, k.version, k.subject, e.Details["schema_id"], got, ok)
		}
	}

	r := replayAudit(t, st.entries)
	for _, c := range []struct {
		what      string
		want, got any
	}{
		{"subject versions", r.versions, st.versions},
		{"compatibility levels", r.configs, st.configs},
		{"registry modes", r.regModes, st.regModes},
		{"validation modes", r.valModes, st.valModes},
		{"subject owners", r.owners, st.owners},
		{"promotions", r.promotions, st.promotions},
	} {
		if diff := cmp.Diff(c.want, c.got, cmp.AllowUnexported(svKey{})); diff != "" {
			t.Errorf("%s: the audit log replayed (-) differs from the store (+):\n%s", c.what, diff)
		}
	}
}

// checkGovernanceAcks: every acknowledged governance action is in the audit log at the entry
// its answer named, made by its principal; an approved promotion is followed by its
// mode.promoted entry; a requested promotion is logged and stored.
func checkGovernanceAcks(t *testing.T, st *storeState, led *ledger) {
	t.Helper()
	requested := map[string]bool{}
	for _, e := range st.entries {
		if e.Action == governance.ActionPromotionRequested {
			requested[e.PromotionID] = true
		}
	}
	for _, a := range led.gov {
		if a.action == governance.ActionPromotionRequested {
			if !requested[a.promotion] {
				t.Errorf("acknowledged promotion request %s on %s has no audit entry", a.promotion, a.subject)
			}
			if _, ok := st.promotions[a.promotion]; !ok {
				t.Errorf("acknowledged promotion request %s on %s is not stored", a.promotion, a.subject)
			}
			continue
		}
		if a.seq < 1 || a.seq > int64(len(st.entries)) {
			t.Errorf("acknowledged %s on %s named audit entry %d; the log has %d entries", a.action, a.subject, a.seq, len(st.entries))
			continue
		}
		e := st.entries[a.seq-1]
		got := govAck{action: e.Action, subject: e.Subject, actor: e.Actor, seq: e.Seq, promotion: a.promotion}
		if a.promotion != "" {
			got.promotion = e.PromotionID
		}
		if diff := cmp.Diff(a, got, cmp.AllowUnexported(govAck{})); diff != "" {
			t.Errorf("acknowledged governance action vs audit entry %d (-acknowledged +logged):\n%s", a.seq, diff)
		}
		if a.action == governance.ActionPromotionApproved {
			if a.seq >= int64(len(st.entries)) || st.entries[a.seq].Action != governance.ActionModePromoted {
				t.Errorf("acknowledged approval of %s (audit entry %d) is not followed by its mode.promoted entry", a.promotion, a.seq)
			}
		}
	}
}

// checkEvidence: counts are never negative; per subject and replica, in bucket order, stored
// findings never run ahead of stored violations, nor violations ahead of validations (a flush
// never stores a finding or violation without its validation); only the drift kind the
// invalid payloads produce is counted; every bucket with counts has its replica's heartbeat;
// a replica never stored more validations (or violations) than were sent to it; drift samples
// are the one finding the payloads carry.
func checkEvidence(t *testing.T, st *storeState, led *ledger) {
	t.Helper()
	typeMismatch := slices.Index(kindColumns, validate.KindTypeMismatch.String())
	type sk struct{ subject, replica string }
	sums := map[sk]*evidenceRow{}
	for _, r := range st.evidence {
		if r.Validations < 0 || r.Violations < 0 || slices.Min(r.Findings) < 0 {
			t.Errorf("negative evidence count: %+v", r)
		}
		for i, n := range r.Findings {
			if i != typeMismatch && n != 0 {
				t.Errorf("evidence of %s in bucket %d counts %d %s findings; the payloads only ever have type mismatches", r.Subject, r.Bucket, n, kindColumns[i])
			}
		}
		sum := sums[sk{r.Subject, r.Replica}]
		if sum == nil {
			sum = &evidenceRow{Subject: r.Subject, Replica: r.Replica, Findings: make([]int64, len(kindColumns))}
			sums[sk{r.Subject, r.Replica}] = sum
		}
		sum.Validations += r.Validations
		sum.Violations += r.Violations
		sum.Findings[typeMismatch] += r.Findings[typeMismatch]
		if sum.Findings[typeMismatch] > sum.Violations || sum.Violations > sum.Validations {
			t.Errorf("evidence of %s from %s up to bucket %d: %d findings, %d violations, %d validations: a finding or violation stored without its validation",
				r.Subject, r.Replica, r.Bucket, sum.Findings[typeMismatch], sum.Violations, sum.Validations)
		}
		seen, ok := st.heartbeats[beatKey{r.Bucket, r.Replica}]
		if !ok {
			t.Errorf("evidence of %s in bucket %d from %s has no heartbeat of that replica in that bucket", r.Subject, r.Bucket, r.Replica)
		} else if seen < r.Bucket || seen >= r.Bucket+1 {
			t.Errorf("heartbeat of %s in bucket %d was last seen at %d, outside the bucket", r.Replica, r.Bucket, seen)
		}
	}
	for k, sum := range sums {
		c := led.validations[k.replica][k.subject]
		if c == nil {
			t.Errorf("evidence of %s from %s, which was sent no validation of it", k.subject, k.replica)
			continue
		}
		if sum.Validations > c.sentValid+c.sentInvalid || sum.Violations > c.sentInvalid || sum.Validations-sum.Violations > c.sentValid {
			t.Errorf("%s stored %d validations (%d violations) of %s; it was sent %d valid and %d invalid payloads (%d and %d acknowledged)",
				k.replica, sum.Validations, sum.Violations, k.subject, c.sentValid, c.sentInvalid, c.ackedValid, c.ackedInvalid)
		}
	}
	sentInvalid := map[string]int64{}
	for _, byReplica := range led.validations {
		for subject, c := range byReplica {
			sentInvalid[subject] += c.sentInvalid
		}
	}
	for _, s := range st.samples {
		if s.Kind != validate.KindTypeMismatch.String() || s.Path != "/id" || s.Occurrences < 1 || s.Occurrences > sentInvalid[s.Subject] || s.FirstSeen > s.LastSeen {
			t.Errorf("drift sample %+v: want type_mismatch at /id, seen 1..%d times, first before last", s, sentInvalid[s.Subject])
		}
	}
}

// checkDocument: the governance document, rewritten after every promotion request, decision,
// rollback and override before the action is answered, is a whole rendering of the audit log up
// to the entry it names, never a torn write, and that entry is not older than the last such
// action acknowledged.
func checkDocument(t *testing.T, docPath string, st *storeState, led *ledger) {
	t.Helper()
	var last int64 // the last audit entry of an acknowledged action that rewrites the document
	requests := map[string]int64{}
	for _, e := range st.entries {
		if e.Action == governance.ActionPromotionRequested {
			requests[e.PromotionID] = e.Seq
		}
	}
	for _, a := range led.gov {
		switch a.action {
		case governance.ActionPromotionRequested:
			last = max(last, requests[a.promotion])
		case governance.ActionPromotionApproved:
			last = max(last, a.seq+1) // and its mode.promoted entry
		case governance.ActionPromotionRejected, governance.ActionModeRolledBack, governance.ActionModeOverridden:
			last = max(last, a.seq)
		}
	}
	doc, err := os.ReadFile(docPath)
	if errors.Is(err, fs.ErrNotExist) {
		if last > 0 {
			t.Errorf("governance document %s is missing; acknowledged governance actions reach audit entry %d", docPath, last)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	head := regexp.MustCompile(`It reflects the log up to its head, entry #(\d+) with hash`).FindSubmatch(doc)
	generated := regexp.MustCompile(`Generated at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\.`).FindSubmatch(doc)
	if head == nil || generated == nil {
		t.Errorf("governance document names no head entry or generation time:\n%s", doc)
		return
	}
	n, gen := atoi(string(head[1])), string(generated[1])
	at, err := time.Parse(time.DateTime, gen)
	if err != nil || n < 1 || n > len(st.entries) {
		t.Errorf("governance document names entry %d of %d, generated %q (%v)", n, len(st.entries), gen, err)
		return
	}
	want := governance.RenderDocument(st.entries[:n], governance.DocumentOptions{Generated: at})
	if diff := cmp.Diff(string(want), string(doc)); diff != "" {
		t.Errorf("governance document is not the rendering of audit entries 1..%d (-want +got):\n%s", n, diff)
	}
	if int64(n) < last {
		t.Errorf("governance document reflects the audit log up to entry %d; an acknowledged governance action wrote entry %d: a stale rendering replaced a newer one", n, last)
	}
}

// reconcile checks the single-owner subjects against what their workers were told, and takes
// the stored state as the workers' starting point for the next round: a gov-* subject's mode
// and owner, the config subject's level and registry mode, and a del-* subject's rows are the
// last acknowledged ones or those of the request that got no answer.
func reconcile(t *testing.T, st *storeState, led *ledger) {
	t.Helper()
	for _, g := range led.govSubjects {
		if mode := st.validationMode(g.name); !g.modes[mode] {
			t.Errorf("%s is %s after the crash; acknowledged actions leave it one of %s", g.name, mode, setString(g.modes))
		}
		if team := st.owners[g.name]; !g.teams[team] {
			t.Errorf("%s is owned by %q after the crash; acknowledged actions leave it one of %s", g.name, team, setString(g.teams))
		}
		g.modes, g.teams = only(st.validationMode(g.name)), only(st.owners[g.name])
	}
	c := led.cfg
	if level := st.configs[c.name]; !c.compat[level] {
		t.Errorf("%s has compatibility %q after the crash; acknowledged changes leave it one of %s", c.name, level, setString(c.compat))
	}
	if mode := st.regModes[c.name]; !c.mode[mode] {
		t.Errorf("%s has registry mode %q after the crash; acknowledged changes leave it one of %s", c.name, mode, setString(c.mode))
	}
	c.compat, c.mode = only(st.configs[c.name]), only(st.regModes[c.name])

	for _, d := range led.dels {
		var stored []delRow
		for _, v := range st.subjectVersions()[d.name] {
			row := st.versions[svKey{d.name, v}]
			stored = append(stored, delRow{Version: v, ID: row.ID, Key: logicalKey(st.schemas[row.ID].Canonical), Deleted: row.Deleted})
		}
		diff := cmp.Diff(d.rows, stored)
		if diff != "" && d.pending != nil {
			var added delRow
			if len(stored) > 0 {
				added = delRow{Version: nextVersion(d.rows), ID: stored[len(stored)-1].ID, Key: d.pending.key}
			}
			diff = cmp.Diff(applyDelOp(d.rows, d.pending, added), stored)
		}
		if diff != "" {
			t.Errorf("%s after the crash is neither as acknowledged nor as the unanswered %s would leave it (-want +got):\n%s", d.name, d.pending, diff)
		}
		d.rows, d.pending = stored, nil
	}
}
