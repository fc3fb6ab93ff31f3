package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/confluent"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// The role table of DESIGN.md and the README for every HTTP route, written out on its own (not
// derived from the permission tables), keyed by "METHOD pattern": producer reads and validates;
// author also registers, deletes, sets compatibility, owns subjects and requests promotions;
// governance-lead also approves, rejects and rolls back; oncall reads, rolls back and runs
// drills; admin does everything, including registry modes (/mode) and the validation-mode
// override (break glass).
var (
	roleEveryone   = []auth.Role{auth.RoleProducer, auth.RoleAuthor, auth.RoleGovernanceLead, auth.RoleOncall, auth.RoleAdmin}
	roleValidators = []auth.Role{auth.RoleProducer, auth.RoleAuthor, auth.RoleGovernanceLead, auth.RoleAdmin}
	roleWriters    = []auth.Role{auth.RoleAuthor, auth.RoleGovernanceLead, auth.RoleAdmin}
	roleApprovers  = []auth.Role{auth.RoleGovernanceLead, auth.RoleAdmin}
	roleRollback   = []auth.Role{auth.RoleOncall, auth.RoleGovernanceLead, auth.RoleAdmin}
	roleAdmin      = []auth.Role{auth.RoleAdmin}
)

// confluentRouteRoles covers every route of confluent.Routes.
var confluentRouteRoles = map[string][]auth.Role{
	"GET /{$}":                                                  roleEveryone,
	"GET /schemas":                                              roleEveryone,
	"GET /schemas/types":                                        roleEveryone,
	"GET /schemas/ids/{id}":                                     roleEveryone,
	"GET /schemas/ids/{id}/schema":                              roleEveryone,
	"GET /schemas/ids/{id}/subjects":                            roleEveryone,
	"GET /schemas/ids/{id}/versions":                            roleEveryone,
	"GET /subjects":                                             roleEveryone,
	"POST /subjects/{subject}":                                  roleEveryone, // looks a schema up: a read
	"DELETE /subjects/{subject}":                                roleWriters,  // permanent: admin, checked in the handler
	"GET /subjects/{subject}/versions":                          roleEveryone,
	"POST /subjects/{subject}/versions":                         roleWriters,
	"GET /subjects/{subject}/versions/{version}":                roleEveryone,
	"DELETE /subjects/{subject}/versions/{version}":             roleWriters,
	"GET /subjects/{subject}/versions/{version}/schema":         roleEveryone,
	"GET /subjects/{subject}/versions/{version}/referencedby":   roleEveryone,
	"POST /compatibility/subjects/{subject}/versions":           roleEveryone, // a check, not a change
	"POST /compatibility/subjects/{subject}/versions/{version}": roleEveryone,
	"GET /config":                                               roleEveryone,
	"PUT /config":                                               roleAdmin, // every subject's compatibility
	"DELETE /config":                                            roleAdmin,
	"GET /config/{subject}":                                     roleEveryone,
	"PUT /config/{subject}":                                     roleWriters,
	"DELETE /config/{subject}":                                  roleWriters,
	"GET /mode":                                                 roleEveryone,
	"PUT /mode":                                                 roleAdmin,
	"DELETE /mode":                                              roleAdmin,
	"GET /mode/{subject}":                                       roleEveryone,
	"PUT /mode/{subject}":                                       roleAdmin,
	"DELETE /mode/{subject}":                                    roleAdmin,
	"GET /contexts":                                             roleEveryone,
	"GET /v1/metadata/id":                                       roleEveryone,
	"GET /v1/metadata/version":                                  roleEveryone,
}

