package registry

import (
	"context"
	"errors"
	"strings"

	"github.com/schemagate/schemagate/registry/protoschema"
)

// parseProtobuf compiles a Protobuf schema. Its references are its imports: each dependency's
// reference name is the import path it is found under, its text the dependency's stored
// canonical text. The stored text is the schema's Canonical form, or its Normalized form
// with normalize. Empty text (white space only) and a schema that does not compile wrap
// ErrInvalidSchema, the latter with protoschema's "file:line:column: message" problems.
func parseProtobuf(ctx context.Context, text string, deps []dependency, lim limits, normalize bool) (*parsedSchema, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errorf(ErrInvalidSchema, "invalid PROTOBUF schema: the text is empty")
	}
	imports := make(map[string]string, len(deps))
	for _, d := range deps {
		if prev, ok := imports[d.name]; ok && prev != d.text {
			return nil, errorf(ErrInvalidSchema, "invalid PROTOBUF schema: two references are named %q with different schemas", d.name)
		}
		imports[d.name] = d.text
	}
	s, err := protoschema.Parse(ctx, text, imports, protoschema.Limits{MaxBytes: lim.maxBytes, MaxDepth: lim.maxDepth})
	if err != nil {
		var pe *protoschema.ParseError
		if errors.As(err, &pe) {
			return nil, errorf(ErrInvalidSchema, "invalid PROTOBUF schema: %s", pe.Error())
		}
		return nil, err // the context ended
	}
	p := &parsedSchema{typ: SchemaTypeProtobuf, canonical: s.Canonical(), proto: s}
	if normalize {
		p.canonical = s.Normalized()
	}
	return p, nil
}
