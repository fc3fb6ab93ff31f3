package registry

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hamba/avro/v2"
)

// Data contracts: what a configuration adds to registrations, as Confluent 7.4+ does.
//
//   - Metadata and rule sets: a new version's metadata is the configuration's defaultMetadata,
//     then what the registration brings (or, when it brings none, what the subject's latest live
//     version has), then overrideMetadata, each merged over the one before (Confluent's
//     maybeSetMetadataRuleSet); rule sets the same. The merged ones are the version's, and part
//     of its identity: registering the same schema again finds the version with the same merged
//     metadata. IMPORT mode registers what it is given.
//   - compatibilityGroup names a metadata property: a new version is checked only against the
//     versions whose property has the same value (absent counts as a value of its own), so a
//     new value starts a new line of versions.
//   - validateFields turns on the confluent:reserved check: the property lists field names,
//     comma-separated; a new version may not drop a name the latest live version reserves, nor
//     have a top-level field with a reserved name. Confluent reports both as incompatibility
//     (409). With it, Confluent also checks Avro names strictly; schemagate checks every Avro
//     name strictly ([A-Za-z_][A-Za-z0-9_]*) whatever the setting.
//   - alias: requests addressed to a subject whose configuration names an alias reach that
//     subject instead (the gateway follows it; see SubjectAlias).

// ContractJSON is the data-contract part of a configuration as Confluent's REST API spells it
// in /config bodies. Both sides of that API embed it (the gateway's server and the upstream
// client), so its keys are spelt in one place.
type ContractJSON struct {
	Alias            string          `json:"alias,omitempty"`
	ValidateFields   *bool           `json:"validateFields,omitempty"`
	DefaultMetadata  json.RawMessage `json:"defaultMetadata,omitempty"`
	OverrideMetadata json.RawMessage `json:"overrideMetadata,omitempty"`
	DefaultRuleSet   json.RawMessage `json:"defaultRuleSet,omitempty"`
	OverrideRuleSet  json.RawMessage `json:"overrideRuleSet,omitempty"`
}

// ContractJSON returns c's data-contract settings as a /config body spells them.
func (c Config) ContractJSON() ContractJSON {
	return ContractJSON{Alias: c.Alias, ValidateFields: c.ValidateFields,
		DefaultMetadata: objectJSON(c.DefaultMetadata), OverrideMetadata: objectJSON(c.OverrideMetadata),
		DefaultRuleSet: objectJSON(c.DefaultRuleSet), OverrideRuleSet: objectJSON(c.OverrideRuleSet)}
}

// WithContract returns c with j's data-contract settings (JSON null counts as not set; SetConfig
// checks the objects).
func (c Config) WithContract(j ContractJSON) Config {
	c.Alias, c.ValidateFields = j.Alias, j.ValidateFields
	c.DefaultMetadata, c.OverrideMetadata = objectText(j.DefaultMetadata), objectText(j.OverrideMetadata)
	c.DefaultRuleSet, c.OverrideRuleSet = objectText(j.DefaultRuleSet), objectText(j.OverrideRuleSet)
	return c
}

// objectJSON is a stored JSON object as a body field, omitted when "".
func objectJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// objectText is a body field's JSON text, "" when absent or null.
func objectText(m json.RawMessage) string {
	if s := strings.TrimSpace(string(m)); s != "null" {
		return s
	}
	return ""
}

// reservedProperty is the metadata property that lists reserved field names.
const reservedProperty = "confluent:reserved"

