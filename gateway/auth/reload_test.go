package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSetPrincipals: a new set replaces the old one at once, for tokens,
// basic auth (a cached success of a removed principal does not survive) and
// certificates; an invalid configuration builds no set and changes nothing.
func TestSetPrincipals(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, basicHeader("alice", alicePassword)); err != nil {
		t.Fatalf("alice before the reload: %v", err) // now cached
	}

	const carolToken = "carol-token-S3CRET"
	next := []PrincipalConfig{
		{Name: "carol", Roles: []string{"author"}, TokenSHA256: sha256Hex(carolToken), Subjects: []string{"orders-*"}},
		{Name: "cert", Roles: []string{"producer"}, ClientCertCN: "svc.example", Subjects: []string{}},
	}
	if _, err := a.NewPrincipalSet(append(next, PrincipalConfig{Name: "bad", Roles: []string{"nobody"}, TokenSHA256: sha256Hex("x")})); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewPrincipalSet with an unknown role: %v, want ErrInvalidConfig", err)
	}
	if _, err := a.Authenticate(ctx, "Bearer "+aliceToken); err != nil {
		t.Fatalf("a refused set changed the principals: alice: %v", err)
	}

	set, err := a.NewPrincipalSet(next)
	if err != nil {
		t.Fatal(err)
	}
	a.SetPrincipals(set)
	tests := []struct {
		name string
		cred Credentials
		want string // principal name; "" means refused with ErrBadCredentials
	}{
		{"removed token", Credentials{Authorization: "Bearer " + aliceToken}, ""},
		{"removed cached password", Credentials{Authorization: basicHeader("alice", alicePassword)}, ""},
		{"added token", Credentials{Authorization: "Bearer " + carolToken}, "carol"},
		{"added certificate", Credentials{ClientCert: cnCert("svc.example")}, "cert"},
	}
	for _, tt := range tests {
		p, err := a.AuthenticateCredentials(ctx, tt.cred)
		if tt.want == "" {
			if !errors.Is(err, ErrBadCredentials) {
				t.Errorf("%s: %v %v, want ErrBadCredentials", tt.name, p, err)
			}
			continue
		}
		if err != nil || p.Name != tt.want {
			t.Errorf("%s: %v %v, want %s", tt.name, p, err, tt.want)
		}
	}
	if diff := cmp.Diff(next, a.Principals()); diff != "" {
		t.Errorf("Principals (-want +got):\n%s", diff)
	}

	empty, err := a.NewPrincipalSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetPrincipals(empty)
	if !a.Open() {
		t.Error("an empty set did not open the authenticator")
	}
}
