package gateway

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

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

// maxEvidenceBuckets bounds the buckets one GetSubjectEvidence answer holds: an early since is
// moved forward.
const maxEvidenceBuckets = 2000

// GetSubjectEvidence reports a subject's evidence per bucket, every bucket from since to now.
func (s *governanceService) GetSubjectEvidence(ctx context.Context, req *pb.GetSubjectEvidenceRequest) (*pb.GetSubjectEvidenceResponse, error) {
	var since time.Time
	if req.GetSince() != nil {
		since = req.GetSince().AsTime()
	}
	h, err := s.gate.EvidenceHistory(ctx, req.GetSubject(), since)
	if err != nil {
		return nil, err
	}
	if earliest := h.Until.Add(-maxEvidenceBuckets * h.BucketWidth); h.Since.Before(earliest) {
		h.Since = earliest
	}
	return evidenceHistoryToProto(req.GetSubject(), h), nil
}

// evidenceHistoryToProto lists every bucket from h.Since to h.Until, empty ones included.
func evidenceHistoryToProto(subject string, h governance.EvidenceHistory) *pb.GetSubjectEvidenceResponse {
	out := &pb.GetSubjectEvidenceResponse{Subject: subject, BucketWidth: durationpb.New(h.BucketWidth), Stale: h.Stale}
	byStart := make(map[time.Time]governance.Bucket, len(h.Buckets))
	for _, b := range h.Buckets {
		byStart[b.Start] = b
	}
	recorded := make(map[time.Time]bool, len(h.Recorded))
	for _, t := range h.Recorded {
		recorded[t] = true
		out.LastRecorded = timestamppb.New(t)
	}
	for t := h.Since; !t.After(h.Until); t = t.Add(h.BucketWidth) {
		b := byStart[t]
		out.Buckets = append(out.Buckets, &pb.EvidenceBucket{Start: timestamppb.New(t), Validations: b.Validations,
			Violations: b.Violations, Recorded: recorded[t]})
	}
	return out
}

// ListSubjectStatuses lists the status of every subject granted to the caller.
func (s *governanceService) ListSubjectStatuses(ctx context.Context, _ *pb.ListSubjectStatusesRequest) (*pb.ListSubjectStatusesResponse, error) {
	statuses, err := s.gate.Statuses(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListSubjectStatusesResponse{}
	for _, st := range auth.Visible(ctx, statuses, func(st governance.Status) string { return st.Subject }) {
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

// ApprovePromotion approves a promotion of a subject granted to the caller.
func (s *governanceService) ApprovePromotion(ctx context.Context, req *pb.ApprovePromotionRequest) (*pb.ApprovePromotionResponse, error) {
	if err := s.requirePromotion(ctx, req.GetPromotionId()); err != nil {
		return nil, err
	}
	p, e, err := s.gate.Approve(ctx, actorOf(ctx), req.GetPromotionId(), req.GetComment())
	if err != nil {
		return nil, err
	}
	return &pb.ApprovePromotionResponse{Promotion: promotionToProto(p), AuditEntry: entryToProto(e)}, nil
}

// RejectPromotion rejects a promotion of a subject granted to the caller.
func (s *governanceService) RejectPromotion(ctx context.Context, req *pb.RejectPromotionRequest) (*pb.RejectPromotionResponse, error) {
	if err := s.requirePromotion(ctx, req.GetPromotionId()); err != nil {
		return nil, err
	}
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

// ListAuditEntries lists one page of the audit entries the caller may read: those about a
// subject granted to it, and those about no subject. A subject filter must name a granted
// subject. For a principal with subject grants the gate's pages are read on until the page is
// full or the log ends, so a page is short only at the end of the log. A page is full at
// page_size entries or at governance.MaxAuditPageBytes (the entries' EncodedSize summed),
// whichever comes first. Oldest first by default
// (after after_sequence); with newest_first, newest first (before before_sequence). The cursor
// of the next page is next_after_sequence or next_before_sequence, as the order says.
func (s *governanceService) ListAuditEntries(ctx context.Context, req *pb.ListAuditEntriesRequest) (*pb.ListAuditEntriesResponse, error) {
	if req.GetSubject() != "" {
		if err := auth.RequireSubject(ctx, req.GetSubject()); err != nil {
			return nil, err
		}
	}
	f := governance.AuditFilter{Subject: req.GetSubject(), Action: governance.Action(req.GetAction()),
		AfterSeq: req.GetAfterSequence(), BeforeSeq: req.GetBeforeSequence(), NewestFirst: req.GetNewestFirst(),
		Limit: int(req.GetPageSize())}
	want := f.Limit
	if want <= 0 {
		want = governance.DefaultAuditListLimit
	}
	want = min(want, governance.MaxAuditListLimit)
	out := &pb.ListAuditEntriesResponse{}
	size := 0
	for {
		f.MaxBytes = governance.MaxAuditPageBytes - size
		page, err := s.gate.AuditEntries(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range auth.Visible(ctx, page.Entries, func(e governance.Entry) string { return e.Subject }) {
			out.Entries = append(out.Entries, entryToProto(e))
			size += e.EncodedSize()
			if len(out.Entries) == want || size >= governance.MaxAuditPageBytes {
				if f.NewestFirst {
					out.NextBeforeSequence = e.Seq
				} else {
					out.NextAfterSequence = e.Seq
				}
				return out, nil
			}
		}
		if page.Next == 0 {
			return out, nil
		}
		f = f.Continue(page.Next)
	}
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

// ListSubjectOwners lists the owners of the subjects granted to the caller.
func (s *governanceService) ListSubjectOwners(ctx context.Context, _ *pb.ListSubjectOwnersRequest) (*pb.ListSubjectOwnersResponse, error) {
	owners, err := s.gate.Owners(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListSubjectOwnersResponse{}
	for _, o := range auth.Visible(ctx, owners, func(o governance.Owner) string { return o.Subject }) {
		out.Owners = append(out.Owners, &pb.SubjectOwner{Subject: o.Subject, Team: o.Team, Escalation: o.Escalation})
	}
	return out, nil
}

// requirePromotion checks that the subject of promotion id is granted to the caller; an unknown
// id is NotFound, as the action itself would answer.
func (s *governanceService) requirePromotion(ctx context.Context, id string) error {
	p, err := s.gate.Promotion(ctx, id)
	if err != nil {
		return err
	}
	return auth.RequireSubject(ctx, p.Subject)
}
