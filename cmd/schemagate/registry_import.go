package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/importer"
	"github.com/schemagate/schemagate/registry/upstream"
	"github.com/schemagate/schemagate/store"
)

// `schemagate registry import`: an offline command on the store `serve` uses.

// importActor is the audit actor of the import's writes.
var importActor = governance.Actor{Name: "registry-import", Role: governance.SystemActor}

func newRegistryCmd(stderr io.Writer, lookupEnv func(string) (string, bool)) *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "The embedded registry's store, offline"}
	cmd.AddCommand(newRegistryImportCmd(stderr, lookupEnv))
	return cmd
}

// importFlags are the flags of `schemagate registry import`.
type importFlags struct {
	configPath string
	from       upstream.Options
}

func newRegistryImportCmd(stderr io.Writer, lookupEnv func(string) (string, bool)) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import --from URL [--config FILE] [--data-dir DIR]",
		Short: "Copy a Confluent-compatible registry (IDs, versions, references, configs, modes) into the embedded one",
		Long: "Copy every subject, version, schema ID, reference, soft delete, compatibility level and mode\n" +
			"of a Confluent-compatible registry into the embedded registry, keeping IDs and versions\n" +
			"(IMPORT mode). The store is the one `serve` uses: --config, SCHEMAGATE_STORAGE_URL and\n" +
			"--data-dir resolve it the same way; the server need not run. A second run changes nothing.\n" +
			"An ID or version held here with other content stops the import before its first write.\n" +
			"Everything is read back and compared at the end. The summary goes to stdout, progress to\n" +
			"stderr; every write and the run itself are audited.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, stderr, lookupEnv)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.configPath, "config", "", "YAML config file of the server (its storage.url, server.data_dir, limits, audit HMAC key)")
	fs.String("data-dir", gateway.DefaultConfig().Server.DataDir, "directory of the embedded SQLite database (when storage.url is not set)")
	fs.StringVar(&f.from.URL, "from", "", "base URL of the registry to copy (required)")
	fs.StringVar(&f.from.Username, "username", "", "basic-auth user for --from, with --password-file")
	fs.StringVar(&f.from.PasswordFile, "password-file", "", "file holding the basic-auth password")
	fs.StringVar(&f.from.BearerTokenFile, "bearer-token-file", "", "file holding a bearer token for --from")
	fs.StringVar(&f.from.TLS.CAFile, "ca-file", "", "PEM CA bundle to verify --from with (https)")
	fs.StringVar(&f.from.TLS.CertFile, "cert-file", "", "PEM client certificate for mutual TLS, with --key-file")
	fs.StringVar(&f.from.TLS.KeyFile, "key-file", "", "PEM key of --cert-file")
	fs.DurationVar(&f.from.Timeout, "timeout", 30*time.Second, "deadline of each call to --from")
	cmd.MarkFlagRequired("from")
	return cmd
}

// run opens the store, wires the audit log to the registry's writes, imports and prints the
// summary.
func (f *importFlags) run(cmd *cobra.Command, stderr io.Writer, lookupEnv func(string) (string, bool)) error {
	ctx := cmd.Context()
	if err := gateway.CheckEnv(environNames(lookupEnv), otherEnvNames...); err != nil {
		return err
	}
	var given []gateway.FlagValue
	if fl := cmd.Flags().Lookup("data-dir"); fl.Changed {
		given = append(given, gateway.FlagValue{Name: "data-dir", Key: "server.data_dir", Value: fl.Value.String()})
	}
	cfg, err := gateway.LoadConfig(f.configPath, lookupEnv, given...)
	if err != nil {
		return err
	}
	key, err := governance.ReadHMACKey(cfg.Governance.AuditHMACKeyFile)
	if err != nil {
		return fmt.Errorf("audit HMAC key: %w", err)
	}
	src, err := upstream.New(f.from)
	if err != nil {
		return err
	}
	defer src.Close()
	db, err := store.Open(ctx, cfg.StorageURL())
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	audit, err := governance.NewAudit(db, governance.AuditOptions{HMACKey: key})
	if err != nil {
		return err
	}
	sr := cfg.SchemaRegistry
	reg, err := registry.New(db, registry.Options{CompatibilityBudget: sr.CompatibilityBudget,
		MaxUnionBranches: sr.MaxUnionBranches, MaxCombinatorItems: sr.MaxJSONSchemaCombinatorItems})
	if err != nil {
		return err
	}
	// Every write is audited in its own transaction, as the server audits a client's.
	reg.OnWrite(func(ctx context.Context, tx *sql.Tx, c registry.Change) error {
		_, err := audit.AppendTx(ctx, tx, governance.Entry{Actor: importActor.Name, Role: importActor.Role,
			Action: c.Action, Subject: c.Subject, Details: c.Details})
		return err
	})
	start := time.Now()
	progress := newProgress(stderr)
	sum, err := importer.Run(ctx, importer.Options{Source: src, Target: reg, Progress: progress.report})
	progress.finish()
	if aerr := auditRun(context.WithoutCancel(ctx), audit, f.from.URL, sum, err); aerr != nil && err == nil {
		err = fmt.Errorf("the import is done, but its audit entry was not written: %w", aerr)
	}
	if err != nil {
		return fmt.Errorf("registry import from %s: %w", f.from.URL, err)
	}
	return printImportSummary(cmd.OutOrStdout(), f.from.URL, sum, time.Since(start))
}

