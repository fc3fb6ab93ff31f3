// Command schemagate is the schema registry gateway: `schemagate serve` runs the server, the
// other subcommands are clients of its gRPC API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/schemagate/schemagate/internal/buildinfo"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)) }

// Exit codes of every command. 1 and 2 are results, not failures: `validate` exits 1 for a
// flagged payload and 2 for a rejected one, `audit verify` exits 1 for a broken chain. Every
// error (a usage error, an unreadable file, an unreachable server, an error the server
// answers) exits exitError, so a script can tell a verdict from a failure.
const (
	exitOK    = 0
	exitError = 3
)

// run executes the command line and returns the process exit code (see [exitError]): 0 on
// success, a command's result code, or 3 when the command failed (the message is on stderr).
func run(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdout, stderr, lookupEnv)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var rc resultCode
		if errors.As(err, &rc) {
			return rc.code // the command printed its result already
		}
		fmt.Fprintln(stderr, "schemagate:", printableLines(err.Error()))
		return exitError
	}
	return exitOK
}

func newRootCmd(stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) *cobra.Command {
	root := &cobra.Command{
		Use:   "schemagate",
		Short: "Schema registry gateway: Avro, JSON Schema and Protobuf, Confluent-compatible, governed validation",
		Long: "Schema registry gateway: Avro, JSON Schema and Protobuf, Confluent-compatible, governed validation.\n\n" +
			"Exit codes: 0 success; 1 and 2 are results (validate: 1 flagged, 2 rejected; audit verify:\n" +
			"1 broken chain); 3 any error (usage, unreadable file, unreachable server, error from the server).",
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints what `schemagate version` prints.
		Version: buildinfo.Read().String(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	cf := &clientFlags{lookupEnv: lookupEnv}
	root.AddCommand(
		newServeCmd(stderr, lookupEnv),
		newSchemaCmd(cf),
		newSubjectsCmd(cf),
		newValidateCmd(cf),
		newDriftCmd(cf),
		newBenchCmd(lookupEnv),
		newGovernanceCmd(cf),
		newAuditCmd(cf),
		newSubjectCmd(cf),
		newRegistryCmd(stderr, lookupEnv),
		newVersionCmd(),
		newHealthcheckCmd(),
	)
	return root
}

// newVersionCmd is `schemagate version`: the version, commit and Go release of this binary, from
// the build information the Go toolchain embeds ("unknown" for what a build does not carry).
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go release of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), buildinfo.Read().String())
			return err
		},
	}
}
