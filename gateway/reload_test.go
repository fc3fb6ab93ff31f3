package gateway

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/gateway/auth"
)

func TestReloadDiffs(t *testing.T) {
	a := auth.PrincipalConfig{Name: "a", Roles: []string{"producer"}, TokenSHA256: "x"}
	b := auth.PrincipalConfig{Name: "b", Roles: []string{"author"}, TokenSHA256: "y"}
	bGranted := b
	bGranted.Subjects = []string{"orders-*"}
	c := auth.PrincipalConfig{Name: "c", Roles: []string{"admin"}, TokenSHA256: "z"}
	type diff struct{ Added, Removed, Changed []string }
	for _, tt := range []struct {
		name       string
		prev, next []auth.PrincipalConfig
		want       diff
	}{
		{"same", []auth.PrincipalConfig{a, b}, []auth.PrincipalConfig{b, a}, diff{}},
		{"add and remove", []auth.PrincipalConfig{a}, []auth.PrincipalConfig{c}, diff{Added: []string{"c"}, Removed: []string{"a"}}},
		{"grant changed", []auth.PrincipalConfig{a, b}, []auth.PrincipalConfig{a, bGranted}, diff{Changed: []string{"b"}}},
	} {
		var got diff
		got.Added, got.Removed, got.Changed = diffPrincipals(tt.prev, tt.next)
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s: diffPrincipals (-want +got):\n%s", tt.name, d)
		}
	}

	prev := DefaultConfig()
	next := DefaultConfig()
	next.Server.HTTPAddr = "127.0.0.1:0"
	next.TLS.CertFile = "cert.pem"
	next.Alerting.SlackWebhookURL = "https://hooks.example/secret"
	next.Auth.Principals = []auth.PrincipalConfig{a}
	next.Governance.CleanWindow = time.Hour
	want := []string{"server.http_addr", "auth.principals", "tls.cert_file", "governance.clean_window", "alerting.slack_webhook_url"}
	if d := cmp.Diff(want, changedKeys(reflect.ValueOf(prev), reflect.ValueOf(next), "")); d != "" {
		t.Errorf("changedKeys (-want +got):\n%s", d)
	}
}
