package confluent

import (
	"encoding/json"
	"testing"

	"github.com/schemagate/schemagate/internal/buildinfo"
)

// TestPaging checks offset and limit on the version listings, as Confluent 8 pages them:
// offset skips, limit caps, a limit that is not positive means all, and an offset past the end
// is an empty page.
func TestPaging(t *testing.T) {
	srv := newTestServer(t, nil)
	setup := []step{
		{name: "compatibility NONE", method: "PUT", path: "/config", body: `{"compatibility":"NONE"}`, status: 200},
	}
	for _, s := range []string{"a", "b", "c"} {
		setup = append(setup, step{name: "register in " + s, method: "POST", path: "/subjects/" + s + "/versions", body: body(userV1), status: 200})
	}
	for _, schema := range []string{userV1, userV2, userBad} {
		setup = append(setup, step{name: "version of v", method: "POST", path: "/subjects/v/versions", body: body(schema), status: 200})
	}
	run(t, srv, setup)
	run(t, srv, []step{
		{name: "versions: all", method: "GET", path: "/subjects/v/versions", status: 200, want: `[1,2,3]`},
		{name: "versions: first", method: "GET", path: "/subjects/v/versions?offset=0&limit=1", status: 200, want: `[1]`},
		{name: "versions: offset 1 limit 2", method: "GET", path: "/subjects/v/versions?offset=1&limit=2", status: 200, want: `[2,3]`},
		{name: "versions: offset only", method: "GET", path: "/subjects/v/versions?offset=2", status: 200, want: `[3]`},
		{name: "versions: limit -1 is all", method: "GET", path: "/subjects/v/versions?limit=-1", status: 200, want: `[1,2,3]`},
		{name: "versions: limit 0 is all", method: "GET", path: "/subjects/v/versions?limit=0", status: 200, want: `[1,2,3]`},
		{name: "versions: offset past the end", method: "GET", path: "/subjects/v/versions?offset=9", status: 200, want: `[]`},
		{name: "versions: negative offset counts as 0", method: "GET", path: "/subjects/v/versions?offset=-5&limit=1", status: 200, want: `[1]`},
		{name: "versions: limit not a number", method: "GET", path: "/subjects/v/versions?limit=x", status: 400, code: 400, msg: "limit"},
		{name: "versions: missing subject still 40401", method: "GET", path: "/subjects/nope/versions?offset=1", status: 404, code: 40401},

		{name: "subjects of id: all", method: "GET", path: "/schemas/ids/1/subjects", status: 200, want: `["a","b","c","v"]`},
		{name: "subjects of id: first two", method: "GET", path: "/schemas/ids/1/subjects?offset=0&limit=2", status: 200, want: `["a","b"]`},
		{name: "subjects of id: the rest", method: "GET", path: "/schemas/ids/1/subjects?offset=2&limit=2", status: 200, want: `["c","v"]`},
		{name: "subjects of id: past the end", method: "GET", path: "/schemas/ids/1/subjects?offset=4", status: 200, want: `[]`},
		{name: "subjects of id: offset not a number", method: "GET", path: "/schemas/ids/1/subjects?offset=x", status: 400, code: 400, msg: "offset"},

		{name: "versions of id: first", method: "GET", path: "/schemas/ids/1/versions?offset=0&limit=1", status: 200,
			want: `[{"subject":"a","version":1}]`},
		{name: "versions of id: second", method: "GET", path: "/schemas/ids/1/versions?offset=1&limit=1", status: 200,
			want: `[{"subject":"b","version":1}]`},
		{name: "versions of id: limit 0 is all", method: "GET", path: "/schemas/ids/1/versions?offset=3&limit=0", status: 200,
			want: `[{"subject":"v","version":1}]`},
		{name: "versions of id: unknown id still 40403", method: "GET", path: "/schemas/ids/99/versions?limit=1", status: 404, code: 40403},
	})
}

