package gateway

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/oidc"
	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/registry"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "schemagate.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadFrom runs LoadConfig on a file holding file (none when it is empty) and the environment
// env.
func loadFrom(t *testing.T, file string, env map[string]string) (Config, error) {
	t.Helper()
	path := ""
	if file != "" {
		path = writeFile(t, file)
	}
	return LoadConfig(path, envMap(env))
}

func TestLoadConfigPrecedence(t *testing.T) {
	file := writeFile(t, `
server:
  http_addr: 127.0.0.1:18081
  grpc_addr: 127.0.0.1:19091
  shutdown_timeout: 5s
storage:
  url: sqlite://./from-file.db
log:
  format: json
auth:
  principals:
    - name: ci
      roles: [producer]
      token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
`)
	got, err := LoadConfig(file, envMap(map[string]string{
		"SCHEMAGATE_SERVER_GRPC_ADDR": "127.0.0.1:29091",
		"SCHEMAGATE_LOG_LEVEL":        "debug",
		"SCHEMAGATE_AUTH_PRINCIPALS":  `[{"name": "ops", "roles": ["oncall"], "token_sha256": "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}]`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	server := def.Server
	server.HTTPAddr, server.GRPCAddr, server.ShutdownTimeout = "127.0.0.1:18081", "127.0.0.1:29091", 5*time.Second
	storage := def.Storage
	storage.URL = "sqlite://./from-file.db"
	want := Config{
		SchemaRegistry: def.SchemaRegistry,
		Governance:     def.Governance,
		Console:        def.Console,
		Server:         server,
		Storage:        storage,
		Log:            LogConfig{Format: LogJSON, Level: LogLevel(slog.LevelDebug)},
		Auth: AuthConfig{MaxFailures: def.Auth.MaxFailures, FailureWindow: def.Auth.FailureWindow, Principals: []auth.PrincipalConfig{{
			Name: "ops", Roles: []string{"oncall"}, TokenSHA256: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
		}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig (-want +got):\n%s", diff)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		wantErr    string
	}{
		{"unknown key", "storage:\n  ulr: x\n", nil, "field ulr not found"},
		{"bad duration in env", "", map[string]string{"SCHEMAGATE_SERVER_SHUTDOWN_TIMEOUT": "soon"}, "SCHEMAGATE_SERVER_SHUTDOWN_TIMEOUT: not a duration"},
		{"bad principals in env", "", map[string]string{"SCHEMAGATE_AUTH_PRINCIPALS": "[{name: x, colour: red}]"}, "SCHEMAGATE_AUTH_PRINCIPALS: not a YAML or JSON list"},
		{"bad log format in file", "log:\n  format: xml\n", nil, `log format "xml": want text or json`},
		{"bad log format in env", "", map[string]string{"SCHEMAGATE_LOG_FORMAT": "xml"}, `SCHEMAGATE_LOG_FORMAT: log format "xml": want text or json`},
		{"bad log level in file", "log:\n  level: loud\n", nil, `log level "loud": want debug, info, warn or error`},
		{"bad log level in env", "", map[string]string{"SCHEMAGATE_LOG_LEVEL": "loud"}, `SCHEMAGATE_LOG_LEVEL: log level "loud": want debug, info, warn or error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadFrom(t, tt.file, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("LoadConfig = %v; want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestTypedSettingsDecodeThemselves reads schema_registry.validation_mode and
// schema_registry.json_schema.format from the file and from the environment through their
// types' UnmarshalText: the synonym shadow is canary, json_schema.format defaults to assert and
// ignores case, and an unknown value is refused as it is read with the type's own error (for
// the mode, wrapping governance.ErrUnknownMode).
func TestTypedSettingsDecodeThemselves(t *testing.T) {
	const (
		modeEnv   = "SCHEMAGATE_SCHEMA_REGISTRY_VALIDATION_MODE"
		formatEnv = "SCHEMAGATE_SCHEMA_REGISTRY_JSON_SCHEMA_FORMAT"
		bogusMode = `unknown validation mode "bogus": want canary (or shadow) or strict`
		bogusFmt  = `unknown JSON Schema format setting "lenient": want assert, annotate or draft`
		strict    = "schema_registry:\n  validation_mode: strict\n"
		annotate  = "schema_registry:\n  json_schema:\n    format: annotate\n"
	)
	mode := func(c Config) any { return c.SchemaRegistry.ValidationMode }
	format := func(c Config) any { return c.SchemaRegistry.JSONSchema.Format }
	tests := []struct {
		name, file string
		env        map[string]string
		got        func(Config) any
		want       any
		wantErr    string
		wantIs     error
	}{
		{"mode file shadow", "schema_registry:\n  validation_mode: shadow\n", nil, mode, governance.ModeCanary, "", nil},
		{"mode file strict", strict, nil, mode, governance.ModeStrict, "", nil},
		{"mode file bogus", "schema_registry:\n  validation_mode: bogus\n", nil, mode, nil, bogusMode, governance.ErrUnknownMode},
		{"mode env shadow", "", map[string]string{modeEnv: "shadow"}, mode, governance.ModeCanary, "", nil},
		{"mode env over file", strict, map[string]string{modeEnv: "shadow"}, mode, governance.ModeCanary, "", nil},
		{"mode env bogus", "", map[string]string{modeEnv: "bogus"}, mode, nil, modeEnv + ": " + bogusMode, governance.ErrUnknownMode},
		{"format default", "", nil, format, registry.JSONFormatAssert, "", nil},
		{"format file annotate", annotate, nil, format, registry.JSONFormatAnnotate, "", nil},
		{"format env over file", annotate, map[string]string{formatEnv: "Draft"}, format, registry.JSONFormatDraft, "", nil},
		{"format file bogus", "schema_registry:\n  json_schema:\n    format: lenient\n", nil, format, nil, bogusFmt, nil},
		{"format env bogus", "", map[string]string{formatEnv: "lenient"}, format, nil, formatEnv + ": " + bogusFmt, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadFrom(t, tt.file, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
					t.Errorf("LoadConfig = %v; want an error containing %q (is %v)", err, tt.wantErr, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.got(cfg)); diff != "" {
				t.Errorf("setting (-want +got):\n%s", diff)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}

// TestLoadConfigFlags puts the flags over the file and the environment, decodes them as the
// environment is decoded, and names the flag of a bad value.
func TestLoadConfigFlags(t *testing.T) {
	file := writeFile(t, "server:\n  data_dir: /from/file\n  http_addr: 127.0.0.1:18081\nlog:\n  format: text\n")
	env := envMap(map[string]string{"SCHEMAGATE_SERVER_DATA_DIR": "/from/env", "SCHEMAGATE_SERVER_GRPC_ADDR": "127.0.0.1:29091"})
	got, err := LoadConfig(file, env,
		FlagValue{Name: "data-dir", Key: "server.data_dir", Value: "/from/flag"},
		FlagValue{Name: "log-format", Key: "log.format", Value: "json"})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Server.DataDir, want.Server.HTTPAddr, want.Server.GRPCAddr = "/from/flag", "127.0.0.1:18081", "127.0.0.1:29091"
	want.Log.Format = LogJSON
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		flag    FlagValue
		wantErr string
	}{
		{FlagValue{Name: "log-format", Key: "log.format", Value: "xml"}, `flag --log-format: log format "xml": want text or json`},
		{FlagValue{Name: "shutdown", Key: "server.shutdown_timeout", Value: "soon"}, "flag --shutdown: not a duration"},
		{FlagValue{Name: "colour", Key: "server.colour", Value: "red"}, `flag --colour: no config key "server.colour"`},
		{FlagValue{Name: "server", Key: "server", Value: "x"}, "flag --server: unsupported kind struct"},
	} {
		if _, err := LoadConfig("", nil, tt.flag); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("flag %+v: LoadConfig = %v; want error containing %q", tt.flag, err, tt.wantErr)
		}
	}
}

// TestStorageURLFromDataDir derives the SQLite URL from server.data_dir when storage.url is not
// set, and Validate leaves the config as it was.
func TestStorageURLFromDataDir(t *testing.T) {
	tests := []struct{ dataDir, want string }{
		{"./data", "sqlite://./data/schemagate.db"},
		{"var/sg", "sqlite://./var/sg/schemagate.db"},
		{"/srv/schemagate", "sqlite:///srv/schemagate/schemagate.db"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Server.DataDir = tt.dataDir
		before := cfg
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := cfg.StorageURL(); got != tt.want {
			t.Errorf("data dir %q: storage.url = %q; want %q", tt.dataDir, got, tt.want)
		}
		if diff := cmp.Diff(before, cfg); diff != "" {
			t.Errorf("Validate changed the config (-before +after):\n%s", diff)
		}
	}
	cfg := DefaultConfig()
	cfg.Storage.URL = "postgres://sg@db/sg"
	if got := cfg.StorageURL(); got != cfg.Storage.URL {
		t.Errorf("storage.url set: StorageURL = %q; want %q", got, cfg.Storage.URL)
	}
	cfg.Storage.URL, cfg.Server.DataDir = "", ""
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "set storage.url or server.data_dir") {
		t.Errorf("no storage.url, no data_dir: Validate = %v", err)
	}
}

func TestEnvNamesCoverEveryKey(t *testing.T) {
	want := []string{
		"SCHEMAGATE_SERVER_HTTP_ADDR", "SCHEMAGATE_SERVER_GRPC_ADDR", "SCHEMAGATE_SERVER_DATA_DIR",
		"SCHEMAGATE_SERVER_SHUTDOWN_TIMEOUT",
		"SCHEMAGATE_SERVER_READ_HEADER_TIMEOUT", "SCHEMAGATE_SERVER_READ_TIMEOUT", "SCHEMAGATE_SERVER_WRITE_TIMEOUT",
		"SCHEMAGATE_SERVER_IDLE_TIMEOUT", "SCHEMAGATE_SERVER_MAX_HEADER_BYTES",
		"SCHEMAGATE_SERVER_MAX_BODY_BYTES", "SCHEMAGATE_SERVER_MAX_BODY_VALUES", "SCHEMAGATE_SERVER_MAX_INFLIGHT_BODY_BYTES",
		"SCHEMAGATE_SERVER_GRPC_MAX_CONCURRENT_STREAMS", "SCHEMAGATE_SERVER_GRPC_MAX_HEADER_LIST_BYTES", "SCHEMAGATE_SERVER_GRPC_MAX_SEND_MSG_BYTES",
		"SCHEMAGATE_SERVER_GRPC_MAX_CONNS_PER_IP", "SCHEMAGATE_SERVER_GRPC_KEEPALIVE_MIN_TIME", "SCHEMAGATE_SERVER_GRPC_KEEPALIVE_TIME",
		"SCHEMAGATE_SERVER_GRPC_KEEPALIVE_TIMEOUT", "SCHEMAGATE_SERVER_GRPC_MAX_CONNECTION_IDLE", "SCHEMAGATE_STORAGE_URL", "SCHEMAGATE_STORAGE_MAX_OPEN_CONNS",
		"SCHEMAGATE_STORAGE_MAX_IDLE_CONNS", "SCHEMAGATE_STORAGE_CONN_MAX_LIFETIME",
		"SCHEMAGATE_STORAGE_CHANGE_POLL_INTERVAL", "SCHEMAGATE_STORAGE_RESYNC_INTERVAL", "SCHEMAGATE_LOG_FORMAT",
		"SCHEMAGATE_LOG_LEVEL", "SCHEMAGATE_AUTH_PRINCIPALS", "SCHEMAGATE_AUTH_MAX_FAILURES", "SCHEMAGATE_AUTH_FAILURE_WINDOW", "SCHEMAGATE_AUTH_MAX_CONCURRENT_PASSWORD_CHECKS",
		"SCHEMAGATE_AUTH_OIDC_ISSUER", "SCHEMAGATE_AUTH_OIDC_CLIENT_ID", "SCHEMAGATE_AUTH_OIDC_CLIENT_SECRET_FILE", "SCHEMAGATE_AUTH_OIDC_REDIRECT_URL",
		"SCHEMAGATE_AUTH_OIDC_SCOPES", "SCHEMAGATE_AUTH_OIDC_ROLE_CLAIM", "SCHEMAGATE_AUTH_OIDC_NAME_CLAIM", "SCHEMAGATE_AUTH_OIDC_MAPPINGS",
		"SCHEMAGATE_AUTH_OIDC_COOKIE_KEY_FILE",
		"SCHEMAGATE_TLS_CERT_FILE", "SCHEMAGATE_TLS_KEY_FILE", "SCHEMAGATE_TLS_CLIENT_CA_FILE",
		"SCHEMAGATE_SCHEMA_REGISTRY_VALIDATION_MODE", "SCHEMAGATE_SCHEMA_REGISTRY_VALIDATOR_CACHE_BYTES",
		"SCHEMAGATE_SCHEMA_REGISTRY_MAX_PAYLOAD_BYTES", "SCHEMAGATE_SCHEMA_REGISTRY_MAX_JSON_DEPTH",
		"SCHEMAGATE_SCHEMA_REGISTRY_MAX_BATCH_SIZE",
		"SCHEMAGATE_SCHEMA_REGISTRY_COMPATIBILITY_BUDGET", "SCHEMAGATE_SCHEMA_REGISTRY_MAX_UNION_BRANCHES",
		"SCHEMAGATE_SCHEMA_REGISTRY_MAX_JSON_SCHEMA_COMBINATOR_ITEMS",
		"SCHEMAGATE_SCHEMA_REGISTRY_COMPATIBILITY_UNITS_PER_SECOND", "SCHEMAGATE_SCHEMA_REGISTRY_COMPATIBILITY_UNIT_BURST",
		"SCHEMAGATE_SCHEMA_REGISTRY_JSON_SCHEMA_FORMAT",
		"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_URL", "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_USERNAME", "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_PASSWORD_FILE",
		"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_BEARER_TOKEN_FILE", "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_TLS_CA_FILE",
		"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_TLS_CERT_FILE", "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_TLS_KEY_FILE",
		"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_TIMEOUT", "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_MAX_CONNS", "SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_POLL_INTERVAL",
		"SCHEMAGATE_GOVERNANCE_EVIDENCE_BUCKET",
		"SCHEMAGATE_GOVERNANCE_EVIDENCE_FLUSH_INTERVAL", "SCHEMAGATE_GOVERNANCE_EVIDENCE_MAX_SAMPLES", "SCHEMAGATE_GOVERNANCE_EVIDENCE_MAX_HELD_BUCKETS",
		"SCHEMAGATE_GOVERNANCE_CLEAN_WINDOW", "SCHEMAGATE_GOVERNANCE_MIN_VALIDATIONS", "SCHEMAGATE_GOVERNANCE_MIN_PRINCIPALS",
		"SCHEMAGATE_GOVERNANCE_REPLICA_TIMEOUT", "SCHEMAGATE_GOVERNANCE_REQUIRE_APPROVAL",
		"SCHEMAGATE_GOVERNANCE_AUTO_REQUEST", "SCHEMAGATE_GOVERNANCE_AUTO_TICKET", "SCHEMAGATE_GOVERNANCE_TICKET_PATTERN",
		"SCHEMAGATE_GOVERNANCE_TICKET_URL", "SCHEMAGATE_GOVERNANCE_DOC_PATH",
		"SCHEMAGATE_GOVERNANCE_AUTO_ROLLBACK_RATIO", "SCHEMAGATE_GOVERNANCE_AUTO_ROLLBACK_PERIOD",
		"SCHEMAGATE_GOVERNANCE_AUTO_ROLLBACK_MIN_VALIDATIONS", "SCHEMAGATE_GOVERNANCE_AUDIT_HMAC_KEY_FILE",
		"SCHEMAGATE_GOVERNANCE_AUDIT_VERIFY_INTERVAL",
		"SCHEMAGATE_ALERTING_ALERTMANAGER_URL", "SCHEMAGATE_ALERTING_SLACK_WEBHOOK_URL",
		"SCHEMAGATE_ALERTING_PAGERDUTY_ROUTING_KEY", "SCHEMAGATE_ALERTING_PAGERDUTY_URL", "SCHEMAGATE_ALERTING_PAGERDUTY_MIN_SEVERITY",
		"SCHEMAGATE_METRICS_REQUIRE_AUTH",
		"SCHEMAGATE_CONSOLE_SESSION_IDLE", "SCHEMAGATE_CONSOLE_SESSION_MAX",
	}
	if diff := cmp.Diff(want, EnvNames()); diff != "" {
		t.Errorf("EnvNames (-want +got):\n%s", diff)
	}
	// Every name is honoured: setting each to an invalid value must fail or change the config.
	for _, name := range EnvNames() {
		before, _ := LoadConfig("", envMap(nil))
		after, err := LoadConfig("", envMap(map[string]string{name: "[]"}))
		if err == nil && cmp.Equal(before, after) && name != "SCHEMAGATE_AUTH_PRINCIPALS" {
			t.Errorf("%s had no effect", name)
		}
	}
}

func TestSecurityConfigDefaultsAndLoad(t *testing.T) {
	def := DefaultConfig()
	if diff := cmp.Diff(AuthConfig{MaxFailures: 10, FailureWindow: time.Minute}, def.Auth); diff != "" {
		t.Errorf("default auth (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(TLSConfig{}, def.TLS); diff != "" {
		t.Errorf("default tls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ConsoleConfig{SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour}, def.Console); diff != "" {
		t.Errorf("default console (-want +got):\n%s", diff)
	}
	file := writeFile(t, `
auth:
  max_failures: 5
  failure_window: 30s
  principals:
    - name: svc
      roles: [producer]
      client_cert_cn: svc.example
tls:
  cert_file: /etc/schemagate/server.pem
  key_file: /etc/schemagate/server.key
`)
	got, err := LoadConfig(file, envMap(map[string]string{"SCHEMAGATE_TLS_CLIENT_CA_FILE": "/etc/schemagate/clients.pem",
		"SCHEMAGATE_CONSOLE_SESSION_IDLE": "10m"}))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Auth = AuthConfig{MaxFailures: 5, FailureWindow: 30 * time.Second, Principals: []auth.PrincipalConfig{
		{Name: "svc", Roles: []string{"producer"}, ClientCertCN: "svc.example"},
	}}
	want.TLS = TLSConfig{CertFile: "/etc/schemagate/server.pem", KeyFile: "/etc/schemagate/server.key", ClientCAFile: "/etc/schemagate/clients.pem"}
	want.Console = ConsoleConfig{SessionIdle: 10 * time.Minute, SessionMax: 12 * time.Hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestSecurityConfigValidate(t *testing.T) {
	certPrincipal := []auth.PrincipalConfig{{Name: "svc", Roles: []string{"producer"}, ClientCertCN: "svc.example"}}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"limit off", func(c *Config) { c.Auth.MaxFailures = 0; c.Auth.FailureWindow = 0 }, ""},
		{"negative limit", func(c *Config) { c.Auth.MaxFailures = -1 }, "auth.max_failures -1"},
		{"no window", func(c *Config) { c.Auth.FailureWindow = 0 }, "auth.failure_window 0s: must be positive"},
		{"negative password checks", func(c *Config) { c.Auth.MaxConcurrentPasswordChecks = -1 }, "auth.max_concurrent_password_checks -1"},
		{"console sessions", func(c *Config) { c.Console = ConsoleConfig{SessionIdle: time.Minute, SessionMax: time.Minute} }, ""},
		{"no console idle expiry", func(c *Config) { c.Console.SessionIdle = 0 }, "console.session_idle 0s"},
		{"console max below idle", func(c *Config) { c.Console.SessionMax = time.Minute }, "session_max at least session_idle"},
		{"tls", func(c *Config) { c.TLS = TLSConfig{CertFile: "c", KeyFile: "k"} }, ""},
		{"mtls", func(c *Config) {
			c.TLS = TLSConfig{CertFile: "c", KeyFile: "k", ClientCAFile: "ca"}
			c.Auth.Principals = certPrincipal
		}, ""},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "c" }, "set both tls.cert_file and tls.key_file"},
		{"key without cert", func(c *Config) { c.TLS.KeyFile = "k" }, "set both tls.cert_file and tls.key_file"},
		{"client CA without TLS", func(c *Config) { c.TLS.ClientCAFile = "ca" }, "tls.client_ca_file needs tls.cert_file"},
		{"client_cert_cn without client CA", func(c *Config) {
			c.TLS = TLSConfig{CertFile: "c", KeyFile: "k"}
			c.Auth.Principals = certPrincipal
		}, `principal "svc" has client_cert_cn, client_cert_uri_san or client_cert_dns_san but tls.client_ca_file is not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tt.wantErr == "") != (err == nil) || !strings.Contains(got, tt.wantErr) {
				t.Errorf("Validate = %v; want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestNewRefusesInvalidConfig builds configs in code, where no decoding checked them: New runs
// Validate and refuses them before it opens anything.
func TestNewRefusesInvalidConfig(t *testing.T) {
	for _, tt := range []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `config: log.format "xml": want text or json`},
		{"no address", func(c *Config) { c.Server.HTTPAddr = "" }, "config: server.http_addr and server.grpc_addr must be set"},
		{"no storage", func(c *Config) { c.Server.DataDir = "" }, "config: set storage.url or server.data_dir"},
		{"validation mode", func(c *Config) { c.SchemaRegistry.ValidationMode = "shadow" }, "schema_registry.validation_mode"},
		{"json schema format", func(c *Config) { c.SchemaRegistry.JSONSchema.Format = "lenient" },
			`config: schema_registry.json_schema.format "lenient": want assert, annotate or draft`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			g, err := New(t.Context(), Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				g.close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New = %v; want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestSubjectGrantsAndMetricsConfigLoad reads `subjects` as written: absent stays nil (every
// subject), an empty list stays empty (no subject), from YAML and from the environment, and
// metrics.require_auth from both.
func TestSubjectGrantsAndMetricsConfigLoad(t *testing.T) {
	file := writeFile(t, `
metrics:
  require_auth: true
auth:
  principals:
    - {name: all, roles: [producer], token_sha256: x}
    - {name: none, roles: [producer], token_sha256: y, subjects: []}
    - {name: team-a, roles: [producer], token_sha256: z, subjects: ["team-a-*", payments-value]}
`)
	got, err := LoadConfig(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []auth.PrincipalConfig{
		{Name: "all", Roles: []string{"producer"}, TokenSHA256: "x"},
		{Name: "none", Roles: []string{"producer"}, TokenSHA256: "y", Subjects: []string{}},
		{Name: "team-a", Roles: []string{"producer"}, TokenSHA256: "z", Subjects: []string{"team-a-*", "payments-value"}},
	}
	if diff := cmp.Diff(want, got.Auth.Principals); diff != "" || !got.Metrics.RequireAuth {
		t.Errorf("YAML: metrics.require_auth = %v; principals (-want +got):\n%s", got.Metrics.RequireAuth, diff)
	}
	got, err = LoadConfig("", envMap(map[string]string{
		"SCHEMAGATE_METRICS_REQUIRE_AUTH": "true",
		"SCHEMAGATE_AUTH_PRINCIPALS": `[{"name": "all", "roles": ["producer"], "token_sha256": "x"},
			{"name": "none", "roles": ["producer"], "token_sha256": "y", "subjects": []},
			{"name": "team-a", "roles": ["producer"], "token_sha256": "z", "subjects": ["team-a-*", "payments-value"]}]`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Auth.Principals); diff != "" || !got.Metrics.RequireAuth {
		t.Errorf("environment: metrics.require_auth = %v; principals (-want +got):\n%s", got.Metrics.RequireAuth, diff)
	}
}

func TestCheckEnv(t *testing.T) {
	for _, tt := range []struct {
		name  string
		names []string
		want  string // "" means accepted
	}{
		{"config keys and other variables", []string{"SCHEMAGATE_STORAGE_URL", "SCHEMAGATE_LOG_LEVEL", "HOME", "PATH"}, ""},
		{"known non-config name", []string{"SCHEMAGATE_TOKEN"}, ""},
		{"misspelled key", []string{"SCHEMAGATE_STORAGE_ULR"},
			"environment SCHEMAGATE_STORAGE_ULR: not a schemagate setting (did you mean SCHEMAGATE_STORAGE_URL?)"},
		{"every unknown name", []string{"SCHEMAGATE_LOG_LEVLE", "SCHEMAGATE_TOKNE"},
			"environment SCHEMAGATE_LOG_LEVLE: not a schemagate setting (did you mean SCHEMAGATE_LOG_LEVEL?)\n" +
				"environment SCHEMAGATE_TOKNE: not a schemagate setting (did you mean SCHEMAGATE_TOKEN?)"},
	} {
		got := ""
		if err := CheckEnv(tt.names, "SCHEMAGATE_TOKEN"); err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: CheckEnv (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestUpstreamConfig loads schema_registry.upstream from a file and the environment: absent,
// it is the embedded registry; set, every key is read, and the durations must be positive.
func TestUpstreamConfig(t *testing.T) {
	def := DefaultConfig().SchemaRegistry.Upstream
	if diff := cmp.Diff(UpstreamConfig{Timeout: 5 * time.Second, MaxConns: 16, PollInterval: 5 * time.Second}, def); diff != "" {
		t.Errorf("default upstream config (-want +got):\n%s", diff)
	}
	if def.Enabled() {
		t.Error("upstream mode is on by default; want the embedded registry")
	}
	path := writeFile(t, `schema_registry:
  upstream:
    url: https://registry.example:8081
    username: schemagate
    password_file: /run/secrets/upstream-password
    tls:
      ca_file: /etc/schemagate/upstream-ca.pem
      cert_file: /etc/schemagate/client.pem
      key_file: /etc/schemagate/client-key.pem
    timeout: 2s
`)
	cfg, err := LoadConfig(path, envMap(map[string]string{"SCHEMAGATE_SCHEMA_REGISTRY_UPSTREAM_POLL_INTERVAL": "500ms"}))
	if err != nil {
		t.Fatal(err)
	}
	want := UpstreamConfig{URL: "https://registry.example:8081", Username: "schemagate", PasswordFile: "/run/secrets/upstream-password",
		TLS:     UpstreamTLSConfig{CAFile: "/etc/schemagate/upstream-ca.pem", CertFile: "/etc/schemagate/client.pem", KeyFile: "/etc/schemagate/client-key.pem"},
		Timeout: 2 * time.Second, MaxConns: 16, PollInterval: 500 * time.Millisecond}
	if diff := cmp.Diff(want, cfg.SchemaRegistry.Upstream); diff != "" {
		t.Errorf("loaded upstream config (-want +got):\n%s", diff)
	}
	if !cfg.SchemaRegistry.Upstream.Enabled() {
		t.Error("upstream.url set but upstream mode is off")
	}
	cfg.SchemaRegistry.Upstream.PollInterval = 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "schema_registry.upstream.timeout 2s, max_conns 16 and poll_interval 0s must be positive") {
		t.Errorf("Validate with poll_interval 0: %v, want the upstream durations named", err)
	}
}

// TestUpstreamRefusedAtStart: settings the upstream client refuses stop `serve` with an error
// naming schema_registry.upstream, before anything listens.
func TestUpstreamRefusedAtStart(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*UpstreamConfig)
		want string
	}{
		{"password file missing", func(u *UpstreamConfig) { u.Username, u.PasswordFile = "schemagate", "/nonexistent/password" }, "schema_registry.upstream"},
		{"not a URL", func(u *UpstreamConfig) { u.URL = "registry.internal:8081" }, "schema_registry.upstream"},
		{"TLS on http", func(u *UpstreamConfig) { u.TLS.CAFile = writeFile(t, "ca") }, "schema_registry.upstream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Server.HTTPAddr, cfg.Server.GRPCAddr, cfg.Server.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
			cfg.SchemaRegistry.Upstream.URL = "http://127.0.0.1:9"
			tt.edit(&cfg.SchemaRegistry.Upstream)
			g, err := New(t.Context(), Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				_ = g.close()
				t.Fatal("New succeeded; want the upstream settings refused")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v; want it to name %s", err, tt.want)
			}
		})
	}
}

// TestOIDCConfig loads auth.oidc from a file and the environment, and refuses it at start-up
// when it is incomplete or when there are no principals.
func TestOIDCConfig(t *testing.T) {
	file := writeFile(t, `
auth:
  principals:
    - {name: ops, roles: [oncall], token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
  oidc:
    issuer: https://idp.example/realms/main
    client_id: schemagate
    client_secret_file: /run/secrets/oidc-client-secret
    redirect_url: https://schemagate.example/ui/oidc/callback
    role_claim: groups
    mappings:
      - {claim_value: schema-leads, roles: [governance-lead], subjects: ["orders-*"]}
`)
	cfg, err := LoadConfig(file, envMap(map[string]string{"SCHEMAGATE_AUTH_OIDC_SCOPES": "[openid, groups]"}))
	if err != nil {
		t.Fatal(err)
	}
	want := oidc.Config{Issuer: "https://idp.example/realms/main", ClientID: "schemagate", ClientSecretFile: "/run/secrets/oidc-client-secret",
		RedirectURL: "https://schemagate.example/ui/oidc/callback", Scopes: []string{"openid", "groups"}, RoleClaim: "groups",
		Mappings: []oidc.Mapping{{ClaimValue: "schema-leads", Roles: []string{"governance-lead"}, Subjects: []string{"orders-*"}}}}
	if diff := cmp.Diff(want, cfg.Auth.OIDC); diff != "" {
		t.Errorf("auth.oidc (-want +got):\n%s", diff)
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"complete", func(*Config) {}, ""},
		{"no principals", func(c *Config) { c.Auth.Principals = nil }, "auth.oidc needs auth.principals"},
		{"no role claim", func(c *Config) { c.Auth.OIDC.RoleClaim = "" }, "config: auth.oidc.role_claim is required"},
		{"callback elsewhere than the console's", func(c *Config) { c.Auth.OIDC.RedirectURL = "https://schemagate.example/callback" },
			`config: auth.oidc.redirect_url "https://schemagate.example/callback": its path must be /ui/oidc/callback`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate = %v; want %q", err, tt.wantErr)
			}
		})
	}
}
