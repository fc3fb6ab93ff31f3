package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// subjectView is the subject page.
type subjectView struct {
	Subject  string
	Row      subjectRow
	Chart    *chart // nil when the evidence cannot be read
	Versions []int32
	A, B     int32 // the versions compared; 0: no comparison
	Diff     []diffLine
	Drift    []*pb.DriftEntry
	DriftErr string // why the drift report is not shown
	History  []*pb.AuditEntry
	Kinds    []string // drill kinds
}

// historyActions are the audit actions the subject page lists as its promotion and rollback
// history.
var historyActions = []string{"promotion.requested", "promotion.approved", "promotion.rejected", "mode.promoted",
	"mode.rolled_back", "mode.overridden", "drift.drill"}

// subjectPage shows a subject: status, versions with a diff of ?a= and ?b=, the drift report,
// and its promotion and rollback history.
func (c *Console) subjectPage(r *http.Request, ss *session) (view, error) {
	subject := r.PathValue("subject")
	ctx := callContext(r, ss)
	st, err := c.gov.GetSubjectStatus(ctx, &pb.GetSubjectStatusRequest{Subject: subject})
	if err != nil {
		return view{}, err
	}
	v := c.subjectStatus(r, ss, st.GetStatus())
	if vs, err := c.reg.ListVersions(ctx, &pb.ListVersionsRequest{Subject: subject}); err == nil {
		v.Versions = vs.GetVersions()
	}
	if err := c.compare(r, ss, &v); err != nil {
		return view{}, err
	}
	if d, err := c.val.GetDriftReport(ctx, &pb.GetDriftReportRequest{Subject: subject}); err != nil {
		v.DriftErr = apiMessage(err)
	} else {
		v.Drift = d.GetEntries()
	}
	if h, err := c.gov.ListAuditEntries(ctx, &pb.ListAuditEntriesRequest{Subject: subject, NewestFirst: true, PageSize: 200}); err == nil {
		for _, e := range h.GetEntries() {
			if slices.Contains(historyActions, e.GetAction()) {
				v.History = append(v.History, e)
			}
		}
	}
	for k := range pb.DriftKind_name {
		if k != 0 {
			v.Kinds = append(v.Kinds, kindName(pb.DriftKind(k)))
		}
	}
	slices.Sort(v.Kinds)
	return view{page: "subject", title: subject, data: v}, nil
}

// subjectStatusPart is the live status part of the subject page.
func (c *Console) subjectStatusPart(r *http.Request, ss *session) (view, error) {
	subject := r.PathValue("subject")
	st, err := c.gov.GetSubjectStatus(callContext(r, ss), &pb.GetSubjectStatusRequest{Subject: subject})
	if err != nil {
		return view{}, err
	}
	return view{page: "subject", data: c.subjectStatus(r, ss, st.GetStatus())}, nil
}

// subjectStatus is the status part of the subject page: the status with its owner and the
// evidence chart.
func (c *Console) subjectStatus(r *http.Request, ss *session, st *pb.SubjectStatus) subjectView {
	subject := st.GetSubject()
	v := subjectView{Subject: subject, Row: subjectRow{Status: st, Team: c.owners(r, ss)[subject], MinValidations: c.minValid}}
	ev, err := c.gov.GetSubjectEvidence(callContext(r, ss), &pb.GetSubjectEvidenceRequest{Subject: subject})
	if err == nil {
		var windowStart time.Time
		if st.GetWindowStart() != nil {
			windowStart = st.GetWindowStart().AsTime()
		}
		ch := newChart(ev, windowStart)
		v.Chart, v.Row.Stale = &ch, ch.Stale
	}
	return v
}

// compare fills the diff of versions ?a= and ?b= of the subject, when both are given.
func (c *Console) compare(r *http.Request, ss *session, v *subjectView) error {
	a, errA := strconv.ParseInt(r.URL.Query().Get("a"), 10, 32)
	b, errB := strconv.ParseInt(r.URL.Query().Get("b"), 10, 32)
	if errA != nil || errB != nil {
		return nil
	}
	texts := make([]string, 2)
	for i, n := range []int64{a, b} {
		resp, err := c.reg.GetSubjectVersion(callContext(r, ss), &pb.GetSubjectVersionRequest{Subject: v.Subject, Version: strconv.FormatInt(n, 10)})
		if err != nil {
			return err
		}
		texts[i] = prettySchema(resp.GetVersion().GetSchema().GetSchema())
	}
	v.A, v.B = int32(a), int32(b)
	v.Diff = lineDiff(texts[0], texts[1])
	return nil
}

// prettySchema is a schema's canonical text indented for reading: JSON (Avro, JSON Schema)
// re-indented, anything else (Protobuf) as it is.
func prettySchema(s string) string {
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(s), "", "  ") == nil {
		return buf.String()
	}
	return s
}