// v1RouteRoles covers every operation of the OpenAPI document (the grpc-gateway mapping).
var v1RouteRoles = map[string][]auth.Role{
	"GET /v1/audit":        roleEveryone,
	"GET /v1/audit:verify": roleEveryone,
	"POST /v1/compatibility/subjects/{subject}/versions/{version}": roleEveryone,
	"GET /v1/governance/document":                                  roleEveryone,
	"GET /v1/governance/subjects":                                  roleEveryone,
	"GET /v1/owners":                                               roleEveryone,
	"POST /v1/promotions/{promotionId}:approve":                    roleApprovers,
	"POST /v1/promotions/{promotionId}:reject":                     roleApprovers,
	"GET /v1/schemas/{id}":                                         roleEveryone,
	"GET /v1/subjects":                                             roleEveryone,
	"DELETE /v1/subjects/{subject}":                                roleWriters,
	"GET /v1/subjects/{subject}/drift":                             roleEveryone,
	"POST /v1/subjects/{subject}/drift:drill":                      roleRollback,
	"GET /v1/subjects/{subject}/governance":                        roleEveryone,
	"GET /v1/subjects/{subject}/evidence":                          roleEveryone,
	"PUT /v1/subjects/{subject}/owner":                             roleApprovers, // routes alerts
	"POST /v1/subjects/{subject}/promotions":                       roleWriters,
	"POST /v1/subjects/{subject}/validate":                         roleValidators,
	"POST /v1/subjects/{subject}/validate:batch":                   roleValidators,
	"PUT /v1/subjects/{subject}/validation-mode":                   roleAdmin,
	"GET /v1/subjects/{subject}/versions":                          roleEveryone,
	"POST /v1/subjects/{subject}/versions":                         roleWriters,
	"GET /v1/subjects/{subject}/versions/{version}":                roleEveryone,
	"DELETE /v1/subjects/{subject}/versions/{version}":             roleWriters,
	"POST /v1/subjects/{subject}:rollback":                         roleRollback,
}

// secPublicPaths need no credentials.
var secPublicPaths = []string{"/healthz", "/readyz", "/metrics", "/v1/openapi.json"}

// httpRoute is one request of the walk.
type httpRoute struct {
	key     string // "METHOD pattern", the row of the expectation table
	verb    string
	pattern string
	path    string // the pattern with its wildcards filled in
	roles   []auth.Role
	rpc     string // the gRPC method behind a /v1 route
}

// routeAllowed is what an expect function returns for a request that must get past authorization.
const routeAllowed = 0

// httpRoutes lists every HTTP route the gateway serves, from the Confluent router and from the
// OpenAPI document, with its row of the expectation tables. A route without a row, or a row
// without a route, fails the test.
func httpRoutes(t *testing.T) []httpRoute {
	t.Helper()
	var routes []httpRoute
	seen := map[string]bool{}
	add := func(table map[string][]auth.Role, tableName, verb, pattern, rpc string) {
		key := verb + " " + pattern
		seen[key] = true
		roles, ok := table[key]
		if !ok {
			t.Errorf("route %q is served but has no row in %s: add its expected roles (DESIGN.md's role table)", key, tableName)
			return
		}
		routes = append(routes, httpRoute{key: key, verb: verb, pattern: pattern, path: fillPattern(pattern), roles: roles, rpc: rpc})
	}
	for _, r := range confluent.Routes() {
		add(confluentRouteRoles, "confluentRouteRoles", r.Method, r.Pattern, "")
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(pb.OpenAPIDocument(), &doc); err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	for path, ops := range doc.Paths {
		for verb, op := range ops {
			service, method, _ := strings.Cut(op.OperationID, "_")
			add(v1RouteRoles, "v1RouteRoles", strings.ToUpper(verb), path, "/schemagate.v1."+service+"/"+method)
		}
	}
	for _, table := range []map[string][]auth.Role{confluentRouteRoles, v1RouteRoles} {
		for key := range table {
			if !seen[key] {
				t.Errorf("expectation row %q matches no served route: remove it or fix its pattern", key)
			}
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].key < routes[j].key })
	return routes
}

var routeWildcard = regexp.MustCompile(`\{[^}]*\}`)

// fillPattern turns a route pattern into a request path about the subject walk-value, with
// every other wildcard 1 (see fillGrantPattern).
func fillPattern(pattern string) string {
	return fillGrantPattern(pattern, grantTarget{subject: "walk-value", schemaID: 1, promotion: "1"})
}

