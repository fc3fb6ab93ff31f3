package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/schemagate/schemagate/cmd/schemagate/internal/bench"
	"github.com/schemagate/schemagate/cmd/schemagate/internal/registryload"
)

func newBenchCmd(lookupEnv func(string) (string, bool)) *cobra.Command {
	var d time.Duration
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure validation throughput on this machine and print ratios to the in-process engine",
		Long: "Starts a gateway on loopback with a temporary data directory, registers small (~200 B) and\n" +
			"medium (~4 KiB) Avro, JSON and Protobuf records, and measures the in-process engine (the\n" +
			"baseline), ValidateStream and ValidateBatch at 100 per call, each beside its transport\n" +
			"floor (gRPC alone moving messages of the same sizes), HTTP validate, unary Validate\n" +
			"against a no-op unary RPC (p50), and the cost of recording evidence. Ratios come from one\n" +
			"run, so they hold on a noisy machine better than absolute figures.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, err := bench.Run(cmd.Context(), bench.Options{Duration: d})
			if err != nil {
				return err
			}
			return bench.WriteTable(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().DurationVar(&d, "duration", 2*time.Second, "how long each measurement runs")
	cmd.AddCommand(newBenchRegistryCmd(lookupEnv))
	return cmd
}

func newBenchRegistryCmd(lookupEnv func(string) (string, bool)) *cobra.Command {
	var (
		opts         registryload.Options
		passwordFile string
		output       = outputText
	)
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Load a Confluent-compatible registry over HTTP: registrations, then lookups by ID, latest, version",
		Long: "Registers --schemas distinct Avro schemas into --subjects subjects from --clients concurrent\n" +
			"clients (POST /subjects/{s}/versions), then runs each lookup for --duration with the same\n" +
			"clients: GET /schemas/ids/{id}, GET /subjects/{s}/versions/latest, GET\n" +
			"/subjects/{s}/versions/{n} and POST /subjects/{s}. Prints per workload the 2xx answers a\n" +
			"second, p50 and p99 latency, and every other answer counted by status.\n\n" +
			"Only a loopback URL is accepted unless --allow-remote is given: this is a load test, and the\n" +
			"schemas it registers stay in the registry (subjects load-RUNID-k).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Token == "" && lookupEnv != nil {
				opts.Token, _ = lookupEnv("SCHEMAGATE_TOKEN")
			}
			if passwordFile != "" {
				b, err := os.ReadFile(passwordFile)
				if err != nil {
					return err
				}
				opts.Password = strings.TrimRight(string(b), "\r\n")
			}
			if opts.Username != "" && opts.Token != "" {
				return errors.New("--user and --token (or $SCHEMAGATE_TOKEN): give one")
			}
			report, err := registryload.Run(cmd.Context(), opts)
			if report != nil {
				write := registryload.WriteTable
				if output == outputJSON {
					write = registryload.WriteJSON
				}
				if werr := write(cmd.OutOrStdout(), report); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return fmt.Errorf("bench registry: %w", err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.URL, "url", "http://127.0.0.1:8081", "base URL of the registry's Confluent API")
	fs.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow a URL that is not a loopback address (a registry you own)")
	fs.IntVar(&opts.Clients, "clients", 16, "concurrent clients, each one request at a time")
	fs.IntVar(&opts.Schemas, "schemas", 500, "distinct schemas to register")
	fs.IntVar(&opts.Subjects, "subjects", 10, "subjects to spread the schemas over")
	fs.DurationVar(&opts.Duration, "duration", 5*time.Second, "how long each lookup workload runs")
	fs.DurationVar(&opts.RequestTimeout, "request-timeout", 10*time.Second, "deadline of one request; a request past it counts as an error")
	fs.StringVar(&opts.RunID, "run-id", "", "names this run's subjects and schemas (lower-case letters and digits; default random)")
	fs.StringVar(&opts.Token, "token", "", "bearer token (default $SCHEMAGATE_TOKEN)")
	fs.StringVar(&opts.Username, "user", "", "basic-auth user name, with --password-file")
	fs.StringVar(&passwordFile, "password-file", "", "file whose first line is the basic-auth password of --user")
	fs.VarP(&output, "output", "o", "output format: text or json")
	cmd.SetFlagErrorFunc(flagError)
	return cmd
}
