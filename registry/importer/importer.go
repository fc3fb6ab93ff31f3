// Package importer copies a Confluent-compatible schema registry into schemagate's embedded
// registry: `schemagate registry import --from URL`, for teams that move off the registry they
// ran.
//
// Policy:
//   - Everything is copied: every subject, every version with its number and schema ID
//     (soft-deleted versions are imported, then soft-deleted), references, data-contract
//     fields, the global and per-subject compatibility levels and modes. Embedded settings the
//     upstream does not have are left alone; nothing in the embedded registry is deleted.
//   - IDs and versions are kept through the registry's IMPORT mode: each subject that gets a
//     version is put in IMPORT mode for the import, and its own mode afterwards is the
//     upstream's, or the one it had before when the upstream set none (also when the import
//     fails half way).
//   - Versions are registered in schema ID order, each after the versions its references name;
//     soft deletes follow in the reverse order, so a referenced version is deleted after the
//     versions that reference it.
//   - Idempotent: a version already here with the same ID, a schema already here with the same
//     content, a setting already equal are counted as present and not written again; a second
//     run writes nothing.
//   - A conflict — a subject version here holding another ID, or a schema ID here holding
//     other content — stops the import before its first write, naming every conflict
//     (ErrConflict). (A schema whose content is here under another ID is found by the registry
//     when it refuses the registration: the import stops there with the registry's message.)
//   - Schemas are the same when their type, references and data-contract fields are equal and
//     their texts have the same canonical form (registry.Registry.CanonicalSchema, with JSON
//     Schema keys sorted): the registry stores canonical text, so whitespace, key order and
//     Avro's non-canonical attributes may differ from the upstream's text.
//   - After the writes every subject's version list, every version's ID and soft-delete state
//     and every schema's content are read back from the embedded registry and compared with
//     the upstream's (ErrVerification on a difference).
package importer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/upstream"
)

// ErrConflict is wrapped by the error of an import that found the embedded registry holding
// other content under an upstream's schema ID or subject version.
var ErrConflict = errors.New("the embedded registry holds other content")

// ErrVerification is wrapped by the error of an import whose read-back differed from the
// upstream.
var ErrVerification = errors.New("verification failed")

// ErrUnsupported is wrapped by the error of an import from an upstream holding schema types
// the embedded registry does not (AVRO, JSON and PROTOBUF are held); nothing is written.
var ErrUnsupported = errors.New("schema type not supported by the embedded registry")

// ActionImported is the audit action of one import run as a whole (its summary); the writes it
// made are audited one by one with the registry's own actions.
const ActionImported registry.Action = "registry.imported"

// DefaultWorkers is the default Options.Workers.
const DefaultWorkers = 4

// Phase names a step of the import in Progress.
type Phase string

// The phases, in order.
const (
	PhaseRead   Phase = "read"   // listing the upstream (Total: subjects)
	PhaseImport Phase = "import" // registering and soft-deleting versions (Total: writes)
	PhaseVerify Phase = "verify" // reading back (Total: subjects)
)

// Options configures Run. Source and Target are required.
type Options struct {
	// Source is the upstream registry read from.
	Source *upstream.Client
	// Target is the embedded registry written to. Its OnWrite hooks (the audit log) see every
	// write.
	Target *registry.Registry
	// Workers is how many upstream subjects are read at once; default DefaultWorkers.
	Workers int
	// Progress, when set, is called as the import advances (from one goroutine at a time).
	Progress func(Phase, int, int)
	// Logger receives what is written; nil: discarded.
	Logger *slog.Logger
}

// Counts counts things copied now and things found already present.
type Counts struct {
	Imported, Present int
}

// Total is Imported + Present.
func (c Counts) Total() int { return c.Imported + c.Present }

// Summary says what an import did.
type Summary struct {
	// Subjects: new here, or here already.
	Subjects Counts
	// Versions: registered now, or here already with the same ID.
	Versions Counts
	// Schemas (distinct IDs): stored now, or here already with the same content.
	Schemas Counts
	// SoftDeleted versions: soft-deleted now, or soft-deleted here already.
	SoftDeleted Counts
	// Configs (compatibility levels, the global one included): set now, or equal already.
	Configs Counts
	// Modes (the global one included): set now, or equal already.
	Modes Counts
}

// importer is one run.
type importer struct {
	opts Options
	log  *slog.Logger
}

// Run copies opts.Source into opts.Target as the package documentation says and returns what
// it did. On an error the summary counts what was written before it.
func Run(ctx context.Context, opts Options) (Summary, error) {
	if opts.Source == nil || opts.Target == nil {
		return Summary{}, errors.New("importer: Source and Target are required")
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	im := &importer{opts: opts, log: opts.Logger}
	if im.log == nil {
		im.log = slog.New(slog.DiscardHandler)
	}
	snap, err := im.read(ctx)
	if err != nil {
		return Summary{}, err
	}
	if bad := snap.unsupported(); len(bad) > 0 {
		return Summary{}, fmt.Errorf("%w: %d upstream versions are %s schemas, the first %s; nothing was imported",
			ErrUnsupported, len(bad), bad[0].in.Type, bad[0])
	}
	p, err := im.plan(ctx, snap)
	if err != nil {
		return Summary{}, err
	}
	sum := p.summary
	if err := im.apply(ctx, snap, p, &sum); err != nil {
		return sum, err
	}
	if err := im.verify(ctx, snap); err != nil {
		return sum, err
	}
	return sum, nil
}

// progress reports to Options.Progress.
func (im *importer) progress(phase Phase, done, total int) {
	if im.opts.Progress != nil {
		im.opts.Progress(phase, done, total)
	}
}
