package auth

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRolePermissions(t *testing.T) {
	t.Parallel()
	// The policy, written out in full so a change to the table is a
	// deliberate change to this test too.
	want := map[Role][]Permission{
		RoleProducer: {PermSchemasRead, PermPayloadsValidate, PermGovernanceRead},
		RoleAuthor: {PermSchemasRead, PermPayloadsValidate, PermGovernanceRead,
			PermSchemasWrite, PermGovernanceRequest},
		RoleGovernanceLead: {PermSchemasRead, PermPayloadsValidate, PermGovernanceRead,
			PermSchemasWrite, PermGovernanceRequest, PermGovernanceApprove, PermGovernanceRollback},
		RoleOncall: {PermSchemasRead, PermGovernanceRead, PermGovernanceRollback},
		RoleAdmin: {PermSchemasRead, PermPayloadsValidate, PermSchemasWrite, PermSchemasHardDelete,
			PermGovernanceRead, PermGovernanceRequest, PermGovernanceApprove, PermGovernanceRollback, PermAdmin},
	}
	got := make(map[Role][]Permission)
	for _, r := range Roles() {
		got[r] = r.Permissions()
	}
	sortPerms := cmpopts.SortSlices(func(a, b Permission) bool { return a < b })
	if diff := cmp.Diff(want, got, sortPerms); diff != "" {
		t.Errorf("role table mismatch (-want +got):\n%s", diff)
	}
	// Has and Principal.Can agree with the table for every pair.
	for _, r := range Roles() {
		for _, p := range Permissions() {
			wantHas := false
			for _, q := range want[r] {
				wantHas = wantHas || q == p
			}
			if got := r.Has(p); got != wantHas {
				t.Errorf("%s.Has(%s) = %v, want %v", r, p, got, wantHas)
			}
			if got := (Principal{Name: "x", Roles: []Role{r}}).Can(p); got != wantHas {
				t.Errorf("principal with %s: Can(%s) = %v, want %v", r, p, got, wantHas)
			}
		}
	}
}

func TestRolesCumulative(t *testing.T) {
	t.Parallel()
	chain := []Role{RoleProducer, RoleAuthor, RoleGovernanceLead, RoleAdmin}
	for i := 1; i < len(chain); i++ {
		for _, p := range chain[i-1].Permissions() {
			if !chain[i].Has(p) {
				t.Errorf("%s lacks %s held by %s", chain[i], p, chain[i-1])
			}
		}
	}
	for _, p := range Permissions() {
		if !RoleAdmin.Has(p) {
			t.Errorf("admin lacks %s", p)
		}
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, r := range Roles() {
		got, err := ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "Admin", "root", "governance_lead"} {
		_, err := ParseRole(s)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
			t.Errorf("ParseRole(%q) error = %v, want one naming the role", s, err)
		}
	}
	if Role("nope").Has(PermSchemasRead) || Role("nope").Permissions() != nil {
		t.Error("an unknown role must grant nothing")
	}
}

func ExampleRole_Permissions() {
	fmt.Println(RoleOncall.Permissions())
	fmt.Println(Principal{Name: "pager", Roles: []Role{RoleOncall}}.Can(PermSchemasWrite))
	// Output:
	// [schemas.read governance.read governance.rollback]
	// false
}
