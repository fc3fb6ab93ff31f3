package registry

import "context"

// CanonicalSchema returns in as Register would store it, without storing anything: its type,
// its canonical text, its references and its data-contract fields (Schema.ID is 0). References
// resolve against this registry's versions, soft-deleted ones included (a stored schema keeps
// what it was registered with). in.Normalize is applied as given; the subject's configuration
// is not consulted. A text that does not parse wraps ErrInvalidSchema, a reference that names
// no version wraps ErrReferenceNotFound.
//
// Two inputs are the same schema for the registry when their CanonicalSchema are equal; the
// import from another registry compares schemas this way.
func (r *Registry) CanonicalSchema(ctx context.Context, in SchemaInput) (Schema, error) {
	typ, err := parseSchemaType(string(in.Type))
	if err != nil {
		return Schema{}, err
	}
	refs, err := validateReferences(in.References)
	if err != nil {
		return Schema{}, err
	}
	metadata, err := compactObject("metadata", in.Metadata)
	if err != nil {
		return Schema{}, err
	}
	ruleSet, err := compactObject("ruleSet", in.RuleSet)
	if err != nil {
		return Schema{}, err
	}
	deps, err := r.resolveDependenciesIn(ctx, r.db.SQL(), refs)
	if err != nil {
		return Schema{}, r.storeErr("resolving schema references", err)
	}
	p, err := parse(ctx, typ, in.Text, deps, r.lim, in.Normalize)
	if err != nil {
		return Schema{}, err
	}
	p.metadata, p.ruleSet = metadata, ruleSet
	return p.schema(refs), nil
}
