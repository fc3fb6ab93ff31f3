package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/gateway/auth"
)

// TestMetricsRequireAuth reads /metrics with metrics.require_auth off (the default: open) and
// on (any authenticated principal, whatever its role and subject grants; 401 with
// WWW-Authenticate: Bearer otherwise, never a Basic challenge).
func TestMetricsRequireAuth(t *testing.T) {
	type answer struct {
		Code            int
		WWWAuthenticate string
		Metrics         bool // the body is the Prometheus exposition
	}
	open := answer{Code: http.StatusOK, Metrics: true}
	refused := answer{Code: http.StatusUnauthorized, WWWAuthenticate: auth.Challenge}
	for _, tt := range []struct {
		requireAuth bool
		want        map[string]answer // by Authorization header
	}{
		{requireAuth: false, want: map[string]answer{"": open, "Bearer wrong": open, "Bearer metrics-producer": open}},
		{requireAuth: true, want: map[string]answer{"": refused, "Bearer wrong": refused, "Bearer metrics-producer": open}},
	} {
		tg := startGatewayWith(t, func(c *Config) {
			c.Metrics.RequireAuth = tt.requireAuth
			c.Auth.Principals = []auth.PrincipalConfig{{Name: "producer", Roles: []string{"producer"},
				TokenSHA256: secTokenHash("metrics-producer"), Subjects: []string{"team-a-*"}}}
		})
		got := map[string]answer{}
		for authz := range tt.want {
			req, _ := http.NewRequest("GET", "http://"+tg.g.HTTPAddr()+"/metrics", nil)
			if authz != "" {
				req.Header.Set("Authorization", authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body strings.Builder
			_, _ = io.Copy(&body, resp.Body)
			resp.Body.Close()
			got[authz] = answer{Code: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate"),
				Metrics: strings.Contains(body.String(), "# TYPE schemagate_")}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("metrics.require_auth %v (-want +got):\n%s", tt.requireAuth, diff)
		}
	}
}
