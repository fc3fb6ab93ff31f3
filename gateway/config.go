package gateway

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/oidc"
	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/compatbudget"
	"github.com/schemagate/schemagate/registry/upstream"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/validate"
)

// EnvPrefix starts the environment variable of every config key: `storage.url` is also
// SCHEMAGATE_STORAGE_URL.
const EnvPrefix = "SCHEMAGATE_"

// Config is the gateway's configuration, read from YAML (`--config FILE`), then overridden by
// environment variables (EnvPrefix + the key path in upper case, dots as underscores), then by
// command-line flags. Every field documents its default.
type Config struct {
	// Server holds the listen addresses and the data directory.
	Server ServerConfig `yaml:"server"`
	// Storage selects the database.
	Storage StorageConfig `yaml:"storage"`
	// Log selects the log format and level.
	Log LogConfig `yaml:"log"`
	// Auth lists the principals allowed to call the gateway.
	Auth AuthConfig `yaml:"auth"`
	// TLS turns on TLS (and optionally client certificates) on both listeners.
	TLS TLSConfig `yaml:"tls"`
	// SchemaRegistry holds the payload validation settings.
	SchemaRegistry SchemaRegistryConfig `yaml:"schema_registry"`
	// Governance holds the evidence and promotion settings; governance owns them and their
	// defaults.
	Governance governance.Config `yaml:"governance"`
	// Alerting names the receivers drift alerts are raised to directly.
	Alerting governance.AlertReceivers `yaml:"alerting"`
	// Metrics protects /metrics.
	Metrics MetricsConfig `yaml:"metrics"`
	// Console configures the sessions of the governance console at /ui/.
	Console ConsoleConfig `yaml:"console"`
}

// ConsoleConfig configures the sessions of the governance console (/ui/). Sessions live in the
// memory of the replica that signed the person in: behind a load balancer, route a browser to
// one replica (sticky sessions), or people sign in again on each replica they reach.
type ConsoleConfig struct {
	// SessionIdle ends a session that made no request (other than the pages' own refresh) for
	// this long. Default 30m.
	SessionIdle time.Duration `yaml:"session_idle"`
	// SessionMax ends a session this long after sign-in, however active. Default 12h; at least
	// session_idle.
	SessionMax time.Duration `yaml:"session_max"`
}

// MetricsConfig protects GET /metrics, whose series carry subject names and owning teams
// (schemagate_subject_owner_info).
type MetricsConfig struct {
	// RequireAuth makes /metrics answer only authenticated principals (any role, any subject
	// grants): others get 401 with WWW-Authenticate: Bearer, as the APIs do. Without auth.principals
	// everybody is the anonymous principal, so it changes nothing. Default false: open, for
	// Prometheus scrapers without credentials.
	RequireAuth bool `yaml:"require_auth"`
}

