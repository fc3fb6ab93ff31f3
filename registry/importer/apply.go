package importer

import (
	"context"
	"errors"
	"fmt"

	"github.com/schemagate/schemagate/registry"
)

// versionKey names a subject version.
type versionKey struct {
	subject string
	number  int
}

func keyOf(v version) versionKey { return versionKey{v.subject, v.number} }

// subjectID names a schema ID within a subject.
type subjectID struct {
	subject string
	id      int
}

// apply makes the writes p planned, counting them into sum: the subjects into IMPORT mode,
// the versions, the soft deletes, the configs, and the modes (each subject back to its
// previous mode, or to the upstream's).
func (im *importer) apply(ctx context.Context, snap *snapshot, p *plan, sum *Summary) (err error) {
	reg := im.opts.Target
	prev := map[string]registry.AccessMode{}
	var opened []string
	defer func() {
		if err == nil {
			return
		}
		// Put the subjects back as they were, even when ctx was cancelled.
		restoreCtx := context.WithoutCancel(ctx)
		for _, s := range opened {
			if rerr := im.setOwnMode(restoreCtx, s, prev[s]); rerr != nil {
				err = errors.Join(err, fmt.Errorf("subject %q stays in IMPORT mode: %w", s, rerr))
			}
		}
	}()
	for _, s := range p.openSubjects {
		m, err := ownMode(ctx, reg, s)
		if err != nil {
			return err
		}
		prev[s] = m
		if m != registry.ModeImport {
			if _, err := reg.SetAccessMode(ctx, s, registry.ModeImport, true); err != nil {
				return fmt.Errorf("put subject %q in IMPORT mode: %w", s, err)
			}
		}
		opened = append(opened, s)
	}
	w := &writer{im: im, p: p, sum: sum, total: len(p.register) + len(p.softDelete),
		pending: map[versionKey]bool{}, toDelete: map[subjectID][]version{}, deleted: map[versionKey]bool{}}
	if err := w.versions(ctx); err != nil {
		return err
	}
	if err := im.configs(ctx, snap, sum); err != nil {
		return err
	}
	return im.modes(ctx, snap, prev, sum)
}

// writer registers and soft-deletes the planned versions.
type writer struct {
	im          *importer
	p           *plan
	sum         *Summary
	done, total int
	pending     map[versionKey]bool     // versions to register not registered yet
	toDelete    map[subjectID][]version // versions to soft-delete, by subject and ID
	deleted     map[versionKey]bool     // versions soft-deleted by this run
}

