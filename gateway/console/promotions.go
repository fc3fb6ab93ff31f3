package console

import (
	"net/http"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// promotionsView is the promotions page.
type promotionsView struct {
	// Pending are the open requests of the subjects granted to the principal.
	Pending []*pb.Promotion
	// Eligible are the subjects that may be requested now (eligible, canary, none pending).
	Eligible []string
	// Decisions are the latest approvals and rejections, with the evidence they were made on.
	Decisions []*pb.AuditEntry
}

// decisionActions are the audit actions of promotion decisions.
var decisionActions = []string{"promotion.approved", "promotion.rejected"}

// promotionsPage lists pending promotions with approve and reject controls, the subjects that
// may be requested, and recent decisions with the evidence snapshot each was made on.
func (c *Console) promotionsPage(r *http.Request, ss *session) (view, error) {
	ctx := callContext(r, ss)
	resp, err := c.gov.ListSubjectStatuses(ctx, &pb.ListSubjectStatusesRequest{})
	if err != nil {
		return view{}, err
	}
	var v promotionsView
	for _, st := range resp.GetStatuses() {
		switch {
		case st.GetPendingPromotion() != nil:
			v.Pending = append(v.Pending, st.GetPendingPromotion())
		case st.GetEligible() && st.GetMode() != pb.ValidationMode_VALIDATION_MODE_STRICT:
			v.Eligible = append(v.Eligible, st.GetSubject())
		}
	}
	for _, action := range decisionActions {
		page, err := c.gov.ListAuditEntries(ctx, &pb.ListAuditEntriesRequest{Action: action, NewestFirst: true, PageSize: 20})
		if err != nil {
			return view{}, err
		}
		v.Decisions = append(v.Decisions, page.GetEntries()...)
	}
	sortNewestFirst(v.Decisions)
	return view{page: "promotions", title: "Promotions", data: v}, nil
}