// auditRun appends the run's entry: where from, the counts, and the error when it failed.
func auditRun(ctx context.Context, audit *governance.Audit, from string, sum importer.Summary, runErr error) error {
	details := map[string]string{"from": from, "result": "ok"}
	if runErr != nil {
		details["result"] = runErr.Error()
	}
	for name, c := range summaryRows(sum) {
		details[name+"_imported"] = strconv.Itoa(c.Imported)
		details[name+"_present"] = strconv.Itoa(c.Present)
	}
	_, err := audit.Append(ctx, governance.Entry{Actor: importActor.Name, Role: importActor.Role,
		Action: importer.ActionImported, Details: details})
	return err
}

// summaryRows names the counts of a summary, in the order they are printed.
func summaryRows(sum importer.Summary) func(yield func(string, importer.Counts) bool) {
	return func(yield func(string, importer.Counts) bool) {
		for _, row := range []struct {
			name string
			c    importer.Counts
		}{{"subjects", sum.Subjects}, {"versions", sum.Versions}, {"schemas", sum.Schemas},
			{"soft_deleted", sum.SoftDeleted}, {"configs", sum.Configs}, {"modes", sum.Modes}} {
			if !yield(row.name, row.c) {
				return
			}
		}
	}
}

// printImportSummary prints what the import did, one line per kind.
func printImportSummary(w io.Writer, from string, sum importer.Summary, took time.Duration) error {
	printf(w, "imported from %s in %s\n", from, took.Round(time.Millisecond))
	tw := newTable(w)
	fmt.Fprintln(tw, "\tIMPORTED\tALREADY PRESENT")
	for name, c := range summaryRows(sum) {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", strings.ReplaceAll(name, "_", "-"), c.Imported, c.Present)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printf(w, "verified: every subject's versions, every version's schema ID and every schema read back identical to the upstream's\n")
}

// progress shows the import's advance on stderr: a bar redrawn in place on a terminal, and
// otherwise a line at the start and end of each phase and at every tenth of it.
type progress struct {
	w        io.Writer
	terminal bool
	phase    importer.Phase
	shown    int // tenths shown in this phase
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

const barWidth = 30

func (p *progress) report(phase importer.Phase, done, total int) {
	if phase != p.phase {
		if p.terminal && p.phase != "" {
			fmt.Fprintln(p.w)
		}
		p.phase, p.shown = phase, -1
	}
	if total <= 0 {
		return
	}
	if p.terminal {
		n := barWidth * done / total
		fmt.Fprintf(p.w, "\r%-7s [%s%s] %d/%d", phase, strings.Repeat("#", n), strings.Repeat(".", barWidth-n), done, total)
		return
	}
	if tenth := 10 * done / total; tenth > p.shown {
		p.shown = tenth
		fmt.Fprintf(p.w, "%s: %d/%d\n", phase, done, total)
	}
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.terminal && p.phase != "" {
		fmt.Fprintln(p.w)
	}
}
