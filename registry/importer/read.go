package importer

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/schemagate/schemagate/registry"
)

// snapshot is what the import read from the upstream.
type snapshot struct {
	globalConfig string
	globalMode   string
	subjects     []subject // sorted by name
}

// subject is one upstream subject: every version (soft-deleted ones included), and the
// settings set on the subject itself ("" when none).
type subject struct {
	name     string
	versions []version // ascending
	config   string
	mode     string
}

// version is one upstream subject version.
type version struct {
	subject string
	number  int
	id      int
	deleted bool
	in      registry.SchemaInput // what the upstream holds, as the registry takes it (ID and Version set)
}

// String names the version as error messages do.
func (v version) String() string {
	return fmt.Sprintf("subject %q version %d (schema ID %d)", v.subject, v.number, v.id)
}

// read lists the upstream: its global settings, then every subject with Workers subjects read
// at once.
func (im *importer) read(ctx context.Context) (*snapshot, error) {
	src := im.opts.Source
	snap := &snapshot{}
	var err error
	if snap.globalConfig, err = src.Config(ctx, ""); err != nil {
		return nil, fmt.Errorf("read the upstream's global compatibility level: %w", err)
	}
	if snap.globalMode, err = src.Mode(ctx, ""); err != nil {
		return nil, fmt.Errorf("read the upstream's global mode: %w", err)
	}
	names, err := src.AllSubjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the upstream's subjects: %w", err)
	}
	slices.Sort(names)
	snap.subjects = make([]subject, len(names))
	errs := make([]error, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range min(im.opts.Workers, len(names)) {
		wg.Go(func() {
			for i := range next {
				snap.subjects[i], errs[i] = im.readSubject(ctx, names[i])
				mu.Lock()
				done++
				im.progress(PhaseRead, done, len(names))
				mu.Unlock()
			}
		})
	}
	for i := range names {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return snap, nil
}

// readSubject reads one subject's versions and settings.
func (im *importer) readSubject(ctx context.Context, name string) (subject, error) {
	src := im.opts.Source
	s := subject{name: name}
	all, err := src.AllVersions(ctx, name)
	if err != nil {
		return s, fmt.Errorf("list the versions of upstream subject %q: %w", name, err)
	}
	live, err := src.LiveVersions(ctx, name)
	if err != nil {
		return s, fmt.Errorf("list the live versions of upstream subject %q: %w", name, err)
	}
	slices.Sort(all)
	for _, n := range all {
		rec, err := src.VersionRecord(ctx, name, n)
		if err != nil {
			return s, fmt.Errorf("read upstream subject %q version %d: %w", name, n, err)
		}
		refs := make([]registry.Reference, len(rec.References))
		for i, r := range rec.References {
			refs[i] = registry.Reference{Name: r.Name, Subject: r.Subject, Version: r.Version}
		}
		s.versions = append(s.versions, version{subject: name, number: n, id: rec.ID, deleted: !slices.Contains(live, n),
			in: registry.SchemaInput{Type: registry.SchemaType(rec.SchemaType), Text: rec.Schema.Schema, References: refs,
				Metadata: string(rec.Metadata), RuleSet: string(rec.RuleSet), ID: rec.ID, Version: n}})
	}
	// OwnConfig and OwnMode answer "" for a setting the subject does not have.
	if s.config, _, err = src.OwnConfig(ctx, name); err != nil {
		return s, fmt.Errorf("read the compatibility level of upstream subject %q: %w", name, err)
	}
	if s.mode, _, err = src.OwnMode(ctx, name); err != nil {
		return s, fmt.Errorf("read the mode of upstream subject %q: %w", name, err)
	}
	return s, nil
}

// unsupported returns the versions whose schema type the embedded registry does not hold.
func (snap *snapshot) unsupported() []version {
	var out []version
	for _, s := range snap.subjects {
		for _, v := range s.versions {
			switch v.in.Type {
			case registry.SchemaTypeAvro, registry.SchemaTypeJSON, registry.SchemaTypeProtobuf:
			default:
				out = append(out, v)
			}
		}
	}
	return out
}
