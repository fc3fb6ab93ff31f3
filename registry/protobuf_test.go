package registry

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/schemagate/schemagate/store/storetest"
)

// Protobuf schemas of these tests. moneyText declares its fields out of number order, with a
// comment; moneyRespelled is the same schema with other white space and comments.
const (
	moneyText      = "syntax = \"proto3\";\npackage shop;\n// An amount.\nmessage Money {\n  int64 units = 2;\n  string currency = 1;\n}\n"
	moneyRespelled = "syntax=\"proto3\"; package shop; message Money { int64 units = 2; /* ISO 4217 */ string currency = 1; }"
	moneySorted    = "syntax = \"proto3\";\npackage shop;\nmessage Money { string currency = 1; int64 units = 2; }\n"
	orderText      = "syntax = \"proto3\";\npackage shop;\nimport \"shop/money.proto\";\nmessage Order {\n  string id = 1;\n  Money total = 2;\n}\n"
)

// moneyCanonical and moneyNormalized are what the registry stores for moneyText.
const (
	moneyCanonical  = "syntax = \"proto3\";\npackage shop;\n\nmessage Money {\n  int64 units = 2;\n  string currency = 1;\n}\n"
	moneyNormalized = "syntax = \"proto3\";\npackage shop;\n\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n"
)

// Registration stores the canonical text; re-spellings (comments, white space, relative or
// qualified type names) get the same ID, and with normalize so does another declaration order.
func TestProtobufRegistrationIdentity(t *testing.T) {
	r, _ := newTestRegistry(t)
	mustRegister(t, r, "money", protoIn(moneyText))
	moneyRef := Reference{Name: "shop/money.proto", Subject: "money", Version: 1}
	tests := []struct {
		name      string
		subject   string
		in        SchemaInput
		normalize bool
		wantID    int
		wantText  string
	}{
		{"same text, same ID", "money", protoIn(moneyText), false, 1, moneyCanonical},
		{"re-spelled, same ID", "money-copy", protoIn(moneyRespelled), false, 1, moneyCanonical},
		{"normalized: fields by number, a new ID", "money-normalized", protoIn(moneyText), true, 2, moneyNormalized},
		{"another order normalized: that ID", "money-sorted", protoIn(moneySorted), true, 2, moneyNormalized},
		{"another order as it is: that ID too", "money-sorted-plain", protoIn(moneySorted), false, 2, moneyNormalized},
		{"import with a relative type name", "order", protoIn(orderText, moneyRef), false, 3,
			"syntax = \"proto3\";\npackage shop;\n\nimport \"shop/money.proto\";\n\nmessage Order {\n  string id = 1;\n  .shop.Money total = 2;\n}\n"},
		{"same import, type fully qualified: same ID", "order-qualified", protoIn(strings.Replace(orderText, "Money total", ".shop.Money total", 1), moneyRef), false, 3,
			"syntax = \"proto3\";\npackage shop;\n\nimport \"shop/money.proto\";\n\nmessage Order {\n  string id = 1;\n  .shop.Money total = 2;\n}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Normalize = tc.normalize
			sv := mustRegister(t, r, tc.subject, in)
			want := Schema{ID: tc.wantID, Type: SchemaTypeProtobuf, Text: tc.wantText, References: in.References}
			if diff := cmp.Diff(want, sv.Schema); diff != "" {
				t.Errorf("registered schema (-want +got):\n%s", diff)
			}
		})
	}
}

