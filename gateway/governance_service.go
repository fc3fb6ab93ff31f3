package gateway

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/registry"
)

// governanceService serves schemagate.v1.GovernanceService over the governor and the audit log.
type governanceService struct {
	pb.UnimplementedGovernanceServiceServer
	gov    *governance.Governor
	audit  *governance.Audit
	reg    *registry.Registry
	alerts *alerting
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
	st, err := s.gov.Status(ctx, req.GetSubject())
	if err != nil {
		return nil, govStatus(err)
	}
	return &pb.GetSubjectStatusResponse{Status: statusToProto(st)}, nil
}

func (s *governanceService) ListSubjectStatuses(ctx context.Context, _ *pb.ListSubjectStatusesRequest) (*pb.ListSubjectStatusesResponse, error) {
	subjects, err := s.reg.Subjects(ctx, "", false)
	if err != nil {
		return nil, govStatus(err)
	}
	out := &pb.ListSubjectStatusesResponse{}
	for _, subject := range subjects {
		st, err := s.gov.Status(ctx, subject)
		if err != nil {
			return nil, govStatus(err)
		}
		out.Statuses = append(out.Statuses, statusToProto(st))
	}
	return out, nil
}

func (s *governanceService) RequestPromotion(ctx context.Context, req *pb.RequestPromotionRequest) (*pb.RequestPromotionResponse, error) {
	p, err := s.gov.Request(ctx, actorOf(ctx), req.GetSubject(), req.GetTicket(), req.GetReason())
	if err != nil {
		return nil, govStatus(err)
	}
	return &pb.RequestPromotionResponse{Promotion: promotionToProto(p)}, nil
}

func (s *governanceService) ApprovePromotion(ctx context.Context, req *pb.ApprovePromotionRequest) (*pb.ApprovePromotionResponse, error) {
	p, e, err := s.gov.Approve(ctx, actorOf(ctx), req.GetPromotionId(), req.GetComment())
	if err != nil {
		return nil, govStatus(err)
	}
	return &pb.ApprovePromotionResponse{Promotion: promotionToProto(p), AuditEntry: entryToProto(e)}, nil
}

func (s *governanceService) RejectPromotion(ctx context.Context, req *pb.RejectPromotionRequest) (*pb.RejectPromotionResponse, error) {
	p, e, err := s.gov.Reject(ctx, actorOf(ctx), req.GetPromotionId(), req.GetReason())
	if err != nil {
		return nil, govStatus(err)
	}
	return &pb.RejectPromotionResponse{Promotion: promotionToProto(p), AuditEntry: entryToProto(e)}, nil
}

func (s *governanceService) Rollback(ctx context.Context, req *pb.RollbackRequest) (*pb.RollbackResponse, error) {
	e, err := s.gov.Rollback(ctx, actorOf(ctx), req.GetSubject(), req.GetReason(), req.GetIncident())
	if err != nil {
		return nil, govStatus(err)
	}
	st, err := s.gov.Status(ctx, req.GetSubject())
	if err != nil {
		return nil, govStatus(err)
	}
	return &pb.RollbackResponse{Status: statusToProto(st), AuditEntry: entryToProto(e)}, nil
}

func (s *governanceService) SetValidationMode(ctx context.Context, req *pb.SetValidationModeRequest) (*pb.SetValidationModeResponse, error) {
	mode := governance.ModeCanary
	switch req.GetMode() {
	case pb.ValidationMode_VALIDATION_MODE_STRICT:
		mode = governance.ModeStrict
	case pb.ValidationMode_VALIDATION_MODE_CANARY:
	default:
		return nil, status.Error(codes.InvalidArgument, "mode must be VALIDATION_MODE_CANARY or VALIDATION_MODE_STRICT")
	}
	e, err := s.gov.Override(ctx, actorOf(ctx), req.GetSubject(), mode, req.GetTicket(), req.GetJustification())
	if err != nil {
		return nil, govStatus(err)
	}
	st, err := s.gov.Status(ctx, req.GetSubject())
	if err != nil {
		return nil, govStatus(err)
	}
	return &pb.SetValidationModeResponse{Status: statusToProto(st), AuditEntry: entryToProto(e)}, nil
}

func (s *governanceService) ListAuditEntries(ctx context.Context, req *pb.ListAuditEntriesRequest) (*pb.ListAuditEntriesResponse, error) {
	entries, err := s.audit.List(ctx, governance.AuditFilter{Subject: req.GetSubject(), Action: req.GetAction(),
		AfterSeq: req.GetAfterSequence(), Limit: int(req.GetPageSize())})
	if err != nil {
		return nil, govStatus(err)
	}
	out := &pb.ListAuditEntriesResponse{}
	for _, e := range entries {
		out.Entries = append(out.Entries, entryToProto(e))
	}
	if n := len(entries); n > 0 && (req.GetPageSize() <= 0 && n == 100 || req.GetPageSize() > 0 && n == int(min(req.GetPageSize(), 1000))) {
		out.NextAfterSequence = entries[n-1].Seq
	}
	return out, nil
}

