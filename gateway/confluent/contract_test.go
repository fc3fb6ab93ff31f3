package confluent

import (
	"encoding/json"
	"testing"

	"github.com/schemagate/schemagate/gateway/auth"
)

// The data-contract keys of Confluent 7.4+'s config (alias, validateFields, defaultMetadata,
// overrideMetadata, defaultRuleSet, overrideRuleSet): set, read, kept when a PUT leaves them
// out (Confluent merges a PUT with the stored config), refused when not an object (42203), and
// removed with the config.
func TestConfigContractKeys(t *testing.T) {
	srv := newTestServer(t, nil)
	const all = `"alias":"t","validateFields":true,"defaultMetadata":{"properties":{"owner":"a"}},` +
		`"overrideMetadata":{"properties":{"tier":"gold"}},"defaultRuleSet":{"domainRules":[{"name":"r1","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"true"}]},` +
		`"overrideRuleSet":{"migrationRules":[]}`
	run(t, srv, []step{
		{name: "set every key", method: "PUT", path: "/config/s", body: `{` + all + `}`, status: 200, want: `{"compatibility":"BACKWARD",` + all + `}`},
		{name: "a level alone keeps them", method: "PUT", path: "/config/s", body: `{"compatibility":"FULL"}`, status: 200, want: `{"compatibility":"FULL",` + all + `}`},
		{name: "read", method: "GET", path: "/config/s", status: 200, want: `{"compatibilityLevel":"FULL",` + all + `}`},
		{name: "one key replaced", method: "PUT", path: "/config/s", body: `{"validateFields":false,"alias":"u"}`, status: 200,
			want: `{"compatibility":"FULL",` + `"alias":"u","validateFields":false,"defaultMetadata":{"properties":{"owner":"a"}},` +
				`"overrideMetadata":{"properties":{"tier":"gold"}},"defaultRuleSet":{"domainRules":[{"name":"r1","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"true"}]},` +
				`"overrideRuleSet":{"migrationRules":[]}}`},
		{name: "metadata must be an object", method: "PUT", path: "/config/s", body: `{"defaultMetadata":["owner"]}`, status: 422, code: 42203, msg: "Invalid defaultMetadata"},
		{name: "rule set must be an object", method: "PUT", path: "/config", body: `{"overrideRuleSet":"x"}`, status: 422, code: 42203, msg: "Invalid overrideRuleSet"},
		{name: "alias must be a subject name", method: "PUT", path: "/config/s", body: `{"alias":".."}`, status: 422, code: 42203, msg: "Invalid alias"},
		{name: "delete removes them", method: "DELETE", path: "/config/s", status: 200},
		{name: "gone", method: "GET", path: "/config/s", status: 404, code: 40408},
	})
}

// defaultMetadata, the registration's metadata and overrideMetadata merge in that order into a
// new version (properties key by key, later wins); a registration without metadata takes the
// previous version's; the merged metadata is part of the version's identity, as in Confluent's
// RestApiTest (testRegisterSchemaWithDefaultMetadata and its neighbours). A lookup of the bare
// schema still finds its version, as a serializer's does.
func TestMetadataMergedOnRegistration(t *testing.T) {
	srv := newTestServer(t, nil)
	const merged = `{"properties":{"owner":"b","tier":"platinum","x":"1"}}`
	v1 := `{"subject":"m","version":1,"id":1,"schemaType":"AVRO","schema":` + quote(canonV1) + `,"metadata":` + merged + `}`
	v2 := `{"subject":"m","version":2,"id":2,"schemaType":"AVRO","schema":` + quote(canonV2) + `,"metadata":` + merged + `}`
	run(t, srv, []step{
		{name: "config", method: "PUT", path: "/config/m", body: `{"defaultMetadata":{"properties":{"owner":"a","tier":"gold"}},` +
			`"overrideMetadata":{"properties":{"tier":"platinum"}}}`, status: 200},
		{name: "register with metadata", method: "POST", path: "/subjects/m/versions", body: body(userV1, `,"metadata":{"properties":{"owner":"b","x":"1"}}`), status: 200},
		{name: "merged: default under, override over", method: "GET", path: "/subjects/m/versions/1", status: 200, want: v1},
		{name: "same schema and metadata: same version", method: "POST", path: "/subjects/m/versions",
			body: body(userV1, `,"metadata":{"properties":{"owner":"b","x":"1"}}`), status: 200, want: `{"id":1,"version":1,"schemaType":"AVRO","schema":` + quote(canonV1) + `,"metadata":` + merged + `}`},
		{name: "no metadata: the previous version's, merged again", method: "POST", path: "/subjects/m/versions", body: body(userV2), status: 200},
		{name: "carried over", method: "GET", path: "/subjects/m/versions/latest", status: 200, want: v2},
		{name: "again without metadata: the same version", method: "GET", path: "/subjects/m/versions", status: 200, want: `[1,2]`},
		{name: "re-register v2 bare", method: "POST", path: "/subjects/m/versions", body: body(userV2), status: 200},
		{name: "still two versions", method: "GET", path: "/subjects/m/versions", status: 200, want: `[1,2]`},
		{name: "a bare lookup finds the version with merged metadata", method: "POST", path: "/subjects/m", body: body(userV1), status: 200, want: v1},
		{name: "a lookup with other metadata does not", method: "POST", path: "/subjects/m", body: body(userV1, `,"metadata":{"properties":{"owner":"z"}}`),
			status: 404, code: 40403},
	})
}