// walkHTTPRoutes sends each of routes once with authz and checks the status against expect,
// which maps the route's allowed roles to routeAllowed, 401 or 403. Write requests carry an
// empty JSON object, so allowed ones fail validation instead of changing much.
func walkHTTPRoutes(t *testing.T, routes []httpRoute, client *http.Client, base, authz string, expect func(roles []auth.Role) int) {
	t.Helper()
	for _, r := range routes {
		body := ""
		if r.verb == http.MethodPost || r.verb == http.MethodPut {
			body = "{}"
		}
		code, text, err := secSend(client, r.verb, base+r.path, authz, body, nil)
		want := expect(r.roles)
		switch {
		case err != nil:
			t.Errorf("%s (%s %s): %v", r.key, r.verb, r.path, err)
		case want == routeAllowed && (code == http.StatusUnauthorized || code == http.StatusForbidden):
			t.Errorf("%s = %d %s; want it past authorization", r.key, code, text)
		case want != routeAllowed && code != want:
			t.Errorf("%s = %d %s; want %d", r.key, code, text, want)
		}
	}
}

// forEachMethod calls fn with every method of the gRPC API.
func forEachMethod(fn func(md protoreflect.MethodDescriptor, method string)) {
	for _, fd := range []protoreflect.FileDescriptor{pb.File_schemagate_v1_registry_proto, pb.File_schemagate_v1_validation_proto, pb.File_schemagate_v1_governance_proto} {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				fn(md, "/"+string(sd.FullName())+"/"+string(md.Name()))
			}
		}
	}
}

func secTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TestEveryHTTPRouteWithEveryRole sends every Confluent REST route and every /v1 route without
// credentials and with a principal of each role, and checks the outcome against the tables
// above: no credentials is 401, a role not listed is 403, a listed role gets past
// authorization. Each /v1 row must also agree with the gRPC method's row in allowedRoles, and
// the health, metrics and OpenAPI endpoints answer without credentials.
func TestEveryHTTPRouteWithEveryRole(t *testing.T) {
	var principals []auth.PrincipalConfig
	for _, r := range roleEveryone {
		principals = append(principals, auth.PrincipalConfig{Name: string(r), Roles: []string{string(r)}, TokenSHA256: secTokenHash("token-" + string(r))})
	}
	sg := startGatewayWith(t, func(c *Config) { c.Auth.Principals = principals })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "http://" + sg.g.HTTPAddr()

	routes := httpRoutes(t)
	for _, r := range routes {
		if r.rpc == "" {
			continue
		}
		grpcRoles, ok := allowedRoles[r.rpc]
		if !ok {
			t.Errorf("%s maps to %s, which has no row in allowedRoles", r.key, r.rpc)
			continue
		}
		if !sameRoles(r.roles, grpcRoles) {
			t.Errorf("%s allows %v but its gRPC method %s allows %v", r.key, r.roles, r.rpc, grpcRoles)
		}
	}

	t.Run("no credentials", func(t *testing.T) {
		walkHTTPRoutes(t, routes, client, base, "", func([]auth.Role) int { return http.StatusUnauthorized })
	})
	for _, role := range roleEveryone {
		t.Run(string(role), func(t *testing.T) {
			walkHTTPRoutes(t, routes, client, base, "Bearer token-"+string(role), func(roles []auth.Role) int {
				if slices.Contains(roles, role) {
					return routeAllowed
				}
				return http.StatusForbidden
			})
		})
	}
	t.Run("public", func(t *testing.T) {
		for _, path := range secPublicPaths {
			if code, body, err := secSend(client, "GET", base+path, "", "", nil); err != nil || code != http.StatusOK {
				t.Errorf("GET %s without credentials = %d %.200s (%v); want 200", path, code, body, err)
			}
		}
	})
}

// sameRoles reports whether a and b hold the same roles, in any order.
func sameRoles(a, b []auth.Role) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
