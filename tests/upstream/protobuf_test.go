package upstream_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The Protobuf pair of these tests: order imports money as "shop/money.proto".
const (
	protoMoney = "syntax = \"proto3\";\npackage shop;\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n"
	protoOrder = "syntax = \"proto3\";\npackage shop;\nimport \"shop/money.proto\";\nmessage Order {\n  string id = 1;\n  Money total = 2;\n}\n"
)

// TestProtobufThroughUpstream: Protobuf schemas registered through the front land in the
// upstream with their references, read back as PROTOBUF, and format=serialized is compiled by
// the front from the upstream's text into the schema's FileDescriptorProto.
func TestProtobufThroughUpstream(t *testing.T) {
	for _, u := range upstreams {
		t.Run(u.name, func(t *testing.T) {
			t.Parallel()
			up := u.start(t)
			front := startFront(t, up.url, "")
			ids := map[string]int{}
			for _, r := range []struct {
				subject, schema string
				refs            []map[string]any
			}{
				{"money-value", protoMoney, nil},
				{"order-value", protoOrder, []map[string]any{{"name": "shop/money.proto", "subject": "money-value", "version": 1}}},
			} {
				body := map[string]any{"schemaType": "PROTOBUF", "schema": r.schema}
				if r.refs != nil {
					body["references"] = r.refs
				}
				code, resp := front.Do(t, "POST", "/subjects/"+r.subject+"/versions", "alice-token", mustJSON(t, body))
				var reg struct{ ID int }
				if err := json.Unmarshal([]byte(resp), &reg); code != 200 || err != nil || reg.ID == 0 {
					t.Fatalf("register %s through the front: %d %s", r.subject, code, resp)
				}
				ids[r.subject] = reg.ID
			}
			// The upstream holds both, the order with its reference.
			code, body := up.do(t, "GET", "/subjects/order-value/versions/1", "")
			var sv struct {
				ID         int              `json:"id"`
				SchemaType string           `json:"schemaType"`
				References []map[string]any `json:"references"`
			}
			if err := json.Unmarshal([]byte(body), &sv); code != 200 || err != nil {
				t.Fatalf("upstream GET /subjects/order-value/versions/1: %d %s", code, body)
			}
			wantRefs := []map[string]any{{"name": "shop/money.proto", "subject": "money-value", "version": float64(1)}}
			if sv.ID != ids["order-value"] || sv.SchemaType != "PROTOBUF" || !cmp.Equal(sv.References, wantRefs) {
				t.Errorf("upstream order-value v1 = %s; want id %d, PROTOBUF and the reference", body, ids["order-value"])
			}
			// format=serialized through the front: the compiled descriptor of the order.
			for _, path := range []string{
				fmt.Sprintf("/schemas/ids/%d?format=serialized", ids["order-value"]),
				"/subjects/order-value/versions/1?format=serialized",
			} {
				code, body := front.Do(t, "GET", path, "prod-token", "")
				var got struct {
					SchemaType string `json:"schemaType"`
					Schema     string `json:"schema"`
				}
				if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || got.SchemaType != "PROTOBUF" {
					t.Fatalf("GET %s through the front: %d %s", path, code, body)
				}
				if diff := cmp.Diff(orderDescriptor(), decodeDescriptor(t, got.Schema), protocmp.Transform()); diff != "" {
					t.Errorf("GET %s: descriptor (-want +got):\n%s", path, diff)
				}
			}
			// An incompatible change is refused, checked where the upstream decides.
			if u.name == "schemagate" {
				bad := strings.Replace(protoOrder, "Money total = 2;", "string total = 2;", 1)
				body := mustJSON(t, map[string]any{"schemaType": "PROTOBUF", "schema": bad,
					"references": []map[string]any{{"name": "shop/money.proto", "subject": "money-value", "version": 1}}})
				if code, resp := front.Do(t, "POST", "/subjects/order-value/versions", "alice-token", body); code != 409 || !strings.Contains(resp, "FIELD_KIND_CHANGED") {
					t.Errorf("incompatible Protobuf registration through the front: %d %s; want 409 naming FIELD_KIND_CHANGED", code, resp)
				}
			}
		})
	}
}

// orderDescriptor is protoOrder compiled, as format=serialized returns it.
func orderDescriptor() *descriptorpb.FileDescriptorProto {
	return &descriptorpb.FileDescriptorProto{
		Name:       proto.String("schema.proto"),
		Package:    proto.String("shop"),
		Dependency: []string{"shop/money.proto"},
		Syntax:     proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Order"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("id"), Number: proto.Int32(1), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
					Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), JsonName: proto.String("id")},
				{Name: proto.String("total"), Number: proto.Int32(2), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
					Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".shop.Money"), JsonName: proto.String("total")},
			},
		}},
	}
}

// decodeDescriptor reads a format=serialized schema.
func decodeDescriptor(t *testing.T, s string) *descriptorpb.FileDescriptorProto {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("serialized schema is not base64: %v: %q", err, s)
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, fdp); err != nil {
		t.Fatalf("serialized schema is not a FileDescriptorProto: %v", err)
	}
	return fdp
}
