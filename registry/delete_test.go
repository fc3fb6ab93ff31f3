package registry

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDeleteSemantics(t *testing.T) {
	type op struct {
		kind      string // "subject" or "version"
		version   int
		permanent bool
		want      any // []int for subject deletes, int for version deletes
		err       error
	}
	// Every case starts from subject "s" with versions 1, 2, 3.
	tests := []struct {
		name  string
		ops   []op
		after []int // versions left, includeDeleted
		live  []int // live versions (nil: subject not found)
	}{
		{
			name:  "soft delete subject",
			ops:   []op{{kind: "subject", want: []int{1, 2, 3}}},
			after: []int{1, 2, 3},
		},
		{
			name: "soft delete subject twice",
			ops: []op{
				{kind: "subject", want: []int{1, 2, 3}},
				{kind: "subject", err: ErrSubjectSoftDeleted},
			},
			after: []int{1, 2, 3},
		},
		{
			name:  "hard delete subject needs soft delete first",
			ops:   []op{{kind: "subject", permanent: true, err: ErrSubjectNotSoftDeleted}},
			after: []int{1, 2, 3},
			live:  []int{1, 2, 3},
		},
		{
			name: "hard delete subject after one soft-deleted version is still refused",
			ops: []op{
				{kind: "version", version: 2, want: 2},
				{kind: "subject", permanent: true, err: ErrSubjectNotSoftDeleted},
			},
			after: []int{1, 2, 3},
			live:  []int{1, 3},
		},
		{
			name: "soft then hard delete subject",
			ops: []op{
				{kind: "subject", want: []int{1, 2, 3}},
				{kind: "subject", permanent: true, want: []int{1, 2, 3}},
				{kind: "subject", permanent: true, err: ErrSubjectNotFound},
				{kind: "subject", err: ErrSubjectNotFound},
			},
		},
		{
			name: "soft delete subject returns only live versions",
			ops: []op{
				{kind: "version", version: 1, want: 1},
				{kind: "subject", want: []int{2, 3}},
			},
			after: []int{1, 2, 3},
		},
		{
			name: "soft delete latest twice",
			ops: []op{
				{kind: "version", version: -1, want: 3},
				{kind: "version", version: -1, want: 2},
			},
			after: []int{1, 2, 3},
			live:  []int{1},
		},
		{
			name: "soft delete a soft-deleted version",
			ops: []op{
				{kind: "version", version: 2, want: 2},
				{kind: "version", version: 2, err: ErrVersionSoftDeleted},
			},
			after: []int{1, 2, 3},
			live:  []int{1, 3},
		},
		{
			name:  "hard delete a live version",
			ops:   []op{{kind: "version", version: 2, permanent: true, err: ErrVersionNotSoftDeleted}},
			after: []int{1, 2, 3},
			live:  []int{1, 2, 3},
		},
		{
			name: "soft then hard delete a version",
			ops: []op{
				{kind: "version", version: 2, want: 2},
				{kind: "version", version: 2, permanent: true, want: 2},
				{kind: "version", version: 2, permanent: true, err: ErrVersionNotFound},
			},
			after: []int{1, 3},
			live:  []int{1, 3},
		},
		{
			name: "hard delete latest means highest, deleted or not",
			ops: []op{
				{kind: "version", version: 3, want: 3},
				{kind: "version", version: -1, permanent: true, want: 3},
			},
			after: []int{1, 2},
			live:  []int{1, 2},
		},
		{
			name:  "missing version",
			ops:   []op{{kind: "version", version: 9, err: ErrVersionNotFound}},
			after: []int{1, 2, 3},
			live:  []int{1, 2, 3},
		},
		{
			name:  "invalid version",
			ops:   []op{{kind: "version", version: 0, err: ErrInvalidVersion}},
			after: []int{1, 2, 3},
			live:  []int{1, 2, 3},
		},
		{
			name: "delete version of soft-deleted subject",
			ops: []op{
				{kind: "subject", want: []int{1, 2, 3}},
				{kind: "version", version: 1, err: ErrSubjectNotFound},
				{kind: "version", version: 1, permanent: true, want: 1},
			},
			after: []int{2, 3},
		},
	}
	texts := []string{userV1, userV2, userV3}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			r, _ := newTestRegistry(t)
			for _, text := range texts {
				mustRegister(t, r, "s", avroIn(text))
			}
			for i, o := range tc.ops {
				var got any
				var err error
				if o.kind == "subject" {
					var vs []int
					vs, err = r.DeleteSubject(ctx, "s", o.permanent)
					if vs != nil {
						got = vs
					}
				} else {
					var v int
					v, err = r.DeleteVersion(ctx, "s", o.version, o.permanent)
					if v != 0 {
						got = v
					}
				}
				if !errors.Is(err, o.err) || (o.err == nil) != (err == nil) {
					t.Fatalf("op %d: err = %v, want %v", i, err, o.err)
				}
				if diff := cmp.Diff(o.want, got); diff != "" {
					t.Errorf("op %d: result (-want +got):\n%s", i, diff)
				}
			}
			after, err := r.Versions(ctx, "s", true)
			if tc.after == nil && !errors.Is(err, ErrSubjectNotFound) {
				t.Errorf("Versions(includeDeleted) err = %v, want ErrSubjectNotFound", err)
			}
			live, err := r.Versions(ctx, "s", false)
			if tc.live == nil && !errors.Is(err, ErrSubjectNotFound) {
				t.Errorf("Versions err = %v, want ErrSubjectNotFound", err)
			}
			if diff := cmp.Diff([][]int{tc.after, tc.live}, [][]int{after, live}); diff != "" {
				t.Errorf("versions left [all live] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSchemaByIDAfterDeletes(t *testing.T) {
	ctx := t.Context()
	r, _ := newTestRegistry(t)
	sv := mustRegister(t, r, "a", avroIn(userV1))
	mustRegister(t, r, "b", avroIn(userV1))
	steps := []struct {
		subject   string
		permanent bool
		found     bool
	}{
		{"a", false, true}, // soft-deleted rows still refer to it
		{"a", true, true},  // subject b still refers to it
		{"b", false, true},
		{"b", true, false}, // no version refers to it any more
	}
	for i, s := range steps {
		if _, err := r.DeleteSubject(ctx, s.subject, s.permanent); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		_, err := r.SchemaByID(ctx, sv.Schema.ID)
		if s.found != (err == nil) || (!s.found && !errors.Is(err, ErrSchemaNotFound)) {
			t.Errorf("step %d: SchemaByID err = %v, want found %v", i, err, s.found)
		}
	}
}
