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
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)) }

// run executes the command line and returns the process exit code: 0 on success, 1 when the
// command failed (the message is on stderr).
func run(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdout, stderr, lookupEnv)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code // the command printed its result already
		}
		fmt.Fprintln(stderr, "schemagate:", err)
		return 1
	}
	return 0
}

func newRootCmd(stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) *cobra.Command {
	root := &cobra.Command{
		Use:           "schemagate",
		Short:         "Schema registry gateway: Avro and JSON Schema, Confluent-compatible, governed validation",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	cf := &clientFlags{lookupEnv: lookupEnv}
	root.AddCommand(
		newServeCmd(stderr, lookupEnv),
		newSchemaCmd(cf),
		newSubjectsCmd(cf),
		newValidateCmd(cf),
		newDriftCmd(cf),
		newBenchCmd(),
		newGovernanceCmd(cf),
		newAuditCmd(cf),
		newSubjectCmd(cf),
	)
	return root
}
