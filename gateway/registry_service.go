package gateway

import (
	"context"
	"fmt"
	"strconv"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/gateway/confluent"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/registry"
)

// registryServiceBackend is what registryService needs of the registry.
type registryServiceBackend interface {
	Register(ctx context.Context, subject string, in registry.SchemaInput) (registry.SubjectVersion, error)
	SchemaByID(ctx context.Context, id int) (registry.Schema, error)
	SubjectVersion(ctx context.Context, subject string, version int, includeDeleted bool) (registry.SubjectVersion, error)
	Subjects(ctx context.Context, prefix string, includeDeleted bool) ([]string, error)
	Versions(ctx context.Context, subject string, includeDeleted bool) ([]int, error)
	CheckCompatibility(ctx context.Context, subject string, version int, in registry.SchemaInput) ([]string, error)
	DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error)
	DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error)
	SubjectVersionsOfSchema(ctx context.Context, id int, deleted bool) ([]registry.SubjectVersion, error)
}

// registryService serves schemagate.v1.RegistryService over the registry.
type registryService struct {
	pb.UnimplementedRegistryServiceServer
	reg registryServiceBackend
}

func (s *registryService) RegisterSchema(ctx context.Context, req *pb.RegisterSchemaRequest) (*pb.RegisterSchemaResponse, error) {
	typ, err := SchemaTypeFromProto(req.GetSchemaType())
	if err != nil {
		return nil, err
	}
	sv, err := s.reg.Register(ctx, req.GetSubject(), registry.SchemaInput{
		Type:       typ,
		Text:       req.GetSchema(),
		References: referencesFromProto(req.GetReferences()),
	})
	if err != nil {
		return nil, err
	}
	return &pb.RegisterSchemaResponse{Id: int32(sv.Schema.ID), Subject: sv.Subject, Version: int32(sv.Version)}, nil
}

// GetSchema answers a schema by ID to a principal granted at least one subject that uses it.
func (s *registryService) GetSchema(ctx context.Context, req *pb.GetSchemaRequest) (*pb.GetSchemaResponse, error) {
	if err := auth.RequireSchema(ctx, int(req.GetId()), confluent.SchemaUsers(s.reg, int(req.GetId()))); err != nil {
		return nil, err
	}
	sch, err := s.reg.SchemaByID(ctx, int(req.GetId()))
	if err != nil {
		return nil, err
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
		return nil, err
	}
	return &pb.GetSubjectVersionResponse{Version: subjectVersionToProto(sv)}, nil
}

// ListSubjects lists the subjects granted to the caller.
func (s *registryService) ListSubjects(ctx context.Context, req *pb.ListSubjectsRequest) (*pb.ListSubjectsResponse, error) {
	subjects, err := s.reg.Subjects(ctx, req.GetSubjectPrefix(), req.GetIncludeDeleted())
	if err != nil {
		return nil, err
	}
	return &pb.ListSubjectsResponse{Subjects: auth.Visible(ctx, subjects, subjectName)}, nil
}

// subjectName is a subject's own name, for auth.Visible over lists of names.
func subjectName(s string) string { return s }

func (s *registryService) ListVersions(ctx context.Context, req *pb.ListVersionsRequest) (*pb.ListVersionsResponse, error) {
	versions, err := s.reg.Versions(ctx, req.GetSubject(), req.GetIncludeDeleted())
	if err != nil {
		return nil, err
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
		return nil, err
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
		return nil, err
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
	typ, err := SchemaTypeFromProto(req.GetSchemaType())
	if err != nil {
		return nil, err
	}
	msgs, err := s.reg.CheckCompatibility(ctx, req.GetSubject(), version, registry.SchemaInput{
		Type: typ, Text: req.GetSchema(), References: referencesFromProto(req.GetReferences()),
	})
	if err != nil {
		return nil, err
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
		return 0, fmt.Errorf("%w %q: want a number from 1 to 2147483647, or latest", registry.ErrInvalidVersion, s)
	}
	return v, nil
}

func int32s(in []int) []int32 {
	out := make([]int32, len(in))
	for i, v := range in {
		out[i] = int32(v)
	}
	return out
}
