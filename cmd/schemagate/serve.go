package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/schemagate/schemagate/gateway"
)

func newServeCmd(stderr io.Writer, lookupEnv func(string) (string, bool)) *cobra.Command {
	var configPath string
	var flags gateway.ServerConfig
	var logFormat string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (HTTP on 127.0.0.1:8081, gRPC on 127.0.0.1:9091, SQLite under ./data)",
		Long: "Run the gateway. Settings come from defaults, then --config FILE (YAML), then\n" +
			"environment variables (SCHEMAGATE_ + the key path, e.g. SCHEMAGATE_STORAGE_URL), then flags.\n" +
			"SIGINT or SIGTERM shuts down gracefully.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := gateway.LoadConfig(configPath, lookupEnv)
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			if fl.Changed("http-addr") {
				cfg.Server.HTTPAddr = flags.HTTPAddr
			}
			if fl.Changed("grpc-addr") {
				cfg.Server.GRPCAddr = flags.GRPCAddr
			}
			if fl.Changed("data-dir") {
				cfg.Server.DataDir = flags.DataDir
			}
			if fl.Changed("log-format") {
				cfg.Log.Format = logFormat
			}
			logger, err := gateway.NewLogger(stderr, cfg.Log.Format, cfg.Log.Level)
			if err != nil {
				return err
			}
			g, err := gateway.New(cmd.Context(), gateway.Options{Config: cfg, Logger: logger})
			if err != nil {
				return err
			}
			return g.Run(cmd.Context())
		},
	}
	def := gateway.DefaultConfig()
	cmd.Flags().StringVar(&configPath, "config", "", "YAML config file")
	cmd.Flags().StringVar(&flags.HTTPAddr, "http-addr", def.Server.HTTPAddr, "HTTP listen address (Confluent REST, /v1 JSON API, /metrics, health)")
	cmd.Flags().StringVar(&flags.GRPCAddr, "grpc-addr", def.Server.GRPCAddr, "gRPC listen address")
	cmd.Flags().StringVar(&flags.DataDir, "data-dir", def.Server.DataDir, "directory of the embedded SQLite database (when storage.url is not set)")
	cmd.Flags().StringVar(&logFormat, "log-format", def.Log.Format, "log format: text or json")
	return cmd
}
