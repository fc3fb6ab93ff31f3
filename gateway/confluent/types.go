package confluent

import (
	"encoding/json"

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

// input turns a request into a registry input; the schema text is required.
func (req schemaRequest) input(normalize bool) (registry.SchemaInput, error) {
	if req.Schema == nil || *req.Schema == "" {
		return registry.SchemaInput{}, apiError{status: 422, code: 42201, msg: "Empty schema"}
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

// schemaBody is how Confluent returns a schema: schemaType only when it is not AVRO,
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
	b := schemaBody{ID: s.ID, Schema: s.Text}
	if s.Type != registry.SchemaTypeAvro {
		b.SchemaType = string(s.Type)
	}
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
type configBody struct {
	Compatibility      string `json:"compatibility,omitempty"`
	CompatibilityLevel string `json:"compatibilityLevel,omitempty"`
	Normalize          *bool  `json:"normalize,omitempty"`
	CompatibilityGroup string `json:"compatibilityGroup,omitempty"`
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
