package upstream

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Latest is the version argument that names a subject's latest version.
const Latest = -1

// Reference is a schema's reference to a subject version, as Confluent's API spells it.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Schema is a schema as registered: its text, type and references. SchemaType "" is what
// Confluent answers for AVRO; the methods of Client answer "AVRO" instead, so that upstreams
// that spell it out and upstreams that leave it out read the same.
type Schema struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
}

// SubjectSchema is a subject version: GET /subjects/{subject}/versions/{version}.
type SubjectSchema struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
	ID      int    `json:"id"`
	Schema
}

// SubjectVersion names one version of one subject.
type SubjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Registered is the upstream's answer to a registration: the schema ID, and the version when
// the upstream says it (Confluent answers the ID only: Version is then 0).
type Registered struct {
	ID      int `json:"id"`
	Version int `json:"version,omitempty"`
}

// withType answers "AVRO" for a schema type the upstream left out.
func withType(s Schema) Schema {
	if s.SchemaType == "" {
		s.SchemaType = "AVRO"
	}
	return s
}

// subjectPath is "/subjects/" and the escaped subject ("a/b" becomes "a%2Fb").
func subjectPath(subject string) string { return "/subjects/" + url.PathEscape(subject) }

// versionSegment is "latest" for Latest, and the number otherwise.
func versionSegment(version int) string {
	if version == Latest {
		return "latest"
	}
	return strconv.Itoa(version)
}

// permanentQuery is "?permanent=true" for a permanent delete, and "" otherwise.
func permanentQuery(permanent bool) string {
	if permanent {
		return "?permanent=true"
	}
	return ""
}

// SchemaByID returns the schema with that ID: GET /schemas/ids/{id}. (Confluent's answer has
// no subject nor version.)
func (c *Client) SchemaByID(ctx context.Context, id int) (Schema, error) {
	var s Schema
	err := c.call(ctx, "schema_by_id", http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), nil, &s)
	return withType(s), err
}

// SubjectVersionsOfSchema returns the subject versions that use the schema with that ID:
// GET /schemas/ids/{id}/versions.
func (c *Client) SubjectVersionsOfSchema(ctx context.Context, id int) ([]SubjectVersion, error) {
	var vs []SubjectVersion
	err := c.call(ctx, "subject_versions_of_schema", http.MethodGet, "/schemas/ids/"+strconv.Itoa(id)+"/versions", nil, &vs)
	return vs, err
}

// Subjects returns the subjects that have a live version: GET /subjects.
func (c *Client) Subjects(ctx context.Context) ([]string, error) {
	var subjects []string
	err := c.call(ctx, "subjects", http.MethodGet, "/subjects", nil, &subjects)
	return subjects, err
}

// Versions returns a subject's live version numbers: GET /subjects/{subject}/versions.
func (c *Client) Versions(ctx context.Context, subject string) ([]int, error) {
	var versions []int
	err := c.call(ctx, "versions", http.MethodGet, subjectPath(subject)+"/versions", nil, &versions)
	return versions, err
}

// SubjectVersion returns a subject version (Latest for the latest):
// GET /subjects/{subject}/versions/{version}.
func (c *Client) SubjectVersion(ctx context.Context, subject string, version int) (SubjectSchema, error) {
	var s SubjectSchema
	err := c.call(ctx, "subject_version", http.MethodGet, subjectPath(subject)+"/versions/"+versionSegment(version), nil, &s)
	s.Schema = withType(s.Schema)
	return s, err
}

// Register registers a schema under a subject, or finds it registered already:
// POST /subjects/{subject}/versions. It is sent once, never retried.
func (c *Client) Register(ctx context.Context, subject string, s Schema) (Registered, error) {
	var r Registered
	err := c.call(ctx, "register", http.MethodPost, subjectPath(subject)+"/versions", s, &r)
	return r, err
}

// CheckCompatibility reports whether a schema is compatible with a subject version (Latest for
// the latest) under the subject's compatibility level:
// POST /compatibility/subjects/{subject}/versions/{version}.
func (c *Client) CheckCompatibility(ctx context.Context, subject string, version int, s Schema) (bool, error) {
	var r struct {
		IsCompatible bool `json:"is_compatible"`
	}
	err := c.call(ctx, "check_compatibility", http.MethodPost, "/compatibility"+subjectPath(subject)+"/versions/"+versionSegment(version), s, &r)
	return r.IsCompatible, err
}

// DeleteSubject deletes a subject's versions, soft or permanent, and returns their numbers:
// DELETE /subjects/{subject}[?permanent=true].
func (c *Client) DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	var versions []int
	err := c.call(ctx, "delete_subject", http.MethodDelete, subjectPath(subject)+permanentQuery(permanent), nil, &versions)
	return versions, err
}

// DeleteVersion deletes a subject version, soft or permanent, and returns its number:
// DELETE /subjects/{subject}/versions/{version}[?permanent=true].
func (c *Client) DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error) {
	var v int
	err := c.call(ctx, "delete_version", http.MethodDelete, subjectPath(subject)+"/versions/"+versionSegment(version)+permanentQuery(permanent), nil, &v)
	return v, err
}

// settingPath is /{kind} for the global setting (subject "") and /{kind}/{subject} otherwise.
func settingPath(kind, subject string) string {
	if subject == "" {
		return "/" + kind
	}
	return "/" + kind + "/" + url.PathEscape(subject)
}

// Config returns the compatibility level of a subject, or the global one for subject "":
// GET /config[/{subject}]. A subject without a level of its own is an *APIError 40408 (the
// upstream does not fall back to the global level).
func (c *Client) Config(ctx context.Context, subject string) (string, error) {
	var r struct {
		CompatibilityLevel string `json:"compatibilityLevel"`
	}
	err := c.call(ctx, "config", http.MethodGet, settingPath("config", subject), nil, &r)
	return r.CompatibilityLevel, err
}

// SetConfig sets the compatibility level (BACKWARD, FULL_TRANSITIVE, …) of a subject, or the
// global one for subject "": PUT /config[/{subject}].
func (c *Client) SetConfig(ctx context.Context, subject, level string) error {
	in := struct {
		Compatibility string `json:"compatibility"`
	}{level}
	return c.call(ctx, "set_config", http.MethodPut, settingPath("config", subject), in, nil)
}

// DeleteConfig removes a subject's compatibility level, or resets the global one for subject
// "": DELETE /config[/{subject}].
func (c *Client) DeleteConfig(ctx context.Context, subject string) error {
	return c.call(ctx, "delete_config", http.MethodDelete, settingPath("config", subject), nil, nil)
}

// Mode returns the mode (READWRITE, READONLY, IMPORT) of a subject, or the global one for
// subject "": GET /mode[/{subject}].
func (c *Client) Mode(ctx context.Context, subject string) (string, error) {
	var r struct {
		Mode string `json:"mode"`
	}
	err := c.call(ctx, "mode", http.MethodGet, settingPath("mode", subject), nil, &r)
	return r.Mode, err
}

// SetMode sets the mode of a subject, or the global one for subject "": PUT /mode[/{subject}].
func (c *Client) SetMode(ctx context.Context, subject, mode string) error {
	in := struct {
		Mode string `json:"mode"`
	}{mode}
	return c.call(ctx, "set_mode", http.MethodPut, settingPath("mode", subject), in, nil)
}

// DeleteMode removes a subject's mode, or resets the global one for subject "":
// DELETE /mode[/{subject}].
func (c *Client) DeleteMode(ctx context.Context, subject string) error {
	return c.call(ctx, "delete_mode", http.MethodDelete, settingPath("mode", subject), nil, nil)
}
