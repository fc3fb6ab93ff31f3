package gateway

import (
	"context"
	"strings"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// governanceService serves schemagate.v1.GovernanceService: it translates between protobuf and
// the gate.
type governanceService struct {
	pb.UnimplementedGovernanceServiceServer
	gate *governance.Gate
}

// actorOf is the authenticated principal taking an action, with its roles.
func actorOf(ctx context.Context) governance.Actor {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return governance.Actor{Name: "anonymous"}
	}
	roles := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		roles[i] = string(r)
	}
	return governance.Actor{Name: p.Name, Role: strings.Join(roles, ",")}
}

func (s *governanceService) GetSubjectStatus(ctx context.Context, req *pb.GetSubjectStatusRequest) (*pb.GetSubjectStatusResponse, error) {
	st, err := s.gate.Status(ctx, req.GetSubject())
	if err != nil {
		return nil, err
	}
	return &pb.GetSubjectStatusResponse{Status: statusToProto(st)}, nil
}

func (s *governanceService) ListSubjectStatuses(ctx context.Context, _ *pb.ListSubjectStatusesRequest) (*pb.ListSubjectStatusesResponse, error) {
	statuses, err := s.gate.Statuses(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListSubjectStatusesResponse{}
	for _, st := range statuses {
		out.Statuses = append(out.Statuses, statusToProto(st))
	}
	return out, nil
}

func (s *governanceService) RequestPromotion(ctx context.Context, req *pb.RequestPromotionRequest) (*pb.RequestPromotionResponse, error) {
	p, err := s.gate.Request(ctx, actorOf(ctx), req.GetSubject(), req.GetTicket(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &pb.RequestPromotionResponse{Promotion: promotionToProto(p)}, nil
}

func (s *governanceService) ApprovePromotion(ctx context.Context, req *pb.ApprovePromotionRequest) (*pb.ApprovePromotionResponse, error) {
	p, e, err := s.gate.Approve(ctx, actorOf(ctx), req.GetPromotionId(), req.GetComment())
	if err != nil {
		return nil, err
	}
	return &pb.ApprovePromotionResponse{Promotion: promotionToProto(p), AuditEntry: entryToProto(e)}, nil
}

func (s *governanceService) RejectPromotion(ctx context.Context, req *pb.RejectPromotionRequest) (*pb.RejectPromotionResponse, error) {
	p, e, err := s.gate.Reject(ctx, actorOf(ctx), req.GetPromotionId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &pb.RejectPromotionResponse{Promotion: promotionToProto(p), AuditEntry: entryToProto(e)}, nil
}

func (s *governanceService) Rollback(ctx context.Context, req *pb.RollbackRequest) (*pb.RollbackResponse, error) {
	e, st, err := s.gate.Rollback(ctx, actorOf(ctx), req.GetSubject(), req.GetReason(), req.GetIncident())
	if err != nil {
		return nil, err
	}
	return &pb.RollbackResponse{Status: statusToProto(st), AuditEntry: entryToProto(e)}, nil
}

func (s *governanceService) SetValidationMode(ctx context.Context, req *pb.SetValidationModeRequest) (*pb.SetValidationModeResponse, error) {
	mode, err := ValidationModeFromProto(req.GetMode())
	if err != nil {
		return nil, err
	}
	e, st, err := s.gate.Override(ctx, actorOf(ctx), req.GetSubject(), mode, req.GetTicket(), req.GetJustification())
	if err != nil {
		return nil, err
	}
	return &pb.SetValidationModeResponse{Status: statusToProto(st), AuditEntry: entryToProto(e)}, nil
}

func (s *governanceService) ListAuditEntries(ctx context.Context, req *pb.ListAuditEntriesRequest) (*pb.ListAuditEntriesResponse, error) {
	page, err := s.gate.AuditEntries(ctx, governance.AuditFilter{Subject: req.GetSubject(), Action: governance.Action(req.GetAction()),
		AfterSeq: req.GetAfterSequence(), Limit: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	out := &pb.ListAuditEntriesResponse{NextAfterSequence: page.Next}
	for _, e := range page.Entries {
		out.Entries = append(out.Entries, entryToProto(e))
	}
	return out, nil
}

func (s *governanceService) VerifyAuditChain(ctx context.Context, _ *pb.VerifyAuditChainRequest) (*pb.VerifyAuditChainResponse, error) {
	r, err := s.gate.VerifyAudit(ctx)
	if err != nil {
		return nil, err
	}
	return VerifyResponse(r), nil
}

func (s *governanceService) GetGovernanceDocument(ctx context.Context, _ *pb.GetGovernanceDocumentRequest) (*pb.GetGovernanceDocumentResponse, error) {
	doc, err := s.gate.Document(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.GetGovernanceDocumentResponse{Markdown: string(doc)}, nil
}

func (s *governanceService) SetSubjectOwner(ctx context.Context, req *pb.SetSubjectOwnerRequest) (*pb.SetSubjectOwnerResponse, error) {
	e, err := s.gate.SetOwner(ctx, actorOf(ctx), governance.Owner{Subject: req.GetSubject(), Team: req.GetTeam(), Escalation: req.GetEscalation()})
	if err != nil {
		return nil, err
	}
	return &pb.SetSubjectOwnerResponse{Owner: &pb.SubjectOwner{Subject: req.GetSubject(), Team: e.Details["team"], Escalation: e.Details["escalation"]},
		AuditSequence: e.Seq}, nil
}

func (s *governanceService) ListSubjectOwners(ctx context.Context, _ *pb.ListSubjectOwnersRequest) (*pb.ListSubjectOwnersResponse, error) {
	owners, err := s.gate.Owners(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListSubjectOwnersResponse{}
	for _, o := range owners {
		out.Owners = append(out.Owners, &pb.SubjectOwner{Subject: o.Subject, Team: o.Team, Escalation: o.Escalation})
	}
	return out, nil
}