// checkContractConfig checks the contract fields of a configuration being set and compacts its
// JSON objects; a bad one wraps ErrInvalidCompatibility.
func checkContractConfig(c *Config) error {
	if c.Alias != "" {
		if err := validateSubject(c.Alias); err != nil {
			return errorf(ErrInvalidCompatibility, "Invalid alias %q: %s", c.Alias, strings.TrimPrefix(err.Error(), "invalid subject: "))
		}
	}
	for _, f := range []struct {
		name string
		text *string
	}{{"defaultMetadata", &c.DefaultMetadata}, {"overrideMetadata", &c.OverrideMetadata},
		{"defaultRuleSet", &c.DefaultRuleSet}, {"overrideRuleSet", &c.OverrideRuleSet}} {
		out, err := compactObject(f.name, *f.text)
		if err != nil {
			return errorf(ErrInvalidCompatibility, "Invalid %s: want a JSON object", f.name)
		}
		*f.text = out
	}
	return nil
}

// keepContractConfig fills the contract fields a configuration update leaves unset from cur, the
// stored configuration (a Confluent PUT merges with what is stored).
func keepContractConfig(c *Config, cur Config) {
	c.Alias = cmp.Or(c.Alias, cur.Alias)
	if c.ValidateFields == nil {
		c.ValidateFields = cur.ValidateFields
	}
	c.DefaultMetadata = cmp.Or(c.DefaultMetadata, cur.DefaultMetadata)
	c.OverrideMetadata = cmp.Or(c.OverrideMetadata, cur.OverrideMetadata)
	c.DefaultRuleSet = cmp.Or(c.DefaultRuleSet, cur.DefaultRuleSet)
	c.OverrideRuleSet = cmp.Or(c.OverrideRuleSet, cur.OverrideRuleSet)
}

// SubjectAlias returns the subject that requests addressed to subject reach: the alias in
// subject's own configuration, else subject itself. One hop only, as Confluent follows it. It
// is read from memory when the registry serves reads from memory.
func (r *Registry) SubjectAlias(ctx context.Context, subject string) (string, error) {
	if err := validateSubject(subject); err != nil {
		return "", err
	}
	c, _, err := r.configRow(ctx, r.db.SQL(), subject)
	if err != nil {
		return "", r.storeErr("reading a compatibility configuration", err)
	}
	return cmp.Or(c.Alias, subject), nil
}

// applyContract sets p's metadata and rule set to what a registration of in under subject
// stores: in's merged with the configuration's defaults and overrides, in's replaced by the
// latest live version's when in brings none. Outside IMPORT mode only.
func (r *Registry) applyContract(ctx context.Context, subject string, p *parsedSchema, metadata, ruleSet string) error {
	db := r.db.SQL()
	mode, err := r.effectiveMode(ctx, db, subject)
	if err != nil || mode == ModeImport {
		return err
	}
	cfg, err := r.effectiveConfig(ctx, db, subject)
	if err != nil {
		return err
	}
	if metadata == "" || ruleSet == "" {
		prev, found, err := r.latestLive(ctx, db, subject)
		if err != nil {
			return err
		}
		if found {
			metadata, ruleSet = cmp.Or(metadata, prev.Metadata), cmp.Or(ruleSet, prev.RuleSet)
		}
	}
	if metadata, err = mergeLayers(mergeMetadata, cfg.DefaultMetadata, metadata, cfg.OverrideMetadata); err != nil {
		return err
	}
	if ruleSet, err = mergeLayers(mergeRuleSet, cfg.DefaultRuleSet, ruleSet, cfg.OverrideRuleSet); err != nil {
		return err
	}
	p.metadata, p.ruleSet = metadata, ruleSet
	return nil
}

// latestLive returns the schema of subject's latest live version.
func (r *Registry) latestLive(ctx context.Context, db querier, subject string) (Schema, bool, error) {
	rows, err := r.versionRows(ctx, db, subject)
	if err != nil {
		return Schema{}, false, err
	}
	latest := liveVersions(rows, false)
	if len(latest) == 0 {
		return Schema{}, false, nil
	}
	return r.schemaRow(ctx, db, latest[0].schemaID)
}

