package console

import (
	"cmp"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc/status"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// apiMessage is the API's message of a refusal, for showing in a page part.
func apiMessage(err error) string {
	return status.Convert(err).Message()
}

// subjectURL is the subject page of the request's {subject}.
func subjectURL(r *http.Request) string {
	return "/ui/subjects/" + url.PathEscape(r.PathValue("subject"))
}

// form is a trimmed form value.
func form(r *http.Request, key string) string { return strings.TrimSpace(r.PostForm.Get(key)) }

// requestPromotion asks for the subject's promotion to strict (the API checks the ticket
// against governance.ticket_pattern and the subject's eligibility).
func (c *Console) requestPromotion(_ http.ResponseWriter, r *http.Request, ss *session) (string, error) {
	_, err := c.gov.RequestPromotion(callContext(r, ss), &pb.RequestPromotionRequest{
		Subject: cmp.Or(r.PathValue("subject"), form(r, "subject")), Ticket: form(r, "ticket"), Reason: form(r, "reason")})
	return "/ui/promotions", err
}

// rollback returns the subject to canary, citing a reason and an incident.
func (c *Console) rollback(_ http.ResponseWriter, r *http.Request, ss *session) (string, error) {
	_, err := c.gov.Rollback(callContext(r, ss), &pb.RollbackRequest{
		Subject: r.PathValue("subject"), Reason: form(r, "reason"), Incident: form(r, "incident")})
	return subjectURL(r), err
}

// override is the break glass: an admin sets the subject's mode with a ticket and a
// justification.
func (c *Console) override(_ http.ResponseWriter, r *http.Request, ss *session) (string, error) {
	mode := pb.ValidationMode_VALIDATION_MODE_UNSPECIFIED
	switch form(r, "mode") {
	case "canary":
		mode = pb.ValidationMode_VALIDATION_MODE_CANARY
	case "strict":
		mode = pb.ValidationMode_VALIDATION_MODE_STRICT
	}
	_, err := c.gov.SetValidationMode(callContext(r, ss), &pb.SetValidationModeRequest{
		Subject: r.PathValue("subject"), Mode: mode, Ticket: form(r, "ticket"), Justification: form(r, "justification")})
	return subjectURL(r), err
}

// drill stages a drift drill of the chosen kind on the subject (the alert path end to end).
func (c *Console) drill(_ http.ResponseWriter, r *http.Request, ss *session) (string, error) {
	kind := pb.DriftKind(pb.DriftKind_value["DRIFT_KIND_"+strings.ToUpper(form(r, "kind"))])
	_, err := c.val.InjectDrill(callContext(r, ss), &pb.InjectDrillRequest{Subject: r.PathValue("subject"), Kind: kind})
	return subjectURL(r), err
}

// setOwner records the team that owns the subject and its escalation entry (alerts about the
// subject carry them); leads and admins.
func (c *Console) setOwner(_ http.ResponseWriter, r *http.Request, ss *session) (string, error) {
	_, err := c.gov.SetSubjectOwner(callContext(r, ss), &pb.SetSubjectOwnerRequest{
		Subject: r.PathValue("subject"), Team: form(r, "team"), Escalation: form(r, "escalation")})
	return subjectURL(r), err
}

// approve approves a pending promotion (the API refuses the requester and re-checks the
// evidence).
func (c *Console) approve(_ http.ResponseWriter, r *http.Request, ss *session) (string, error) {
	_, err := c.gov.ApprovePromotion(callContext(r, ss), &pb.ApprovePromotionRequest{PromotionId: r.PathValue("id"), Comment: form(r, "comment")})
	return "/ui/promotions", err
}

// reject rejects a pending promotion with a reason.
func (c *Console) reject(_ http.ResponseWriter, r *http.Request, ss *session) (string, error) {
	_, err := c.gov.RejectPromotion(callContext(r, ss), &pb.RejectPromotionRequest{PromotionId: r.PathValue("id"), Reason: form(r, "reason")})
	return "/ui/promotions", err
}
