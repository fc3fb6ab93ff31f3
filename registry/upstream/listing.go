package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/schemagate/schemagate/registry"
)

// This file holds the reads that copy a whole registry (schemagate registry import): listings
// with soft-deleted subjects and versions, a version with its data-contract fields, and a
// subject's own settings without the global fallback.

// VersionRecord is a subject version as an import copies it: SubjectSchema plus the data
// contract fields (metadata, ruleSet) some registries attach, as the upstream's JSON objects.
type VersionRecord struct {
	SubjectSchema
	Metadata json.RawMessage `json:"metadata,omitempty"`
	RuleSet  json.RawMessage `json:"ruleSet,omitempty"`
}

// AllSubjects returns every subject, soft-deleted ones included: GET /subjects?deleted=true.
func (c *Client) AllSubjects(ctx context.Context) ([]string, error) {
	var subjects []string
	err := c.call(ctx, "subjects", http.MethodGet, "/subjects?deleted=true", nil, &subjects)
	return subjects, err
}

// AllVersions returns a subject's version numbers, soft-deleted ones included:
// GET /subjects/{subject}/versions?deleted=true.
func (c *Client) AllVersions(ctx context.Context, subject string) ([]int, error) {
	var versions []int
	err := c.call(ctx, "versions", http.MethodGet, subjectPath(subject)+"/versions?deleted=true", nil, &versions)
	return versions, err
}

// LiveVersions returns a subject's live version numbers, none (and no error) for a subject
// whose versions are all soft-deleted, which Confluent answers 40401.
func (c *Client) LiveVersions(ctx context.Context, subject string) ([]int, error) {
	versions, err := c.Versions(ctx, subject)
	if errors.Is(err, registry.ErrSubjectNotFound) {
		return nil, nil
	}
	return versions, err
}

// VersionRecord returns a subject version, soft-deleted or not, with its data-contract fields:
// GET /subjects/{subject}/versions/{version}?deleted=true. SchemaType "" reads as "AVRO".
func (c *Client) VersionRecord(ctx context.Context, subject string, version int) (VersionRecord, error) {
	var v VersionRecord
	err := c.call(ctx, "subject_version", http.MethodGet, subjectPath(subject)+"/versions/"+versionSegment(version)+"?deleted=true", nil, &v)
	v.Schema = withType(v.Schema)
	return v, err
}

// OwnConfig returns the compatibility level set on the subject itself, and false when it has
// none: GET /config/{subject}?defaultToGlobal=false. A 404 answer (Confluent's 40408, or 40401
// from registries that name the subject instead) means none.
func (c *Client) OwnConfig(ctx context.Context, subject string) (string, bool, error) {
	var r struct {
		CompatibilityLevel string `json:"compatibilityLevel"`
	}
	err := c.call(ctx, "config", http.MethodGet, settingPath("config", subject)+"?defaultToGlobal=false", nil, &r)
	return ownSetting(r.CompatibilityLevel, err)
}

// OwnMode returns the mode set on the subject itself, and false when it has none:
// GET /mode/{subject}?defaultToGlobal=false, a 404 answer meaning none as for OwnConfig.
func (c *Client) OwnMode(ctx context.Context, subject string) (string, bool, error) {
	var r struct {
		Mode string `json:"mode"`
	}
	err := c.call(ctx, "mode", http.MethodGet, settingPath("mode", subject)+"?defaultToGlobal=false", nil, &r)
	return ownSetting(r.Mode, err)
}

// ownSetting reads a subject-level setting's answer: a 404 is "not set".
func ownSetting(value string, err error) (string, bool, error) {
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return value, value != "", nil
}
