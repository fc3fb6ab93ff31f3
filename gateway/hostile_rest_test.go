package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// subjectSegment escapes a subject for one URL path segment as a careful client does: "." and
// ".." are percent-encoded too, since clients and servers drop them as dot-segments.
func subjectSegment(s string) string {
	seg := url.PathEscape(s)
	if s == "." || s == ".." {
		seg = strings.ReplaceAll(seg, ".", "%2E")
	}
	return seg
}

// TestHostileSubjectNames registers every name through the Confluent REST API: a name is either
// stored and read back exactly (in GET /subjects, by prefix, and as the subject of its latest
// version) or refused with 42208 and a precise message. SQL metacharacters must not reach the
// SQL, and the subjects registered first must be intact at the end.
func TestHostileSubjectNames(t *testing.T) {
	tg := startGatewayWith(t, nil)
	keepA := tg.mustRegisterREST(t, "keep-a", `"string"`)
	keepB := tg.mustRegisterREST(t, "keep-b", `"long"`)
	threeByteRune := "訂" // 3 bytes in UTF-8
	tests := []struct {
		name, subject string
		refused       string // "": stored; otherwise a fragment of the 42208 message
	}{
		{"slash, sent as %2F", "orders/value", ""},
		{"dots", "com.example.Order-value", ""},
		{"dot-segment ..", "..", `invalid subject "..": "." and ".." cannot be used`},
		{"dot-segment .", ".", `invalid subject ".": "." and ".." cannot be used`},
		{"three dots", "...", ""},
		{"unicode", "commandes-valeur-é-" + threeByteRune + "-🚀", ""},
		{"255 bytes", strings.Repeat("s", 255), ""},
		{"256 bytes", strings.Repeat("s", 256), "invalid subject: name is 256 bytes long, the limit is 255"},
		{"85 three-byte runes (255 bytes)", strings.Repeat(threeByteRune, 85), ""},
		{"86 three-byte runes (258 bytes)", strings.Repeat(threeByteRune, 86), "invalid subject: name is 258 bytes long, the limit is 255"},
		{"4 KiB", strings.Repeat("x", 4096), "name is 4096 bytes long, the limit is 255"},
		{"NUL", "a\x00b", `invalid subject "a\x00b": control character U+0000 at byte 1`},
		{"newline", "a\nb", `control character U+000A at byte 1`},
		{"carriage return", "a\r", `control character U+000D at byte 1`},
		{"tab", "\tx", `control character U+0009 at byte 0`},
		{"DEL", "x\x7f", `control character U+007F at byte 1`},
		{"C1 control", "x\u0085", `control character U+0085 at byte 1`},
		{"escape sequence", "\x1b[31mred", `control character U+001B at byte 0`},
		{"invalid UTF-8", "x\xffy", `invalid subject "x\xffy": name is not valid UTF-8`},
		{"SQL injection", "'; DROP TABLE schemas; --", ""},
		{"SQL injection on versions", "x'); DELETE FROM subject_versions; --", ""},
		{"SQL tautology", `" OR 1=1 --`, ""},
		{"LIKE wildcard %", "%", ""},
		{"LIKE wildcard _", "_", ""},
		{"LIKE wildcards mixed", "%_%", ""},
		{"backslash", `\`, ""},
		{"backslashes and quotes", `a\'b\"c\\`, ""},
		{"question mark and hash", "a?b#c", ""},
		{"percent-encoding lookalike", "a%2Fb", ""},
		{"spaces", " leading and trailing ", ""},
		{"plus", "a+b", ""},
		{"semicolon and equals", "a;b=c", ""},
	}
	stored := []string{"keep-a", "keep-b"}
	for _, tc := range tests {
		path := "/subjects/" + subjectSegment(tc.subject) + "/versions"
		code, raw := tg.restDo(t, "POST", path, schemaBody(`"boolean"`))
		if tc.refused != "" {
			wantConfluentError(t, tc.name, code, raw, confluentError{Status: 422, ErrorCode: 42208, Message: tc.refused})
			continue
		}
		if code != http.StatusOK {
			t.Errorf("%s: register %q = %d %s; want 200", tc.name, tc.subject, code, raw)
			continue
		}
		stored = append(stored, tc.subject)
		code, raw = tg.restDo(t, "GET", path+"/latest", "")
		var latest struct {
			Subject string `json:"subject"`
			Version int    `json:"version"`
			Schema  string `json:"schema"`
		}
		if err := json.Unmarshal(raw, &latest); code != http.StatusOK || err != nil {
			t.Errorf("%s: GET latest = %d %s (%v)", tc.name, code, raw, err)
			continue
		}
		if diff := cmp.Diff(struct {
			Subject string `json:"subject"`
			Version int    `json:"version"`
			Schema  string `json:"schema"`
		}{tc.subject, 1, `"boolean"`}, latest); diff != "" {
			t.Errorf("%s: latest version (-want +got):\n%s", tc.name, diff)
		}
	}
	slices.Sort(stored)
	tg.wantSubjects(t, stored...)

	// Prefixes are matched as text, not as SQL LIKE patterns.
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"%", []string{"%", "%_%"}},
		{"_", []string{"_"}},
		{`\`, []string{`\`}},
		{"'", []string{"'; DROP TABLE schemas; --"}},
		{"keep", []string{"keep-a", "keep-b"}},
	} {
		code, raw := tg.restDo(t, "GET", "/subjects?subjectPrefix="+url.QueryEscape(tc.prefix), "")
		var got []string
		if err := json.Unmarshal(raw, &got); code != http.StatusOK || err != nil {
			t.Fatalf("GET /subjects?subjectPrefix=%q = %d %s", tc.prefix, code, raw)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("subjects with prefix %q (-want +got):\n%s", tc.prefix, diff)
		}
	}

	// The subjects registered first are intact: same versions, same schemas, same IDs.
	for _, k := range []struct {
		subject string
		id      int32
	}{{"keep-a", keepA}, {"keep-b", keepB}} {
		code, raw := tg.restDo(t, "GET", "/subjects/"+k.subject+"/versions", "")
		if code != http.StatusOK || string(raw) != "[1]" {
			t.Errorf("versions of %s = %d %s; want [1]", k.subject, code, raw)
		}
		sv, err := pb.NewRegistryServiceClient(tg.conn).GetSubjectVersion(withToken(""), &pb.GetSubjectVersionRequest{Subject: k.subject, Version: "latest"})
		if err != nil || sv.GetVersion().GetSchema().GetId() != k.id {
			t.Errorf("latest %s = %v, %v; want schema ID %d", k.subject, sv, err, k.id)
		}
	}
}

// TestHostileRESTBodies sends malformed JSON bodies to the Confluent REST routes and to /v1: each
// is refused precisely and registers nothing.
func TestHostileRESTBodies(t *testing.T) {
	tg := startGatewayWith(t, nil)
	tg.mustRegisterREST(t, "keep", `"string"`)
	str := `"\"string\""`
	tests := []struct {
		name, method, path, body string
		want                     confluentError
	}{
		{"truncated JSON", "POST", "/subjects/s/versions", `{"schema":"\"str`,
			confluentError{400, 400, "Unexpected character in the JSON body at offset 16: unexpected end of JSON input"}},
		{"truncated after a key", "POST", "/subjects/s/versions", `{"schema":`,
			confluentError{400, 400, "unexpected end of JSON input"}},
		{"trailing garbage", "POST", "/subjects/s/versions", `{"schema":` + str + `}x`,
			confluentError{400, 400, "invalid character 'x' after top-level value"}},
		{"two documents", "POST", "/subjects/s/versions", `{"schema":` + str + `}{"schema":"\"int\""}`,
			confluentError{400, 400, "invalid character '{' after top-level value"}},
		{"schema is a number", "POST", "/subjects/s/versions", `{"schema":5}`,
			confluentError{422, 422, `Cannot deserialize the request: field "schema" must be a string, not a JSON number`}},
		{"schema is an object", "POST", "/subjects/s/versions", `{"schema":{"type":"string"}}`,
			confluentError{422, 422, `field "schema" must be a string, not a JSON object`}},
		{"references is an object", "POST", "/subjects/s/versions", `{"schema":` + str + `,"references":{}}`,
			confluentError{422, 422, `field "references" must be an array, not a JSON object`}},
		{"reference version is a string", "POST", "/subjects/s/versions", `{"schema":` + str + `,"references":[{"name":"a","subject":"b","version":"1"}]}`,
			confluentError{422, 422, `field "references.version" must be an integer, not a JSON string`}},
		{"normalize is a string", "POST", "/subjects/s/versions", `{"schema":` + str + `,"normalize":"yes"}`,
			confluentError{422, 422, `field "normalize" must be a boolean, not a JSON string`}},
		{"body is an array", "POST", "/subjects/s/versions", `[{"schema":` + str + `}]`,
			confluentError{422, 422, "Cannot deserialize the request: the body must be an object, not a JSON array"}},
		{"body is a string", "POST", "/subjects/s/versions", `"string"`,
			confluentError{422, 422, "the body must be an object, not a JSON string"}},
		{"duplicate schema key", "POST", "/subjects/s/versions", `{"schema":` + str + `,"schema":"\"int\""}`,
			confluentError{400, 400, `Duplicate field "schema" in the JSON body at byte offset 31`}},
		{"schema key twice, differing in case", "POST", "/subjects/s/versions", `{"schema":` + str + `,"Schema":"\"int\""}`,
			confluentError{400, 400, `Duplicate field "Schema" in the JSON body at byte offset 31`}},
		{"schema key twice, once with a long s (U+017F)", "POST", "/subjects/s/versions", `{"schema":` + str + `,"ſchema":"\"int\""}`,
			confluentError{400, 400, `Duplicate field "ſchema"`}},
		{"duplicate key in a reference", "POST", "/subjects/s/versions", `{"schema":` + str + `,"references":[{"name":"a","name":"b","subject":"x","version":1}]}`,
			confluentError{400, 400, `Duplicate field "name"`}},
		{"duplicate key in metadata", "POST", "/subjects/s/versions", `{"schema":` + str + `,"metadata":{"properties":{"owner":"a","owner":"b"}}}`,
			confluentError{400, 400, `Duplicate field "owner"`}},
		{"version beyond int64", "POST", "/subjects/s/versions", `{"schema":` + str + `,"version":99999999999999999999}`,
			confluentError{422, 422, `field "version" must be an integer, not a JSON number 99999999999999999999`}},
		{"version in exponent form", "POST", "/subjects/s/versions", `{"schema":` + str + `,"version":1e3}`,
			confluentError{422, 422, `field "version" must be an integer, not a JSON number 1e3`}},
		{"version beyond int32", "POST", "/subjects/s/versions", `{"schema":` + str + `,"version":2147483648}`,
			confluentError{422, 42202, "The specified version '2147483648' is not a valid version id"}},
		{"negative version", "POST", "/subjects/s/versions", `{"schema":` + str + `,"version":-5}`,
			confluentError{422, 42202, "The specified version '-5' is not a valid version id"}},
		{"id beyond int32", "POST", "/subjects/s/versions", `{"schema":` + str + `,"id":2147483648}`,
			confluentError{422, 42201, "Invalid schema id 2147483648: ids are between 1 and 2^31-1"}},
		{"negative id", "POST", "/subjects/s/versions", `{"schema":` + str + `,"id":-1}`,
			confluentError{422, 42201, "Invalid schema id -1"}},
		{"id beyond int64", "POST", "/subjects/s/versions", `{"schema":` + str + `,"id":1e100}`,
			confluentError{422, 422, `field "id" must be an integer, not a JSON number 1e100`}},
		{"PROTOBUF with a field number 0", "POST", "/subjects/s/versions", `{"schema":"syntax = \"proto3\"; message M { int32 a = 0; }","schemaType":"PROTOBUF"}`,
			confluentError{422, 42201, `invalid PROTOBUF schema: schema.proto:1:42: tag number 0 must be greater than zero`}},
		{"unknown schema type", "POST", "/subjects/s/versions", `{"schema":` + str + `,"schemaType":"XML"}`,
			confluentError{422, 42201, `unsupported schema type "XML"`}},
		{"schema type is a number", "POST", "/subjects/s/versions", `{"schema":` + str + `,"schemaType":1}`,
			confluentError{422, 422, `field "schemaType" must be a string, not a JSON number`}},
		{"empty schema string", "POST", "/subjects/s/versions", `{"schema":""}`, confluentError{422, 42201, "Empty schema"}},
		{"null schema", "POST", "/subjects/s/versions", `{"schema":null}`, confluentError{422, 42201, "Empty schema"}},
		{"no schema", "POST", "/subjects/s/versions", `{"schemaType":"AVRO"}`, confluentError{422, 42201, "Empty schema"}},
		{"empty object", "POST", "/subjects/s/versions", `{}`, confluentError{422, 42201, "Empty schema"}},
		{"null body", "POST", "/subjects/s/versions", `null`, confluentError{422, 42201, "Empty schema"}},
		{"whitespace body", "POST", "/subjects/s/versions", " \n\t", confluentError{422, 422, "Request body is empty"}},
		{"schema of whitespace", "POST", "/subjects/s/versions", `{"schema":"   "}`,
			confluentError{422, 42201, "invalid AVRO schema: not valid JSON"}},
		{"lookup with a truncated body", "POST", "/subjects/keep", `{"schema":`, confluentError{400, 400, "unexpected end of JSON input"}},
		{"compatibility with a wrong type", "POST", "/compatibility/subjects/keep/versions/latest", `{"schema":[]}`,
			confluentError{422, 422, `field "schema" must be a string, not a JSON array`}},
		{"compatibility against version 2^31", "POST", "/compatibility/subjects/keep/versions/2147483648", `{"schema":` + str + `}`,
			confluentError{422, 42202, "The specified version '2147483648' is not a valid version id"}},
		{"version path beyond int64", "GET", "/subjects/keep/versions/99999999999999999999", "",
			confluentError{422, 42202, "The specified version '99999999999999999999' is not a valid version id"}},
		{"negative version path", "GET", "/subjects/keep/versions/-2", "", confluentError{422, 42202, "The specified version '-2'"}},
		{"schema ID path beyond int32", "GET", "/schemas/ids/2147483648", "", confluentError{404, 40403, "Schema 2147483648 not found"}},
		{"config with a wrong type", "PUT", "/config/keep", `{"compatibility":5}`,
			confluentError{422, 422, `field "compatibility" must be a string, not a JSON number`}},
		{"config with duplicate keys", "PUT", "/config/keep", `{"compatibility":"NONE","compatibility":"FULL"}`,
			confluentError{400, 400, `Duplicate field "compatibility"`}},
		{"config with an unknown level", "PUT", "/config/keep", `{"compatibility":"NONE'; --"}`,
			confluentError{422, 42203, "Invalid compatibility level. Valid values are none, backward"}},
		{"mode with a wrong type", "PUT", "/mode/keep", `{"mode":["READONLY"]}`,
			confluentError{422, 422, `field "mode" must be a string, not a JSON array`}},
		{"mode truncated", "PUT", "/mode/keep", `{"mode":"READ`, confluentError{400, 400, "unexpected end of JSON input"}},
	}
	for _, tc := range tests {
		code, raw := tg.restDo(t, tc.method, tc.path, tc.body)
		wantConfluentError(t, tc.name, code, raw, tc.want)
	}
	tg.wantSubjects(t, "keep")
	// Metadata keys are the client's own and compared exactly: keys differing in case are two keys.
	code, raw := tg.restDo(t, "POST", "/subjects/meta/versions", `{"schema":`+str+`,"metadata":{"properties":{"Owner":"a","owner":"b"}}}`)
	if code != http.StatusOK || !strings.Contains(string(raw), `"metadata":{"properties":{"Owner":"a","owner":"b"}}`) {
		t.Errorf("metadata keys differing in case = %d %s; want 200 keeping both", code, raw)
	}
	// Nothing was configured by the refused config and mode writes.
	if code, raw := tg.restDo(t, "GET", "/config/keep", ""); code != http.StatusNotFound {
		t.Errorf("GET /config/keep = %d %s; want 404 (no subject level was set)", code, raw)
	}
	if code, raw := tg.restDo(t, "GET", "/mode/keep", ""); code != http.StatusNotFound {
		t.Errorf("GET /mode/keep = %d %s; want 404 (no subject mode was set)", code, raw)
	}

	invalid := int(codes.InvalidArgument)
	v1Tests := []struct {
		name, method, path, body string
		want                     v1Error
	}{
		{"truncated JSON", "POST", "/v1/subjects/s/versions", `{"schema":"\"str`, v1Error{400, invalid, "unexpected EOF"}},
		{"schema is a number", "POST", "/v1/subjects/s/versions", `{"schema":5}`, v1Error{400, invalid, "invalid value for string field schema: 5"}},
		{"duplicate schema key", "POST", "/v1/subjects/s/versions", `{"schema":` + str + `,"schema":"\"int\""}`, v1Error{400, invalid, `duplicate field "schema"`}},
		{"unknown field", "POST", "/v1/subjects/s/versions", `{"schema":` + str + `,"schemaTyp":"JSON"}`, v1Error{400, invalid, `unknown field "schemaTyp"`}},
		{"unknown schema type name", "POST", "/v1/subjects/s/versions", `{"schema":` + str + `,"schemaType":"XML"}`, v1Error{400, invalid, `invalid value for enum field schemaType: "XML"`}},
		{"PROTOBUF with a syntax error", "POST", "/v1/subjects/s/versions", `{"schema":"message M {","schemaType":"SCHEMA_TYPE_PROTOBUF"}`,
			v1Error{400, invalid, "invalid PROTOBUF schema: schema.proto:1:12: syntax error: unexpected $end"}},
		{"schema type number out of range", "POST", "/v1/subjects/s/versions", `{"schema":` + str + `,"schemaType":99}`, v1Error{400, invalid, "unsupported schema type 99: want AVRO, JSON or PROTOBUF"}},
		{"reference version beyond int32", "POST", "/v1/subjects/s/versions", `{"schema":` + str + `,"references":[{"name":"a","subject":"b","version":99999999999}]}`,
			v1Error{400, invalid, "invalid value for int32 field version: 99999999999"}},
		{"empty schema", "POST", "/v1/subjects/s/versions", `{"schema":""}`, v1Error{400, invalid, "invalid AVRO schema: not valid JSON at byte offset 0: unexpected end of JSON input"}},
		{"version path beyond int32", "GET", "/v1/subjects/keep/versions/99999999999", "", v1Error{400, invalid, `invalid version "99999999999": want a number from 1 to 2147483647, or latest`}},
		{"negative version path", "GET", "/v1/subjects/keep/versions/-5", "", v1Error{400, invalid, `invalid version "-5"`}},
		{"schema ID path beyond int32", "GET", "/v1/schemas/99999999999", "", v1Error{400, invalid, `parameter: id, error: strconv.ParseInt: parsing "99999999999": value out of range`}},
		{"negative schema ID", "GET", "/v1/schemas/-1", "", v1Error{404, int(codes.NotFound), "schema -1 not found"}},
	}
	for _, tc := range v1Tests {
		code, raw := tg.restDo(t, tc.method, tc.path, tc.body)
		wantV1Error(t, "/v1: "+tc.name, code, raw, tc.want)
	}
	tg.wantSubjects(t, "keep", "meta")
}
