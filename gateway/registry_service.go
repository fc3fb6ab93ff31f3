package gateway

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/registry"
)

// registryService serves schemagate.v1.RegistryService over the registry.
type registryService struct {
	pb.UnimplementedRegistryServiceServer
	reg *registry.Registry
}

func (s *registryService) RegisterSchema(ctx context.Context, req *pb.RegisterSchemaRequest) (*pb.RegisterSchemaResponse, error) {
	typ, err := schemaTypeFromProto(req.GetSchemaType())
	if err != nil {
		return nil, err
	}
	sv, err := s.reg.Register(ctx, req.GetSubject(), registry.SchemaInput{
		Type:       typ,
		Text:       req.GetSchema(),
		References: referencesFromProto(req.GetReferences()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.RegisterSchemaResponse{Id: int32(sv.Schema.ID), Subject: sv.Subject, Version: int32(sv.Version)}, nil
}

func (s *registryService) GetSchema(ctx context.Context, req *pb.GetSchemaRequest) (*pb.GetSchemaResponse, error) {
	sch, err := s.reg.SchemaByID(ctx, int(req.GetId()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.GetSchemaResponse{Schema: schemaToProto(sch)}, nil
}

func (s *registryService) GetSubjectVersion(ctx context.Context, req *pb.GetSubjectVersionRequest) (*pb.GetSubjectVersionResponse, error) {
	v, err := parseVersion(req.GetVersion())
	if err != nil {
		return nil, err
	}
	sv, err := s.reg.SubjectVersion(ctx, req.GetSubject(), v, req.GetIncludeDeleted())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.GetSubjectVersionResponse{Version: subjectVersionToProto(sv)}, nil
}

func (s *registryService) ListSubjects(ctx context.Context, req *pb.ListSubjectsRequest) (*pb.ListSubjectsResponse, error) {
	subjects, err := s.reg.Subjects(ctx, req.GetSubjectPrefix(), req.GetIncludeDeleted())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ListSubjectsResponse{Subjects: subjects}, nil
}

func (s *registryService) ListVersions(ctx context.Context, req *pb.ListVersionsRequest) (*pb.ListVersionsResponse, error) {
	versions, err := s.reg.Versions(ctx, req.GetSubject(), req.GetIncludeDeleted())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ListVersionsResponse{Versions: int32s(versions)}, nil
}

func (s *registryService) DeleteSubject(ctx context.Context, req *pb.DeleteSubjectRequest) (*pb.DeleteSubjectResponse, error) {
	if req.GetPermanent() {
		if err := auth.Require(ctx, auth.PermSchemasHardDelete); err != nil {
			return nil, err
		}
	}
	versions, err := s.reg.DeleteSubject(ctx, req.GetSubject(), req.GetPermanent())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteSubjectResponse{Versions: int32s(versions)}, nil
}

func (s *registryService) DeleteSubjectVersion(ctx context.Context, req *pb.DeleteSubjectVersionRequest) (*pb.DeleteSubjectVersionResponse, error) {
	if req.GetPermanent() {
		if err := auth.Require(ctx, auth.PermSchemasHardDelete); err != nil {
			return nil, err
		}
	}
	v, err := parseVersion(req.GetVersion())
	if err != nil {
		return nil, err
	}
	deleted, err := s.reg.DeleteVersion(ctx, req.GetSubject(), v, req.GetPermanent())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteSubjectVersionResponse{Version: int32(deleted)}, nil
}

func (s *registryService) CheckCompatibility(ctx context.Context, req *pb.CheckCompatibilityRequest) (*pb.CheckCompatibilityResponse, error) {
	version := 0 // every version the subject's level names
	if req.GetVersion() != "" {
		v, err := parseVersion(req.GetVersion())
		if err != nil {
			return nil, err
		}
		version = v
	}
	typ, err := schemaTypeFromProto(req.GetSchemaType())
	if err != nil {
		return nil, err
	}
	msgs, err := s.reg.CheckCompatibility(ctx, req.GetSubject(), version, registry.SchemaInput{
		Type: typ, Text: req.GetSchema(), References: referencesFromProto(req.GetReferences()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.CheckCompatibilityResponse{IsCompatible: len(msgs) == 0, Messages: msgs}, nil
}

// parseVersion reads a version path parameter: a number from 1, or "latest" / "-1" (returned
// as -1, the registry's "latest").
func parseVersion(s string) (int, error) {
	if s == "latest" || s == "-1" {
		return -1, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > 1<<31-1 {
		return 0, status.Error(codes.InvalidArgument,
			fmt.Sprintf("invalid version %q: want a number from 1 to 2147483647, or latest", s))
	}
	return v, nil
}

func schemaTypeFromProto(t pb.SchemaType) (registry.SchemaType, error) {
	switch t {
	case pb.SchemaType_SCHEMA_TYPE_UNSPECIFIED, pb.SchemaType_SCHEMA_TYPE_AVRO:
		return registry.SchemaTypeAvro, nil
	case pb.SchemaType_SCHEMA_TYPE_JSON:
		return registry.SchemaTypeJSON, nil
	default:
		return "", status.Errorf(codes.InvalidArgument, "unsupported schema type %d: want AVRO or JSON", t)
	}
}

func schemaTypeToProto(t registry.SchemaType) pb.SchemaType {
	switch t {
	case registry.SchemaTypeAvro:
		return pb.SchemaType_SCHEMA_TYPE_AVRO
	case registry.SchemaTypeJSON:
		return pb.SchemaType_SCHEMA_TYPE_JSON
	default:
		return pb.SchemaType_SCHEMA_TYPE_UNSPECIFIED
	}
}

func referencesFromProto(refs []*pb.Reference) []registry.Reference {
	if len(refs) == 0 {
		return nil
	}
	out := make([]registry.Reference, len(refs))
	for i, r := range refs {
		out[i] = registry.Reference{Name: r.GetName(), Subject: r.GetSubject(), Version: int(r.GetVersion())}
	}
	return out
}

func schemaToProto(s registry.Schema) *pb.Schema {
	out := &pb.Schema{Id: int32(s.ID), SchemaType: schemaTypeToProto(s.Type), Schema: s.Text}
	for _, r := range s.References {
		out.References = append(out.References, &pb.Reference{Name: r.Name, Subject: r.Subject, Version: int32(r.Version)})
	}
	return out
}

func subjectVersionToProto(sv registry.SubjectVersion) *pb.SubjectVersion {
	return &pb.SubjectVersion{
		Subject: sv.Subject,
		Version: int32(sv.Version),
		Schema:  schemaToProto(sv.Schema),
		Deleted: sv.Deleted,
	}
}

func int32s(in []int) []int32 {
	out := make([]int32, len(in))
	for i, v := range in {
		out[i] = int32(v)
	}
	return out
}
