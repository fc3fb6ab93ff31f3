package confluent

import (
	"encoding/json"
	"fmt"

	"github.com/schemagate/schemagate/registry"
)

// reference is Confluent's schema reference.
type reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// schemaRequest is the body of register, lookup and compatibility requests.
type schemaRequest struct {
	Schema     *string         `json:"schema"`
	SchemaType string          `json:"schemaType,omitempty"`
	References []reference     `json:"references,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	RuleSet    json.RawMessage `json:"ruleSet,omitempty"`
	ID         int             `json:"id,omitempty"`
	Version    int             `json:"version,omitempty"`
	Normalize  bool            `json:"normalize,omitempty"`
}

// maxID is the largest schema ID and version: Confluent's are Java ints, and the wire format
// carries an ID in 4 bytes.
const maxID = 1<<31 - 1

// input turns a request into a registry input; the schema text is required. An id or version
// outside what a Java int holds is refused here: IMPORT mode would otherwise store it, leaving
// a version no path can name and raising the ID counter past what the wire format can carry.
func (req schemaRequest) input(normalize bool) (registry.SchemaInput, error) {
	if req.Schema == nil || *req.Schema == "" {
		return registry.SchemaInput{}, apiError{status: 422, code: 42201, msg: "Empty schema"}
	}
	if req.ID < 0 || req.ID > maxID {
		return registry.SchemaInput{}, apiError{status: 422, code: 42201, msg: fmt.Sprintf("Invalid schema id %d: ids are between 1 and 2^31-1", req.ID)}
	}
	if req.Version < -1 || req.Version > maxID {
		return registry.SchemaInput{}, apiError{status: 422, code: 42202, msg: fmt.Sprintf(
			"The specified version '%d' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", req.Version)}
	}
	in := registry.SchemaInput{
		Type:      registry.SchemaType(req.SchemaType),
		Text:      *req.Schema,
		Metadata:  string(req.Metadata),
		RuleSet:   string(req.RuleSet),
		Normalize: normalize || req.Normalize,
		ID:        req.ID,
		Version:   req.Version,
	}
	for _, r := range req.References {
		in.References = append(in.References, registry.Reference{Name: r.Name, Subject: r.Subject, Version: r.Version})
	}
	return in, nil
}

// schemaBody is how Confluent 8 returns a schema (GET /schemas/ids/{id}, the versions of a
// subject, /schemas, lookup and register): schemaType always, AVRO included (Confluent 7
// left it out for AVRO; its clients read a missing schemaType as AVRO, newer ones read both);
// references, metadata and ruleSet only when present.
type schemaBody struct {
	Subject    string          `json:"subject,omitempty"`
	Version    int             `json:"version,omitempty"`
	ID         int             `json:"id,omitempty"`
	SchemaType string          `json:"schemaType,omitempty"`
	References []reference     `json:"references,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	RuleSet    json.RawMessage `json:"ruleSet,omitempty"`
	Schema     string          `json:"schema"`
	MaxID      int             `json:"maxId,omitempty"`
}

func toSchemaBody(s registry.Schema) schemaBody {
	b := schemaBody{ID: s.ID, Schema: s.Text, SchemaType: string(s.Type)}
	for _, r := range s.References {
		b.References = append(b.References, reference{Name: r.Name, Subject: r.Subject, Version: r.Version})
	}
	if s.Metadata != "" {
		b.Metadata = json.RawMessage(s.Metadata)
	}
	if s.RuleSet != "" {
		b.RuleSet = json.RawMessage(s.RuleSet)
	}
	return b
}

func toVersionBody(sv registry.SubjectVersion) schemaBody {
	b := toSchemaBody(sv.Schema)
	b.Subject, b.Version = sv.Subject, sv.Version
	return b
}

// subjectVersion is an entry of GET /schemas/ids/{id}/versions.
type subjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// configBody is Confluent's config: GET answers compatibilityLevel, PUT takes and echoes
// compatibility.
//
// JSONSchemaFormat is schemagate's own key, "schemagate.jsonSchemaFormat": what "format" does
// in JSON Schemas when payloads are validated under the subject (assert, annotate or draft;
// see registry.JSONSchemaFormat). Confluent has no such key; the "schemagate." prefix keeps it
// apart from every key Confluent has or may add (all plain camelCase names: compatibility,
// compatibilityLevel, normalize, alias, validateFields, validateRules, compatibilityGroup,
// compatibilityPolicy, defaultMetadata, overrideMetadata, defaultRuleSet, overrideRuleSet),
// and Confluent's clients ignore keys they do not know. Omitted on PUT, the current setting is
// kept; an unknown value is 42203, as an unknown level is.
//
// Alias, validateFields and the default and override metadata and rule sets are Confluent's
// data-contract keys (see registry.Config); omitted on PUT, the current value is kept, as
// Confluent 7.4+ merges a PUT with the stored configuration.
type configBody struct {
	Compatibility      string `json:"compatibility,omitempty"`
	CompatibilityLevel string `json:"compatibilityLevel,omitempty"`
	Normalize          *bool  `json:"normalize,omitempty"`
	CompatibilityGroup string `json:"compatibilityGroup,omitempty"`
	registry.ContractJSON
	JSONSchemaFormat string `json:"schemagate.jsonSchemaFormat,omitempty"`
}

// configBodyOf is c as GET and DELETE answer it (compatibilityLevel).
func configBodyOf(c registry.Config) configBody {
	return configBody{CompatibilityLevel: string(c.Compatibility), Normalize: c.Normalize, CompatibilityGroup: c.CompatibilityGroup,
		JSONSchemaFormat: string(c.JSONSchemaFormat), ContractJSON: c.ContractJSON()}
}

// config is b as a registry.Config to set, with level as its compatibility.
func (b configBody) config(level string) registry.Config {
	return registry.Config{Compatibility: registry.CompatibilityLevel(level), Normalize: b.Normalize,
		CompatibilityGroup: b.CompatibilityGroup, JSONSchemaFormat: registry.JSONSchemaFormat(b.JSONSchemaFormat)}.WithContract(b.ContractJSON)
}

type modeBody struct {
	Mode string `json:"mode"`
}

type compatibilityBody struct {
	IsCompatible bool `json:"is_compatible"`
}

// verboseCompatibilityBody always carries messages, empty when compatible.
type verboseCompatibilityBody struct {
	IsCompatible bool     `json:"is_compatible"`
	Messages     []string `json:"messages"`
}

// serverVersion is GET /v1/metadata/version: the binary's version and VCS commit ("unknown"
// when the build did not record them).
type serverVersion struct {
	Version  string `json:"version"`
	CommitID string `json:"commitId"`
}