// References are imports: the reference name is the import path; the well-known types and
// google/type need none; schemas of another type cannot be imported.
func TestProtobufReferences(t *testing.T) {
	r, _ := newTestRegistry(t)
	mustRegister(t, r, "money", protoIn(moneyText))
	mustRegister(t, r, "avro", avroIn(`"string"`))
	moneyRef := Reference{Name: "shop/money.proto", Subject: "money", Version: 1}
	order := mustRegister(t, r, "order", protoIn(orderText, moneyRef))
	res, err := r.Resolved(t.Context(), order.Schema.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Proto.File.Messages().ByName("Order").Fields().ByName("total").Message().FullName(); got != "shop.Money" {
		t.Errorf("Resolved order: total is a %s, want shop.Money", got)
	}
	tests := []struct {
		name    string
		in      SchemaInput
		wantErr error
		wantMsg string
	}{
		{"well-known and google/type imports need no reference", protoIn("syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\nimport \"google/type/money.proto\";\n" +
			"message Paid { google.protobuf.Timestamp at = 1; google.type.Money amount = 2; }\n"), nil, ""},
		{"an import that imports", protoIn("syntax = \"proto3\";\nimport \"shop/order.proto\";\nmessage Batch { repeated shop.Order orders = 1; }\n",
			Reference{Name: "shop/order.proto", Subject: "order", Version: 1}), nil, ""},
		{"an import's imports are not imported (not public)", protoIn("syntax = \"proto3\";\nimport \"shop/order.proto\";\nmessage Sum { shop.Money sum = 1; }\n",
			Reference{Name: "shop/order.proto", Subject: "order", Version: 1}), ErrInvalidSchema,
			`invalid PROTOBUF schema: schema.proto:3:15: field Sum.sum: unknown type shop.Money`},
		{"import without a reference", protoIn(orderText), ErrInvalidSchema,
			`invalid PROTOBUF schema: schema.proto:3:8: no reference is named "shop/money.proto" and no built-in file has that path`},
		{"reference under another name than the import", protoIn(orderText, Reference{Name: "money.proto", Subject: "money", Version: 1}), ErrInvalidSchema,
			`invalid PROTOBUF schema: schema.proto:3:8: no reference is named "shop/money.proto" and no built-in file has that path`},
		{"reference to an Avro schema", protoIn(orderText, Reference{Name: "shop/money.proto", Subject: "avro", Version: 1}), ErrInvalidSchema,
			`invalid PROTOBUF schema: reference "shop/money.proto" (subject "avro" version 1) is a AVRO schema; references must have the same type`},
		{"reference to a missing version", protoIn(orderText, Reference{Name: "shop/money.proto", Subject: "money", Version: 7}), ErrReferenceNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Register(t.Context(), "refs-"+strings.ReplaceAll(tc.name, " ", "-"), tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Register err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantMsg != "" && err.Error() != tc.wantMsg {
				t.Errorf("Register err = %q\nwant %q", err, tc.wantMsg)
			}
		})
	}
}

// Bad Protobuf schemas are refused with the compiler's file:line:column message, and nothing is
// stored.
func TestProtobufInvalidSchemas(t *testing.T) {
	r, _ := newTestRegistry(t)
	tests := []struct {
		name, text, want string
	}{
		{"syntax error", "syntax = \"proto3\";\nmessage M {\n  int32 a = 1\n}\n", "invalid PROTOBUF schema: schema.proto:4:1: syntax error: expecting ';'"},
		{"unknown type", "syntax = \"proto3\";\nmessage M { Nope n = 1; }\n", "invalid PROTOBUF schema: schema.proto:2:13: field M.n: unknown type Nope"},
		{"field number 0", "syntax = \"proto3\"; message M { int32 a = 0; }", "invalid PROTOBUF schema: schema.proto:1:42: tag number 0 must be greater than zero"},
		{"required in proto3", "syntax = \"proto3\";\nmessage M { required int32 a = 1; }\n",
			"invalid PROTOBUF schema: schema.proto:2:13: field M.a: label 'required' is not allowed in proto3 or editions"},
		{"every error", "syntax = \"proto3\";\nmessage A { Nope a = 1; }\nmessage B { Gone b = 1; }\n",
			"invalid PROTOBUF schema: schema.proto:2:13: field A.a: unknown type Nope; schema.proto:3:13: field B.b: unknown type Gone"},
		{"empty", " \n\t", "invalid PROTOBUF schema: the text is empty"},
		{"too large", "syntax = \"proto3\";" + strings.Repeat(" ", DefaultMaxSchemaBytes), "invalid PROTOBUF schema: text is 1048594 bytes, the limit is 1048576"},
		{"not UTF-8", "syntax = \"proto3\"; message M { string a = 1; } // \xff", "invalid PROTOBUF schema: text is not valid UTF-8"},
		{"nested too deeply", "syntax = \"proto3\";\n" + strings.Repeat("message M {\n", DefaultMaxNestingDepth+1) + strings.Repeat("}\n", DefaultMaxNestingDepth+1),
			"invalid PROTOBUF schema: schema.proto:130:11: braces are nested deeper than the limit of 128"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Register(t.Context(), "bad", protoIn(tc.text))
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("Register err = %v, want ErrInvalidSchema", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Register err = %q\nwant %q", err, tc.want)
			}
		})
	}
	if subjects, err := r.ListSubjects(t.Context(), SubjectFilter{Deleted: true}); err != nil || len(subjects) != 0 {
		t.Errorf("subjects after refused registrations: %v, %v; want none", subjects, err)
	}
}