// sameContent returns the newest of rows whose schema has s's type, text and references,
// whatever its metadata and rule set.
func (r *Registry) sameContent(ctx context.Context, rows []versionRow, s Schema) (versionRow, bool, error) {
	want := fingerprint(s.Type, s.Text, s.References)
	for i := len(rows) - 1; i >= 0; i-- {
		held, found, err := r.schemaRow(ctx, r.db.SQL(), rows[i].schemaID)
		if err != nil {
			return versionRow{}, false, err
		}
		if found && fingerprint(held.Type, held.Text, held.References) == want {
			return rows[i], true, nil
		}
	}
	return versionRow{}, false, nil
}

// mergeLayers merges each layer over the ones before it.
func mergeLayers(merge func(older, newer map[string]any), layers ...string) (string, error) {
	var out map[string]any
	n := 0
	for _, l := range layers {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			return "", fmt.Errorf("stored metadata or rule set is not a JSON object: %w", err)
		}
		if n++; out == nil {
			out = m
			continue
		}
		merge(out, m)
	}
	if n <= 1 { // nothing merged: keep the text as it was given
		for _, l := range layers {
			if l != "" {
				return l, nil
			}
		}
		return "", nil
	}
	b, err := marshalJSON(out)
	return string(b), err
}

// mergeMetadata merges newer into older as Confluent's Metadata.mergeMetadata does: the tags
// and properties maps key by key (newer wins), the sensitive sets as a union; any other key
// is newer's.
func mergeMetadata(older, newer map[string]any) {
	for k, v := range newer {
		switch ov, nv := older[k], v; {
		case (k == "tags" || k == "properties") && isObject(ov) && isObject(nv):
			merged := map[string]any{}
			for kk, vv := range ov.(map[string]any) {
				merged[kk] = vv
			}
			for kk, vv := range nv.(map[string]any) {
				merged[kk] = vv
			}
			older[k] = merged
		case k == "sensitive" && isArray(ov) && isArray(nv):
			older[k] = unionStrings(ov.([]any), nv.([]any))
		default:
			older[k] = v
		}
	}
}

// mergeRuleSet merges newer into older as Confluent's RuleSet.mergeRuleSets does: for each list
// of rules, older's rules that newer does not name again, then newer's; any other key is
// newer's.
func mergeRuleSet(older, newer map[string]any) {
	for k, v := range newer {
		ov, _ := older[k].([]any)
		nv, isList := v.([]any)
		switch {
		case !isList || len(ov) == 0:
			older[k] = v
		case len(nv) == 0: // an empty list keeps older's, as Confluent's merge does
		default:
			names := map[string]bool{}
			for _, rule := range nv {
				names[ruleName(rule)] = true
			}
			var merged []any
			for _, rule := range ov {
				if !names[ruleName(rule)] {
					merged = append(merged, rule)
				}
			}
			older[k] = append(merged, nv...)
		}
	}
}

func ruleName(rule any) string {
	m, _ := rule.(map[string]any)
	name, _ := m["name"].(string)
	return name
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }

func isArray(v any) bool { _, ok := v.([]any); return ok }