// SchemaRegistryConfig holds the payload validation settings.
type SchemaRegistryConfig struct {
	// ValidationMode is the mode of subjects without their own: canary (validate, flag, accept;
	// "shadow" is a synonym) or strict (reject). Default canary.
	ValidationMode governance.ValidationMode `yaml:"validation_mode"`
	// ValidatorCacheBytes bounds the compiled validators kept in memory (an estimate; least
	// recently used go first). Default 64 MiB.
	ValidatorCacheBytes int64 `yaml:"validator_cache_bytes"`
	// MaxPayloadBytes is the largest payload validated. Default 1 MiB.
	MaxPayloadBytes int `yaml:"max_payload_bytes"`
	// MaxJSONDepth is the deepest nesting of a payload accepted. Default 64.
	MaxJSONDepth int `yaml:"max_json_depth"`
	// MaxBatchSize is the most requests one ValidateBatch call may carry. Default 1000.
	MaxBatchSize int `yaml:"max_batch_size"`
	// CompatibilityBudget is the work units one compatibility check may spend over all the
	// versions it compares; a check that needs more reports the schema incompatible as too
	// complex to prove compatible. Default 2000000 (about half a second of work at most).
	CompatibilityBudget int64 `yaml:"compatibility_budget"`
	// MaxUnionBranches is the most branches an Avro union may have; larger schemas are
	// refused as invalid (Confluent code 42201). Default 1000.
	MaxUnionBranches int `yaml:"max_union_branches"`
	// MaxJSONSchemaCombinatorItems is the most subschemas one JSON Schema allOf, anyOf or
	// oneOf may list; larger schemas are refused as invalid (42201). Default 1000.
	MaxJSONSchemaCombinatorItems int `yaml:"max_json_schema_combinator_items"`
	// CompatibilityUnitsPerSecond is the compatibility work (in the work units of
	// compatibility_budget) each principal may have done per second, by its checks (POST
	// /compatibility, CheckCompatibility, and registrations of a new version in a subject with
	// versions): a check starts while the principal is not in debt and is charged what it
	// spent. Past it, HTTP 429 (42901) or gRPC ResourceExhausted with Retry-After. 0 turns the
	// limit off. Default 1000000: ordinary checks spend a few hundred units, so only checks
	// that near the budget are ever limited.
	CompatibilityUnitsPerSecond float64 `yaml:"compatibility_units_per_second"`
	// CompatibilityUnitBurst is the work a principal may spend at once before the rate
	// applies; at least compatibility_budget. Default 4000000.
	CompatibilityUnitBurst int64 `yaml:"compatibility_unit_burst"`
	// JSONSchema holds how JSON Schemas validate payloads.
	JSONSchema JSONSchemaConfig `yaml:"json_schema"`
	// Upstream, when its URL is set, puts schemagate in front of an existing
	// Confluent-compatible registry instead of its embedded one (upstream mode).
	Upstream UpstreamConfig `yaml:"upstream"`
}

// JSONSchemaConfig is schema_registry.json_schema.
type JSONSchemaConfig struct {
	// Format says what the "format" keyword does to a payload: assert (a value not of the
	// format is a constraint_violation, in every draft), annotate (never checked) or draft (as
	// each draft says: 4, 6 and 7 assert; 2019-09 and 2020-12 assert only when the schema's
	// metaschema requires the format or format-assertion vocabulary). Default assert, since
	// producers expect a field declared "email" to be checked as one. It applies to every
	// subject whose registry config (its own, else the global one: Confluent config key
	// schemagate.jsonSchemaFormat) sets none; in upstream mode to every subject. It is read at
	// startup, so changing it takes a restart (the registry's settings take effect at once).
	Format registry.JSONSchemaFormat `yaml:"format"`
}

