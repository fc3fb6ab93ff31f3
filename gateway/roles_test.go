package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionalphapb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// allowedRoles is the role table of DESIGN.md and the README, written out per method on its
// own (not derived from methodPermissions), so a permission that is wrong for a role fails
// TestEveryMethodWithEveryRole: producer reads and validates; author also registers, deletes,
// owns subjects and requests promotions; governance-lead also approves, rejects and rolls back;
// oncall reads, rolls back and runs drills; admin does everything, the override included.
var allowedRoles = func() map[string][]auth.Role {
	p, a, l, o, ad := auth.RoleProducer, auth.RoleAuthor, auth.RoleGovernanceLead, auth.RoleOncall, auth.RoleAdmin
	everyone := []auth.Role{p, a, l, o, ad}
	readers := everyone
	validators := []auth.Role{p, a, l, ad}
	writers := []auth.Role{a, l, ad}
	approvers := []auth.Role{l, ad}
	rollback := []auth.Role{o, l, ad}
	return map[string][]auth.Role{
		pb.RegistryService_RegisterSchema_FullMethodName:       writers,
		pb.RegistryService_GetSchema_FullMethodName:            readers,
		pb.RegistryService_GetSubjectVersion_FullMethodName:    readers,
		pb.RegistryService_ListSubjects_FullMethodName:         readers,
		pb.RegistryService_ListVersions_FullMethodName:         readers,
		pb.RegistryService_CheckCompatibility_FullMethodName:   readers,
		pb.RegistryService_DeleteSubject_FullMethodName:        writers,
		pb.RegistryService_DeleteSubjectVersion_FullMethodName: writers,

		pb.ValidationService_Validate_FullMethodName:       validators,
		pb.ValidationService_ValidateBatch_FullMethodName:  validators,
		pb.ValidationService_ValidateStream_FullMethodName: validators,
		pb.ValidationService_GetDriftReport_FullMethodName: everyone,
		pb.ValidationService_InjectDrill_FullMethodName:    rollback,

		pb.GovernanceService_GetSubjectStatus_FullMethodName:      everyone,
		pb.GovernanceService_GetSubjectEvidence_FullMethodName:    everyone,
		pb.GovernanceService_ListSubjectStatuses_FullMethodName:   everyone,
		pb.GovernanceService_RequestPromotion_FullMethodName:      writers,
		pb.GovernanceService_ApprovePromotion_FullMethodName:      approvers,
		pb.GovernanceService_RejectPromotion_FullMethodName:       approvers,
		pb.GovernanceService_Rollback_FullMethodName:              rollback,
		pb.GovernanceService_SetValidationMode_FullMethodName:     {ad},
		pb.GovernanceService_ListAuditEntries_FullMethodName:      everyone,
		pb.GovernanceService_VerifyAuditChain_FullMethodName:      everyone,
		pb.GovernanceService_GetGovernanceDocument_FullMethodName: everyone,
		pb.GovernanceService_SetSubjectOwner_FullMethodName:       approvers,
		pb.GovernanceService_ListSubjectOwners_FullMethodName:     everyone,

		healthpb.Health_Watch_FullMethodName:                                   everyone,
		healthpb.Health_List_FullMethodName:                                    everyone,
		reflectionpb.ServerReflection_ServerReflectionInfo_FullMethodName:      everyone,
		reflectionalphapb.ServerReflection_ServerReflectionInfo_FullMethodName: everyone,
	}
}()

// servedFiles are the proto files of every service the gRPC server serves: the API, health and
// reflection.
func servedFiles() []protoreflect.FileDescriptor {
	return []protoreflect.FileDescriptor{
		pb.File_schemagate_v1_registry_proto, pb.File_schemagate_v1_validation_proto, pb.File_schemagate_v1_governance_proto,
		healthpb.File_grpc_health_v1_health_proto, reflectionpb.File_grpc_reflection_v1_reflection_proto,
		reflectionalphapb.File_grpc_reflection_v1alpha_reflection_proto,
	}
}

// TestEveryMethodWithEveryRole calls every gRPC method of the API (which the HTTP/JSON API
// reaches through the same interceptors) with no credentials and with a principal of each role,
// and checks the outcome against allowedRoles: no credentials is Unauthenticated (except on the
// public unary health check, which answers OK; health Watch and reflection need credentials), a role not
// listed is PermissionDenied, and a listed role gets past authorization (whatever the method
// then answers to an empty request, except Unimplemented: the generated stub). A method missing
// from allowedRoles fails too.
func TestEveryMethodWithEveryRole(t *testing.T) {
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	roles := []auth.Role{auth.RoleProducer, auth.RoleAuthor, auth.RoleGovernanceLead, auth.RoleOncall, auth.RoleAdmin}
	var principals []auth.PrincipalConfig
	for _, r := range roles {
		principals = append(principals, auth.PrincipalConfig{Name: string(r), Roles: []string{string(r)}, TokenSHA256: hash("token-" + string(r))})
	}
	tg := startGateway(t, principals)
	for _, fd := range servedFiles() {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				method := "/" + string(sd.FullName()) + "/" + string(md.Name())
				if auth.PublicMethod(method) {
					if got := callCode(t, tg.conn, md, method, ""); got != codes.OK {
						t.Errorf("%s without credentials = %s; want OK: it is public", method, got)
					}
					continue
				}
				if got := callCode(t, tg.conn, md, method, ""); got != codes.Unauthenticated {
					t.Errorf("%s without credentials = %s; want Unauthenticated", method, got)
				}
				want, ok := allowedRoles[method]
				if !ok {
					t.Errorf("%s has no row in allowedRoles", method)
					continue
				}
				for _, r := range roles {
					allowed := slices.Contains(want, r)
					got := callCode(t, tg.conn, md, method, "token-"+string(r))
					switch {
					case !allowed && got != codes.PermissionDenied:
						t.Errorf("%s as %s = %s; want PermissionDenied", method, r, got)
					case allowed && (got == codes.PermissionDenied || got == codes.Unauthenticated):
						t.Errorf("%s as %s = %s; want it past authorization", method, r, got)
					case allowed && got == codes.Unimplemented:
						t.Errorf("%s as %s = Unimplemented: the generated stub answered, the service does not implement it", method, r)
					}
				}
			}
		}
	}
}

// callCode invokes method with an empty request and returns the status code.
func callCode(t *testing.T, conn *grpc.ClientConn, md protoreflect.MethodDescriptor, method, token string) codes.Code {
	t.Helper()
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	req, resp := dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output())
	if !md.IsStreamingClient() && !md.IsStreamingServer() {
		return status.Code(conn.Invoke(ctx, method, req, resp))
	}
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: md.IsStreamingClient(), ServerStreams: md.IsStreamingServer()}, method)
	if err != nil {
		return status.Code(err)
	}
	// io.EOF from SendMsg means the server already ended the stream (a refusal can come before
	// the message is sent); its status is what RecvMsg returns.
	if err := stream.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return status.Code(err)
	}
	_ = stream.CloseSend()
	return status.Code(stream.RecvMsg(resp))
}
