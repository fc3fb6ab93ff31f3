package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

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
			"SIGINT or SIGTERM shuts down gracefully. SIGHUP reloads auth.principals and alerting.*\n" +
			"from the same sources; an invalid config is logged and the running one kept.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Caught from the start: SIGHUP's default action would kill the process.
			hangup := make(chan os.Signal, 1)
			signal.Notify(hangup, syscall.SIGHUP)
			defer signal.Stop(hangup)
			if err := gateway.CheckEnv(environNames(lookupEnv), otherEnvNames...); err != nil {
				return err
			}
			load := func() (gateway.Config, error) {
				return gateway.LoadConfig(configPath, lookupEnv, givenConfigFlags(cmd)...)
			}
			cfg, err := load()
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
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go reloadOnHangup(ctx, hangup, g, logger, load)
			return g.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML config file")
	for _, f := range configFlags(gateway.DefaultConfig()) {
		cmd.Flags().String(f.name, f.def, f.usage)
	}
	return cmd
}

// otherEnvNames are the SCHEMAGATE_ variables schemagate reads that are no config key, so
// serve's check of the environment (gateway.CheckEnv) accepts them: the client commands'
// defaults (client.go), which an operator may have exported in the shell that starts the
// server, and the switches of the test suites (store/storetest, tests/load, tests/crash),
// whose environment reaches the servers they start.
var otherEnvNames = []string{
	"SCHEMAGATE_TOKEN", "SCHEMAGATE_TLS_CA", "SCHEMAGATE_TLS_CERT", "SCHEMAGATE_TLS_KEY",
	"SCHEMAGATE_TEST_STORE", "SCHEMAGATE_TEST_POSTGRES_URL",
	"SCHEMAGATE_LOAD_DURATION", "SCHEMAGATE_CRASH_ROUNDS", "SCHEMAGATE_CRASH_SEED",
	"SCHEMAGATE_UPDATE_SCREENSHOT", "SCHEMAGATE_SCREENSHOT_DIR", "SCHEMAGATE_CHROMIUM",
}

// environNames returns the names of the process's environment variables that lookupEnv sees
// (all of them with os.LookupEnv; a test's lookupEnv may hide them).
func environNames(lookupEnv func(string) (string, bool)) []string {
	if lookupEnv == nil {
		return nil
	}
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := lookupEnv(name); ok {
			names = append(names, name)
		}
	}
	return names
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

// reloadOnHangup reloads g's configuration, loaded by load, on every signal from hangup until
// ctx is done. A configuration that does not load or that g refuses is logged, and the running
// one stays in use.
func reloadOnHangup(ctx context.Context, hangup <-chan os.Signal, g *gateway.Gateway, log *slog.Logger, load func() (gateway.Config, error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hangup:
		}
		log.InfoContext(ctx, "SIGHUP: reloading the configuration")
		cfg, err := load()
		if err == nil {
			err = g.Reload(ctx, cfg)
		}
		if err != nil {
			log.ErrorContext(ctx, "config reload failed: the running configuration stays in use", "error", err)
		}
	}
}
