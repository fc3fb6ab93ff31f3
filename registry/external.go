package registry

import "context"

// ResolvedReference is a schema that a schema held by another registry references, directly or
// transitively: the reference (its name in the referring schema, and the subject version it
// points to) and the referenced schema's type and text as that registry holds them.
type ResolvedReference struct {
	Reference Reference
	Type      SchemaType
	Text      string
}

// storedLimits bounds the parsing of a schema some registry already accepted: its text is not
// refused again for its size or depth (the limits applied when it was registered).
var storedLimits = limits{maxBytes: 1 << 30, maxDepth: 1 << 20}

// ResolveSchema parses s, a schema held by another registry (the upstream of upstream mode),
// with deps into a Resolved, as Registry.Resolved does for a stored schema. deps are every
// schema s references, directly or transitively, each after the schemas it references. The
// size and nesting limits are not applied (the registry that holds s accepted it); a schema
// that does not parse, or whose type is not supported, wraps ErrInvalidSchema; a cancelled ctx
// (Protobuf compiles check it) is ctx.Err().
func ResolveSchema(ctx context.Context, s Schema, deps []ResolvedReference) (Resolved, error) {
	typ, err := parseSchemaType(string(s.Type))
	if err != nil {
		return Resolved{}, err
	}
	ds := make([]dependency, len(deps))
	for i, d := range deps {
		dt, err := parseSchemaType(string(d.Type))
		if err != nil {
			return Resolved{}, err
		}
		ds[i] = dependency{name: d.Reference.Name, ref: d.Reference, typ: dt, text: d.Text}
	}
	p, err := parse(ctx, typ, s.Text, ds, storedLimits, false)
	if err != nil {
		return Resolved{}, err
	}
	s.Type = typ
	return resolved(s.clone(), p), nil
}