// TestReadOnlyRefusesConfigWrites checks that READONLY and READONLY_OVERRIDE refuse PUT and
// DELETE of a subject's config (and of the global config under a read-only global mode) with
// 42205, as Confluent does, while reads go on and the other subjects stay writable.
func TestReadOnlyRefusesConfigWrites(t *testing.T) {
	tests := []struct {
		name  string
		setup []step // puts the registry in the mode under test
		steps []step
	}{
		{
			name: "subject READONLY",
			setup: []step{
				{name: "subject config", method: "PUT", path: "/config/s", body: `{"compatibility":"FULL"}`, status: 200},
				{name: "subject READONLY", method: "PUT", path: "/mode/s", body: `{"mode":"READONLY"}`, status: 200},
			},
			steps: []step{
				{name: "put refused", method: "PUT", path: "/config/s", body: `{"compatibility":"NONE"}`, status: 422, code: 42205, msg: "Subject s is in read-only mode"},
				{name: "delete refused", method: "DELETE", path: "/config/s", status: 422, code: 42205, msg: "Subject s is in read-only mode"},
				{name: "config unchanged", method: "GET", path: "/config/s", status: 200, want: `{"compatibilityLevel":"FULL"}`},
				{name: "another subject stays writable", method: "PUT", path: "/config/other", body: `{"compatibility":"NONE"}`, status: 200},
				{name: "global config stays writable", method: "PUT", path: "/config", body: `{"compatibility":"NONE"}`, status: 200},
			},
		},
		{
			name: "subject READONLY_OVERRIDE",
			setup: []step{
				{name: "subject READONLY_OVERRIDE", method: "PUT", path: "/mode/s", body: `{"mode":"READONLY_OVERRIDE"}`, status: 200},
			},
			steps: []step{
				{name: "put refused", method: "PUT", path: "/config/s", body: `{"compatibility":"NONE"}`, status: 422, code: 42205, msg: "read-only mode"},
			},
		},
		{
			name: "global READONLY: subjects without a mode of their own",
			setup: []step{
				{name: "subject config", method: "PUT", path: "/config/s", body: `{"compatibility":"FULL"}`, status: 200},
				{name: "READWRITE subject", method: "PUT", path: "/mode/rw", body: `{"mode":"READWRITE"}`, status: 200},
				{name: "global READONLY", method: "PUT", path: "/mode", body: `{"mode":"READONLY"}`, status: 200},
			},
			steps: []step{
				{name: "put refused", method: "PUT", path: "/config/s", body: `{"compatibility":"NONE"}`, status: 422, code: 42205, msg: "Subject s is in read-only mode"},
				{name: "delete refused", method: "DELETE", path: "/config/s", status: 422, code: 42205},
				{name: "global put refused", method: "PUT", path: "/config", body: `{"compatibility":"NONE"}`, status: 422, code: 42205, msg: "read-only mode"},
				{name: "global delete refused", method: "DELETE", path: "/config", status: 422, code: 42205},
				{name: "a READWRITE subject's own mode wins", method: "PUT", path: "/config/rw", body: `{"compatibility":"NONE"}`, status: 200},
			},
		},
		{
			name: "global READONLY_OVERRIDE beats a READWRITE subject",
			setup: []step{
				{name: "READWRITE subject", method: "PUT", path: "/mode/rw", body: `{"mode":"READWRITE"}`, status: 200},
				{name: "global READONLY_OVERRIDE", method: "PUT", path: "/mode", body: `{"mode":"READONLY_OVERRIDE"}`, status: 200},
			},
			steps: []step{
				{name: "put refused", method: "PUT", path: "/config/rw", body: `{"compatibility":"NONE"}`, status: 422, code: 42205, msg: "Subject rw is in read-only mode"},
				{name: "reads go on", method: "GET", path: "/config", status: 200, want: `{"compatibilityLevel":"BACKWARD"}`},
				{name: "leaving the mode", method: "DELETE", path: "/mode", status: 200},
				{name: "writable again", method: "PUT", path: "/config/rw", body: `{"compatibility":"NONE"}`, status: 200},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, nil)
			run(t, srv, tc.setup)
			run(t, srv, tc.steps)
		})
	}
}

// TestMetadata checks /v1/metadata/version (the binary's version and commit from its build
// information, as Confluent's {"version", "commitId"}) and /v1/metadata/id beside it.
func TestMetadata(t *testing.T) {
	srv := newTestServer(t, nil)
	info := buildinfo.Read()
	want, err := json.Marshal(map[string]string{"version": info.Version, "commitId": info.Commit})
	if err != nil {
		t.Fatal(err)
	}
	run(t, srv, []step{
		{name: "version", method: "GET", path: "/v1/metadata/version", status: 200, want: string(want)},
		{name: "version: no writes", method: "POST", path: "/v1/metadata/version", body: `{}`, status: 405, code: 405},
		{name: "cluster id", method: "GET", path: "/v1/metadata/id", status: 200,
			want: `{"scope":{"path":[],"clusters":{"kafka-cluster":"schemagate","schema-registry-cluster":"schemagate"}}}`},
	})
}