// Rule sets merge like metadata, rule by rule name: a default rule the registration names again
// is replaced, an override rule replaces the registration's.
func TestRuleSetMergedOnRegistration(t *testing.T) {
	srv := newTestServer(t, nil)
	rule := func(name, expr string) string {
		return `{"name":"` + name + `","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"` + expr + `"}`
	}
	run(t, srv, []step{
		{name: "global config", method: "PUT", path: "/config", body: `{"defaultRuleSet":{"domainRules":[` + rule("a", "1") + `,` + rule("b", "1") + `]},` +
			`"overrideRuleSet":{"domainRules":[` + rule("c", "3") + `]}}`, status: 200},
		{name: "register", method: "POST", path: "/subjects/r/versions", body: body(userV1, `,"ruleSet":{"domainRules":[`+rule("b", "2")+`,`+rule("c", "2")+`]}`), status: 200},
		{name: "merged by rule name", method: "GET", path: "/subjects/r/versions/1", status: 200,
			want: `{"subject":"r","version":1,"id":1,"schemaType":"AVRO","schema":` + quote(canonV1) + `,"ruleSet":{"domainRules":[` + rule("a", "1") + `,` + rule("b", "2") + `,` + rule("c", "3") + `]}}`},
	})
}

// With validateFields, the confluent:reserved property (comma-separated field names) is
// enforced as Confluent does: a new version may not use a reserved name as a top-level field,
// nor drop a name the previous version reserved; both are 409 with Confluent's sentences.
func TestReservedFields(t *testing.T) {
	srv := newTestServer(t, nil)
	reserved := func(names string) string { return `,"metadata":{"properties":{"confluent:reserved":"` + names + `"}}` }
	jsonV1 := `{"type":"object","properties":{"name":{"type":"string"}}}`
	jsonAge := `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}}}`
	run(t, srv, []step{
		{name: "validate fields", method: "PUT", path: "/config", body: `{"validateFields":true}`, status: 200},
		{name: "reserve age and email", method: "POST", path: "/subjects/r/versions", body: body(userV1, reserved("age, email")), status: 200},
		{name: "a reserved name as a field", method: "POST", path: "/subjects/r/versions", body: body(userV2, reserved("age,email")), status: 409, code: 409,
			msg: "The new schema has field that conflicts with the reserved field age."},
		{name: "dropping a reserved name", method: "POST", path: "/subjects/r/versions", body: body(userV1, reserved("email")), status: 409, code: 409,
			msg: "The new schema has reserved field age removed from its metadata which is present in the old schema's metadata."},
		{name: "the compatibility check says so too", method: "POST", path: "/compatibility/subjects/r/versions?verbose=true", body: body(userV2, reserved("age,email")), status: 200,
			want: `{"is_compatible":false,"messages":["The new schema has field that conflicts with the reserved field age.","{validateFields: 'true', compatibility: 'BACKWARD'}"]}`},
		{name: "adding a reserved name is fine", method: "POST", path: "/subjects/r/versions", body: body(userV1, reserved("age,email,phone")), status: 200},
		{name: "no metadata: the reserved list carries over", method: "POST", path: "/subjects/r/versions", body: body(userV2), status: 409, code: 409, msg: "reserved field age"},
		{name: "JSON Schema top-level properties", method: "POST", path: "/subjects/j/versions", body: body(jsonAge, `,"schemaType":"JSON"`, reserved("age")), status: 409, code: 409, msg: "reserved field age"},
		{name: "JSON Schema without the name", method: "POST", path: "/subjects/j/versions", body: body(jsonV1, `,"schemaType":"JSON"`, reserved("age")), status: 200},
		{name: "validation off", method: "PUT", path: "/config", body: `{"validateFields":false}`, status: 200},
		{name: "then a reserved name is accepted", method: "POST", path: "/subjects/r/versions", body: body(userV2, reserved("age")), status: 200},
	})
}

