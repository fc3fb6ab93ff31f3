package importer_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/importer"
	"github.com/schemagate/schemagate/registry/upstream"
	"github.com/schemagate/schemagate/store/storetest"
	"github.com/schemagate/schemagate/tests/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

// source is a populated upstream registry.
type source struct {
	name string
	url  string
}

// sources starts the two real upstreams, a `schemagate serve` in embedded mode and franz-go's
// srfake, and fills both with the same scenario over their Confluent REST API.
func sources(t *testing.T) []source {
	t.Helper()
	sg := harness.Start(t, harness.Options{Name: "upstream"})
	fake := httptest.NewServer(srfake.NewRegistry().Handler())
	t.Cleanup(fake.Close)
	out := []source{{"schemagate", sg.URL()}, {"srfake", fake.URL}}
	for _, s := range out {
		populate(t, s.url)
	}
	return out
}

// Sizes of the scenario: 60 Avro and 30 JSON subjects of 3 versions, 20 subjects referencing a
// common Avro type, and a few special cases: about 300 versions.
const (
	avroSubjects = 60
	jsonSubjects = 30
	refSubjects  = 20
	versionsEach = 3
)

// op is one request of the scenario.
type op struct{ method, path, body string }

func register(subject, typ, schema string, refs ...upstream.Reference) op {
	body := map[string]any{"schema": schema, "schemaType": typ}
	if len(refs) > 0 {
		body["references"] = refs
	}
	return op{http.MethodPost, "/subjects/" + subject + "/versions", jsonText(body)}
}

func setting(kind, subject, key, value string) op {
	path := "/" + kind
	if subject != "" {
		path += "/" + subject
	}
	return op{http.MethodPut, path, jsonText(map[string]string{key: value})}
}

func del(path string) op { return op{http.MethodDelete, path, ""} }

func avroRecord(name string, fields int) string {
	fs := []string{`{"name":"f0","type":"string"}`}
	for i := 1; i < fields; i++ {
		fs = append(fs, fmt.Sprintf(`{"name":"f%d","type":["null","string"],"default":null}`, i))
	}
	return fmt.Sprintf(`{"type":"record","name":"%s","namespace":"t","fields":[%s]}`, name, strings.Join(fs, ","))
}

func jsonObject(prefix string, props int) string {
	ps := make([]string, props)
	for i := range ps {
		ps[i] = fmt.Sprintf(`"%s%d": {"type": "string"}`, prefix, i)
	}
	return fmt.Sprintf(`{"type": "object", "properties": {%s}}`, strings.Join(ps, ", "))
}

// scenario is the requests that fill an upstream: the first sequence runs alone, the others
// (one per subject) run concurrently.
func scenario() [][]op {
	address := avroRecord("Address", 2)
	first := []op{setting("config", "", "compatibility", "NONE"), register("common-address", "AVRO", address)}
	seqs := [][]op{first}
	for i := range avroSubjects {
		s := fmt.Sprintf("avro-%02d", i)
		var seq []op
		for v := 1; v <= versionsEach; v++ {
			seq = append(seq, register(s, "AVRO", avroRecord(fmt.Sprintf("A%d", i), v)))
		}
		if i%5 == 0 {
			seq = append(seq, del("/subjects/"+s+"/versions/2"))
		}
		if i%7 == 0 {
			seq = append(seq, setting("config", s, "compatibility", "FULL"))
		}
		if i == 1 {
			seq = append(seq, setting("mode", s, "mode", "READONLY"))
		}
		seqs = append(seqs, seq)
	}
	for i := range jsonSubjects {
		s := fmt.Sprintf("json-%02d", i)
		var seq []op
		for v := 1; v <= versionsEach; v++ {
			seq = append(seq, register(s, "JSON", jsonObject(fmt.Sprintf("j%d_", i), v)))
		}
		if i%10 == 0 {
			seq = append(seq, del("/subjects/"+s))
		}
		if i%4 == 0 {
			seq = append(seq, setting("config", s, "compatibility", "BACKWARD_TRANSITIVE"))
		}
		seqs = append(seqs, seq)
	}
	for i := range refSubjects {
		order := fmt.Sprintf(`{"type":"record","name":"Order%d","namespace":"t","fields":[{"name":"to","type":"t.Address"}]}`, i)
		seqs = append(seqs, []op{register(fmt.Sprintf("order-%02d", i), "AVRO", order,
			upstream.Reference{Name: "t.Address", Subject: "common-address", Version: 1})})
	}
	shared := avroRecord("Shared", 1)
	again := avroRecord("Again", 1)
	seqs = append(seqs,
		// One schema in two subjects: one ID.
		[]op{register("dup-a", "AVRO", shared), register("dup-b", "AVRO", shared)},
		// A schema registered again after its version was soft-deleted: two versions, one ID.
		[]op{register("again", "AVRO", again), del("/subjects/again/versions/1"), register("again", "AVRO", again)},
		// A Protobuf schema importing another subject's.
		[]op{register("proto-money", "PROTOBUF", protoMoney), register("proto-order", "PROTOBUF", protoOrder,
			upstream.Reference{Name: "shop/money.proto", Subject: "proto-money", Version: 1})},
	)
	return seqs
}