// TestImportMode checks registrations in IMPORT mode as Confluent answers them: one without an
// explicit id is refused (42205), unless the subject already holds the schema; an explicit id
// no schema holds is kept, the ID of a permanently deleted schema included; outside IMPORT an id
// may not be given and a permanently deleted schema's ID is never handed to another schema.
func TestImportMode(t *testing.T) {
	srv := newTestServer(t, nil)
	intV := body(`"int"`)
	run(t, srv, []step{
		{name: "IMPORT", method: "PUT", path: "/mode", body: `{"mode":"IMPORT"}`, status: 200},
		{name: "no id: refused", method: "POST", path: "/subjects/imp/versions", body: body(userV1), status: 422, code: 42205,
			msg: "Subject imp is not in read-write mode"},
		{name: "nothing was stored", method: "GET", path: "/subjects", status: 200, want: `[]`},
		{name: "explicit id kept", method: "POST", path: "/subjects/imp/versions", body: body(userV1, `,"id":100,"version":3`), status: 200,
			want: `{"id":100,"version":3,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "no id, schema already in the subject: its version", method: "POST", path: "/subjects/imp/versions", body: body(userV1), status: 200,
			want: `{"id":100,"version":3,"schemaType":"AVRO","schema":` + jsonString(userV1Text) + `}`},
		{name: "another explicit id", method: "POST", path: "/subjects/other/versions", body: body(userV2, `,"id":7`), status: 200,
			want: `{"id":7,"version":1,"schemaType":"AVRO","schema":` + jsonString(userV2Text) + `}`},
		{name: "id held by another schema: refused", method: "POST", path: "/subjects/third/versions", body: body(`"string"`, `,"id":7`), status: 422, code: 42205,
			msg: "Overwrite new schema with id 7 is not permitted"},

		{name: "READWRITE", method: "DELETE", path: "/mode", status: 200},
		{name: "id outside IMPORT: refused", method: "POST", path: "/subjects/rw/versions", body: body(`"int"`, `,"id":500`), status: 422, code: 42205,
			msg: "is not in import mode"},
		{name: "new IDs continue above the imported ones", method: "POST", path: "/subjects/rw/versions", body: intV, status: 200,
			want: `{"id":101,"version":1,"schemaType":"AVRO","schema":"\"int\""}`},
		{name: "soft-delete", method: "DELETE", path: "/subjects/rw", status: 200, want: `[1]`},
		{name: "hard-delete", method: "DELETE", path: "/subjects/rw?permanent=true", status: 200, want: `[1]`},
		{name: "ID 101 is gone", method: "GET", path: "/schemas/ids/101", status: 404, code: 40403},
		{name: "another schema never gets ID 101", method: "POST", path: "/subjects/rw2/versions", body: body(`"long"`), status: 200,
			want: `{"id":102,"version":1,"schemaType":"AVRO","schema":"\"long\""}`},
		{name: "the deleted schema gets its ID back", method: "POST", path: "/subjects/rw3/versions", body: intV, status: 200,
			want: `{"id":101,"version":1,"schemaType":"AVRO","schema":"\"int\""}`},

		// In IMPORT mode, as Confluent: the ID of a schema whose versions are all permanently
		// deleted is free for other content; one a soft-deleted version holds is not.
		{name: "ID 101 read by ID", method: "GET", path: "/schemas/ids/101", status: 200, want: `{"schemaType":"AVRO","schema":"\"int\""}`},
		{name: "soft-delete rw3", method: "DELETE", path: "/subjects/rw3", status: 200, want: `[1]`},
		{name: "soft-delete rw2", method: "DELETE", path: "/subjects/rw2", status: 200, want: `[1]`},
		{name: "IMPORT for reuse", method: "PUT", path: "/mode/reuse", body: `{"mode":"IMPORT"}`, status: 200},
		{name: "ID of a soft-deleted version: refused", method: "POST", path: "/subjects/reuse/versions", body: body(`"double"`, `,"id":102`), status: 422, code: 42205,
			msg: "Overwrite new schema with id 102 is not permitted"},
		{name: "hard-delete rw3", method: "DELETE", path: "/subjects/rw3?permanent=true", status: 200, want: `[1]`},
		{name: "outside IMPORT the ID stays retired", method: "POST", path: "/subjects/rw4/versions", body: body(`"double"`, `,"id":101`), status: 422, code: 42205,
			msg: "is not in import mode"},
		{name: "IMPORT takes over the ID", method: "POST", path: "/subjects/reuse/versions", body: body(`"double"`, `,"id":101`), status: 200,
			want: `{"id":101,"version":1,"schemaType":"AVRO","schema":"\"double\""}`},
		{name: "ID 101 is the new schema", method: "GET", path: "/schemas/ids/101", status: 200, want: `{"schemaType":"AVRO","schema":"\"double\""}`},
		{name: "and holds its version", method: "GET", path: "/schemas/ids/101/versions", status: 200, want: `[{"subject":"reuse","version":1}]`},
		{name: "the old schema is not found under it", method: "POST", path: "/subjects/reuse", body: intV, status: 404, code: 40403},
	})
}