func (s *governanceService) VerifyAuditChain(ctx context.Context, _ *pb.VerifyAuditChainRequest) (*pb.VerifyAuditChainResponse, error) {
	r, err := s.audit.Verify(ctx)
	if err != nil {
		return nil, govStatus(err)
	}
	return &pb.VerifyAuditChainResponse{Ok: r.OK, EntriesChecked: r.Checked, FirstBrokenSequence: r.FirstBroken, Problem: r.Problem}, nil
}

func (s *governanceService) GetGovernanceDocument(ctx context.Context, _ *pb.GetGovernanceDocumentRequest) (*pb.GetGovernanceDocumentResponse, error) {
	doc, err := s.gov.Document(ctx)
	if err != nil {
		return nil, govStatus(err)
	}
	return &pb.GetGovernanceDocumentResponse{Markdown: string(doc)}, nil
}

func (s *governanceService) SetSubjectOwner(ctx context.Context, req *pb.SetSubjectOwnerRequest) (*pb.SetSubjectOwnerResponse, error) {
	o := governance.Owner{Subject: req.GetSubject(), Team: req.GetTeam(), Escalation: req.GetEscalation()}
	e, err := s.gov.SetOwner(ctx, actorOf(ctx), o)
	if err != nil {
		return nil, govStatus(err)
	}
	if owners, err := s.gov.Owners(ctx); err == nil {
		s.alerts.setOwners(owners)
	}
	return &pb.SetSubjectOwnerResponse{Owner: &pb.SubjectOwner{Subject: o.Subject, Team: e.Details["team"], Escalation: e.Details["escalation"]},
		AuditSequence: e.Seq}, nil
}

func (s *governanceService) ListSubjectOwners(ctx context.Context, _ *pb.ListSubjectOwnersRequest) (*pb.ListSubjectOwnersResponse, error) {
	owners, err := s.gov.Owners(ctx)
	if err != nil {
		return nil, govStatus(err)
	}
	out := &pb.ListSubjectOwnersResponse{}
	for _, o := range owners {
		out.Owners = append(out.Owners, &pb.SubjectOwner{Subject: o.Subject, Team: o.Team, Escalation: o.Escalation})
	}
	return out, nil
}

func statusToProto(st governance.Status) *pb.SubjectStatus {
	out := &pb.SubjectStatus{
		Subject: st.Subject, Mode: modeToProto(st.Mode),
		CleanSeconds: int64(st.Clean.Seconds()), RequiredSeconds: int64(st.Required.Seconds()),
		Validations: st.Validations, Violations: st.Violations, Eligible: st.Eligible, Reasons: st.Reasons,
	}
	if !st.ModeSince.IsZero() {
		out.ModeSince = timestamppb.New(st.ModeSince)
	}
	if !st.WindowStart.IsZero() {
		out.WindowStart = timestamppb.New(st.WindowStart)
	}
	if st.Pending != nil {
		out.PendingPromotion = promotionToProto(*st.Pending)
	}
	return out
}

func evidenceToProto(e governance.EvidenceSnapshot) *pb.Evidence {
	return &pb.Evidence{WindowStart: timestamppb.New(e.WindowStart), WindowEnd: timestamppb.New(e.WindowEnd),
		CleanDuration: durationpb.New(e.Clean), Validations: e.Validations, Violations: e.Violations}
}

func promotionToProto(p governance.Promotion) *pb.Promotion {
	out := &pb.Promotion{Id: p.ID, Subject: p.Subject, Ticket: p.Ticket, Requester: p.Requester, Approver: p.Approver,
		Reason: p.Reason, Comment: p.Comment, Evidence: evidenceToProto(p.Evidence), CreateTime: timestamppb.New(p.Created)}
	switch p.State {
	case governance.StatePending:
		out.State = pb.PromotionState_PROMOTION_STATE_PENDING
	case governance.StateApproved:
		out.State = pb.PromotionState_PROMOTION_STATE_APPROVED
	case governance.StateRejected:
		out.State = pb.PromotionState_PROMOTION_STATE_REJECTED
	}
	if !p.Decided.IsZero() {
		out.DecideTime = timestamppb.New(p.Decided)
	}
	return out
}

func entryToProto(e governance.Entry) *pb.AuditEntry {
	out := &pb.AuditEntry{Sequence: e.Seq, Time: timestamppb.New(e.Time), Actor: e.Actor, Role: e.Role, Action: e.Action,
		Subject: e.Subject, Ticket: e.Ticket, Incident: e.Incident, Reason: e.Reason, PromotionId: e.PromotionID,
		FromMode: e.FromMode, ToMode: e.ToMode, Details: e.Details, PrevHash: e.PrevHash, Hash: e.Hash}
	if e.Evidence != nil {
		out.Evidence = evidenceToProto(*e.Evidence)
	}
	return out
}