// UpstreamConfig is schema_registry.upstream: the Confluent-compatible registry schemagate
// serves in upstream mode. The credentials are schemagate's own, never a caller's; secrets are
// read from files and never logged.
type UpstreamConfig struct {
	// URL of the upstream registry (http or https). Empty: the embedded registry.
	URL string `yaml:"url"`
	// Username and PasswordFile are basic-auth credentials (the file holds the password).
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// BearerTokenFile holds a bearer token, the alternative to basic auth.
	BearerTokenFile string `yaml:"bearer_token_file"`
	// TLS configures HTTPS to the upstream: CAFile to trust, CertFile and KeyFile for mutual TLS.
	TLS UpstreamTLSConfig `yaml:"tls"`
	// Timeout bounds each call to the upstream, retries included. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConns bounds the connections open to the upstream; calls beyond it wait within their
	// deadline, so a slow upstream cannot use up schemagate's connections. Default 16.
	MaxConns int `yaml:"max_conns"`
	// PollInterval is how often subjects and versions are refreshed from the upstream, so
	// versions registered directly in it are noticed. Default 5s.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// UpstreamTLSConfig is schema_registry.upstream.tls.
type UpstreamTLSConfig struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether upstream mode is configured.
func (u UpstreamConfig) Enabled() bool { return u.URL != "" }

// ServerConfig holds the listen addresses and the data directory.
type ServerConfig struct {
	// HTTPAddr serves the HTTP API, /metrics and health. Default 127.0.0.1:8081, the port
	// Confluent Schema Registry clients expect.
	HTTPAddr string `yaml:"http_addr"`
	// GRPCAddr serves the gRPC API. Default 127.0.0.1:9091.
	GRPCAddr string `yaml:"grpc_addr"`
	// DataDir holds the embedded SQLite database when storage.url is not set. Default ./data.
	DataDir string `yaml:"data_dir"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish on SIGINT/SIGTERM
	// before they are cut. Default 15s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// ReadHeaderTimeout bounds how long an HTTP client may take to send its request headers
	// (slow-header clients are cut off). Default 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole HTTP request, body included. Default 1m.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing an HTTP response, from the end of the request headers.
	// Default 2m.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes keep-alive HTTP connections idle this long. Default 2m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds the HTTP request line and headers; larger requests get 431.
	// Default 64 KiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxBodyBytes bounds the body of a /v1 request other than validate (2 ×
	// schema_registry.max_payload_bytes + 64 KiB; batch: max_batch_size of those) and schema
	// registration or compatibility (2 MiB + 64 KiB, a JSON-escaped schema of 1 MiB), all capped
	// at 8 MiB; larger bodies get 413. Default 64 KiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBodyValues bounds the JSON values (members, keys and elements) of a /v1 body, counted
	// before it is decoded, validate payloads (decoded by the engine, within
	// schema_registry.max_payload_bytes) excepted; more get 413. Default 100,000.
	MaxBodyValues int `yaml:"max_body_values"`
	// MaxInflightBodyBytes bounds the request bytes being read and decoded at once: each /v1
	// request holds its Content-Length (or its route's limit when it has none) while it is
	// served, each gRPC call the size of its request message; a request that does not fit is
	// refused at once, HTTP 503 with Retry-After or gRPC Unavailable. At least 8 MiB. Default
	// 64 MiB.
	MaxInflightBodyBytes int64 `yaml:"max_inflight_body_bytes"`
	// GRPCMaxConcurrentStreams bounds the calls open at once on one gRPC connection; the
	// client queues more (the in-process connection of the /v1 API is one connection too).
	// Default 100.
	GRPCMaxConcurrentStreams int `yaml:"grpc_max_concurrent_streams"`
	// GRPCMaxHeaderListBytes bounds the metadata (headers) of one gRPC call; larger ones are
	// refused. Default 16 KiB (gRPC's own default is 16 MiB).
	GRPCMaxHeaderListBytes int `yaml:"grpc_max_header_list_bytes"`
	// GRPCMaxSendMsgBytes bounds one gRPC response message. Default 16 MiB.
	GRPCMaxSendMsgBytes int `yaml:"grpc_max_send_msg_bytes"`
	// GRPCMaxConnsPerIP bounds the gRPC connections open at once from one client IP; more are
	// closed as soon as they are accepted. Default 64.
	GRPCMaxConnsPerIP int `yaml:"grpc_max_conns_per_ip"`
	// GRPCKeepaliveMinTime is the shortest interval at which a client may send keepalive
	// pings; a client pinging more often is disconnected (GOAWAY). Default 1m.
	GRPCKeepaliveMinTime time.Duration `yaml:"grpc_keepalive_min_time"`
	// GRPCKeepaliveTime is how long a gRPC connection may be silent before the server pings
	// it; GRPCKeepaliveTimeout how long it then waits for the answer before closing it.
	// Defaults 2m and 20s.
	GRPCKeepaliveTime    time.Duration `yaml:"grpc_keepalive_time"`
	GRPCKeepaliveTimeout time.Duration `yaml:"grpc_keepalive_timeout"`
	// GRPCMaxConnectionIdle closes gRPC connections without calls for this long. Default 15m.
	GRPCMaxConnectionIdle time.Duration `yaml:"grpc_max_connection_idle"`
}

// StorageConfig selects the database and its connection pool.
type StorageConfig struct {
	// URL of the store: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=….
	// Default sqlite://<data_dir>/schemagate.db, derived by Config.StorageURL.
	URL string `yaml:"url"`
	// MaxOpenConns caps the connections of this replica; 0 or less: the default, sized for
	// the machine (store.DefaultMaxOpenConns): on PostgreSQL min(4 × GOMAXPROCS, 16), on
	// SQLite no limit. Writes take one connection at a time whatever the cap; keep the sum
	// over all replicas below PostgreSQL's max_connections. Default 0.
	MaxOpenConns int `yaml:"max_open_conns"`
	// MaxIdleConns caps the idle connections kept; 0 or less: the default, as many as
	// MaxOpenConns on PostgreSQL and 4 × GOMAXPROCS on SQLite. Default 0.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// ConnMaxLifetime closes connections older than this; 0 or less: never. Default
	// store.DefaultConnMaxLifetime, never.
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
	// ChangePollInterval is how often the change feed is read: on SQLite always, on PostgreSQL
	// (LISTEN/NOTIFY) only while the listening connection is down. Default
	// store.DefaultPollInterval, 200ms.
	ChangePollInterval time.Duration `yaml:"change_poll_interval"`
	// ResyncInterval is how often every replica reloads the registry, the validation modes and
	// the validator's subject index in full, whatever the feed said: the safety net for writers
	// that publish nothing (an offline import). Default store.DefaultResyncInterval, 1m.
	ResyncInterval time.Duration `yaml:"resync_interval"`
}

// LogConfig selects the log format and level; both are checked where they are decoded.
type LogConfig struct {
	// Format is text or json. Default text.
	Format LogFormat `yaml:"format"`
	// Level is debug, info, warn or error. Default info.
	Level LogLevel `yaml:"level"`
}

// AuthConfig lists the principals allowed to call the gateway. With none, the gateway is open
// to everybody and refuses to listen on anything but loopback.
type AuthConfig struct {
	// Principals are the callers, each with roles and a hashed credential.
	Principals []auth.PrincipalConfig `yaml:"principals"`
	// MaxFailures is how many failed authentications one client (an IPv4 address or an IPv6
	// /64; the TCP peer, X-Forwarded-For is never trusted) may make within FailureWindow; beyond
	// it, every request of that client to a protected API is refused (HTTP 429 with Retry-After,
	// gRPC ResourceExhausted) until the window, which began with its first failure, ends.
	// Requests without credentials do not count. 0 turns the limit off (e.g. behind an HTTP
	// proxy, where every client has the proxy's address). Default 10.
	MaxFailures int `yaml:"max_failures"`
	// FailureWindow is the period MaxFailures counts over. Default 1m.
	FailureWindow time.Duration `yaml:"failure_window"`
	// MaxConcurrentPasswordChecks bounds the bcrypt password checks that run at once (basic
	// credentials not yet cached, and unknown users, compared against a dummy hash); beyond it a
	// check is refused at once (HTTP 503 with Retry-After, gRPC Unavailable) instead of waiting,
	// and one client may run at most 2 (429). Tokens and cached credentials never wait on it.
	// 0: one per CPU (the default).
	MaxConcurrentPasswordChecks int `yaml:"max_concurrent_password_checks"`
	// OIDC signs people in to the console through an OpenID Provider (see gateway/oidc.Config
	// for every key and its default). Default: off. It needs auth.principals, since without
	// them every caller is already the anonymous admin.
	OIDC oidc.Config `yaml:"oidc"`
}

// TLSConfig turns on TLS for the HTTP and the gRPC listener (TLS 1.2 or later). Certificates
// are read at startup; replacing them needs a restart.
type TLSConfig struct {
	// CertFile is the PEM certificate chain of the server; set with KeyFile or not at all.
	// Default empty: plaintext.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, when set, makes both listeners ask for a client certificate and verify one
	// that is presented against these PEM CA certificates; the handshake fails for any other.
	// A certificate is optional, so bearer tokens and basic auth keep working; a verified one
	// authenticates the principal whose client_cert_cn equals its Subject Common Name. Needs
	// CertFile. Default empty: client certificates are not requested.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether the listeners serve TLS.
func (c TLSConfig) Enabled() bool { return c.CertFile != "" }

// validateSecurity checks the auth failure limit and the TLS section, and that certificate
// principals have a CA to be verified against.
func (c Config) validateSecurity() error {
	if c.Auth.MaxFailures < 0 {
		return fmt.Errorf("config: auth.max_failures %d: want 0 (no limit) or more", c.Auth.MaxFailures)
	}
	if c.Auth.MaxFailures > 0 && c.Auth.FailureWindow <= 0 {
		return fmt.Errorf("config: auth.failure_window %s: must be positive", c.Auth.FailureWindow)
	}
	if c.Console.SessionIdle <= 0 || c.Console.SessionMax < c.Console.SessionIdle {
		return fmt.Errorf("config: console.session_idle %s and console.session_max %s: both positive, session_max at least session_idle",
			c.Console.SessionIdle, c.Console.SessionMax)
	}
	if c.Auth.MaxConcurrentPasswordChecks < 0 {
		return fmt.Errorf("config: auth.max_concurrent_password_checks %d: want 0 (one per CPU) or more", c.Auth.MaxConcurrentPasswordChecks)
	}
	if err := c.Auth.OIDC.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.Auth.OIDC.Enabled() && len(c.Auth.Principals) == 0 {
		return errors.New("config: auth.oidc needs auth.principals: without principals every caller is already the anonymous admin")
	}
	if u, err := url.Parse(c.Auth.OIDC.RedirectURL); c.Auth.OIDC.Enabled() && (err != nil || u.Path != oidcCallbackPath) {
		return fmt.Errorf("config: auth.oidc.redirect_url %q: its path must be %s, where the console finishes the sign-in", c.Auth.OIDC.RedirectURL, oidcCallbackPath)
	}
	t := c.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("config: set both tls.cert_file and tls.key_file, or neither")
	}
	if t.ClientCAFile != "" && t.CertFile == "" {
		return errors.New("config: tls.client_ca_file needs tls.cert_file and tls.key_file (client certificates are only asked for over TLS)")
	}
	for _, p := range c.Auth.Principals {
		if (p.ClientCertCN != "" || p.ClientCertURISAN != "" || p.ClientCertDNSSAN != "") && t.ClientCAFile == "" {
			return fmt.Errorf("config: principal %q has client_cert_cn, client_cert_uri_san or client_cert_dns_san but tls.client_ca_file is not set, so no certificate could be verified", p.Name)
		}
	}
	return nil
}

// DefaultConfig returns the configuration used when nothing overrides it. Defaults that another
// package owns come from it (governance, validate's limits, auth's failure limit, store's
// pool); the server and log settings are the gateway's own.
func DefaultConfig() Config {
	return Config{
		Server: ServerConfig{
			HTTPAddr:          "127.0.0.1:8081",
			GRPCAddr:          "127.0.0.1:9091",
			DataDir:           "./data",
			ShutdownTimeout:   15 * time.Second,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			WriteTimeout:      2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,

			MaxBodyBytes:         64 << 10,
			MaxBodyValues:        100_000,
			MaxInflightBodyBytes: 64 << 20,

			GRPCMaxConcurrentStreams: 100,
			GRPCMaxHeaderListBytes:   64 << 10, // as server.max_header_bytes: /v1 headers cross the in-process hop as metadata
			GRPCMaxSendMsgBytes:      16 << 20,
			GRPCMaxConnsPerIP:        64,
			GRPCKeepaliveMinTime:     time.Minute,
			GRPCKeepaliveTime:        2 * time.Minute,
			GRPCKeepaliveTimeout:     20 * time.Second,
			GRPCMaxConnectionIdle:    15 * time.Minute,
		},
		Storage: StorageConfig{ // MaxOpenConns and MaxIdleConns 0: the store's defaults
			ConnMaxLifetime: store.DefaultConnMaxLifetime, ChangePollInterval: store.DefaultPollInterval,
			ResyncInterval: store.DefaultResyncInterval},
		Log:  LogConfig{Format: LogText, Level: LogLevel(slog.LevelInfo)},
		Auth: AuthConfig{MaxFailures: auth.DefaultMaxFailures, FailureWindow: auth.DefaultFailureWindow},
		SchemaRegistry: SchemaRegistryConfig{ValidationMode: governance.DefaultMode, ValidatorCacheBytes: validate.DefaultMaxCacheBytes,
			MaxPayloadBytes: validate.DefaultMaxPayloadBytes, MaxJSONDepth: validate.DefaultMaxDepth, MaxBatchSize: defaultMaxBatch,
			CompatibilityBudget: compatbudget.DefaultUnits, MaxUnionBranches: registry.DefaultMaxUnionBranches,
			MaxJSONSchemaCombinatorItems: registry.DefaultMaxCombinatorItems,
			CompatibilityUnitsPerSecond:  defaultCompatibilityUnitsPerSecond, CompatibilityUnitBurst: defaultCompatibilityUnitBurst,
			JSONSchema: JSONSchemaConfig{Format: registry.DefaultJSONSchemaFormat},
			Upstream:   UpstreamConfig{Timeout: upstream.DefaultTimeout, MaxConns: upstream.DefaultMaxConns, PollInterval: defaultUpstreamPollInterval}},
		Governance: governance.DefaultConfig(),
		Console:    ConsoleConfig{SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour},
	}
}

// FlagValue is a command-line flag that sets one config key, the last layer of LoadConfig.
type FlagValue struct {
	// Name is the flag as typed, without dashes ("data-dir"); errors name it.
	Name string
	// Key is the config key it sets, as written in the YAML file ("server.data_dir").
	Key string
	// Value is the flag's text, decoded as an environment variable's is.
	Value string
}

// LoadConfig returns DefaultConfig overridden, in this order, by the YAML file at path (skipped
// when path is empty), by the environment, read through lookupEnv (os.LookupEnv in production;
// nil skips it), and by flags, the command-line flags that were given. Unknown keys in the file
// are an error, so a typo is not silently ignored. A typed value decodes and checks itself
// through encoding.TextUnmarshaler in every layer (schema_registry.validation_mode,
// log.format, log.level), so a bad one is refused here, naming its source. LoadConfig does not
// run Validate: gateway.New does, once.
//
// The layering is written by hand rather than with a configuration library such as
// knadh/koanf: it is small (a YAML decode, a reflective walk over the yaml tags for the
// environment, a key lookup for flags), it adds no dependency, it keeps the strict refusal of
// unknown keys, and the config types decode themselves the same way from a file, the
// environment and a flag.
func LoadConfig(path string, lookupEnv func(string) (string, bool), flags ...FlagValue) (Config, error) {
	cfg := DefaultConfig()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: empty file
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if lookupEnv != nil {
		if err := applyEnv(reflect.ValueOf(&cfg).Elem(), EnvPrefix, lookupEnv); err != nil {
			return Config{}, err
		}
	}
	for _, f := range flags {
		if err := setKey(reflect.ValueOf(&cfg).Elem(), f.Key, f.Value); err != nil {
			return Config{}, fmt.Errorf("flag --%s: %w", f.Name, err)
		}
	}
	return cfg, nil
}

// StorageURL is the store the gateway opens: storage.url, or when that is empty the SQLite
// database schemagate.db in server.data_dir (a relative directory stays relative to the working
// directory). It is "" when both are empty, which Validate refuses.
func (c Config) StorageURL() string {
	if c.Storage.URL != "" {
		return c.Storage.URL
	}
	if c.Server.DataDir == "" {
		return ""
	}
	p := filepath.ToSlash(filepath.Join(c.Server.DataDir, "schemagate.db"))
	if !filepath.IsAbs(p) {
		p = "./" + p
	}
	return "sqlite://" + p
}

// Validate checks the configuration and changes nothing. gateway.New runs it, once, on the
// config it is given.
func (c Config) Validate() error {
	if c.Server.HTTPAddr == "" || c.Server.GRPCAddr == "" {
		return errors.New("config: server.http_addr and server.grpc_addr must be set")
	}
	if c.StorageURL() == "" {
		return errors.New("config: set storage.url or server.data_dir")
	}
	if !c.Log.Format.Valid() {
		return fmt.Errorf("config: log.format %q: want text or json", c.Log.Format)
	}
	if !c.SchemaRegistry.ValidationMode.Valid() {
		return fmt.Errorf("config: schema_registry.validation_mode %q: want canary (or shadow) or strict", c.SchemaRegistry.ValidationMode)
	}
	if c.SchemaRegistry.ValidatorCacheBytes <= 0 || c.SchemaRegistry.MaxPayloadBytes <= 0 || c.SchemaRegistry.MaxJSONDepth <= 0 || c.SchemaRegistry.MaxBatchSize <= 0 {
		return errors.New("config: schema_registry.validator_cache_bytes, max_payload_bytes, max_json_depth and max_batch_size must be positive")
	}
	if sr := c.SchemaRegistry; sr.CompatibilityBudget <= 0 || sr.MaxUnionBranches <= 0 || sr.MaxJSONSchemaCombinatorItems <= 0 {
		return errors.New("config: schema_registry.compatibility_budget, max_union_branches and max_json_schema_combinator_items must be positive")
	}
	if sr := c.SchemaRegistry; sr.CompatibilityUnitsPerSecond > 0 && sr.CompatibilityUnitBurst < sr.CompatibilityBudget {
		return fmt.Errorf("config: schema_registry.compatibility_unit_burst %d: must be at least compatibility_budget (%d), or no check could ever finish within it", sr.CompatibilityUnitBurst, sr.CompatibilityBudget)
	}
	if r := c.SchemaRegistry.CompatibilityUnitsPerSecond; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return fmt.Errorf("config: schema_registry.compatibility_units_per_second %v: want 0 (no limit) or a positive rate", r)
	}
	if f := c.SchemaRegistry.JSONSchema.Format; f != "" {
		if _, err := registry.ParseJSONSchemaFormat(string(f)); err != nil {
			return fmt.Errorf("config: schema_registry.json_schema.format %q: want assert, annotate or draft", f)
		}
	}
	if u := c.SchemaRegistry.Upstream; u.Timeout <= 0 || u.PollInterval <= 0 || u.MaxConns <= 0 {
		return fmt.Errorf("config: schema_registry.upstream.timeout %s, max_conns %d and poll_interval %s must be positive", u.Timeout, u.MaxConns, u.PollInterval)
	}
	if err := c.Governance.Validate(); err != nil {
		return err
	}
	if c.Server.ShutdownTimeout <= 0 {
		return fmt.Errorf("config: server.shutdown_timeout %s: must be positive", c.Server.ShutdownTimeout)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", c.Server.ReadHeaderTimeout}, {"read_timeout", c.Server.ReadTimeout}, {"write_timeout", c.Server.WriteTimeout}, {"idle_timeout", c.Server.IdleTimeout},
		{"grpc_keepalive_min_time", c.Server.GRPCKeepaliveMinTime}, {"grpc_keepalive_time", c.Server.GRPCKeepaliveTime},
		{"grpc_keepalive_timeout", c.Server.GRPCKeepaliveTimeout}, {"grpc_max_connection_idle", c.Server.GRPCMaxConnectionIdle}} {
		if d.v <= 0 {
			return fmt.Errorf("config: server.%s %s: must be positive", d.key, d.v)
		}
	}
	for _, n := range []struct {
		key      string
		v, least int
	}{{"max_header_bytes", c.Server.MaxHeaderBytes, 4 << 10}, {"grpc_max_header_list_bytes", c.Server.GRPCMaxHeaderListBytes, 4 << 10},
		{"grpc_max_concurrent_streams", c.Server.GRPCMaxConcurrentStreams, 1}, {"grpc_max_send_msg_bytes", c.Server.GRPCMaxSendMsgBytes, 64 << 10},
		{"grpc_max_conns_per_ip", c.Server.GRPCMaxConnsPerIP, 1}, {"max_body_values", c.Server.MaxBodyValues, 64}} {
		if n.v < n.least {
			return fmt.Errorf("config: server.%s %d: must be at least %d", n.key, n.v, n.least)
		}
	}
	if c.Server.MaxBodyBytes < 4<<10 {
		return fmt.Errorf("config: server.max_body_bytes %d: must be at least %d", c.Server.MaxBodyBytes, 4<<10)
	}
	if c.Server.MaxInflightBodyBytes < maxMessageBytes {
		return fmt.Errorf("config: server.max_inflight_body_bytes %d: must be at least %d, the largest request", c.Server.MaxInflightBodyBytes, maxMessageBytes)
	}
	return c.validateSecurity()
}

// EnvNames lists the environment variable of every config key, in field order.
func EnvNames() []string {
	var names []string
	walkKeys(reflect.TypeOf(Config{}), EnvPrefix, func(name string) { names = append(names, name) })
	return names
}

func walkKeys(t reflect.Type, prefix string, visit func(string)) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := prefix + strings.ToUpper(yamlKey(f))
		if f.Type.Kind() == reflect.Struct {
			walkKeys(f.Type, name+"_", visit)
			continue
		}
		visit(name)
	}
}

func yamlKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return key
}

// applyEnv sets every leaf of v whose environment variable is present. Lists (auth.principals)
// are read as YAML or JSON text.
func applyEnv(v reflect.Value, prefix string, lookupEnv func(string) (string, bool)) error {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		name := prefix + strings.ToUpper(yamlKey(f))
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, name+"_", lookupEnv); err != nil {
				return err
			}
			continue
		}
		raw, ok := lookupEnv(name)
		if !ok {
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			// The value is not echoed: it may hold credentials.
			return fmt.Errorf("environment %s: %w", name, err)
		}
	}
	return nil
}

// setKey sets the field of v at key, a dotted path of YAML keys ("server.data_dir"), from raw.
func setKey(v reflect.Value, key, raw string) error {
	for part := range strings.SplitSeq(key, ".") {
		var next reflect.Value
		if v.Kind() == reflect.Struct {
			for i := range v.NumField() {
				if yamlKey(v.Type().Field(i)) == part {
					next = v.Field(i)
				}
			}
		}
		if !next.IsValid() {
			return fmt.Errorf("no config key %q", key)
		}
		v = next
	}
	return setFromString(v, raw)
}

func setFromString(v reflect.Value, raw string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(raw))
	}
	switch {
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("not a duration (e.g. 48h, 15s)")
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("not a boolean")
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errors.New("not an integer")
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return errors.New("not a number")
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Slice:
		dec := yaml.NewDecoder(strings.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(v.Addr().Interface()); err != nil {
			return errors.New("not a YAML or JSON list of the expected shape")
		}
	default:
		return fmt.Errorf("unsupported kind %s", v.Kind())
	}
	return nil
}

// CheckEnv refuses environment variables that look like settings but are none: every name in
// names (the environment's variable names) that starts with EnvPrefix and is neither a config
// key's variable (EnvNames) nor one of known (variables schemagate reads elsewhere, such as
// the CLI's SCHEMAGATE_TOKEN) is an error that names it and suggests the closest known name,
// as a misspelled key in the config file is. Only serve calls it: client commands must not
// fail on a server setting in the same shell.
func CheckEnv(names []string, known ...string) error {
	all := append(EnvNames(), known...)
	var errs []error
	for _, name := range names {
		if !strings.HasPrefix(name, EnvPrefix) || slices.Contains(all, name) {
			continue
		}
		errs = append(errs, fmt.Errorf("environment %s: not a schemagate setting (did you mean %s?)", name, closest(name, all)))
	}
	return errors.Join(errs...)
}

// closest returns the name of candidates nearest to name by edit distance; the first one on a
// tie.
func closest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		if d := editDistance(name, c); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes (environment names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