// The compatibility levels through the registry, with Confluent's verbose messages: v1 has a
// field 3 and a message B that v2 dropped (registered under NONE); reuse puts field number 3
// back with another type, added adds a message C. Both lack B, which v1 had.
func TestProtobufCompatibilityLevels(t *testing.T) {
	const (
		v1    = "syntax = \"proto3\";\nmessage A { int32 x = 1; int32 z = 3; }\nmessage B { string s = 1; }\n"
		v2    = "syntax = \"proto3\";\nmessage A { int32 x = 1; }\n"
		reuse = "syntax = \"proto3\";\nmessage A { int32 x = 1; string z = 3; }\n"
		added = "syntax = \"proto3\";\nmessage A { int32 x = 1; }\nmessage C { bool c = 1; }\n"
	)
	scalarChanged := func(update, original string) string {
		return "{errorType:'FIELD_SCALAR_KIND_CHANGED', description:'The kind of a SCALAR field at path '#/A/3' in the " + update +
			" schema does not match its kind in the " + original + " schema', additionalInfo:'#/A/3'}"
	}
	removed := func(msg, update, original string) string {
		return "{errorType:'MESSAGE_REMOVED', description:'The " + update + " schema is missing a MESSAGE type at path '#/" + msg +
			"' in the " + original + " schema', additionalInfo:'#/" + msg + "'}"
	}
	tests := []struct {
		level     CompatibilityLevel
		candidate string
		want      []string // reasons and oldSchemaVersion lines
	}{
		{CompatNone, reuse, nil},
		{CompatBackward, reuse, nil},
		{CompatBackwardTransitive, reuse, []string{scalarChanged("new", "old"), removed("B", "new", "old"), "{oldSchemaVersion: 1}"}},
		{CompatForward, reuse, nil},
		{CompatForwardTransitive, reuse, []string{scalarChanged("old", "new"), "{oldSchemaVersion: 1}"}},
		{CompatFull, reuse, nil},
		{CompatFullTransitive, reuse, []string{scalarChanged("new", "old"), removed("B", "new", "old"), scalarChanged("old", "new"), "{oldSchemaVersion: 1}"}},
		{CompatNone, added, nil},
		{CompatBackward, added, nil},
		{CompatBackwardTransitive, added, []string{removed("B", "new", "old"), "{oldSchemaVersion: 1}"}},
		{CompatForward, added, []string{removed("C", "old", "new"), "{oldSchemaVersion: 2}"}},
		{CompatForwardTransitive, added, []string{removed("C", "old", "new"), "{oldSchemaVersion: 2}", removed("C", "old", "new"), "{oldSchemaVersion: 1}"}},
		{CompatFull, added, []string{removed("C", "old", "new"), "{oldSchemaVersion: 2}"}},
		{CompatFullTransitive, added, []string{removed("C", "old", "new"), "{oldSchemaVersion: 2}",
			removed("B", "new", "old"), removed("C", "old", "new"), "{oldSchemaVersion: 1}"}},
	}
	r, _ := newTestRegistry(t)
	ctx := t.Context()
	for i, tc := range tests {
		t.Run(string(tc.level)+"/"+strings.SplitN(tc.candidate, "\n", 3)[2], func(t *testing.T) {
			subject := fmt.Sprintf("compat-%d-%s", i, tc.level)
			if _, err := r.SetConfig(ctx, subject, Config{Compatibility: CompatNone}); err != nil {
				t.Fatal(err)
			}
			mustRegister(t, r, subject, protoIn(v1))
			mustRegister(t, r, subject, protoIn(v2))
			if _, err := r.SetConfig(ctx, subject, Config{Compatibility: tc.level}); err != nil {
				t.Fatal(err)
			}
			msgs, err := r.CheckCompatibility(ctx, subject, 0, protoIn(tc.candidate))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				if strings.HasPrefix(m, "{errorType:") || strings.HasPrefix(m, "{oldSchemaVersion:") {
					got = append(got, m)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CheckCompatibility reasons (-want +got):\n%s", diff)
			}
			_, err = r.Register(ctx, subject, protoIn(tc.candidate))
			if (err == nil) != (len(tc.want) == 0) || err != nil && !errors.Is(err, ErrIncompatible) {
				t.Errorf("Register err = %v; want incompatible %v", err, len(tc.want) > 0)
			}
		})
	}
}

