package crash_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/schemagate/schemagate/governance"
)

// Schemas. Value subjects (val-*, gov-*) hold valueSchema, which the validators send payloads
// for. Registration subjects hold ladder schemas: record R with a string id, one optional int
// field f<i> and, for schemas that must be unique, one more optional field named after the
// client that made it. Any two ladder schemas are compatible under every compatibility level
// (each adds and drops only fields with defaults), so every registration can succeed, and the
// same ladder rung registered in different subjects shares one schema ID.
const (
	valueSchema = `{"type":"record","name":"V","fields":[{"name":"id","type":"string"}]}`
	ladderSize  = 24
)

func ladderSchema(rung int, extra string) string {
	s := fmt.Sprintf(`{"type":"record","name":"R","fields":[{"name":"id","type":"string","default":""},{"name":"f%d","type":["null","int"],"default":null}`, rung)
	if extra != "" {
		s += fmt.Sprintf(`,{"name":"%s","type":["null","string"],"default":null}`, extra)
	}
	return s + "]}"
}

// logicalKey names a schema by its record name and field names, which is what tells the test's
// schemas apart; it reads the text a client sends and the canonical text the server answers
// alike.
func logicalKey(text string) string {
	var s struct {
		Name   string
		Fields []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return "unparsable: " + text
	}
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	slices.Sort(names)
	return s.Name + ":" + strings.Join(names, ",")
}

// deletedSchemaPrefix starts the extra field of the delete worker's schemas: only their
// schemas may lose every version (a permanent delete keeps the schema row, so its ID is never
// reused).
const deletedSchemaPrefix = "del_"

// inDeletedSubject reports whether a schema is one of the delete worker's.
func inDeletedSubject(text string) bool {
	_, fields, _ := strings.Cut(logicalKey(text), ":")
	for _, f := range strings.Split(fields, ",") {
		if strings.HasPrefix(f, deletedSchemaPrefix) {
			return true
		}
	}
	return false
}

type svKey struct {
	subject string
	version int
}

type subjectKey struct {
	subject, key string
}

// ledger is what clients were told: every acknowledged write, and what was sent without an
// answer. Workers add to it concurrently (under mu); the checks read it between rounds, when
// no worker runs.
type ledger struct {
	t  *testing.T
	mu sync.Mutex

	// versions holds the acknowledged versions of subjects that are never deleted:
	// (subject, version) → schema ID.
	versions map[svKey]int
	// keyVersion is the version a subject that is never deleted answered for a schema.
	keyVersion map[subjectKey]int
	// idText and keyID hold, over every subject and round, the canonical text answered for
	// each ID and the ID answered for each schema.
	idText map[int]string
	keyID  map[string]int
	// unanswered holds, per subject, the schemas whose registration got no answer (the server
	// was killed): they may or may not be stored.
	unanswered map[string]map[string]bool

	// validations counts validations per replica (one per round) and subject.
	validations map[string]map[string]*validationCount

	// gov lists the acknowledged governance actions.
	gov []govAck
	// The state each single-owner worker keeps across rounds; only its worker touches it
	// during a round.
	govSubjects map[string]*govSubject
	cfg         *cfgSubject
	dels        map[string]*delSubject

	acked ackCounts // this round's acknowledged requests
	// roundUnanswered lists this round's registrations (into subjects that are never deleted)
	// that got no answer, for the round's log line.
	roundUnanswered []subjectKey
}

// ackCounts counts acknowledged requests per kind, for the round's log line.
type ackCounts struct {
	registrations, validations, governance, deletes, config atomic.Int64
}

type validationCount struct {
	sentValid, sentInvalid, ackedValid, ackedInvalid int64
}

// govAck is an acknowledged governance action.
type govAck struct {
	action    governance.Action // the audit action of the entry the answer named
	subject   string
	actor     string
	seq       int64  // the audit entry the answer named; 0 when it names none (requests)
	promotion string // the promotion acted on
}

// govSubject is a subject of one governance worker: the modes and owners it may be in, that is
// the last acknowledged one and every one an unanswered request could have set since.
type govSubject struct {
	name  string
	modes map[string]bool // "canary", "strict"
	teams map[string]bool // "" for no owner
}

// cfgSubject is the config worker's subject: its possible compatibility levels and registry
// modes ("" when the subject has none of its own).
type cfgSubject struct {
	name   string
	compat map[string]bool
	mode   map[string]bool
}

// delSubject is a subject of the delete worker, modelled exactly: its version rows as they
// must be after the acknowledged operations, and the one operation sent without an answer.
type delSubject struct {
	name    string
	rows    []delRow
	history []string // schema texts acknowledged in the subject, for re-registration
	pending *delOp
}

type delRow struct {
	Version int
	ID      int
	Key     string
	Deleted bool
}

type delOp struct {
	kind string // "register", "soft", "permanent"
	key  string // register: the schema's logical key
}

func (op *delOp) String() string {
	if op == nil {
		return "(no request)"
	}
	if op.kind == "register" {
		return "registration of " + op.key
	}
	return op.kind + " delete"
}

