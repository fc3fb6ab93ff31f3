package upstream

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store/storetest"
	"github.com/schemagate/schemagate/tests/harness"
)

// registryAPI is the method set the gateway, the validation engine and governance use of a
// registry (gateway/confluent.Registry, validate.Source, governance.Registry, and the gateway's
// own calls), copied here since this package cannot import them.
type registryAPI interface {
	Register(ctx context.Context, subject string, in registry.SchemaInput) (registry.SubjectVersion, error)
	LookupSchema(ctx context.Context, subject string, in registry.SchemaInput, deleted bool) (registry.SubjectVersion, error)
	CheckCompatibility(ctx context.Context, subject string, version int, in registry.SchemaInput) ([]string, error)
	SchemaByID(ctx context.Context, id int) (registry.Schema, error)
	ResolvedSchemaText(ctx context.Context, id int) (string, error)
	SubjectVersion(ctx context.Context, subject string, version int, includeDeleted bool) (registry.SubjectVersion, error)
	ListSubjects(ctx context.Context, f registry.SubjectFilter) ([]string, error)
	ListVersions(ctx context.Context, subject string, deleted, deletedOnly bool) ([]int, error)
	Schemas(ctx context.Context, f registry.SchemaFilter) ([]registry.SubjectVersion, error)
	SubjectVersionsOfSchema(ctx context.Context, id int, deleted bool) ([]registry.SubjectVersion, error)
	ReferencedBy(ctx context.Context, subject string, version int) ([]int, error)
	MaxSchemaID(ctx context.Context) (int, error)
	DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error)
	DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error)
	Config(ctx context.Context, subject string, defaultToGlobal bool) (registry.Config, error)
	SetConfig(ctx context.Context, subject string, c registry.Config) (registry.Config, error)
	DeleteConfig(ctx context.Context, subject string) (registry.Config, error)
	AccessMode(ctx context.Context, subject string, defaultToGlobal bool) (registry.AccessMode, error)
	SetAccessMode(ctx context.Context, subject string, m registry.AccessMode, force bool) (registry.AccessMode, error)
	DeleteAccessMode(ctx context.Context, subject string) (registry.AccessMode, error)

	Subjects(ctx context.Context, prefix string, includeDeleted bool) ([]string, error)
	Versions(ctx context.Context, subject string, includeDeleted bool) ([]int, error)
	Resolved(ctx context.Context, id int) (registry.Resolved, error)
	LiveVersions(ctx context.Context) ([]registry.LiveVersion, error)
	SubjectLiveVersions(ctx context.Context, subject string) ([]registry.LiveVersion, error)
	LatestVersionTime(ctx context.Context, subject string) (time.Time, error)
	OnChange(fn func(ctx context.Context, c registry.Change))
	OnWrite(fn func(ctx context.Context, tx *sql.Tx, c registry.Change) error)
}

var _ registryAPI = (*Registry)(nil)

// registryUpstream is a fresh real upstream for a Registry: its client options.
type registryUpstream struct {
	name string
	opts Options
	// checksCompatibility is false for srfake (it accepts every schema).
	checksCompatibility bool
}

// registryUpstreams starts a fresh schemagate and a fresh srfake.
func registryUpstreams(t *testing.T) []registryUpstream {
	t.Helper()
	token := secretFile(t, "token", upstreamToken)
	return []registryUpstream{
		{"schemagate", Options{URL: startSchemagate(t).URL(), BearerTokenFile: token}, true},
		{"srfake", Options{URL: startSrfake(t), BearerTokenFile: token}, false},
	}
}

// hooks records the changes the OnWrite hooks got, and fails them while failing is set.
type hooks struct {
	mu      sync.Mutex
	changes []registry.Change
	failing bool
}

func (h *hooks) onWrite(_ context.Context, _ *sql.Tx, c registry.Change) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing {
		return errors.New("audit log unavailable (test)")
	}
	h.changes = append(h.changes, c)
	return nil
}

// take returns the changes recorded since the last take.
func (h *hooks) take() []registry.Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.changes
	h.changes = nil
	return out
}

