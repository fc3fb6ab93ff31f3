package confluent

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

const (
	moneyProto = "syntax = \"proto3\";\npackage shop;\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n"
	orderProto = "syntax = \"proto3\";\npackage shop;\nimport \"shop/money.proto\";\nmessage Order {\n  string id = 1;\n  Money total = 2;\n}\n"
	// orderCanonical is orderProto as stored: type names fully qualified.
	orderCanonical = "syntax = \"proto3\";\npackage shop;\n\nimport \"shop/money.proto\";\n\nmessage Order {\n  string id = 1;\n  .shop.Money total = 2;\n}\n"
	moneyRefJSON   = `,"references":[{"name":"shop/money.proto","subject":"money","version":1}]`
	// orderSerialized is orderProto's FileDescriptorProto, as protojson prints it.
	orderSerialized = `{"name":"schema.proto","package":"shop","dependency":["shop/money.proto"],"syntax":"proto3","messageType":[{"name":"Order","field":[` +
		`{"name":"id","number":1,"label":"LABEL_OPTIONAL","type":"TYPE_STRING","jsonName":"id"},` +
		`{"name":"total","number":2,"label":"LABEL_OPTIONAL","type":"TYPE_MESSAGE","typeName":".shop.Money","jsonName":"total"}]}]}`
)

// Protobuf over the Confluent API: registration with a reference, reads in the default and
// serialized formats, lookups, verbose compatibility and the 42201 of a bad schema.
func TestProtobuf(t *testing.T) {
	srv := newTestServer(t, nil)
	pb := `,"schemaType":"PROTOBUF"`
	run(t, srv, []step{
		{name: "register the import", method: "POST", path: "/subjects/money/versions", body: body(moneyProto, pb), status: 200,
			want: `{"id":1,"version":1,"schemaType":"PROTOBUF","schema":` + jsonString("syntax = \"proto3\";\npackage shop;\n\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n") + `}`},
		{name: "register the importer", method: "POST", path: "/subjects/order/versions", body: body(orderProto, pb, moneyRefJSON), status: 200,
			want: `{"id":2,"version":1,"schemaType":"PROTOBUF","schema":` + jsonString(orderCanonical) + moneyRefJSON + `}`},
		{name: "by ID", method: "GET", path: "/schemas/ids/2", status: 200,
			want: `{"schemaType":"PROTOBUF","schema":` + jsonString(orderCanonical) + moneyRefJSON + `}`},
		{name: "version", method: "GET", path: "/subjects/order/versions/1", status: 200,
			want: `{"subject":"order","id":2,"version":1,"schemaType":"PROTOBUF","schema":` + jsonString(orderCanonical) + moneyRefJSON + `}`},
		{name: "lookup of a re-spelling", method: "POST", path: "/subjects/order", body: body("syntax=\"proto3\"; package shop; import \"shop/money.proto\"; message Order { string id = 1; .shop.Money total = 2; }", pb, moneyRefJSON), status: 200,
			want: `{"subject":"order","id":2,"version":1,"schemaType":"PROTOBUF","schema":` + jsonString(orderCanonical) + moneyRefJSON + `}`},
		{name: "referenced by", method: "GET", path: "/subjects/money/versions/1/referencedby", status: 200, want: `[2]`},
		{name: "compatible change", method: "POST", path: "/compatibility/subjects/order/versions/latest?verbose=true",
			body:   body("syntax = \"proto3\";\npackage shop;\nimport \"shop/money.proto\";\nmessage Order { string id = 1; Money total = 2; string note = 3; }\n", pb, moneyRefJSON),
			status: 200, want: `{"is_compatible":true,"messages":[]}`},
		{name: "field number reused with another kind", method: "POST", path: "/compatibility/subjects/order/versions/latest?verbose=true",
			body: body("syntax = \"proto3\";\npackage shop;\nmessage Order { string id = 1; int64 total = 2; }\n", pb), status: 200,
			want: `{"is_compatible":false,"messages":[` +
				`"{errorType:'FIELD_KIND_CHANGED', description:'The type of a field at path '#/Order/2' in the new schema does not match the old schema', additionalInfo:'#/Order/2'}",` +
				`"{oldSchemaVersion: 1}",` + jsonString("{oldSchema: '"+orderCanonical+"'}") + `,"{compatibility: 'BACKWARD'}"]}`},
		{name: "syntax error is 42201 with its position", method: "POST", path: "/subjects/bad/versions", body: body("syntax = \"proto3\";\nmessage M {\n  int32 a = 1\n}\n", pb),
			status: 422, code: 42201, msg: "invalid PROTOBUF schema: schema.proto:4:1: syntax error: expecting ';'"},
		{name: "import without a reference is 42201", method: "POST", path: "/subjects/bad/versions", body: body(orderProto, pb),
			status: 422, code: 42201, msg: `schema.proto:3:8: no reference is named "shop/money.proto"`},
		{name: "nothing refused was stored", method: "GET", path: "/subjects?deleted=true", status: 200, want: `["money","order"]`},
	})

	// format=serialized: the base64 FileDescriptorProto, on both reads and the raw endpoints.
	for _, path := range []string{"/schemas/ids/2?format=serialized", "/subjects/order/versions/1?format=serialized"} {
		var got schemaBody
		if err := json.Unmarshal(getRaw(t, srv.URL+path), &got); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if got.SchemaType != "PROTOBUF" {
			t.Errorf("GET %s: schemaType %q", path, got.SchemaType)
		}
		checkSerialized(t, path, got.Schema)
	}
	for _, path := range []string{"/schemas/ids/2/schema?format=serialized", "/subjects/order/versions/1/schema?format=serialized"} {
		checkSerialized(t, path, string(getRaw(t, srv.URL+path)))
	}
	if got := string(getRaw(t, srv.URL+"/schemas/ids/2/schema")); got != orderCanonical {
		t.Errorf("GET /schemas/ids/2/schema = %q; want the stored text %q", got, orderCanonical)
	}
}

// checkSerialized decodes a format=serialized schema and compares it with orderSerialized.
func checkSerialized(t *testing.T, what, text string) {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		t.Fatalf("%s: not base64: %v: %q", what, err, text)
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, fdp); err != nil {
		t.Fatalf("%s: not a FileDescriptorProto: %v", what, err)
	}
	var got, want any
	if err := json.Unmarshal([]byte(protojson.Format(fdp)), &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(orderSerialized), &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: descriptor (-want +got):\n%s", what, diff)
	}
}

// getRaw GETs url and returns the body of a 200 answer.
func getRaw(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	return b
}