// versions registers every planned version once the versions its references name are here,
// then soft-deletes the planned ones.
func (w *writer) versions(ctx context.Context) error {
	for _, v := range w.p.register {
		w.pending[keyOf(v)] = true
	}
	for _, v := range w.p.softDelete {
		k := subjectID{v.subject, v.id}
		w.toDelete[k] = append(w.toDelete[k], v)
	}
	queue := w.p.register
	for len(queue) > 0 {
		var waiting []version
		for _, v := range queue {
			if w.waitsForReference(v) {
				waiting = append(waiting, v)
				continue
			}
			if err := w.register(ctx, v); err != nil {
				return err
			}
		}
		if len(waiting) == len(queue) {
			names := make([]string, len(waiting))
			for i, v := range waiting {
				names[i] = fmt.Sprintf("%s references %v", v, v.in.References)
			}
			return fmt.Errorf("%d upstream versions reference each other in a cycle or versions the upstream does not list:\n  %s", len(waiting), listed(names))
		}
		queue = waiting
	}
	for _, v := range w.p.softDelete {
		if err := w.softDelete(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// waitsForReference reports whether v names a version still to register.
func (w *writer) waitsForReference(v version) bool {
	for _, ref := range v.in.References {
		if w.pending[versionKey{ref.Subject, ref.Version}] {
			return true
		}
	}
	return false
}

// register registers v with its ID and version. A soft-deleted version of the same subject
// holding the same schema is soft-deleted first: the registry would otherwise answer with it,
// since a subject holds a schema in one live version at a time.
func (w *writer) register(ctx context.Context, v version) error {
	for _, u := range w.toDelete[subjectID{v.subject, v.id}] {
		if u.number != v.number && !w.pending[keyOf(u)] {
			if err := w.softDelete(ctx, u); err != nil {
				return err
			}
		}
	}
	sv, err := w.im.opts.Target.Register(ctx, v.subject, v.in)
	if err != nil {
		return fmt.Errorf("import %s: %w", v, err)
	}
	if sv.Version != v.number || sv.Schema.ID != v.id {
		return fmt.Errorf("import %s: the registry stored it as version %d with ID %d", v, sv.Version, sv.Schema.ID)
	}
	delete(w.pending, keyOf(v))
	w.sum.Versions.Imported++
	if w.p.newSubjects[v.subject] {
		delete(w.p.newSubjects, v.subject)
		w.sum.Subjects.Imported++
	}
	if w.p.newSchemas[v.id] {
		delete(w.p.newSchemas, v.id)
		w.sum.Schemas.Imported++
	}
	w.step()
	return nil
}

// softDelete soft-deletes v unless this run did already.
func (w *writer) softDelete(ctx context.Context, v version) error {
	if w.deleted[keyOf(v)] {
		return nil
	}
	if _, err := w.im.opts.Target.DeleteVersion(ctx, v.subject, v.number, false); err != nil {
		return fmt.Errorf("soft-delete %s as upstream: %w", v, err)
	}
	w.deleted[keyOf(v)] = true
	w.sum.SoftDeleted.Imported++
	w.step()
	return nil
}

func (w *writer) step() {
	w.done++
	w.im.progress(PhaseImport, w.done, w.total)
}

// configs copies the global compatibility level and the subjects' own levels.
func (im *importer) configs(ctx context.Context, snap *snapshot, sum *Summary) error {
	if err := im.setConfig(ctx, "", snap.globalConfig, sum); err != nil {
		return err
	}
	for _, s := range snap.subjects {
		if s.config != "" {
			if err := im.setConfig(ctx, s.name, s.config, sum); err != nil {
				return err
			}
		}
	}
	return nil
}

// setConfig sets subject's level ("" the global one) unless it is level already, keeping the
// rest of its configuration (normalize, compatibility group).
func (im *importer) setConfig(ctx context.Context, subject, level string, sum *Summary) error {
	what := describe(subject)
	l, err := registry.ParseCompatibilityLevel(level)
	if err != nil {
		return fmt.Errorf("the upstream's compatibility level of %s: %w", what, err)
	}
	reg := im.opts.Target
	cur, err := reg.Config(ctx, subject, false)
	if err != nil && !errors.Is(err, registry.ErrSubjectCompatibilityNotConfigured) {
		return fmt.Errorf("read the compatibility level of %s here: %w", what, err)
	}
	if cur.Compatibility == l {
		sum.Configs.Present++
		return nil
	}
	cur.Compatibility = l
	if _, err := reg.SetConfig(ctx, subject, cur); err != nil {
		return fmt.Errorf("set the compatibility level of %s: %w", what, err)
	}
	sum.Configs.Imported++
	return nil
}

// modes sets each subject's own mode to the upstream's, or back to what it was before the
// import when the upstream sets none, and then the global mode to the upstream's.
func (im *importer) modes(ctx context.Context, snap *snapshot, prev map[string]registry.AccessMode, sum *Summary) error {
	reg := im.opts.Target
	for _, s := range snap.subjects {
		before, opened := prev[s.name]
		if !opened && s.mode == "" {
			continue
		}
		want := before
		if s.mode != "" {
			m, err := registry.ParseAccessMode(s.mode)
			if err != nil {
				return fmt.Errorf("the upstream's mode of subject %q: %w", s.name, err)
			}
			want = m
		}
		if !opened {
			var err error
			if before, err = ownMode(ctx, reg, s.name); err != nil {
				return err
			}
		}
		if err := im.setOwnMode(ctx, s.name, want); err != nil {
			return err
		}
		if s.mode != "" {
			count(&sum.Modes, before == want)
		}
	}
	want, err := registry.ParseAccessMode(snap.globalMode)
	if err != nil {
		return fmt.Errorf("the upstream's global mode: %w", err)
	}
	cur, err := reg.AccessMode(ctx, "", false)
	if err != nil {
		return fmt.Errorf("read the global mode here: %w", err)
	}
	count(&sum.Modes, cur == want)
	if cur != want {
		if _, err := reg.SetAccessMode(ctx, "", want, true); err != nil {
			return fmt.Errorf("set the global mode: %w", err)
		}
	}
	return nil
}

// count counts one setting as present or imported.
func count(c *Counts, present bool) {
	if present {
		c.Present++
	} else {
		c.Imported++
	}
}

// ownMode is subject's own mode here, "" when it has none.
func ownMode(ctx context.Context, reg *registry.Registry, subject string) (registry.AccessMode, error) {
	m, err := reg.AccessMode(ctx, subject, false)
	if errors.Is(err, registry.ErrSubjectModeNotConfigured) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the mode of subject %q here: %w", subject, err)
	}
	return m, nil
}

// setOwnMode makes subject's own mode m ("" none), writing only when it is not so already.
func (im *importer) setOwnMode(ctx context.Context, subject string, m registry.AccessMode) error {
	reg := im.opts.Target
	cur, err := ownMode(ctx, reg, subject)
	switch {
	case err != nil || cur == m:
		return err
	case m == "":
		_, err = reg.DeleteAccessMode(ctx, subject)
	default:
		_, err = reg.SetAccessMode(ctx, subject, m, true)
	}
	if err != nil {
		return fmt.Errorf("set the mode of subject %q to %s: %w", subject, orNone(string(m)), err)
	}
	return nil
}

// describe names a settings' owner: a subject, or the registry for "".
func describe(subject string) string {
	if subject == "" {
		return "the registry (global)"
	}
	return "subject " + fmt.Sprintf("%q", subject)
}
