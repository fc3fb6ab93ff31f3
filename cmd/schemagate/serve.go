package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/schemagate/schemagate/gateway"
)

func newServeCmd(stderr io.Writer, lookupEnv func(string) (string, bool)) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (HTTP on 127.0.0.1:8081, gRPC on 127.0.0.1:9091, SQLite under ./data)",
		Long: "Run the gateway. Settings come from defaults, then --config FILE (YAML), then\n" +
			"environment variables (SCHEMAGATE_ + the key path, e.g. SCHEMAGATE_STORAGE_URL), then flags.\n" +
			"SIGINT or SIGTERM shuts down gracefully.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := gateway.LoadConfig(configPath, lookupEnv, givenConfigFlags(cmd)...)
			if err != nil {
				return err
			}
			logger, err := gateway.NewLogger(stderr, cfg.Log)
			if err != nil {
				return err
			}
			g, err := gateway.New(cmd.Context(), gateway.Options{Config: cfg, Logger: logger}) // validates cfg
			if err != nil {
				return err
			}
			return g.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML config file")
	for _, f := range configFlags(gateway.DefaultConfig()) {
		cmd.Flags().String(f.name, f.def, f.usage)
	}
	return cmd
}

// configFlag is a flag of serve that sets the config key key; its default, def, is the key's
// default, shown in the help.
type configFlag struct{ name, key, def, usage string }

// configFlags are the flags of serve that set a config key.
func configFlags(def gateway.Config) []configFlag {
	return []configFlag{
		{"http-addr", "server.http_addr", def.Server.HTTPAddr, "HTTP listen address (Confluent REST, /v1 JSON API, /metrics, health)"},
		{"grpc-addr", "server.grpc_addr", def.Server.GRPCAddr, "gRPC listen address"},
		{"data-dir", "server.data_dir", def.Server.DataDir, "directory of the embedded SQLite database (when storage.url is not set)"},
		{"log-format", "log.format", string(def.Log.Format), "log format: text or json"},
	}
}

// givenConfigFlags returns the config flags given on cmd's command line: the last layer of
// gateway.LoadConfig, over the file and the environment. A flag left out does not override
// them with its default.
func givenConfigFlags(cmd *cobra.Command) []gateway.FlagValue {
	var given []gateway.FlagValue
	for _, f := range configFlags(gateway.DefaultConfig()) {
		if fl := cmd.Flags().Lookup(f.name); fl.Changed {
			given = append(given, gateway.FlagValue{Name: f.name, Key: f.key, Value: fl.Value.String()})
		}
	}
	return given
}
