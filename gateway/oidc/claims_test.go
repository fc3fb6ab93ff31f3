package oidc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/gateway/auth"
)

func TestPrincipalFrom(t *testing.T) {
	mappings := []Mapping{
		{ClaimValue: "schema-leads", Roles: []string{"governance-lead"}, Subjects: []string{"orders-*"}},
		{ClaimValue: "engineering", Roles: []string{"producer", "author"}, Subjects: []string{"orders-*", "payments-*"}},
		{ClaimValue: "auditors", Roles: []string{"producer"}, Subjects: []string{}},
		{ClaimValue: "platform", Roles: []string{"admin"}},
	}
	tests := []struct {
		name      string
		nameClaim string
		claims    string
		want      auth.Principal
		wantErr   error
	}{
		{name: "union of roles and grants, roles in auth order", claims: `{"sub":"1","preferred_username":"alice","groups":["schema-leads","engineering"]}`,
			want: auth.Principal{Name: "oidc:alice", Roles: []auth.Role{auth.RoleProducer, auth.RoleAuthor, auth.RoleGovernanceLead},
				Subjects: []string{"orders-*", "payments-*"}}},
		{name: "a single string value", claims: `{"sub":"1","preferred_username":"lee","groups":"schema-leads"}`,
			want: auth.Principal{Name: "oidc:lee", Roles: []auth.Role{auth.RoleGovernanceLead}, Subjects: []string{"orders-*"}}},
		{name: "an entry without subjects makes the union unrestricted", claims: `{"sub":"1","preferred_username":"dave","groups":["platform","schema-leads"]}`,
			want: auth.Principal{Name: "oidc:dave", Roles: []auth.Role{auth.RoleGovernanceLead, auth.RoleAdmin}}},
		{name: "an empty subjects list grants no subject", claims: `{"sub":"1","preferred_username":"ann","groups":["auditors"]}`,
			want: auth.Principal{Name: "oidc:ann", Roles: []auth.Role{auth.RoleProducer}, Subjects: []string{}}},
		{name: "name falls back to sub", claims: `{"sub":"248289761001","groups":["auditors"]}`,
			want: auth.Principal{Name: "oidc:248289761001", Roles: []auth.Role{auth.RoleProducer}, Subjects: []string{}}},
		{name: "configured name claim", nameClaim: "email", claims: `{"sub":"1","email":"e@example.org","groups":["auditors"]}`,
			want: auth.Principal{Name: "oidc:e@example.org", Roles: []auth.Role{auth.RoleProducer}, Subjects: []string{}}},
		{name: "configured name claim missing, no fallback", nameClaim: "email", claims: `{"sub":"1","groups":["auditors"]}`, wantErr: ErrClaims},
		{name: "values match case-sensitively", claims: `{"sub":"1","groups":["Schema-Leads"]}`, wantErr: ErrNoMapping},
		{name: "no role claim", claims: `{"sub":"1"}`, wantErr: ErrNoMapping},
		{name: "role claim a number", claims: `{"sub":"1","groups":7}`, wantErr: ErrClaims},
		{name: "role claim with a non-string", claims: `{"sub":"1","groups":["platform",{"x":1}]}`, wantErr: ErrClaims},
		{name: "name not a string", claims: `{"sub":"1","preferred_username":["a"],"groups":["platform"]}`, wantErr: ErrClaims},
		{name: "name empty", claims: `{"sub":"1","preferred_username":"","groups":["platform"]}`, wantErr: ErrClaims},
		{name: "name with a control character", claims: `{"sub":"1","preferred_username":"a\nb","groups":["platform"]}`, wantErr: ErrClaims},
		{name: "name too long", claims: `{"sub":"1","preferred_username":"` + strings.Repeat("a", 257) + `","groups":["platform"]}`, wantErr: ErrClaims},
		{name: "no name at all", claims: `{"groups":["platform"]}`, wantErr: ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var claims map[string]any
			if err := json.Unmarshal([]byte(tt.claims), &claims); err != nil {
				t.Fatal(err)
			}
			got, err := principalFrom(Config{RoleClaim: "groups", NameClaim: tt.nameClaim, Mappings: mappings}, claims)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("principalFrom = %v; want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzPrincipalFrom feeds claims of any shape to the mapping to see if we can make it panic,
// or grant a role without a match.
func FuzzPrincipalFrom(f *testing.F) {
	for _, seed := range []string{`{"sub":"1","groups":["a"]}`, `{"preferred_username":"x","groups":"b"}`, `{"groups":[1,null]}`,
		`{"sub":null}`, `{"sub":"\u0000","groups":{}}`} {
		f.Add([]byte(seed))
	}
	cfg := Config{RoleClaim: "groups", Mappings: []Mapping{{ClaimValue: "a", Roles: []string{"producer"}}, {ClaimValue: "b", Roles: []string{"admin"}, Subjects: []string{"x-*"}}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var claims map[string]any
		if json.Unmarshal(data, &claims) != nil {
			return
		}
		p, err := principalFrom(cfg, claims)
		if err != nil {
			if p.Name != "" || p.Roles != nil {
				t.Fatalf("refused (%v) with a principal %#v", err, p)
			}
			return
		}
		if !strings.HasPrefix(p.Name, NamePrefix) || len(p.Roles) == 0 {
			t.Fatalf("principal %q roles %v", p.Name, p.Roles)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	valid := Config{Issuer: "https://idp.example/realms/main", ClientID: "schemagate", ClientSecretFile: "/run/secrets/oidc",
		RedirectURL: "https://schemagate.example/ui/oidc/callback", RoleClaim: "groups",
		Mappings: []Mapping{{ClaimValue: "schema-leads", Roles: []string{"governance-lead"}}}}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // empty: valid
	}{
		{"valid", func(*Config) {}, ""},
		{"off", func(c *Config) { *c = Config{} }, ""},
		{"loopback http", func(c *Config) {
			c.Issuer, c.RedirectURL = "http://127.0.0.1:5556/dex", "http://localhost:8081/ui/oidc/callback"
		}, ""},
		{"keys without issuer", func(c *Config) { c.Issuer = "" }, "auth.oidc.issuer is required"},
		{"plain http issuer", func(c *Config) { c.Issuer = "http://idp.example" }, "auth.oidc.issuer"},
		{"relative redirect", func(c *Config) { c.RedirectURL = "/ui/oidc/callback" }, "auth.oidc.redirect_url"},
		{"redirect with fragment", func(c *Config) { c.RedirectURL += "#x" }, "auth.oidc.redirect_url"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "auth.oidc.client_id"},
		{"no secret file", func(c *Config) { c.ClientSecretFile = "" }, "auth.oidc.client_secret_file"},
		{"no role claim", func(c *Config) { c.RoleClaim = "" }, "auth.oidc.role_claim"},
		{"scopes without openid", func(c *Config) { c.Scopes = []string{"profile"} }, "must include openid"},
		{"scope with a space", func(c *Config) { c.Scopes = []string{"openid", "a b"} }, "auth.oidc.scopes"},
		{"no mappings", func(c *Config) { c.Mappings = nil }, "auth.oidc.mappings"},
		{"unknown role", func(c *Config) { c.Mappings[0].Roles = []string{"lead"} }, `auth.oidc.mappings[0]: claim_value "schema-leads": unknown role "lead"`},
		{"no roles", func(c *Config) { c.Mappings[0].Roles = nil }, "at least one role"},
		{"empty claim value", func(c *Config) { c.Mappings[0].ClaimValue = "" }, "claim_value is required"},
		{"empty pattern", func(c *Config) { c.Mappings[0].Subjects = []string{""} }, "subject pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			cfg.Mappings = []Mapping{{ClaimValue: "schema-leads", Roles: []string{"governance-lead"}}}
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate = %v; want %q", err, tt.wantErr)
			}
		})
	}
}
