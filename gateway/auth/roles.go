package auth

import (
	"fmt"
	"slices"
)

// Role is a named bundle of permissions assigned to a principal in the
// `auth.principals[].roles` configuration key. Roles are cumulative; the
// table in rolePermissions is the single source of truth.
type Role string

// The roles a principal may hold. An unknown role in the configuration is an
// error at startup, never silently ignored.
const (
	// RoleProducer reads schemas, validates payloads and reads governance state.
	RoleProducer Role = "producer"
	// RoleAuthor is a producer that may also register and soft-delete schemas,
	// set compatibility and request promotions.
	RoleAuthor Role = "author"
	// RoleGovernanceLead is an author that may also approve or reject
	// promotions, set validation modes and roll subjects back.
	RoleGovernanceLead Role = "governance-lead"
	// RoleOncall reads schemas and governance state and may roll a subject
	// back to canary during an incident; it cannot register or promote.
	RoleOncall Role = "oncall"
	// RoleAdmin holds every permission, including hard deletes and auth
	// configuration.
	RoleAdmin Role = "admin"
)

// Permission is one capability checked by the gRPC interceptors, the HTTP
// middleware and Require. Every protected operation maps to exactly one.
type Permission string

// The permissions known to the gateway.
const (
	// PermSchemasRead allows reading subjects, versions, schemas and config.
	PermSchemasRead Permission = "schemas.read"
	// PermPayloadsValidate allows validating payloads against schemas.
	PermPayloadsValidate Permission = "payloads.validate"
	// PermSchemasWrite allows registering schemas, soft deletes and setting
	// compatibility.
	PermSchemasWrite Permission = "schemas.write"
	// PermSchemasHardDelete allows permanent (hard) deletes.
	PermSchemasHardDelete Permission = "schemas.hard_delete"
	// PermGovernanceRead allows reading subject status and listing or
	// verifying the audit log.
	PermGovernanceRead Permission = "governance.read"
	// PermGovernanceRequest allows requesting a promotion to strict.
	PermGovernanceRequest Permission = "governance.request"
	// PermGovernanceApprove allows approving or rejecting promotions (an
	// approval sets the subject's validation mode to strict) and setting a
	// subject's owner (which routes its alerts). Setting a mode directly,
	// without evidence, is the admin-only break glass.
	PermGovernanceApprove Permission = "governance.approve"
	// PermGovernanceRollback allows rolling a subject back to canary.
	PermGovernanceRollback Permission = "governance.rollback"
	// PermAdmin allows administrative operations such as auth configuration.
	PermAdmin Permission = "admin"
)

// allPermissions lists every permission, in a stable order.
var allPermissions = []Permission{
	PermSchemasRead,
	PermPayloadsValidate,
	PermSchemasWrite,
	PermSchemasHardDelete,
	PermGovernanceRead,
	PermGovernanceRequest,
	PermGovernanceApprove,
	PermGovernanceRollback,
	PermAdmin,
}

var (
	producerPerms = []Permission{PermSchemasRead, PermPayloadsValidate, PermGovernanceRead}
	authorPerms   = append(slices.Clip(producerPerms), PermSchemasWrite, PermGovernanceRequest)
	leadPerms     = append(slices.Clip(authorPerms), PermGovernanceApprove, PermGovernanceRollback)
)

// rolePermissions is the one table of what each role may do.
var rolePermissions = map[Role][]Permission{
	RoleProducer:       producerPerms,
	RoleAuthor:         authorPerms,
	RoleGovernanceLead: leadPerms,
	RoleOncall:         {PermSchemasRead, PermGovernanceRead, PermGovernanceRollback},
	RoleAdmin:          allPermissions,
}

// Roles returns every known role, in a stable order.
func Roles() []Role {
	return []Role{RoleProducer, RoleAuthor, RoleGovernanceLead, RoleOncall, RoleAdmin}
}

// Permissions returns every known permission, in a stable order.
func Permissions() []Permission {
	return slices.Clone(allPermissions)
}

// ParseRole returns the Role named s, or an error naming s when no such
// role exists. Matching is exact (roles are lower case).
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if _, ok := rolePermissions[r]; !ok {
		return "", fmt.Errorf("unknown role %q (known roles: %v)", s, Roles())
	}
	return r, nil
}

// Permissions returns the permissions the role grants, or nil for an
// unknown role.
func (r Role) Permissions() []Permission {
	return slices.Clone(rolePermissions[r])
}

// Has reports whether the role grants p. An unknown role grants nothing.
func (r Role) Has(p Permission) bool {
	return slices.Contains(rolePermissions[r], p)
}

// known reports whether p is one of the defined permissions.
func (p Permission) known() bool {
	return slices.Contains(allPermissions, p)
}
