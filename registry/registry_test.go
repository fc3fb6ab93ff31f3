package registry

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/schemagate/schemagate/store/storetest"
)

const (
	userV1 = `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"}]}`
	userV2 = `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]}`
	userV3 = `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"age","type":"int","default":0}]}`
)

func TestNewRequiresDB(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

func TestNewSharesMetricsOnOneRegisterer(t *testing.T) {
	db := storetest.Open(t)
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := New(db, Options{Registerer: reg}); err != nil {
			t.Fatalf("New: %v", err)
		}
	}
}

func TestRegisterAndLookup(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)

	got := mustRegister(t, r, "users-value", avroIn("  "+userV1+"\n"))
	want := SubjectVersion{Subject: "users-value", Version: 1, Schema: Schema{ID: 1, Type: SchemaTypeAvro,
		Text: `{"name":"com.example.User","type":"record","fields":[{"name":"id","type":"long"}]}`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Register (-want +got):\n%s", diff)
	}

	tests := []struct {
		name    string
		subject string
		version int
		want    SubjectVersion
		err     error
	}{
		{"by version", "users-value", 1, want, nil},
		{"latest", "users-value", -1, want, nil},
		{"missing version", "users-value", 2, SubjectVersion{}, ErrVersionNotFound},
		{"missing subject", "nope", 1, SubjectVersion{}, ErrSubjectNotFound},
		{"invalid version", "users-value", 0, SubjectVersion{}, ErrInvalidVersion},
		{"invalid version -2", "users-value", -2, SubjectVersion{}, ErrInvalidVersion},
		{"invalid subject", "", 1, SubjectVersion{}, ErrInvalidSubject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.SubjectVersion(ctx, tc.subject, tc.version, false)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	s, err := r.SchemaByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Schema, s); diff != "" {
		t.Errorf("SchemaByID (-want +got):\n%s", diff)
	}
	for _, id := range []int{0, -1, 2} {
		if _, err := r.SchemaByID(ctx, id); !errors.Is(err, ErrSchemaNotFound) {
			t.Errorf("SchemaByID(%d) err = %v, want ErrSchemaNotFound", id, err)
		}
	}
	if err := r.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestSchemaTypes(t *testing.T) {
	r, _ := newTestRegistry(t)
	tests := []struct {
		name string
		typ  SchemaType
		text string
		want SchemaType
		err  error
	}{
		{"empty means avro", "", `"string"`, SchemaTypeAvro, nil},
		{"avro", "AVRO", `"int"`, SchemaTypeAvro, nil},
		{"lower case", "avro", `"long"`, SchemaTypeAvro, nil},
		{"json", "JSON", `{"type":"string"}`, SchemaTypeJSON, nil},
		{"protobuf", "PROTOBUF", `syntax = "proto3"; message M { int32 a = 1; }`, SchemaTypeProtobuf, nil},
		{"protobuf lower case", "protobuf", `syntax = "proto3"; message N { int32 a = 1; }`, SchemaTypeProtobuf, nil},
		{"xml unsupported", "XML", `<schema/>`, "", ErrInvalidSchema},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sv, err := r.Register(t.Context(), "types-"+tc.name, SchemaInput{Type: tc.typ, Text: tc.text})
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if sv.Schema.Type != tc.want {
				t.Errorf("type = %q, want %q", sv.Schema.Type, tc.want)
			}
		})
	}
}

