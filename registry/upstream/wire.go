package upstream

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/schemagate/schemagate/registry"
)

// query builds the query string of a Confluent request: the flags that are true ("true"), and
// the strings that are not empty; "" when there are none.
type query url.Values

// flag sets name=true when on.
func (q query) flag(name string, on bool) query {
	if on {
		url.Values(q).Set(name, "true")
	}
	return q
}

// str sets name=value when value is not empty.
func (q query) str(name, value string) query {
	if value != "" {
		url.Values(q).Set(name, value)
	}
	return q
}

// String is "" or "?" and the encoded query.
func (q query) String() string {
	if len(q) == 0 {
		return ""
	}
	return "?" + url.Values(q).Encode()
}

// wireSchema is a schema as Confluent's requests and answers spell it: the answers of
// GET /subjects/{s}/versions/{v}, GET /schemas, POST /subjects/{s}, and the bodies of
// registrations, lookups and compatibility checks.
type wireSchema struct {
	Subject    string          `json:"subject,omitempty"`
	Version    int             `json:"version,omitempty"`
	ID         int             `json:"id,omitempty"`
	SchemaType string          `json:"schemaType,omitempty"`
	Schema     string          `json:"schema"`
	References []Reference     `json:"references,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	RuleSet    json.RawMessage `json:"ruleSet,omitempty"`
}

// wireInput is the request body of in: AVRO is left implicit, as Confluent's clients send it.
func wireInput(in registry.SchemaInput) wireSchema {
	w := wireSchema{Schema: in.Text, ID: in.ID, Version: in.Version}
	if t := strings.ToUpper(string(in.Type)); t != "" && t != string(registry.SchemaTypeAvro) {
		w.SchemaType = t
	}
	for _, ref := range in.References {
		w.References = append(w.References, Reference{Name: ref.Name, Subject: ref.Subject, Version: ref.Version})
	}
	if strings.TrimSpace(in.Metadata) != "" {
		w.Metadata = json.RawMessage(in.Metadata)
	}
	if strings.TrimSpace(in.RuleSet) != "" {
		w.RuleSet = json.RawMessage(in.RuleSet)
	}
	return w
}

// schema is w as the registry's Schema with the given ID (Confluent's answers by ID omit it).
func (w wireSchema) schema(id int) registry.Schema {
	s := registry.Schema{ID: id, Type: registry.SchemaType(strings.ToUpper(w.SchemaType)), Text: w.Schema,
		Metadata: rawObject(w.Metadata), RuleSet: rawObject(w.RuleSet)}
	if s.Type == "" {
		s.Type = registry.SchemaTypeAvro
	}
	for _, ref := range w.References {
		s.References = append(s.References, registry.Reference{Name: ref.Name, Subject: ref.Subject, Version: ref.Version})
	}
	return s
}

// subjectVersion is w as a subject version.
func (w wireSchema) subjectVersion() registry.SubjectVersion {
	return registry.SubjectVersion{Subject: w.Subject, Version: w.Version, Schema: w.schema(w.ID)}
}

// rawObject is a JSON object of an answer as the registry keeps it: compact, "" for none.
func rawObject(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return ""
	}
	b, err := json.Marshal(raw) // compacts a RawMessage
	if err != nil {
		return ""
	}
	return string(b)
}

// wireConfig is a compatibility configuration as Confluent's /config answers and requests
// spell it (answers to GET say compatibilityLevel, answers to PUT compatibility).
type wireConfig struct {
	CompatibilityLevel string `json:"compatibilityLevel,omitempty"`
	Compatibility      string `json:"compatibility,omitempty"`
	Normalize          *bool  `json:"normalize,omitempty"`
	CompatibilityGroup string `json:"compatibilityGroup,omitempty"`
	registry.ContractJSON
}

// wireConfigOf is c as a PUT /config body.
func wireConfigOf(c registry.Config) wireConfig {
	return wireConfig{Compatibility: string(c.Compatibility), Normalize: c.Normalize, CompatibilityGroup: c.CompatibilityGroup,
		ContractJSON: c.ContractJSON()}
}

// config is w as the registry's Config.
func (w wireConfig) config() registry.Config {
	level := w.CompatibilityLevel
	if level == "" {
		level = w.Compatibility
	}
	return registry.Config{Compatibility: registry.CompatibilityLevel(level), Normalize: w.Normalize,
		CompatibilityGroup: w.CompatibilityGroup}.WithContract(w.ContractJSON)
}

// wireMode is an access mode as Confluent's /mode spells it.
type wireMode struct {
	Mode string `json:"mode"`
}

// versionPath is /subjects/{subject}/versions/{version}, "latest" for -1.
func versionPath(subject string, version int) string {
	return subjectPath(subject) + "/versions/" + versionSegment(version)
}

// sortVersions orders subject versions by subject and version (upstreams answer in any order).
func sortVersions(svs []registry.SubjectVersion) {
	sort.Slice(svs, func(i, j int) bool {
		if svs[i].Subject != svs[j].Subject {
			return svs[i].Subject < svs[j].Subject
		}
		return svs[i].Version < svs[j].Version
	})
}

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }

// sortStrings and sortInts sort in place.
func sortStrings(s []string) { sort.Strings(s) }
func sortInts(s []int)       { sort.Ints(s) }

// pageOf applies offset and limit (limit <= 0: no cap) to s; never nil.
func pageOf[T any](s []T, offset, limit int) []T {
	if offset > 0 {
		s = s[min(offset, len(s)):]
	}
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	if s == nil {
		return []T{}
	}
	return s
}