func (h *hooks) fail(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing = on
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newRegistry returns a Registry over a client for opts, on a fresh store, with its hooks.
func newRegistry(t *testing.T, opts Options, clock *fakeClock) (*Registry, *Client, *hooks) {
	t.Helper()
	c := newClient(t, opts)
	r, err := NewRegistry(t.Context(), RegistryOptions{Client: c, DB: storetest.Open(t), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := &hooks{}
	r.OnWrite(h.onWrite)
	return r, c, h
}

// requests is how many calls of op the client made, whatever their result.
func requests(c *Client, op string) int {
	n := 0.0
	for _, result := range []string{resultOK, resultClientError, resultServerError, resultUnavailable, resultCanceled} {
		n += testutil.ToFloat64(c.metrics.requests.WithLabelValues(op, result))
	}
	return int(n)
}

// sumRequests is how many calls of the read operations the client made.
func sumRequests(c *Client) int {
	n := 0
	for _, op := range []string{"schema_by_id", "subjects", "versions", "subject_version", "lookup", "register", "subject_versions_of_schema"} {
		n += requests(c, op)
	}
	return n
}

// lv is a live version.
func lv(subject string, version, id int) registry.LiveVersion {
	return registry.LiveVersion{Subject: subject, Version: version, SchemaID: id}
}

func avro(text string) registry.SchemaInput {
	return registry.SchemaInput{Type: registry.SchemaTypeAvro, Text: text}
}

func mustDo[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestRegistryScenarios runs the life of a Registry against each real upstream: the baseline,
// reads through the cache, a version registered behind its back, a forwarded registration and
// its errors, and a delete.
func TestRegistryScenarios(t *testing.T) {
	for _, u := range registryUpstreams(t) {
		t.Run(u.name, func(t *testing.T) {
			ctx := t.Context()
			direct := newClient(t, u.opts)
			v1 := orderSchema("base", `{"name":"id","type":"long"}`)
			behind := orderSchema("behind", `{"name":"id","type":"long"}`)
			mine := orderSchema("mine", `{"name":"id","type":"long"}`)
			base := mustDo[Registered](t)(direct.Register(ctx, "base-value", Schema{Schema: v1}))

			clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			r, c, h := newRegistry(t, u.opts, clock)
			if got := h.take(); len(got) != 0 {
				t.Errorf("the baseline ran the hooks: %v", got)
			}
			baseTime := mustDo[time.Time](t)(r.LatestVersionTime(ctx, "base-value"))

			// A version registered directly in the upstream.
			other := mustDo[Registered](t)(direct.Register(ctx, "behind-value", Schema{Schema: behind}))
			before := requests(c, "schema_by_id")
			mustDo[registry.Schema](t)(r.SchemaByID(ctx, other.ID))
			mustDo[registry.Schema](t)(r.SchemaByID(ctx, other.ID))
			fetches := requests(c, "schema_by_id") - before

			firstSighting := clock.Now()
			if err := r.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			afterOneSync := mustDo[[]registry.LiveVersion](t)(r.LiveVersions(ctx))
			hooksAfterOneSync := h.take()
			clock.advance(time.Minute)
			if err := r.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			hooksAfterTwoSyncs := h.take()
			behindTime := mustDo[time.Time](t)(r.LatestVersionTime(ctx, "behind-value"))

			// A registration through the Registry, and the upstream's refusals.
			registered := mustDo[registry.SubjectVersion](t)(r.Register(ctx, "mine-value", avro(mine)))
			hooksAfterRegister := h.take()
			again := mustDo[registry.SubjectVersion](t)(r.Register(ctx, "mine-value", avro(mine)))
			hooksAfterAgain := h.take()
			invalidIsAPIError := true // srfake accepts any text
			if u.checksCompatibility {
				_, err := r.Register(ctx, "mine-value", avro(`{"type":"nope"}`))
				var invalid *APIError
				invalidIsAPIError = errors.As(err, &invalid) && invalid.Status == 422 && invalid.ErrorCode == 42201
			}

			// The hot path: cached schemas, cached versions and the index make no call.
			before = sumRequests(c)
			mustDo[registry.Schema](t)(r.SchemaByID(ctx, other.ID))
			mustDo[registry.SubjectVersion](t)(r.SubjectVersion(ctx, "behind-value", 1, false))
			mustDo[[]registry.LiveVersion](t)(r.LiveVersions(ctx))
			mustDo[registry.Resolved](t)(r.Resolved(ctx, base.ID))
			mustDo[registry.Resolved](t)(r.Resolved(ctx, base.ID))
			hotPathCalls := sumRequests(c) - before

			// A delete through the Registry drops the cached version.
			mustDo[registry.SubjectVersion](t)(r.SubjectVersion(ctx, "mine-value", 1, false))
			mustDo[int](t)(r.DeleteVersion(ctx, "mine-value", 1, false))
			_, goneErr := r.SubjectVersion(ctx, "mine-value", 1, false)
			hooksAfterDelete := h.take()
			liveAfterDelete := mustDo[[]registry.LiveVersion](t)(r.LiveVersions(ctx))

			type result struct {
				BaseTime                            time.Time
				Fetches                             int
				LiveAfterOneSync                    []registry.LiveVersion
				HooksAfterOneSync, HooksAfterTwo    []registry.Change
				BehindTime                          time.Time
				Registered, Again                   [2]int
				HooksAfterRegister, HooksAfterAgain []registry.Change
				InvalidIsAPIError                   bool
				HotPathCalls                        int
				GoneNotFound                        bool
				HooksAfterDelete                    []registry.Change
				LiveAfterDelete                     []registry.LiveVersion
			}
			got := result{
				BaseTime: baseTime, Fetches: fetches, LiveAfterOneSync: afterOneSync,
				HooksAfterOneSync: hooksAfterOneSync, HooksAfterTwo: hooksAfterTwoSyncs, BehindTime: behindTime,
				Registered: [2]int{registered.Version, registered.Schema.ID}, Again: [2]int{again.Version, again.Schema.ID},
				HooksAfterRegister: hooksAfterRegister, HooksAfterAgain: hooksAfterAgain,
				InvalidIsAPIError: invalidIsAPIError,
				HotPathCalls:      hotPathCalls,
				GoneNotFound:      errors.Is(goneErr, registry.ErrVersionNotFound) || errors.Is(goneErr, registry.ErrSubjectNotFound),
				HooksAfterDelete:  hooksAfterDelete, LiveAfterDelete: liveAfterDelete,
			}
			want := result{
				Fetches:          1,
				LiveAfterOneSync: []registry.LiveVersion{lv("base-value", 1, base.ID), lv("behind-value", 1, other.ID)},
				HooksAfterTwo: []registry.Change{{Action: registry.ActionSchemaRegistered, Subject: "behind-value",
					Details: map[string]string{"observed": "true", "version": "1", "schema_id": itoa(other.ID)}}},
				BehindTime: firstSighting,
				Registered: [2]int{1, registered.Schema.ID}, Again: [2]int{1, registered.Schema.ID},
				HooksAfterRegister: []registry.Change{{Action: registry.ActionSchemaRegistered, Subject: "mine-value",
					Details: map[string]string{"version": "1", "schema_id": itoa(registered.Schema.ID), "type": "AVRO"}}},
				InvalidIsAPIError: true,
				GoneNotFound:      true,
				HooksAfterDelete: []registry.Change{{Action: registry.ActionSchemaDeleted, Subject: "mine-value",
					Details: map[string]string{"versions": "[1]", "permanent": "false"}}},
				LiveAfterDelete: []registry.LiveVersion{lv("base-value", 1, base.ID), lv("behind-value", 1, other.ID)},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRegistryOutage puts the fault proxy between the Registry and srfake: while the upstream
// answers 503, cached schemas and the index keep answering, an uncached schema and a write are
// unavailable, and Degraded says so; the first poll after the proxy heals ends it.
func TestRegistryOutage(t *testing.T) {
	ctx := t.Context()
	target := httptest.NewServer(srfake.NewRegistry().Handler())
	t.Cleanup(target.Close)
	proxy := harness.StartFaultProxy(t, target.URL)
	direct := newClient(t, Options{URL: target.URL})
	seen := mustDo[Registered](t)(direct.Register(ctx, "seen-value", Schema{Schema: orderSchema("seen", `{"name":"id","type":"long"}`)}))
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, _, _ := newRegistry(t, Options{URL: proxy.URL()}, clock)
	unseen := mustDo[Registered](t)(direct.Register(ctx, "unseen-value", Schema{Schema: orderSchema("unseen", `{"name":"id","type":"long"}`)}))

	proxy.SetFault(harness.Fault5xx)
	syncErr := r.Sync(ctx)
	reason, since, degraded := r.Degraded()
	_, cachedErr := r.SchemaByID(ctx, seen.ID)
	live, liveErr := r.LiveVersions(ctx)
	_, uncachedErr := r.SchemaByID(ctx, unseen.ID)
	_, writeErr := r.Register(ctx, "seen-value", avro(`"string"`))

	proxy.SetFault(harness.FaultNone)
	recoveryErr := r.Sync(ctx)
	_, _, degradedAfter := r.Degraded()
	_, uncachedAfterErr := r.SchemaByID(ctx, unseen.ID)

	type outcome struct {
		SyncUnavailable, Degraded, ReasonNamesCause   bool
		Since                                         time.Time
		CachedErr, LiveErr                            error
		Live                                          []registry.LiveVersion
		UncachedUnavailable, UncachedSaysNeverFetched bool
		WriteUnavailable                              bool
		RecoveryErr, UncachedAfterErr                 error
		DegradedAfter                                 bool
	}
	got := outcome{
		SyncUnavailable: errors.Is(syncErr, ErrUnavailable), Degraded: degraded,
		ReasonNamesCause: strings.Contains(reason, "overloaded"), Since: since,
		CachedErr: cachedErr, LiveErr: liveErr, Live: live,
		UncachedUnavailable:      errors.Is(uncachedErr, ErrUnavailable),
		UncachedSaysNeverFetched: uncachedErr != nil && strings.Contains(uncachedErr.Error(), "upstream registry unreachable: schema "+itoa(unseen.ID)+" was never fetched"),
		WriteUnavailable:         errors.Is(writeErr, ErrUnavailable),
		RecoveryErr:              recoveryErr, UncachedAfterErr: uncachedAfterErr, DegradedAfter: degradedAfter,
	}
	want := outcome{
		SyncUnavailable: true, Degraded: true, ReasonNamesCause: true, Since: clock.Now(),
		Live:                []registry.LiveVersion{lv("seen-value", 1, seen.ID)},
		UncachedUnavailable: true, UncachedSaysNeverFetched: true, WriteUnavailable: true,
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })); diff != "" {
		t.Errorf("(-want +got):\n%s\nerrors: sync %v, uncached %v, write %v, recovery %v", diff, syncErr, uncachedErr, writeErr, recoveryErr)
	}
}

// TestRegistryConcurrentMisses asks for one uncached schema from many goroutines while the
// upstream holds the first request: they share one upstream call.
func TestRegistryConcurrentMisses(t *testing.T) {
	ctx := t.Context()
	fake := srfake.NewRegistry()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/schemas/ids/") {
			<-release
		}
		fake.Handler().ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	direct := newClient(t, Options{URL: srv.URL})
	clock := &fakeClock{}
	r, c, _ := newRegistry(t, Options{URL: srv.URL}, clock)
	id := mustDo[Registered](t)(direct.Register(ctx, "burst-value", Schema{Schema: `"string"`})).ID

	const callers = 20
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { _, errs[i] = r.SchemaByID(ctx, id) })
	}
	for r.schemaFlight.callers(id) < callers {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if diff := cmp.Diff(make([]error, callers), errs, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if n := requests(c, "schema_by_id"); n != 1 {
		t.Errorf("%d upstream calls for %d concurrent misses of one schema, want 1", n, callers)
	}
}

// TestRegisterAuditFailure fails the audit of a registration the upstream accepted: the error
// says so and wraps registry.ErrStore, and a later poll records the version as observed.
func TestRegisterAuditFailure(t *testing.T) {
	ctx := t.Context()
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, _, h := newRegistry(t, Options{URL: startSrfake(t), BearerTokenFile: secretFile(t, "token", upstreamToken)}, clock)
	h.fail(true)
	_, err := r.Register(ctx, "audit-value", avro(`"string"`))
	h.fail(false)
	if !errors.Is(err, registry.ErrStore) || err == nil || !strings.Contains(err.Error(), "accepted the registration") {
		t.Fatalf("Register with a failing audit: %v, want registry.ErrStore saying the upstream accepted it", err)
	}
	live := mustDo[[]registry.LiveVersion](t)(r.LiveVersions(ctx))
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := []registry.Change{{Action: registry.ActionSchemaRegistered, Subject: "audit-value",
		Details: map[string]string{"observed": "true", "version": "1", "schema_id": itoa(live[0].SchemaID)}}}
	if diff := cmp.Diff(want, h.take()); diff != "" {
		t.Errorf("hooks after the next poll (-want +got):\n%s", diff)
	}
}

// TestRegisterClaimsVersionSeenByPoll: a poll that runs between the upstream's answer to a
// registration and its recording sees the new version first. The version is still the
// registration's: it is recorded once, with the caller's hook call, and the next polls do not
// record it again as observed. (The poll is made to see it first by registering the same schema
// directly in the upstream, then through the Registry, which the upstream answers with the same
// version.)
func TestRegisterClaimsVersionSeenByPoll(t *testing.T) {
	ctx := t.Context()
	token := secretFile(t, "token", upstreamToken)
	opts := Options{URL: startSrfake(t), BearerTokenFile: token}
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, _, h := newRegistry(t, opts, clock)
	schema := orderSchema("race", `{"name":"id","type":"long"}`)
	reg := mustDo[Registered](t)(newClient(t, opts).Register(ctx, "race-value", Schema{Schema: schema}))
	if err := r.Sync(ctx); err != nil { // sees version 1, not recorded yet
		t.Fatal(err)
	}
	mustDo[registry.SubjectVersion](t)(r.Register(ctx, "race-value", avro(schema)))
	for range 2 {
		clock.advance(time.Minute)
		if err := r.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []registry.Change{{Action: registry.ActionSchemaRegistered, Subject: "race-value",
		Details: map[string]string{"version": "1", "schema_id": itoa(reg.ID), "type": "AVRO"}}}
	if diff := cmp.Diff(want, h.take()); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
}

// TestJSONSchemaFormatIsGatewayWideUpstream: the upstream registry keeps no JSON Schema format
// setting, so a config that carries one is refused (42203, as an invalid level) before the
// upstream is called, rather than forwarded and silently dropped.
func TestJSONSchemaFormatIsGatewayWideUpstream(t *testing.T) {
	url := startSrfake(t)
	r, c, h := newRegistry(t, Options{URL: url, BearerTokenFile: secretFile(t, "token", upstreamToken)}, &fakeClock{})
	_, err := r.SetConfig(t.Context(), "orders", registry.Config{Compatibility: registry.CompatFull, JSONSchemaFormat: registry.JSONFormatAnnotate})
	if !errors.Is(err, registry.ErrInvalidCompatibility) || !strings.Contains(err.Error(), "schema_registry.json_schema.format") {
		t.Errorf("SetConfig with a JSON Schema format = %v; want ErrInvalidCompatibility naming the gateway's key", err)
	}
	if n := requests(c, "set_config"); n != 0 {
		t.Errorf("the upstream got %d set_config calls; want none", n)
	}
	if got := h.take(); len(got) != 0 {
		t.Errorf("audited %v; want nothing", got)
	}
}

// TestContractConfigForwardedUpstream: Confluent's data-contract keys of a config (alias,
// validateFields, default and override metadata and rule sets) reach the upstream and come
// back from it, as the level does.
func TestContractConfigForwardedUpstream(t *testing.T) {
	r, _, _ := newRegistry(t, Options{URL: startSchemagate(t).URL(), BearerTokenFile: secretFile(t, "token", upstreamToken)}, &fakeClock{})
	on := true
	want := registry.Config{Compatibility: registry.CompatFull, Alias: "orders-value", ValidateFields: &on,
		DefaultMetadata: `{"properties":{"owner":"team-a"}}`, OverrideMetadata: `{"properties":{"tier":"gold"}}`,
		DefaultRuleSet:  `{"domainRules":[{"name":"r","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"true"}]}`,
		OverrideRuleSet: `{"migrationRules":[]}`}
	if _, err := r.SetConfig(t.Context(), "orders", want); err != nil {
		t.Fatal(err)
	}
	got, err := r.Config(t.Context(), "orders", false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config read back from the upstream (-want +got):\n%s", diff)
	}
}

// TestSubjectAliasUpstream: SubjectAlias answers with the alias the upstream holds for a subject
// (the subject itself without one), keeps the answer for one poll interval, asks again after it,
// and answers from the last answer while the upstream cannot be reached.
func TestSubjectAliasUpstream(t *testing.T) {
	up := startSchemagate(t)
	clock := &fakeClock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	r, c, _ := newRegistry(t, Options{URL: up.URL(), BearerTokenFile: secretFile(t, "token", upstreamToken)}, clock)
	ctx := t.Context()
	setAlias := func(subject, alias string) {
		t.Helper()
		if code, body := up.Do(t, "PUT", "/config/"+subject, upstreamToken, `{"alias":"`+alias+`"}`); code != 200 {
			t.Fatalf("PUT /config/%s: %d %s", subject, code, body)
		}
	}
	check := func(step, subject, want string, wantCalls int) {
		t.Helper()
		before := requests(c, "config")
		got, err := r.SubjectAlias(ctx, subject)
		if err != nil || got != want || requests(c, "config")-before != wantCalls {
			t.Errorf("%s: SubjectAlias(%q) = %q, %v with %d upstream calls; want %q with %d", step, subject, got, err, requests(c, "config")-before, want, wantCalls)
		}
	}
	setAlias("a", "target")
	check("alias set", "a", "target", 1)
	check("no configuration", "plain", "plain", 1)
	setAlias("a", "other")
	check("within the interval", "a", "target", 0)
	clock.advance(DefaultPollInterval)
	check("after the interval", "a", "other", 1)
	if err := up.Stop(t); err != nil {
		t.Fatal(err)
	}
	clock.advance(DefaultPollInterval)
	check("upstream down, answered before", "a", "other", 1)
	if got, err := r.SubjectAlias(ctx, "never-asked"); err == nil {
		t.Errorf("upstream down, never asked: SubjectAlias = %q, nil; want an error", got)
	}
}
