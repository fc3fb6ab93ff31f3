package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/schemagate/schemagate/registry/compatbudget"
	"github.com/schemagate/schemagate/store/storetest"
)

// testBudget is the compatibility budget of the hostile tests: small enough that each test
// ends in a fraction of a second, large enough that the schemas below exceed it only because
// of their size.
const testBudget = 200_000

// newBudgetRegistry opens a registry on a real database with the given budget and the
// combinator caps lifted to 5000, so that the checkers' own budget is what stops the work.
func newBudgetRegistry(t testing.TB, budget int64) *Registry {
	t.Helper()
	r, err := New(storetest.Open(t), Options{Registerer: prometheus.NewRegistry(),
		CompatibilityBudget: budget, MaxUnionBranches: 5000, MaxCombinatorItems: 5000})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// hostileUnion is an Avro union of n one-field records; version v adds an optional field to
// each, so that every version is a different, compatible schema.
func hostileUnion(n, v int) string {
	branches := make([]string, n)
	for i := range branches {
		extra := ""
		for k := 2; k <= v; k++ {
			extra += fmt.Sprintf(`,{"name":"g%d","type":"int","default":0}`, k)
		}
		branches[i] = fmt.Sprintf(`{"type":"record","name":"R%d","fields":[{"name":"f","type":"int"}%s]}`, i, extra)
	}
	return "[" + strings.Join(branches, ",") + "]"
}

// manyRecords is a record of n fields, each a one-field record; reversed lists the fields in
// the opposite order, so that matching fields by name walks the writer's list.
func manyRecords(n int, reversed bool) string {
	fields := make([]string, n)
	for i := range fields {
		j := i
		if reversed {
			j = n - 1 - i
		}
		fields[i] = fmt.Sprintf(`{"name":"f%d","type":{"type":"record","name":"R%d","fields":[{"name":"x","type":"int"}]}}`, j, j)
	}
	return `{"type":"record","name":"Top","fields":[` + strings.Join(fields, ",") + `]}`
}

// jsonAnyOf is a JSON Schema anyOf of n object schemas, each with its own required property.
func jsonAnyOf(n int, extra string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"type":"object","properties":{"p%d":{"type":"string"%s}},"required":["p%d"]}`, i, extra, i)
	}
	return `{"anyOf":[` + strings.Join(items, ",") + `]}`
}

// TestHostileSchemasExceedTheCompatibilityBudget registers each hostile schema's first
// versions under NONE, then checks the next one under FULL_TRANSITIVE: the check ends with the
// budget-exceeded incompatibility, having spent exactly the budget.
func TestHostileSchemasExceedTheCompatibilityBudget(t *testing.T) {
	tests := []struct {
		name     string
		typ      SchemaType
		versions []string // registered under NONE
		next     string   // checked under FULL_TRANSITIVE
	}{
		{"1000-branch Avro union, several versions", SchemaTypeAvro,
			[]string{hostileUnion(1000, 1), hostileUnion(1000, 2), hostileUnion(1000, 3)}, hostileUnion(1000, 4)},
		{"4000 one-field records", SchemaTypeAvro, []string{manyRecords(4000, false)}, manyRecords(4000, true)},
		{"JSON anyOf of 3000 objects", SchemaTypeJSON, []string{jsonAnyOf(3000, "")}, jsonAnyOf(3000, `,"maxLength":9`)},
		{"1 MB candidate", SchemaTypeAvro, []string{manyRecords(100, false)}, manyRecords(11_000, true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newBudgetRegistry(t, testBudget)
			ctx := t.Context()
			if _, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatNone}); err != nil {
				t.Fatal(err)
			}
			for _, text := range tc.versions {
				mustRegister(t, r, "s", SchemaInput{Type: tc.typ, Text: text})
			}
			if _, err := r.SetConfig(ctx, "s", Config{Compatibility: CompatFullTransitive}); err != nil {
				t.Fatal(err)
			}
			before := testutil.ToFloat64(r.metrics.checkUnits)
			msgs, err := r.CheckCompatibility(ctx, "s", 0, SchemaInput{Type: tc.typ, Text: tc.next})
			if err != nil {
				t.Fatalf("CheckCompatibility: %v", err)
			}
			if got := testutil.ToFloat64(r.metrics.checkUnits) - before; got != testBudget {
				t.Errorf("work units spent = %v, want the budget %d", got, testBudget)
			}
			joined := strings.Join(msgs, ", ")
			for _, want := range []string{"COMPATIBILITY_BUDGET_EXCEEDED", "too complex to prove compatible",
				fmt.Sprintf("%d work units", testBudget), compatbudget.ConfigKey} {
				if !strings.Contains(joined, want) {
					t.Errorf("messages lack %q: %.300s", want, joined)
				}
			}
			_, err = r.Register(ctx, "s", SchemaInput{Type: tc.typ, Text: tc.next})
			if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), compatbudget.ConfigKey) {
				t.Errorf("Register = %.300v, want ErrIncompatible naming %s", err, compatbudget.ConfigKey)
			}
			if got := testutil.ToFloat64(r.metrics.budgetExceeded); got != 2 {
				t.Errorf("budget exceeded %v times, want 2 (the check and the registration)", got)
			}
		})
	}
}

// TestCancelledContextStopsACheck: a check whose caller went away stops with the context's
// error, in the registry and in both checkers.
func TestCancelledContextStopsACheck(t *testing.T) {
	r := newBudgetRegistry(t, compatbudget.DefaultUnits)
	if _, err := r.SetConfig(t.Context(), "s", Config{Compatibility: CompatNone}); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, r, "s", avroIn(hostileUnion(300, 1)))
	rows, err := r.q.subjectVersions(t.Context(), r.db.SQL(), "s")
	if err != nil {
		t.Fatal(err)
	}
	candidate, err := parse(context.Background(), SchemaTypeAvro, hostileUnion(300, 2), nil, testLimits, false)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.checkAgainst(cancelled, r.db.SQL(), CompatFull, rows, candidate); !errors.Is(err, context.Canceled) {
		t.Errorf("checkAgainst with a cancelled context = %v, want context.Canceled", err)
	}
	old, err := r.parsedByID(t.Context(), r.db.SQL(), rows[0].schemaID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compatMessages(compatbudget.New(cancelled, 0), CompatFull, candidate, old, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Avro check with a cancelled context = %v, want context.Canceled", err)
	}
	jr, err := parse(context.Background(), SchemaTypeJSON, jsonAnyOf(300, ""), nil, testLimits, false)
	if err != nil {
		t.Fatal(err)
	}
	jw, err := parse(context.Background(), SchemaTypeJSON, jsonAnyOf(300, `,"maxLength":9`), nil, testLimits, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compatMessages(compatbudget.New(cancelled, 0), CompatFull, jw, jr, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("JSON check with a cancelled context = %v, want context.Canceled", err)
	}
}

// gateCtx is a context that, the first time its Err is asked, reports on entered and then
// waits for release: the check of a registration asks it between versions and inside the
// checkers, so the registration stays parked inside its compatibility check.
type gateCtx struct {
	context.Context
	once             sync.Once
	entered, release chan struct{}
}

func (c *gateCtx) Err() error {
	c.once.Do(func() {
		close(c.entered)
		<-c.release
	})
	return c.Context.Err()
}

// TestSlowCheckDoesNotHoldTheWriteLock: while one registration is parked in its compatibility
// check, a registration of another subject completes; the parked one then ends with the
// budget-exceeded incompatibility.
func TestSlowCheckDoesNotHoldTheWriteLock(t *testing.T) {
	r := newBudgetRegistry(t, testBudget)
	ctx := t.Context()
	if _, err := r.SetConfig(ctx, "slow", Config{Compatibility: CompatNone}); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, r, "slow", avroIn(hostileUnion(1000, 1)))
	mustRegister(t, r, "slow", avroIn(hostileUnion(1000, 2)))
	if _, err := r.SetConfig(ctx, "slow", Config{Compatibility: CompatFullTransitive}); err != nil {
		t.Fatal(err)
	}
	gate := &gateCtx{Context: ctx, entered: make(chan struct{}), release: make(chan struct{})}
	slowDone := make(chan error, 1)
	go func() {
		_, err := r.Register(gate, "slow", avroIn(hostileUnion(1000, 3)))
		slowDone <- err
	}()
	<-gate.entered
	if _, err := r.Register(ctx, "other", avroIn(`"string"`)); err != nil {
		t.Fatalf("registration of another subject during a slow check: %v", err)
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the slow registration ended before it was released: %v", err)
	default:
	}
	close(gate.release)
	if err := <-slowDone; !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "COMPATIBILITY_BUDGET_EXCEEDED") {
		t.Errorf("slow registration = %.300v, want the budget-exceeded incompatibility", err)
	}
}

// TestRegistrationRechecksWhenVersionsChange: a version registered between the check and the
// write transaction is checked too (the transaction sees the change and checks again).
func TestRegistrationRechecksWhenVersionsChange(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := t.Context()
	mustRegister(t, r, "s", avroIn(levelV1))
	pre, err := r.precheck(ctx, "s", Schema{Type: SchemaTypeAvro, Text: levelV2}, 0, mustParsed(t, levelV2))
	if err != nil || !pre.passed {
		t.Fatalf("precheck = %+v, %v; want passed", pre, err)
	}
	mustRegister(t, r, "s", avroIn(`{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}`))
	rows, err := r.q.subjectVersions(ctx, r.db.SQL(), "s")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := r.effectiveConfig(ctx, r.db.SQL(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.recheck(ctx, r.db.SQL(), "s", cfg, rows, pre, false, mustParsed(t, levelV2)); !errors.Is(err, errVersionsChanged) {
		t.Errorf("recheck after a new version = %v, want errVersionsChanged", err)
	}
	if err := r.recheck(ctx, r.db.SQL(), "s", cfg, rows, pre, true, mustParsed(t, levelV2)); err != nil {
		t.Errorf("last recheck = %v, want the check redone and passed", err)
	}
	if err := r.recheck(ctx, r.db.SQL(), "s", cfg, pre.rows, pre, false, mustParsed(t, levelV2)); err != nil {
		t.Errorf("recheck on unchanged versions = %v, want nil", err)
	}
}

func mustParsed(t *testing.T, avroText string) *parsedSchema {
	t.Helper()
	p, err := parse(context.Background(), SchemaTypeAvro, avroText, nil, testLimits, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCombinatorCapsRefuseLargeSchemas: unions and allOf/anyOf/oneOf over the configured
// sizes are invalid schemas, with the location and the limit in the message.
func TestCombinatorCapsRefuseLargeSchemas(t *testing.T) {
	r, err := New(storetest.Open(t), Options{MaxUnionBranches: 10, MaxCombinatorItems: 10})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   SchemaInput
		want string // "" = accepted
	}{
		{"union at the cap", avroIn(hostileUnion(10, 1)), ""},
		{"union over the cap", avroIn(hostileUnion(11, 1)), "the union at / has 11 branches, the limit is 10 (schema_registry.max_union_branches)"},
		{"nested union over the cap", avroIn(`{"type":"record","name":"T","fields":[{"name":"u","type":` + hostileUnion(11, 1) + `}]}`),
			"the union at /fields/0/type has 11 branches"},
		{"enum symbols are no union", avroIn(`{"type":"enum","name":"E","symbols":["a","b","c","d","e","f","g","h","i","j","k","l"]}`), ""},
		{"anyOf at the cap", jsonIn(jsonAnyOf(10, "")), ""},
		{"anyOf over the cap", jsonIn(jsonAnyOf(11, "")), "/anyOf lists 11 subschemas, the limit is 10 (schema_registry.max_json_schema_combinator_items)"},
		{"nested oneOf over the cap", jsonIn(`{"properties":{"x":{"oneOf":[` + strings.TrimSuffix(strings.Repeat(`true,`, 11), ",") + `]}}}`),
			"/properties/x/oneOf lists 11 subschemas"},
		{"enum values are data", jsonIn(`{"enum":[{"anyOf":[1,2,3,4,5,6,7,8,9,10,11,12]}]}`), ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Register(t.Context(), fmt.Sprintf("s%d", i), tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Register = %v, want accepted", err)
			case tc.want != "" && (!errors.Is(err, ErrInvalidSchema) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Register = %v, want ErrInvalidSchema with %q", err, tc.want)
			}
		})
	}
}
