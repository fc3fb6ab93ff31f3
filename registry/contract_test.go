package registry

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The merges follow Confluent's Metadata.mergeMetadata and RuleSet.mergeRuleSets: later layers
// win key by key in tags and properties, sensitive is a sorted union, rules are replaced by
// name, and a layer alone is kept as it was given.
func TestMergeLayers(t *testing.T) {
	rule := func(name, expr string) string {
		return `{"expr":"` + expr + `","kind":"CONDITION","mode":"WRITE","name":"` + name + `","type":"CEL"}`
	}
	tests := []struct {
		name   string
		merge  func(older, newer map[string]any)
		layers []string
		want   string
	}{
		{"nothing", mergeMetadata, []string{"", "", ""}, ""},
		{"one layer kept as given", mergeMetadata, []string{"", `{"properties":{"b":"1","a":"2"}}`, ""}, `{"properties":{"b":"1","a":"2"}}`},
		{"properties: later wins", mergeMetadata,
			[]string{`{"properties":{"owner":"a","tier":"gold"}}`, `{"properties":{"owner":"b","x":"1"}}`, `{"properties":{"tier":"platinum"}}`},
			`{"properties":{"owner":"b","tier":"platinum","x":"1"}}`},
		{"tags: key by key", mergeMetadata,
			[]string{`{"tags":{"R.a":["PII"],"R.b":["X"]}}`, `{"tags":{"R.a":["PUBLIC"]}}`},
			`{"tags":{"R.a":["PUBLIC"],"R.b":["X"]}}`},
		{"sensitive: sorted union", mergeMetadata,
			[]string{`{"sensitive":["s","a"]}`, `{"sensitive":["b","a"]}`}, `{"sensitive":["a","b","s"]}`},
		{"rules: replaced by name, kept in order", mergeRuleSet,
			[]string{`{"domainRules":[` + rule("a", "1") + `,` + rule("b", "1") + `]}`, `{"domainRules":[` + rule("b", "2") + `],"migrationRules":[` + rule("m", "1") + `]}`},
			`{"domainRules":[` + rule("a", "1") + `,` + rule("b", "2") + `],"migrationRules":[` + rule("m", "1") + `]}`},
		{"rules: an empty list keeps the older ones", mergeRuleSet,
			[]string{`{"domainRules":[` + rule("a", "1") + `]}`, `{"domainRules":[]}`}, `{"domainRules":[` + rule("a", "1") + `]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mergeLayers(tt.merge, tt.layers...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("merged (-want +got):\n%s", diff)
			}
		})
	}
}

// confluent:reserved is a comma-separated list; blanks and repeats are dropped.
func TestReservedFieldsProperty(t *testing.T) {
	tests := []struct {
		metadata string
		want     []string
	}{
		{"", nil},
		{`{"properties":{"owner":"a"}}`, nil},
		{`{"properties":{"confluent:reserved":" b, a,,b "}}`, []string{"a", "b"}},
		{`{"properties":{"confluent:reserved":"x"}}`, []string{"x"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, reservedFields(tt.metadata)); diff != "" {
			t.Errorf("reservedFields(%s) (-want +got):\n%s", tt.metadata, diff)
		}
	}
}

// Registrations under a configuration with data-contract settings, on the registry itself:
// what each stores, and what it refuses, as Confluent does.
func TestRegisterWithContractConfig(t *testing.T) {
	const (
		v1      = `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`
		v2      = `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":0}]}`
		breaks  = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`
		group1  = `{"properties":{"major":"1"}}`
		group2  = `{"properties":{"major":"2"}}`
		reserve = `{"properties":{"confluent:reserved":"b"}}`
	)
	on := true
	withMeta := func(text, metadata string) SchemaInput { in := avroIn(text); in.Metadata = metadata; return in }
	type reg struct {
		in           SchemaInput
		wantVersion  int
		wantMetadata string
		wantErr      error
	}
	tests := []struct {
		name string
		cfg  Config
		regs []reg
	}{
		{"default and override metadata", Config{DefaultMetadata: `{"properties":{"owner":"a"}}`, OverrideMetadata: `{"properties":{"tier":"gold"}}`},
			[]reg{
				{withMeta(v1, `{"properties":{"owner":"b"}}`), 1, `{"properties":{"owner":"b","tier":"gold"}}`, nil},
				{avroIn(v2), 2, `{"properties":{"owner":"b","tier":"gold"}}`, nil},
				{avroIn(v2), 2, `{"properties":{"owner":"b","tier":"gold"}}`, nil},
			}},
		{"metadata carried over without config", Config{},
			[]reg{
				{withMeta(v1, group1), 1, group1, nil},
				{avroIn(v2), 2, group1, nil},
				{withMeta(v2, group2), 3, group2, nil},
			}},
		{"compatibility group", Config{CompatibilityGroup: "major"},
			[]reg{
				{withMeta(v1, group1), 1, group1, nil},
				{withMeta(breaks, group1), 0, "", ErrIncompatible},
				{withMeta(breaks, group2), 2, group2, nil},
				{withMeta(v2, group1), 3, group1, nil},
			}},
		{"reserved fields", Config{ValidateFields: &on},
			[]reg{
				{withMeta(v1, reserve), 1, reserve, nil},
				{avroIn(v2), 0, "", ErrIncompatible},
				{withMeta(v1, ""), 1, reserve, nil},
				{withMeta(v2, `{"properties":{}}`), 0, "", ErrIncompatible},
			}},
		{"reserved fields not validated", Config{},
			[]reg{
				{withMeta(v1, reserve), 1, reserve, nil},
				{avroIn(v2), 2, reserve, nil},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			if _, err := r.SetConfig(t.Context(), "s", tt.cfg); err != nil {
				t.Fatal(err)
			}
			for i, rg := range tt.regs {
				sv, err := r.Register(t.Context(), "s", rg.in)
				if !errors.Is(err, rg.wantErr) || (rg.wantErr == nil) != (err == nil) {
					t.Fatalf("registration %d: %v; want %v", i+1, err, rg.wantErr)
				}
				if err != nil {
					continue
				}
				if got := [2]any{sv.Version, sv.Schema.Metadata}; got != [2]any{rg.wantVersion, rg.wantMetadata} {
					t.Errorf("registration %d: version %d, metadata %s; want %d, %s", i+1, sv.Version, sv.Schema.Metadata, rg.wantVersion, rg.wantMetadata)
				}
			}
		})
	}
}

// IMPORT registers what it is given: no metadata from the configuration or a previous version.
func TestImportKeepsGivenMetadata(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := t.Context()
	if _, err := r.SetConfig(ctx, "s", Config{DefaultMetadata: `{"properties":{"owner":"a"}}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetAccessMode(ctx, "s", ModeImport, false); err != nil {
		t.Fatal(err)
	}
	in := avroIn(`"int"`)
	in.ID, in.Version = 7, 1
	sv := mustRegister(t, r, "s", in)
	if sv.Schema.Metadata != "" {
		t.Errorf("imported metadata %q; want none", sv.Schema.Metadata)
	}
}
