package confluent

import (
	"testing"
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
