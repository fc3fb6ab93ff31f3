package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/schemagate/schemagate/cmd/schemagate/internal/bench"
)

func newBenchCmd() *cobra.Command {
	var d time.Duration
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure validation throughput on this machine and print ratios to the in-process engine",
		Long: "Starts a gateway on loopback with a temporary data directory, registers small (~200 B) and\n" +
			"medium (~4 KiB) Avro and JSON records, and measures the in-process engine (the baseline),\n" +
			"ValidateStream, ValidateBatch at 100 per call, HTTP validate, unary Validate against a no-op\n" +
			"unary RPC (p50), and the cost of recording evidence. Ratios come from one run, so they hold\n" +
			"on a noisy machine better than absolute figures.",
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
	return cmd
}
