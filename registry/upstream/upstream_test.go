package upstream

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"golang.org/x/crypto/bcrypt"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/tests/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

// Credentials of the upstreams; the files hold them with a trailing newline, as editors write
// them.
const (
	upstreamUser     = "upstream-admin"
	upstreamPassword = "upstream-password"
	upstreamToken    = "upstream-token"
)

// secretFile writes a secret followed by a newline into a file of the test's and returns its path.
func secretFile(t *testing.T, name, secret string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startSchemagate starts a real `schemagate serve` in embedded mode whose admin principals
// authenticate with basic auth (upstreamUser) and with a bearer token (upstreamToken).
func startSchemagate(t *testing.T) *harness.Server {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(upstreamPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(upstreamToken))
	config := `auth:
  principals:
    - name: ` + upstreamUser + `
      roles: [admin]
      password_bcrypt: "` + string(hash) + `"
    - name: upstream-bot
      roles: [admin]
      token_sha256: ` + hex.EncodeToString(sum[:]) + `
`
	path := filepath.Join(t.TempDir(), "schemagate.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return harness.Start(t, harness.Options{Name: "upstream", ConfigFile: path})
}

// startSrfake serves franz-go's Confluent API fake, which expects the bearer token.
func startSrfake(t *testing.T) string {
	t.Helper()
	fake := srfake.NewRegistry(srfake.WithAuth("Bearer " + upstreamToken))
	srv := httptest.NewServer(fake.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// newClient returns a Client for opts with its metrics on a registry of the test's.
func newClient(t *testing.T, opts Options) *Client {
	t.Helper()
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// upstream is a real registry the scenarios run against, the client options that reach it, and
// where it answers differently from Confluent Schema Registry.
type upstream struct {
	name string
	opts Options
	// checksCompatibility is false for srfake, whose compatibility checks always answer true
	// (a limitation its README states).
	checksCompatibility bool
	// levelAfterDelete is what GET /config/{subject} answers once the subject's level is
	// deleted: Confluent's 40408 ("not configured"), or srfake's fallback to the global level.
	levelAfterDelete string
}

// notConfigured stands for an *APIError 40408 in a scenario's results.
const notConfigured = "(40408 not configured)"

// upstreams starts the real registries the scenarios run against.
func upstreams(t *testing.T) []upstream {
	t.Helper()
	sg := startSchemagate(t)
	return []upstream{
		{"schemagate/basic", Options{URL: sg.URL(), Username: upstreamUser, PasswordFile: secretFile(t, "password", upstreamPassword)}, true, notConfigured},
		{"schemagate/bearer", Options{URL: sg.URL(), BearerTokenFile: secretFile(t, "token", upstreamToken)}, true, notConfigured},
		{"srfake/bearer", Options{URL: startSrfake(t), BearerTokenFile: secretFile(t, "token", upstreamToken)}, false, "BACKWARD"},
	}
}

// orderSchema is a record of the namespace ns with the fields given: each upstream has schemas
// of its own, since two of them share one server.
func orderSchema(ns, fields string) string {
	return `{"type":"record","name":"` + ns + `.Order","fields":[` + fields + `]}`
}

// TestScenarios runs the same calls against a real schemagate (with basic and bearer
// credentials) and against franz-go's independent Confluent API fake. Each upstream gets
// subjects of its own, since the two schemagate clients share one server.
func TestScenarios(t *testing.T) {
	for _, u := range upstreams(t) {
		t.Run(u.name, func(t *testing.T) {
			ctx := t.Context()
			c := newClient(t, u.opts)
			ns := filepath.Base(u.name)
			schemaV1 := orderSchema(ns, `{"name":"id","type":"long"}`)
			schemaV2 := orderSchema(ns, `{"name":"id","type":"long"},{"name":"note","type":"string","default":""}`)
			incompatible := orderSchema(ns, `{"name":"id","type":"string"}`)
			orders := "orders-" + ns + "-value"
			slashed := "team/" + orders
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}

			r1, err := c.Register(ctx, orders, Schema{Schema: schemaV1})
			must(err)
			again, err := c.Register(ctx, orders, Schema{Schema: schemaV1})
			must(err)
			if again.ID != r1.ID {
				t.Errorf("registering the same schema again: ID %d, want %d", again.ID, r1.ID)
			}
			slashedReg, err := c.Register(ctx, slashed, Schema{Schema: schemaV1})
			must(err)
			if slashedReg.ID != r1.ID {
				t.Errorf("the same schema under %q: ID %d, want %d", slashed, slashedReg.ID, r1.ID)
			}
			r2, err := c.Register(ctx, orders, Schema{Schema: schemaV2})
			must(err)

			byID, err := c.SchemaByID(ctx, r1.ID)
			must(err)
			usedBy, err := c.SubjectVersionsOfSchema(ctx, r1.ID)
			must(err)
			// The order is not part of the API: srfake answers in map order.
			slices.SortFunc(usedBy, func(a, b SubjectVersion) int { return strings.Compare(a.Subject, b.Subject) })
			latest, err := c.SubjectVersion(ctx, orders, Latest)
			must(err)
			first, err := c.SubjectVersion(ctx, slashed, 1)
			must(err)
			versions, err := c.Versions(ctx, orders)
			must(err)
			compatible, err := c.CheckCompatibility(ctx, orders, Latest, Schema{Schema: incompatible})
			must(err)
			must(c.SetConfig(ctx, orders, "FULL"))
			level, err := c.Config(ctx, orders)
			must(err)
			must(c.DeleteConfig(ctx, orders))
			levelAfterDelete, err := c.Config(ctx, orders)
			if errors.Is(err, registry.ErrSubjectCompatibilityNotConfigured) {
				levelAfterDelete, err = notConfigured, nil
			}
			must(err)
			mode, err := c.Mode(ctx, "")
			must(err)
			deletedVersion, err := c.DeleteVersion(ctx, orders, 2, false)
			must(err)
			afterDelete, err := c.SubjectVersion(ctx, orders, Latest)
			must(err)
			deletedSubject, err := c.DeleteSubject(ctx, slashed, false)
			must(err)
			_, goneErr := c.Versions(ctx, slashed)

			type result struct {
				ByID                 Schema
				UsedBy               []SubjectVersion
				Latest, First        SubjectSchema
				Versions             []int
				Compatible           bool
				Level, Mode          string
				DeletedVersion       int
				LatestAfterDelete    int
				DeletedSubject       []int
				LevelAfterDelete     string
				Gone                 bool
				SecondVersionDiffers bool
			}
			got := result{
				ByID: compactSchema(t, byID), UsedBy: usedBy,
				Latest: compactSubjectSchema(t, latest), First: compactSubjectSchema(t, first),
				Versions: versions, Compatible: compatible, Level: level, Mode: mode,
				DeletedVersion: deletedVersion, LatestAfterDelete: afterDelete.Version,
				DeletedSubject:       deletedSubject,
				LevelAfterDelete:     levelAfterDelete,
				Gone:                 errors.Is(goneErr, registry.ErrSubjectNotFound),
				SecondVersionDiffers: r2.ID != r1.ID,
			}
			want := result{
				ByID:                 compactSchema(t, Schema{Schema: schemaV1, SchemaType: "AVRO"}),
				UsedBy:               []SubjectVersion{{orders, 1}, {slashed, 1}},
				Latest:               SubjectSchema{Subject: orders, Version: 2, ID: r2.ID, Schema: compactSchema(t, Schema{Schema: schemaV2, SchemaType: "AVRO"})},
				First:                SubjectSchema{Subject: slashed, Version: 1, ID: r1.ID, Schema: compactSchema(t, Schema{Schema: schemaV1, SchemaType: "AVRO"})},
				Versions:             []int{1, 2},
				Level:                "FULL",
				Mode:                 "READWRITE",
				DeletedVersion:       2,
				LatestAfterDelete:    1,
				DeletedSubject:       []int{1},
				LevelAfterDelete:     u.levelAfterDelete,
				Compatible:           !u.checksCompatibility,
				Gone:                 true,
				SecondVersionDiffers: true,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("scenario (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorPassthrough checks that an upstream's error reaches the caller as the upstream said
// it: the status, error code and message of its answer, matched by the registry's sentinel.
func TestErrorPassthrough(t *testing.T) {
	for _, u := range upstreams(t) {
		t.Run(u.name, func(t *testing.T) {
			c := newClient(t, u.opts)
			_, err := c.SubjectVersion(t.Context(), "no/such-subject", Latest)
			raw, ferr := c.Forward(t.Context(), http.MethodGet, "/subjects/no%2Fsuch-subject/versions/latest", nil, nil)
			if ferr != nil {
				t.Fatal(ferr)
			}
			var body struct {
				ErrorCode int    `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.Unmarshal(raw.Body, &body); err != nil {
				t.Fatalf("forwarded answer %d %q: %v", raw.Status, raw.Body, err)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			want := &APIError{Status: raw.Status, ErrorCode: 40401, Message: body.Message}
			if diff := cmp.Diff(want, apiErr); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if raw.Status != http.StatusNotFound || body.Message == "" {
				t.Errorf("the upstream answered %d %q, want 404 with a message", raw.Status, raw.Body)
			}
			for _, target := range []error{registry.ErrSubjectNotFound} {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			if errors.Is(err, ErrUnavailable) || errors.Is(err, registry.ErrVersionNotFound) {
				t.Errorf("%v matches ErrUnavailable or ErrVersionNotFound", err)
			}
			if up := testutil.ToFloat64(c.metrics.up); up != 1 {
				t.Errorf("schemagate_upstream_up = %v after an answer, want 1", up)
			}
		})
	}
}

// compactSchema compacts the JSON of a schema's text, since registries may answer it with
// other spacing.
func compactSchema(t *testing.T, s Schema) Schema {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s.Schema), &v); err != nil {
		t.Fatalf("schema %q: %v", s.Schema, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	s.Schema = string(b)
	return s
}

// compactSubjectSchema is compactSchema for a subject version.
func compactSubjectSchema(t *testing.T, s SubjectSchema) SubjectSchema {
	t.Helper()
	s.Schema = compactSchema(t, s.Schema)
	return s
}