func TestGlobalSchemaIDs(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	type step struct {
		op      string // "reg", "soft", "hard"
		subject string
		text    string
		version int
		wantID  int
		wantVer int
	}
	steps := []step{
		{op: "reg", subject: "a", text: userV1, wantID: 1, wantVer: 1},
		{op: "reg", subject: "b", text: userV1, wantID: 1, wantVer: 1}, // same schema, other subject: same ID
		{op: "reg", subject: "a", text: userV2, wantID: 2, wantVer: 2},
		// Whitespace and key order of the input do not change the identity.
		{op: "reg", subject: "c", text: "{\n \"namespace\": \"com.example\", \"name\": \"User\", \"type\": \"record\",\n \"fields\": [ {\"type\": {\"type\": \"long\"}, \"name\": \"id\"} ]\n}", wantID: 1, wantVer: 1},
		// Registering what the subject already has creates nothing.
		{op: "reg", subject: "a", text: userV1, wantID: 1, wantVer: 1},
		// Same text as JSON Schema is a different schema.
		{op: "reg", subject: "j", text: `{"type":"string"}`, wantID: 3, wantVer: 1},
		{op: "reg", subject: "d", text: userV3, wantID: 4, wantVer: 1},
		{op: "soft", subject: "d", version: 1},
		{op: "hard", subject: "d", version: 1},
		// ID 4 is not reused for new content...
		{op: "reg", subject: "e", text: `{"type":"enum","name":"Color","symbols":["RED"]}`, wantID: 5, wantVer: 1},
		// ...and identical content gets its old ID back.
		{op: "reg", subject: "d", text: userV3, wantID: 4, wantVer: 1},
	}
	for i, s := range steps {
		switch s.op {
		case "reg":
			typ := SchemaTypeAvro
			if s.subject == "j" {
				typ = SchemaTypeJSON
			}
			sv, err := r.Register(ctx, s.subject, SchemaInput{Type: typ, Text: s.text})
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if diff := cmp.Diff([2]int{s.wantID, s.wantVer}, [2]int{sv.Schema.ID, sv.Version}); diff != "" {
				t.Errorf("step %d: [id version] (-want +got):\n%s", i, diff)
			}
		case "soft", "hard":
			if _, err := r.DeleteVersion(ctx, s.subject, s.version, s.op == "hard"); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
	}
}

func TestVersionNumbering(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	v1 := mustRegister(t, r, "s", avroIn(userV1))
	v2 := mustRegister(t, r, "s", avroIn(userV2))
	if _, err := r.DeleteVersion(ctx, "s", 1, false); err != nil {
		t.Fatal(err)
	}
	// A soft-deleted schema registered again becomes a new version with its ID.
	v3 := mustRegister(t, r, "s", avroIn(userV1))
	// Soft-deleted versions still count for numbering.
	if _, err := r.DeleteVersion(ctx, "s", 3, false); err != nil {
		t.Fatal(err)
	}
	v4 := mustRegister(t, r, "s", avroIn(userV3))
	got := [][3]int{{v1.Version, v1.Schema.ID}, {v2.Version, v2.Schema.ID}, {v3.Version, v3.Schema.ID}, {v4.Version, v4.Schema.ID}}
	want := [][3]int{{1, 1}, {2, 2}, {3, 1}, {4, 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("[version id] (-want +got):\n%s", diff)
	}
	all, err := r.Versions(ctx, "s", true)
	if err != nil {
		t.Fatal(err)
	}
	live, err := r.Versions(ctx, "s", false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]int{{1, 2, 3, 4}, {2, 4}}, [][]int{all, live}); diff != "" {
		t.Errorf("Versions (-want +got):\n%s", diff)
	}
	latest, err := r.SubjectVersion(ctx, "s", -1, false)
	if err != nil || latest.Version != 4 {
		t.Errorf("latest = %v, %v; want version 4", latest, err)
	}
	deleted, err := r.SubjectVersion(ctx, "s", 3, true)
	if err != nil || !deleted.Deleted || deleted.Schema.ID != 1 {
		t.Errorf("soft-deleted version with includeDeleted = %+v, %v", deleted, err)
	}
	if _, err := r.SubjectVersion(ctx, "s", 3, false); !errors.Is(err, ErrVersionNotFound) {
		t.Errorf("soft-deleted version without includeDeleted: err = %v, want ErrVersionNotFound", err)
	}
}

func TestSubjectsAndVersions(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	for _, s := range []string{"orders-value", "Orders-key", "orders-key", "payments-value", "ördnung"} {
		mustRegister(t, r, s, avroIn(userV1))
	}
	mustRegister(t, r, "orders-value", avroIn(userV2))
	if _, err := r.DeleteSubject(ctx, "payments-value", false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix         string
		includeDeleted bool
		want           []string
	}{
		{"", false, []string{"Orders-key", "orders-key", "orders-value", "ördnung"}},
		{"", true, []string{"Orders-key", "orders-key", "orders-value", "payments-value", "ördnung"}},
		{"orders", false, []string{"orders-key", "orders-value"}}, // case-sensitive
		{"pay", false, []string{}},
		{"pay", true, []string{"payments-value"}},
		{"zzz", true, []string{}},
	}
	for _, tc := range tests {
		got, err := r.Subjects(ctx, tc.prefix, tc.includeDeleted)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Subjects(%q, %v) (-want +got):\n%s", tc.prefix, tc.includeDeleted, diff)
		}
	}
	vs, err := r.Versions(ctx, "orders-value", false)
	if diff := cmp.Diff([]int{1, 2}, vs); diff != "" || err != nil {
		t.Errorf("Versions: %v (-want +got):\n%s", err, diff)
	}
	if _, err := r.Versions(ctx, "payments-value", false); !errors.Is(err, ErrSubjectNotFound) {
		t.Errorf("Versions of soft-deleted subject: err = %v, want ErrSubjectNotFound", err)
	}
	if _, err := r.SubjectVersion(ctx, "payments-value", -1, false); !errors.Is(err, ErrSubjectNotFound) {
		t.Errorf("lookup in soft-deleted subject: err = %v, want ErrSubjectNotFound", err)
	}
	if vs, err := r.Versions(ctx, "payments-value", true); err != nil || !cmp.Equal(vs, []int{1}) {
		t.Errorf("Versions(includeDeleted) = %v, %v", vs, err)
	}
}

