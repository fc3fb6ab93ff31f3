package protoschema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/genproto/googleapis/type/postaladdress"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
)

// A schema importing a google/type file links against the published descriptor: the file
// the compiler linked is genproto's, options and numbers included.
func TestGoogleTypesArePublishedDescriptors(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		field string
		want  protoreflect.FileDescriptor
	}{
		{"money", "google/type/money.proto", "google.type.Money m = 1;", money.File_google_type_money_proto},
		{"postal address", "google/type/postal_address.proto", "google.type.PostalAddress a = 1;", postaladdress.File_google_type_postal_address_proto},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, "syntax = \"proto3\";\nimport \""+tc.path+"\";\nmessage P { "+tc.field+" }\n", nil)
			got := s.File.Imports().Get(0).FileDescriptor
			if diff := cmp.Diff(protodesc.ToFileDescriptorProto(tc.want), protodesc.ToFileDescriptorProto(got), protocmp.Transform()); diff != "" {
				t.Errorf("linked %s (-genproto +linked):\n%s", tc.path, diff)
			}
		})
	}
}