// unionStrings is the sorted union of two JSON arrays of strings (other items are kept once).
func unionStrings(a, b []any) []any {
	seen := map[string]bool{}
	var out []string
	for _, v := range slices.Concat(a, b) {
		s := fmt.Sprint(v)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.Sort(out)
	res := make([]any, len(out))
	for i, s := range out {
		res[i] = s
	}
	return res
}

// metadataProperty returns a property of a metadata object ("" text: none).
func metadataProperty(metadata, key string) (string, bool) {
	if metadata == "" {
		return "", false
	}
	var m struct {
		Properties map[string]string `json:"properties"`
	}
	if json.Unmarshal([]byte(metadata), &m) != nil {
		return "", false
	}
	v, ok := m.Properties[key]
	return v, ok
}

// contractRules is what of a configuration the compatibility check of a registration depends
// on besides the level; a check is reused inside the write transaction only when they are the
// same.
type contractRules struct {
	group          string
	validateFields bool
}

// rulesOf returns cfg's contractRules.
func rulesOf(cfg Config) contractRules {
	return contractRules{group: cfg.CompatibilityGroup, validateFields: cfg.ValidateFields != nil && *cfg.ValidateFields}
}

// contractCheck returns the rows a candidate for subject is checked against under cfg (those
// of its compatibility group) and Confluent's messages for its reserved-field violations when
// cfg validates fields, followed by the settings they were found under.
func (r *Registry) contractCheck(ctx context.Context, db querier, cfg Config, rows []versionRow, candidate *parsedSchema) ([]versionRow, []string, error) {
	var msgs []string
	if rulesOf(cfg).validateFields {
		found, err := r.reservedFieldMessages(ctx, db, rows, candidate)
		if err != nil {
			return nil, nil, err
		}
		if len(found) > 0 {
			msgs = append(found, fmt.Sprintf("{validateFields: 'true', compatibility: '%s'}", cfg.Compatibility))
		}
	}
	rows, err := r.sameGroup(ctx, db, cfg.CompatibilityGroup, rows, candidate)
	return rows, msgs, err
}

// sameGroup returns the rows whose schema's metadata has the same value of the group property
// as candidate's (absent matching absent), as Confluent filters by compatibilityGroup; all
// rows when group is "".
func (r *Registry) sameGroup(ctx context.Context, db querier, group string, rows []versionRow, candidate *parsedSchema) ([]versionRow, error) {
	if group == "" {
		return rows, nil
	}
	want, wantOK := metadataProperty(candidate.metadata, group)
	var out []versionRow
	for _, row := range rows {
		s, _, err := r.schemaRow(ctx, db, row.schemaID)
		if err != nil {
			return nil, err
		}
		if got, ok := metadataProperty(s.Metadata, group); ok == wantOK && got == want {
			out = append(out, row)
		}
	}
	return out, nil
}

// reservedFieldMessages returns Confluent's messages for candidate's confluent:reserved
// violations: names the latest live version among rows reserves that candidate no longer does,
// then reserved names candidate has as top-level fields.
func (r *Registry) reservedFieldMessages(ctx context.Context, db querier, rows []versionRow, candidate *parsedSchema) ([]string, error) {
	reserved := reservedFields(candidate.metadata)
	var msgs []string
	if latest := liveVersions(rows, false); len(latest) > 0 {
		prev, _, err := r.schemaRow(ctx, db, latest[0].schemaID)
		if err != nil {
			return nil, err
		}
		for _, name := range reservedFields(prev.Metadata) {
			if !slices.Contains(reserved, name) {
				msgs = append(msgs, fmt.Sprintf("The new schema has reserved field %s removed from its metadata which is present in the old schema's metadata.", name))
			}
		}
	}
	fields := topLevelFields(candidate)
	for _, name := range reserved {
		if fields[name] {
			msgs = append(msgs, fmt.Sprintf("The new schema has field that conflicts with the reserved field %s.", name))
		}
	}
	return msgs, nil
}

// reservedFields returns the names the confluent:reserved property of metadata lists, sorted.
func reservedFields(metadata string) []string {
	v, _ := metadataProperty(metadata, reservedProperty)
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// topLevelFields returns the names of p's top-level fields: an Avro record's fields, a JSON
// Schema's top-level properties.
func topLevelFields(p *parsedSchema) map[string]bool {
	out := map[string]bool{}
	switch p.typ {
	case SchemaTypeAvro:
		if rec, ok := p.avro.(*avro.RecordSchema); ok {
			for _, f := range rec.Fields() {
				out[f.Name()] = true
			}
		}
	case SchemaTypeJSON:
		if root, ok := p.jsonRoot.(map[string]any); ok {
			if props, ok := root["properties"].(map[string]any); ok {
				for name := range props {
					out[name] = true
				}
			}
		}
	}
	return out
}
