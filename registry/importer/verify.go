package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/schemagate/schemagate/registry"
)

// verify reads every upstream subject, version and schema back from the embedded registry:
// the subject's version lists (all, and live), each version's schema ID and soft-delete
// state, and each schema's content by the package's rule.
func (im *importer) verify(ctx context.Context, snap *snapshot) error {
	reg := im.opts.Target
	var diffs []string
	checked := map[int]bool{}
	for i, s := range snap.subjects {
		var all, live []int
		for _, v := range s.versions {
			all = append(all, v.number)
			if !v.deleted {
				live = append(live, v.number)
			}
		}
		for _, list := range []struct {
			what    string
			deleted bool
			want    []int
		}{{"versions", true, all}, {"live versions", false, live}} {
			got, err := reg.ListVersions(ctx, s.name, list.deleted, false)
			if errors.Is(err, registry.ErrSubjectNotFound) {
				err = nil
			}
			if err != nil {
				return fmt.Errorf("verify subject %q: %w", s.name, err)
			}
			if !slices.Equal(got, list.want) && len(got)+len(list.want) > 0 {
				diffs = append(diffs, fmt.Sprintf("subject %q: %s %v here, %v upstream", s.name, list.what, got, list.want))
			}
		}
		for _, v := range s.versions {
			diff, err := im.verifyVersion(ctx, v, checked)
			if err != nil {
				return err
			}
			if diff != "" {
				diffs = append(diffs, diff)
			}
		}
		im.progress(PhaseVerify, i+1, len(snap.subjects))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %d differences between the embedded registry and the upstream:\n  %s", ErrVerification, len(diffs), listed(diffs))
	}
	return nil
}

// verifyVersion compares one version (and its schema, the first time its ID is seen) with the
// upstream's, and says how they differ ("" when they do not).
func (im *importer) verifyVersion(ctx context.Context, v version, checked map[int]bool) (string, error) {
	reg := im.opts.Target
	sv, err := reg.SubjectVersion(ctx, v.subject, v.number, true)
	switch {
	case errors.Is(err, registry.ErrSubjectNotFound) || errors.Is(err, registry.ErrVersionNotFound):
		return fmt.Sprintf("%s is missing here", v), nil
	case err != nil:
		return "", fmt.Errorf("verify %s: %w", v, err)
	case sv.Schema.ID != v.id:
		return fmt.Sprintf("%s holds schema ID %d here", v, sv.Schema.ID), nil
	case sv.Deleted != v.deleted:
		return fmt.Sprintf("%s: soft-deleted %t here, %t upstream", v, sv.Deleted, v.deleted), nil
	case checked[v.id]:
		return "", nil
	}
	checked[v.id] = true
	diff, err := im.difference(ctx, sv.Schema, v)
	if diff != "" {
		diff = fmt.Sprintf("schema ID %d (upstream %s) differs: %s", v.id, v, diff)
	}
	return diff, err
}