// The Protobuf pair of the scenario: proto-order imports proto-money as "shop/money.proto".
const (
	protoMoney = "syntax = \"proto3\";\npackage shop;\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n"
	protoOrder = "syntax = \"proto3\";\npackage shop;\nimport \"shop/money.proto\";\nmessage Order {\n  string id = 1;\n  Money total = 2;\n}\n"
)

// populate runs the scenario against the registry at base, eight sequences at a time.
func populate(t *testing.T, base string) {
	t.Helper()
	seqs := scenario()
	if err := send(base, seqs[0]...); err != nil {
		t.Fatal(err)
	}
	next := make(chan []op)
	errs := make(chan error, len(seqs))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for seq := range next {
				errs <- send(base, seq...)
			}
		})
	}
	for _, seq := range seqs[1:] {
		next <- seq
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// send makes the requests in order and fails on the first answer that is not 200.
func send(base string, ops ...op) error {
	for _, o := range ops {
		req, err := http.NewRequest(o.method, base+o.path, strings.NewReader(o.body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %d %s", o.method, o.path, resp.StatusCode, body)
		}
	}
	return nil
}

// target is an embedded registry on a fresh store, counting the writes its OnWrite hook sees.
type target struct {
	reg    *registry.Registry
	mu     sync.Mutex
	writes []registry.Change
}

func newTarget(t *testing.T) *target {
	t.Helper()
	reg, err := registry.New(storetest.Open(t), registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{reg: reg}
	reg.OnWrite(func(_ context.Context, _ *sql.Tx, c registry.Change) error {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		tg.writes = append(tg.writes, c)
		return nil
	})
	return tg
}

// takeWrites returns the writes seen since the last call.
func (tg *target) takeWrites() []registry.Change {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	w := tg.writes
	tg.writes = nil
	return w
}

// run imports src into tg.
func (tg *target) run(t *testing.T, url string) (importer.Summary, error) {
	t.Helper()
	c, err := upstream.New(upstream.Options{URL: url, Timeout: 10 * time.Second, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return importer.Run(t.Context(), importer.Options{Source: c, Target: tg.reg})
}

// versionView is a subject version as both sides are compared.
type versionView struct {
	Version, ID int
	Deleted     bool
}

// view is a registry's content as the test compares it.
type view struct {
	Versions map[string][]versionView
	Configs  map[string]string // "" is the global level
	Modes    map[string]string // "" is the global mode
}

// upstreamView reads src over its REST API.
func upstreamView(t *testing.T, url string) view {
	t.Helper()
	c, err := upstream.New(upstream.Options{URL: url, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	v := view{Versions: map[string][]versionView{}, Configs: map[string]string{}, Modes: map[string]string{}}
	subjects, err := c.AllSubjects(ctx)
	check(t, err)
	for _, s := range subjects {
		all, err := c.AllVersions(ctx, s)
		check(t, err)
		live, err := c.LiveVersions(ctx, s)
		check(t, err)
		for _, n := range all {
			rec, err := c.VersionRecord(ctx, s, n)
			check(t, err)
			v.Versions[s] = append(v.Versions[s], versionView{n, rec.ID, !slices.Contains(live, n)})
		}
		if level, ok, err := c.OwnConfig(ctx, s); check(t, err) && ok {
			v.Configs[s] = level
		}
		if mode, ok, err := c.OwnMode(ctx, s); check(t, err) && ok {
			v.Modes[s] = mode
		}
	}
	v.Configs[""], err = c.Config(ctx, "")
	check(t, err)
	v.Modes[""], err = c.Mode(ctx, "")
	check(t, err)
	return v
}

// view reads the embedded registry.
func (tg *target) view(t *testing.T) view {
	t.Helper()
	ctx := t.Context()
	v := view{Versions: map[string][]versionView{}, Configs: map[string]string{}, Modes: map[string]string{}}
	subjects, err := tg.reg.ListSubjects(ctx, registry.SubjectFilter{Deleted: true})
	check(t, err)
	for _, s := range subjects {
		ns, err := tg.reg.ListVersions(ctx, s, true, false)
		check(t, err)
		for _, n := range ns {
			sv, err := tg.reg.SubjectVersion(ctx, s, n, true)
			check(t, err)
			v.Versions[s] = append(v.Versions[s], versionView{n, sv.Schema.ID, sv.Deleted})
		}
		if c, err := tg.reg.Config(ctx, s, false); err == nil {
			v.Configs[s] = string(c.Compatibility)
		}
		if m, err := tg.reg.AccessMode(ctx, s, false); err == nil {
			v.Modes[s] = string(m)
		}
	}
	c, err := tg.reg.Config(ctx, "", false)
	check(t, err)
	m, err := tg.reg.AccessMode(ctx, "", false)
	check(t, err)
	v.Configs[""], v.Modes[""] = string(c.Compatibility), string(m)
	return v
}

func check(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// TestImportTwice imports each populated upstream into a fresh embedded registry twice: the
// first run copies everything with the upstream's IDs, versions, soft deletes, configs and
// modes; the second finds everything present and writes nothing.
func TestImportTwice(t *testing.T) {
	for _, src := range sources(t) {
		t.Run(src.name, func(t *testing.T) {
			want := upstreamView(t, src.url)
			if want.Modes["avro-01"] != "READONLY" || want.Configs["avro-07"] != "FULL" {
				t.Fatalf("the scenario did not set what the test expects: %+v %+v", want.Modes, want.Configs)
			}
			tg := newTarget(t)
			start := time.Now()
			first, err := tg.run(t, src.url)
			if err != nil {
				t.Fatalf("first import: %v", err)
			}
			t.Logf("%s: first import of %d versions took %s", src.name, first.Versions.Total(), time.Since(start).Round(time.Millisecond))
			if diff := cmp.Diff(want, tg.view(t)); diff != "" {
				t.Errorf("embedded registry after the import (-upstream +embedded):\n%s", diff)
			}
			// 2 + 60×3 + 30×3 + 20 + 2 + 2 + 2 versions; 12 versions and 3 subjects (9 versions)
			// soft-deleted, plus the first "again" version; 11 subjects have an own level.
			wantFirst := importer.Summary{
				Subjects:    importer.Counts{Imported: 1 + avroSubjects + jsonSubjects + refSubjects + 3 + 2},
				Versions:    importer.Counts{Imported: 1 + avroSubjects*versionsEach + jsonSubjects*versionsEach + refSubjects + 4 + 2},
				Schemas:     importer.Counts{Imported: 1 + avroSubjects*versionsEach + jsonSubjects*versionsEach + refSubjects + 2 + 2},
				SoftDeleted: importer.Counts{Imported: 12 + 9 + 1},
				Configs:     importer.Counts{Imported: 1 + len(want.Configs) - 1},
				Modes:       importer.Counts{Imported: len(want.Modes) - 1, Present: 1},
			}
			if diff := cmp.Diff(wantFirst, first); diff != "" {
				t.Errorf("first summary (-want +got):\n%s", diff)
			}
			tg.takeWrites()

			second, err := tg.run(t, src.url)
			if err != nil {
				t.Fatalf("second import: %v", err)
			}
			wantSecond := importer.Summary{
				Subjects:    importer.Counts{Present: wantFirst.Subjects.Imported},
				Versions:    importer.Counts{Present: wantFirst.Versions.Imported},
				Schemas:     importer.Counts{Present: wantFirst.Schemas.Imported},
				SoftDeleted: importer.Counts{Present: wantFirst.SoftDeleted.Imported},
				Configs:     importer.Counts{Present: wantFirst.Configs.Imported},
				Modes:       importer.Counts{Present: wantFirst.Modes.Total()},
			}
			if diff := cmp.Diff(wantSecond, second); diff != "" {
				t.Errorf("second summary (-want +got):\n%s", diff)
			}
			if w := tg.takeWrites(); len(w) != 0 {
				t.Errorf("the second import wrote %d times, first %+v", len(w), w[0])
			}
			if diff := cmp.Diff(want, tg.view(t)); diff != "" {
				t.Errorf("embedded registry after the second import (-upstream +embedded):\n%s", diff)
			}
		})
	}
}

// TestImportConflict: an embedded registry holding other content under one of the upstream's
// schema IDs stops the import before its first write, naming the ID.
func TestImportConflict(t *testing.T) {
	fake := httptest.NewServer(srfake.NewRegistry().Handler())
	t.Cleanup(fake.Close)
	check(t, send(fake.URL, register("orders", "AVRO", avroRecord("Order", 1)), register("users", "AVRO", avroRecord("User", 1))))
	tg := newTarget(t)
	ctx := t.Context()
	_, err := tg.reg.SetAccessMode(ctx, "local", registry.ModeImport, false)
	check(t, err)
	// srfake gives "orders" ID 1; here ID 1 is another schema.
	_, err = tg.reg.Register(ctx, "local", registry.SchemaInput{Type: registry.SchemaTypeAvro, Text: avroRecord("Local", 1), ID: 1, Version: 1})
	check(t, err)
	before := tg.view(t)
	tg.takeWrites()

	_, err = tg.run(t, fake.URL)
	if !errors.Is(err, importer.ErrConflict) {
		t.Fatalf("import: %v, want ErrConflict", err)
	}
	for _, want := range []string{"1 conflicts", `schema ID 1 (upstream subject "orders" version 1 (schema ID 1)) differs: canonical texts differ`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if w := tg.takeWrites(); len(w) != 0 {
		t.Errorf("the failed import wrote %d times, first %+v", len(w), w[0])
	}
	if diff := cmp.Diff(before, tg.view(t)); diff != "" {
		t.Errorf("the failed import changed the embedded registry (-before +after):\n%s", diff)
	}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