func newLedger(t *testing.T) *ledger {
	l := &ledger{
		t:           t,
		versions:    map[svKey]int{},
		keyVersion:  map[subjectKey]int{},
		idText:      map[int]string{},
		keyID:       map[string]int{},
		unanswered:  map[string]map[string]bool{},
		validations: map[string]map[string]*validationCount{},
		govSubjects: map[string]*govSubject{},
		dels:        map[string]*delSubject{},
		cfg:         &cfgSubject{name: "cfg-0", compat: map[string]bool{"": true}, mode: map[string]bool{"": true}},
	}
	for _, s := range govSubjectNames {
		l.govSubjects[s] = &govSubject{name: s, modes: map[string]bool{"canary": true}, teams: map[string]bool{"": true}}
	}
	for _, s := range delSubjectNames {
		l.dels[s] = &delSubject{name: s}
	}
	return l
}

// The subjects of the single-owner workers (fixed tables, never modified).
var (
	govSubjectNames = []string{"gov-0", "gov-1"}
	valSubjectNames = []string{"val-0", "val-1"}
	delSubjectNames = []string{"del-0", "del-1"}
)

// ackRegistration records an acknowledged registration and checks it against every earlier
// answer: one ID per schema, one schema per ID, and (in a subject that is never deleted) one
// version per schema and one schema per version. fixed is false for the delete worker's
// subjects, whose versions are modelled by the worker.
func (l *ledger) ackRegistration(subject, key string, version, id int, canonical string, fixed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked.registrations.Add(1)
	if got := logicalKey(canonical); got != key {
		l.t.Errorf("register %s in %s: answered schema %d holds %s", key, subject, id, got)
	}
	if prev, ok := l.idText[id]; ok && prev != canonical {
		l.t.Errorf("schema ID %d names two schemas: %s and %s", id, prev, canonical)
	}
	if prev, ok := l.keyID[key]; ok && prev != id {
		l.t.Errorf("schema %s has two IDs: %d and %d", key, prev, id)
	}
	l.idText[id], l.keyID[key] = canonical, id
	if !fixed {
		return
	}
	if prev, ok := l.versions[svKey{subject, version}]; ok && prev != id {
		l.t.Errorf("version %d of %s was answered with schema ID %d and with schema ID %d", version, subject, prev, id)
	}
	if prev, ok := l.keyVersion[subjectKey{subject, key}]; ok && prev != version {
		l.t.Errorf("schema %s registered again in %s got version %d, not its version %d", key, subject, version, prev)
	}
	l.versions[svKey{subject, version}] = id
	l.keyVersion[subjectKey{subject, key}] = version
}

// unansweredRegistration records a registration that got no answer.
func (l *ledger) unansweredRegistration(subject, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unanswered[subject] == nil {
		l.unanswered[subject] = map[string]bool{}
	}
	l.unanswered[subject][key] = true
	l.roundUnanswered = append(l.roundUnanswered, subjectKey{subject, key})
}

// newRound resets the per-round figures.
func (l *ledger) newRound() {
	l.acked = ackCounts{}
	l.roundUnanswered = nil
}

// unansweredStored counts this round's unanswered registrations into subjects that are never
// deleted, and those of them the store holds (committed, but the answer never left the
// process) as far as the test can tell: the subject holds the schema and never answered it.
func (l *ledger) unansweredStored(st *storeState) (sent, stored int) {
	held := map[subjectKey]bool{}
	for k, v := range st.versions {
		held[subjectKey{k.subject, logicalKey(st.schemas[v.ID].Canonical)}] = true
	}
	for _, u := range l.roundUnanswered {
		if l.dels[u.subject] != nil {
			continue
		}
		sent++
		if _, answered := l.keyVersion[u]; held[u] && !answered {
			stored++
		}
	}
	return sent, stored
}

// validationCounts returns the counters of replica and subject.
func (l *ledger) validationCounts(replica, subject string) *validationCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.validations[replica] == nil {
		l.validations[replica] = map[string]*validationCount{}
	}
	c := l.validations[replica][subject]
	if c == nil {
		c = &validationCount{}
		l.validations[replica][subject] = c
	}
	return c
}

// countValidation counts one validation in c: a worker calls it with acked false when it sends
// the payload and again with acked true when the answer comes.
func (l *ledger) countValidation(c *validationCount, valid, acked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case valid && !acked:
		c.sentValid++
	case !valid && !acked:
		c.sentInvalid++
	case valid:
		c.ackedValid++
	default:
		c.ackedInvalid++
	}
	if acked {
		l.acked.validations.Add(1)
	}
}

func (l *ledger) ackGovernance(a govAck) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gov = append(l.gov, a)
	l.acked.governance.Add(1)
}

// only returns the set {v}.
func only(v string) map[string]bool { return map[string]bool{v: true} }

func setString(m map[string]bool) string {
	return fmt.Sprintf("%q", slices.Sorted(maps.Keys(m)))
}