// compatibilityGroup names a metadata property: a new version is checked only against the
// versions with the same value, so a new value starts a new line (Confluent's
// testRegisterWithCompatibilityGroup).
func TestCompatibilityGroup(t *testing.T) {
	srv := newTestServer(t, nil)
	major := func(v string) string { return `,"metadata":{"properties":{"application.major.version":"` + v + `"}}` }
	emailInt := `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"email","type":"int","default":0}]}`
	run(t, srv, []step{
		{name: "group by major version", method: "PUT", path: "/config/g", body: `{"compatibility":"BACKWARD","compatibilityGroup":"application.major.version"}`, status: 200},
		{name: "v1 in line 1", method: "POST", path: "/subjects/g/versions", body: body(userV1, major("1")), status: 200},
		{name: "breaking change in line 1", method: "POST", path: "/subjects/g/versions", body: body(userBad, major("1")), status: 409, code: 409},
		{name: "breaking change starts line 2", method: "POST", path: "/subjects/g/versions", body: body(userBad, major("2")), status: 200},
		{name: "line 1 is checked against line 1 only", method: "POST", path: "/subjects/g/versions", body: body(emailInt, major("1")), status: 200},
		{name: "line 2 is checked against line 2", method: "POST", path: "/subjects/g/versions", body: body(emailInt, major("2")), status: 409, code: 409},
		{name: "no metadata: the latest version's line", method: "POST", path: "/subjects/g/versions", body: body(userBad), status: 409, code: 409},
		{name: "versions", method: "GET", path: "/subjects/g/versions", status: 200, want: `[1,2,3]`},
	})
}

// A subject whose config names an alias is a second name for the alias: reads, lookups,
// compatibility checks and, as Confluent's AliasFilter rewrites every /subjects/{subject} path,
// registrations reach the alias; /config and /mode keep addressing the alias subject itself.
func TestSubjectAlias(t *testing.T) {
	srv := newTestServer(t, nil)
	v1 := `{"subject":"target","version":1,"id":1,"schemaType":"AVRO","schema":` + quote(canonV1) + `}`
	run(t, srv, []step{
		{name: "target", method: "POST", path: "/subjects/target/versions", body: body(userV1), status: 200},
		{name: "set alias", method: "PUT", path: "/config/other", body: `{"alias":"target"}`, status: 200},
		{name: "config is not followed", method: "GET", path: "/config/other", status: 200, want: `{"compatibilityLevel":"BACKWARD","alias":"target"}`},
		{name: "versions", method: "GET", path: "/subjects/other/versions", status: 200, want: `[1]`},
		{name: "latest", method: "GET", path: "/subjects/other/versions/latest", status: 200, want: v1},
		{name: "by version", method: "GET", path: "/subjects/other/versions/1", status: 200, want: v1},
		{name: "raw schema", method: "GET", path: "/subjects/other/versions/1/schema", status: 200, want: userV1},
		{name: "lookup", method: "POST", path: "/subjects/other", body: body(userV1), status: 200, want: v1},
		{name: "compatibility", method: "POST", path: "/compatibility/subjects/other/versions/latest", body: body(userBad), status: 200, want: `{"is_compatible":false}`},
		{name: "schema by ID in the alias", method: "GET", path: "/schemas/ids/1?subject=other", status: 200},
		{name: "registration reaches the target", method: "POST", path: "/subjects/other/versions", body: body(userV2), status: 200},
		{name: "target has it", method: "GET", path: "/subjects/target/versions", status: 200, want: `[1,2]`},
		{name: "the alias has no versions of its own", method: "GET", path: "/subjects", status: 200, want: `["target"]`},
		{name: "alias removed", method: "DELETE", path: "/config/other", status: 200},
		{name: "no longer followed", method: "GET", path: "/subjects/other/versions", status: 404, code: 40401},
	})
}

// Grants are checked on the subject an alias reaches: a grant on the alias name alone does not
// open the target.
func TestSubjectAliasGrants(t *testing.T) {
	srv := newTestServer(t, []auth.PrincipalConfig{
		{Name: "admin", Roles: []string{"admin"}, TokenSHA256: sha256Hex("admin")},
		{Name: "narrow", Roles: []string{"producer"}, Subjects: []string{"other"}, TokenSHA256: sha256Hex("narrow")},
	})
	admin, narrow := map[string]string{"Authorization": "Bearer admin"}, map[string]string{"Authorization": "Bearer narrow"}
	run(t, srv, []step{
		{name: "target", method: "POST", path: "/subjects/target/versions", header: admin, body: body(userV1), status: 200},
		{name: "alias", method: "PUT", path: "/config/other", header: admin, body: `{"alias":"target"}`, status: 200},
		{name: "grant on the alias only", method: "GET", path: "/subjects/other/versions", header: narrow, status: 403, code: 40301},
	})
}

// quote is s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// canonV1 and canonV2 are userV1 and userV2 in the canonical form versions are stored in.
const (
	canonV1 = `{"name":"User","type":"record","fields":[{"name":"name","type":"string"}]}`
	canonV2 = `{"name":"User","type":"record","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`
)