func TestSubjectNameValidation(t *testing.T) {
	r, _ := newTestRegistry(t)
	tests := []struct {
		name    string
		subject string
		ok      bool
	}{
		{"plain", "orders-value", true},
		{"unicode", "commandes-valeur-é", true},
		{"dots and slashes", "com.example/User:v1", true},
		{"max length", strings.Repeat("s", 255), true},
		{"empty", "", false},
		{"too long", strings.Repeat("s", 256), false},
		{"newline", "orders\nvalue", false},
		{"nul", "orders\x00", false},
		{"del", "orders\x7f", false},
		{"c1 control", "orders\u0085", false},
		{"invalid utf8", "orders\xff", false},
		{"dot segment", ".", false},
		{"dot-dot segment", "..", false},
		{"dots inside a name", "..orders..", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Register(t.Context(), tc.subject, avroIn(`"string"`))
			if tc.ok && err != nil {
				t.Fatalf("Register: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidSubject) {
				t.Fatalf("err = %v, want ErrInvalidSubject", err)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	ctx := t.Context()
	r, reg := newTestRegistry(t)
	mustRegister(t, r, "a", avroIn(userV1))
	mustRegister(t, r, "a", avroIn(userV1)) // existing: not counted
	mustRegister(t, r, "b", avroIn(userV1)) // new version, same ID: counted
	mustRegister(t, r, "j", jsonIn(`{"type":"object"}`))
	if _, err := r.Register(ctx, "bad", avroIn(`{"type":"nope"}`)); err == nil {
		t.Fatal("invalid schema registered")
	}
	want := `
# HELP schemagate_schemas_registered_total Subject versions created by schema registration, by schema type (AVRO, JSON, PROTOBUF).
# TYPE schemagate_schemas_registered_total counter
schemagate_schemas_registered_total{type="AVRO"} 2
schemagate_schemas_registered_total{type="JSON"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "schemagate_schemas_registered_total"); err != nil {
		t.Error(err)
	}
}

func TestStoreErrorsHideSQL(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t)
	r, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	checks := map[string]error{}
	_, checks["Register"] = r.Register(ctx, "s", avroIn(userV1))
	_, checks["SchemaByID"] = r.SchemaByID(ctx, 1)
	_, checks["SubjectVersion"] = r.SubjectVersion(ctx, "s", 1, false)
	_, checks["Subjects"] = r.Subjects(ctx, "", false)
	_, checks["DeleteSubject"] = r.DeleteSubject(ctx, "s", false)
	checks["Ping"] = r.Ping(ctx)
	for name, err := range checks {
		if !errors.Is(err, ErrStore) {
			t.Errorf("%s: err = %v, want ErrStore", name, err)
			continue
		}
		if msg := err.Error(); strings.Contains(strings.ToUpper(msg), "SELECT") || strings.Contains(msg, "sql") {
			t.Errorf("%s: message %q leaks storage details", name, msg)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := r.Register(ctx, "s", avroIn(userV1))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrStore) {
		t.Errorf("err = %v, want context.Canceled wrapped in ErrStore", err)
	}
}

// TestImportBounds: IDs and versions given in IMPORT mode must fit the 32 bits Confluent's wire
// format and clients use; anything else is refused before it can move the ID counter.
func TestImportBounds(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	if _, err := r.SetAccessMode(ctx, "", ModeImport, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		id, version int
		want        error
	}{
		{"id beyond int32", math.MaxInt32 + 1, 1, ErrInvalidSchema},
		{"negative id", -5, 1, ErrInvalidSchema},
		{"version beyond int32", 7, math.MaxInt32 + 1, ErrInvalidVersion},
		{"negative version", 7, -2, ErrInvalidVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := avroIn(`"string"`)
			in.ID, in.Version = tc.id, tc.version
			if _, err := r.Register(ctx, "imported", in); !errors.Is(err, tc.want) {
				t.Fatalf("Register = %v, want %v", err, tc.want)
			}
		})
	}
	in := avroIn(`"string"`)
	in.ID, in.Version = math.MaxInt32, math.MaxInt32
	sv, err := r.Register(ctx, "imported", in)
	if err != nil || sv.Schema.ID != math.MaxInt32 || sv.Version != math.MaxInt32 {
		t.Fatalf("Register at the bounds = %v, %v; want id and version %d", sv, err, math.MaxInt32)
	}
	// The counter stands at the last 32-bit ID now: a new schema gets no ID beyond it.
	if _, err := r.SetAccessMode(ctx, "", ModeReadWrite, false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Register(ctx, "fresh", avroIn(`"int"`)); !errors.Is(err, ErrOperationNotPermitted) {
		t.Fatalf("Register after the last ID = %v, want ErrOperationNotPermitted", err)
	}
}