// format=serialized is the base64 FileDescriptorProto of the parsed schema, and registering
// it is registering the same schema.
func TestProtobufSerialized(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := t.Context()
	mustRegister(t, r, "money", protoIn(moneyText))
	moneyRef := Reference{Name: "shop/money.proto", Subject: "money", Version: 1}
	order := mustRegister(t, r, "order", protoIn(orderText, moneyRef))
	avro := mustRegister(t, r, "avro", avroIn(`"string"`))
	tests := []struct {
		name string
		id   int
		refs []Reference
	}{
		{"plain", 1, nil},
		{"with an import", order.Schema.ID, []Reference{moneyRef}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, err := r.SerializedSchemaText(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			b, err := base64.StdEncoding.DecodeString(text)
			if err != nil {
				t.Fatalf("not base64: %v", err)
			}
			got := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(b, got); err != nil {
				t.Fatalf("not a FileDescriptorProto: %v", err)
			}
			res, err := r.Resolved(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(res.Proto.Proto(), got, protocmp.Transform()); diff != "" {
				t.Errorf("serialized descriptor (-parsed +decoded):\n%s", diff)
			}
			again := mustRegister(t, r, "again-"+tc.name, protoIn(text, tc.refs...))
			if again.Schema.ID != tc.id {
				t.Errorf("the serialized form registers as ID %d, want %d", again.Schema.ID, tc.id)
			}
		})
	}
	if text, err := r.SerializedSchemaText(ctx, avro.Schema.ID); err != nil || text != `"string"` {
		t.Errorf("SerializedSchemaText of an Avro schema = %q, %v; want the stored text", text, err)
	}
}

// Verbose messages quote the old schema as stored, also a normalized proto2 schema (whose
// syntax line only the normalized form writes) read back from the store by another replica.
func TestProtobufOldSchemaQuotedAsStored(t *testing.T) {
	db := storetest.Open(t)
	writer, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := protoIn("message A { optional int32 a = 1; }")
	in.Normalize = true
	sv := mustRegister(t, writer, "proto2", in)
	r, err := New(db, Options{}) // parses the stored text afresh
	if err != nil {
		t.Fatal(err)
	}
	if want := "syntax = \"proto2\";\n\nmessage A {\n  optional int32 a = 1;\n}\n"; sv.Schema.Text != want {
		t.Fatalf("stored text %q, want %q", sv.Schema.Text, want)
	}
	msgs, err := r.CheckCompatibility(t.Context(), "proto2", -1, protoIn("message A { optional string a = 1; }"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"{errorType:'FIELD_SCALAR_KIND_CHANGED', description:'The kind of a SCALAR field at path '#/A/1' in the new schema does not match its kind in the old schema', additionalInfo:'#/A/1'}",
		"{oldSchemaVersion: 1}",
		"{oldSchema: '" + sv.Schema.Text + "'}",
		"{compatibility: 'BACKWARD'}",
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("CheckCompatibility (-want +got):\n%s", diff)
	}
}
