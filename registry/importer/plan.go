package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/schemagate/schemagate/registry"
)

// maxListed bounds the conflicts and differences an error names one by one.
const maxListed = 10

// plan is what the import will write, decided before the first write.
type plan struct {
	summary      Summary         // what is present already; apply adds what it writes
	register     []version       // versions to register, by schema ID, subject and version
	softDelete   []version       // versions to soft-delete once registered, in reverse order
	newSubjects  map[string]bool // subjects without any version here yet
	newSchemas   map[int]bool    // schema IDs not here yet
	openSubjects []string        // subjects that get a version or a soft delete, sorted
}

// plan compares the upstream with the embedded registry: what is present, what is to write,
// and the conflicts, which stop the import here.
func (im *importer) plan(ctx context.Context, snap *snapshot) (*plan, error) {
	reg := im.opts.Target
	p := &plan{newSubjects: map[string]bool{}, newSchemas: map[int]bool{}}
	var conflicts []string
	seen := map[int]bool{}
	open := map[string]bool{}
	for _, s := range snap.subjects {
		here := false
		for _, v := range s.versions {
			sv, err := reg.SubjectVersion(ctx, v.subject, v.number, true)
			switch {
			case errors.Is(err, registry.ErrSubjectNotFound) || errors.Is(err, registry.ErrVersionNotFound):
				p.register = append(p.register, v)
				open[s.name] = true
				if v.deleted {
					p.softDelete = append(p.softDelete, v)
				}
			case err != nil:
				return nil, fmt.Errorf("read %s here: %w", v, err)
			case sv.Schema.ID != v.id:
				conflicts = append(conflicts, fmt.Sprintf("subject %q version %d holds schema ID %d here, ID %d upstream", v.subject, v.number, sv.Schema.ID, v.id))
			default:
				here = true
				p.summary.Versions.Present++
				switch {
				case v.deleted && sv.Deleted:
					p.summary.SoftDeleted.Present++
				case v.deleted:
					p.softDelete = append(p.softDelete, v)
					open[s.name] = true
				}
			}
			if seen[v.id] {
				continue
			}
			seen[v.id] = true
			stored, err := reg.SchemaByID(ctx, v.id)
			switch {
			case errors.Is(err, registry.ErrSchemaNotFound):
				p.newSchemas[v.id] = true
				continue
			case err != nil:
				return nil, fmt.Errorf("read schema ID %d here: %w", v.id, err)
			}
			diff, err := im.difference(ctx, stored, v)
			if err != nil {
				return nil, err
			}
			if diff != "" {
				conflicts = append(conflicts, fmt.Sprintf("schema ID %d (upstream %s) differs: %s", v.id, v, diff))
				continue
			}
			p.summary.Schemas.Present++
		}
		if here {
			p.summary.Subjects.Present++
		} else {
			p.newSubjects[s.name] = true
		}
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("%w: %d conflicts, nothing was imported:\n  %s", ErrConflict, len(conflicts), listed(conflicts))
	}
	slices.SortFunc(p.register, byID)
	slices.SortFunc(p.softDelete, func(a, b version) int { return byID(b, a) })
	for s := range open {
		p.openSubjects = append(p.openSubjects, s)
	}
	slices.Sort(p.openSubjects)
	return p, nil
}

// byID orders versions by schema ID, subject and version.
func byID(a, b version) int {
	return cmp.Or(cmp.Compare(a.id, b.id), strings.Compare(a.subject, b.subject), cmp.Compare(a.number, b.number))
}

// listed joins up to maxListed items, one a line, saying how many more there are.
func listed(items []string) string {
	out := strings.Join(items[:min(len(items), maxListed)], "\n  ")
	if len(items) > maxListed {
		out += fmt.Sprintf("\n  … and %d more", len(items)-maxListed)
	}
	return out
}

// difference compares a schema stored here with the upstream's version v of the same ID, by
// the package's rule (type, references, data-contract fields, canonical text with JSON keys
// sorted), and says how they differ ("" when they are the same).
func (im *importer) difference(ctx context.Context, stored registry.Schema, v version) (string, error) {
	if stored.Type != v.in.Type {
		return fmt.Sprintf("type %s here, %s upstream", stored.Type, v.in.Type), nil
	}
	if !slices.Equal(stored.References, v.in.References) && !(len(stored.References) == 0 && len(v.in.References) == 0) {
		return fmt.Sprintf("references %v here, %v upstream", stored.References, v.in.References), nil
	}
	reg := im.opts.Target
	here, err := reg.CanonicalSchema(ctx, registry.SchemaInput{Type: stored.Type, Text: stored.Text, References: stored.References,
		Metadata: stored.Metadata, RuleSet: stored.RuleSet, Normalize: true})
	if err != nil {
		return "", fmt.Errorf("canonical form of schema ID %d here: %w", stored.ID, err)
	}
	in := v.in
	in.ID, in.Version, in.Normalize = 0, 0, true
	there, err := reg.CanonicalSchema(ctx, in)
	if errors.Is(err, registry.ErrInvalidSchema) || errors.Is(err, registry.ErrReferenceNotFound) {
		return fmt.Sprintf("the upstream's schema is not one the registry accepts: %v", err), nil
	}
	if err != nil {
		return "", fmt.Errorf("canonical form of upstream %s: %w", v, err)
	}
	switch {
	case here.Metadata != there.Metadata:
		return fmt.Sprintf("metadata %s here, %s upstream", orNone(here.Metadata), orNone(there.Metadata)), nil
	case here.RuleSet != there.RuleSet:
		return fmt.Sprintf("ruleSet %s here, %s upstream", orNone(here.RuleSet), orNone(there.RuleSet)), nil
	case here.Text != there.Text:
		return "canonical texts differ " + firstDifference(here.Text, there.Text), nil
	}
	return "", nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// firstDifference shows where two texts part: the byte offset and a little of each.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-20)
	excerpt := func(s string) string { return fmt.Sprintf("%q", s[from:min(len(s), i+40)]) }
	return fmt.Sprintf("at byte %d: here …%s…, upstream …%s…", i, excerpt(a), excerpt(b))
}
