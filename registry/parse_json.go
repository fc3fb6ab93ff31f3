package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/schemagate/schemagate/internal/jsonpointer"
)

// JSONSchemaBaseURL is the base URL JSON Schemas are compiled at, and JSONSchemaRootURL the
// schema's own URL. They are never fetched: references resolve only to the registered schemas
// given to NewJSONSchemaCompiler. Error messages strip them.
const (
	JSONSchemaBaseURL = "https://schemagate.invalid/schemas/"
	JSONSchemaRootURL = JSONSchemaBaseURL + "schemagate-root.json"
)

// maxJSONSchemaProblems bounds how many problems one error message lists.
const maxJSONSchemaProblems = 5

// canonicalJSONSchema compiles text as a JSON Schema and returns its
// canonical text: the document compacted (insignificant whitespace removed),
// keys and string escapes kept as written.
//
// `$schema` selects the draft (4, 6, 7, 2019-09 or 2020-12); without it the
// schema is compiled as draft-07, as Confluent reads it. Each dependency is added as a resource under
// its reference name, resolved against the root's URL, so `"$ref":
// "<name>"` finds it; nothing is ever loaded from the network or the file
// system.
func canonicalJSONSchema(text string, deps []dependency) (string, error) {
	refs := make([]JSONSchemaReference, 0, len(deps))
	for _, d := range deps {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(d.text))
		if err != nil {
			return "", errorf(ErrInvalidSchema, "invalid JSON schema: referenced schema %q (subject %q version %d) is not valid JSON", d.name, d.ref.Subject, d.ref.Version)
		}
		refs = append(refs, JSONSchemaReference{Name: d.name, Doc: doc})
	}
	c, err := NewJSONSchemaCompiler(refs)
	if err != nil {
		return "", errorf(ErrInvalidSchema, "invalid JSON schema: %s", err.Error())
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return "", errorf(ErrInvalidSchema, "invalid JSON schema: not valid JSON: %s", err.Error())
	}
	if err := c.AddResource(JSONSchemaRootURL, doc); err != nil {
		return "", errorf(ErrInvalidSchema, "invalid JSON schema: %s", CleanJSONSchemaMessage(err.Error()))
	}
	if err := guard(func() error { _, err := c.Compile(JSONSchemaRootURL); return err }); err != nil {
		return "", errorf(ErrInvalidSchema, "invalid JSON schema: %s", describeJSONSchemaError(err))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return "", errorf(ErrInvalidSchema, "invalid JSON schema: not valid JSON: %s", err.Error())
	}
	return buf.String(), nil
}

// resolveRefName returns the URL a reference name stands for: absolute
// names as they are, relative names resolved against the root's URL.
func resolveRefName(name string) (string, error) {
	ref, err := url.Parse(name)
	if err != nil {
		return "", err
	}
	base, _ := url.Parse(JSONSchemaRootURL)
	u := base.ResolveReference(ref)
	u.Fragment = ""
	return u.String(), nil
}

// JSONSchemaReference is a document a JSON Schema may "$ref" by Name.
type JSONSchemaReference struct {
	Name string
	Doc  any
}

// NewJSONSchemaCompiler returns a compiler set up the way every JSON Schema of the registry is
// compiled: the draft comes from "$schema", and a schema without one is draft-07, the draft
// Confluent Schema Registry reads it as (so a tuple-form "items": [...] with "additionalItems"
// means what it means in draft-07); each reference is a resource under its name (resolved
// against JSONSchemaRootURL), and the loader serves only those references, so nothing is ever
// loaded from the network or the file system (the library's default loader reads file:// URLs
// from disk). Add the schema itself with c.AddResource(JSONSchemaRootURL, root) and compile
// JSONSchemaRootURL. The registry and the
// payload validator share it so a schema means the same thing to both.
func NewJSONSchemaCompiler(refs []JSONSchemaReference) (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	loader := &refLoader{}
	c.UseLoader(loader)
	for _, ref := range refs {
		u, err := resolveRefName(ref.Name)
		if err != nil {
			return nil, fmt.Errorf("reference name %q is not a valid URI reference", ref.Name)
		}
		if u == JSONSchemaRootURL {
			return nil, fmt.Errorf("reference name %q is reserved", ref.Name)
		}
		if err := c.AddResource(u, ref.Doc); err != nil {
			return nil, fmt.Errorf("reference %q: %s", ref.Name, CleanJSONSchemaMessage(err.Error()))
		}
		loader.add(ref.Name, ref.Doc)
	}
	return c, nil
}

// refLoader serves the referenced schemas for URLs that were not added as
// resources directly, which happens when the referring schema sets its own
// `$id` and a relative `$ref` resolves against that: a URL matches a
// reference when it equals the reference's name or ends with "/"+name.
// Every other URL is refused.
type refLoader struct {
	names []string
	docs  []any
}

func (l *refLoader) add(name string, doc any) {
	l.names = append(l.names, name)
	l.docs = append(l.docs, doc)
}

// Load implements jsonschema.URLLoader.
func (l *refLoader) Load(u string) (any, error) {
	for i, name := range l.names {
		if u == name || strings.HasSuffix(u, "/"+strings.TrimPrefix(name, "./")) {
			return l.docs[i], nil
		}
	}
	return nil, errNotAReference
}

var errNotAReference = errors.New("not a schema reference")

var englishPrinter = message.NewPrinter(language.English)

// describeJSONSchemaError turns a compile error into "what and where":
// for a schema that breaks its draft's metaschema, the JSON pointer of each
// offending keyword with the metaschema's complaint.
func describeJSONSchemaError(err error) string {
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		var problems []string
		seen := map[string]bool{}
		var walk func(e *jsonschema.ValidationError)
		walk = func(e *jsonschema.ValidationError) {
			if len(e.Causes) > 0 {
				for _, c := range e.Causes {
					walk(c)
				}
				return
			}
			ptr := jsonpointer.FromTokens(e.InstanceLocation)
			if seen[ptr] { // alternatives of one anyOf: the first says enough
				return
			}
			seen[ptr] = true
			where := "at root"
			if ptr != "" {
				where = "at " + jsonString(ptr)
			}
			problems = append(problems, where+": "+e.ErrorKind.LocalizedString(englishPrinter))
		}
		walk(ve)
		if len(problems) > maxJSONSchemaProblems {
			problems = append(problems[:maxJSONSchemaProblems], fmt.Sprintf("and %d more", len(problems)-maxJSONSchemaProblems))
		}
		if len(problems) > 0 {
			prefix := ""
			if doc := CleanJSONSchemaMessage(sve.URL); doc != "#" && doc != "" {
				prefix = "referenced schema " + jsonString(strings.TrimSuffix(doc, "#")) + ": "
			}
			return prefix + strings.Join(problems, "; ")
		}
	}
	var lue *jsonschema.LoadURLError
	if errors.As(err, &lue) {
		return fmt.Sprintf("cannot resolve %s: it is neither a standard JSON Schema draft nor the name of one of the schema's references",
			jsonString(CleanJSONSchemaMessage(lue.URL)))
	}
	return CleanJSONSchemaMessage(err.Error())
}

// CleanJSONSchemaMessage removes JSONSchemaRootURL and JSONSchemaBaseURL from a message of the
// JSON Schema library, so locations read as "#/definitions/x" and reference names as written.
func CleanJSONSchemaMessage(msg string) string {
	msg = strings.ReplaceAll(msg, JSONSchemaRootURL, "")
	return strings.ReplaceAll(msg, JSONSchemaBaseURL, "")
}
